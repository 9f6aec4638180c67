"""The budget rule: does live `spikes` keep its false-alarm budget on normal traffic?

With ``DetectionConfig(false_alarms_per_week=b)``, the alerts that live `spikes` raises
outside the labelled windows of a data set, per product-week of time outside them, should
stay within ``2 b``. An alert lies inside a labelled window when its incident's onset or the
bucket that raised it (``alerted_at`` minus one bucket) falls in a window of its product:

- simulated suites: each outage's matching window of EVALUATION.md,
  ``[t0 - 10 min, max(t1, t0 + 30 min)]``; the distractors (blips, level shifts) are normal
  traffic, so alerts on them count;
- NAB realTweets: the NAB windows (floored to the 5-minute grid);
- Cloud Monitoring: the matching windows of the labelled rises and the ignored runs
  (labelled drops and blips), on every series, labelled or not.

The exposure is the product-weeks of buckets outside every window.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import cloud_bench
import nab_bench
import numpy as np
import pandas as pd
from peers import spikes_default

from spikes.config import DetectionConfig
from spikes.evaluation.evaluate import EARLY_ALLOWANCE, MIN_WINDOW, WEEK
from spikes.evaluation.nab import nab_windows

BUDGETS = (0.03, 0.1, 0.3)
"""The values of ``false_alarms_per_week`` checked."""
LIMIT_FACTOR = 2.0
"""Alerts outside labels may reach this many times the budget."""

Part = tuple[pd.DataFrame, pd.Timedelta]
"""A counts table (wide, one column per product) and its bucket."""


def matching_windows(labels: pd.DataFrame) -> pd.DataFrame:
    """The matching windows of labels (``product, onset, end``): ``product, start, end``."""
    onset = pd.DatetimeIndex(labels["onset"])
    end = np.maximum(pd.DatetimeIndex(labels["end"]), onset + MIN_WINDOW)
    return pd.DataFrame({"product": labels["product"].astype(str).to_numpy(),
                         "start": onset - EARLY_ALLOWANCE, "end": end})


def _inside(products: np.ndarray, times: pd.DatetimeIndex, windows: pd.DataFrame
            ) -> np.ndarray:
    hit = np.zeros(len(times), dtype=bool)
    for w in windows.itertuples(index=False):
        hit |= (products == w.product) & (times >= w.start) & (times <= w.end)
    return hit


def outside_alerts(incidents: pd.DataFrame, windows: pd.DataFrame, bucket: pd.Timedelta
                   ) -> int:
    """How many incidents lie outside every window of their product.

    Parameters
    ----------
    incidents : pd.DataFrame
        ``product, onset, alerted_at`` (``alerted_at`` NaT: the onset bucket raised it).
    windows : pd.DataFrame
        ``product, start, end`` (both ends included).
    bucket : pd.Timedelta
        Bucket size of the incidents' data.

    Returns
    -------
    int
    """
    if incidents.empty:
        return 0
    products = incidents["product"].astype(str).to_numpy()
    onset = pd.DatetimeIndex(incidents["onset"])
    raised = pd.DatetimeIndex(incidents["alerted_at"].fillna(incidents["onset"] + bucket)
                              - bucket)
    inside = _inside(products, onset, windows) | _inside(products, raised, windows)
    return int((~inside).sum())


def exposure_weeks(counts: pd.DataFrame, bucket: pd.Timedelta, windows: pd.DataFrame
                   ) -> float:
    """Product-weeks of the buckets of ``counts`` outside every window of their product."""
    index = counts.index
    outside = 0
    for product in counts.columns:
        own = windows[windows["product"] == str(product)]
        covered = _inside(np.full(len(index), str(product)), index, own)
        outside += int((~covered).sum())
    return outside * bucket / WEEK


def rows(name: str, parts: Iterable[Part], windows: pd.DataFrame,
         budgets: Iterable[float] = BUDGETS) -> list[dict[str, Any]]:
    """The budget rule on one data set: one row per budget.

    Parameters
    ----------
    name : str
        The data set's name in the table.
    parts : iterable of (counts, bucket)
        The data set (several parts when its files have their own grids).
    windows : pd.DataFrame
        ``product, start, end`` of the labelled windows.
    budgets : iterable of float
        Values of ``false_alarms_per_week``.

    Returns
    -------
    list of dict
        ``dataset, b, alerts, product_weeks`` (outside the windows),
        ``per_product_week``, ``limit`` (``2 b``) and ``holds``.
    """
    parts = list(parts)
    weeks = sum(exposure_weeks(counts, bucket, windows) for counts, bucket in parts)
    out = []
    for b in budgets:
        config = DetectionConfig(false_alarms_per_week=b)
        alerts = sum(outside_alerts(spikes_default.detect(counts, bucket, config=config),
                                    windows, bucket) for counts, bucket in parts)
        rate = alerts / weeks if weeks else float("nan")
        out.append({"dataset": name, "b": b, "alerts": alerts, "product_weeks": weeks,
                    "per_product_week": rate, "limit": LIMIT_FACTOR * b,
                    "holds": bool(rate <= LIMIT_FACTOR * b)})
    return out


def nab_rows(budgets: Iterable[float] = BUDGETS) -> list[dict[str, Any]]:
    """The budget rule on the NAB realTweets files (empty when NAB is absent)."""
    files = nab_bench.load()
    if files is None:
        return []
    path = nab_bench.NAB_DIR / "labels" / "combined_windows.json"
    windows = pd.DataFrame(
        [(stem, start.floor(nab_bench.BUCKET), end.floor(nab_bench.BUCKET))
         for stem, wins in nab_windows(path).items() if stem in files
         for start, end in wins], columns=["product", "start", "end"])
    return rows("NAB realTweets", ((c, nab_bench.BUCKET) for _, c in files.values()),
                windows, budgets)


def cloud_rows(budgets: Iterable[float] = BUDGETS) -> list[dict[str, Any]]:
    """The budget rule on every Cloud Monitoring series (empty when the data are absent)."""
    loaded = cloud_bench.read_all()
    if loaded is None:
        return []
    data = cloud_bench.prepare(loaded)
    windows = pd.concat([matching_windows(data.labels),
                         data.ignored[["product", "start", "end"]]], ignore_index=True)
    return rows("Cloud Monitoring (all series)",
                ((data.counts[s], data.series[s].bucket) for s in data.series), windows,
                budgets)
