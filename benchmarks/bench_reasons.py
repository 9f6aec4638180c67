"""Cost of the reasons in words (``why``) on many incidents.

Run ``.venv/bin/python benchmarks/bench_reasons.py``: simulates the data of
``bench_speed.py`` part (a) in memory (1,000 products x 28 days of 5-minute long counts,
seed 7), scores it once, builds the incidents, then times

- ``add_reasons``: the product's own part of every incident (done in the workers), and
- ``annotate_incidents``: the event part (and ``known_event`` with a calendar of one
  window per product), done in the driver;
- the breakdown part on a synthetic breakdown of 5 regions x 5 categories per bucket
  around every incident (the long counts of part (a) have none).

Each is timed as the best of 3 runs and printed in seconds.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.annotate import annotate_incidents
from spikes.detect.events import summarize_events
from spikes.detect.known_events import Calendar
from spikes.detect.pipeline import (
    _incident_records,
    incident_table,
    incidents_with_events,
    score_reports,
)
from spikes.detect.reasons import add_reasons
from spikes.evaluation.simulate import simulate
from spikes.model import ReportData

MANY = {"products": 1000, "days": 28, "bucket": "5min", "seed": 7, "volume": "mid"}


def best(function, repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = function()
        times.append(time.perf_counter() - start)
    return min(times), out


def synthetic_breakdown(incidents: pd.DataFrame, bucket: pd.Timedelta) -> pd.DataFrame:
    """Reports by bucket, region and category (5 x 5, Poisson(2) each) over every
    incident and the 6 hours before it."""
    rng = np.random.default_rng(1)
    regions = ["US-East", "US-West", "Europe", "Asia", "Oceania"]
    categories = ["Login", "App", "Website", "Connection", "Other"]
    cells = pd.MultiIndex.from_product([regions, categories]).to_frame(index=False,
                                                                       name=["region",
                                                                             "category"])
    parts = []
    for row in incidents.itertuples(index=False):
        stamps = pd.date_range(row.onset - pd.Timedelta(hours=6), row.end, freq=bucket)
        parts.append(pd.DataFrame({"timestamp": np.repeat(stamps, len(cells)),
                                   "product": row.product,
                                   "region": np.tile(cells["region"], len(stamps)),
                                   "category": np.tile(cells["category"], len(stamps))}))
    frame = pd.concat(parts, ignore_index=True)
    frame["reports"] = rng.poisson(2.0, len(frame)).astype(float)
    return frame.sort_values(["timestamp", "product"], kind="stable", ignore_index=True)


def main() -> None:
    sim = simulate(**MANY)
    bucket = pd.Timedelta(MANY["bucket"])
    counts = sim.reports.pivot_table(index="timestamp", columns="product", values="reports",
                                     aggfunc="sum", observed=True)
    grid = pd.date_range(counts.index.min(), counts.index.max(), freq=bucket, tz="UTC")
    counts = counts.reindex(grid).astype(float)
    counts.columns = counts.columns.astype(str)
    data = ReportData(counts=counts, bucket=bucket)
    config = DetectionConfig()
    scored = score_reports(data, config)
    table = incident_table(_incident_records(scored, config, data.products, False))
    print(f"{len(table):,} incidents of {len(data.products):,} products")
    t_own, with_own = best(lambda: add_reasons(table, data, scored.baseline))
    print(f"add_reasons (own part):            {t_own:.3f} s")
    incidents = incidents_with_events([with_own], config)
    events = summarize_events(incidents, span=len(grid) * bucket, products=counts.shape[1],
                              window=config.event_window)
    t_event, _ = best(lambda: annotate_incidents(incidents, events))
    print(f"annotate_incidents (event part):   {t_event:.3f} s")
    calendar = Calendar.from_records(
        (p, grid[0] + pd.Timedelta(days=3), grid[0] + pd.Timedelta(days=3, hours=4),
         "maintenance") for p in data.products)
    t_cal, _ = best(lambda: annotate_incidents(incidents, events, calendar=calendar))
    print(f"  with a calendar of {len(calendar):,} windows:  {t_cal:.3f} s")
    breakdown = synthetic_breakdown(incidents, bucket)
    t_break, _ = best(lambda: annotate_incidents(incidents, events, breakdown=breakdown,
                                                 bucket=bucket))
    print(f"  with a breakdown of {len(breakdown):,} rows:  {t_break:.3f} s")


if __name__ == "__main__":
    main()
