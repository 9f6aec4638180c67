"""Downdetector-style rule: reports above k x the usual volume for that time of day.

Downdetector's methodology page says an incident is shown "when the number of problem
reports is significantly higher than the typical volume for that time of day", the typical
volume being an average over the same time of day of past months. It publishes no factor.
This peer uses the plainest reading of it:

- usual volume = median of the same time-of-day bucket over the previous ``days`` days
  (7 by default; the median rather than the mean, so that a past outage does not inflate
  it; needs at least one earlier day, so the first day is never flagged);
- a bucket is flagged when ``reports > k x usual`` and ``reports >= min_count``;
- consecutive flagged buckets form one incident (onset = first flagged bucket).

Defaults ``k = 3`` ("significantly higher": three times the usual volume, the factor most
often quoted for such rules) and ``min_count = 5`` reports per bucket (the same floor as
`spikes`' ``min_excess_reports``). Neither is published by Downdetector.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from peers.common import flags_to_incidents

NAME = "downdetector"
LABEL = "Downdetector-style k x median"
DEFAULTS: dict[str, Any] = {"k": 3.0, "min_count": 5.0, "days": 7}
GRID: dict[str, list[Any]] = {"k": [1.5, 2.0, 3.0, 5.0, 8.0],
                              "min_count": [1.0, 3.0, 5.0, 10.0, 20.0], "days": [7]}
QUICK_GRID: dict[str, list[Any]] = {"k": [2.0, 3.0, 5.0], "min_count": [3.0, 10.0], "days": [7]}


def usual_volume(counts: pd.DataFrame, bucket: pd.Timedelta, days: int) -> np.ndarray:
    """Median of the same time-of-day bucket over the previous ``days`` days.

    Parameters
    ----------
    counts : pd.DataFrame
        Wide counts on a regular grid (NaN = missing).
    bucket : pd.Timedelta
        Bucket size (must divide one day).
    days : int
        Days of history.

    Returns
    -------
    np.ndarray
        Same shape as ``counts``; NaN where no earlier day has data.
    """
    values = counts.to_numpy(dtype=float)
    per_day = int(pd.Timedelta(days=1) / bucket)
    history = np.full((days, *values.shape), np.nan)
    for d in range(1, days + 1):
        lag = d * per_day
        if lag < len(values):
            history[d - 1, lag:] = values[:-lag]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(history, axis=0)


def flag(counts: pd.DataFrame, usual: np.ndarray, k: float, min_count: float) -> pd.DataFrame:
    """Flag buckets above ``k`` x the usual volume and at least ``min_count`` reports."""
    values = counts.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        hit = (values > k * usual) & (values >= min_count)
    return pd.DataFrame(hit & ~np.isnan(usual), index=counts.index, columns=counts.columns)


def detect(counts: pd.DataFrame, bucket: pd.Timedelta, *, k: float = 3.0,
           min_count: float = 5.0, days: int = 7) -> pd.DataFrame:
    """Detect incidents with the k x median rule.

    Parameters
    ----------
    counts : pd.DataFrame
        Wide counts per bucket and product.
    bucket : pd.Timedelta
        Bucket size.
    k, min_count, days
        See the module docstring.

    Returns
    -------
    pd.DataFrame
        ``product, onset, end``.
    """
    return flags_to_incidents(flag(counts, usual_volume(counts, bucket, days), k, min_count))


def detect_grid(counts: pd.DataFrame, bucket: pd.Timedelta,
                settings: list[dict[str, Any]]) -> list[pd.DataFrame]:
    """Run several settings, computing each history median once."""
    usual = {d: usual_volume(counts, bucket, d) for d in {s["days"] for s in settings}}
    return [flags_to_incidents(flag(counts, usual[s["days"]], s["k"], s["min_count"]))
            for s in settings]
