"""Follow-ups of the alerts and the live service (each test failed before its fix): a
product's own ``merge_gap`` is the reach of its told incidents; stored continuations are dropped
once both their events are history; a restart with settings that raise a paged outage
later goes on with its event; an event's sequence never repeats for its route; the parts
of a told event that other settings split go on as one story; an awaiting event raised
again under its own key goes on with it; an event back under another id keeps its route's
numbering and id; a run no live step follows withdraws what it no longer finds; a failed
enqueue loses none of the continuity's decisions; awaiting events are stored at once.
Real parts throughout: the sample's live detection, DuckDB outboxes, a local webhook,
`spikes serve` processes."""

from __future__ import annotations

import dataclasses
import gzip
import json
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from spikes.alerts.continuity import Awaiting, Continuation, Told, carry_over
from spikes.alerts.notifier import Notifier, coverage_of
from spikes.alerts.outbox import Outbox
from spikes.alerts.routing import Route
from spikes.cli import main
from spikes.config import DetectionConfig
from spikes.detect.pipeline import analyze
from tests.conftest import sample_data
from tests.receivers import Webhook
from tests.test_alerts_continuity import COVER, message
from tests.test_alerts_service import _wait_for_detection
from tests.test_service import TOKEN, Service

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "reports.csv.gz"
MICROSOFT = ["Outlook", "Exchange Online", "Microsoft Store", "Microsoft Defender",
             "Microsoft Purview"]
GMAIL_CUT = pd.Timestamp("2026-01-16T10:30Z")  # the sample's Gmail outage, 09:35-11:25


# --- a product's own merge_gap in the continuity's reach ---------------------------------
def test_a_told_outage_reaches_as_far_as_its_product_s_own_merge_gap() -> None:
    # The reach of an incident the route did not hear end was the default merge_gap
    # (1 h) for every product: with Gmail's own 3 h, the outage raised again at 11:30 by
    # the new settings was paged as a new event and the told one withdrawn.
    told = {"Gmail|09:35": Told("Gmail|09:35", message("Gmail|09:35", "open", 0, "09:45",
                                                         {"Gmail": None}, event_id="E0004"))}
    now = [message("Gmail|11:30", "open", 0, "11:40", {"Gmail": None}),
           message("Gmail|11:30", "resolved", 1, "13:00", {"Gmail": "12:30"})]
    own = dataclasses.replace(COVER, gaps={"Gmail": pd.Timedelta("3h")})
    out, new = carry_over(now, told, [], {"Gmail|11:30"}, own)
    assert [(c.key, c.of) for c in new] == [("Gmail|11:30", "Gmail|09:35")]
    assert [(m["event_key"], m["event_id"], m["state"], m["sequence"]) for m in out] == [
        ("Gmail|09:35", "E0004", "resolved", 2)]  # after the told 0 (the new 1 + 1)
    # Another product's gap, or none: the default reach, a new event (as before).
    for cover in (COVER, dataclasses.replace(COVER, gaps={"Teams": pd.Timedelta("3h")})):
        out, new = carry_over(now, told, [], {"Gmail|11:30"}, cover)
        assert new == [] and [m["state"] for m in out] == ["open", "resolved", "resolved"]
        assert out[-1]["title"].endswith("no longer detected")


def test_a_complete_detection_s_coverage_has_each_product_s_merge_gap() -> None:
    config = DetectionConfig(overrides={"Gmail": {"merge_gap": "3h"},
                                        "Outlook": {"merge_gap": "1h"}})
    data = sample_data()
    coverage = coverage_of(analyze(data, config))
    assert coverage is not None
    assert coverage.merge_gap == pd.Timedelta("1h")
    assert dict(coverage.gaps) == {"Gmail": pd.Timedelta("3h")}  # Outlook's is the default
    assert coverage.reach("Gmail") == pd.Timedelta("3h")
    assert coverage.reach("Outlook") == pd.Timedelta("1h")
    assert coverage.until == data.counts.index[-1] + data.bucket


