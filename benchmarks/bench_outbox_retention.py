"""The outbox's size over a long run of a service, without and with its retention.

A service on the wall clock, simulated (the time of day is the notifier's clock, moved by
the run): ``--events`` outages a day, each an ``open``, an ``escalated`` and a
``resolved`` (8 hours after its onset), for ``--days`` days; a detection every ``--step`` hours
enqueues the messages of the events with one in the last day (as a live step does) for
two routes, one of whose receivers refuses every message's first attempt (so it is
logged twice), and delivers them. The same run without a retention (as before: nothing
pruned) and with ``--retention`` (the default's 30 days). Prints, every 30 days, the rows
of ``alert_outbox`` and ``alert_log``, the DuckDB file's size after a checkpoint, and at
the end the time a restart's complete detection takes to read what a route was told
(``Outbox.told``). Writes nothing outside a temporary folder.

With ``--upgraded-rows N``, instead: an outbox of the previous version (the schema before
the retention, which pruned nothing) holding N (message, route) rows delivered long ago,
with their attempts (1.5 a message), and a few pending messages; the first prune of the
new version runs in a process of its own, started as the service starts it: by the
notify of a live step (``Notifier.enqueue`` of a new outage's messages, the default
retention; in the outbox's thread where the version has one, as ``spikes serve``'s
notifier). It prints how long the prune took; how long that first notify kept the
detection thread; the longest and the median of the notifies the detection thread made
meanwhile (one every 0.1 s by default, ``--notify-every``, each of a new outage, until
the prune ended), and the longest of their waits for a transaction of the prune to end
(``Outbox.enqueuing``: versions with turns only; the rest of a notify is its own work, on
an outbox still large); the longest stretch between two of the prune's pauses (about its
longest transaction); its memory (the process's resident set after the open and at its
peak, and Python's own peak by tracemalloc); the longest a delivery thread's ``record``
waited for the outbox meanwhile; and the file's size before and after. The
outbox is built in a process of its own too, and the resident figures are the kernel's
for the pruning process alone (``VmRSS`` and ``VmHWM`` of ``/proc/self/status``, which
start afresh at the process's ``exec``): ``getrusage``'s ``ru_maxrss`` of a process
started by ``subprocess`` starts at its parent's peak (the parent's memory, shared until
the ``exec``, counts as its), which made the builder's peak look like the open's.

    python benchmarks/bench_outbox_retention.py                  # 180 days, 10 a day
    python benchmarks/bench_outbox_retention.py --days 365 --events 20
    python benchmarks/bench_outbox_retention.py --upgraded-rows 1000000
    python benchmarks/bench_outbox_retention.py --upgraded-rows 1000000 --keep /tmp/1m.duckdb
    python benchmarks/bench_outbox_retention.py --upgraded-rows 1000000 --notify-every 0
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from spikes.alerts.channels import DeliveryError
from spikes.alerts.notifier import RETENTION, Notifier
from spikes.alerts.outbox import Outbox
from spikes.alerts.routing import Route

START = pd.Timestamp("2026-01-01", tz="UTC")
PRODUCTS = [f"Product {i:02d}" for i in range(14)]


def outage(day: int, number: int) -> list[dict[str, Any]]:
    """The three messages of outage `number` of `day` (counted from START)."""
    product = PRODUCTS[number % len(PRODUCTS)]
    onset = START + pd.Timedelta(days=day, minutes=(number * 137) % (20 * 60))
    key = f"{product}|{onset.isoformat()}"
    event_id = f"E{day * 100 + number:05d}"
    out = []
    for sequence, (state, hours, severity) in enumerate(
            (("open", 0.25, "minor"), ("escalated", 0.5, "major"),
             ("resolved", 8.0, "major"))):
        at = onset + pd.Timedelta(hours=hours)
        end = (onset + pd.Timedelta(hours=2)).isoformat() if state == "resolved" else None
        why = f"{product}: 400 reports in 5 min against 12 usual."
        out.append({
            "message_id": f"{key}|{sequence}|{state}", "event_id": event_id,
            "event_key": key, "state": state, "sequence": sequence, "at": at.isoformat(),
            "products": [{"product": product, "onset": onset.isoformat(),
                          "alerted_at": onset.isoformat(), "severity": severity,
                          "end": end, "why": why, "known_event": ""}],
            "severity": severity, "onset": onset.isoformat(),
            "alerted_at": onset.isoformat(), "end": end, "why": why,
            "title": f"{event_id} {state} ({severity}): {product}"})
    return out


class _Receiver:
    """Takes every message; with `flaky`, refuses each one's first attempt."""

    def __init__(self, flaky: bool = False) -> None:
        self.flaky, self.seen = flaky, set()

    def send(self, message: dict[str, Any]) -> None:
        if self.flaky and message["message_id"] not in self.seen:
            self.seen.add(message["message_id"])
            raise DeliveryError("HTTP 503: try again")


