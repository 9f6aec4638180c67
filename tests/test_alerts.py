"""Alert messages of a replay of the bundled sample, their routing and their delivery to
real local receivers (an HTTP webhook, an SMTP server), with failures and a restart."""

from __future__ import annotations

import dataclasses
import email
import time
from email import policy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.alerts.channels import EmailChannel, make_channel, message_text, slack_escaped
from spikes.alerts.notifier import Notifier
from spikes.alerts.outbox import Outbox
from spikes.alerts.routing import (
    Route,
    load_routes,
    parse_routes,
    route_messages,
    routes_from_urls,
)
from spikes.alerts.timeline import (
    analysis_messages,
    event_key,
    event_messages,
    resolved_at,
)
from spikes.config import load_config
from spikes.detect.incidents import severity_of
from spikes.detect.pipeline import analyze
from spikes.errors import SpikesInputError
from tests.conftest import sample_data
from tests.receivers import Mailbox, Webhook

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "reports.csv.gz"
MICROSOFT = ["Outlook", "Exchange Online", "Microsoft Store", "Microsoft Defender",
             "Microsoft Purview"]
RANK = {"minor": 0, "major": 1, "critical": 2}


@pytest.fixture(scope="module")
def sample():
    """The live analysis of the bundled sample and its messages (one run per module)."""
    analysis = analyze(sample_data())
    return analysis, analysis_messages(analysis)


def event_of(analysis, product: str) -> str:
    """Event id of the sample's labelled outage of `product` (its last incident): the ids
    number every event of the run, so a test names its event by what it holds."""
    return str(analysis.incidents[analysis.incidents["product"] == product]["event_id"].iloc[-1])


def _oracle(analysis) -> list[tuple[str, str, pd.Timestamp, tuple[str, ...], str]]:
    """The expected (event, state, at, products, severity), found independently of the
    timeline: the final incidents table, scanned bucket by bucket from the event's first
    alert until it is resolved (or the data end)."""
    data, config = analysis.data, analysis.config
    bucket = data.bucket
    until = data.counts.index[-1] + bucket
    out = []
    for event_id, members in analysis.incidents.groupby("event_id"):
        members = members.sort_values(["onset", "product"], kind="stable")
        series = {row.product: (data.counts[row.product].loc[row.onset:row.end].to_numpy(),
                                analysis.baseline.expected[row.product]
                                .loc[row.onset:row.end].to_numpy())
                  for row in members.itertuples()}
        over_at = max(resolved_at(e, bucket, config.merge_gap) for e in members["end"])
        told_products: set[str] = set()
        told_worst = -1
        t = members["alerted_at"].min()
        while t <= until:
            raised = members[members["alerted_at"] <= t]
            worst = -1
            for row in raised.itertuples():
                y, mu = series[row.product]
                seen = int((t - row.onset) / bucket)  # buckets of the incident closed by t
                peak = int(np.argmax(y[:seen]))
                worst = max(worst, RANK[severity_of(y[peak] / max(mu[peak], 1e-3))])
            products = set(raised["product"])
            state = None
            if not told_products:
                state = "open"
            elif not products <= told_products or worst > told_worst:
                state = "escalated"
            elif over_at <= t:
                state = "resolved"
            if state:
                told_worst = max(told_worst, worst)
                told_products |= products
                names = tuple(raised["product"])
                out.append((str(event_id), state, t, names,
                            [k for k, v in RANK.items() if v == told_worst][0]))
            if state == "resolved":
                break
            t += bucket
    return sorted(out, key=lambda m: (m[2], m[0]))


def test_replay_of_the_sample_gives_exactly_the_expected_messages(sample) -> None:
    analysis, messages = sample
    got = [(m["event_id"], m["state"], pd.Timestamp(m["at"]),
            tuple(p["product"] for p in m["products"]), m["severity"]) for m in messages]
    assert got == _oracle(analysis)
    # One open per event, a resolution for every event over by the end of the data.
    events = set(analysis.incidents["event_id"])
    assert sorted(m["event_id"] for m in messages if m["state"] == "open") == sorted(events)
    ongoing = {m["event_id"] for m in messages if m["state"] == "resolved"}
    # PlayStation Network's outage runs to the end.
    assert ongoing == events - {event_of(analysis, "PlayStation Network")}
    # The last message of each event names what the events table says.
    for row in analysis.events.itertuples():
        last = [m for m in messages if m["event_id"] == row.event_id][-1]
        assert ", ".join(p["product"] for p in last["products"]) == row.products
        assert last["severity"] == row.severity
    assert len({m["message_id"] for m in messages}) == len(messages)


def test_messages_say_only_what_was_known_at_their_time(sample) -> None:
    analysis, messages = sample
    data = analysis.data
    for cut in ("2026-01-22 19:15", "2026-01-22 20:30"):
        until = pd.Timestamp(cut, tz="UTC")
        breakdown = data.breakdown[data.breakdown["timestamp"] < until]
        prefix = dataclasses.replace(data, counts=data.counts.loc[:until - data.bucket],
                                     breakdown=breakdown)
        early = analysis_messages(analyze(prefix))
        assert early == [m for m in messages if pd.Timestamp(m["at"]) <= until]


def test_microsoft_365_event_is_one_growing_message(sample) -> None:
    analysis, messages = sample
    event = analysis.incidents.loc[analysis.incidents["product"] == "Microsoft Purview",
                                   "event_id"].iloc[0]
    ms = [m for m in messages if m["event_id"] == event]
    assert [m["state"] for m in ms] == ["open", "escalated", "escalated", "resolved"]
    assert [p["product"] for p in ms[0]["products"]] == ["Outlook"]
    for m in ms[2:]:
        assert [p["product"] for p in m["products"]] == MICROSOFT
        onsets = [p["onset"] for p in m["products"]]
        assert onsets == sorted(onsets)
        for p in m["products"]:
            assert p["why"].startswith(f"{p['product']}: ") and "reports in 5 min" in p["why"]
        assert m["why"] == "; ".join(p["why"] for p in m["products"])
    # No other event holds a Microsoft product that day: no five separate pages.
    day = [m for m in messages if m["at"].startswith("2026-01-22")
           and m["event_id"] != event and any(p["product"] in MICROSOFT
                                               for p in m["products"])]
    assert day == []
    # The open at 19:10 knows nothing of the 20:10 peak (1,391 reports).
    assert ms[0]["at"] == "2026-01-22T19:10:00+00:00"
    assert "1,391" not in ms[0]["why"] and "1,391" in ms[-1]["why"]
    assert ms[-1]["end"] == "2026-01-22T22:40:00+00:00"