# --- stored continuations do not grow for ever --------------------------------------------
def test_a_continuation_is_dropped_once_both_events_are_history(tmp_path: Path) -> None:
    # alert_continuation kept every continuation for ever: every restart with other
    # settings added rows, and every live step read the told events of all of them.
    data = sample_data()
    cut = dataclasses.replace(data, counts=data.counts.loc[:GMAIL_CUT - data.bucket])
    tuned = DetectionConfig(false_alarms_per_week=0.03)  # Gmail's onset 09:35 -> 09:30
    with Webhook() as hook:
        outbox = Outbox(tmp_path / "outbox.duckdb")
        try:
            notifier = Notifier(outbox, [Route(url=f"{hook.url}/hook", name="hook",
                                               products=("Gmail",))])
            notifier.observe(analyze(cut))
            # A restart on the data clock (a replay pages its history): kept, whatever
            # the age of the events.
            notifier.observe(analyze(data, tuned))
            assert [c.key for c in outbox.continuations("hook")] == ["Gmail|2026-01-16T09:30"
                                                                     ":00+00:00"]
            assert notifier.observe(analyze(data, tuned)) == 0
            assert len(outbox.continuations("hook")) == 1
            # Restarts on the wall clock a week later: both events are history, so the
            # continuation goes, and the detections after it page nothing again.
            week = pd.Timestamp("2026-01-23T12:00Z")
            before = outbox.messages()["message_id"].tolist()
            assert notifier.observe(analyze(data, tuned), settled_before=week) == 0
            assert outbox.continuations("hook") == []
            assert notifier.observe(analyze(data, tuned), settled_before=week) == 0
            assert notifier.observe(analyze(data), settled_before=week) == 0
            assert outbox.messages()["message_id"].tolist() == before
            assert notifier.drain(timeout=30)
            got = [m for m in hook.received() if m["onset"].startswith("2026-01-16")]
            assert [m["state"] for m in got] == ["open", "escalated", "resolved"]
        finally:
            outbox.close()


def test_a_continuation_of_an_outage_still_going_on_is_kept(tmp_path: Path) -> None:
    # Only history is dropped: the told event open, or the new one going on at the
    # cut-off, keep theirs (its messages go on under the told key).
    data = sample_data()
    cut = dataclasses.replace(data, counts=data.counts.loc[:GMAIL_CUT - data.bucket])
    tuned = DetectionConfig(false_alarms_per_week=0.03)
    outbox = Outbox(tmp_path / "outbox.duckdb")
    try:
        notifier = Notifier(outbox, [Route(url="http://127.0.0.1:9/hook", name="hook",
                                           products=("Gmail",))])
        notifier.observe(analyze(cut))
        cut_later = dataclasses.replace(
            data, counts=data.counts.loc[:pd.Timestamp("2026-01-16T11:00Z")])
        notifier.observe(analyze(cut_later, tuned), settled_before=GMAIL_CUT)
        assert len(outbox.continuations("hook")) == 1  # the told event still open
        notifier.observe(analyze(data, tuned), settled_before=GMAIL_CUT)
        # Ended (11:25 + the gap) after the cut-off: not history yet.
        assert len(outbox.continuations("hook")) == 1
        notifier.observe(analyze(data, tuned),
                         settled_before=pd.Timestamp("2026-01-16T14:00Z"))
        assert outbox.continuations("hook") == []
    finally:
        outbox.close()


# --- a restart with settings that raise an outage later ----------------------------------
RAISE_LATER = DetectionConfig(min_duration="90min")  # Gmail raised at 11:00, not 09:45


def _restarted_mid_outage(tmp_path: Path, config: DetectionConfig, steps: str,
                          url: str) -> tuple[Notifier, Outbox]:
    """A route told of the Gmail outage by a detection up to 10:30 with the defaults,
    a restart then (a complete detection over the same data) with `config`, and the
    live steps of `steps` after it up to 14:00 (Gmail's reports only: the route's
    product, detected as among the others, in a fraction of the time)."""
    data = sample_data()
    data = dataclasses.replace(data, counts=data.counts[["Gmail"]])

    def upto(end: pd.Timestamp) -> object:
        return dataclasses.replace(data, counts=data.counts.loc[:end - data.bucket])

    outbox = Outbox(tmp_path / "outbox.duckdb")
    notifier = Notifier(outbox, [Route(url=url, name="hook", products=("Gmail",))])
    notifier.observe(analyze(upto(GMAIL_CUT)))
    notifier.observe(analyze(upto(GMAIL_CUT), config))  # the restart
    ends = pd.date_range(GMAIL_CUT + pd.Timedelta(steps), "2026-01-16T14:00Z", freq=steps)
    for since, until in zip([GMAIL_CUT, *ends[:-1]], ends, strict=True):
        notifier.observe(analyze(upto(until), config), until, since=since)
    return notifier, outbox