def run(folder: Path, days: int, events: int, step: float,
        retention: pd.Timedelta | None) -> list[tuple[int, int, int, float]]:
    """The run (see the module docstring): every 30 days, (day, outbox rows, log rows,
    file MB); then the time of a complete read of a route's told events, in seconds."""
    path = folder / f"outbox-{'never' if retention is None else 'kept'}.duckdb"
    clock = {"now": START}
    outbox = Outbox(path)
    routes = [Route(url="http://127.0.0.1:9/a", name="oncall", backoff=0.0),
              Route(url="http://127.0.0.1:9/b", name="flaky", backoff=0.0)]
    notifier = Notifier(outbox, routes,
                        channels={"oncall": _Receiver(), "flaky": _Receiver(flaky=True)},
                        clock=lambda: clock["now"], retention=retention)
    messages = {day: [m for n in range(events) for m in outage(day, n)]
                for day in range(days)}
    sizes = []
    every = pd.Timedelta(hours=step)
    now = START + every
    while now <= START + pd.Timedelta(days=days):
        clock["now"] = now
        day = (now - START).days
        recent = [m for d in (day - 1, day) for m in messages.get(d, [])
                  if pd.Timestamp(m["at"]) <= now]
        notifier.enqueue(recent, settled_before=now - pd.Timedelta("1h"), until=now)
        while notifier.deliver():  # the flaky route's retries (no backoff)
            pass
        if now.hour == 0 and now.minute == 0 and day % 30 == 0:
            with outbox._lock:
                conn = outbox._conn
                conn.execute("CHECKPOINT")
                rows = conn.execute("SELECT count(*) FROM alert_outbox").fetchall()[0][0]
                log = conn.execute("SELECT count(*) FROM alert_log").fetchall()[0][0]
            sizes.append((day, int(rows), int(log), path.stat().st_size / 2 ** 20))
        now += every
    start = time.perf_counter()
    outbox.told("oncall")
    read = time.perf_counter() - start
    outbox.close()
    return [*sizes, (days, 0, 0, read)]


#: The commit of the version before the retention (the main branch before stop 45's
#: merge), whose schema the upgraded outbox has.
PREVIOUS_VERSION = "01cbdde"
#: The (message, route) rows of an upgraded outbox's events: 3 messages, 2 routes.
ROWS_PER_EVENT = 6
#: Events of the upgraded outbox not yet delivered (they stay).
PENDING_EVENTS = 10


