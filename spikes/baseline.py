"""Seasonal baseline: the usual number of reports for each product at each time of day.

The baseline of a bucket is the mean of the same time of day (a small window of
neighbouring slots) on the other days around it (``baseline_days`` on each side; weekdays
and weekends apart once the history allows), leaving out its own day so that an outage does
not raise its own baseline. Buckets that look anomalous are masked and the baseline is
re-estimated, so outages elsewhere in the history do not leak into it either. With under
two days of data there is no time-of-day history: a centred rolling mean of the masked
series stands in.

The noise around the baseline is modelled as negative binomial, variance
``mu + alpha * mu**2``, with the dispersion ``alpha`` estimated per product by the method of
moments on the normal buckets: Poisson-like products get ``alpha`` near 0, bursty ones
(news-driven social media volume) a larger one, and every detector downstream reads its
evidence through that noise model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

DAY = pd.Timedelta(days=1)
#: z-score above which a bucket is masked out of the baseline's re-estimation.
MASK_Z = 3.0
#: Share of buckets left out of the first dispersion estimate (see fit_baseline).
FIRST_PASS_TRIM = 0.02
#: Number of mask-and-re-estimate passes.
PASSES = 2
#: Smallest mean the noise model uses, so that an empty night still has a finite tail.
MIN_MEAN = 1e-3
ROLLING_WINDOW = pd.Timedelta(hours=6)
#: Reports a baseline value should rest on before its time-of-day window stops widening.
MIN_POOL_REPORTS = 50
#: Time scale at which autocorrelation of the noise is measured.
INFLATION_SCALE = pd.Timedelta(hours=1)
CHI2_1_MEDIAN = 0.454936
#: Fewest complete normal blocks needed to measure the inflation.
MIN_BLOCKS = 10


@dataclass(frozen=True)
class Baseline:
    """Expected reports per bucket and the noise around them.

    Attributes
    ----------
    expected : pd.DataFrame
        Baseline mean per bucket and product, same index and columns as the counts.
    dispersion : pd.Series
        Negative-binomial dispersion ``alpha`` per product (variance = mu + alpha mu^2).
    normal : pd.DataFrame
        True where a bucket was used as normal traffic in the final estimate.
    method : {"weekly", "daily", "rolling"}
        Which seasonal model the history allowed.
    inflation : pd.Series
        Variance inflation per product at the one-hour scale: the variance of hourly
        sums of normal buckets over what independent buckets would give (1 = no
        autocorrelation). Evidence accumulated over many buckets is divided by it.
    """

    expected: pd.DataFrame
    dispersion: pd.Series
    normal: pd.DataFrame
    method: Literal["weekly", "daily", "rolling"]
    inflation: pd.Series | None = None

    def std(self) -> pd.DataFrame:
        """Standard deviation of the counts under the noise model."""
        mu = self.expected
        return np.sqrt(mu + self.dispersion * mu**2)

    def band(self, coverage: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Central interval of usual counts, from negative-binomial quantiles.

        Parameters
        ----------
        coverage : float
            Probability mass inside the band.

        Returns
        -------
        lower, upper : pd.DataFrame
            Quantiles ``(1 - coverage) / 2`` and ``(1 + coverage) / 2`` per bucket.
        """
        mu = np.maximum(self.expected.to_numpy(dtype=float), MIN_MEAN)
        alpha = np.maximum(self.dispersion.to_numpy(dtype=float), 1e-9)[None, :]
        n = 1.0 / alpha
        p = n / (n + mu)
        tail = (1.0 - coverage) / 2.0
        lower = stats.nbinom.ppf(tail, n, p)
        upper = stats.nbinom.ppf(1.0 - tail, n, p)
        nan = np.isnan(self.expected.to_numpy(dtype=float))
        lower[nan] = np.nan
        upper[nan] = np.nan
        frame = self.expected
        return (
            pd.DataFrame(lower, index=frame.index, columns=frame.columns),
            pd.DataFrame(upper, index=frame.index, columns=frame.columns),
        )


