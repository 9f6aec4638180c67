"""The simulated suites: generation with fixed seeds, loading through `spikes`' reader,
and each suite's ceilings: an ideal detector that finds exactly the outages with SNR >= 3,
and a blip-aware one that also sets aside the one-bucket outages of a suite that simulates
one-bucket blips (``BLIP_CEILING.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spikes.evaluation.evaluate import evaluate, product_weeks_from_span
from spikes.evaluation.simulate import Outage, outage_profile, simulate, write_simulation
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
    excess : pd.DataFrame
        True expected extra reports due to the outages (wide, like ``expected``).
    product_weeks : float
    products, days : int
    ceiling : dict
        Precision, recall, F1 of the ideal SNR >= 3 detector, and the blip-aware
        ceiling's (:func:`blip_aware_ceiling`, keys ``blip_aware_*``).
    """

    suite: Suite
    counts: pd.DataFrame
    bucket: pd.Timedelta
    labels: pd.DataFrame
    distractors: pd.DataFrame
    expected: pd.DataFrame
    excess: pd.DataFrame
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


def closing_excess(bucket: pd.Timedelta) -> float:
    """The excess (x baseline) at which the simulator closes an outage's decay.

    :func:`~spikes.evaluation.simulate.outage_profile` ends every decay at one level, just
    above the label's end level (``END_LEVEL``): 0.55, a bucket at 1.55x the normal rate.
    Read off the simulator's own profile of the shortest sharp outage (its peak bucket,
    then that closing bucket), so that it follows the simulator.

    Parameters
    ----------
    bucket : pd.Timedelta
        Bucket size.

    Returns
    -------
    float
    """
    shortest = Outage(product="x", onset=pd.Timestamp(0, tz="UTC"), ratio=10.0,
                      duration=bucket)
    return float(outage_profile(shortest, bucket)[1])


def one_bucket_outages(labels: pd.DataFrame, expected: pd.DataFrame,
                       excess: pd.DataFrame) -> pd.Series:
    """Which outages stand out in one bucket only: a peak, then only the closing bucket.

    From the simulation's ground truth: an outage is one-bucket when, of the buckets of
    its label (``onset..end``), all but its peak have a true expected rate (``expected +
    excess``) of at most the closing level (:func:`closing_excess`, 1.55x): its peak is
    followed by nothing but the bucket that closes its decay (a recovery surge or a
    ramp's second bucket above that level makes it a longer outage).

    Parameters
    ----------
    labels : pd.DataFrame
        The simulation's labels (``product``, ``onset``, ``end``).
    expected, excess : pd.DataFrame
        The simulation's true expected reports without outages and its outages' expected
        extra reports (``Simulation.expected``, ``Simulation.excess``).

    Returns
    -------
    pd.Series
        Boolean, aligned with `labels`.
    """
    level = closing_excess(pd.Timedelta(pd.DatetimeIndex(expected.index).freq)) * (1 + 1e-9)
    out = [bool(np.sort(ratio)[:-1].max(initial=0.0) <= level)
           for ratio in label_excess(labels, expected, excess)]
    return pd.Series(out, index=labels.index, dtype=bool)


def label_excess(labels: pd.DataFrame, expected: pd.DataFrame,
                 excess: pd.DataFrame) -> list[np.ndarray]:
    """Each label's true excess over the normal rate, bucket by bucket (onset to end).

    Parameters
    ----------
    labels : pd.DataFrame
        The simulation's labels (``product``, ``onset``, ``end``).
    expected, excess : pd.DataFrame
        The simulation's true expected reports without outages and its outages' expected
        extra reports (``Simulation.expected``, ``Simulation.excess``).

    Returns
    -------
    list of np.ndarray
        ``excess / expected`` per bucket of each label (0 where nothing is expected), in
        the order of `labels`.
    """
    index = pd.DatetimeIndex(expected.index)
    out = []
    for label in labels.itertuples(index=False):
        span = slice(index.get_loc(label.onset), index.get_loc(label.end) + 1)
        base = expected[label.product].to_numpy(float)[span]
        extra = excess[label.product].to_numpy(float)[span]
        out.append(np.divide(extra, base, out=np.zeros_like(extra), where=base > 0))
    return out


def blip_aware_ceiling(labels: pd.DataFrame, one_bucket: pd.Series, n_blips: int,
                       product_weeks: float) -> dict[str, float]:
    """Figures of a detector that finds the SNR >= 3 outages but, where the suite
    simulates one-bucket blips, not its one-bucket outages.

    A blip is always one bucket (5x-20x), whatever the bucket size; a one-bucket outage
    differs from it only by its closing bucket at 1.55x, weak evidence, so a detector
    that raises no blip is not expected to raise such an outage either (it may, when the
    closing bucket happens to run high: a reference, not a strict bound). Without blips
    they stay in.

    Parameters
    ----------
    labels : pd.DataFrame
        Labels with an ``snr`` column.
    one_bucket : pd.Series
        :func:`one_bucket_outages` of `labels`.
    n_blips : int
        One-bucket blips the suite simulates.
    product_weeks : float
        Product-weeks of the suite.

    Returns
    -------
    dict
        ``blip_aware_precision``, ``blip_aware_recall``, ``blip_aware_f1``,
        ``n_one_bucket`` (one-bucket outages, any SNR), ``n_blips``.
    """
    keep = labels["snr"] >= CEILING_SNR
    if n_blips > 0:
        keep &= ~one_bucket
    ev = evaluate(labels.loc[keep, ["product", "onset", "end"]], labels,
                  product_weeks=product_weeks)
    return {"blip_aware_precision": ev.precision, "blip_aware_recall": ev.recall,
            "blip_aware_f1": ev.f1, "n_one_bucket": int(one_bucket.sum()),
            "n_blips": int(n_blips)}


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
    one_bucket = one_bucket_outages(sim.labels, sim.expected, sim.excess)
    n_blips = int((sim.distractors["kind"] == "blip").sum())
    return SuiteData(suite=suite, counts=data.counts, bucket=data.bucket, labels=sim.labels,
                     distractors=sim.distractors, expected=sim.expected, excess=sim.excess,
                     product_weeks=weeks, products=products, days=days,
                     ceiling={**ceiling(sim.labels, weeks),
                              **blip_aware_ceiling(sim.labels, one_bucket, n_blips, weeks)})