def build_upgraded(path: Path, rows: int) -> pd.Timestamp:
    """An outbox of the previous version at `path`: about `rows` (message, route) rows of
    outages one after the other over the year before START, every message delivered (the
    ``flaky`` route's at its second attempt) but those of the last :data:`PENDING_EVENTS`
    outages; the time of day at which all the delivered ones are past the default
    retention (returned)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    # Imported here, in the process that builds (the pruning one's memory is measured).
    from tests.test_alerts_retention import PREVIOUS_SCHEMAS  # the upgrade test's

    events = max(rows // ROWS_PER_EVENT, PENDING_EVENTS + 1)
    first = START - pd.Timedelta(days=365)
    spacing = pd.Timedelta(days=365) / events
    conn = duckdb.connect(str(path))
    try:
        conn.execute(PREVIOUS_SCHEMAS[PREVIOUS_VERSION])
        conn.execute("""
            CREATE TEMP TABLE m AS
            WITH e AS (
                SELECT i, ?::TIMESTAMP + to_microseconds(i * ?) AS onset,
                       'Product ' || lpad((i % 14)::VARCHAR, 2, '0') AS product,
                       i >= ? AS pending
                FROM range(?) t(i)),
            s AS (SELECT * FROM (VALUES (0, 'open', 15, 'minor'), (1, 'escalated', 30, 'major'),
                                        (2, 'resolved', 480, 'major')) v(seq, state, mins, sev)),
            r AS (SELECT * FROM (VALUES ('oncall'), ('flaky')) v(route))
            SELECT e.product || '|' || strftime(e.onset, '%Y-%m-%dT%H:%M:%S+00:00') AS key,
                   'E' || lpad(i::VARCHAR, 7, '0') AS event_id, e.onset, e.product,
                   e.pending, s.seq, s.state, s.sev,
                   e.onset + to_minutes(s.mins) AS sent, r.route
            FROM e, s, r""", [first.tz_localize(None), spacing // pd.Timedelta("1us"),
                             events - PENDING_EVENTS, events])
        conn.execute("""
            INSERT INTO alert_outbox (message_id, route, event_id, state, sequence,
                changed_at, body, enqueued_at, status, attempts, next_attempt_at,
                delivered_at, last_error, event_key)
            SELECT key || '|' || seq || '|' || state, route, event_id, state, seq, sent,
                   to_json({message_id: key || '|' || seq || '|' || state,
                            event_id: event_id, event_key: key, state: state,
                            sequence: seq, "at": strftime(sent, '%Y-%m-%dT%H:%M:%S+00:00'),
                            products: [{product: product,
                                        onset: strftime(onset, '%Y-%m-%dT%H:%M:%S+00:00'),
                                        severity: sev,
                                        why: product || ': 400 reports in 5 min against 12 '
                                             || 'usual.', known_event: ''}],
                            severity: sev, title: event_id || ' ' || state || ' (' || sev
                                                  || '): ' || product})::VARCHAR,
                   sent, CASE WHEN pending THEN 'pending' ELSE 'delivered' END,
                   CASE WHEN pending THEN 0 WHEN route = 'flaky' THEN 2 ELSE 1 END, sent,
                   CASE WHEN pending THEN NULL ELSE sent END, NULL, key
            FROM m""")
        conn.execute("""
            INSERT INTO alert_log
            SELECT key || '|' || seq || '|' || state, route, a.n, sent, a.n = 2 OR
                   route = 'oncall', CASE WHEN a.n = 1 AND route = 'flaky'
                                          THEN 'HTTP 503: try again' END
            FROM m, (VALUES (1), (2)) a(n)
            WHERE NOT pending AND (a.n = 1 OR route = 'flaky')""")
        conn.execute("DROP TABLE m")
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    return _now_of(path)


def memory() -> dict[str, float]:
    """This process's resident set now (``rss``) and at its peak (``peak``), in MB: the
    kernel's ``VmRSS`` and ``VmHWM`` (of this process alone since its ``exec``); where
    there is no ``/proc`` (not Linux), ``getrusage``'s peak for both, which for a process
    started by ``subprocess`` may be its parent's."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 10
        return {"rss": peak, "peak": peak}
    kb = {name: float(value.split()[0]) for name, value in
          (line.split(":", 1) for line in lines if line.startswith(("VmRSS:", "VmHWM:")))}
    return {"rss": kb["VmRSS"] / 2 ** 10, "peak": kb["VmHWM"] / 2 ** 10}


#: Seconds between two notifies of the detection thread while the prune runs
#: (``--notify-every``).
NOTIFY_EVERY = 0.1


class _Pauses:
    """Stands in for the ``time`` module of :mod:`spikes.alerts.retention`: its ``sleep``
    (the pause after each transaction of a prune but the last) notes when it came."""

    def __init__(self) -> None:
        self.at: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.at.append(time.perf_counter())
        time.sleep(seconds)


def _notifier(outbox: Outbox, now: pd.Timestamp) -> Notifier:
    """The service's notifier of the upgraded outbox's two routes (its receivers are
    never called): it prunes in the outbox's thread where this version can."""
    routes = [Route(url="http://127.0.0.1:9/a", name="oncall"),
              Route(url="http://127.0.0.1:9/b", name="flaky")]
    kwargs: dict[str, Any] = {
        "channels": {"oncall": _Receiver(), "flaky": _Receiver()}, "clock": lambda: now}
    try:
        return Notifier(outbox, routes, prune_in_background=True, **kwargs)
    except TypeError:  # a version that prunes on the enqueuing thread
        return Notifier(outbox, routes, **kwargs)


