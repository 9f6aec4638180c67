"""Seasonal-hybrid ESD, in the spirit of Twitter's AnomalyDetection (``AnomalyDetectionTs``).

As in Twitter's R package with ``longterm=TRUE``, ``direction="pos"``:

- the series is cut into pieces of ``piece_days`` days (2 weeks, its
  ``piecewise_median_period_weeks = 2``); a last piece shorter than that is replaced by
  the last ``piece_days`` days of the data (overlapping the previous piece);
- each piece is decomposed: the package runs ``stl(s.window="periodic")``, whose seasonal
  part is the cycle-subseries average of the detrended series; here the trend is a
  centred rolling median over one period and the seasonal part the per-phase median of
  the detrended series (the "STL-like, with median" variant); the residual is
  ``x - seasonal - median(x)``;
- generalized ESD on the residual with median and MAD in place of mean and standard
  deviation (the "hybrid" part): up to ``max_anoms x n`` points are removed one by one,
  the most positive first, with Rosner's critical values at level ``alpha`` (one-sided);
  the anomalies are the first ``r`` removed, ``r`` the largest step whose statistic
  exceeds its critical value; the test stops early if the MAD becomes 0, as the package
  stops on a constant series;
- consecutive anomalous buckets form one incident.

The period is one day of buckets (the package derives 1440 from any minute-level data,
which is right only for 1-minute buckets). Missing buckets are left out of the test.
Defaults ``max_anoms = 0.02`` (the value used in Twitter's announcement; the package
default is 0.10) and ``alpha = 0.05`` (the package default).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from peers.common import concat_incidents, runs

NAME = "shesd"
LABEL = "Seasonal-hybrid ESD (Twitter)"
DEFAULTS: dict[str, Any] = {"max_anoms": 0.02, "alpha": 0.05, "piece_days": 14}
GRID: dict[str, list[Any]] = {"max_anoms": [0.005, 0.01, 0.02, 0.05],
                              "alpha": [0.001, 0.01, 0.05], "piece_days": [14]}
QUICK_GRID: dict[str, list[Any]] = {"max_anoms": [0.01, 0.02], "alpha": [0.001, 0.05],
                                    "piece_days": [14]}


def pieces(n: int, size: int) -> list[slice]:
    """Row ranges of the pieces: full pieces, and the last ``size`` rows for a short tail."""
    if n <= size:
        return [slice(0, n)]
    out = [slice(i, i + size) for i in range(0, n - size + 1, size)]
    if out[-1].stop < n:
        out.append(slice(n - size, n))
    return out


def residual(values: np.ndarray, phase: np.ndarray, period: int) -> np.ndarray:
    """``x - seasonal - median(x)`` with a median-based seasonal part (NaN kept)."""
    series = pd.Series(values)
    trend = series.rolling(period, center=True, min_periods=max(1, period // 2)).median()
    detrended = (series - trend).to_numpy()
    seasonal = pd.Series(detrended).groupby(phase).median()
    seasonal = seasonal - seasonal.median()
    season = seasonal.reindex(phase).to_numpy(dtype=float)
    return values - np.nan_to_num(season) - np.nanmedian(values)


def esd_statistics(data: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Hybrid ESD test statistics of up to ``k`` removals (positive direction).

    Returns
    -------
    statistics : np.ndarray
        ``R_i = (x - median) / MAD`` of the point removed at step ``i`` (fewer than ``k``
        values when the MAD reaches 0).
    removed : np.ndarray of int
        Positions (in ``data``) removed, in order.
    """
    work = np.asarray(data, dtype=float).copy()
    positions = np.arange(len(work))
    stat, removed = [], []
    for _ in range(k):
        med = np.median(work)
        mad = 1.4826 * np.median(np.abs(work - med))
        if mad == 0:
            break
        j = int(np.argmax(work))
        stat.append((work[j] - med) / mad)
        removed.append(positions[j])
        work = np.delete(work, j)
        positions = np.delete(positions, j)
    return np.asarray(stat), np.asarray(removed, dtype=int)