def _route(url: str, **kw) -> Route:
    return Route(url=url, backoff=0.01, max_attempts=5, **kw)


def test_a_receiver_failing_twice_gets_each_message_once(sample, tmp_path: Path) -> None:
    _, messages = sample
    with Webhook(fail_first=2) as hook:
        outbox = Outbox(tmp_path / "outbox.duckdb")
        notifier = Notifier(outbox, [_route(hook.url + "/hook", name="hook")])
        assert notifier.enqueue(messages) == len(messages)
        assert notifier.drain(timeout=60)
        got = hook.received()
        assert [m["message_id"] for m in got] == [m["message_id"] for m in messages]
        assert got == messages
        assert set(hook.attempts().values()) == {3}
        log = outbox.log()
        assert len(log) == 3 * len(messages)
        assert log.groupby("message_id")["ok"].apply(list).map(tuple).unique().tolist() == \
            [(False, False, True)]
        assert log.loc[~log["ok"], "error"].str.startswith("HTTP 500").all()
        assert outbox.counts() == {"pending": 0, "delivered": len(messages), "failed": 0}
        # Recomputed messages are not sent again.
        assert notifier.enqueue(messages) == 0
        notifier.drain(timeout=5)
        assert len(hook.received()) == len(messages)
        outbox.close()


def test_a_restart_between_detection_and_delivery_loses_and_repeats_nothing(
        sample, tmp_path: Path) -> None:
    _, messages = sample
    path = tmp_path / "outbox.duckdb"
    with Webhook() as hook:
        route = _route(hook.url, name="hook")
        first = Outbox(path)
        Notifier(first, [route]).enqueue(messages[:20])
        first.close()  # the process stops before delivering
        assert hook.posts == []
        second = Outbox(path)
        notifier = Notifier(second, [route])
        assert notifier.enqueue(messages) == len(messages) - 20  # detection after restart
        assert notifier.drain(timeout=30)
        second.close()
        third = Outbox(path)  # and once more: delivered stays delivered
        notifier = Notifier(third, [route])
        assert notifier.enqueue(messages) == 0
        assert notifier.drain(timeout=5)
        third.close()
        assert sorted(hook.attempts().values()) == [1] * len(messages)
        assert [m["message_id"] for m in hook.received()] == \
            [m["message_id"] for m in messages]


def test_a_message_goes_in_order_after_its_route_failed(sample) -> None:
    _, messages = sample
    with Webhook(fail_first=1) as hook:
        notifier = Notifier(Outbox(), [_route(hook.url, name="hook")])
        notifier.enqueue(messages[:6])
        notifier.start()
        try:
            for _ in range(200):
                if len(hook.received()) == 6:
                    break
                time.sleep(0.02)
        finally:
            notifier.stop()
        got = [m["message_id"] for m in hook.received()]
        assert got == [m["message_id"] for m in messages[:6]]


def test_delivery_gives_up_after_max_attempts_and_says_so(sample) -> None:
    _, messages = sample
    with Webhook(fail_first=99) as hook:
        outbox = Outbox()
        notifier = Notifier(outbox, [Route(url=hook.url, backoff=0.0, max_attempts=2)])
        notifier.enqueue(messages[:4])  # two events: open, resolved each
        # Not all out: each resolved waits behind its failed open (drain says so).
        assert not notifier.drain(timeout=10)
        table = outbox.messages()
        # Each open failed; its event's resolved waits behind it, never tried (another
        # event's messages go on).
        assert table["state"].tolist() == ["open", "resolved"] * 2
        assert table["status"].tolist() == ["failed", "pending"] * 2
        assert table["attempts"].tolist() == [2, 0] * 2
        assert table.loc[table["status"] == "failed", "last_error"].str.contains(
            "HTTP 500").all()


def test_email_over_smtp(sample) -> None:
    analysis, messages = sample
    m365 = event_of(analysis, "Outlook")
    last = [m for m in messages if m["event_id"] == m365][-1]
    with Mailbox() as box:
        channel = make_channel(Route(url="mailto:oncall@example.com,ops@example.com",
                                     smtp=box.address))
        assert isinstance(channel, EmailChannel)
        channel.send(last)
    assert len(box.messages) == 1
    got = box.messages[0]
    assert got["to"] == ["oncall@example.com", "ops@example.com"]
    mail = email.message_from_string(got["data"], policy=policy.default)
    assert mail["Subject"] == f"[spikes] {last['title']}"
    assert mail["Subject"].startswith(f"[spikes] {m365} resolved (critical): Outlook, Exchange")
    body = mail.get_content()
    for product in MICROSOFT:
        assert f"- {product}: " in body
    assert last["message_id"] in body


def test_slack_and_apprise_post_their_own_bodies(sample) -> None:
    _, messages = sample
    with Webhook() as hook:
        port = hook.url.rsplit(":", 1)[1]
        make_channel(Route(url=f"slack+http://127.0.0.1:{port}/slack")).send(messages[0])
        make_channel(Route(url=f"json://127.0.0.1:{port}/apprise")).send(messages[0])
        slack = hook.received("/slack")
        # Slack's format escapes & < > ("p < 1e-30" reads as "p &lt; 1e-30" there).
        assert slack == [{"text": slack_escaped(message_text(messages[0]))}]
        assert "p &lt; 1e-30" in slack[0]["text"]
        apprised = hook.received("/apprise")
        assert len(apprised) == 1
        assert apprised[0]["title"] == f"[spikes] {messages[0]['title']}"
        assert apprised[0]["message"] == message_text(messages[0])


def test_the_plain_text_says_the_zone_of_each_products_end(sample) -> None:
    # Slack, e-mail and apprise said "over 22:40" beside a title "over since 2026-01-22
    # 22:40 UTC": the one time of the text without its zone. Messages stay in UTC
    # (not --display-tz: they go to the routes, and are the same from the service).
    _, messages = sample
    resolved = [m for m in messages if m["state"] == "resolved"]
    assert resolved
    for message in resolved:
        lines = message_text(message).splitlines()
        for product in message["products"]:
            end = pd.Timestamp(product["end"]).tz_convert("UTC")
            assert (f"- {product['why']} ({product['severity']}), over {end:%H:%M} UTC"
                    in lines)