@pytest.mark.parametrize("steps", ["5min", "210min"])
def test_a_restart_with_settings_that_raise_the_outage_later_goes_on_with_its_event(
        tmp_path: Path, steps: str) -> None:
    # The restart's detection had not raised the outage yet: the route heard it
    # "resolved: no longer detected" at 10:30, then a new event's "open" at 11:00 for
    # the same outage. Now the event awaits while its incident may go on (merge_gap past
    # the last message, 11:00), the live step that raises it continues it, and the route
    # hears one story: open, escalated, resolved, under one key and id.
    with Webhook() as hook:
        notifier, outbox = _restarted_mid_outage(tmp_path, RAISE_LATER, steps,
                                                 f"{hook.url}/hook")
        try:
            assert notifier.drain(timeout=30)
            assert outbox.awaiting("hook") == []
            assert len(outbox.continuations("hook")) == 1
        finally:
            outbox.close()
        got = [m for m in hook.received() if m["onset"].startswith("2026-01-16")]
    assert [m["state"] for m in got] == ["open", "escalated", "resolved"]
    assert len({m["event_key"] for m in got}) == len({m["event_id"] for m in got}) == 1
    assert not any("no longer detected" in m["title"] for m in got)
    assert got[-1]["end"] == "2026-01-16T11:25:00+00:00"
    assert [m["sequence"] for m in got] == sorted({m["sequence"] for m in got})


@pytest.mark.parametrize("steps", ["5min", "210min"])
@pytest.mark.parametrize(("config", "again"), [
    (DetectionConfig(min_duration="2h"), ["open"]),  # raised at 11:30: past its reach
    (DetectionConfig(overrides={"Gmail": {"min_ratio": 10}}), []),  # never raised
])
def test_an_outage_not_raised_within_its_reach_is_withdrawn_at_its_end(
        tmp_path: Path, steps: str, config: DetectionConfig, again: list[str]) -> None:
    # The withdrawal waits for the data to pass the reach of the incident the route was
    # told of (its last message at 10:00 plus merge_gap): at 11:00, whatever the steps.
    with Webhook() as hook:
        notifier, outbox = _restarted_mid_outage(tmp_path, config, steps,
                                                 f"{hook.url}/hook")
        try:
            assert notifier.drain(timeout=30)
            assert outbox.awaiting("hook") == []
        finally:
            outbox.close()
        got = [m for m in hook.received() if m["onset"].startswith("2026-01-16")]
    told = [m for m in got if m["event_key"] == got[0]["event_key"]]
    assert [(m["state"], m["at"]) for m in told] == [
        ("open", "2026-01-16T09:45:00+00:00"), ("escalated", "2026-01-16T10:00:00+00:00"),
        ("resolved", "2026-01-16T11:00:00+00:00")]
    assert told[-1]["title"].endswith("no longer detected")
    assert [m["state"] for m in got if m not in told][:1] == again


