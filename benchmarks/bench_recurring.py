"""Times of day that recur (a daily peak, a weekly rush) and outages beside them, live and
with hindsight.

Run ``.venv/bin/python benchmarks/bench_recurring.py [--seeds 3] [--retrospective]``.

A product's usual traffic may hold a peak of a few buckets at the same time every day (a
daily job, a 15-minute morning rush) or a rush on one day of the week (an office
product's Monday morning, a game's Saturday evening); neither is an outage, and both are
masked as one at first. Here each seed draws Poisson counts of 5-minute buckets for 35
days from a Monday (a daily cycle of about 40 reports a bucket at 14:00) for these
products, each with the outages (days) it is scored on:

- ``daily15``: a 15-minute peak at 3x at 09:00 every day; no outage;
- ``daily15+out``: the same, and a 2-hour 3x outage on day 17 at 15:00;
- ``daily15+ontop``: the same, and a 1-hour 3x outage on top of the peak on day 12;
- ``monrush``: Mondays 08:00-11:00 at 2.5x; no outage;
- ``monrush+out``: the same, and a 2-hour 3x outage on Monday 21 at 14:00;
- ``repeat``: 1-hour outages at 13:00 on days 5, 10 and 20 at 3, 5 and 8x;
- ``plain``: outages on days 3, 9 and 25 (4x, 2.5x for 3 hours, 6x for 30 minutes);
- ``same3``: 1-hour 3x outages at 13:00 on three Saturdays of five (days 5, 12, 19);
- ``satrush``: Saturdays 19:00-23:00 at 3x; no outage;
- ``long3d``: a 3-day 3x outage from day 15 at 12:00;
- ``step+out``: reports triple for good on day 14; 2-hour 3x outages on days 6 and 20;
- ``latepeak``: the 09:00 peak from day 16 on, a 1-hour 3x outage on day 8 at 09:00;
- ``lowpeak``: the 09:00 peak at a tenth of the volume (about 6 reports a bucket).

An outage counts as found when an incident begins on its day; every incident on another
day is a false one. Printed: per product kind (summed over the seeds) and in total, the
outages found and missed and the false incidents.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.pipeline import analyze
from spikes.model import ReportData

DAYS = 35
BUCKET = pd.Timedelta("5min")


def products(seed: int) -> tuple[pd.DataFrame, dict[str, list[int]]]:
    """Counts of one seed's products (columns ``kind seed``) and their outages' days."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=DAYS * 288, freq=BUCKET, tz="UTC")
    clock = (index.hour + index.minute / 60).to_numpy()
    weekday = index.day_of_week.to_numpy()
    time = np.arange(len(index)) / 288  # days since the start
    usual = 40 * (0.3 + 0.7 * np.exp(-(((clock - 14) / 4) ** 2)))

    def outage(day: float, hour: float, hours: float, factor: float) -> np.ndarray:
        start = day + hour / 24
        return np.where((time >= start) & (time < start + hours / 24), factor, 1.0)

    peak = np.where((clock >= 9) & (clock < 9.25), 3.0, 1.0)
    monday = np.where((weekday == 0) & (clock >= 8) & (clock < 11), 2.5, 1.0)
    rates = {
        "daily15": (peak, []),
        "daily15+out": (peak * outage(17, 15, 2, 3.0), [17]),
        "daily15+ontop": (peak * outage(12, 9, 1, 3.0), [12]),
        "monrush": (monday, []),
        "monrush+out": (monday * outage(21, 14, 2, 3.0), [21]),
        "repeat": (outage(5, 13, 1, 3) * outage(10, 13, 1, 5) * outage(20, 13, 1, 8),
                   [5, 10, 20]),
        "plain": (outage(3, 10, 1, 4) * outage(9, 20, 3, 2.5) * outage(25, 2, 0.5, 6),
                  [3, 9, 25]),
        "same3": (outage(5, 13, 1, 3) * outage(12, 13, 1, 3) * outage(19, 13, 1, 3),
                  [5, 12, 19]),
        "satrush": (np.where((weekday == 5) & (clock >= 19) & (clock < 23), 3.0, 1.0), []),
        "long3d": (outage(15, 12, 72, 3.0), [15]),
        "step+out": (np.where(time >= 14, 1.5, 0.5) * outage(6, 16, 2, 3.0)
                     * outage(20, 10, 2, 3.0), [6, 20]),
        "latepeak": (np.where((time >= 16) & (clock >= 9) & (clock < 9.25), 3.0, 1.0)
                     * outage(8, 9, 1, 3.0), [8]),
        "lowpeak": (0.1 * peak, []),
    }
    counts = pd.DataFrame({f"{kind} {seed}": rng.poisson(usual * rate).astype(float)
                           for kind, (rate, _) in rates.items()}, index=index)
    return counts, {f"{kind} {seed}": days for kind, (_, days) in rates.items()}


def score(incidents: pd.DataFrame, start: pd.Timestamp, outages: dict[str, list[int]]
          ) -> pd.DataFrame:
    """Per product: outages found and missed, false incidents."""
    rows = []
    for product, days in outages.items():
        onsets = incidents.loc[incidents["product"] == product, "onset"]
        seen = ((onsets - start) // pd.Timedelta("1D")).tolist()
        found = sum(day in seen for day in days)
        rows.append({"kind": product.rsplit(" ", 1)[0], "found": found,
                     "missed": len(days) - found,
                     "false": sum(day not in days for day in seen)})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--retrospective", action="store_true",
                        help="detect with hindsight (mode = 'retrospective')")
    args = parser.parse_args()
    mode = "retrospective" if args.retrospective else "causal"
    tables = []
    for seed in range(args.seeds):
        counts, outages = products(700 + seed)
        result = analyze(ReportData(counts=counts, bucket=BUCKET), DetectionConfig(mode=mode))
        tables.append(score(result.incidents, counts.index[0], outages))
    table = pd.concat(tables).groupby("kind", sort=False).sum()
    print(f"mode = {mode}, {args.seeds} seeds")
    print(table.to_string())
    print("total", table.sum().to_dict())


if __name__ == "__main__":
    main()
