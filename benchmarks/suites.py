"""The simulated suites: generation with fixed seeds, loading through `spikes`' reader,
and each suite's ceiling (an ideal detector that finds exactly the outages with SNR >= 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from spikes.evaluation.evaluate import evaluate, product_weeks_from_span
from spikes.evaluation.simulate import simulate, write_simulation
from spikes.io.buckets import load_reports

CEILING_SNR = 3.0


@dataclass(frozen=True)
class Suite:
    """One simulated suite: a key, a name, what it tests and its `simulate` arguments."""

    key: str
    name: str
    description: str
    options: dict[str, Any] = field(default_factory=dict)


SUITES: list[Suite] = [
    Suite("A", "5min-mid", "5-minute buckets, mid volume (blips on, as simulate's default)",
          {"bucket": "5min", "volume": "mid", "seed": 101}),
    Suite("B", "1min-low", "1-minute buckets, low volume (under 1 report per bucket at night)",
          {"bucket": "1min", "volume": "low", "seed": 102}),
    Suite("C", "15min", "15-minute buckets (as Downdetector uses), mid volume",
          {"bucket": "15min", "volume": "mid", "seed": 103}),
    Suite("D", "distractors", "5-minute, mid: day-long 1.5x level shifts, one-bucket blips, "
          "2% missing rows", {"bucket": "5min", "volume": "mid", "level_shifts": True,
                              "blips": True, "missing_rate": 0.02, "seed": 104}),
    Suite("E", "mild", "5-minute, mid: mild outages only (2.5-4x)",
          {"bucket": "5min", "volume": "mid", "mild": True, "seed": 105}),
]


@dataclass(frozen=True)
class SuiteData:
    """A generated suite, loaded as `spikes` would load it.

    Attributes
    ----------
    suite : Suite
    counts : pd.DataFrame
        Wide counts (``ReportData.counts`` of :func:`spikes.io.buckets.load_reports`).
    bucket : pd.Timedelta
    labels, distractors : pd.DataFrame
        Ground truth of the simulation (labels with ``snr`` and ``ratio``).
    expected : pd.DataFrame
        True expected reports without outages (wide, for the diagnosis of misses).
    product_weeks : float
    products, days : int
    ceiling : dict
        Precision, recall, F1 of the ideal SNR >= 3 detector.
    """

    suite: Suite
    counts: pd.DataFrame
    bucket: pd.Timedelta
    labels: pd.DataFrame
    distractors: pd.DataFrame
    expected: pd.DataFrame
    product_weeks: float
    products: int
    days: int
    ceiling: dict[str, float]


def ceiling(labels: pd.DataFrame, product_weeks: float) -> dict[str, float]:
    """Figures of a detector that finds exactly the labels with SNR >= 3, on time.

    Parameters
    ----------
    labels : pd.DataFrame
        Labels with an ``snr`` column.
    product_weeks : float
        Product-weeks of the suite.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1``, ``n_labels``, ``n_detectable``.
    """
    ideal = labels.loc[labels["snr"] >= CEILING_SNR, ["product", "onset", "end"]]
    ev = evaluate(ideal, labels, product_weeks=product_weeks)
    return {"precision": ev.precision, "recall": ev.recall, "f1": ev.f1,
            "n_labels": len(labels), "n_detectable": len(ideal)}


def build(suite: Suite, products: int, days: int, workdir: Path) -> SuiteData:
    """Simulate a suite, write it as CSV and read it back with `spikes`' reader.

    Parameters
    ----------
    suite : Suite
    products, days : int
        Size of the suite.
    workdir : Path
        Folder for the CSV files (kept for inspection; git-ignored).

    Returns
    -------
    SuiteData
    """
    sim = simulate(products=products, days=days, **suite.options)
    workdir.mkdir(parents=True, exist_ok=True)
    reports = workdir / f"{suite.key}-{suite.name}-reports.csv"
    labels_path = workdir / f"{suite.key}-{suite.name}-labels.csv"
    write_simulation(sim, reports, labels_path)
    data = load_reports(reports, bucket=suite.options["bucket"])
    index = data.counts.index
    weeks = product_weeks_from_span(index[0], index[-1], data.counts.shape[1], data.bucket)
    return SuiteData(suite=suite, counts=data.counts, bucket=data.bucket, labels=sim.labels,
                     distractors=sim.distractors, expected=sim.expected,
                     product_weeks=weeks, products=products,
                     days=days, ceiling=ceiling(sim.labels, weeks))
