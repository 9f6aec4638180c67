"""The outbox's retention (review 45, item 1): ``alert_outbox`` and ``alert_log`` grew
with every message for ever, and the continuity's rows of routes removed from the config
stayed. What was delivered long ago goes (``--outbox-retention``, 30 days by default);
what is not delivered, or still needed by a later message, stays; a detection from
scratch (a restart, ``spikes analyze --outbox`` again) does not page what went. Each test
failed before (the outbox had no retention). Real DuckDB outboxes, a clock the test
moves."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from spikes.alerts import retention
from spikes.alerts.continuity import Awaiting, Continuation, Coverage, PartEnd
from spikes.alerts.notifier import RETENTION, Notifier
from spikes.alerts.outbox import Outbox
from spikes.alerts.pruning import Turns
from spikes.alerts.retention import prune
from spikes.alerts.routing import Route
from spikes.cli import build_parser

START = pd.Timestamp("2026-01-01", tz="UTC")
DAY = pd.Timedelta(days=1)


def _event(day: int, *, product: str = "Gmail", end: bool = True) -> list[dict[str, Any]]:
    """The messages of a one-product outage on `day` (counted from START): an ``open`` at
    10:00 and, with `end`, a ``resolved`` at 12:00."""
    onset = START + day * DAY + pd.Timedelta("9h45min")
    key = f"{product}|{onset.isoformat()}"

    def one(state: str, sequence: int, at: pd.Timestamp) -> dict[str, Any]:
        over = state == "resolved"
        return {"message_id": f"{key}|{sequence}|{state}", "event_id": f"E{day:04d}",
                "event_key": key, "state": state, "sequence": sequence,
                "at": at.isoformat(),
                "products": [{"product": product, "onset": onset.isoformat(),
                              "alerted_at": onset.isoformat(), "severity": "major",
                              "end": (at - pd.Timedelta("1h")).isoformat() if over else None,
                              "why": f"{product}: 900 reports in 5 min.",
                              "known_event": ""}],
                "severity": "major", "onset": onset.isoformat(),
                "alerted_at": onset.isoformat(),
                "end": (at - pd.Timedelta("1h")).isoformat() if over else None,
                "why": f"{product}: 900 reports in 5 min.",
                "title": f"E{day:04d} {state} (major): {product}"}

    first = START + day * DAY + pd.Timedelta("10h")
    return [one("open", 0, first)] + ([one("resolved", 1, first + pd.Timedelta("2h"))]
                                      if end else [])


class Clock:
    """The time of day, as the test moves it."""

    def __init__(self, now: pd.Timestamp) -> None:
        self.now = now

    def __call__(self) -> pd.Timestamp:
        return self.now


class Receiver:
    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.got.append(message)


def _rows(outbox: Outbox, table: str) -> int:
    with outbox._lock:
        return int(outbox._conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def test_a_rerun_prunes_what_was_delivered_a_month_ago_and_pages_none_of_it_again(
        tmp_path: Path) -> None:
    # `spikes analyze --outbox` over 90 days of data, run again after 40 days: the
    # outbox kept every message and attempt for ever. Now the events delivered over 30
    # days ago (wall clock) and dated over 30 days before the data's end go, the last
    # 30 days of the data stay (a replay's detection needs them), and a third run pages
    # nothing again.
    messages = [m for day in range(90) for m in _event(day)]
    coverage = Coverage(frozenset({"Gmail"}), START - 7 * DAY, START + 90 * DAY)
    clock, receiver = Clock(START + 91 * DAY), Receiver()
    path = tmp_path / "outbox.duckdb"

    def run() -> int:
        outbox = Outbox(path)
        try:
            notifier = Notifier(outbox, [Route(url="http://127.0.0.1:9/h", name="h")],
                                channels={"h": receiver}, clock=clock)
            added = notifier.enqueue(messages, until=coverage.until, coverage=coverage,
                                     live=False)
            notifier.deliver()
            return added
        finally:
            outbox.close()

    assert run() == 180 and len(receiver.got) == 180
    clock.now += 40 * DAY
    assert run() == 0  # held: nothing new; then pruned
    outbox = Outbox(path)
    try:
        kept = outbox.messages(["h"])
        # Dated after the data's end less 30 days (2026-03-02): days 60 to 89.
        assert len(kept) == 60
        assert kept["at"].min() > coverage.until - RETENTION
        assert _rows(outbox, "alert_log") == 0  # every attempt 40 days old
        assert outbox.route_horizon("h") == pd.Timestamp("2026-03-01T12:00Z")
    finally:
        outbox.close()
    assert run() == 0 and len(receiver.got) == 180  # none of the pruned paged again


def test_pruning_keeps_what_is_not_delivered_or_still_needed(tmp_path: Path) -> None:
    clock = Clock(START)
    outbox = Outbox(tmp_path / "outbox.duckdb")
    try:
        over = _event(0)  # delivered, over: goes
        going = _event(1, end=False)  # the route never heard it end: stays
        unsent = _event(2)  # its end never delivered: stays
        continued = _event(3)  # a continuation goes on with it: stays
        awaited = _event(4, product="Teams", end=False)  # awaiting: stays
        recent = _event(40)  # delivered less than 30 days ago: stays
        for m in [*over, *going, *unsent, *continued, *awaited]:
            outbox.enqueue([m], "h", now=clock.now)
            if m is not unsent[1]:
                outbox.record(m["message_id"], "h", ok=True, now=clock.now)
        outbox.record(unsent[1]["message_id"], "h", ok=False, give_up=True, now=clock.now)
        outbox.add_continuations("h", [Continuation("Gmail|new", continued[0]["event_key"],
                                                    "E0003", 2, ("Gmail",), 1, part=True)])
        outbox.set_awaiting("h", [Awaiting(awaited[0]["event_key"], "E0004",
                                           START + 5 * DAY)])
        # Of a route no longer configured: its decisions go, its delivered past too.
        outbox.enqueue(_event(5, end=False), "gone", now=clock.now)
        outbox.record(_event(5)[0]["message_id"], "gone", ok=True, now=clock.now)
        outbox.add_continuations("gone", [Continuation("Gmail|x", "Gmail|y", "E0009", 1,
                                                       ("Gmail",), 1)])
        outbox.set_awaiting("gone", [Awaiting("Gmail|y", "E0009", START)])
        outbox.enqueue(recent, "h", now=START + 40 * DAY)
        for m in recent:
            outbox.record(m["message_id"], "h", ok=True, now=START + 40 * DAY)
        with outbox._lock:  # a part's end held back, of either route
            outbox._decided("h", [], None, [PartEnd("Gmail|new", continued[0]["event_key"],
                                                    ())])
            outbox._decided("gone", [], None, [PartEnd("Gmail|x", "Gmail|y", ())])
        pruned = outbox.prune(RETENTION, ["h"], now=START + 45 * DAY)
        # Over's 2 messages and gone's 1; the attempts at START of all but the failed one.
        assert (pruned.messages, pruned.attempts) == (3, 8)
        assert pruned.decisions == 3
        kept = outbox.messages()
        left = {m["event_key"] for m in [*over, *going, *unsent, *continued, *awaited,
                                         *recent]
                if m["message_id"] in set(kept["message_id"])}
        assert left == {m[0]["event_key"] for m in (going, unsent, continued, awaited,
                                                    recent)}
        assert set(kept["route"]) == {"h"}
        assert outbox.continuations("gone") == [] and outbox.awaiting("gone") == []
        assert outbox.part_ends("gone") == {}
        assert len(outbox.continuations("h")) == 1 and len(outbox.awaiting("h")) == 1
        assert outbox.part_ends("h") == {"Gmail|new": []}
        # The failed message's attempt stays with it.
        log = outbox.log()
        assert unsent[1]["message_id"] in set(log["message_id"])
        assert outbox.route_horizon("h") == pd.Timestamp(over[1]["at"])
    finally:
        outbox.close()


def test_a_service_s_outbox_stays_the_size_of_its_retention() -> None:
    # 30 days of a service on the wall clock, an outage a day, a retention of 5 days:
    # the outbox grew by every message and attempt (60 and 60 here); now it holds about
    # the last 5 days of them, however long it runs.
    clock, receiver = Clock(START), Receiver()
    outbox = Outbox(":memory:")
    try:
        notifier = Notifier(outbox, [Route(url="http://127.0.0.1:9/h", name="h")],
                            channels={"h": receiver}, clock=clock,
                            retention=pd.Timedelta(days=5))
        sizes = []
        for day in range(30):
            clock.now = START + day * DAY + pd.Timedelta("12h05min")
            notifier.enqueue(_event(day), settled_before=clock.now - pd.Timedelta("1h"),
                             until=clock.now)
            notifier.deliver()
            sizes.append((_rows(outbox, "alert_outbox"), _rows(outbox, "alert_log")))
    finally:
        outbox.close()
    assert len(receiver.got) == 60
    # 6 days of 2 messages and their 2 attempts (the day's own pruned next), each table.
    assert max(outbox_rows for outbox_rows, _ in sizes[6:]) <= 12
    assert max(log_rows for _, log_rows in sizes[6:]) <= 12
    assert min(sizes[-1]) >= 10


@pytest.mark.parametrize("given", ["never", "7d", "2w"])
def test_the_retention_is_a_setting_of_serve_and_analyze(given: str) -> None:
    parser = build_parser()
    for command in (["serve"], ["analyze", "x.csv"]):
        args = parser.parse_args([*command, "--outbox-retention", given])
        assert args.outbox_retention == {"never": None, "7d": pd.Timedelta(days=7),
                                         "2w": pd.Timedelta(weeks=2)}[given]
        assert parser.parse_args(command).outbox_retention == RETENTION
    for bad in ("0d", "30", "soon"):
        with pytest.raises(SystemExit):
            parser.parse_args(["serve", "--outbox-retention", bad])


@pytest.mark.parametrize("given", ["1s", "12h", "6m", "6d"])
def test_a_retention_shorter_than_a_week_is_refused_in_one_line(
        given: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Pruned within the time an ended event can still get messages, an event was paged
    # again from its open (review of stop 45); "6m" is six minutes to pandas, not months.
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--outbox-retention", given])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "at least 7d" in err and "180d" in err


# --- outboxes of earlier versions (their DDL from `git log -p spikes/alerts/outbox.py`) ---
_OUTBOX_AND_LOG = """
CREATE TABLE IF NOT EXISTS alert_outbox (
    message_id VARCHAR NOT NULL, route VARCHAR NOT NULL, event_id VARCHAR NOT NULL,
    state VARCHAR NOT NULL, sequence INTEGER NOT NULL, changed_at TIMESTAMP NOT NULL,
    body VARCHAR NOT NULL, enqueued_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL,
    attempts INTEGER NOT NULL, next_attempt_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP, last_error VARCHAR, PRIMARY KEY (message_id, route));