def test_unreachable_receivers_fail_cleanly() -> None:
    from spikes.alerts.channels import DeliveryError
    from tests.receivers import free_port

    message = {"message_id": "x", "title": "t", "products": [], "event_id": "E1", "at": "a"}
    with pytest.raises(DeliveryError, match="ConnectError"):
        make_channel(Route(url=f"http://127.0.0.1:{free_port()}/"), timeout=2).send(message)
    with pytest.raises(DeliveryError, match="SMTP"):
        make_channel(Route(url="mailto:a@b.c", smtp=f"127.0.0.1:{free_port()}"),
                     timeout=2).send(message)
    with pytest.raises(SpikesInputError, match="apprise"):
        make_channel(Route(url="nosuchscheme://x"))


CONFIG = """
[detection]
min_ratio = 2.0

[[notify]]
name = "microsoft"
url = "http://127.0.0.1:9/ms"
products = ["Microsoft *", "Outlook"]
min_severity = "critical"

[[notify]]
url = "mailto:ops@example.com"
smtp = "127.0.0.1:25"
known_events = true
"""


def test_routing_by_product_pattern_severity_and_known_events(sample, tmp_path) -> None:
    analysis, messages = sample
    path = tmp_path / "spikes.toml"
    path.write_text(CONFIG)
    assert load_config(path).min_ratio == 2.0  # [[notify]] is allowed beside [detection]
    microsoft, mail = load_routes(path)
    assert microsoft.key == "microsoft" and mail.key == "mailto:ops@example.com"
    taken = route_messages(messages, microsoft)
    # Critical Microsoft events only: Microsoft 365's (Teams' major one not).
    assert {m["event_id"] for m in taken} == {event_of(analysis, "Outlook")}
    assert event_of(analysis, "Microsoft Teams") in {m["event_id"] for m in messages}
    assert len(taken) == 4
    assert route_messages(messages, mail) == messages
    # An incident inside a known-event window opens nothing for a route without
    # known_events, and everything for one with it.
    marked = [dict(m, products=[dict(p, known_event="launch" if p["product"] == "Steam"
                                     else p["known_event"]) for p in m["products"]])
              for m in messages]
    plain = Route(url="http://127.0.0.1:9/")
    steam = event_of(analysis, "Steam")
    assert steam not in {m["event_id"] for m in route_messages(marked, plain)}
    assert steam in {m["event_id"] for m in route_messages(marked, mail)}


@pytest.mark.parametrize(("table", "error"), [
    ('[[notify]]\nname = "x"', r"\[\[notify\]\] #1: url is missing"),
    ('[[notify]]\nurl = "http://h/"\nmin_severity = "huge"',
     r"#1: min_severity should be one of \['minor', 'major', 'critical'\], got 'huge'"),
    ('[[notify]]\nurl = "http://h/"\ncolour = "red"', r"#1: unknown key\(s\) \['colour'\]"),
    ('[[notify]]\nurl = "http://h/"\n[[notify]]\nurl = "mailto:a@b.c"',
     r"#2: a mailto: url needs smtp"),
    ('[[notify]]\nurl = "http://h/"\nproducts = 3', r"#1: products should be a list"),
    ('[[notify]]\nurl = "http://h/"\nmax_attempts = 0', r"#1: max_attempts should be"),
    ('[[notify]]\nurl = "h"', r"#1: url 'h' has no scheme"),
    ('[[notify]]\nurl = "http://h/"\nsmtp = "nohost"', r"#1: smtp: expected HOST:PORT"),
])
def test_bad_notify_tables_say_which_table_and_key(table: str, error: str) -> None:
    import tomllib

    with pytest.raises(SpikesInputError, match=error):
        parse_routes(tomllib.loads(table), source="f.toml")


def test_notify_flags() -> None:
    routes = routes_from_urls(["https://hooks.example.com/secret/path",
                               "mailto:a@example.com"], smtp="localhost:25")
    assert routes[0].key.startswith("https://hooks.example.com/...#")
    assert "secret" not in routes[0].key
    assert routes[1].smtp == "localhost:25"
    with pytest.raises(SpikesInputError, match="--notify mailto:a@b.c: e-mail needs --smtp"):
        routes_from_urls(["mailto:a@b.c"])


def test_a_route_follows_its_events_when_a_late_slow_rise_joins_two_events() -> None:
    # A and X are separate events until C (an onset between them, raised later) joins
    # them: the event ids after that move down by one. A route for X must not receive
    # Z's messages, though Z's event takes the id X's had.
    from spikes.detect.baseline import Baseline
    from spikes.model import ReportData

    bucket = pd.Timedelta("5min")
    idx = pd.date_range("2026-01-01", periods=200, freq=bucket, tz="UTC", name="timestamp")
    products = pd.Index(["A", "X", "C", "Z"], dtype=object)
    counts = pd.DataFrame(5.0, index=idx, columns=products)

    def incident(product: str, onset: int, end: int, raised: int) -> dict:
        counts.loc[idx[onset]:idx[end], product] = 100.0
        return {"product": product, "onset": idx[onset], "peak": idx[onset], "end": idx[end],
                "alerted_at": idx[raised] + bucket, "severity": "critical", "known_event": ""}

    table = pd.DataFrame([incident("A", 10, 12, 11), incident("X", 14, 16, 15),
                          incident("Z", 20, 40, 21), incident("C", 12, 30, 24)])
    baseline = Baseline(expected=pd.DataFrame(5.0, index=idx, columns=products),
                        dispersion=pd.Series(0.1, index=products), normal=counts.notna(),
                        method="weekly", causal=True)
    messages = event_messages(table, ReportData(counts=counts, bucket=bucket), baseline,
                              merge_gap="1h", event_window="15min", until=idx[-1])
    z_ids = {m["event_id"] for m in messages if [p["product"] for p in m["products"]] == ["Z"]}
    assert len(z_ids) == 2  # the label moved; the key did not
    assert len({m["event_key"] for m in messages
                if [p["product"] for p in m["products"]] == ["Z"]}) == 1
    got = route_messages(messages, Route(url="https://hooks.example/x", products=("X",)))
    assert got and all("X" in [p["product"] for p in m["products"]] for m in got)