def test_a_served_restart_with_settings_that_raise_the_outage_later_pages_it_once(
        tmp_path: Path) -> None:
    # The same through real `spikes serve` processes: paged with the defaults up to
    # 10:30, restarted with min_duration = 90min, the rest of the reports posted.
    token = tmp_path / "token"
    token.write_text(TOKEN)
    store = tmp_path / "spikes.duckdb"
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        header, *rows = f.read().splitlines()
    rows = [r for r in rows if r.split(",")[1] == "Gmail"]  # the route's product
    before = [r for r in rows if r[:16] < "2026-01-16T10:30"]
    after = [r for r in rows if "2026-01-16T10:30" <= r[:16] < "2026-01-16T14:00"]
    with Webhook() as hook:
        route = f'[[notify]]\nname = "hook"\nurl = "{hook.url}/hook"\nproducts = ["Gmail"]\n'
        plain, later = tmp_path / "plain.toml", tmp_path / "later.toml"
        plain.write_text(route)
        later.write_text('[detection]\nmin_duration = "90min"\n\n' + route)
        for config, part in ((plain, before), (later, after)):
            served = Service(store, token, "--clock", "data", "--config", str(config))
            try:
                if config == later:  # the restart's detection, before any new report
                    _wait_for_detection(served)
                body = ("\n".join([header, *part]) + "\n").encode()
                answer = served.client.post("/v1/reports", content=body,
                                            headers={"Content-Type": "text/csv"})
                assert answer.status_code == 200, answer.text
                assert served.client.post("/v1/flush").status_code == 200
                _wait_for_detection(served)
                time.sleep(1.0)
            finally:
                served.stop()
        got = [m for m in hook.received() if m["onset"].startswith("2026-01-16")]
    assert [m["state"] for m in got] == ["open", "escalated", "resolved"]
    assert len({m["event_key"] for m in got}) == len({m["event_id"] for m in got}) == 1
    assert got[0]["onset"] == "2026-01-16T09:35:00+00:00"
    assert got[-1]["end"] == "2026-01-16T11:25:00+00:00"


# --- sequences of an event after a detection with other settings -------------------------
def test_an_event_s_sequence_never_repeats_or_goes_back_for_its_route(tmp_path: Path) -> None:
    # Told of the Microsoft 365 chain as one event (open 0, escalated 1 and 2) by 19:30,
    # the route got its end as the restart's detection (event_window 1min: the chain
    # split) numbers it, "resolved" 1: a second 1 after a 2. Now it is numbered after
    # what the route holds (3); its message_id stays the detection's.
    data = sample_data()
    cut = pd.Timestamp("2026-01-22T19:30Z")
    split = DetectionConfig(event_window="1min")
    with Webhook() as hook:
        outbox = Outbox(tmp_path / "outbox.duckdb")
        try:
            notifier = Notifier(outbox, [Route(url=f"{hook.url}/hook", name="hook")])
            notifier.observe(analyze(dataclasses.replace(
                data, counts=data.counts.loc[:cut - data.bucket])))
            notifier.observe(analyze(dataclasses.replace(
                data, counts=data.counts.loc[:cut - data.bucket]), split))  # the restart
            notifier.observe(analyze(data, split), since=cut)  # a live step to the end
            assert notifier.drain(timeout=30)
            # Recomputed, nothing is added again.
            assert notifier.observe(analyze(data, split), since=cut) == 0
        finally:
            outbox.close()
        got = hook.received()
    chain = [m for m in got if m["event_key"].startswith("Outlook|2026-01-22")]
    assert [(m["state"], m["sequence"]) for m in chain] == [
        ("open", 0), ("escalated", 1), ("escalated", 2), ("resolved", 3)]
    ids = {m["message_id"] for m in chain}
    assert len(ids) == 4
    for key in {m["event_key"] for m in got}:
        sequences = [m["sequence"] for m in got if m["event_key"] == key]
        assert sequences == sorted(set(sequences)), key


# --- an event the detection splits ---------------------------------------------------------
@pytest.mark.parametrize("restart", ["at the cut, then a live step", "at the end"])
def test_an_event_other_settings_split_goes_on_as_one_story(tmp_path: Path,
                                                            restart: str) -> None:
    # Told of the Microsoft 365 chain as one event by 19:30, the route got two new
    # "open"s (Exchange Online and Microsoft Store; Defender and Purview) dated 19:15
    # and 19:20 from a detection that split it (event_window 1min), their ends apart,
    # and the told event's end named Outlook only. Now the parts go on under the told
    # event: nothing new to tell while they run, and one end naming all five, once the
    # last part is over.
    data = sample_data()
    cut = pd.Timestamp("2026-01-22T19:30Z")
    before = dataclasses.replace(data, counts=data.counts.loc[:cut - data.bucket])
    split = DetectionConfig(event_window="1min")
    with Webhook() as hook:
        outbox = Outbox(tmp_path / "outbox.duckdb")
        try:
            notifier = Notifier(outbox, [Route(url=f"{hook.url}/hook", name="hook")])
            notifier.observe(analyze(before))
            if restart == "at the end":
                notifier.observe(analyze(data, split))
            else:
                notifier.observe(analyze(before, split))
                notifier.observe(analyze(data, split), since=cut)
            assert notifier.observe(analyze(data, split)) == 0  # another restart
            assert notifier.drain(timeout=30)
            assert {c.part for c in outbox.continuations("hook")} == {True}
        finally:
            outbox.close()
        got = [m for m in hook.received() if m["onset"].startswith("2026-01-22T19")]
    assert {m["event_key"] for m in got} == {"Outlook|2026-01-22T19:00:00+00:00"}
    assert [(m["state"], m["sequence"]) for m in got] == [
        ("open", 0), ("escalated", 1), ("escalated", 2), ("resolved", 3)]
    end = got[-1]
    assert [p["product"] for p in end["products"]] == MICROSOFT
    assert all(p["end"] for p in end["products"])
    assert end["title"] == (f"{got[0]['event_id']} resolved (critical): "
                            f"{', '.join(MICROSOFT)}, over since 2026-01-22 22:40 UTC")
    assert end["at"] == "2026-01-22T23:50:00+00:00"