def critical_values(n: int, k: int, alpha: float) -> np.ndarray:
    """Rosner's one-sided critical values ``lambda_1..lambda_k``."""
    i = np.arange(1, k + 1)
    p = 1.0 - alpha / (n - i + 1)
    t = stats.t.ppf(p, n - i - 1)
    return t * (n - i) / np.sqrt((n - i - 1 + t ** 2) * (n - i + 1))


def n_anomalies(statistics: np.ndarray, n: int, alpha: float, k: int) -> int:
    """Largest ``i <= k`` whose statistic exceeds its critical value (0 if none)."""
    k = min(k, len(statistics))
    if k == 0:
        return 0
    above = np.flatnonzero(statistics[:k] > critical_values(n, k, alpha))
    return int(above[-1]) + 1 if above.size else 0


def _product_tests(values: np.ndarray, phase: np.ndarray, period: int, size: int,
                   max_k_share: float) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Per piece: statistics, removed rows (positions in the series) and n."""
    out = []
    for part in pieces(len(values), size):
        x = values[part]
        rows = np.arange(part.start, part.stop)
        resid = residual(x, phase[part], period)
        ok = ~np.isnan(resid)
        n = int(ok.sum())
        if n < 3:
            continue
        stat, removed = esd_statistics(resid[ok], max(1, int(max_k_share * n)))
        out.append((stat, rows[ok][removed], n))
    return out


def _incidents(counts: pd.DataFrame, tests: list[list[tuple[np.ndarray, np.ndarray, int]]],
               max_anoms: float, alpha: float) -> pd.DataFrame:
    parts = []
    for j, product in enumerate(counts.columns):
        flags = np.zeros(len(counts), dtype=bool)
        for stat, rows, n in tests[j]:
            r = n_anomalies(stat, n, alpha, max(1, int(max_anoms * n)))
            flags[rows[:r]] = True
        first, last = runs(flags)
        parts.append(pd.DataFrame({"product": str(product), "onset": counts.index[first],
                                   "end": counts.index[last]}))
    return concat_incidents(parts)


def _tests(counts: pd.DataFrame, bucket: pd.Timedelta, piece_days: int, max_k_share: float
           ) -> list[list[tuple[np.ndarray, np.ndarray, int]]]:
    period = int(pd.Timedelta(days=1) / bucket)
    size = piece_days * period
    index = counts.index
    phase = ((index - index.normalize()) // bucket).to_numpy()
    return [_product_tests(counts[c].to_numpy(dtype=float), phase, period, size, max_k_share)
            for c in counts.columns]


def detect(counts: pd.DataFrame, bucket: pd.Timedelta, *, max_anoms: float = 0.02,
           alpha: float = 0.05, piece_days: int = 14) -> pd.DataFrame:
    """Detect incidents with piecewise seasonal-hybrid ESD.

    Parameters
    ----------
    counts : pd.DataFrame
        Wide counts per bucket and product.
    bucket : pd.Timedelta
        Bucket size (must divide one day).
    max_anoms : float
        Largest share of each piece that may be anomalous.
    alpha : float
        Significance level of the ESD test.
    piece_days : int
        Length of the pieces.

    Returns
    -------
    pd.DataFrame
        ``product, onset, end``.
    """
    tests = _tests(counts, bucket, piece_days, max_anoms)
    return _incidents(counts, tests, max_anoms, alpha)


def detect_grid(counts: pd.DataFrame, bucket: pd.Timedelta,
                settings: list[dict[str, Any]]) -> list[pd.DataFrame]:
    """Run several settings: the ESD statistics are computed once for the largest share."""
    out: dict[int, pd.DataFrame] = {}
    for days in sorted({s["piece_days"] for s in settings}):
        chosen = [i for i, s in enumerate(settings) if s["piece_days"] == days]
        share = max(settings[i]["max_anoms"] for i in chosen)
        tests = _tests(counts, bucket, days, share)
        for i in chosen:
            out[i] = _incidents(counts, tests, settings[i]["max_anoms"], settings[i]["alpha"])
    return [out[i] for i in range(len(settings))]