def test_the_first_incident_may_grow_worse_before_it_is_raised() -> None:
    # The first incident of a series climbs from one severity to the next between its
    # onset and its alert (a Tokyo product read in UTC days: its Monday morning, Sunday
    # 15:05 UTC, against a Sunday's baseline, from minor to major 25 minutes in and
    # raised two hours in). The messages are told from the alert on; the change before
    # it found no incident raised yet, and the grouping of none raised a KeyError.
    from spikes.model import ReportData
    from tests.test_baseline import workday_product

    counts = workday_product(1, 9, days=17)
    analysis = analyze(ReportData(counts=counts, bucket=pd.Timedelta("5min")))
    incident = analysis.incidents.iloc[0]
    bucket = analysis.data.bucket
    before = analysis.data.counts["app"].loc[incident["onset"]:incident["alerted_at"] - bucket]
    usual = analysis.baseline.expected["app"].loc[before.index]
    worst = [severity_of(r) for r in (before / usual).cummax()]
    assert len(set(worst[:-1])) > 1  # the case: a change before the bucket that raised it
    messages = analysis_messages(analysis)
    assert messages[0]["state"] == "open"
    assert messages[0]["products"][0]["onset"] == incident["onset"].isoformat()
    assert pd.Timestamp(messages[0]["at"]) == incident["alerted_at"]


def test_times_without_an_offset_are_utc_and_a_route_matches_a_name_as_written() -> None:
    # since/until without an offset are UTC, as everywhere else; a route that names
    # "Teams [EU]" gets its messages (the brackets of the name are no fnmatch set).
    from spikes.model import ReportData
    from tests.conftest import diurnal_counts, with_outage

    counts = with_outage(diurnal_counts(days=10, products=1, seed=1), "p0", 9 * 288 + 100,
                         12, 6.0).rename(columns={"p0": "Teams [EU]"})
    analysis = analyze(ReportData(counts=counts, bucket=pd.Timedelta("5min")))
    messages = analysis_messages(analysis)
    assert len(messages) >= 2
    for key in ("since", "until"):
        naive = analysis_messages(analysis, **{key: pd.Timestamp("2026-01-14 09:00")})
        aware = analysis_messages(analysis, **{key: pd.Timestamp("2026-01-14 09:00Z")})
        assert naive == aware and len(aware) >= 1
    routed = route_messages(messages, Route(url="https://hooks.example/x",
                                            products=("Teams [EU]",)))
    assert len(routed) == len(messages)
    assert route_messages(messages, Route(url="https://hooks.example/x",
                                          products=("Teams [US]",))) == []


# --- found by an edge-case hunt of the delivery (each failed before its fix) ----------
class _Broken:
    """A channel whose own code fails (not a DeliveryError)."""

    def send(self, message: dict) -> None:
        raise ValueError("Header values may not contain linefeed")


def test_any_error_of_a_channel_fails_its_own_route_only(sample) -> None:
    # An httpx.InvalidURL (a port "abc"), EmailMessage's ValueError (a line feed in a
    # name) or a NaN backoff ended the whole pass: no attempt logged, and in the service
    # every route after it in the pass stayed pending for good.
    _, messages = sample
    with Webhook() as hook:
        outbox = Outbox()
        notifier = Notifier(outbox, [_route("http://127.0.0.1:9/", name="a-broken"),
                                     _route(hook.url, name="b-oncall")],
                            channels={"a-broken": _Broken()})
        notifier.enqueue(messages[:3])
        assert not notifier.drain(timeout=30)  # a-broken's resolved waits behind its open
        assert [m["message_id"] for m in hook.received()] == \
            [m["message_id"] for m in messages[:3]]
        log = outbox.log()
        broken = log[log["route"] == "a-broken"]
        # max_attempts 5 for each open; the first event's resolved waits behind its open
        assert len(broken) == 2 * 5 and not broken["ok"].any()
        assert broken["error"].str.startswith("ValueError: Header values").all()
        table = outbox.messages()
        assert table.loc[table["route"] == "a-broken", "status"].tolist() == \
            ["failed", "pending", "failed"]


def test_a_slow_receiver_holds_up_no_other_route(sample) -> None:
    # One delivery thread sent to the routes in turn: a receiver taking 10 s to answer
    # (or trickling bytes for ever) held every other route's pages back.
    import threading

    _, messages = sample
    release = threading.Event()
    with Webhook(hold=release) as slow, Webhook() as fast:
        notifier = Notifier(Outbox(), [_route(slow.url, name="a-slow"),
                                       _route(fast.url, name="b-fast")])
        notifier.enqueue(messages[:2])
        notifier.start()
        try:
            assert slow.waiting.wait(timeout=30)  # the slow route's first post hangs
            deadline = time.monotonic() + 30
            while len(fast.received()) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            # Both pages reached the other route while the slow one still waits.
            assert len(fast.received()) == 2 and slow.received() == []
        finally:
            release.set()
            notifier.stop()
        assert notifier.drain(timeout=30)
        assert len(slow.received()) == 2


def test_an_error_of_a_routes_thread_is_raised_by_drain(sample, monkeypatch) -> None:
    # With two routes, drain ran each in a thread of its own and an error there (a bug,
    # a broken outbox) was a thread's traceback on stderr and "not delivered".
    _, messages = sample
    with Webhook() as one, Webhook() as two:
        outbox = Outbox()
        notifier = Notifier(outbox, [_route(one.url, name="one"), _route(two.url, name="two")])
        notifier.enqueue(messages[:1])

        def broken(*args, **kwargs):
            raise RuntimeError("the outbox is gone")

        monkeypatch.setattr(outbox, "record", broken)
        with pytest.raises(RuntimeError, match="the outbox is gone"):
            notifier.drain(timeout=10)


def test_retry_after_is_waited_and_a_redirect_is_named(sample) -> None:
    from spikes.alerts.delivery import deliver_due

    _, messages = sample
    now = pd.Timestamp("2026-01-22T20:00Z")
    with Webhook(fail_first=1, failure=429, headers={"Retry-After": "120"}) as hook:
        outbox = Outbox()
        route = _route(hook.url, name="hook")
        outbox.enqueue(messages[:1], "hook", now=now)
        [attempt] = deliver_due(outbox, {"hook": (route, make_channel(route))},
                                now=lambda: now)
        assert not attempt.ok and attempt.error.startswith("HTTP 429")
        # backoff 0.01 s, but the receiver asked for two minutes
        assert outbox.due()[0]["next_attempt_at"] == now + pd.Timedelta(seconds=120)
    with Webhook(fail_first=1, failure=301, headers={"Location": "https://x.test/new"}) as hook:
        route = _route(hook.url, name="hook")
        outbox = Outbox()
        outbox.enqueue(messages[:1], "hook", now=now)
        [attempt] = deliver_due(outbox, {"hook": (route, make_channel(route))},
                                now=lambda: now)
        assert attempt.error == ("HTTP 301: the receiver moved to https://x.test/new; point "
                                 "the route at that URL")