def test_an_outbox_of_an_earlier_version_opens_with_its_continuations(tmp_path: Path) -> None:
    # alert_continuation without the part column, no alert_awaiting table.
    path = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE alert_continuation (route VARCHAR NOT NULL, event_key VARCHAR "
                 "NOT NULL, of_key VARCHAR NOT NULL, event_id VARCHAR NOT NULL, "
                 "first_sequence INTEGER NOT NULL, products VARCHAR NOT NULL, worst INTEGER "
                 "NOT NULL, resolved BOOLEAN NOT NULL, PRIMARY KEY (route, event_key))")
    conn.execute("INSERT INTO alert_continuation VALUES ('hook', 'Gmail|09:30', "
                 "'Gmail|09:35', 'E0001', 2, '[\"Gmail\"]', 1, false)")
    conn.close()
    outbox = Outbox(path)
    try:
        old = Continuation("Gmail|09:30", "Gmail|09:35", "E0001", 2, ("Gmail",), 1)
        assert outbox.continuations("hook") == [old]
        part = dataclasses.replace(old, key="Teams|09:40", part=True)
        outbox.add_continuations("hook", [part])
        assert outbox.continuations("hook") == [old, part]
        due = pd.Timestamp("2026-01-16T11:00Z")
        outbox.set_awaiting("hook", [Awaiting("Gmail|09:35", "E0001", due)])
        assert outbox.awaiting("hook") == [Awaiting("Gmail|09:35", "E0001", due)]
    finally:
        outbox.close()


# --- review 44b: an awaiting event raised again under its own key ------------------------
@pytest.mark.parametrize("steps", ["5min", "210min"])
def test_an_awaiting_outage_raised_again_under_its_own_key_goes_on_with_its_event(
        tmp_path: Path, steps: str) -> None:
    # With min_excess_reports = 300 the restart's detection has not raised Gmail by
    # 10:30; the live step raises it at 10:40 with the same first onset (09:35), so under
    # the told key. Only a new key continued an awaiting event: this one was withdrawn
    # at 11:00 ("no longer detected") while the detection had it open, and its real end
    # went out after that as a second "resolved".
    with Webhook() as hook:
        notifier, outbox = _restarted_mid_outage(
            tmp_path, DetectionConfig(min_excess_reports=300), steps, f"{hook.url}/hook")
        try:
            assert notifier.drain(timeout=30)
            assert outbox.awaiting("hook") == []
            assert outbox.continuations("hook") == []  # its own key: nothing to continue
        finally:
            outbox.close()
        got = [m for m in hook.received() if m["onset"].startswith("2026-01-16")]
    assert [m["state"] for m in got] == ["open", "escalated", "resolved"]
    assert {m["event_key"] for m in got} == {"Gmail|2026-01-16T09:35:00+00:00"}
    assert len({m["event_id"] for m in got}) == 1
    assert not any("no longer detected" in m["title"] for m in got)
    assert got[-1]["end"] == "2026-01-16T11:25:00+00:00"
    assert [m["sequence"] for m in got] == sorted({m["sequence"] for m in got})


