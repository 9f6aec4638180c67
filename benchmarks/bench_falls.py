"""Falls of a product's reports, lasting or not, live.

Run ``.venv/bin/python benchmarks/bench_falls.py [--seeds 2]``.

A product's reports may fall for good (a region moved away, a feed that shrank) or for a
few days (a holiday week). After a lasting fall the baseline has to follow, so that the
outages after it still stand out; after a temporary one it has to come back, so that
the return is no outage. Each seed draws Poisson counts of 5-minute buckets for 38 days
from a Monday, about 40 reports a bucket at 14:00 (``--shape week``: weekends at 0.6;
``none``: every day alike):

- **temporary**: the days ``first``-``last`` at a third, for nine spans of 3-12 days
  (weekdays and weekends); no outage, so every incident is a false one;
- **lasting**: from 06:00 of day 17 (a Thursday) at a third for good, with an hour at
  2.2 times the level at 14:00 on days 20-36 (every other day), counted as found when an
  incident begins on its day; an incident on another day than an outage's is a false
  one.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from spikes.detect.pipeline import analyze
from spikes.model import ReportData

DAYS = 38
PER_DAY = 288
BUCKET = pd.Timedelta("5min")
SPANS = ((16, 18), (15, 18), (14, 18), (15, 19), (16, 22), (14, 25), (17, 21), (18, 22),
         (21, 23))
LASTING_OUTAGES = tuple(range(20, 37, 2))


def rates(shape: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The grid and the usual rate of every bucket."""
    index = pd.date_range("2026-01-05", periods=DAYS * PER_DAY, freq=BUCKET, tz="UTC")
    clock = (index.hour + index.minute / 60).to_numpy()
    usual = 40 * (0.3 + 0.7 * np.exp(-(((clock - 14) / 4) ** 2)))
    if shape == "week":
        usual = usual * np.where(index.day_of_week >= 5, 0.6, 1.0)
    return index, usual


def incident_days(counts: pd.Series) -> list[int]:
    """The days on which the live analysis raises an incident."""
    result = analyze(ReportData(counts=counts.to_frame("app"), bucket=BUCKET))
    return sorted(((result.incidents["onset"] - counts.index[0]) // pd.Timedelta("1D"))
                  .tolist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--shape", choices=["week", "none", "both"], default="both")
    args = parser.parse_args()
    shapes = ["week", "none"] if args.shape == "both" else [args.shape]
    day = np.arange(DAYS * PER_DAY) // PER_DAY
    time = np.arange(DAYS * PER_DAY) / PER_DAY
    rows = []
    for shape in shapes:
        index, usual = rates(shape)
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed + 4321)
            for first, last in SPANS:
                rate = np.where((day >= first) & (day <= last), usual / 3, usual)
                counts = pd.Series(rng.poisson(rate).astype(float), index=index)
                rows.append({"case": "temporary", "shape": shape,
                             "false": len(incident_days(counts)), "found": 0, "outages": 0})
            rate = np.where(time >= 17.25, usual / 3, usual)
            for d in LASTING_OUTAGES:
                rate = np.where((time >= d + 14 / 24) & (time < d + 15 / 24), 2.2 * rate,
                                rate)
            seen = incident_days(pd.Series(rng.poisson(rate).astype(float), index=index))
            rows.append({"case": "lasting", "shape": shape,
                         "false": sum(d not in LASTING_OUTAGES for d in seen),
                         "found": sum(d in seen for d in LASTING_OUTAGES),
                         "outages": len(LASTING_OUTAGES)})
    table = pd.DataFrame(rows).groupby(["case", "shape"]).sum()
    print(f"{args.seeds} seeds; temporary: {len(SPANS)} spans a seed, no outage")
    print(table.to_string())


if __name__ == "__main__":
    main()