def fit_baseline(
    counts: pd.DataFrame,
    bucket: pd.Timedelta,
    *,
    days: int = 14,
    smoothing: str | pd.Timedelta = "30min",
    weekly_min_days: int = 14,
) -> Baseline:
    """Estimate the seasonal baseline and the noise dispersion of every product.

    Parameters
    ----------
    counts : pd.DataFrame
        Reports per bucket (regular UTC index, one column per product, NaN = missing).
    bucket : pd.Timedelta
        Bucket size of the index.
    days : int
        Days on each side of a bucket that contribute to its baseline.
    smoothing : str or pd.Timedelta
        Width of the time-of-day window pooled into each value.
    weekly_min_days : int
        From this many days of data on, weekdays and weekends are modelled apart.

    Returns
    -------
    Baseline

    Examples
    --------
    >>> idx = pd.date_range("2026-01-01", periods=288 * 3, freq="5min", tz="UTC")
    >>> counts = pd.DataFrame({"app": 10.0}, index=idx)
    >>> fit_baseline(counts, pd.Timedelta("5min")).expected["app"].iloc[-1]
    np.float64(10.0)
    """
    bucket = pd.Timedelta(bucket)
    y = np.asfortranarray(counts.to_numpy(dtype=float))  # time runs down each column
    span_days = len(counts) * bucket / DAY
    slots = DAY / bucket
    seasonal = span_days >= 2 and float(slots).is_integer()
    if not seasonal:
        method: Literal["weekly", "daily", "rolling"] = "rolling"
    elif span_days >= weekly_min_days:
        method = "weekly"
    else:
        method = "daily"
    half_window = int(pd.Timedelta(smoothing) / bucket) // 2

    observed = ~np.isnan(y)
    normal = observed.copy()
    for step in range(PASSES):
        if method == "rolling":
            mu = _rolling_mean(y, normal, max(1, int(ROLLING_WINDOW / bucket) // 2))
        else:
            mu = _seasonal_mean(
                y, normal, counts.index, int(slots), half_window, days, weekly=method == "weekly"
            )
        # Before any masking, the largest residuals (the outages of the history) would
        # inflate the dispersion and with it hide themselves: the first estimate leaves
        # out each product's top FIRST_PASS_TRIM of buckets.
        alpha = _dispersion(y, mu, normal & _below_top(y, mu, FIRST_PASS_TRIM)
                            if step == 0 else normal)
        z = (y - mu) / np.sqrt(np.maximum(mu, MIN_MEAN) + alpha * mu**2 + 0.25)
        anomalous = np.nan_to_num(z, nan=0.0) > MASK_Z
        # Outage edges are barely above the threshold: mask one bucket either side too.
        anomalous[1:] |= anomalous[:-1].copy()
        anomalous[:-1] |= anomalous[1:].copy()
        normal = observed & ~anomalous
    expected = pd.DataFrame(mu, index=counts.index, columns=counts.columns)
    block = max(1, int(INFLATION_SCALE / bucket))
    return Baseline(
        expected=expected,
        dispersion=pd.Series(alpha, index=counts.columns, name="dispersion"),
        normal=pd.DataFrame(normal, index=counts.index, columns=counts.columns),
        method=method,
        inflation=pd.Series(_variance_inflation(y, mu, alpha, normal, block),
                            index=counts.columns, name="inflation"),
    )


def _moving_sum(x: np.ndarray, half_window: int) -> np.ndarray:
    """Sum over ``[t - half_window, t + half_window]`` along axis 0, clipped at the ends."""
    if half_window == 0:
        return x.copy()
    n = x.shape[0]
    pad = [(half_window + 1, half_window)] + [(0, 0)] * (x.ndim - 1)
    csum = np.cumsum(np.pad(x, pad), axis=0)
    width = 2 * half_window + 1
    return csum[width : width + n] - csum[:n]


def _seasonal_mean(
    y: np.ndarray,
    normal: np.ndarray,
    index: pd.DatetimeIndex,
    slots: int,
    half_window: int,
    days: int,
    *,
    weekly: bool,
) -> np.ndarray:
    """Mean of the same time of day on the other days within ``days`` days.

    The time-of-day window starts at ``2 * half_window + 1`` slots and is doubled where
    the pool holds fewer than :data:`MIN_POOL_REPORTS` reports (a quiet night in
    one-minute buckets), up to half a day: the baseline of a quiet product trades time
    resolution for precision instead of following its own noise.
    """
    n, p = y.shape
    first = index[0]
    offset = int((first - first.normalize()) / (DAY / slots))
    n_days = -(-(offset + n) // slots)
    day_starts = first.normalize() + pd.to_timedelta(np.arange(n_days), unit="D")
    if weekly:
        weekend = np.asarray(day_starts.day_of_week >= 5)
        kinds = [weekend, ~weekend]
    else:
        kinds = [np.ones(n_days, dtype=bool)]
    values0 = np.where(normal, y, 0.0)
    weights0 = normal.astype(float)
    mean = np.full((n, p), np.nan)
    widths = [half_window]
    while widths[-1] < slots // 4:
        widths.append(max(2 * widths[-1], 1))
    for i, width in enumerate(widths):
        # Only the products that still lack a value are pooled again, wider.
        cols = np.flatnonzero(np.isnan(mean).any(axis=0))
        if len(cols) == 0:
            break
        total_v, total_w, slot_all = _pooled(values0[:, cols], weights0[:, cols], width,
                                             offset, n_days, slots, days, kinds)
        est = np.divide(total_v, total_w, out=np.full_like(total_v, np.nan),
                        where=total_w > 0)
        # Where a slot has no history of its kind: that slot over all days.
        est = np.where(np.isnan(est), slot_all, est)
        enough = total_v >= MIN_POOL_REPORTS if i < len(widths) - 1 else np.ones_like(est, bool)
        sub = mean[:, cols]
        take = np.isnan(sub) & enough & ~np.isnan(est)
        sub[take] = est[take]
        mean[:, cols] = sub
    overall = np.nansum(values0, axis=0) / np.maximum(normal.sum(axis=0), 1)
    return np.where(np.isnan(mean), overall[None, :], mean)


def _pooled(values: np.ndarray, weights: np.ndarray, half_window: int, offset: int,
            n_days: int, slots: int, days: int,
            kinds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pooled sums of values and weights over neighbouring slots and other days of the
    same kind, back on the series' time axis; and each slot's mean over all days."""
    n, p = values.shape
    pad_end = n_days * slots - offset - n

    def grid(a: np.ndarray) -> np.ndarray:
        return np.pad(a, ((offset, pad_end), (0, 0))).reshape(n_days, slots, p)

    # Pool neighbouring time-of-day slots (continuous in time, so across midnight too).
    v = grid(_moving_sum(values, half_window))
    w = grid(_moving_sum(weights, half_window))
    total_v = np.empty_like(v)
    total_w = np.empty_like(w)
    for kind in kinds:
        # Days of one kind (weekdays, or weekend days) in order; ``days`` calendar days
        # on either side hold about ``days x share`` of them.
        which = np.flatnonzero(kind)
        reach = max(1, round(days * len(which) / n_days))
        total_v[which] = _day_sums(v[which], reach)
        total_w[which] = _day_sums(w[which], reach)
    # Leave the bucket's own day out.
    total_v -= v
    total_w -= w
    w_all = w.sum(axis=0)
    slot_all = v.sum(axis=0) / np.where(w_all > 0, w_all, np.nan)
    slot_all = np.broadcast_to(slot_all, v.shape)

    def back(a: np.ndarray) -> np.ndarray:
        return a.reshape(n_days * slots, p)[offset : offset + n]

    return back(total_v), back(total_w), back(slot_all)


def _day_sums(a: np.ndarray, reach: int) -> np.ndarray:
    """Sums over the days within `reach` of each day (axis 0); over all days when the
    window covers them all (the common case of a few weeks of data)."""
    if len(a) <= 2 * reach + 1:
        return np.broadcast_to(a.sum(axis=0), a.shape)
    return _moving_sum(a, reach)


def _rolling_mean(y: np.ndarray, normal: np.ndarray, half_window: int) -> np.ndarray:
    """Centred rolling mean of the normal buckets (short histories)."""
    values = _moving_sum(np.where(normal, y, 0.0), half_window)
    weights = _moving_sum(normal.astype(float), half_window)
    mean = np.divide(values, weights, out=np.full_like(values, np.nan), where=weights > 0)
    overall = np.nansum(np.where(normal, y, 0.0), axis=0) / np.maximum(normal.sum(axis=0), 1)
    return np.where(np.isnan(mean), overall[None, :], mean)


def _below_top(y: np.ndarray, mu: np.ndarray, share: float) -> np.ndarray:
    """False for each column's `share` of buckets with the largest standardised excess."""
    z = np.where(np.isnan(y), -np.inf, (y - mu) / np.sqrt(np.maximum(mu, MIN_MEAN) + 0.25))
    cut = np.quantile(z, 1.0 - share, axis=0, method="higher")
    return z < cut[None, :]


def _dispersion(y: np.ndarray, mu: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Method-of-moments negative-binomial dispersion per column.

    Uses ``E[(y - mu)^2 - y] = alpha * mu^2`` over the normal buckets.
    """
    resid = np.where(normal, (y - mu) ** 2 - y, 0.0)
    scale = np.where(normal, mu**2, 0.0)
    num = np.nansum(resid, axis=0)
    den = np.nansum(scale, axis=0)
    alpha = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return np.clip(alpha, 0.0, 100.0)


def _variance_inflation(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray,
                        normal: np.ndarray, block: int) -> np.ndarray:
    """Variance of block sums of Pearson residuals over the block length, per column.

    Estimated robustly from the median of the squared block sums; only blocks made
    entirely of normal buckets count. 1 where the residuals are
    independent; larger where noise persists over several buckets (bursts).
    """
    n, p = y.shape
    out = np.ones(p)
    if block < 2 or n < block * MIN_BLOCKS:
        return out
    sd = np.sqrt(np.maximum(mu, MIN_MEAN) + alpha * mu**2)
    resid = np.where(normal, (y - mu) / sd, 0.0)
    usable = (n // block) * block
    sums = resid[:usable].reshape(-1, block, p).sum(axis=1)
    full = normal[:usable].reshape(-1, block, p).all(axis=1)
    count = full.sum(axis=0)
    ok = count >= MIN_BLOCKS
    squares = np.where(full, sums**2 / block, np.nan)
    # Median over blocks (a chi-square with one degree of freedom has median 0.455), so
    # that a minority of disturbed hours (a level shift, an unmasked outage edge) does
    # not count as noise.
    with np.errstate(all="ignore"):
        ratio = np.nanmedian(squares[:, ok], axis=0) / CHI2_1_MEDIAN
    out[ok] = np.maximum(ratio, 1.0)
    return out