# --- review 44b: sequences by event key, not id -------------------------------------------
_OLD_OUTBOX = """CREATE TABLE alert_outbox (
    message_id VARCHAR NOT NULL, route VARCHAR NOT NULL, event_id VARCHAR NOT NULL,
    state VARCHAR NOT NULL, sequence INTEGER NOT NULL, changed_at TIMESTAMP NOT NULL,
    body VARCHAR NOT NULL, enqueued_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL,
    attempts INTEGER NOT NULL, next_attempt_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP, last_error VARCHAR, PRIMARY KEY (message_id, route))"""


@pytest.mark.parametrize("written_by", ["this version", "an earlier version"])
def test_an_event_back_under_another_id_is_numbered_after_what_its_route_holds(
        tmp_path: Path, written_by: str) -> None:
    # The route holds the Gmail event as E0006 (open 0, escalated 1, resolved 2); a
    # detection with other settings has the same event (its key) as E0004, its end
    # numbered 1. The held sequence was looked up by event id (E0004: none), so the end
    # went out as 1 after a 2, and as E0004 (a live step after a restart with other
    # settings sent a told event's later messages under the new detection's id).
    key = "Gmail|09:35"
    told = [message(key, "open", 0, "09:45", {"Gmail": None}, event_id="E0006"),
            message(key, "escalated", 1, "10:00", {"Gmail": None}, "major",
                    event_id="E0006"),
            message(key, "resolved", 2, "11:00", {"Gmail": "11:00"}, "major",
                    event_id="E0006")]
    path = tmp_path / "outbox.duckdb"
    if written_by == "an earlier version":  # no event_key column: read from the bodies
        conn = duckdb.connect(str(path))
        conn.execute(_OLD_OUTBOX)
        for m in told:
            conn.execute("INSERT INTO alert_outbox VALUES (?, 'hook', ?, ?, ?, ?, ?, ?, "
                         "'delivered', 1, ?, ?, NULL)",
                         [m["message_id"], m["event_id"], m["state"], m["sequence"],
                          pd.Timestamp(m["at"]).tz_localize(None), json.dumps(m),
                          pd.Timestamp(m["at"]).tz_localize(None),
                          pd.Timestamp(m["at"]).tz_localize(None),
                          pd.Timestamp(m["at"]).tz_localize(None)])
        conn.close()
    outbox = Outbox(path)
    try:
        if written_by == "this version":
            assert outbox.enqueue(told, "hook") == 3
        later = message(key, "resolved", 1, "12:35", {"Gmail": "11:25"}, "major",
                        event_id="E0004")
        assert outbox.enqueue([later], "hook") == 1
        rows = outbox.messages(["hook"])
        assert rows.loc[rows["message_id"] == later["message_id"], "sequence"].tolist() == [3]
        # Under the id the route knows it by (it went out as E0004 otherwise).
        (end,) = [m["body"] for m in outbox.due() if m["message_id"] == later["message_id"]]
        assert (end["event_id"], end["title"]) == ("E0006", "E0006 resolved (major): x")
        # What a live step reads of the event: all of it, by key, whatever its ids.
        assert outbox.told("hook", [key])[key].sequence == 3
    finally:
        outbox.close()


# --- review 44b: a run that no live step follows --------------------------------------------
def test_analyze_notify_withdraws_a_told_outage_its_detection_no_longer_finds(
        tmp_path: Path) -> None:
    # `spikes analyze --notify --outbox F` over reports up to 10:30, then again with
    # settings that never raise Gmail: its told event waited in alert_awaiting for live
    # steps that a batch run never has, on this run and every later one (the page never
    # closed). Now it is withdrawn at the end of the data, once.
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        header, *rows = f.read().splitlines()
    reports = tmp_path / "gmail.csv"
    reports.write_text("\n".join([header, *(r for r in rows if r[:16] < "2026-01-16T10:30"
                                            and ",Gmail," in r)]) + "\n")
    never = tmp_path / "never.toml"
    never.write_text('[products."Gmail"]\nmin_ratio = 10\n')
    outbox = tmp_path / "outbox.duckdb"
    with Webhook() as hook:
        run = ["analyze", str(reports), "--notify", f"{hook.url}/hook", "--outbox",
               str(outbox), "--notify-wait", "30"]
        assert main(run) == 0
        for _ in range(2):  # a second run adds nothing
            assert main([*run, "--config", str(never)]) == 0
        got = [m for m in hook.received() if m["onset"].startswith("2026-01-16")]
    assert [(m["state"], m["at"]) for m in got] == [
        ("open", "2026-01-16T09:45:00+00:00"), ("escalated", "2026-01-16T10:00:00+00:00"),
        ("resolved", "2026-01-16T10:30:00+00:00")]
    assert got[-1]["title"].endswith("no longer detected")
    opened = Outbox(outbox)
    try:
        assert opened.awaiting("hook") == []
    finally:
        opened.close()