def test_an_email_refused_for_one_recipient_is_not_delivered(sample) -> None:
    # send_message's refused recipients were ignored: "delivered", and the pager that
    # a 4xx or 5xx refused never heard of the outage.
    from spikes.alerts.channels import DeliveryError

    _, messages = sample
    with Mailbox(refuse={"pager@example.com": "450 mailbox busy"}) as box:
        channel = make_channel(Route(url="mailto:oncall@example.com,pager@example.com",
                                     smtp=box.address))
        with pytest.raises(DeliveryError, match="refused pager@example.com: 450 mailbox busy"):
            channel.send(messages[0])
        box.refuse.clear()  # the pager's mailbox is free again: the retry goes to it only
        channel.send(messages[0])
        channel.send(messages[1])  # the next message to both
    assert [m["to"] for m in box.messages] == [
        ["oncall@example.com"], ["pager@example.com"],
        ["oncall@example.com", "pager@example.com"]]


def test_a_refused_address_holds_back_no_message_of_the_others(sample, tmp_path) -> None:
    # One typo in a mailto: route's addresses failed the event's open for good, and its
    # escalations and resolution then waited behind it: the valid address never heard
    # that the outage ended.
    _, messages = sample
    event = messages[0]["event_key"]
    own = [m for m in messages if m["event_key"] == event]
    assert len(own) >= 2
    now = [pd.Timestamp("2026-02-01T00:00Z")]
    with Mailbox(refuse={"typo@example.com": "550 no such user"}) as box:
        route = Route(url="mailto:oncall@example.com,typo@example.com", smtp=box.address,
                      backoff=0.0, max_attempts=1)
        outbox = Outbox(tmp_path / "outbox.duckdb")
        notifier = Notifier(outbox, [route], clock=lambda: now[0], retry_failed=True)
        notifier.enqueue(own)
        for _ in range(len(own) + 1):
            notifier.deliver()
            now[0] += pd.Timedelta(seconds=2)
        to_oncall = [m for m in box.messages if "oncall@example.com" in m["to"]]
        assert len(to_oncall) == len(own)  # every message of the event, in order
        outbox.close()


def test_an_email_has_a_date_and_a_subject_on_one_line(sample) -> None:
    # A product named "PSN\r\nBcc: x@y" (a CSV's quoted line break) made EmailMessage
    # raise: the alert was lost and `analyze` crashed.
    _, messages = sample
    message = {**messages[0], "title": "E0009 open (major): PSN\r\nBcc: victim@evil.example"}
    with Mailbox() as box:
        make_channel(Route(url="mailto:oncall@example.com", smtp=box.address)).send(message)
    mail = email.message_from_string(box.messages[0]["data"], policy=policy.default)
    assert mail["Subject"] == "[spikes] E0009 open (major): PSN Bcc: victim@evil.example"
    assert mail["Bcc"] is None and box.messages[0]["to"] == ["oncall@example.com"]
    assert abs(pd.Timestamp(mail["Date"].datetime) - pd.Timestamp.now(tz="UTC")) < \
        pd.Timedelta(minutes=5)


@pytest.mark.parametrize(("url", "error"), [
    ("http://127.0.0.1:abc/hook", "the port should be a number from 1 to 65535"),
    ("http://127.0.0.1:0/hook", "the port should be a number"),
    ("http://127.0.0.1:70000/hook", "the port should be a number"),
    ("http://[::1/", "is not a URL"),
    ("mailto:@", "expected mailto:name@host"),
    ("mailto:a@b.c;d@e.f", "addresses separated by commas"),
    ("MAILTO:a@b.c", "e-mail needs --smtp"),
    ("foo://bar", "neither http(s), slack+https, mailto nor a URL apprise understands"),
])
def test_a_route_no_channel_can_serve_is_refused_before_the_analysis(
        tmp_path: Path, capsys, url: str, error: str) -> None:
    # Accepted at start, they failed at the first alert (a traceback of `spikes serve`'s
    # startup, or after `analyze` had written -o), or were retried for two minutes.
    from spikes.cli import main

    out = tmp_path / "incidents.csv"
    assert main(["analyze", str(SAMPLE), "-o", str(out), "--notify", url]) == 2
    err = capsys.readouterr().err.strip()
    assert error in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_a_backoff_that_is_not_a_number_of_seconds_is_refused() -> None:
    for value in (float("nan"), float("inf")):
        with pytest.raises(SpikesInputError, match="backoff should be a finite number of "
                                                   f"seconds >= 0, got {value}"):
            parse_routes({"notify": [{"url": "http://127.0.0.1:9/", "backoff": value}]})


def test_a_route_added_to_a_service_with_history_is_not_paged_with_it(sample,
                                                                       tmp_path: Path) -> None:
    # The horizon was set only when the outbox was made: a route added (or renamed, or an
    # unnamed route whose webhook secret rotated) later got two weeks of old pages.
    from types import SimpleNamespace

    from spikes.service.app import _notifier

    _, messages = sample
    path = tmp_path / "store.duckdb"
    cut = pd.Timestamp(messages[10]["at"])
    first = _notifier(SimpleNamespace(path=path, closed_end=None, watermark=None), [_route("http://a/",
                                                                          name="oncall")])
    assert first is not None and first.enqueue(messages[:11]) == 11
    first.outbox.close()
    routes = [_route("http://a/", name="oncall"), _route("http://b/", name="new-team")]
    second = _notifier(SimpleNamespace(path=path, closed_end=cut, watermark=None), routes)
    assert second is not None
    second.enqueue(messages)
    table = second.outbox.messages()
    # The events over by the cut are history; one going on then comes whole, its open
    # too (a resolution alone told of an outage the receiver had never heard of).
    going = {event_key(m) for m in messages if pd.Timestamp(m["at"]) > cut}
    later = [m["message_id"] for m in messages if event_key(m) in going]
    assert table.loc[table["route"] == "new-team", "message_id"].tolist() == later
    assert len(table[table["route"] == "oncall"]) == len(messages)  # it had no horizon
    second.outbox.close()


