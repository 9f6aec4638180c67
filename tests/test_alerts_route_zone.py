"""A time zone per notification route (``tz`` of ``[[notify]]``): the text of Slack,
e-mail and apprise gives its times there, while the message, its JSON and the outbox
keep UTC; a route without ``tz`` gets the text it always got."""

from __future__ import annotations

import email
import json
import tomllib
from email import policy
from pathlib import Path

import pandas as pd
import pytest

from spikes.alerts.channels import make_channel, message_text, slack_escaped
from spikes.alerts.notifier import Notifier
from spikes.alerts.outbox import Outbox
from spikes.alerts.routing import Route, load_routes, parse_routes
from spikes.alerts.timeline import analysis_messages
from spikes.alerts.zoned import reason_in_route_zone, title_in_zone
from spikes.detect.pipeline import analyze
from spikes.errors import SpikesInputError
from tests.conftest import sample_data
from tests.receivers import Mailbox, Webhook

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "reports.csv.gz"
BERLIN = "Europe/Berlin"


@pytest.fixture(scope="module")
def messages() -> list[dict]:
    """The messages of the live analysis of the bundled sample (January: CET)."""
    return analysis_messages(analyze(sample_data()))


def _resolved(messages: list[dict]) -> dict:
    """The resolved message of Microsoft 365's outage: five products, each with its
    peak, start, alert and end in its reason."""
    return next(m for m in messages if m["state"] == "resolved"
                and m["products"][0]["product"] == "Outlook")


def _summer() -> dict:
    """A message of a summer night (CEST), its peak and start on a Wednesday in UTC and
    on the Thursday in Berlin, written as :mod:`spikes.alerts.timeline` writes them."""
    why = ("Steam: 90 reports in 5 min against 6.0 usual on a Wednesday at 22:10 UTC "
           "(15x, p < 1e-30); started 22:00, raised 22:10; top problem 'Login' 80 % "
           "against 9 % usually.")
    return {"message_id": "m" * 32, "event_id": "E0001", "event_key": "k",
            "state": "resolved", "sequence": 1, "at": "2026-07-01T23:35:00+00:00",
            "products": [{"product": "Steam", "onset": "2026-07-01T22:00:00+00:00",
                          "alerted_at": "2026-07-01T22:10:00+00:00", "severity": "critical",
                          "end": "2026-07-01T22:55:00+00:00", "why": why,
                          "known_event": ""}],
            "severity": "critical", "onset": "2026-07-01T22:00:00+00:00",
            "alerted_at": "2026-07-01T22:10:00+00:00", "end": "2026-07-01T22:55:00+00:00",
            "why": why,
            "title": "E0001 resolved (critical): Steam, over since 2026-07-01 22:55 UTC"}


def _utc_text(message: dict) -> str:
    """The text of Slack, e-mail and apprise as it was before routes had a zone."""
    lines = [f"[spikes] {' '.join(message['title'].split())}"]
    for product in message["products"]:
        line = f"- {product['why']} ({product['severity']})"
        if product.get("end"):
            line += f", over {product['end'][11:16]} UTC"
        if product.get("known_event"):
            line += f" [known event: {product['known_event']}]"
        lines.append(line)
    lines.append(f"event {message['event_id']}, message {message['message_id']} "
                 f"at {message['at']}")
    return "\n".join(lines)


# --- the key ----------------------------------------------------------------------------
def test_a_route_reads_its_tz_as_tz_is_read() -> None:
    routes = parse_routes(tomllib.loads(
        '[[notify]]\nname = "berlin"\nurl = "http://h/"\ntz = "europe/berlin"\n'
        '[[notify]]\nname = "plus-one"\nurl = "http://h/"\ntz = "UTC+01:00"\n'
        '[[notify]]\nname = "utc"\nurl = "http://h/"\ntz = "Etc/UTC"\n'
        '[[notify]]\nname = "none"\nurl = "http://h/"\n'), source="f.toml")
    assert [r.tz for r in routes] == [BERLIN, "Etc/GMT-1", "UTC", "UTC"]
    assert Route(url="http://h/").tz == "UTC"
    # A tz of UTC (under any of its names) is no tz: the text as without one.
    message = _summer()
    assert message_text(message, routes[2].tz) == message_text(message) == \
        _utc_text(message)


