"""Days in the users' local time: what ``utc_offset`` does, where it helps and where not.

Run ``.venv/bin/python benchmarks/bench_local_days.py [--write]`` (about 20 seconds).

The baseline pools weekdays and weekends apart, and by default its days are UTC days.
A product whose users live far from UTC changes its weekly level at their midnight: a
workday product of Japan leaves its weekend on Sunday at 15:00 UTC. With UTC days, its
baseline keeps the weekend's level for nine more hours (false alarms every Monday
morning in Tokyo) and the weekday's level nine hours into its Saturday (outages missed).
``utc_offset`` (per product, in ``[products."NAME"]``) moves the product's days to its
local midnight. It is a setting, not a default: the offset is the operator's knowledge
of the audience (a live run cannot infer it from the future, and the weekly step is
measured only after weeks of data). With two weeks of data, ``spikes analyze`` names the
products whose week clearly follows another time zone, with the offset
(:func:`spikes.detect.days.weekly_offsets`: a look at the whole series, a suggestion).

Each data set runs twice with the defaults, once with UTC days and once with each
product's ``utc_offset`` set to its users' offset (what an operator would configure):

* ``local week`` (``sim_local_week.py``, written for this benchmark): each product's
  users live at one offset (-8h to +9h), its daily cycle and its week (weekends at
  0.4x-1.3x) run on their time; 20 products x 28 days at 10-minute, 30-minute and
  5-minute buckets, seeds 1 and 2;
* the suites A-E of ``run_benchmark.py`` (development seeds), each product's offset that
  of its home region. Their audiences mix regions (a product's users are mostly, not
  all, in its home region) and their weekends are milder (0.6x-1.25x), so the weekly
  step is blurred; their data start at UTC midnight, so a local day grid makes the
  first day partial (the warm-up day is shorter and the next day's earliest hours have
  no history of their own).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.days import weekly_offsets
from spikes.detect.pipeline import analyze
from spikes.evaluation.simulate import _product_names
from spikes.evaluation.simulate import audience as simulated_audience
from spikes.model import ReportData

sys.path.insert(0, str(Path(__file__).parent))
import scoring  # noqa: E402
import sim_local_week  # noqa: E402
import suites  # noqa: E402

OUT = Path(__file__).with_name("LOCAL_DAYS.md")
SUITE_DIR = Path(__file__).with_name("out") / "suites-local-days"


def _offset(hours: float) -> str:
    return f"{hours:+g}h"


def _figures(counts: pd.DataFrame, labels: pd.DataFrame, bucket: pd.Timedelta,
             config: DetectionConfig) -> dict[str, float]:
    weeks = counts.shape[1] * (counts.index[-1] - counts.index[0] + bucket) / pd.Timedelta("7D")
    incidents = analyze(ReportData(counts=counts, bucket=bucket), config).incidents
    figures, _ = scoring.score(incidents, labels[["product", "onset", "end"]], weeks,
                               bucket, 0.0)
    return figures


def _rows(name: str, counts: pd.DataFrame, labels: pd.DataFrame, bucket: pd.Timedelta,
          offsets: pd.Series) -> list[dict[str, object]]:
    local = DetectionConfig(overrides={p: {"utc_offset": _offset(h)}
                                       for p, h in offsets.items()})
    out = []
    for days, config in (("UTC", DetectionConfig()), ("local (utc_offset)", local)):
        f = _figures(counts, labels, bucket, config)
        out.append({"data set": name, "days": days, "outages": len(labels),
                    "found": f["tp"], "false alarms": f["fp"],
                    "F1": f["f1"], "precision": f["precision"], "recall": f["recall"],
                    "false alarms / pw": f["false_alarms_per_product_week"],
                    "alert delay median (buckets)": f["alert_delay_median_buckets"],
                    "alert delay p90 (buckets)": f["alert_delay_p90_buckets"]})
    return out


def run() -> pd.DataFrame:
    """Both day grids on every data set."""
    rows = []
    for bucket in ("10min", "30min", "5min"):
        for seed in (1, 2):
            counts, labels, offsets = sim_local_week.generate(bucket=bucket, seed=seed)
            rows += _rows(f"local week {bucket}, seed {seed}", counts, labels,
                          pd.Timedelta(bucket), offsets)
    for suite in suites.SUITES:
        data = suites.build(suite, 30, 21, SUITE_DIR)
        names = _product_names(30)
        audience = simulated_audience.random_audience(
            names, rng=np.random.default_rng(suite.options["seed"]))
        regions = np.array(list(simulated_audience.REGIONS.values()))
        home = regions[audience.regions.to_numpy().argmax(axis=1)]
        rows += _rows(f"suite {suite.key} {suite.name} (dev seed)", data.counts, data.labels,
                      data.bucket, pd.Series(home, index=names))
    return pd.DataFrame(rows)


def offset_accuracy() -> pd.DataFrame:
    """How often :func:`spikes.detect.days.weekly_offsets` names a product's time zone
    (its week clear) and how often within an hour of the truth: the local-week simulator
    at seeds 0-7 (20 products at 3 bucket sizes, series of 14 and of 28 days) and the
    suites A-E (development and check seeds, against each product's home region)."""
    rows = []
    for days in (14, 28):
        fits = []
        for bucket in ("10min", "30min", "5min"):
            for seed in range(8):
                counts, _, offsets = sim_local_week.generate(days=days, bucket=bucket,
                                                             seed=seed)
                fit = weekly_offsets(counts, pd.Timedelta(bucket))
                fits.append(fit.assign(truth=fit["product"].map(offsets).to_numpy()))
        rows.append(_accuracy(f"local week, {days} days (seeds 0-7)", pd.concat(fits)))
    fits = []
    for suite in suites.SUITES:
        for shift in (0, 100):
            other = dataclasses.replace(suite, options={**suite.options,
                                                        "seed": suite.options["seed"] + shift})
            data = suites.build(other, 30, 21, SUITE_DIR)
            names = _product_names(30)
            audience = simulated_audience.random_audience(
                names, rng=np.random.default_rng(other.options["seed"]))
            regions = np.array(list(simulated_audience.REGIONS.values()))
            home = pd.Series(regions[audience.regions.to_numpy().argmax(axis=1)], index=names)
            fit = weekly_offsets(data.counts, data.bucket)
            fits.append(fit.assign(truth=fit["product"].map(home).to_numpy()))
    rows.append(_accuracy("suites A-E, 21 days (dev and check seeds; home region)",
                          pd.concat(fits)))
    return pd.DataFrame(rows)


def _accuracy(name: str, fits: pd.DataFrame) -> dict[str, object]:
    named = fits[fits["clear"]]
    near = (named["utc_offset"] - named["truth"]).abs() <= 1
    return {"data": name, "products": len(fits), "named (week clear)": len(named),
            "within an hour": int(near.sum()), "wrong": int((~near).sum()),
            "share within an hour": float(near.mean()) if len(named) else float("nan")}


def markdown(table: pd.DataFrame) -> str:
    """LOCAL_DAYS.md: the module's description and the table."""
    text = (__doc__ or "").split("\n\n", 1)[1].strip()
    shown = table.copy()
    for column in ("F1", "precision", "recall", "false alarms / pw"):
        shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    for column in ("alert delay median (buckets)", "alert delay p90 (buckets)"):
        shown[column] = shown[column].map(lambda v: f"{v:.1f}")
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "---|" * len(shown.columns)
    lines = ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.to_numpy()]
    family = np.where(table["data set"].str.startswith("local week"), "local week",
                      "suites A-E")
    totals = table.groupby([family, table["days"]])[["found", "false alarms"]].sum()
    summary = ["In all (outages found, false alarms):", ""]
    for (name, days), row in totals.iterrows():
        summary.append(f"- {name}, {days} days: {row['found']} found, "
                       f"{row['false alarms']} false alarms")
    return ("# Days in the users' local time (`utc_offset`)\n\n" + text + "\n\n"
            + "\n".join(summary) + "\n\n" + "\n".join([header, rule, *lines]) + "\n")


def accuracy_markdown(accuracy: pd.DataFrame) -> str:
    """The section of LOCAL_DAYS.md on the suggested offsets."""
    shown = accuracy.copy()
    shown["share within an hour"] = shown["share within an hour"].map(lambda v: f"{v:.3f}")
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "---|" * len(shown.columns)
    lines = ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.to_numpy()]
    return ("\n## The offset `spikes analyze` suggests\n\n"
            + (offset_accuracy.__doc__ or "").split("\n\n")[0].replace("\n    ", " ")
            + "\n\n" + "\n".join([header, rule, *lines]) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Run, print the table and optionally write LOCAL_DAYS.md."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUT.name}")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    table = run()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    accuracy = offset_accuracy()
    print(accuracy.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"{time.perf_counter() - started:.0f} s")
    if args.write:
        OUT.write_text(markdown(table) + accuracy_markdown(accuracy))


if __name__ == "__main__":
    main()