def test_the_horizon_takes_an_event_going_on_whole_and_leaves_one_over(tmp_path: Path):
    # Per message, an event going on at the horizon lost its open and the receiver got
    # a resolution for an outage it had never been told of (a store filled by ingest).
    # By event, one going on then without a later message waited for its next message.
    def message(event: str, state: str, sequence: int, at: str) -> dict:
        return {"message_id": f"{event}-{sequence}", "event_id": event, "event_key": event,
                "state": state, "sequence": sequence, "at": f"2026-01-05T{at}:00+00:00"}

    outbox = Outbox(tmp_path / "store.duckdb")
    try:
        outbox.set_horizon(pd.Timestamp("2026-01-05 12:00", tz="UTC"))
        taken = outbox.enqueue([message("E1", "opened", 0, "10:00"),
                                message("E1", "resolved", 1, "11:00"),  # over: history
                                message("E2", "opened", 0, "11:30"),
                                message("E2", "resolved", 1, "12:30"),
                                # going on, its next message not known yet: at once
                                message("E3", "opened", 0, "11:40"),
                                message("E3", "escalated", 1, "11:50"),
                                # over, then found going on again by then
                                message("E4", "opened", 0, "10:00"),
                                message("E4", "resolved", 1, "10:30"),
                                message("E4", "opened", 2, "11:00")], "oncall")
        assert taken == 7
        assert sorted(outbox.messages()["message_id"]) == [
            "E2-0", "E2-1", "E3-0", "E3-1", "E4-0", "E4-1", "E4-2"]
    finally:
        outbox.close()


def test_analyze_sends_again_what_it_failed_to_deliver_and_says_so(tmp_path: Path,
                                                                   capsys) -> None:
    # Failed messages were never tried again ("a second run sends only what the first
    # did not deliver"), and a run that delivered nothing exited with 0.
    from spikes.cli import main
    from tests.receivers import free_port

    port = free_port()
    config = tmp_path / "spikes.toml"
    config.write_text(f'[[notify]]\nname = "hook"\nurl = "http://127.0.0.1:{port}/a"\n'
                      'max_attempts = 1\nbackoff = 0\n')
    outbox = tmp_path / "outbox.duckdb"
    args = ["analyze", str(SAMPLE), "--config", str(config), "--notify-config",
            "--outbox", str(outbox)]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "0 delivered" in captured.out
    assert "notification(s) not delivered" in captured.err
    assert f"run again with --outbox {outbox}" in captured.err
    with Webhook() as hook:
        hook_port = hook.url.rsplit(":", 1)[1]
        config.write_text(config.read_text().replace(str(port), hook_port))
        assert main(args) == 0
        sent = len(hook.received())
    assert sent > 0 and f"{sent} delivered, 0 failed, 0 pending" in capsys.readouterr().out


def test_analyze_says_it_is_delivering_and_waits_no_longer_than_told(tmp_path: Path,
                                                                      capsys) -> None:
    # To a receiver that is down, the default retries (8, backoff doubling from 1 s)
    # held the run for ten minutes without a word after the incidents.
    from spikes.cli import main
    from tests.receivers import free_port

    url = f"http://127.0.0.1:{free_port()}/hook"
    started = time.monotonic()
    assert main(["analyze", str(SAMPLE), "--notify", url, "--notify-wait", "1"]) == 1
    assert time.monotonic() - started < 60
    captured = capsys.readouterr()
    assert "delivering 26 notifications to 1 route (retrying for up to 1 s; " \
           "--notify-wait)" in captured.err
    assert "still pending" in captured.err
    assert "(nan)" not in captured.out  # a message not tried yet has no error to show
    with pytest.raises(SystemExit) as exited:
        main(["analyze", str(SAMPLE), "--notify", url, "--notify-wait", "-1"])
    assert exited.value.code == 2
    assert "argument --notify-wait: '-1' is not a number of seconds >= 0" in \
        capsys.readouterr().err


def test_an_outbox_speaks_of_the_routes_configured_now(sample, tmp_path: Path,
                                                       capsys) -> None:
    # The failures of a route since removed were counted for ever: every later run said
    # "26 failed" and exited with 1, though the routes of now had all their messages.
    from spikes.cli import main
    from tests.receivers import free_port

    config = tmp_path / "spikes.toml"
    outbox = tmp_path / "outbox.duckdb"
    config.write_text(f'[[notify]]\nname = "old"\nurl = "http://127.0.0.1:{free_port()}/"\n'
                      'max_attempts = 1\nbackoff = 0\n')
    args = ["analyze", str(SAMPLE), "--config", str(config), "--notify-config",
            "--outbox", str(outbox)]
    assert main(args) == 1
    capsys.readouterr()
    with Webhook() as hook:
        config.write_text(f'[[notify]]\nname = "new"\nurl = "{hook.url}/"\n')
        assert main(args) == 0
        sent = len(hook.received())
    out = capsys.readouterr().out
    assert f"{sent} message(s) to 1 route(s): {sent} delivered, 0 failed, 0 pending" in out
    assert "-> old" not in out


def test_analyze_sends_nothing_to_the_config_s_routes_unless_asked(tmp_path: Path,
                                                                    capsys) -> None:
    # The service's config reused for a batch run over history delivered every old event
    # to its on-call route (26 messages for the sample), and made --retrospective fail
    # with an error about --notify, which was not given.
    from spikes.cli import main

    with Webhook() as hook:
        config = tmp_path / "spikes.toml"
        # (and a route it cannot build, a mailto: without an SMTP server: not used, not
        # checked)
        config.write_text(f'[[notify]]\nname = "oncall"\nurl = "{hook.url}/"\n\n'
                          '[[notify]]\nurl = "mailto:oncall@example.com"\n')
        assert main(["analyze", str(SAMPLE), "--config", str(config)]) == 0
        assert main(["analyze", str(SAMPLE), "--config", str(config),
                     "--retrospective"]) == 0
        assert hook.received() == []
    err = capsys.readouterr().err
    assert (f"note: {config} holds 2 [[notify]] routes; analyze sends nothing to them "
            "without --notify-config") in err
    assert main(["analyze", str(SAMPLE), "--notify-config"]) == 2
    assert "--notify-config sends to the [[notify]] routes of --config: give --config " \
           "FILE" in capsys.readouterr().err