def first_prune(path: Path, now: pd.Timestamp,
                every: float = NOTIFY_EVERY) -> dict[str, float]:
    """Open the outbox at `path` with this version and prune it once, as a live step
    does, the detection thread notifying every `every` seconds meanwhile (none with 0);
    what it cost (see the module docstring)."""
    from spikes.alerts import retention

    imported = memory()
    started = time.perf_counter()
    outbox = Outbox(path)
    opened = time.perf_counter() - started
    rows = outbox.counts()
    after_open = memory()
    rows = outbox.counts()
    waiting = [row for row in outbox.due() if row["route"] == "oncall"][0]
    stop, waits = threading.Event(), []

    def deliver() -> None:  # a delivery thread's attempts, all the while
        while not stop.is_set():
            start = time.perf_counter()
            outbox.record(waiting["message_id"], "oncall", ok=False, error="HTTP 503",
                          retry_at=now, now=now)
            waits.append(time.perf_counter() - start)
            time.sleep(0.01)

    notifier = _notifier(outbox, now)
    day = (now - START).days - 1
    pauses = _Pauses()
    retention.time = pauses  # type: ignore[attr-defined]
    results: list[Any] = []
    ended: list[float] = []
    prune = outbox.prune

    def noted(*args: Any, **kwargs: Any) -> Any:  # what the prune removed, when it ended
        results.append(prune(*args, **kwargs))
        ended.append(time.perf_counter())
        return results[-1]

    outbox.prune = noted  # type: ignore[method-assign]
    turns: list[float] = []  # each notify's wait for its turn (versions with turns)
    if hasattr(outbox, "enqueuing"):
        enqueuing, depth = outbox.enqueuing, threading.local()

        @contextlib.contextmanager
        def timed() -> Any:  # the notify's turn (not its enqueues', within it)
            outer = not getattr(depth, "n", 0)
            depth.n = getattr(depth, "n", 0) + 1
            begun = time.perf_counter()
            try:
                with enqueuing():
                    if outer:
                        turns.append(time.perf_counter() - begun)
                    yield
            finally:
                depth.n -= 1

        outbox.enqueuing = timed  # type: ignore[method-assign]
    writer = threading.Thread(target=deliver)
    tracemalloc.start()
    writer.start()
    start = time.perf_counter()
    notifier.enqueue(outage(day, 0), until=now)  # the first live step after the upgrade
    notify = time.perf_counter() - start
    detecting, notifies = threading.Event(), []

    def detect() -> None:  # the detection thread's next live steps, a new outage each
        number = 1
        while not detecting.is_set():
            begun = time.perf_counter()
            notifier.enqueue(outage(day, number), until=now)
            notifies.append((begun, time.perf_counter() - begun))
            number += 1
            detecting.wait(every)

    detector = threading.Thread(target=detect)
    if every > 0:
        detector.start()
    if hasattr(notifier, "wait_pruned"):
        notifier.wait_pruned()
    [end] = ended
    took = end - start
    detecting.set()
    if every > 0:
        detector.join()
    stop.set()
    writer.join()
    [pruned] = results
    during = [wait for begun, wait in notifies if begun < end]
    marks = [start, *pauses.at, end]
    stretch = max(b - a for a, b in zip(marks[:-1], marks[1:], strict=True))
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with outbox._lock:
        outbox._conn.execute("CHECKPOINT")
    peak = memory()["peak"]
    left = outbox.counts()
    outbox.close()
    return {"rows": sum(rows.values()), "opened_s": opened, "prune_s": took,
            "notify_s": notify, "notifies": len(during),
            "notify_max_s": max(during, default=float("nan")),
            "notify_median_s": float(pd.Series(during, dtype=float).median()),
            "turn_max_s": max(turns[1:len(during) + 1], default=float("nan")),
            "stretch_max_s": stretch,
            "pruned": pruned.messages, "attempts": pruned.attempts,
            "transactions": getattr(pruned, "transactions", 1),
            "left": sum(left.values()), "rss_imported_mb": imported["rss"],
            "rss_open_mb": after_open["rss"], "peak_open_mb": after_open["peak"],
            "rss_peak_mb": peak,
            "python_peak_mb": python_peak / 2 ** 20, "record_wait_max_s": max(waits),
            "records": len(waits), "file_after_mb": path.stat().st_size / 2 ** 20}


