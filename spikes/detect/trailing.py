"""Causal seasonal baseline: each bucket's usual volume from the days before it only.

The live counterpart of :func:`spikes.detect.baseline.fit_baseline`. Everything said
about a bucket of day ``d`` rests on days ``< d`` (and, for the warm-up, on earlier
buckets of the same day), so that a run that stops at any time gives the same values as
one that goes on:

- **mean**: the same time of day (a window of neighbouring slots, widened where it holds
  fewer than :data:`~spikes.detect.baseline.MIN_POOL_REPORTS` reports) on the previous
  ``days`` days; once the history holds ``weekly_min_days`` days, on the previous days of
  the same kind (weekdays, or weekend days). A slot window is cut at the end of its own
  day, so a window of yesterday never reaches into today;
- **mask**: a bucket more than :data:`~spikes.detect.baseline.MASK_Z` standard deviations
  above its baseline (and its neighbours in its day) is left out of the pools of later
  days, so a past outage does not raise the baseline after it (once the baseline rests on
  :data:`MIN_MASK_DAYS` days);
- **noise**: the negative-binomial dispersion and the one-hour variance inflation are
  refitted at every midnight from the normal buckets of the previous ``days`` days, and
  hold for the whole day (a live service refits once a day).

Warm-up: the first day of a product has no time-of-day history. Its baseline is the mean
of the normal buckets of the :data:`WARMUP_WINDOW` before each bucket (the dashboard can
show it), and its noise is taken as Poisson; detection raises nothing in that day (see
:data:`spikes.detect.causal.WARMUP`). Bucket sizes that do not divide a day use that
trailing mean throughout.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from spikes.detect.baseline import (
    CHI2_1_MEDIAN,
    DAY,
    INFLATION_SCALE,
    MASK_Z,
    MIN_BLOCKS,
    MIN_MEAN,
    MIN_POOL_REPORTS,
    PASSES,
    Baseline,
    _fit_columns,
    _moving_sum,
    _pair_dispersion,
    _rolling_mean,
)

#: Trailing window of the warm-up mean (first day, and bucket sizes that do not divide a day).
WARMUP_WINDOW = pd.Timedelta(hours=6)
#: Earlier days a baseline must rest on before it masks a day's buckets as unusual on its
#: own: with one, a disagreement between two days cannot tell which of them is unusual,
#: and masking today against yesterday would keep today's normal level out of every later
#: pool; such a day masks only what also stands out from the hours before it.
MIN_MASK_DAYS = 2
#: Days (of the same kind: weekday or weekend) whose fit sets the level factor.
LEVEL_DAYS = 2
#: Bound on the level factor (see _SeasonalFit._level).
MAX_LEVEL_FACTOR = 5.0
#: Products fitted together (the cached day pools of a block stay small).
FIT_COLUMNS = 64


def fit_trailing_baseline(
    counts: pd.DataFrame,
    bucket: pd.Timedelta,
    *,
    days: int = 14,
    smoothing: str | pd.Timedelta = "30min",
    weekly_min_days: int = 14,
    exclude: np.ndarray | None = None,
) -> Baseline:
    """Estimate a causal seasonal baseline and its noise for every product.

    Parameters
    ----------
    counts : pd.DataFrame
        Reports per bucket (regular UTC index, one column per product, NaN = missing).
    bucket : pd.Timedelta
        Bucket size of the index.
    days : int
        Days before a bucket that contribute to its baseline.
    smoothing : str or pd.Timedelta
        Width of the time-of-day window pooled into each value.
    weekly_min_days : int
        From this many days of history on, weekdays and weekends are pooled apart.
    exclude : np.ndarray, optional
        Boolean, the shape of `counts`: buckets kept out of the history (known-event
        windows, :meth:`spikes.detect.known_events.Calendar.mask`), as masked outages
        are: they get a baseline from earlier days, but no later pool, level factor or
        noise estimate rests on them. The windows are planned ahead, so this is causal.

    Returns
    -------
    Baseline
        With ``causal=True``; ``dispersion_path`` and ``inflation_path`` hold the values in
        force at each bucket, ``dispersion`` and ``inflation`` those of the last bucket.

    Examples
    --------
    >>> idx = pd.date_range("2026-01-01", periods=288 * 3, freq="5min", tz="UTC")
    >>> counts = pd.DataFrame({"app": 10.0}, index=idx)
    >>> float(fit_trailing_baseline(counts, pd.Timedelta("5min")).expected["app"].iloc[-1])
    10.0
    """
    bucket = pd.Timedelta(bucket)
    y = np.asfortranarray(counts.to_numpy(dtype=float))
    if exclude is not None and exclude.any():
        y = np.asfortranarray(np.where(exclude, np.nan, y))
    n, p = y.shape
    slots_f = DAY / bucket
    block = max(1, int(INFLATION_SCALE / bucket))
    warm = max(1, int(WARMUP_WINDOW / bucket))
    if n and float(slots_f).is_integer() and slots_f >= 1:
        fit = _SeasonalFit(counts.index, int(slots_f), int(pd.Timedelta(smoothing) / bucket) // 2,
                           days, weekly_min_days, block, warm)
        mu, alpha = np.empty((n, p), order="F"), np.empty((n, p), order="F")
        inflation = np.empty((n, p), order="F")
        normal = np.empty((n, p), dtype=bool, order="F")
        learning = np.empty((n, p), dtype=bool, order="F")
        for start in range(0, p, FIT_COLUMNS):
            cols = slice(start, min(start + FIT_COLUMNS, p))
            (mu[:, cols], normal[:, cols], alpha[:, cols], inflation[:, cols],
             learning[:, cols]) = fit.run(y[:, cols])
        method = "weekly" if fit.n_days - 1 >= weekly_min_days else "daily"
    else:
        mu, normal = _trailing_mean_two_pass(y, warm)
        alpha, inflation = np.zeros((n, p)), np.ones((n, p))
        learning = np.zeros((n, p), dtype=bool)
        method = "rolling"
    # Buckets without any earlier history of their time of day (a product that starts
    # later than the others, a slot never seen) are learning too: no evidence there.
    learning |= np.isnan(mu)
    _fill_without_history(mu, y)
    frame = dict(index=counts.index, columns=counts.columns, copy=False)
    last_alpha = alpha[-1] if n else np.zeros(p)
    last_inflation = inflation[-1] if n else np.ones(p)
    return Baseline(
        expected=pd.DataFrame(mu, **frame),
        dispersion=pd.Series(last_alpha, index=counts.columns, name="dispersion"),
        normal=pd.DataFrame(normal, **frame),
        method=method,
        inflation=pd.Series(last_inflation, index=counts.columns, name="inflation"),
        dispersion_path=pd.DataFrame(alpha, **frame),
        inflation_path=pd.DataFrame(inflation, **frame),
        causal=True,
        learning=pd.DataFrame(learning, **frame),
    )


def _fill_without_history(mu: np.ndarray, y: np.ndarray) -> None:
    """Give buckets without any earlier data (a product's first buckets) the mean of its
    counts so far, themselves included (0 before any), in place: a value to show, in the
    warm-up, where nothing is raised."""
    missing = np.isnan(mu)
    if not missing.any():
        return
    observed = ~np.isnan(y)
    total = np.cumsum(np.where(observed, y, 0.0), axis=0)
    seen = np.cumsum(observed, axis=0)
    so_far = np.divide(total, seen, out=np.zeros_like(total), where=seen > 0)
    mu[missing] = so_far[missing]


def _centred_fit(y: np.ndarray, warm: int, block: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Baseline, normal flags and dispersion of a past stretch from itself alone: the
    retrospective rolling method of :mod:`spikes.detect.baseline` (a centred rolling
    mean, masks from differences of consecutive buckets)."""
    mean_of = partial(_rolling_mean, half_window=max(1, warm // 2))
    mu, normal, alpha, _ = _fit_columns(y, mean_of, block, _pair_dispersion, PASSES)
    return mu, normal, alpha


def _trailing_mean(values: np.ndarray, weights: np.ndarray, window: int) -> np.ndarray:
    """Mean of the `window` buckets before each bucket (not itself), NaN without any."""
    n = len(values)
    cv = np.zeros((n + 1, *values.shape[1:]))
    cw = np.zeros_like(cv)
    np.cumsum(values, axis=0, out=cv[1:])
    np.cumsum(weights, axis=0, out=cw[1:])
    stop = np.arange(n)
    start = np.maximum(stop - window, 0)
    total, weight = cv[stop] - cv[start], cw[stop] - cw[start]
    return np.divide(total, weight, out=np.full_like(total, np.nan), where=weight > 0)


def _mask(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Buckets to keep as normal: observed and not (next to one) ``MASK_Z`` high."""
    observed = ~np.isnan(y)
    known = ~np.isnan(mu)
    mu_c = np.where(known, mu, 0.0)
    z = (y - mu_c) / np.sqrt(np.maximum(mu_c, MIN_MEAN) + alpha * np.square(mu_c) + 0.25)
    high = (z > MASK_Z) & known  # no baseline yet: nothing to compare with
    flagged = high.copy()
    flagged[1:] |= high[:-1]
    flagged[:-1] |= high[1:]
    return observed & ~flagged


def _trailing_mean_two_pass(y: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Trailing mean of all observed buckets, then of the buckets it finds normal.

    Both passes are causal: the mask of a bucket uses the first-pass mean, which rests on
    earlier buckets only, and the second-pass mean uses the masks of earlier buckets.
    """
    observed = ~np.isnan(y)
    values = np.where(observed, y, 0.0)
    first = _trailing_mean(values, observed.astype(float), window)
    normal = _mask(y, first, 0.0)
    mean = _trailing_mean(np.where(normal, y, 0.0), normal.astype(float), window)
    return np.where(np.isnan(mean), first, mean), normal


class _SeasonalFit:
    """The day-by-day fit of :func:`fit_trailing_baseline` (all products at once)."""

    def __init__(self, index: pd.DatetimeIndex, slots: int, half_window: int, days: int,
                 weekly_min_days: int, block: int, warm: int) -> None:
        first = index[0]
        self.slots = slots
        self.offset = int((first - first.normalize()) / (DAY / slots))
        n = len(index)
        self.n_days = -(-(self.offset + n) // slots)
        day_starts = first.normalize() + pd.to_timedelta(np.arange(self.n_days), unit="D")
        self.weekend = np.asarray(day_starts.day_of_week >= 5)
        self.days = days
        self.weekly_min_days = weekly_min_days
        # Days of each kind pooled once weekly: about `days` calendar days' worth.
        self.reach = {True: max(1, round(days * 2 / 7)), False: max(1, round(days * 5 / 7))}
        widths = [half_window]
        while widths[-1] < slots // 4:
            widths.append(max(2 * widths[-1], 1))
        self.widths = widths
        self.block = block
        self.warm = warm
        self.n = n

    def rows(self, day: int) -> slice:
        """Rows of the series in `day` (the first and last day may be partial)."""
        start = max(day * self.slots - self.offset, 0)
        return slice(start, min((day + 1) * self.slots - self.offset, self.n))

    def contribution(self, y: np.ndarray, normal: np.ndarray, day: int,
                     width: int) -> np.ndarray:
        """Pooled (values, weights) of `day` on the slot grid for one window width: each
        slot's sum over ``[slot - width, slot + width]``, cut at the end of the day."""
        rows = self.rows(day)
        lead = max(rows.start - width, 0)
        seg_y, seg_n = y[lead : rows.stop], normal[lead : rows.stop]
        p = y.shape[1]
        both = np.zeros((len(seg_y), 2 * p))
        np.copyto(both[:, :p], seg_y, where=seg_n)
        both[:, p:] = seg_n
        sums = _moving_sum(both, width)[rows.start - lead :]
        grid = np.zeros((self.slots, 2 * p))
        first_slot = rows.start + self.offset - day * self.slots
        grid[first_slot : first_slot + len(sums)] = sums
        return grid

    def pool_days(self, day: int) -> list[int]:
        """The earlier days whose same time of day makes the baseline of `day`."""
        if day < 1:
            return []
        if day >= self.weekly_min_days:
            kind = self.weekend[day]
            same = [d for d in range(day - 1, -1, -1) if self.weekend[d] == kind]
            return same[: self.reach[bool(kind)]]
        return list(range(max(0, day - self.days), day))

    def run(self, y: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Baseline, normal flags, dispersion and inflation paths and the warm-up flags,
        day after day."""
        n, p = y.shape
        mu = np.full((n, p), np.nan, order="F")
        normal = np.zeros((n, p), dtype=bool, order="F")
        alpha = np.zeros((n, p), order="F")
        inflation = np.ones((n, p), order="F")
        learning = np.zeros((n, p), dtype=bool, order="F")
        observed = ~np.isnan(y)
        # Per day: contributions per width (cached while in reach), moments for the
        # dispersion, one-hour block statistics for the inflation.
        cache: dict[tuple[int, int], np.ndarray] = {}
        excess_sum = np.zeros((self.n_days, p))
        musq_sum = np.zeros((self.n_days, p))
        # Per day: normal reports and what the unscaled all-days pool expected of them.
        level_y = np.zeros((self.n_days, p))
        level_m = np.zeros((self.n_days, p))
        had_data = np.zeros(p, dtype=bool)  # products with data on an earlier day
        block_stats: list[np.ndarray] = []
        for day in range(self.n_days):
            rows = self.rows(day)
            if rows.stop <= rows.start:
                block_stats.append(np.full((0, p), np.nan))
                continue
            pool = self.pool_days(day)
            yd = y[rows]
            if not pool:
                # Warm-up: the baseline shown is the trailing mean of the earlier buckets
                # of this first day. Nothing is decided on it; what later days take from
                # the day (its normal buckets and its noise) comes, once the day is over,
                # from a centred fit of the day alone (hindsight over a past day only).
                first = _trailing_mean(np.where(observed[rows], yd, 0.0),
                                       observed[rows].astype(float), self.warm)
                keep = _mask(yd, first, 0.0)
                second = _trailing_mean(np.where(keep, yd, 0.0), keep.astype(float), self.warm)
                mu_d = np.where(np.isnan(second), first, second)
                alpha_d, infl_d = np.zeros(p), np.ones(p)
                learning[rows] = True
                mu_c, keep_c, alpha_c = _centred_fit(yd, self.warm, self.block)
                normal[rows] = keep_c
                mu[rows], alpha[rows], inflation[rows] = mu_d, alpha_d, infl_d
                self._noise(day, yd, mu_c, keep_c, alpha_c, excess_sum, musq_sum, block_stats)
                had_data |= observed[rows].any(axis=0)
                continue
            else:
                raw_d = self._pooled(y, normal, pool, rows, cache)
                history = [d for d in range(max(0, day - self.days), day)]
                mu_d = raw_d * self._level(level_y, level_m, history, day)
                num, den = excess_sum[history].sum(axis=0), musq_sum[history].sum(axis=0)
                alpha_d = np.clip(np.divide(num, den, out=np.zeros(p), where=den > 0), 0, 100)
                infl_d = _inflation(block_stats[max(0, day - self.days) : day], p)
            mu[rows] = mu_d
            alpha[rows] = alpha_d
            inflation[rows] = infl_d
            if len(pool) >= MIN_MASK_DAYS:
                keep = _mask(yd, mu_d, alpha_d[None, :])
            elif pool:
                # One earlier day cannot tell which of two days is unusual: a bucket is
                # masked only if it also stands out from the hours just before it (an
                # outage does; a different level all day long does not).
                lead = max(rows.start - self.warm, 0)
                seg = y[lead : rows.stop]
                seen = ~np.isnan(seg)
                recent = _trailing_mean(np.where(seen, seg, 0.0), seen.astype(float),
                                        self.warm)[rows.start - lead :]
                keep = _mask(yd, mu_d, alpha_d[None, :]) | _mask(yd, recent, alpha_d[None, :])
            normal[rows] = keep
            use = keep & ~np.isnan(mu_d)
            level_y[day] = np.where(use, yd, 0.0).sum(axis=0)
            level_m[day] = np.where(use, raw_d, 0.0).sum(axis=0)
            self._noise(day, yd, mu_d, keep, alpha_d, excess_sum, musq_sum, block_stats)
            fresh = np.flatnonzero(~had_data & observed[rows].any(axis=0))
            if len(fresh):
                # Products whose data start today: today is their warm-up, as the first
                # day is everyone's (their pools are empty, so nothing would be masked).
                self._warm_up_columns(day, rows, yd, fresh, normal, excess_sum, musq_sum,
                                      block_stats, level_y, level_m)
            had_data |= observed[rows].any(axis=0)
            # Contributions of days that no later day pools any more are dropped.
            for key in [k for k in cache if k[0] < day - max(self.days, 2 * self.reach[False])]:
                del cache[key]
        return mu, normal, alpha, inflation, learning

    def _warm_up_columns(self, day: int, rows: slice, yd: np.ndarray, cols: np.ndarray,
                         normal: np.ndarray, excess_sum: np.ndarray, musq_sum: np.ndarray,
                         block_stats: list[np.ndarray], level_y: np.ndarray,
                         level_m: np.ndarray) -> None:
        """The day's masks and noise of the products `cols` from a centred fit of the day
        (their first day of data), as for everyone's first day."""
        sub = yd[:, cols]
        mu_c, keep_c, alpha_c = _centred_fit(sub, self.warm, self.block)
        normal[rows.start : rows.stop, cols] = keep_c
        resid = sub - mu_c
        use = keep_c & ~np.isnan(mu_c)
        excess_sum[day, cols] = np.where(use, np.square(resid) - sub, 0.0).sum(axis=0)
        musq_sum[day, cols] = np.where(use, np.square(mu_c), 0.0).sum(axis=0)
        var = np.maximum(mu_c, MIN_MEAN) + alpha_c[None, :] * np.square(mu_c)
        stats = _block_squares(resid, var, use, self.block)
        if len(stats):
            block_stats[-1][:, cols] = stats
        level_y[day, cols] = 0.0
        level_m[day, cols] = 0.0

    def _noise(self, day: int, yd: np.ndarray, mu_d: np.ndarray, keep: np.ndarray,
               alpha_d: np.ndarray, excess_sum: np.ndarray, musq_sum: np.ndarray,
               block_stats: list[np.ndarray]) -> None:
        """Record the day's noise statistics (moments for the dispersion, one-hour block
        sums for the inflation) of its normal buckets around `mu_d`."""
        resid = yd - mu_d
        use = keep & ~np.isnan(mu_d)
        excess_sum[day] = np.where(use, np.square(resid) - yd, 0.0).sum(axis=0)
        musq_sum[day] = np.where(use, np.square(mu_d), 0.0).sum(axis=0)
        var = np.maximum(mu_d, MIN_MEAN) + np.asarray(alpha_d)[None, :] * np.square(mu_d)
        block_stats.append(_block_squares(resid, var, use, self.block))

    def _level(self, level_y: np.ndarray, level_m: np.ndarray, history: list[int],
               day: int) -> np.ndarray:
        """Level factor of `day`: the normal reports of the last :data:`LEVEL_DAYS` days
        of its kind over what their unscaled pools expected, shrunk towards 1 by
        :data:`~spikes.detect.baseline.MIN_POOL_REPORTS` reports each way. It follows a
        slow drift (the pools lag by about half their span) and, while all days are
        pooled together, a weekly rhythm."""
        same = [d for d in history if self.weekend[d] == self.weekend[day]][-LEVEL_DAYS:]
        seen_y = level_y[same].sum(axis=0) + MIN_POOL_REPORTS
        seen_m = level_m[same].sum(axis=0) + MIN_POOL_REPORTS
        return np.clip(seen_y / seen_m, 1 / MAX_LEVEL_FACTOR, MAX_LEVEL_FACTOR)

    def _pooled(self, y: np.ndarray, normal: np.ndarray, pool: list[int], rows: slice,
                cache: dict[tuple[int, int], np.ndarray]) -> np.ndarray:
        """Mean of the pooled same-time-of-day values of the days `pool`, widening the
        window where it rests on fewer than MIN_POOL_REPORTS reports."""
        p = y.shape[1]
        first_slot = (rows.start + self.offset) % self.slots
        take = slice(first_slot, first_slot + rows.stop - rows.start)
        mean = np.full((rows.stop - rows.start, p), np.nan)
        for i, width in enumerate(self.widths):
            total = np.zeros((self.slots, 2 * p))
            for d in pool:
                key = (d, width)
                if key not in cache:
                    cache[key] = self.contribution(y, normal, d, width)
                total += cache[key]
            values, weights = total[take, :p], total[take, p:]
            est = np.divide(values, weights, out=np.full_like(values, np.nan),
                            where=weights > 0)
            fill = np.isnan(mean) & ~np.isnan(est)
            if i < len(self.widths) - 1:
                fill &= values >= MIN_POOL_REPORTS
            mean[fill] = est[fill]
            if not np.isnan(mean).any():
                break
        return mean


def _block_squares(resid: np.ndarray, var: np.ndarray, use: np.ndarray,
                   block: int) -> np.ndarray:
    """Squared sums of Pearson residuals over whole one-hour blocks of normal buckets
    (divided by the block length), NaN for blocks that are not all normal."""
    n, p = resid.shape
    usable = (n // block) * block
    if block < 2 or usable == 0:
        return np.full((0, p), np.nan)
    pearson = np.where(use, resid / np.sqrt(var), 0.0)[:usable].reshape(-1, block, p)
    full = use[:usable].reshape(-1, block, p).all(axis=1)
    return np.where(full, pearson.sum(axis=1) ** 2 / block, np.nan)


def _inflation(stats: list[np.ndarray], p: int) -> np.ndarray:
    """Variance inflation from the block statistics of the history (median, as
    :func:`spikes.detect.baseline._variance_inflation`), 1 with under MIN_BLOCKS blocks."""
    out = np.ones(p)
    if not stats:
        return out
    squares = np.concatenate(stats, axis=0)
    count = (~np.isnan(squares)).sum(axis=0)
    ok = count >= MIN_BLOCKS
    if ok.any():
        median = np.nanmedian(squares[:, ok], axis=0)
        out[ok] = np.maximum(median / CHI2_1_MEDIAN, 1.0)
    return out
