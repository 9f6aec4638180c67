"""Long histories: does a live run stay alert over half a year of a product that fails weekly?

Run ``.venv/bin/python benchmarks/bench_long_history.py [--write]`` (about 20 seconds).

The live thresholds are recalibrated every midnight on each product's own past
(:func:`spikes.detect.detectors.base.product_thresholds`), and the past holds the
product's real outages as well as its noise. The suites of ``run_benchmark.py`` are three
weeks long and the real series two to eight, too short to show what months of outages do
to the calibration. Here 10 products are simulated for 26 weeks (``spikes simulate``,
mid volume) with about one outage per product and week, at 5-minute and 1-hour buckets,
with the simulator's outages (2.5x-50x) and with mild ones only (2.5x-4x), and `spikes`
runs live with its defaults. The simulator's blips are off: it makes them one bucket
long, which at an hour is a one-hour 5x-20x rise, no blip. For each four-week stretch:
recall and false alarms per product-week of the incidents whose onset lies in it, and
the median and largest threshold of each detector at its end.

Rows "share only" repeat the run with ``OUTAGE_EXCURSIONS_PER_WEEK = 0``: the heavy-tail
fit censors a share of the excursions alone, as it did before that allowance existed
(the borrowing rule, which reads the same count, then differs slightly from that
version's). The outages of the history then pass for a heavy tail of the noise, and the
thresholds climb with the weeks.

Seeds: 7 (one outage a week, the data the allowance was chosen on) and 8 with two outages
a week (a check).
"""

from __future__ import annotations

import argparse
import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.causal import warmup_buckets
from spikes.detect.detectors import base
from spikes.detect.live_thresholds import threshold_paths
from spikes.detect.pipeline import find_incidents, for_bucket, score_reports
from spikes.evaluation.evaluate import evaluate
from spikes.evaluation.simulate import simulate
from spikes.model import ReportData

OUT = Path(__file__).with_name("LONG_HISTORY.md")
PRODUCTS = 10
WEEKS = 26
STRETCH_WEEKS = 4
BUCKETS = ("5min", "1h")
#: (name, seed, outages per product and week)
SEEDS = (("dev", 7, 1.0), ("check", 8, 2.0))


@contextlib.contextmanager
def outage_allowance(per_week: float) -> Iterator[None]:
    """Run with another ``OUTAGE_EXCURSIONS_PER_WEEK`` (restored afterwards)."""
    kept = base.OUTAGE_EXCURSIONS_PER_WEEK
    base.OUTAGE_EXCURSIONS_PER_WEEK = per_week
    try:
        yield
    finally:
        base.OUTAGE_EXCURSIONS_PER_WEEK = kept


def stretches(bucket: str, seed: int, rate: float, mild: bool) -> list[dict[str, object]]:
    """Figures of every four-week stretch of one simulated half year."""
    sim = simulate(products=PRODUCTS, days=7 * WEEKS, bucket=bucket, seed=seed,
                   volume="mid", outage_rate_per_week=rate, mild=mild, blips=False)
    counts = sim.counts()
    size = pd.Timedelta(bucket)
    config = for_bucket(DetectionConfig(), size)
    scored = score_reports(ReportData(counts=counts, bucket=size), config)
    incidents = find_incidents(scored, config)
    index = counts.index
    days = index.normalize()
    day_starts = np.flatnonzero(np.concatenate([[True], days[1:] != days[:-1]]))
    paths = {}
    for product in counts.columns:
        detectors = scored.detectors[str(product)]
        scores = {n: scored.scores[n][product].to_numpy(float) for n in detectors}
        paths[product] = threshold_paths(detectors, scores, config, size, day_starts,
                                         history_from=warmup_buckets(size))
    rows = []
    for first in range(0, WEEKS, STRETCH_WEEKS):
        start = index[0] + pd.Timedelta(weeks=first)
        stop = min(start + pd.Timedelta(weeks=STRETCH_WEEKS), index[-1] + size)
        labels = sim.labels[(sim.labels["onset"] >= start) & (sim.labels["onset"] < stop)]
        found = incidents[(incidents["onset"] >= start) & (incidents["onset"] < stop)]
        weeks = (stop - start) / pd.Timedelta(weeks=1)
        ev = evaluate(found[["product", "onset", "end", "alerted_at"]],
                      labels[["product", "onset", "end"]], product_weeks=PRODUCTS * weeks)
        last = int(index.searchsorted(stop)) - 1
        row: dict[str, object] = {"weeks": f"{first}-{first + round(weeks)}",
                                  "outages": len(labels), "recall": ev.recall,
                                  "false_alarms_per_pw": ev.false_alarms_per_product_week}
        for name in ("tail", "cusum"):
            at_end = [float(paths[p][name][last]) for p in counts.columns]
            row[f"{name}_median"] = float(np.median(at_end))
            row[f"{name}_max"] = float(np.max(at_end))
        rows.append(row)
    return rows


def run() -> pd.DataFrame:
    """Every setup, seed and censoring rule, a row per four-week stretch."""
    rows = []
    for rule, allowance in (("defaults", base.OUTAGE_EXCURSIONS_PER_WEEK), ("share only", 0.0)):
        with outage_allowance(allowance):
            for bucket in BUCKETS:
                for mild in (False, True):
                    for seed_name, seed, rate in SEEDS:
                        for row in stretches(bucket, seed, rate, mild):
                            rows.append({"rule": rule, "bucket": bucket,
                                         "outages_kind": "mild" if mild else "2.5x-50x",
                                         "seed": f"{seed_name} {seed} ({rate:g}/week)", **row})
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per setup: recall and false alarms of weeks 0-8 and of weeks 8-26, and the largest
    median threshold of each detector over the stretches."""
    keys = ["bucket", "outages_kind", "seed", "rule"]
    early = table["weeks"].str.split("-").str[0].astype(int) < 8
    out = []
    for key, group in table.groupby(keys, sort=False):
        first, later = group[early.loc[group.index]], group[~early.loc[group.index]]
        out.append({**dict(zip(keys, key, strict=True)),
                    "recall weeks 0-8": _weighted(first), "recall weeks 8-26": _weighted(later),
                    "false alarms / pw weeks 8-26": later["false_alarms_per_pw"].mean(),
                    "tail threshold, median at week 26": group["tail_median"].iloc[-1],
                    "cusum threshold, median at week 26": group["cusum_median"].iloc[-1]})
    return pd.DataFrame(out)


def _weighted(group: pd.DataFrame) -> float:
    found = (group["recall"] * group["outages"]).sum()
    return float(found / group["outages"].sum()) if group["outages"].sum() else float("nan")


def _markdown_table(frame: pd.DataFrame) -> list[str]:
    """A frame as a Markdown table (floats with 3 decimals)."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v)
                                       for v in row) + " |")
    return lines


def markdown(table: pd.DataFrame) -> str:
    """LONG_HISTORY.md: the module docstring, the summary and the stretches."""
    intro = (__doc__ or "").split("\n\n", 1)[1].strip()
    parts = ["# Long histories (live, 26 weeks)", "", intro, "", "## Summary", "",
             *_markdown_table(summary(table)), "", "## Four-week stretches", "",
             *_markdown_table(table), ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    """Command line: print the summary (and the stretches with ``--all``)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUT.name}")
    parser.add_argument("--all", action="store_true", help="print every stretch")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    table = run()
    print(summary(table).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.all:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.write:
        OUT.write_text(markdown(table))
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