def _last_line(*args: str) -> Any:
    """Run this script with `args` in a process of its own; the JSON of its last line."""
    out = subprocess.run([sys.executable, __file__, *args], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def upgraded(rows: int, keep: Path | None = None, every: float = NOTIFY_EVERY) -> None:
    """Build an upgraded outbox of `rows` rows in a process of its own (or take the one
    at `keep`, building it there first if there is none), prune a copy of it in another,
    print the figures (one Markdown table row)."""
    with tempfile.TemporaryDirectory(prefix="spikes-outbox-") as folder:
        path = Path(folder) / "upgraded.duckdb"
        source = keep or path
        start = time.perf_counter()
        if keep is None or not keep.exists():
            _last_line("--build", str(source), str(rows))
        built = time.perf_counter() - start
        if source != path:
            path.write_bytes(source.read_bytes())
        now = _now_of(path)
        size = path.stat().st_size / 2 ** 20
        r = _last_line("--first-prune", str(path), now.isoformat(), str(every))
    print(f"upgraded outbox: {r['rows']:,} rows (built in {built:.1f} s), file "
          f"{size:.0f} MB before, {r['file_after_mb']:.0f} MB after the prune; the pruning "
          f"process's resident set {r['rss_imported_mb']:.0f} MB after its imports")
    print("| rows | pruned (messages, attempts) | transactions | open (s) | prune (s) | "
          "first notify (s) | notifies during the prune: longest, median (s) (how many); "
          "longest wait for the turn (s) | "
          "longest stretch between two pauses (s) | "
          "RSS after the open (MB) | peak RSS (MB) | Python peak (MB) | "
          "longest record wait (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    during = (f"{r['notify_max_s']:.2f}, {r['notify_median_s']:.3f} ({r['notifies']}); "
              f"turn {r['turn_max_s']:.2f}" if r["notifies"] else "none (0)")
    print(f"| {r['rows']:,} | {r['pruned']:,}, {r['attempts']:,} | {r['transactions']:,} | "
          f"{r['opened_s']:.2f} | {r['prune_s']:.2f} | {r['notify_s']:.2f} | {during} | "
          f"{r['stretch_max_s']:.2f} | {r['rss_open_mb']:.0f} | "
          f"{r['rss_peak_mb']:.0f} | {r['python_peak_mb']:.1f} | "
          f"{r['record_wait_max_s']:.2f} ({r['records']} records) |")


def _now_of(path: Path) -> pd.Timestamp:
    """The time of day at which every delivered message of the outbox at `path` is past
    the default retention (see :func:`build_upgraded`)."""
    conn = duckdb.connect(str(path), read_only=True)
    try:
        last = conn.execute("SELECT max(changed_at) FROM alert_outbox WHERE status = "
                            "'delivered'").fetchall()[0][0]
    finally:
        conn.close()
    return pd.Timestamp(last, tz="UTC") + RETENTION + pd.Timedelta(days=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--events", type=int, default=10, help="outages a day")
    parser.add_argument("--step", type=float, default=6.0, help="hours between detections")
    parser.add_argument("--retention", default="30D")
    parser.add_argument("--upgraded-rows", type=int, metavar="N",
                        help="instead: the first prune of an outbox of the previous version "
                             "holding N rows")
    parser.add_argument("--keep", type=Path, metavar="FILE",
                        help="with --upgraded-rows: build the outbox at FILE (if there is "
                             "none yet) and prune a copy of it (paired runs on one outbox)")
    parser.add_argument("--notify-every", type=float, default=NOTIFY_EVERY,
                        metavar="SECONDS",
                        help="with --upgraded-rows: seconds between two notifies of the "
                             "detection thread while the prune runs (0: none)")
    parser.add_argument("--first-prune", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--build", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_prune:
        path, now, every = args.first_prune
        print(json.dumps(first_prune(Path(path), pd.Timestamp(now), float(every))))
        return
    if args.build:
        path, rows = args.build
        print(json.dumps(build_upgraded(Path(path), int(rows)).isoformat()))
        return
    if args.upgraded_rows:
        upgraded(args.upgraded_rows, args.keep, args.notify_every)
        return
    with tempfile.TemporaryDirectory(prefix="spikes-outbox-") as folder:
        results = {label: run(Path(folder), args.days, args.events, args.step, kept)
                   for label, kept in (("no retention (before)", None),
                                       (f"retention {args.retention}",
                                        pd.Timedelta(args.retention)))}
    print(f"{args.days} days, {args.events} outages a day (3 messages each), 2 routes, "
          f"a detection every {args.step:g} h; default retention {RETENTION}")
    print("| day | " + " | ".join(f"{label}: outbox rows, log rows, file MB"
                                  for label in results) + " |")
    print("|---|" + "---|" * len(results))
    for i, (day, *_) in enumerate(next(iter(results.values()))[:-1]):
        cells = [f"{r[i][1]:,}, {r[i][2]:,}, {r[i][3]:.1f}" for r in results.values()]
        print(f"| {day} | " + " | ".join(cells) + " |")
    print("| restart's read of a route's told events (s) | "
          + " | ".join(f"{r[-1][3]:.3f}" for r in results.values()) + " |")


if __name__ == "__main__":
    main()
