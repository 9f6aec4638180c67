"""Outages in the weeks after a lasting change of level, live.

Run ``.venv/bin/python benchmarks/bench_steps.py [--seeds 8] [--outage 2.2] [--steps
0.5,1.6,2.0,3.0] [--retrospective]``.

A product's level may change for good (a launch, a migration, a feed that grew or
shrank); the baseline has to follow, and outages in the weeks after must still stand
out. Here each seed draws Poisson counts of 5-minute buckets for 42 days from a Monday
(a daily cycle of about 40 reports a bucket at 14:00, weekends at 0.6) for one product
per step factor and step day: the level changes by the factor at 06:00 of day 10 (a
Thursday) or 17 (a Thursday a week later), and four outages of one or two hours at
``--outage`` times the level fall on random days after it (08:00-20:00). An outage counts
as found when an incident begins on its day; an incident on another day than an
outage's or the step's is another one (the step day itself is counted apart: a step up
is raised on its day). ``--steps 1.0`` gives the same data without a step, the
reference.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.pipeline import analyze
from spikes.model import ReportData

DAYS = 42
BUCKET = pd.Timedelta("5min")
STEP_DAYS = (10, 17)


def products(seed: int, steps: tuple[float, ...], outage: float
             ) -> tuple[pd.DataFrame, dict[str, list[int]], dict[str, int]]:
    """Counts of one seed's products (columns ``x<factor> d<day> s<seed>``), their
    outages' days and their step days."""
    rng = np.random.default_rng(seed + 1234)
    index = pd.date_range("2026-01-05", periods=DAYS * 288, freq=BUCKET, tz="UTC")
    clock = (index.hour + index.minute / 60).to_numpy()
    time = np.arange(len(index)) / 288
    usual = 40 * (0.3 + 0.7 * np.exp(-(((clock - 14) / 4) ** 2)))
    usual = usual * np.where(index.day_of_week >= 5, 0.6, 1.0)
    columns, outages, step_days = {}, {}, {}
    for factor in steps:
        for step in STEP_DAYS:
            name = f"x{factor} d{step} s{seed}"
            rate = usual * np.where(time >= step + 0.25, factor, 1.0)
            days = sorted(rng.choice(np.arange(step + 1, DAYS - 1), size=4,
                                     replace=False).tolist())
            for day in days:
                hour, hours = rng.uniform(8, 20), rng.choice([1.0, 2.0])
                start = day + hour / 24
                rate = np.where((time >= start) & (time < start + hours / 24),
                                outage * rate, rate)
            columns[name] = rng.poisson(rate).astype(float)
            outages[name], step_days[name] = days, step
    return pd.DataFrame(columns, index=index), outages, step_days


def score(incidents: pd.DataFrame, start: pd.Timestamp, outages: dict[str, list[int]],
          step_days: dict[str, int]) -> pd.DataFrame:
    """Per product: outages found and missed, other incidents, the step day raised."""
    rows = []
    for product, days in outages.items():
        onsets = incidents.loc[incidents["product"] == product, "onset"]
        seen = ((onsets - start) // pd.Timedelta("1D")).tolist()
        found = sum(day in seen for day in days)
        step = step_days[product]
        rows.append({"step": product.rsplit(" ", 1)[0], "found": found,
                     "missed": len(days) - found,
                     "other": sum(day not in days and day != step for day in seen),
                     "step day raised": int(step in seen)})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--outage", type=float, default=2.2,
                        help="the outages' factor over the level (default 2.2)")
    parser.add_argument("--steps", default="0.5,1.6,2.0,3.0",
                        help="step factors, comma-separated (1.0: no step)")
    parser.add_argument("--retrospective", action="store_true",
                        help="detect with hindsight (mode = 'retrospective')")
    args = parser.parse_args()
    steps = tuple(float(x) for x in args.steps.split(","))
    config = DetectionConfig(mode="retrospective" if args.retrospective else "causal")
    tables = []
    for seed in range(args.seeds):
        counts, outages, step_days = products(seed, steps, args.outage)
        result = analyze(ReportData(counts=counts, bucket=BUCKET), config)
        tables.append(score(result.incidents, counts.index[0], outages, step_days))
    table = pd.concat(tables).groupby("step", sort=False).sum()
    print(f"mode = {config.mode}, {args.seeds} seeds, outages at {args.outage}x")
    print(table.to_string())
    print("total", table.sum().to_dict())


if __name__ == "__main__":
    main()
