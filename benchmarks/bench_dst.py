"""False alarms around daylight-saving changes: products whose users live on local time.

Run ``.venv/bin/python benchmarks/bench_dst.py [--seeds 3] [--timezone] [--retrospective]``.

Report data arrive in UTC; a product's users keep the clock of their zone, so its daily
cycle moves by an hour in UTC twice a year. The live baseline pools the same UTC time of
day on the days before (``utc_offset`` moves its days' start, not the hours it pools), so
for about a week after each change the hours around a steep ramp (an office product's
morning, from 2 to 60 reports a bucket within three hours) stand an hour off their pool.

Here each seed draws Poisson counts of 5-minute buckets from 2 March to 12 April 2026 for
four products without any outage: an office product (working hours, quiet weekends) and a
consumer product (a smooth evening peak), each on Europe/Berlin and on America/New_York
time (summer time from 29 March and 8 March). `spikes` runs live with its defaults; every
incident is a false alarm. Figures per product kind and zone: incidents in the week after
its change (from the change's local Sunday), incidents on other days after the warm-up,
and on the first day (the cold start, no history yet). With ``--timezone`` each product
has its zone as its ``timezone`` setting (``[products."NAME"]``): its days begin at the
zone's standard-time midnight and its pools are moved with the clock; with
``--retrospective`` the run has hindsight (``mode = "retrospective"``).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.pipeline import analyze
from spikes.model import ReportData

ZONES = {"Europe/Berlin": "2026-03-29", "America/New_York": "2026-03-08"}
START, END = "2026-03-02", "2026-04-12 23:55"


def counts(seed: int) -> pd.DataFrame:
    """Counts of the four products of one seed (columns ``kind zone seed``)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(START, END, freq="5min", tz="UTC")
    columns = {}
    for zone in ZONES:
        local = index.tz_convert(zone)
        hours = (local.hour + local.minute / 60).to_numpy()
        weekend = local.day_of_week.to_numpy() >= 5
        office = 2 + 60 * np.clip((hours - 6) / 3, 0, 1) * np.clip((19 - hours) / 3, 0, 1)
        consumer = 30 * (0.2 + 0.8 * np.exp(-(((hours - 20) / 3) ** 2)))
        columns[f"office|{zone}|{seed}"] = rng.poisson(office * np.where(weekend, 0.3, 1.0))
        columns[f"consumer|{zone}|{seed}"] = rng.poisson(consumer)
    return pd.DataFrame(columns, index=index).astype(float)


def run(seeds: int, timezone: bool = False, mode: str = "causal") -> pd.DataFrame:
    """Incidents per product kind and zone, summed over `seeds` seeds; with `timezone`,
    each product's zone set as its ``timezone``; `mode` as the setting."""
    frame = pd.concat([counts(seed) for seed in range(seeds)], axis=1)
    overrides = ({name: {"timezone": name.split("|")[1]} for name in frame.columns}
                 if timezone else {})
    incidents = analyze(ReportData(counts=frame, bucket=pd.Timedelta("5min")),
                        DetectionConfig(mode=mode, overrides=overrides)).incidents
    rows = []
    for kind in ("office", "consumer"):
        for zone, change in ZONES.items():
            mine = incidents[incidents["product"].str.startswith(f"{kind}|{zone}|")]
            onset = pd.DatetimeIndex(mine["onset"])
            week = (onset >= pd.Timestamp(change, tz=zone)) & (
                onset < pd.Timestamp(change, tz=zone) + pd.Timedelta(days=7))
            first = onset < pd.Timestamp(START, tz="UTC") + pd.Timedelta(days=1)
            rows.append({"kind": kind, "zone": zone, "products": seeds,
                         "week after the change": int(week.sum()),
                         "other days": int((~week & ~first).sum()),
                         "first day": int(first.sum())})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    """Command line: print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="products of each kind and zone")
    parser.add_argument("--timezone", action="store_true",
                        help="set each product's zone as its timezone setting")
    parser.add_argument("--retrospective", action="store_true",
                        help="detect with hindsight (mode = 'retrospective')")
    args = parser.parse_args(argv)
    mode = "retrospective" if args.retrospective else "causal"
    print(run(args.seeds, args.timezone, mode).to_string(index=False))


if __name__ == "__main__":
    main()