# --- found by a bug hunt of the live service (each failed before) ------------------------
def test_a_failed_open_holds_its_event_back_and_goes_first_when_the_receiver_is_back(
        sample, tmp_path: Path) -> None:
    # An open that ran out of attempts (a receiver down two minutes) was marked failed,
    # its event's resolved was delivered without it, and the service never sent it.
    _, messages = sample
    first, second = messages[0]["event_key"], messages[2]["event_key"]
    assert [m["event_key"] for m in messages[:4]] == [first, first, second, second]
    now = [pd.Timestamp("2026-02-01T00:00Z")]

    def clock() -> pd.Timestamp:
        return now[0]

    path = tmp_path / "outbox.duckdb"
    route = Route(url="", name="hook", backoff=1.0, max_attempts=2)
    with Webhook(fail_first=99) as hook:  # down
        route = dataclasses.replace(route, url=hook.url)
        outbox = Outbox(path)
        notifier = Notifier(outbox, [route], clock=clock, retry_failed=True)
        notifier.enqueue(messages[:2])
        notifier.deliver()  # the open fails twice: failed; its resolved is not tried
        now[0] += pd.Timedelta(seconds=5)
        notifier.deliver()
        notifier.deliver()
        table = outbox.messages()
        assert table["status"].tolist() == ["failed", "pending"]
        assert table["attempts"].tolist() == [2, 0]
        notifier.enqueue(messages[:4])  # another event is not held up by it
        hook.fail_first = 0  # the receiver is back ...
        notifier.deliver()
        assert [m["message_id"] for m in hook.received()] == \
            [m["message_id"] for m in messages[2:4]]
        outbox.close()
        outbox = Outbox(path)  # ... and the service restarted
        notifier = Notifier(outbox, [route], clock=clock, retry_failed=True)
        notifier.deliver()  # the failed open's next attempt is not due yet
        assert len(hook.received()) == 2
        now[0] += pd.Timedelta(seconds=10)  # its third attempt, 2 s after the second
        notifier.deliver()
        notifier.deliver()
        assert [m["message_id"] for m in hook.received()] == \
            [m["message_id"] for m in messages[2:4] + messages[:2]]
        assert outbox.counts() == {"pending": 0, "delivered": 4, "failed": 0}
        assert hook.attempts()[messages[1]["message_id"]] == 1  # never sent before its open
        outbox.close()


def test_a_failed_message_is_retried_for_a_day_not_for_ever(sample, tmp_path: Path) -> None:
    # serve retried a failed message every five minutes for as long as it ran: a receiver
    # gone for good cost an attempt and a log row each time, for weeks.
    _, messages = sample
    now = [pd.Timestamp("2026-02-01T00:00Z")]
    route = Route(url="", name="hook", backoff=1.0, max_attempts=1)
    with Webhook(fail_first=10**6) as hook:  # gone
        route = dataclasses.replace(route, url=hook.url)
        outbox = Outbox(tmp_path / "outbox.duckdb")
        notifier = Notifier(outbox, [route], clock=lambda: now[0], retry_failed=True)
        notifier.enqueue(messages[:1])
        notifier.deliver()
        now[0] += pd.Timedelta(hours=23)
        notifier.deliver()  # within the day: tried again
        tried = len(outbox.log())
        assert tried == 2
        now[0] += pd.Timedelta(hours=2)
        notifier.deliver()
        now[0] += pd.Timedelta(hours=2)
        notifier.deliver()
        assert len(outbox.log()) == tried  # past the day: no more tries
        assert outbox.counts()["failed"] == 1  # still listed as failed
        assert notifier.drain(timeout=1)  # out of the outbox, as failed (nothing waits)
        outbox.close()


def test_a_failed_message_is_retried_no_faster_than_once_a_second(sample,
                                                                   tmp_path: Path) -> None:
    # backoff = 0 (accepted) retried a failed message in a hot loop: 65-80 attempts a
    # second, each a log row, for a day.
    _, messages = sample
    now = [pd.Timestamp("2026-02-01T00:00Z")]
    with Webhook(fail_first=10**6) as hook:  # gone
        route = Route(url=hook.url, name="hook", backoff=0.0, max_attempts=1)
        outbox = Outbox(tmp_path / "outbox.duckdb")
        notifier = Notifier(outbox, [route], clock=lambda: now[0], retry_failed=True)
        notifier.enqueue(messages[:1])
        for _ in range(5):  # five passes within the same half second
            notifier.deliver()
            now[0] += pd.Timedelta(milliseconds=100)
        assert len(outbox.log()) == 1
        now[0] += pd.Timedelta(seconds=1)
        notifier.deliver()
        assert len(outbox.log()) == 2
        outbox.close()


def test_serve_goes_on_retrying_failed_messages(sample, tmp_path: Path) -> None:
    # Only `spikes analyze` made failed messages pending again; the service's delivery
    # threads left them failed for good.
    from types import SimpleNamespace

    from spikes.service.app import _notifier

    _, messages = sample
    with Webhook(fail_first=99) as hook:
        route = Route(url=hook.url, name="hook", backoff=0.02, max_attempts=2)
        store = SimpleNamespace(path=tmp_path / "store.duckdb", closed_end=None, watermark=None)
        notifier = _notifier(store, [route])  # the service's notifier
        assert notifier is not None
        notifier.enqueue(messages[:2])
        notifier.start()
        try:
            deadline = time.monotonic() + 30
            while notifier.outbox.counts()["failed"] < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert notifier.outbox.counts() == {"pending": 1, "delivered": 0, "failed": 1}
            hook.fail_first = 0
            while len(hook.received()) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            notifier.stop()
            counts = notifier.outbox.counts()
            notifier.outbox.close()
        assert [m["message_id"] for m in hook.received()] == \
            [m["message_id"] for m in messages[:2]]
        assert counts == {"pending": 0, "delivered": 2, "failed": 0}


def test_events_over_long_ago_are_not_paged_unless_their_route_was_told(sample) -> None:
    # A backfill posted into a fresh store with --notify paged every event of its past.
    _, messages = sample
    with Webhook() as hook:
        outbox = Outbox()
        notifier = Notifier(outbox, [_route(hook.url, name="hook")])
        ongoing = [m for m in messages if m["event_key"] == messages[-2]["event_key"]]
        assert [m["state"] for m in ongoing] == ["open"]  # E0011: no resolution yet
        last = pd.Timestamp(messages[-1]["at"])  # E0010 resolved
        end = last + pd.Timedelta("10min")
        # Data that ended long before the cut-off: all of it is history.
        assert notifier.enqueue(messages, settled_before=end, until=end) == 0
        # Recent data: the events going on, or over since the cut-off, are paged.
        cut = last - pd.Timedelta("1min")
        recent = {m["event_key"] for m in messages
                  if m["state"] == "resolved" and pd.Timestamp(m["at"]) > cut}
        recent |= {m["event_key"] for m in ongoing}
        kept = [m["message_id"] for m in messages if m["event_key"] in recent]
        assert notifier.enqueue(messages, settled_before=cut, until=end) == len(kept) == 5
        assert outbox.messages()["message_id"].tolist() == kept
        # An event a route holds a message of keeps its later ones, however old.
        told = Outbox()
        notifier = Notifier(told, [_route(hook.url, name="hook")])
        notifier.enqueue(messages[:1])
        assert notifier.enqueue(messages, settled_before=end, until=end) == 1
        assert told.messages()["state"].tolist() == ["open", "resolved"]