@pytest.mark.parametrize(("table", "error"), [
    ('name = "berlin"\ntz = "Europe/Berln"',
     "f.toml: [[notify]] #2 (name = 'berlin'): tz: unknown time zone 'Europe/Berln': "
     "expected an IANA name"),
    ('tz = "UTC+30"', "f.toml: [[notify]] #2: tz: unknown time zone 'UTC+30': an offset "
                      "of more than 14 hours"),
    ("tz = 1", 'f.toml: [[notify]] #2: tz should be a time zone such as "Europe/Berlin" '
               'or "UTC+01:00", got 1'),
    ('tz = " "', "f.toml: [[notify]] #2: tz should be a time zone"),
])
def test_a_tz_naming_no_zone_says_which_route_and_key(table: str, error: str) -> None:
    text = f'[[notify]]\nurl = "http://a/"\n[[notify]]\nurl = "http://h/"\n{table}\n'
    with pytest.raises(SpikesInputError) as caught:
        parse_routes(tomllib.loads(text), source="f.toml")
    assert str(caught.value).startswith(error)
    if "Berln" in table:
        assert str(caught.value).endswith("(did you mean Europe/Berlin?)")


def test_a_bad_tz_stops_analyze_before_it_runs(tmp_path: Path, capsys) -> None:
    from spikes.cli import main

    config = tmp_path / "spikes.toml"
    config.write_text('[[notify]]\nname = "berlin"\nurl = "http://127.0.0.1:9/"\n'
                      'tz = "Mars/Olympus"\n')
    out = tmp_path / "incidents.csv"
    assert main(["analyze", str(SAMPLE), "-o", str(out), "--config", str(config),
                 "--notify-config"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"spikes analyze: error: {config}: [[notify]] #1 (name = 'berlin'): tz: unknown "
        "time zone 'Mars/Olympus': expected an IANA name such as America/New_York or UTC, "
        "or an offset such as UTC+01:00")
    assert not out.exists()
    with pytest.raises(SpikesInputError, match=r"#1 \(name = 'berlin'\): tz: "):
        load_routes(config)


# --- the text in the route's zone -------------------------------------------------------
def test_slack_text_in_berlin_gives_every_time_in_cet(messages) -> None:
    message = _resolved(messages)
    with Webhook() as hook:
        port = hook.url.rsplit(":", 1)[1]
        make_channel(Route(url=f"slack+http://127.0.0.1:{port}/slack", tz=BERLIN)
                     ).send(message)
        (got,) = hook.received("/slack")
    lines = got["text"].split("\n")
    assert lines[0] == ("[spikes] E0010 resolved (critical): Outlook, Exchange Online, "
                        "Microsoft Store, Microsoft Defender, Microsoft Purview, over since "
                        "2026-01-22 23:40 CET")
    assert lines[1].startswith("- Outlook: 1,391 reports in 5 min against 14.4 usual on a "
                               "Thursday at 21:10 CET (96x, p &lt; 1e-30); started 20:00, "
                               "raised 20:10; top problem ")
    assert lines[1].endswith("(critical), over 23:40 CET")
    assert lines[2].startswith("- Exchange Online: 267 reports in 5 min against 4.6 usual "
                               "on a Thursday at 21:00 CET (58x, p &lt; 1e-30); started "
                               "20:05, raised 20:15; ")
    assert lines[2].endswith(", over 23:25 CET")
    assert lines[-1] == f"event E0010, message {message['message_id']} at " \
                        "2026-01-23T00:50:00+01:00"
    assert " UTC" not in got["text"] and "+00:00" not in got["text"]
    # Each product's reason is the one of the message, its times an hour later.
    for product, line in zip(message["products"], lines[1:-1], strict=True):
        assert line.count("CET") == 2  # its peak and its end
        end = pd.Timestamp(product["end"]).tz_convert(BERLIN)
        assert line.endswith(f", over {end:%H:%M} CET")


def test_every_message_of_the_sample_reads_in_berlin_without_utc(messages) -> None:
    for message in messages:
        text = message_text(message, BERLIN)
        assert "UTC" not in text and "+00:00" not in text, text
        assert text.count(" CET") >= 1 + len(message["products"])


def test_email_subject_and_text_in_berlin_json_in_utc(messages) -> None:
    message = _resolved(messages)
    with Mailbox() as box:
        make_channel(Route(url="mailto:oncall@example.com", smtp=box.address, tz=BERLIN)
                     ).send(message)
    mail = email.message_from_string(box.messages[0]["data"], policy=policy.default)
    assert mail["Subject"] == ("[spikes] E0010 resolved (critical): Outlook, Exchange "
                               "Online, Microsoft Store, Microsoft Defender, Microsoft "
                               "Purview, over since 2026-01-22 23:40 CET")
    text, _, data = mail.get_content().replace("\r\n", "\n").partition("\n\n")
    assert text == message_text(message, BERLIN)
    assert "on a Thursday at 21:10 CET" in text and "UTC" not in text
    assert json.loads(data) == message  # the JSON as the machines read it: UTC
    assert json.loads(data)["end"] == "2026-01-22T22:40:00+00:00"


def test_apprise_title_and_body_in_berlin(messages) -> None:
    message = _resolved(messages)
    with Webhook() as hook:
        port = hook.url.rsplit(":", 1)[1]
        make_channel(Route(url=f"json://127.0.0.1:{port}/apprise", tz=BERLIN)).send(message)
        (got,) = hook.received("/apprise")
    assert got["title"] == ("[spikes] E0010 resolved (critical): Outlook, Exchange Online, "
                            "Microsoft Store, Microsoft Defender, Microsoft Purview, over "
                            "since 2026-01-22 23:40 CET")
    assert got["message"] == message_text(message, BERLIN)
    assert "at 21:10 CET" in got["message"] and "UTC" not in got["message"]


def test_a_summer_night_reads_in_cest_on_the_next_day() -> None:
    message = _summer()
    assert message_text(message, BERLIN) == (
        "[spikes] E0001 resolved (critical): Steam, over since 2026-07-02 00:55 CEST\n"
        "- Steam: 90 reports in 5 min against 6.0 usual on a Thursday at 00:10 CEST "
        "(15x, p < 1e-30); started 00:00, raised 00:10; top problem 'Login' 80 % against "
        "9 % usually. (critical), over 00:55 CEST\n"
        f"event E0001, message {'m' * 32} at 2026-07-02T01:35:00+02:00")
    # An offset route: the offset as the zone's label.
    assert "on a Wednesday at 23:10 UTC+01:00" in message_text(message, "Etc/GMT-1")


def test_a_reason_whose_times_are_not_found_says_they_are_utc() -> None:
    message = _summer()
    edited = "Steam: peak at 21:00 UTC (edited by hand)"
    gone = "Steam: no longer detected (the detection of now finds no outage of it then)"
    for why, shown in ((edited, f"{edited} (times in UTC)"), (gone, gone)):
        changed = {**message, "products": [{**message["products"][0], "why": why}]}
        assert f"- {shown} (critical), over 00:55 CEST" in \
            message_text(changed, BERLIN).splitlines()


# --- the day of a reason's peak (not in the message: from the onset's day to its time) --
def _written(product: str, onset: str, peak: str, raised: str, offset: str | None = None,
             cold: bool = False) -> dict:
    """A message's product whose reason is written by :mod:`spikes.detect.reasons` (its
    own part) for an incident with these times (UTC): in local days at `offset`
    (``utc_offset``), or on its first day of data where `cold`."""
    from spikes.detect.baseline import Baseline
    from spikes.detect.reasons import _own_reasons
    from spikes.model import ReportData

    onset_, peak_, raised_ = (pd.Timestamp(t) for t in (onset, peak, raised))
    index = pd.date_range(onset_.normalize() - pd.Timedelta(days=1),
                          peak_.normalize() + pd.Timedelta(days=2), freq="5min",
                          inclusive="left")
    usual = pd.DataFrame({product: 6.0}, index=index)
    counts = usual.copy()
    counts.loc[peak_, product] = 90.0
    baseline = Baseline(expected=usual, dispersion=pd.Series({product: 0.05}),
                        normal=usual > 0, method="weekly",
                        cold=pd.DataFrame({product: index == peak_}, index=index)
                        if cold else None)
    incidents = pd.DataFrame({"product": [product], "onset": [onset_], "peak": [peak_],
                              "alerted_at": [raised_], "end": [peak_]})
    (why,) = _own_reasons(incidents, ReportData(counts=counts, bucket=pd.Timedelta("5min")),
                          baseline, offsets={product: pd.Timedelta(offset)} if offset else None)
    return {"product": product, "onset": onset_.isoformat(),
            "alerted_at": raised_.isoformat(), "why": why + "."}


@pytest.mark.parametrize(("product", "at", "why", "shown"), [
    # The peak past midnight UTC, a day after the onset (in Berlin both on the Friday).
    (("Steam", "2026-01-22T23:50Z", "2026-01-23T00:10Z", "2026-01-23T00:00Z"),
     "2026-01-23T00:30:00+00:00",
     "usual on a Friday at 00:10 UTC (15x, p < 1e-30); started 2026-01-22 23:50, "
     "raised 00:00.",
     "usual on a Friday at 01:10 CET (15x, p < 1e-30); started 00:50, raised 01:00."),
    # An event over three days: the peak on the Thursday, two days after the onset.
    (("Steam", "2026-01-20T23:00Z", "2026-01-22T16:10Z", "2026-01-20T23:10Z"),
     "2026-01-22T18:00:00+00:00",
     "usual on a Thursday at 16:10 UTC (15x, p < 1e-30); started 2026-01-20 23:00, "
     "raised 2026-01-20 23:10.",
     "usual on a Thursday at 17:10 CET (15x, p < 1e-30); started 2026-01-21 00:00, "
     "raised 2026-01-21 00:10."),
    # Across the spring clock change: started in CET, the peak in CEST.
    (("Steam", "2026-03-27T23:00Z", "2026-03-29T16:10Z", "2026-03-27T23:10Z"),
     "2026-03-29T18:00:00+00:00",
     "usual on a Sunday at 16:10 UTC (15x, p < 1e-30); started 2026-03-27 23:00, "
     "raised 2026-03-27 23:10.",
     "usual on a Sunday at 18:10 CEST (15x, p < 1e-30); started 2026-03-28 00:00 CET, "
     "raised 2026-03-28 00:10 CET."),
    # A product in Tokyo's days (utc_offset): its weekday and time its own, the next day
    # there; the UTC time beside them in Berlin.
    (("Line", "2026-01-22T15:30Z", "2026-01-22T16:10Z", "2026-01-22T15:40Z", "9h"),
     "2026-01-22T16:30:00+00:00",
     "usual on a Friday at 01:10 UTC+09:00 (16:10 UTC) (15x, p < 1e-30); started 15:30, "
     "raised 15:40.",
     "usual on a Friday at 01:10 UTC+09:00 (17:10 CET) (15x, p < 1e-30); started 16:30, "
     "raised 16:40."),
    # ... its peak on the UTC day after the onset (the day before fits no started text).
    (("Line", "2026-01-21T23:00Z", "2026-01-22T16:10Z", "2026-01-21T23:10Z", "9h"),
     "2026-01-22T18:00:00+00:00",
     "usual on a Friday at 01:10 UTC+09:00 (16:10 UTC) (15x, p < 1e-30); started "
     "2026-01-21 23:00, raised 2026-01-21 23:10.",
     "usual on a Friday at 01:10 UTC+09:00 (17:10 CET) (15x, p < 1e-30); started 00:00, "
     "raised 00:10."),
    # On its first day of data, the peak a day after the onset.
    (("Steam", "2026-01-21T15:30Z", "2026-01-22T16:10Z", "2026-01-21T15:40Z", None, True),
     "2026-01-22T16:30:00+00:00",
     "in the hours before (its first day of data) at 16:10 UTC (15x, p < 1e-30); started "
     "2026-01-21 15:30, raised 2026-01-21 15:40.",
     "in the hours before (its first day of data) at 17:10 CET (15x, p < 1e-30); started "
     "2026-01-21 16:30, raised 2026-01-21 16:40."),
], ids=["peak-past-midnight-utc", "three-days", "spring-clock-change", "local-days",
        "local-days-later-day", "first-day-of-data"])
def test_a_reason_whose_peak_is_on_one_day_reads_in_berlin(product, at, why, shown) -> None:
    # The peak's day is not in the message: the days from the onset to the message's time
    # are tried, and here only one fits the reason as written.
    product = _written(*product)
    assert product["why"].endswith(why)
    assert reason_in_route_zone(product, BERLIN, at) == \
        product["why"].removesuffix(why) + shown


@pytest.mark.parametrize(("product", "at", "why"), [
    # A product in local days names no UTC weekday: 16:10 UTC of the Wednesday fits its
    # text as well as that of the Thursday (the peak), with other times in Berlin.
    (("Line", "2026-01-20T23:00Z", "2026-01-22T16:10Z", "2026-01-20T23:10Z", "9h"),
     "2026-01-22T18:00:00+00:00",
     "usual on a Friday at 01:10 UTC+09:00 (16:10 UTC) (15x, p < 1e-30); started "
     "2026-01-20 23:00, raised 2026-01-20 23:10."),
    # ... and across the spring clock change (CET the day before, CEST the peak's).
    (("Line", "2026-03-27T23:00Z", "2026-03-29T16:10Z", "2026-03-27T23:10Z", "9h"),
     "2026-03-29T18:00:00+00:00",
     "usual on a Monday at 01:10 UTC+09:00 (16:10 UTC) (15x, p < 1e-30); started "
     "2026-03-27 23:00, raised 2026-03-27 23:10."),
    # An event over a week: Sunday 2026-03-22 fits as well as Sunday 2026-03-29 (the
    # peak, in CEST).
    (("Steam", "2026-03-20T23:00Z", "2026-03-29T16:10Z", "2026-03-20T23:10Z"),
     "2026-03-29T18:00:00+00:00",
     "usual on a Sunday at 16:10 UTC (15x, p < 1e-30); started 2026-03-20 23:00, "
     "raised 2026-03-20 23:10."),
    # On its first day of data, two days after the onset, in the night: either fits.
    (("Steam", "2026-01-20T23:00Z", "2026-01-22T16:10Z", "2026-01-20T23:10Z", None, True),
     "2026-01-22T18:00:00+00:00",
     "in the hours before (its first day of data) at 16:10 UTC (15x, p < 1e-30); started "
     "2026-01-20 23:00, raised 2026-01-20 23:10."),
], ids=["local-days-two-days", "local-days-spring", "over-a-week", "first-day-of-data"])
def test_a_reason_whose_peak_fits_several_days_says_its_times_are_utc(product, at,
                                                                     why) -> None:
    # Each day that fits gives another text: none is taken (the earliest was, wrongly).
    product = _written(*product)
    assert product["why"].endswith(why)
    assert reason_in_route_zone(product, BERLIN, at) == f"{product['why']} (times in UTC)"


def test_titles_of_every_kind_read_in_berlin() -> None:
    # As retelling writes them: "detected again", "no longer detected" and "now part of"
    # give no time (left as written; the reasons of a withdrawal have none either, and
    # say no "(times in UTC)"); an escalation across the autumn night gives its onset in
    # CEST, its end in CET.
    from spikes.alerts.records import Told
    from spikes.alerts.retelling import Run, reopening, withdrawal

    message = _summer()
    told = Told(key="k", last=message)
    at = pd.Timestamp("2026-07-02T06:00:00+00:00")
    again = reopening(told, message, at, Run(products={"Steam"}, worst=2, resolved=True))
    gone = withdrawal(told, at)
    joined = withdrawal(told, at, "E0003")
    assert [title_in_zone(m, BERLIN) for m in (again, gone, joined)] == [
        "E0001 open (critical): Steam, detected again",
        "E0001 resolved (critical): Steam, no longer detected",
        "E0001 resolved (critical): Steam, now part of E0003"]
    assert message_text(gone, BERLIN).splitlines()[:2] == [
        "[spikes] E0001 resolved (critical): Steam, no longer detected",
        "- Steam: no longer detected (the detection of now finds no outage of it then) "
        "(critical), over 00:55 CEST"]
    assert message_text(joined, BERLIN).splitlines()[1] == \
        "- Steam: now part of event E0003 (critical), over 00:55 CEST"
    autumn = {"title": "E0002 escalated (major): A, B, since 2026-10-25 00:30 UTC",
              "onset": "2026-10-25T00:30:00+00:00", "end": None}
    assert title_in_zone(autumn, BERLIN) == \
        "E0002 escalated (major): A, B, since 2026-10-25 02:30 CEST"
    over = {"title": "E0002 resolved (major): A, B, over since 2026-10-25 01:40 UTC",
            "onset": "2026-10-25T00:30:00+00:00", "end": "2026-10-25T01:40:00+00:00"}
    assert title_in_zone(over, BERLIN) == \
        "E0002 resolved (major): A, B, over since 2026-10-25 02:40 CET"


# --- the message itself stays UTC, and without tz nothing changes -----------------------
def test_without_tz_the_text_is_byte_identical_to_before(messages) -> None:
    # (Passes on the code before routes had a zone too: it pins what they got.)
    for message in [*messages, _summer()]:
        assert message_text(message) == _utc_text(message)
    message = _resolved(messages)
    with Webhook() as hook, Mailbox() as box:
        port = hook.url.rsplit(":", 1)[1]
        make_channel(Route(url=f"slack+http://127.0.0.1:{port}/slack")).send(message)
        make_channel(Route(url=f"json://127.0.0.1:{port}/apprise")).send(message)
        make_channel(Route(url="mailto:oncall@example.com", smtp=box.address)).send(message)
        assert hook.received("/slack") == [{"text": slack_escaped(_utc_text(message))}]
        (apprised,) = hook.received("/apprise")
    assert apprised["message"] == _utc_text(message)
    assert apprised["title"] == f"[spikes] {message['title']}"
    mail = email.message_from_string(box.messages[0]["data"], policy=policy.default)
    assert mail["Subject"] == f"[spikes] {message['title']}"
    assert mail.get_content().replace("\r\n", "\n") == \
        _utc_text(message) + "\n\n" + json.dumps(message, indent=1) + "\n"
    assert message_text(_summer()) == (
        "[spikes] E0001 resolved (critical): Steam, over since 2026-07-01 22:55 UTC\n"
        "- Steam: 90 reports in 5 min against 6.0 usual on a Wednesday at 22:10 UTC "
        "(15x, p < 1e-30); started 22:00, raised 22:10; top problem 'Login' 80 % against "
        "9 % usually. (critical), over 22:55 UTC\n"
        f"event E0001, message {'m' * 32} at 2026-07-01T23:35:00+00:00")


def test_routes_with_and_without_tz_share_one_utc_message_each_once(messages,
                                                                    tmp_path: Path) -> None:
    # The webhook's JSON is the message (UTC) whatever its route's tz; the outbox keeps
    # the message, not a zone's text; two routes of different zones dedupe each as before.
    with Webhook() as hook:
        port = hook.url.rsplit(":", 1)[1]
        routes = [Route(url=f"{hook.url}/json", name="json-berlin", tz=BERLIN, backoff=0.01),
                  Route(url=f"slack+http://127.0.0.1:{port}/berlin", name="slack-berlin",
                        tz=BERLIN, backoff=0.01),
                  Route(url=f"slack+http://127.0.0.1:{port}/utc", name="slack-utc",
                        backoff=0.01)]
        outbox = Outbox(tmp_path / "outbox.duckdb")
        notifier = Notifier(outbox, routes)
        assert notifier.enqueue(messages) == 3 * len(messages)
        assert notifier.drain(timeout=60)
        assert notifier.enqueue(messages) == 0  # recomputed: nothing again, on any route
        assert notifier.drain(timeout=5)
        assert hook.received("/json") == messages
        assert hook.received("/berlin") == [
            {"text": slack_escaped(message_text(m, BERLIN))} for m in messages]
        assert hook.received("/utc") == [{"text": slack_escaped(_utc_text(m))}
                                         for m in messages]
        stored = outbox.messages()
        assert stored.groupby("route")["message_id"].apply(list).to_dict() == {
            key: [m["message_id"] for m in messages]
            for key in ("json-berlin", "slack-berlin", "slack-utc")}
        bodies = outbox._conn.execute(
            "SELECT route, message_id, body FROM alert_outbox").fetchall()
        by_id = {m["message_id"]: m for m in messages}
        assert len(bodies) == 3 * len(messages)
        assert all(json.loads(body) == by_id[message_id] for _, message_id, body in bodies)
        outbox.close()
