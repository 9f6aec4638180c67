"""Inject outages of known onset into real count series.

An injected outage multiplies the local level: the level is a centred rolling median over
one day (robust to the series' own spikes; on a sparse series whose median is 0, a
clipped rolling mean), and ``(ratio - 1) x level x shape`` extra
reports are added, drawn as Poisson noise when the series holds counts. The shape ramps up
over 0-2 buckets and then stays at 1 until the outage ends. Outages do not overlap, keep
clear of missing data and of a mask of known anomalies (e.g. the NAB windows) and start
after a warm-up, so that every detector has history before the first one.

:func:`load_nab_tweets` reads the NAB realTweets files onto the 5-minute grid with their
anomaly windows as a mask, without copying any data into the project.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from spikes.evaluation.nab import nab_series, nab_windows

NAB_DIR = Path("/work/shared/realdata/nab")
NAB_BUCKET = pd.Timedelta("5min")


def local_level(series: pd.Series, bucket: pd.Timedelta) -> pd.Series:
    """Centred rolling median over one day (at least a quarter of it observed); where
    that median is 0 (a sparse series: most buckets empty), the rolling mean of the
    series clipped at its 99th percentile instead.

    The median keeps the level robust to the series' own spikes, but on a series whose
    buckets are mostly 0 it is 0 and a multiplicative outage would add nothing (measured
    on NAB's CVS tweets: 8 outages of 2.5-12x, none with a single report added). The
    clipped mean is the typical rate there, with the rare bursts capped.

    Parameters
    ----------
    series : pd.Series
        Values on a regular grid (NaN = missing).
    bucket : pd.Timedelta
        Grid step.

    Returns
    -------
    pd.Series
        The level, same index; gaps filled from the nearest level.
    """
    window = max(3, int(pd.Timedelta(days=1) / bucket) | 1)
    least = max(1, window // 4)
    level = series.rolling(window, center=True, min_periods=least).median()
    finite = series[np.isfinite(series)]
    if len(finite):
        clipped = series.clip(upper=float(np.quantile(finite, 0.99)))
        mean = clipped.rolling(window, center=True, min_periods=least).mean()
        level = level.where(~(level <= 0), mean)
    return level.ffill().bfill()


def inject(series: pd.Series, bucket: pd.Timedelta | str, seed: int, n_outages: int,
           ratio_range: tuple[float, float] = (2.5, 12.0),
           duration_range: tuple[str, str] = ("20min", "4h"), *,
           mask: pd.Series | np.ndarray | None = None, ramp_max: int = 2,
           warmup: str = "3D", spacing: str = "12h", counts: bool | None = None,
           ) -> tuple[pd.Series, pd.DataFrame]:
    """Add ``n_outages`` multiplicative outages to a real series.

    Parameters
    ----------
    series : pd.Series
        Values on a regular UTC grid (NaN = missing), named by its product.
    bucket : pd.Timedelta or str
        Grid step.
    seed : int
        Seed of the placement, sizes and noise.
    n_outages : int
        Outages wanted (fewer when they do not fit).
    ratio_range : tuple of float
        Outage level over the local level, drawn log-uniform.
    duration_range : tuple of str
        Outage length, drawn log-uniform and rounded to whole buckets (at least one).
    mask : pd.Series or np.ndarray of bool, optional
        True where a known anomaly lies; outages keep ``spacing`` away from it.
    ramp_max : int
        The ramp lasts 0 to ``ramp_max`` buckets (uniform); during it the excess grows
        linearly.
    warmup : str
        No outage starts before this much data.
    spacing : str
        Minimum distance between two outages and between an outage and the mask.
    counts : bool, optional
        Draw the excess as Poisson counts; by default when every value is a whole number.

    Returns
    -------
    series : pd.Series
        The series with the outages added (missing values stay missing).
    labels : pd.DataFrame
        ``product, onset, end`` (first and last bucket of the outage) plus ``ratio``,
        ``ramp`` (buckets) and ``level`` (local level at the onset).
    """
    step = pd.Timedelta(bucket)
    rng = np.random.default_rng(seed)
    values = series.to_numpy(dtype=float)
    n = values.size
    if counts is None:
        finite = values[np.isfinite(values)]
        counts = bool(finite.size) and bool(np.all(finite == np.round(finite)))
    level = local_level(series, step).to_numpy(dtype=float)
    blocked = ~np.isfinite(values)
    if mask is not None:
        blocked |= np.asarray(mask, dtype=bool)
    pad = int(pd.Timedelta(spacing) / step)
    first = int(pd.Timedelta(warmup) / step)
    lo_d, hi_d = (math.log(pd.Timedelta(d) / step) for d in duration_range)
    lo_r, hi_r = (math.log(r) for r in ratio_range)
    busy = _dilate(blocked, pad)
    out = values.copy()
    rows = []
    for _ in range(200 * max(n_outages, 1)):
        if len(rows) >= n_outages:
            break
        length = max(1, int(round(math.exp(rng.uniform(lo_d, hi_d)))))
        if n - first - length - 1 <= 0:
            break
        start = int(rng.integers(first, n - length))
        if busy[start:start + length].any() or not np.isfinite(level[start]):
            continue
        ratio = math.exp(rng.uniform(lo_r, hi_r))
        ramp = int(rng.integers(0, ramp_max + 1))
        shape = np.ones(length)
        ramp_len = min(ramp, length)
        shape[:ramp_len] = np.arange(1, ramp_len + 1) / (ramp + 1)
        extra = (ratio - 1) * np.maximum(level[start:start + length], 0.0) * shape
        if counts:
            extra = rng.poisson(extra).astype(float)
        out[start:start + length] += extra
        busy[max(0, start - pad):start + length + pad] = True
        rows.append((series.name, series.index[start], series.index[start + length - 1],
                     ratio, ramp, float(level[start])))
    labels = pd.DataFrame(rows, columns=["product", "onset", "end", "ratio", "ramp", "level"])
    labels = labels.sort_values("onset", ignore_index=True)
    return pd.Series(out, index=series.index, name=series.name), labels


def _dilate(flags: np.ndarray, pad: int) -> np.ndarray:
    """True within ``pad`` positions of a True."""
    if pad <= 0 or not flags.any():
        return flags.copy()
    cum = np.concatenate([[0], np.cumsum(flags.astype(int))])
    idx = np.arange(flags.size)
    lo = np.clip(idx - pad, 0, flags.size)
    hi = np.clip(idx + pad + 1, 0, flags.size)
    return (cum[hi] - cum[lo]) > 0


def load_nab_tweets(folder: str | Path = NAB_DIR
                    ) -> dict[str, tuple[pd.Series, pd.Series]] | None:
    """The NAB realTweets series on the 5-minute grid and their anomaly windows as masks.

    Parameters
    ----------
    folder : str or Path
        NAB root (with ``realTweets/`` and ``labels/combined_windows.json``).

    Returns
    -------
    dict or None
        Per file stem, ``(series, mask)``: the values with timestamps floored to the
        5-minute grid (as ``nab_bench.load``: first row of a bucket kept, missing buckets
        NaN) and a boolean series, True on buckets that overlap a NAB window. None when
        the folder is absent.
    """
    root = Path(folder)
    tweets = root / "realTweets"
    if not tweets.is_dir():
        return None
    windows_path = root / "labels" / "combined_windows.json"
    windows = nab_windows(windows_path) if windows_path.is_file() else {}
    out = {}
    for path in sorted(tweets.glob("*.csv")):
        raw = nab_series(path)
        floored = raw.index.floor(NAB_BUCKET)
        grid = pd.date_range(floored.min(), floored.max(), freq=NAB_BUCKET, name="timestamp")
        series = pd.Series(raw.to_numpy(), index=floored, name=raw.name)
        series = series[~series.index.duplicated()].reindex(grid)
        mask = np.zeros(len(grid), dtype=bool)
        for start, end in windows.get(str(raw.name), []):
            a = grid.searchsorted(start.floor(NAB_BUCKET))
            b = grid.searchsorted(end, side="right")
            mask[a:b] = True
        out[str(raw.name)] = (series, pd.Series(mask, index=grid, name=raw.name))
    return out
