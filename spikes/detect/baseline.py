"""Seasonal baseline: the usual number of reports for each product at each time of day.

The baseline of a bucket is the mean of the same time of day (a small window of
neighbouring slots) on the other days around it (``baseline_days`` on each side; weekdays
and weekends apart once the history allows), leaving out its own day so that an outage does
not raise its own baseline. Buckets that look anomalous are masked and the baseline is
re-estimated, so outages elsewhere in the history do not leak into it either. With under
two days of data there is no time-of-day history: a centred rolling mean of the masked
series stands in. There an outage can be a large share of the history and it raises the
rolling mean around itself, so the first dispersion estimate, which decides what is
masked, comes from differences of consecutive buckets, which an outage's level does not
reach (:func:`_pair_dispersion`).

The noise around the baseline is modelled as negative binomial, variance
``mu + alpha * mu**2``, with the dispersion ``alpha`` estimated per product by the method of
moments on the normal buckets: Poisson-like products get ``alpha`` near 0, bursty ones
(news-driven social media volume) a larger one, and every detector downstream reads its
evidence through that noise model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd

from spikes.detect.day_pools import (
    DAY,
    MIN_POOL_REPORTS,
    _Calendar,
    _calendar,
    _moving_sum,
    _off_day_grid,
    _on_day_grid,
    _pooled_mean,
)
from spikes.detect.days import check_utc_index
from spikes.detect.hindsight_recurring import with_recurring
from spikes.detect.noise import column_blocks

#: z-score above which a bucket is masked out of the baseline's re-estimation.
MASK_Z = 3.0
#: Share of buckets left out of the first dispersion estimate of the seasonal methods
#: (see _fit_columns).
FIRST_PASS_TRIM = 0.02
#: Number of mask-and-re-estimate passes (the rolling method adds one, see _fit_columns).
PASSES = 2
#: Smallest mean the noise model uses, so that an empty night still has a finite tail.
MIN_MEAN = 1e-3
ROLLING_WINDOW = pd.Timedelta(hours=6)
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
    dispersion_path, inflation_path : pd.DataFrame or None
        The dispersion and inflation in force at each bucket, for a causal baseline
        (:func:`spikes.detect.trailing.fit_trailing_baseline`) whose noise is refitted as
        time goes on; None for a retrospective one, whose values hold throughout.
    causal : bool
        Whether every value rests on earlier data only.
    learning : pd.DataFrame or None
        For a causal baseline, True where a bucket has no time-of-day history yet (a
        product's first day, the warm-up): no detector sees evidence there but the
        per-bucket tail detector on the `cold` buckets.
    cold : pd.DataFrame or None
        For a causal baseline, True on the buckets of a product's first day that the
        per-bucket tail detector scores against the cold start's baseline and dispersion
        (:meth:`spikes.detect.trailing._SeasonalFit.cold_start`), though they are
        ``learning``.
    unshaped : pd.DataFrame or None
        For a causal baseline, True on the buckets of a weekend day whose level runs
        far from the weekdays' while no day yet shows its shape
        (:func:`spikes.detect.trailing_level.weekend_shape`): the day is unproven.
    returns : pd.DataFrame or None
        For a causal baseline, on the buckets of the first half of a day that judges a
        fall taken as a product's level, the level before the fall over the fall's (0
        elsewhere): a rise back to that level is held until the judgement
        (:func:`spikes.detect.trailing_adopted.held_returns`).
    """

    expected: pd.DataFrame
    dispersion: pd.Series
    normal: pd.DataFrame
    method: Literal["weekly", "daily", "rolling"]
    inflation: pd.Series | None = None
    dispersion_path: pd.DataFrame | None = None
    inflation_path: pd.DataFrame | None = None
    causal: bool = False
    learning: pd.DataFrame | None = None
    cold: pd.DataFrame | None = None
    unshaped: pd.DataFrame | None = None
    returns: pd.DataFrame | None = None

    def dispersion_at(self) -> np.ndarray:
        """Dispersion per bucket and product (broadcastable to the counts' shape)."""
        if self.dispersion_path is not None:
            return self.dispersion_path.to_numpy(dtype=float)
        return self.dispersion.to_numpy(dtype=float)[None, :]

    def inflation_at(self) -> np.ndarray | None:
        """Variance inflation per bucket and product (broadcastable), None when unknown."""
        if self.inflation_path is not None:
            return self.inflation_path.to_numpy(dtype=float)
        if self.inflation is None:
            return None
        return self.inflation.to_numpy(dtype=float)[None, :]

    def std(self) -> pd.DataFrame:
        """Standard deviation of the counts under the noise model."""
        mu = self.expected
        return np.sqrt(mu + self.dispersion_at() * mu**2)

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
        from scipy import stats

        mu = np.maximum(self.expected.to_numpy(dtype=float), MIN_MEAN)
        alpha = np.maximum(self.dispersion_at(), 1e-9)
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
    exclude: np.ndarray | None = None,
    utc_offset: str | pd.Timedelta = "0h",
    timezone: str | None = None,
) -> Baseline:
    """Estimate the seasonal baseline and the noise dispersion of every product.

    Products are independent of each other: they are fitted in blocks of a few columns
    (:func:`spikes.detect.noise.column_blocks`), so that the many intermediate arrays of the
    fit stay small enough for the CPU cache instead of spanning all products.

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
    exclude : np.ndarray, optional
        Boolean, the shape of `counts`: buckets kept out of the fit (known-event windows,
        :meth:`spikes.detect.known_events.Calendar.mask`), as masked outages are: they
        get a baseline, but neither it nor the noise rests on them.
    utc_offset : str or pd.Timedelta
        The products' local time as an offset from UTC: days, and so weekdays and
        weekends, begin at their local midnight (:func:`~spikes.detect.days.day_grid`).
    timezone : str, optional
        The products' IANA time zone (:attr:`spikes.config.DetectionConfig.timezone`),
        in place of `utc_offset`: days begin at its standard-time midnight, and the
        pools hold the same local clock time (:func:`_pooled_mean`).

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
    check_utc_index(counts.index)
    bucket = pd.Timedelta(bucket)
    # Fortran order: time runs down each column, so that every product's series is
    # contiguous in memory. All the work below runs along the time axis of one product
    # (moving sums, cumulative sums, sums per column), and the blocks of columns taken
    # out of it are contiguous too. A frame with one float block already is in this
    # order (pandas stores it transposed), and then nothing is copied.
    y = np.asfortranarray(counts.to_numpy(dtype=float))
    if exclude is not None and exclude.any():
        y = np.where(exclude, np.nan, y)
        y = np.asfortranarray(y)
    span_days = len(counts) * bucket / DAY
    slots = DAY / bucket
    seasonal = span_days >= 2 and float(slots).is_integer()
    if not seasonal:
        method: Literal["weekly", "daily", "rolling"] = "rolling"
    elif span_days >= weekly_min_days:
        method = "weekly"
    else:
        method = "daily"
    robust: RobustDispersion
    if method == "rolling":
        mean_of = partial(_rolling_mean, half_window=max(1, int(ROLLING_WINDOW / bucket) // 2))
        robust, robust_passes = _pair_dispersion, PASSES
    else:
        calendar = _calendar(counts.index, int(slots), int(pd.Timedelta(smoothing) / bucket) // 2,
                             days, weekly=method == "weekly",
                             utc_offset=pd.Timedelta(utc_offset), timezone=timezone)
        mean_of = partial(_regime_seasonal_mean, calendar=calendar)
        robust, robust_passes = _trimmed_dispersion, 1
    block = max(1, int(INFLATION_SCALE / bucket))
    n, p = y.shape
    mu = np.empty((n, p), order="F")
    normal = np.empty((n, p), dtype=bool, order="F")
    alpha = np.empty(p)
    inflation = np.empty(p)
    for cols in column_blocks(n, p):
        mu[:, cols], normal[:, cols], alpha[cols], inflation[cols] = _fit_columns(
            y[:, cols], mean_of, block, robust, robust_passes)
    # The frames take the arrays over as they are (no copy; pandas keeps them transposed).
    return Baseline(
        expected=pd.DataFrame(mu, index=counts.index, columns=counts.columns, copy=False),
        dispersion=pd.Series(alpha, index=counts.columns, name="dispersion"),
        normal=pd.DataFrame(normal, index=counts.index, columns=counts.columns, copy=False),
        method=method,
        inflation=pd.Series(inflation, index=counts.columns, name="inflation"),
    )


#: A dispersion estimate that outages in the history do not inflate, per column of a
#: block: called with the counts, the residuals ``y - mu``, ``mu**2``,
#: ``max(mu, MIN_MEAN)`` and the buckets taken as normal so far.
RobustDispersion = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                            np.ndarray]


def _fit_columns(y: np.ndarray, mean_of: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 block: int, robust: RobustDispersion, robust_passes: int,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Baseline, normal buckets, dispersion and variance inflation of a block of columns.

    `mean_of(y, normal)` is the mean model (seasonal or rolling). Each pass estimates the
    mean from the normal buckets, the dispersion around it, and masks the buckets (and
    their neighbours) more than :data:`MASK_Z` standard deviations high.

    Before any masking, the outages of the history would inflate a moment estimate of the
    dispersion and with it hide themselves: the first `robust_passes` passes take it from
    `robust`, the last one by moments (:func:`_dispersion`) on the normal buckets. The
    seasonal methods run one pass with :func:`_trimmed_dispersion`, then one by moments.
    The rolling method runs :data:`PASSES` with :func:`_pair_dispersion` and then one by
    moments: the rolling mean of the first pass is raised around an outage, so the first
    mask misses part of it, and the second, against the mean of the buckets left, takes
    in more while the dispersion still ignores the outage.
    """
    observed = ~np.isnan(y)
    normal = observed
    for step in range(robust_passes + 1):
        mu = mean_of(y, normal)
        resid = y - mu  # NaN where the count is missing
        mu_sq = np.square(mu)
        floor = np.maximum(mu, MIN_MEAN)
        if step < robust_passes:
            alpha = robust(y, resid, mu_sq, floor, normal)
        else:
            alpha = _dispersion(y, resid, mu_sq, normal)
        # Variance under the noise model, max(mu, MIN_MEAN) + alpha mu^2.
        var = np.multiply(alpha, mu_sq)
        var += floor
        z = np.add(var, 0.25, out=floor)
        np.sqrt(z, out=z)
        np.divide(resid, z, out=z)
        # Outage edges are barely above the threshold: mask one bucket either side too.
        normal = observed & ~_with_neighbours(z > MASK_Z)
    return mu, normal, alpha, _variance_inflation(resid, var, normal, block)


