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

    python benchmarks/bench_outbox_retention.py                  # 180 days, 10 a day
    python benchmarks/bench_outbox_retention.py --days 365 --events 20
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--events", type=int, default=10, help="outages a day")
    parser.add_argument("--step", type=float, default=6.0, help="hours between detections")
    parser.add_argument("--retention", default="30D")
    args = parser.parse_args()
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