# --- review 44b: a failed enqueue keeps what it decided -------------------------------------
def test_a_withdrawal_whose_enqueue_fails_is_enqueued_by_the_next_step(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The awaiting row was removed before the withdrawal was enqueued: when the enqueue
    # failed (the service logs it and enqueues again at its next step), no later step
    # had anything left to withdraw, and the page stayed open.
    data = sample_data()
    data = dataclasses.replace(data, counts=data.counts[["Gmail"]])

    def upto(end: pd.Timestamp) -> object:
        return dataclasses.replace(data, counts=data.counts.loc[:end - data.bucket])

    never = DetectionConfig(overrides={"Gmail": {"min_ratio": 10}})
    outbox = Outbox(tmp_path / "outbox.duckdb")
    try:
        notifier = Notifier(outbox, [Route(url="http://127.0.0.1:9/hook", name="hook",
                                           products=("Gmail",))])
        notifier.observe(analyze(upto(GMAIL_CUT)))
        notifier.observe(analyze(upto(GMAIL_CUT), never))  # the restart
        assert [a.key for a in outbox.awaiting("hook")] == ["Gmail|2026-01-16T09:35:00+00:00"]
        real, failed = Outbox.enqueue, []

        def full(self: Outbox, messages: list, *args: object, **kwargs: object) -> int:
            if not failed and any("no longer detected" in m["title"] for m in messages):
                failed.append(True)
                raise OSError("disk full (simulated)")
            return real(self, messages, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Outbox, "enqueue", full)
        since = GMAIL_CUT
        for until in pd.date_range("2026-01-16T10:45Z", "2026-01-16T11:30Z", freq="15min"):
            try:
                notifier.observe(analyze(upto(until), never), until, since=since)
                since = until  # as the service: the next step goes on from the last done
            except OSError:
                assert until == pd.Timestamp("2026-01-16T11:00Z")
        assert failed
        ends = [m for m in outbox.due() if m["body"]["state"] == "resolved"]
        assert [(m["body"]["at"], m["body"]["title"][-18:]) for m in ends] == [
            ("2026-01-16T11:00:00+00:00", "no longer detected")]
        assert outbox.awaiting("hook") == []
    finally:
        outbox.close()


# --- review 44b: awaiting rows in one insert ------------------------------------------------
def test_awaiting_events_are_stored_at_once_and_not_rewritten_unchanged(
        tmp_path: Path) -> None:
    # set_awaiting inserted one row at a time under the outbox's lock (3,000 rows:
    # 1.8 s, the delivery threads blocked), and a complete detection rewrote the table
    # at every restart (its order is not the stored one).
    due = pd.Timestamp("2026-01-16T11:00Z")
    rows = [Awaiting(f"Gmail|{i:05d}", f"E{i:04d}", due + pd.Timedelta(minutes=i % 7))
            for i in range(3000)]
    outbox = Outbox(tmp_path / "outbox.duckdb")
    try:
        start = time.perf_counter()
        changed = outbox.set_awaiting("hook", rows)
        assert time.perf_counter() - start < 0.5
        assert changed is True
        assert outbox.awaiting("hook") == sorted(rows, key=lambda a: (a.due, a.key))
        assert outbox.set_awaiting("hook", rows[::-1]) is False  # the same, in another order
        assert outbox.set_awaiting("hook", rows[1:]) is True
        assert len(outbox.awaiting("hook")) == 2999
        assert outbox.set_awaiting("hook", []) is True and outbox.awaiting("hook") == []
    finally:
        outbox.close()