def _with_neighbours(flags: np.ndarray) -> np.ndarray:
    """`flags` with the bucket before and after each flagged bucket flagged too (axis 0)."""
    out = flags.copy()
    out[1:] |= flags[:-1]
    out[:-1] |= flags[1:]
    return out


def _values_and_weights(y: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """The counts of the normal buckets (0 elsewhere) in columns ``:p`` and the normal
    flags as 0/1 weights in columns ``p:``: side by side, one call pools both."""
    n, p = y.shape
    both = np.zeros((n, 2 * p), order="F")
    np.copyto(both[:, :p], y, where=normal)
    both[:, p:] = normal
    return both


def _seasonal_mean(y: np.ndarray, normal: np.ndarray, calendar: _Calendar) -> np.ndarray:
    """Mean of the same time of day on the other days within ``days`` days.

    The time-of-day window starts at ``2 * half_window + 1`` slots and is doubled where
    the pool holds fewer than :data:`MIN_POOL_REPORTS` reports (a quiet night in
    one-minute buckets), up to half a day: the baseline of a quiet product trades time
    resolution for precision instead of following its own noise.
    """
    n, p = y.shape
    both = _values_and_weights(y, normal)
    mean = np.full((n, p), np.nan, order="F")
    pending = np.arange(p) if n else np.arange(0)  # columns that still lack a value
    for i, width in enumerate(calendar.widths):
        if len(pending) == 0:
            break
        # Only the products that still lack a value are pooled again, wider.
        part = both if len(pending) == p else both[:, np.concatenate([pending, pending + p])]
        est, pooled = _pooled_mean(part, width, calendar)
        # Fill the values still missing (all of them at first) where the pool rests on
        # enough reports, or on any number in the widest window.
        take = np.isnan(mean[:, pending]) if i else np.ones((n, p), bool)
        if i < len(calendar.widths) - 1:
            take &= pooled >= MIN_POOL_REPORTS
        if len(pending) == p:
            np.copyto(mean, est, where=take)
        else:
            sub = mean[:, pending]
            np.copyto(sub, est, where=take)
            mean[:, pending] = sub
        pending = pending[np.isnan(mean[:, pending]).any(axis=0)]
    if len(pending):
        # No slot of these products has any history: their overall mean.
        overall = (_row_order_sum(both[:, pending])
                   / np.maximum(normal[:, pending].sum(axis=0), 1))
        sub = mean[:, pending]
        mean[:, pending] = np.where(np.isnan(sub), overall[None, :], sub)
    return mean


def _regime_seasonal_mean(y: np.ndarray, normal: np.ndarray, calendar: _Calendar
                          ) -> np.ndarray:
    """:func:`_seasonal_mean` scaled to the level of each bucket's regime.

    The pools reach ``days`` days either side: across a lasting change of level (a
    launch, a feed that grew) they mix the two levels, and the baseline stands too high
    before it and too low after it (on a product whose reports tripled for good, every
    outage on both sides was hidden). With hindsight the days are cut into level regimes
    (:func:`_regime_levels`) and each regime's baseline is scaled to its own level.
    """
    mean = _seasonal_mean(y, normal, calendar)
    n, p = y.shape
    day = (np.arange(n) + calendar.offset) // calendar.slots
    use = normal & ~np.isnan(mean)
    regimes = np.ones((calendar.n_days, p))
    for j in range(p):
        reports = np.bincount(day, np.where(use[:, j], y[:, j], 0.0), calendar.n_days)
        expected = np.bincount(day, np.where(use[:, j], mean[:, j], 0.0), calendar.n_days)
        levels = _regime_levels(reports, expected)
        if levels is not None:
            mean[:, j] *= levels[day]
            regimes[:, j] = levels
    return _with_recurring(y, normal, mean, regimes, calendar)


def _with_recurring(y: np.ndarray, normal: np.ndarray, mean: np.ndarray, regimes: np.ndarray,
                    calendar: _Calendar) -> np.ndarray:
    """`mean` with the times of day that recur daily or weekly although masked taken
    from their agreeing days' own buckets
    (:func:`spikes.detect.hindsight_recurring.with_recurring`), the days compared at
    the level of their regime (`regimes`, per day and product, see
    :func:`_regime_levels`): a Sunday before a lasting tripling is not the Sundays
    after it."""
    observed = ~np.isnan(y)
    masked = observed & ~normal
    if not masked.any():
        return mean
    n, p = y.shape
    grid, rows = _on_day_grid(np.hstack([np.where(observed, y, 0.0), observed, masked, mean]),
                              0, calendar)
    cells = grid.reshape(calendar.n_days, calendar.slots, 4 * p)
    reports, seen = cells[..., :p], cells[..., p : 2 * p]
    level = np.divide(reports, seen * regimes[:, None, :], out=np.full(reports.shape, np.nan),
                      where=seen > 0)
    expected = cells[..., 3 * p :] / regimes[:, None, :]
    recurring = with_recurring(level, cells[..., 2 * p : 3 * p] > 0.5, expected,
                               [(which, reach) for which, _, reach in calendar.kinds],
                               calendar.weekdays, calendar.week_reach)
    change = ((recurring - expected) * regimes[:, None, :]).reshape(-1, p)
    if not change.any():
        return mean
    return mean + _off_day_grid(np.asfortranarray(change), rows, calendar, n)


#: Fewest days of a level regime (:func:`_regime_levels`): a week, one turn of the weekly
#: cycle. Shorter episodes (days of news, an outage of several days) stay anomalies: taken
#: as regimes of 2 or 3 days, they cost NAB's tweets 7-16 points (retrospective).
MIN_REGIME_DAYS = 7
#: Smallest change of level between neighbouring regimes, the outage bar of the default
#: ``min_ratio``: smaller changes are drift, which the pools' weeks either side average.
LEVEL_CHANGE = 2.0


def _regime_levels(reports: np.ndarray, expected: np.ndarray) -> np.ndarray | None:
    """Per day, the level of its regime: its normal reports over what the pools expect.

    The change points of the days' log ratio of reports to expectation are found by
    ruptures' PELT (least squares, regimes of at least :data:`MIN_REGIME_DAYS` days, a
    BIC-like penalty ``2 sigma^2 ln n`` with ``sigma`` the ratio's robust spread over the
    whole series, so that only changes large against all its variation count); of those,
    only changes of :data:`LEVEL_CHANGE` or more between neighbouring regimes are kept.
    Levels are shrunk towards 1 by :data:`MIN_POOL_REPORTS` reports each way.

    Parameters
    ----------
    reports, expected : np.ndarray
        Per day, the normal reports and their pooled expectation.

    Returns
    -------
    np.ndarray or None
        The level of each day's regime, or None for a single regime.
    """
    seen = np.flatnonzero(expected > 0)
    if len(seen) < 2 * MIN_REGIME_DAYS:
        return None

    def level(days: np.ndarray) -> float:
        return float((reports[days].sum() + MIN_POOL_REPORTS)
                     / (expected[days].sum() + MIN_POOL_REPORTS))

    x = np.log((reports[seen] + MIN_POOL_REPORTS) / (expected[seen] + MIN_POOL_REPORTS))
    sigma = 1.4826 * float(np.median(np.abs(x - np.median(x))))
    if not sigma > 0:
        return None
    import ruptures as rpt  # here: a second of imports that short series never need

    ends = (rpt.Pelt(model="l2", min_size=MIN_REGIME_DAYS, jump=1).fit(x)
            .predict(pen=2.0 * sigma**2 * np.log(len(x))))
    cuts = [0]
    for i, end in enumerate(ends[:-1]):
        ratio = level(seen[cuts[-1] : end]) / level(seen[end : ends[i + 1]])
        if max(ratio, 1.0 / ratio) >= LEVEL_CHANGE:
            cuts.append(end)
    if len(cuts) == 1:
        return None
    out = np.empty(len(reports))
    bounds = [*cuts, len(x)]
    for k, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        # Days without expectation take the regime they fall in.
        first = 0 if k == 0 else int(seen[start])
        last = len(reports) if stop == len(x) else int(seen[stop])
        out[first:last] = level(seen[start:stop])
    return out


def _row_order_sum(x: np.ndarray) -> np.ndarray:
    """Column sums of a 2-D array, as numpy sums a C-ordered array.

    numpy sums a contiguous run of numbers pairwise, so that the last bits of a sum
    depend on the memory layout: a C-ordered array of several columns is summed row
    after row, a single column pairwise. The dispersion, the variance inflation and the
    overall means sum like this, the layout of earlier versions of this module, so that
    their results are unchanged (blocks of columns have two columns or more, see
    :func:`spikes.detect.noise.column_blocks`).
    """
    return np.ascontiguousarray(x).sum(axis=0)


def _rolling_mean(y: np.ndarray, normal: np.ndarray, half_window: int) -> np.ndarray:
    """Centred rolling mean of the normal buckets (short histories)."""
    p = y.shape[1]
    both = _values_and_weights(y, normal)
    sums = _moving_sum(both, half_window)
    values, weights = sums[:, :p], sums[:, p:]
    mean = np.divide(values, weights, out=np.full_like(values, np.nan), where=weights > 0)
    overall = _row_order_sum(both[:, :p]) / np.maximum(normal.sum(axis=0), 1)
    return np.where(np.isnan(mean), overall[None, :], mean)


def _below_top(resid: np.ndarray, floor: np.ndarray, share: float) -> np.ndarray:
    """False for each column's `share` of buckets with the largest standardised excess
    ``resid / sqrt(floor + 0.25)`` (missing buckets, NaN, count as the smallest)."""
    z = np.add(floor, 0.25)
    np.sqrt(z, out=z)
    np.divide(resid, z, out=z)
    z[np.isnan(z)] = -np.inf
    # The "higher" quantile of each column is one order statistic: its rank is that of
    # np.quantile (asked of 0, 1, ..., n - 1), found by a partial sort.
    n = len(z)
    rank = int(np.quantile(np.arange(n), 1.0 - share, method="higher"))
    cut = np.partition(z, rank, axis=0)[rank]
    return z < cut[None, :]


def _trimmed_dispersion(y: np.ndarray, resid: np.ndarray, mu_sq: np.ndarray,
                        floor: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Robust dispersion of the seasonal methods: :func:`_dispersion` on the `normal`
    buckets without each column's top :data:`FIRST_PASS_TRIM` of them by standardised
    excess.

    The seasonal mean leaves out a bucket's own day, so an outage does not raise the mean
    around itself, and with two days of history or more the trimmed share covers an
    outage of an hour or more.
    """
    return _dispersion(y, resid, mu_sq, normal & _below_top(resid, floor, FIRST_PASS_TRIM))


def _pair_dispersion(y: np.ndarray, resid: np.ndarray, mu_sq: np.ndarray,
                     floor: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Robust dispersion of the rolling method, from consecutive buckets.

    With under two days of history an outage can be a large share of the buckets, and it
    raises the rolling mean around itself: moments of the residuals would take it for
    noise, however many of the top buckets were left out. Differences of consecutive
    buckets do not see an outage's level, only its two edges. For independent
    negative-binomial noise around a slowly moving mean,

    ``E[(y_t - y_{t-1})^2 - y_t - y_{t-1}] = alpha (mu_t^2 + mu_{t-1}^2) ~ 2 alpha E[y_t y_{t-1}]``

    which needs no mean, so the buckets of an outage count as noise at the outage's own
    level. Pairs whose difference is more than :data:`MASK_Z` standard deviations from
    zero (variance ``y_t + y_{t-1} + 2 alpha y_t y_{t-1}``) are left out, as the mask
    leaves out buckets. The estimate starts from Poisson noise (``alpha = 0``) and a pair once
    kept stays kept, so the pairs kept only grow and the iteration ends when the estimate
    takes in no further pair: the edges of outages, many standard deviations out, stay
    out.

    Differences see only the noise that changes from one bucket to the next, not bursts
    that last a while: the estimate only decides the masks, and the last pass
    re-estimates the dispersion by moments on the normal buckets. It depends on the
    counts alone: `resid`, `mu_sq`, `floor` and `normal` (see :data:`RobustDispersion`)
    are not needed.

    Parameters
    ----------
    y : np.ndarray
        Counts, time along axis 0 (NaN = missing; pairs with a missing bucket are left out).

    Returns
    -------
    np.ndarray
        ``alpha`` per column, in ``[0, 100]`` as :func:`_dispersion`.
    """
    step = np.diff(y, axis=0)
    total = y[1:] + y[:-1]
    cross = 2.0 * y[1:] * y[:-1]
    excess = np.square(step) - total
    known = ~np.isnan(excess)
    bound = np.abs(step)
    bound[~known] = np.inf
    alpha = np.zeros(y.shape[1])
    kept = np.zeros_like(known)
    while True:
        # Kept pairs stay kept, so that the loop ends even at the last bit of a float.
        within = kept | (bound <= MASK_Z * np.sqrt(total + alpha * cross + 0.25))
        if np.array_equal(within, kept):
            return alpha
        kept = within
        num = np.where(kept, excess, 0.0).sum(axis=0)
        den = np.where(kept, cross, 0.0).sum(axis=0)
        alpha = np.clip(np.divide(num, den, out=np.zeros_like(num), where=den > 0), 0.0, 100.0)


def _dispersion(y: np.ndarray, resid: np.ndarray, mu_sq: np.ndarray,
                use: np.ndarray) -> np.ndarray:
    """Method-of-moments negative-binomial dispersion per column.

    Uses ``E[(y - mu)^2 - y] = alpha * mu^2`` over the buckets flagged in `use`, from the
    residuals ``y - mu`` and ``mu^2``.
    """
    excess = np.square(resid)
    excess -= y
    np.copyto(excess, 0.0, where=~use)
    num = _row_order_sum(excess)
    den = _row_order_sum(np.where(use, mu_sq, 0.0))
    alpha = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return np.clip(alpha, 0.0, 100.0)


def _variance_inflation(resid: np.ndarray, var: np.ndarray, normal: np.ndarray,
                        block: int) -> np.ndarray:
    """Variance of block sums of Pearson residuals over the block length, per column.

    `resid` is ``y - mu`` and `var` the variance of the noise model. Estimated robustly
    from the median of the squared block sums; only blocks made entirely of normal
    buckets count. 1 where the residuals are independent; larger where noise persists
    over several buckets (bursts).
    """
    n, p = resid.shape
    out = np.ones(p)
    if block < 2 or n < block * MIN_BLOCKS:
        return out
    pearson = np.sqrt(var)
    np.divide(resid, pearson, out=pearson)
    np.copyto(pearson, 0.0, where=~normal)
    usable = (n // block) * block
    # Summed in C order, as by _row_order_sum: the buckets of a block one after the other.
    sums = np.ascontiguousarray(pearson[:usable]).reshape(-1, block, p).sum(axis=1)
    full = normal[:usable].reshape(-1, block, p).all(axis=1)
    count = full.sum(axis=0)
    ok = count >= MIN_BLOCKS
    squares = np.where(full, sums**2 / block, np.nan)
    # Median over blocks (a chi-square with one degree of freedom has median 0.455), so
    # that a minority of disturbed hours (a level shift, an unmasked outage edge) does
    # not count as noise. Incomplete blocks (NaN) sort last: the median of the first
    # `count` values of each sorted column is that of its complete blocks.
    ordered = np.sort(squares[:, ok], axis=0)
    size = count[ok]
    cols = np.arange(len(size))
    median = (ordered[(size - 1) // 2, cols] + ordered[size // 2, cols]) / 2
    out[ok] = np.maximum(median / CHI2_1_MEDIAN, 1.0)
    return out