GMAIL_CUT = pd.Timestamp("2026-01-16T10:30Z")  # the sample's Gmail outage, 09:35-11:25
GMAIL_DAY = "2026-01-16"


def _gmail_messages(hook: Webhook) -> list[dict]:
    return [m for m in hook.received() if m["onset"].startswith(GMAIL_DAY)]


def _paged_then_restarted(tmp_path: Path, config) -> tuple[Webhook, Notifier, Outbox, str]:
    """A route told of the Gmail outage by a detection cut mid-outage with the defaults,
    then a detection from scratch over all the data with `config` (a restart)."""
    data = sample_data()
    cut = dataclasses.replace(data, counts=data.counts.loc[:GMAIL_CUT - data.bucket])
    hook = Webhook().__enter__()
    outbox = Outbox(tmp_path / "outbox.duckdb")
    notifier = Notifier(outbox, [_route(hook.url, name="hook", products=("Gmail",))])
    notifier.observe(analyze(cut))
    assert notifier.drain(timeout=30)
    told = _gmail_messages(hook)
    assert [(m["state"], m["severity"]) for m in told] == [("open", "minor"),
                                                            ("escalated", "major")]
    assert told[0]["onset"] == "2026-01-16T09:35:00+00:00"
    notifier.observe(analyze(data, config))
    assert notifier.drain(timeout=30)
    return hook, notifier, outbox, told[0]["event_key"]


def test_a_restart_with_other_settings_goes_on_with_the_event_the_route_was_paged_for(
        tmp_path: Path) -> None:
    # A tuned config moves the outage's first onset (09:35 -> 09:30), so its event has
    # another key: the receiver heard a second open and never the end of the first.
    config = load_config(None).__class__(false_alarms_per_week=0.03)
    again = analyze(sample_data(), config).incidents
    gmail = again[(again["product"] == "Gmail")
                  & (again["onset"] >= pd.Timestamp(GMAIL_DAY, tz="UTC"))]
    assert gmail["onset"].tolist() == [pd.Timestamp("2026-01-16T09:30Z")]
    hook, notifier, outbox, key = _paged_then_restarted(tmp_path, config)
    try:
        got = _gmail_messages(hook)
        assert [m["state"] for m in got] == ["open", "escalated", "resolved"]
        assert {m["event_key"] for m in got} == {key}
        assert len({m["event_id"] for m in got}) == 1
        assert got[2]["sequence"] > got[1]["sequence"]
        assert got[2]["end"] == "2026-01-16T11:25:00+00:00"
        # Detections after that (another restart) add nothing.
        assert notifier.observe(analyze(sample_data(), config)) == 0
        assert len(outbox.continuations("hook")) == 1
    finally:
        hook.__exit__(None, None, None)
        outbox.close()


def test_an_event_the_detection_no_longer_finds_is_withdrawn(tmp_path: Path) -> None:
    config = load_config(None).__class__(overrides={"Gmail": {"min_ratio": 10}})
    hook, notifier, outbox, key = _paged_then_restarted(tmp_path, config)
    try:
        got = _gmail_messages(hook)
        assert [m["state"] for m in got] == ["open", "escalated", "resolved"]
        assert got[2]["event_key"] == key and got[2]["title"].endswith("no longer detected")
        assert "no longer detected" in message_text(got[2])
        assert notifier.observe(analyze(sample_data(), config)) == 0
    finally:
        hook.__exit__(None, None, None)
        outbox.close()


def test_a_later_detection_of_other_data_withdraws_nothing(tmp_path: Path) -> None:
    # An outbox shared by runs over other files: an event of a product the detection
    # did not see, or from before its data, is not its to withdraw.
    data = sample_data()
    cut = dataclasses.replace(data, counts=data.counts.loc[:GMAIL_CUT - data.bucket])
    later = dataclasses.replace(data, counts=data.counts.loc["2026-01-17":])
    others = dataclasses.replace(data, counts=data.counts.drop(columns="Gmail"))
    with Webhook() as hook:
        outbox = Outbox(tmp_path / "outbox.duckdb")
        notifier = Notifier(outbox, [_route(hook.url, name="hook", products=("Gmail",))])
        notifier.observe(analyze(cut))
        notifier.observe(analyze(others))
        notifier.observe(analyze(later))
        assert notifier.drain(timeout=30)
        assert [m["state"] for m in _gmail_messages(hook)] == ["open", "escalated"]
        outbox.close()


def test_a_restart_long_after_the_outage_ended_still_tells_its_end(tmp_path: Path) -> None:
    # On the wall clock an event over more than an hour before is history unless the
    # route holds it; the continued messages all had new ids, so the end was dropped.
    data = sample_data()
    cut = dataclasses.replace(data, counts=data.counts.loc[:GMAIL_CUT - data.bucket])
    config = load_config(None).__class__(false_alarms_per_week=0.03)
    with Webhook() as hook:
        outbox = Outbox(tmp_path / "outbox.duckdb")
        notifier = Notifier(outbox, [_route(hook.url, name="hook", products=("Gmail",))])
        notifier.observe(analyze(cut))
        notifier.observe(analyze(data, config),
                         settled_before=pd.Timestamp("2026-01-23T12:00Z"))
        assert notifier.drain(timeout=30)
        assert [m["state"] for m in _gmail_messages(hook)] == ["open", "escalated",
                                                               "resolved"]
        outbox.close()


def test_a_route_s_first_message_of_an_event_is_an_open(sample) -> None:
    # A route with min_severity = "major" got its first message of Teams' event as
    # "escalated" (and never an "open"): a pager that opens incidents on "open" dropped
    # it, and a person read of an escalation of something never opened.
    analysis, messages = sample
    teams = event_of(analysis, "Microsoft Teams")
    whole = [m for m in messages if m["event_id"] == teams]
    assert [m["state"] for m in whole][:2] == ["open", "escalated"]
    assert whole[0]["severity"] == "minor" and whole[1]["severity"] == "major"
    taken = [m for m in route_messages(messages, Route(url="http://127.0.0.1:9/",
                                                       min_severity="major"))
             if m["event_id"] == teams]
    assert taken[0]["state"] == "open" and taken[0]["severity"] == "major"
    assert taken[0]["title"].startswith(f"{teams} open (major): Microsoft Teams")
    assert taken[0]["message_id"] == whole[1]["message_id"]
    assert [m["state"] for m in taken[1:]] == [m["state"] for m in whole[2:]]
    assert whole[1]["state"] == "escalated"  # the other routes' copy is unchanged