CREATE TABLE IF NOT EXISTS alert_log (
    message_id VARCHAR NOT NULL, route VARCHAR NOT NULL, attempt INTEGER NOT NULL,
    attempted_at TIMESTAMP NOT NULL, ok BOOLEAN NOT NULL, error VARCHAR);
CREATE TABLE IF NOT EXISTS alert_meta (key VARCHAR PRIMARY KEY, value TIMESTAMP);
"""
_CONTINUITY = """
CREATE TABLE IF NOT EXISTS alert_continuation (
    route VARCHAR NOT NULL, event_key VARCHAR NOT NULL, of_key VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL, first_sequence INTEGER NOT NULL, products VARCHAR NOT NULL,
    worst INTEGER NOT NULL, resolved BOOLEAN NOT NULL, PRIMARY KEY (route, event_key));
ALTER TABLE alert_continuation ADD COLUMN IF NOT EXISTS part BOOLEAN DEFAULT false;
"""
_AWAITING = """
CREATE TABLE IF NOT EXISTS alert_awaiting (
    route VARCHAR NOT NULL, event_key VARCHAR NOT NULL, event_id VARCHAR NOT NULL,
    due TIMESTAMP NOT NULL, PRIMARY KEY (route, event_key));
"""
_EVENT_KEY = """
ALTER TABLE alert_outbox ADD COLUMN IF NOT EXISTS event_key VARCHAR;
UPDATE alert_outbox SET event_key = coalesce(json_extract_string(body, '$.event_key'),
                                             event_id) WHERE event_key IS NULL;
