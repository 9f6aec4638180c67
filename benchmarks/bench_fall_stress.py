"""Stress scenarios of falls, holidays, dead feeds and returns, live: found outages and
false incidents per scenario, and what moved between two source trees.

Run (from the repository root; ``PYTHONPATH`` picks the source tree measured)::

    .venv/bin/python benchmarks/bench_fall_stress.py OUT.json [--seeds 0,1,2] [--only REGEX]
    .venv/bin/python benchmarks/bench_fall_stress.py --compare BEFORE.json AFTER.json

A product's reports fall for many reasons, and each one meets other rules of the live
baseline (a fall taken as the level, the hold of a return, dead runs, the judgement of
the other kind of day): a feed that dies and sends a few stray reports, hours of zeros,
whole days of zeros split by missing buckets, lasting steps to a twentieth, holidays and
dips of every depth, weekday-only falls, outages late on the days the hold covers,
returns that ramp up before midnight, local time zones; at 40 reports a bucket at 14:00,
at 2-5 (low volume) and at hourly buckets. Written from a helper review of stop 54 (whose
scenarios found a crash of the live walk and four faults of a rule tried there). Each
scenario is Poisson counts from a Monday (the daily cycle of ``bench_falls.py``,
weekends at 0.6) with outages of known time; an outage counts as found when an incident
overlaps it within an hour either side, every other incident is a false one, and a
failure of ``analyze`` is reported as such. About 40 s for three seeds on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spikes.detect.pipeline import analyze
from spikes.model import ReportData

Outage = tuple[float, float, float, float]  # day, hour, ratio, hours
#: The outages of the scenarios that have no others: days after the falls (14-19).
LATER = ((21, 14, 2.2, 1), (24, 11, 3.0, 1), (27, 15, 2.2, 2), (29, 10, 3.0, 1))


@dataclass(frozen=True)
class Scenario:
    """One product's counts: the usual rate times `factors` (``(from, to, factor,
    weekdays only)`` in days), `outages` on top, then the feed's faults: zeros from
    ``from`` to ``to`` (days) with `strays` single reports a day in them, and a missing
    bucket every `holes` buckets of the zeros (0: none). With `ramp`, the outages are a
    return's ramp, not outages (an incident on them is a false one)."""

    days: int = 32
    peak: float = 40.0
    per_day: int = 288
    start: str = "2026-01-05"
    factors: tuple[tuple[float, float, float, bool], ...] = ()
    outages: tuple[Outage, ...] = LATER
    zeros: tuple[tuple[float, float], ...] = ()
    strays: int = 0
    holes: int = 0
    ramp: bool = False

    def counts(self, seed: int) -> tuple[pd.DataFrame, list[tuple[float, float]]]:
        """The counts (one column ``app``) and the outages as ``(from, to)`` in days."""
        rng = np.random.default_rng(seed)
        index = pd.date_range(self.start, periods=self.days * self.per_day,
                              freq=pd.Timedelta("1D") / self.per_day, tz="UTC")
        t = np.arange(len(index)) / self.per_day
        # The daily cycle in the first day's clock (a start off midnight shifts it).
        local = index + (pd.Timestamp("2026-01-05", tz="UTC") - index[0])
        clock = (local.hour + local.minute / 60).to_numpy()
        rate = self.peak * (0.3 + 0.7 * np.exp(-(((clock - 14) / 4) ** 2)))
        rate = rate * np.where(local.day_of_week >= 5, 0.6, 1.0)
        for lo, hi, factor, weekdays in self.factors:
            inside = (t >= lo) & (t < hi) & ((local.day_of_week < 5) | (not weekdays))
            rate = np.where(inside, factor * rate, rate)
        spans = []
        for day, hour, ratio, hours in self.outages:
            lo = day + hour / 24
            rate = np.where((t >= lo) & (t < lo + hours / 24), ratio * rate, rate)
            spans.append((lo, lo + hours / 24))
        y = rng.poisson(rate).astype(float)
        for lo, hi in self.zeros:
            dead = (t >= lo) & (t < hi)
            y[dead] = 0.0
            for day in range(int(lo), int(np.ceil(hi))):
                pos = np.flatnonzero(dead & (t >= day) & (t < day + 1))
                if self.strays and len(pos):
                    y[rng.choice(pos, min(self.strays, len(pos)), replace=False)] = 1.0
            if self.holes:
                y[np.flatnonzero(dead)[self.holes // 2 :: self.holes]] = np.nan
        return pd.DataFrame({"app": y}, index=index), spans


def _scenarios() -> dict[str, Scenario]:
    out: dict[str, Scenario] = {}
    for k in (0, 1, 3, 10):  # a feed dead for four days from Monday 06:00, k stray reports
        out[f"trickle{k}"] = Scenario(zeros=((14.25, 18.25),), strays=k)
        out[f"trickle{k}_lv"] = Scenario(peak=4.0, zeros=((14.25, 18.25),), strays=k)
    out["trickle1_midnight"] = Scenario(zeros=((14, 18),), strays=1)
    out["trickle3_hourly"] = Scenario(per_day=24, zeros=((14.25, 18.25),), strays=3)
    for peak in (40.0, 4.0, 2.0):  # hours of zeros on two days
        out[f"dead_hours_{peak:g}"] = Scenario(peak=peak, zeros=((15 + 9 / 24, 15 + 15 / 24),
                                                                 (16 + 9 / 24, 16 + 15 / 24)))
    out["zero_days_holes"] = Scenario(zeros=((14, 17),), holes=24)
    out["zero_days_holes_strays"] = Scenario(zeros=((14, 17),), holes=24, strays=2)
    steps = ((14, 14, 2.2, 1), (17, 11, 3.0, 1), (20, 15, 2.2, 2), (23, 16, 3.0, 1),
             (27, 12, 2.2, 1), (30, 10, 3.0, 1))
    for factor in (1 / 3, 0.2, 0.1, 0.05):  # lasting falls from Thursday 06:00 (day 10)
        name = f"step{factor:.2g}"
        out[name] = Scenario(factors=((10.25, 99, factor, False),), outages=steps)
        out[f"{name}_lv"] = Scenario(peak=4.0, factors=((10.25, 99, factor, False),),
                                     outages=steps)
        out[f"{name}_hourly"] = Scenario(per_day=24, factors=((10.25, 99, factor, False),),
                                         outages=steps)
    for factor in (1 / 3, 0.2, 0.1, 0.05):  # holidays, back on different days
        after = ((21, 14, 2.2, 1), (23, 11, 3.0, 1))
        for first, last in ((14, 18), (15, 19), (16, 20), (16, 22), (14, 25)):
            out[f"holiday{factor:.2g}_{first}_{last}"] = Scenario(
                factors=((first, last + 1, factor, False),),
                outages=((last + 2, 14, 2.2, 1), (last + 4, 11, 3.0, 1)))
        out[f"holiday{factor:.2g}_lv"] = Scenario(peak=3.0, factors=((15, 20, factor, False),),
                                                  outages=after)
        out[f"holiday{factor:.2g}_hourly"] = Scenario(
            per_day=24, factors=((15, 20, factor, False),), outages=after)
    for factor in (0.01, 0.03, 0.1, 0.2, 1 / 3):  # four days at a fraction, back at 00:00 / 06:00
        out[f"dip{factor:.2g}_midnight"] = Scenario(factors=((14, 18, factor, False),))
        out[f"dip{factor:.2g}_6h"] = Scenario(factors=((14.25, 18.25, factor, False),))
    weekday_fall = ((14, 99, 1 / 3, True),)
    out["weekday_fall_dead_saturday"] = Scenario(days=30, factors=weekday_fall,
                                                 zeros=((19, 20),))
    out["weekday_fall_dead_saturday_holes"] = Scenario(days=30, factors=weekday_fall,
                                                       zeros=((19, 20),), holes=24)
    for ratio in (1.8, 2.5, 4.0):  # outages late on the held Saturday, and on Sunday
        out[f"weekday_fall_sat2330_{ratio}"] = Scenario(days=30, factors=weekday_fall,
                                                        outages=((19, 23.5, ratio, 1),))
        out[f"weekday_fall_sat2310_{ratio}_2h"] = Scenario(
            days=30, factors=weekday_fall, outages=((19, 23 + 1 / 6, ratio, 2),))
        out[f"fall_sat2310_{ratio}_2h"] = Scenario(
            days=28, factors=((14, 99, 1 / 3, False),), outages=((19, 23 + 1 / 6, ratio, 2),))
        out[f"fall_sun2330_{ratio}"] = Scenario(
            days=28, factors=((14, 99, 1 / 3, False),), outages=((20, 23.5, ratio, 1),))
    for last in (17, 18, 19, 20, 21):  # a holiday whose return ramps up from 23:30
        for factor in (1 / 3, 0.1):
            out[f"return_ramp_{last}_{factor:.2g}"] = Scenario(
                days=28, factors=((14, last + 1, factor, False),),
                outages=((last, 23.5, 2.5, 0.5),), ramp=True)
    for name, start in (("utc+5", "2026-01-04 19:00"), ("utc-8", "2026-01-05 08:00")):
        out[f"return_ramp_19_{name}"] = Scenario(
            days=28, start=start, factors=((14, 20, 1 / 3, False),),
            outages=((19, 23.5, 2.5, 0.5),), ramp=True)
    return out


#: The scenarios by name.
SCENARIOS = _scenarios()


def run_one(scenario: Scenario, seed: int) -> dict[str, Any]:
    """Found outages and false incidents of one scenario and seed (``error`` instead
    where ``analyze`` failed). The ramp of a return (``ramp``) is no outage:
    an incident on it is a false one, and it is not counted as found."""
    counts, spans = scenario.counts(seed)
    bucket = counts.index[1] - counts.index[0]
    try:
        incidents = analyze(ReportData(counts=counts, bucket=bucket)).incidents
    except Exception as exc:  # noqa: BLE001 - a failure is this benchmark's finding
        return {"error": f"{type(exc).__name__}: {exc}"}
    day = pd.Timedelta("1D")
    onset, end, alerted = (((incidents[c] - counts.index[0]) / day).to_numpy()
                           for c in ("onset", "end", "alerted_at"))
    near = 1 / 24
    hits = [(onset < hi + near) & (end >= lo - near) for lo, hi in spans]
    ramp = scenario.ramp
    matched = np.zeros(len(onset), dtype=bool)
    if hits and not ramp:
        matched = np.any(hits, axis=0)
    delays = [round(float((alerted[h].min() - lo) * 24), 2)
              for (lo, _), h in zip(spans, hits, strict=True) if h.any()]
    return {"outages": 0 if ramp else len(spans),
            "found": 0 if ramp else sum(bool(h.any()) for h in hits),
            "false": int((~matched).sum()), "alert_delay_hours": [] if ramp else delays}


def measure(seeds: list[int], only: str | None = None,
            scenarios: dict[str, Scenario] | None = None) -> dict[str, dict[str, Any]]:
    """:func:`run_one` of every scenario (whose name matches `only`) and seed, keyed
    ``name|seed``."""
    chosen = {k: v for k, v in (scenarios or SCENARIOS).items()
              if only is None or re.fullmatch(only, k)}
    return {f"{name}|{seed}": run_one(scenario, seed)
            for name, scenario in chosen.items() for seed in seeds}


def compare(before: dict[str, Any], after: dict[str, Any],
            show: Callable[[str], None] = print) -> int:
    """Print the totals and every scenario and seed whose result moved; return how many
    moved."""
    moved = 0
    totals = {"before": [0, 0, 0, 0], "after": [0, 0, 0, 0]}
    for key in sorted(set(before) | set(after)):
        for side, res in (("before", before.get(key, {})), ("after", after.get(key, {}))):
            row = totals[side]
            row[0] += res.get("outages", 0)
            row[1] += res.get("found", 0)
            row[2] += res.get("false", 0)
            row[3] += "error" in res
        if before.get(key) != after.get(key):
            moved += 1
            show(f"{key}: {before.get(key)} -> {after.get(key)}")
    for side, (outages, found, false, errors) in totals.items():
        show(f"{side}: found {found} of {outages}, false incidents {false}, failures {errors}")
    return moved


def main(argv: list[str] | None = None) -> int:
    """Command line; exit status 1 when ``--compare`` finds a difference."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, help="where the results go (JSON)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--only", help="a regular expression the scenario names match")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.loads(p.read_text(encoding="utf-8")) for p in args.compare)
        return 1 if compare(before, after) else 0
    if args.out is None:
        parser.error("give OUT.json, or --compare BEFORE AFTER")
    start = time.perf_counter()
    results = measure([int(s) for s in args.seeds.split(",")], args.only)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(results)} runs) in {time.perf_counter() - start:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