"""
#: The schema each earlier version made, by the commit that last had it (the one copy:
#: ``benchmarks/bench_outbox_retention.py`` takes 01cbdde's from here): the first
#: outbox (713fb29 to a099853: messages without an event_key in their body), that of
#: stop 44's main (31e54e6: the continuity's tables, no event_key column), and that of
#: the version before the retention (01cbdde, stop 45 before its merge: the event_key
#: column, no alert_part_end).
PREVIOUS_SCHEMAS = {
    "a099853": _OUTBOX_AND_LOG,
    "31e54e6": _OUTBOX_AND_LOG + _CONTINUITY + _AWAITING,
    "01cbdde": _OUTBOX_AND_LOG + _CONTINUITY + _EVENT_KEY + _AWAITING,
}


def _old_outbox(path: Path, version: str) -> dict[str, list[dict[str, Any]]]:
    """An outbox at `path` as `version` made and filled it (its DDL, its rows): by what
    becomes of them, the messages written to each route."""
    schema = PREVIOUS_SCHEMAS[version]
    keyed = "ADD COLUMN IF NOT EXISTS event_key" in schema
    continuity = "alert_continuation" in schema
    naive = START.tz_localize(None)

    def at(m: dict[str, Any]) -> pd.Timestamp:
        return pd.Timestamp(m["at"]).tz_localize(None)

    def body(m: dict[str, Any]) -> dict[str, Any]:
        if version == "a099853":  # before messages named their event's key
            return {k: v for k, v in m.items() if k != "event_key"}
        return m

    story = {
        "goes": _event(0),  # delivered, heard ended, a month old: pruned
        "open": _event(1, end=False),  # the route never heard it end
        "unsent": _event(2),  # its end not delivered
        "continued": _event(3) if continuity else [],  # a continuation refers to it
        "recent": _event(50),  # within the retention
        "gone": _event(4, product="Teams", end=False),  # of a route since removed
    }
    conn = duckdb.connect(str(path))
    try:
        conn.execute(schema)
        for name, messages in story.items():
            route = "old" if name == "gone" else "h"
            for m in messages:
                delivered = not (name == "unsent" and m["state"] == "resolved")
                failed_first = name == "goes" and m["state"] == "resolved"
                row = [m["message_id"], route, m["event_id"], m["state"], m["sequence"],
                       at(m), json.dumps(body(m)), at(m), "delivered" if delivered
                       else "pending", 1 + failed_first if delivered else 0, at(m),
                       at(m) if delivered else None, None]
                if keyed:
                    row.append(m["event_key"])
                conn.execute(f"INSERT INTO alert_outbox VALUES ({', '.join('?' * len(row))})",
                             row)
                if failed_first:
                    conn.execute("INSERT INTO alert_log VALUES (?, ?, 1, ?, false, ?)",
                                 [m["message_id"], route, at(m), "HTTP 503"])
                if delivered:
                    conn.execute("INSERT INTO alert_log VALUES (?, ?, ?, ?, true, NULL)",
                                 [m["message_id"], route, 1 + failed_first, at(m)])
        conn.execute("INSERT INTO alert_meta VALUES ('horizon', ?)", [naive])
        if continuity:
            conn.execute("INSERT INTO alert_continuation VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         ["h", "Gmail|new", story["continued"][0]["event_key"], "E0090", 2,
                          '["Gmail"]', 1, False, False])
            conn.execute("INSERT INTO alert_continuation VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         ["old", "Teams|x", "Teams|y", "E0091", 1, '["Teams"]', 1, False,
                          False])
            conn.execute("INSERT INTO alert_awaiting VALUES (?, ?, ?, ?)",
                         ["old", "Teams|y", "E0091", naive])
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    return story


@pytest.mark.parametrize("version", sorted(PREVIOUS_SCHEMAS))
def test_an_outbox_of_an_earlier_version_keeps_every_message_and_prunes_as_a_new_one(
        tmp_path: Path, version: str) -> None:
    # The test made the current outbox and dropped a table of it: no outbox an earlier
    # version wrote was ever opened. Now each earlier schema with the rows it held.
    path = tmp_path / f"outbox-{version}.duckdb"
    story = _old_outbox(path, version)
    written = {(m["message_id"], "old" if name == "gone" else "h")
               for name, messages in story.items() for m in messages}
    outbox = Outbox(path)
    try:
        assert not outbox.created
        # Every message and attempt kept, each under its event's key (from the body, or
        # the event's id where the body has none).
        kept = outbox.messages()
        assert set(zip(kept["message_id"], kept["route"], strict=True)) == written
        assert len(outbox.log()) == len(written)  # unsent's end none, goes's end two
        told = outbox.told("h")
        keys = {(m["event_id"] if version == "a099853" else m["event_key"])
                for name, messages in story.items() if name != "gone" for m in messages}
        assert set(told) == keys
        assert outbox.horizon == START
        assert outbox.part_ends("h") == {}  # the table the upgrade adds
        pruned = outbox.prune(RETENTION, ["h"], now=START + 60 * DAY)
        # goes's two messages and gone's open; the attempts a month old of the messages
        # delivered (goes 3, open 1, unsent 1, continued 2, gone 1); the decisions of
        # the removed route.
        continuity = bool(story["continued"])
        assert (pruned.messages, pruned.attempts, pruned.decisions) == (
            3, 8 if continuity else 6, 2 if continuity else 0)
        left = outbox.messages()
        assert set(zip(left["message_id"], left["route"], strict=True)) == {
            (m["message_id"], "h") for name in ("open", "unsent", "continued", "recent")
            for m in story[name]}
        assert set(outbox.log()["message_id"]) == {m["message_id"] for m in story["recent"]}
        assert outbox.route_horizon("h") == pd.Timestamp(story["goes"][1]["at"])
        assert outbox.continuations("old") == [] and outbox.awaiting("old") == []
        assert len(outbox.continuations("h")) == int(continuity)
        # A detection from scratch pages none of what went again; what is new goes in.
        assert outbox.enqueue(story["goes"], "h", now=START + 60 * DAY) == 0
        assert outbox.enqueue(_event(59), "h", now=START + 60 * DAY) == 2
    finally:
        outbox.close()


# --- a backlog pruned in batches (an outbox of a version without the retention) ----------
_TABLES = ("alert_outbox", "alert_log", "alert_meta", "alert_continuation", "alert_awaiting",
           "alert_part_end")


def _backlog(path: Path) -> list[dict[str, Any]]:
    """An outbox at `path` holding 600 outages on routes ``h`` and ``k`` (2,400 messages)
    each delivered at its time at its first attempt, and what must stay: an outage ``h`` never
    heard end, one whose end ``k`` was not delivered, one a continuation of ``h`` refers
    to; and a removed route ``gone`` with a delivered outage and decisions. The
    messages that stay."""
    outbox = Outbox(path)
    try:
        stays: list[dict[str, Any]] = []
        for route in ("h", "k"):
            outbox.enqueue([m for p in range(10) for day in range(60)
                            for m in _event(day, product=f"P{p}")], route, now=START)
        open_end = _event(70, end=False)
        outbox.enqueue(open_end, "h", now=START)
        unsent = _event(71)
        outbox.enqueue(unsent, "k", now=START)
        continued = _event(72)
        outbox.enqueue(continued, "h", now=START)
        outbox.add_continuations("h", [Continuation("Gmail|new", continued[0]["event_key"],
                                                    "E0072", 2, ("Gmail",), 1)])
        outbox.enqueue(_event(73, end=False), "gone", now=START)
        outbox.set_awaiting("gone", [Awaiting("Gmail|y", "E0009", START)])
        with outbox._lock:  # each delivered at its time, at its first attempt
            conn = outbox._conn
            conn.execute("UPDATE alert_outbox SET status = 'delivered', attempts = 1, "
                         "delivered_at = changed_at WHERE message_id <> ?",
                         [unsent[1]["message_id"]])
            conn.execute("INSERT INTO alert_log SELECT message_id, route, 1, changed_at, "
                         "true, NULL FROM alert_outbox WHERE status = 'delivered'")
        stays = [*open_end, *unsent, *continued]
    finally:
        outbox.close()
    return stays


def _tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = duckdb.connect(str(path))
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in _TABLES}
    finally:
        conn.close()


def test_a_large_backlog_is_pruned_in_many_transactions_as_in_one(tmp_path: Path) -> None:
    # The first prune of an outbox upgraded from a version without the retention removed
    # its whole history in one transaction (a million rows: 20 s with the delivery
    # threads waiting, 1.6 GB at its peak). Now in batches of events, each its own
    # transaction: the same outcome as one.
    batched, whole = tmp_path / "batched.duckdb", tmp_path / "whole.duckdb"
    stays = _backlog(batched)
    whole.write_bytes(batched.read_bytes())
    now = START + 200 * DAY
    results = {}
    for path, batch, log_batch in ((batched, 100, 1), (whole, 10 ** 9, 10 ** 9)):
        outbox = Outbox(path)
        try:
            results[path] = outbox.prune(RETENTION, ["h", "k"], now=now, batch=batch,
                                         log_batch=log_batch)
        finally:
            outbox.close()
    many, one = results[batched], results[whole]
    # 1,201 (route, event) pairs in batches of 100 (gone's delivered open too) with their
    # 2,401 attempts; the 4 old attempts of the messages that stay, one by one (logged at
    # 4 times: 4 windows, and the last up to the cut); the decisions.
    assert many.transactions == 13 + 5 + 1 and one.transactions == 3
    assert (many.messages, many.attempts, many.decisions) == (2401, 2405, 1) \
        == (one.messages, one.attempts, one.decisions)
    assert _tables(batched) == _tables(whole)
    left = _tables(batched)
    assert sorted((r[0], r[1]) for r in left["alert_outbox"]) == sorted(
        (m["message_id"], route) for route, group in (("h", stays[:1]), ("k", stays[1:3]),
                                                      ("h", stays[3:]))
        for m in group)
    assert [r[0] for r in left["alert_log"]] == []  # the undelivered end has no attempt
    horizons = {key: value for key, value in left["alert_meta"]}
    assert horizons["route:h"] == horizons["route:k"] == pd.Timestamp("2026-03-01T12:00")
    assert horizons["route:gone"] == pd.Timestamp("2026-03-15T10:00")


class AfterFirstBatch:
    """The outbox's lock, which runs `action` (another thread's work while the lock is
    free) once, as the prune takes it again after its first batch removed messages."""

    def __init__(self, outbox: Outbox, action: Callable[[], None]) -> None:
        self.outbox, self.action, self.done = outbox, action, False
        self.start = _rows(outbox, "alert_outbox")

    def __enter__(self) -> None:
        if not self.done and _rows(self.outbox, "alert_outbox") < self.start:
            self.done = True
            self.action()
        self.outbox._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.outbox._lock.release()


def _orphans(outbox: Outbox) -> int:
    """Attempts in the log whose message the outbox no longer holds."""
    with outbox._lock:
        return int(outbox._conn.execute(
            "SELECT count(*) FROM alert_log l WHERE NOT EXISTS (SELECT 1 FROM alert_outbox "
            "o WHERE o.message_id = l.message_id AND o.route = l.route)").fetchall()[0][0])


def test_a_batch_sees_what_the_outbox_took_since_the_prune_began(tmp_path: Path) -> None:
    # Between two transactions another thread may write: a message that joins an event
    # to prune, or a continuation that comes to refer to one, keeps it. (In the service
    # only the delivery threads' records come in between, of pending messages; an
    # Outbox's enqueue waits for its prune: test_a_prune_in_another_thread_waits_for_an_
    # enqueue_to_end.)
    path = tmp_path / "outbox.duckdb"
    _backlog(path)
    outbox = Outbox(path)
    late = {**_event(59, product="P9")[1], "message_id": "late", "sequence": 2,
            "at": (START + 59 * DAY + pd.Timedelta("13h")).isoformat()}
    referred = _event(59, product="P8")[0]["event_key"]

    def writes() -> None:
        outbox.enqueue([late], "h", now=START + 200 * DAY)
        outbox.add_continuations("k", [Continuation("P8|new", referred, "E0059", 2,
                                                    ("P8",), 1)])

    try:
        between = AfterFirstBatch(outbox, writes)
        pruned = prune(outbox._conn, RETENTION, ["h", "k"], now=START + 200 * DAY,
                       lock=between, batch=100)
        assert between.done  # the writes came after the first batch
        assert pruned.messages == 2401 - 4  # the two events of day 59 stay, whole
        kept = outbox.messages()
        assert set(kept.loc[kept["route"] == "h", "message_id"]) >= {
            "late", *(m["message_id"] for m in _event(59, product="P9"))}
        assert {m["message_id"] for m in _event(59, product="P8")} <= set(
            kept.loc[kept["route"] == "k", "message_id"])
        assert outbox.counts()["pending"] == 2  # the late message and the unsent end
    finally:
        outbox.close()


def test_a_prune_that_fails_between_batches_leaves_no_attempt_without_its_message(
        tmp_path: Path) -> None:
    # All the batches of messages ran first, then the attempts in windows of time: a
    # failure in between (or a prune still running) left the attempts of the messages
    # removed, listed in GET /v1/notifications without their message. Now each batch
    # removes its messages' attempts with them.
    path = tmp_path / "outbox.duckdb"
    _backlog(path)
    outbox = Outbox(path)

    def fail() -> None:
        raise RuntimeError("disk gone")

    try:
        with pytest.raises(RuntimeError, match="disk gone"):
            prune(outbox._conn, RETENTION, ["h", "k"], now=START + 200 * DAY,
                  lock=AfterFirstBatch(outbox, fail), batch=100)
        assert _rows(outbox, "alert_outbox") == 2406 - 200  # the first batch, 100 events
        assert _rows(outbox, "alert_log") == 2405 - 200
        assert _orphans(outbox) == 0
    finally:
        outbox.close()


@pytest.mark.parametrize("background", [False, True])
def test_a_prune_that_fails_is_logged_as_such_not_as_a_failed_enqueue(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, background: bool) -> None:
    # The prune runs at the end of an enqueue: its error went up through the enqueue, and
    # the service logged "could not enqueue the notifications" for messages it had
    # enqueued (and enqueued them again at the next step). In the outbox's own thread
    # (the service's), it is logged and counted the same, from that thread.
    path = tmp_path / "outbox.duckdb"
    outbox = Outbox(path)
    try:
        with outbox._lock:  # a table the prune needs is gone (a damaged file)
            outbox._conn.execute("DROP TABLE alert_part_end")
        notifier = Notifier(outbox, [Route(url="http://127.0.0.1:9/h", name="h")],
                            channels={"h": Receiver()}, clock=Clock(START + 60 * DAY),
                            prune_in_background=background)
        with caplog.at_level(logging.ERROR, logger="spikes.alerts.notifier"):
            assert notifier.enqueue(_event(59)) == 2
            assert notifier.wait_pruned(10.0)
        assert outbox.counts() == {"pending": 2, "delivered": 0, "failed": 0}
        [record] = caplog.records
        assert (record.threadName == "spikes-prune") == background
        assert record.getMessage().startswith(
            f"spikes: could not prune the outbox {path} (routes h, retention 30 days "
            "00:00:00): CatalogException: ")
        assert "alert_part_end" in record.getMessage()
        assert record.getMessage().endswith(
            "; what was enqueued stays, the next prune is in 0 days 01:00:00")
        assert record.exc_info is not None and record.exc_info[0] is not None  # traceback
        assert notifier.prune_failures == 1
        assert notifier.prune_failing.startswith("CatalogException: ")
        notifier.enqueue([])  # within the hour: no prune
        assert not outbox.pruning and notifier.prune_failures == 1
    finally:
        outbox.close()


class Pauses:
    """Stands in for the ``time`` module of :mod:`spikes.alerts.retention`: its ``sleep``
    (the pause between two transactions of a prune) runs `hook` at the first pause."""

    def __init__(self, hook: Callable[[], None]) -> None:
        self.hook, self.count = hook, 0

    def sleep(self, seconds: float) -> None:
        self.count += 1
        if self.count == 1:
            self.hook()


def test_closing_the_outbox_between_two_batches_stops_the_prune_quietly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # At the service's shutdown the outbox is closed while a long first prune may run:
    # the next batch met a closed connection, and the clean-up a second error
    # ("During handling of the above exception..."). Now it stops before its next
    # transaction, saying so; what it removed stays removed.
    path = tmp_path / "outbox.duckdb"
    _backlog(path)
    outbox = Outbox(path)
    monkeypatch.setattr(retention, "time", Pauses(outbox.close))
    pruned = outbox.prune(RETENTION, ["h", "k"], now=START + 200 * DAY, batch=100)
    assert (pruned.messages, pruned.attempts, pruned.transactions) == (200, 200, 1)
    assert pruned.stopped
    assert_stopped_after_one_transaction(path)


def assert_stopped_after_one_transaction(path: Path) -> None:
    """The backlog outbox at `path` as a prune stopped after its first transaction
    (batch 100) leaves it: 200 messages and their attempts gone, the decisions kept."""
    again = Outbox(path)
    try:
        assert _rows(again, "alert_outbox") == 2406 - 200
        assert _rows(again, "alert_log") == 2405 - 200
        assert again.awaiting("gone") != []  # the decisions' transaction never ran
    finally:
        again.close()


def test_a_prune_stopped_by_the_shutdown_is_one_line_of_the_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # The service logged "could not prune the outbox" with a traceback (an ERROR) at
    # every shutdown during a long prune.
    path = tmp_path / "outbox.duckdb"
    _backlog(path)
    outbox = Outbox(path)
    monkeypatch.setattr(retention, "time", Pauses(outbox.close))
    notifier = Notifier(outbox, [Route(url="http://127.0.0.1:9/h", name="h"),
                                 Route(url="http://127.0.0.1:9/k", name="k")],
                        channels={"h": Receiver(), "k": Receiver()},
                        clock=Clock(START + 200 * DAY))
    with caplog.at_level(logging.INFO, logger="spikes.alerts.notifier"):
        notifier.enqueue([])
    [record] = caplog.records
    assert record.levelno == logging.INFO and record.exc_info is None
    assert record.getMessage() == (
        "spikes: outbox prune stopped, the outbox closing, after 1 transactions (2401 "
        "messages, 2401 attempts removed); the rest goes at the next prune")


def test_the_prune_leaves_the_lock_free_at_each_pause(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Python's locks are not fair: a delivery thread waiting for the outbox got it only
    # because the prune pauses between two transactions with the lock free.
    path = tmp_path / "outbox.duckdb"
    _backlog(path)
    outbox = Outbox(path)
    free: list[bool] = []

    def another_thread_takes_the_lock() -> None:
        got = outbox._lock.acquire(blocking=False)
        free.append(got)
        if got:
            outbox._lock.release()

    class Sleeps:
        def sleep(self, seconds: float) -> None:
            assert seconds > 0
            thread = threading.Thread(target=another_thread_takes_the_lock)
            thread.start()
            thread.join()

    monkeypatch.setattr(retention, "time", Sleeps())
    try:
        pruned = outbox.prune(RETENTION, ["h", "k"], now=START + 200 * DAY, batch=100)
    finally:
        outbox.close()
    assert pruned.transactions == 13 + 1 + 1
    assert free == [True] * (pruned.transactions - 1)  # after each but the last


@pytest.mark.parametrize(("batch", "log_batch"), [(0, 10), (10, 0), (-1, -1)])
def test_a_batch_size_under_one_is_refused(tmp_path: Path, batch: int,
                                           log_batch: int) -> None:
    outbox = Outbox(tmp_path / "outbox.duckdb")
    try:
        with pytest.raises(ValueError, match=f"batch sizes must be at least 1, got {batch} "
                                             f"and {log_batch}"):
            outbox.prune(RETENTION, ["h"], now=START, batch=batch, log_batch=log_batch)
    finally:
        outbox.close()


def test_a_prune_in_another_thread_waits_for_an_enqueue_to_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An enqueue reads the route's horizon and what it holds, then inserts: a prune
    # that ran in between (from another thread) removed a delivered, ended, month-old
    # event and moved the horizon, and the insert then added its messages again as
    # pending (a page of history). The service prunes in a thread of the outbox's own
    # while its detection enqueues: an enqueue and a transaction of the prune take
    # turns.
    outbox = Outbox(tmp_path / "outbox.duckdb")
    event, now = _event(0), START + 45 * DAY
    outbox.enqueue(event, "h", now=START)
    for m in event:
        outbox.record(m["message_id"], "h", ok=True, now=START)
    either = threading.Event()  # the prune finished, or waits for the enqueue

    class Watched(Turns):
        """The outbox's turns, which say when a prune's transaction has to wait."""

        def take(self, *, enqueue: bool) -> None:
            if not enqueue:
                with self._cond:
                    if self._holder is not None:
                        either.set()
            super().take(enqueue=enqueue)

    def prune_now() -> None:
        try:
            outbox.prune(RETENTION, ["h"], now=now)
        finally:
            either.set()

    numbered = outbox._numbered
    thread = threading.Thread(target=prune_now)

    def numbered_while_a_prune_starts(*args: Any) -> list[dict[str, Any]]:
        thread.start()
        either.wait()
        return numbered(*args)

    monkeypatch.setattr(outbox, "_turns", Watched())
    monkeypatch.setattr(outbox, "_numbered", numbered_while_a_prune_starts)
    try:
        added = outbox.enqueue(event, "h", now=now)
        thread.join()
        assert added == 0  # held: nothing new
        assert outbox.messages().empty  # then pruned
        assert outbox.route_horizon("h") == pd.Timestamp(event[1]["at"])
    finally:
        outbox.close()


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_a_failing_prune_shows_in_healthz_and_metrics(tmp_path: Path) -> None:
    # A prune failing every hour (a damaged table) was one ERROR an hour in the log, the
    # outbox growing, and /healthz and /metrics all well.
    from fastapi.testclient import TestClient

    from spikes.service.app import create_app

    app = create_app(tmp_path / "spikes.duckdb", clock="data",
                     notify=[Route(url="http://127.0.0.1:9/h", name="h")])
    with TestClient(app) as client:
        notifier = app.state.live.notifier
        assert client.get("/healthz").json()["outbox_prune"] == "ok"
        assert "\nspikes_outbox_prune_failures_total 0\n" in client.get("/metrics").text
        with notifier.outbox._lock:  # a table the prune needs is gone
            notifier.outbox._conn.execute("ALTER TABLE alert_part_end RENAME TO away")
        notifier.enqueue([])  # a detection's enqueue, then its hourly prune (a thread's)
        assert notifier.wait_pruned(timeout=30)
        health = client.get("/healthz").json()
        assert health["outbox_prune"].startswith("failing: CatalogException: ")
        assert "alert_part_end" in health["outbox_prune"]
        assert health["detection"] == health["store"] == "ok"
        assert "\nspikes_outbox_prune_failures_total 1\n" in client.get("/metrics").text
        with notifier.outbox._lock:  # mended: the next prune (an hour later) succeeds
            notifier.outbox._conn.execute("ALTER TABLE away RENAME TO alert_part_end")
        notifier._pruned_at -= pd.Timedelta(hours=1)
        notifier.enqueue([])
        assert notifier.wait_pruned(timeout=30)
        assert client.get("/healthz").json()["outbox_prune"] == "ok"
        assert "\nspikes_outbox_prune_failures_total 1\n" in client.get("/metrics").text
