"""Causal seasonal baseline: each bucket's usual volume from the days before it only.

The live counterpart of :func:`spikes.detect.baseline.fit_baseline`. Everything said
about a bucket of day ``d`` rests on days ``< d`` (and, for the warm-up, on earlier
buckets of the same day), so that a run that stops at any time gives the same values as
one that goes on:

- **mean**: the same time of day (a window of neighbouring slots, widened where it holds
  fewer than :data:`~spikes.detect.day_pools.MIN_POOL_REPORTS` reports) on the previous
  ``days`` days; from ``weekly_min_days`` days of its own data on, the days of the same
  kind (weekdays, or weekend days). A slot window is cut at the end of its own day, so a
  window of yesterday never reaches into today;
- **mask**: a bucket more than :data:`~spikes.detect.baseline.MASK_Z` standard deviations
  above its baseline (and its neighbours in its day) is left out of the pools of later
  days, so a past outage does not raise the baseline after it (once the baseline rests on
  :data:`MIN_MASK_DAYS` days, and at that time of day on a day other than the product's
  warm-up day: where the other days' buckets were all masked against a dip of the
  warm-up day, they would be masked for as long as it is pooled; such a bucket is
  masked only where it also stands out from the normal hours before it). A day with more than
  half its buckets that high (not counting the neighbours; a missing bucket counts as
  not high) moved to a new level instead (a launch, a feed that grew): it is pooled
  whole, so that the baseline follows a lasting rise within a day or two rather than
  calling every later day an outage, and its residuals stay out of the noise
  statistics. The next day of its kind
  judges the level: where its reports fall back below the geometric midpoint of the
  old and the new level, the day was an outage of more than half a day after all (a
  news day, a long failure), and it is masked as one from then on
  (``_SeasonalFit.fall_back``); where the level held and the days before it were at one
  level, those days are pooled at the new level from then on (``_SeasonalFit.rebase``:
  the pools of the next two weeks would otherwise mix both levels). That day is
  judged bucket by bucket too: once its
  reports so far stand ``MASK_Z`` standard deviations under the midpoint (from its
  first hour), the level is taken back at once and the rest of the day gets the
  baseline without it (:mod:`spikes.detect.trailing_watch`). A time of day masked on
  every pooled day (observed on at least :data:`MIN_MASK_DAYS` of them, their levels
  there within :data:`~spikes.detect.recurring.STUCK_AGREEMENT` of each other)
  is pooled unmasked: a level seen there every day is its usual level (a busy
  evening), and its baseline would otherwise come from the neighbouring times of day,
  mask it again and hold the mask for good; a time of day whose own level on the
  pooled days agrees and stands far from its window's (a daily peak of a few buckets)
  is pooled alone, and one whose pooled days of the same weekday agree at twice the other
  days' level or more (a Monday rush) is taken from them
  (:func:`~spikes.detect.trailing_recurring.with_recurring`);
- **low days**: a day whose reports fell under half its baseline's (a holiday, a feed
  that sent zeros) is left out of the later level factors and noise statistics until
  the fall has lasted :data:`~spikes.detect.trailing_level.LOW_DAYS_TO_LEVEL` days of its
  kind (:mod:`spikes.detect.trailing_level`); then the days before it are pooled at its
  level, and the later days of its kinds judge, bucket by bucket, whether it ended
  (:func:`~spikes.detect.trailing_adopted.rebase_fall`,
  :func:`~spikes.detect.trailing_adopted.end_fall`);
- **noise**: the negative-binomial dispersion and the one-hour variance inflation are
  refitted at every midnight from the normal buckets of the previous ``days`` days, and
  hold for the whole day (a live service refits once a day).

Warm-up: the first day of a product (the calendar day of its first data: the data's
first day, or a later one for a product that appears later) has no time-of-day history.
There (the cold start) each bucket's baseline is the mean of the normal buckets of the
:data:`WARMUP_WINDOW` before it (the dashboard can show it), and its dispersion that of
the day's normal buckets before it; the per-bucket tail detector scores it, and only a
jump is raised there (see :data:`spikes.detect.causal.WARMUP`). Later days take nothing
from a first day's baseline; they pool its buckets as a centred fit of the day masks
them, all of them where that fit masked more than half (a daily cycle steeper than it
follows). The next day judges what the fit kept: where its buckets stand far under a
baseline that rests on the first day alone (:data:`WARM_UP_ERROR_FACTOR`), they show an
outage the fit did not mask. They stay out of the level factor, and the first day's
buckets there that stood out from its normal hours before them are masked from then on
(``_SeasonalFit._judge_warm_up``). Bucket sizes that do not divide a day use that
trailing mean throughout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spikes.detect.baseline import (
    DAY,
    INFLATION_SCALE,
    MIN_MEAN,
    MIN_POOL_REPORTS,
    Baseline,
    _moving_sum,
)
from spikes.detect.days import SATURDAY, UTC, check_utc_index, day_grid, first_rows
from spikes.detect.trailing_adopted import (
    after_fall,
    check_other_kind,
    fall_to_level,
    held_returns,
    judge,
    rebase,
    rise_of,
    take_back,
)
from spikes.detect.trailing_clock import _LocalClock
from spikes.detect.trailing_level import (
    LEVEL_DAYS,
    keep_low,
    level_factor,
    low_day,
    shape_sums,
    weekend_shape,
)
from spikes.detect.trailing_recurring import (
    MIN_MASK_DAYS,
    unmask_stuck,
    with_recurring,
)
from spikes.detect.trailing_state import _Adoption, _DayPlan, _FitState
from spikes.detect.trailing_watch import judge_bucket, level_watch
from spikes.detect.trailing_windows import (
    _block_squares,
    _centred_fit,
    _column_sums,
    _column_total,
    _far_below,
    _fill_without_history,
    _high,
    _high_over_normal_before,
    _inflation,
    _kept,
    _mask,
    _new_level,
    _ratio,
    _trailing_mean_two_pass,
    _trailing_sum,
    _unless_mostly_masked,
    _upper_dispersion,
)

#: Trailing window of the warm-up mean (first day, and bucket sizes that do not divide a day).
WARMUP_WINDOW = pd.Timedelta(hours=6)
#: Normal buckets of the first day that must precede a bucket before the cold start
#: scores it: two, the fewest a spread can be measured from. The dispersion of a few
#: buckets is a rough estimate; its upper confidence bound
#: (:data:`~spikes.detect.trailing_windows.COLD_DISPERSION_CONFIDENCE`) stands in for
#: it, so that a short history raises the bar rather than removing it (an outage that
#: starts in the data's first hour is judged like any other of that day).
COLD_MIN_BUCKETS = 2
#: Factor under its baseline from which a bucket whose baseline rests on one earlier day
#: (the warm-up day, or a one-day pool) shows an outage of that day rather than its own
#: day's level (the mirror of ``min_ratio``'s default: a dip to half of the usual is no
#: error of the baseline).
WARM_UP_ERROR_FACTOR = 2.0
#: Buckets a day needs for its own buckets to show a new level (more than half of them
#: high, :func:`~spikes.detect.trailing_windows._new_level`); with fewer (buckets of 8
#: hours or more) a new level must also have held the day before.
NEW_LEVEL_SLOTS = 4
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
    utc_offset: str | pd.Timedelta = "0h",
    timezone: str | None = None,
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
    utc_offset : str or pd.Timedelta
        The products' local time as an offset from UTC: days, and so weekdays and
        weekends, begin at their local midnight
        (:func:`~spikes.detect.days.day_grid`).
    timezone : str, optional
        The products' IANA time zone, in place of `utc_offset`: the pools hold the same
        local clock time (:mod:`spikes.detect.trailing_clock`).

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
    check_utc_index(counts.index)
    bucket = pd.Timedelta(bucket)
    raw = counts.to_numpy(dtype=float)
    y = np.asfortranarray(raw)
    if exclude is not None and exclude.any():
        y = np.asfortranarray(np.where(exclude, np.nan, y))
    n, p = y.shape
    slots_f = DAY / bucket
    block = max(1, int(INFLATION_SCALE / bucket))
    warm = max(1, int(WARMUP_WINDOW / bucket))
    if n and float(slots_f).is_integer() and slots_f >= 1:
        mu, alpha, inflation = (np.full((n, p), v, order="F") for v in (np.nan, 0.0, 1.0))
        normal, learning, cold, unshaped = (np.full((n, p), v, order="F")
                                            for v in (False, True, False, False))
        returns = None  # (the rises held as a fall's end: most series hold none)
        method = "daily"
        # A product's days count from its own first data (its warm-up, when weekdays and
        # weekends are pooled apart), not from the other products' (a fit per first row).
        for first, members in first_rows(raw).items():
            fit = _SeasonalFit(counts.index[first], int(slots_f),
                               int(pd.Timedelta(smoothing) / bucket) // 2, days,
                               weekly_min_days, block, warm, n=n - first,
                               utc_offset=pd.Timedelta(utc_offset), timezone=timezone)
            for at in range(0, len(members), FIT_COLUMNS):
                chosen = members[at : at + FIT_COLUMNS]
                contiguous = chosen[-1] - chosen[0] == len(chosen) - 1
                cols = slice(chosen[0], chosen[-1] + 1) if contiguous else chosen
                *parts, held = fit.run(y[first:, cols])
                for whole, values in zip((mu, normal, alpha, inflation, learning, cold,
                                          unshaped), parts, strict=True):
                    whole[first:, cols] = values
                if held is not None:
                    returns = np.zeros((n, p), order="F") if returns is None else returns
                    returns[first:, cols] = held
            method = "weekly" if fit.n_days - 1 >= weekly_min_days else method
    else:
        mu, normal = _trailing_mean_two_pass(y, warm)
        alpha, inflation = np.zeros((n, p)), np.ones((n, p))
        learning, cold, unshaped = (np.zeros((n, p), dtype=bool) for _ in range(3))
        returns, method = None, "rolling"
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
        cold=pd.DataFrame(cold, **frame),
        unshaped=pd.DataFrame(unshaped, **frame),
        returns=None if returns is None else pd.DataFrame(returns, **frame),
    )


class _SeasonalFit(_LocalClock):
    """The day-by-day fit of :func:`fit_trailing_baseline` (all products at once).

    One implementation for both drivers: :meth:`run` steps through every day of a
    series, :class:`spikes.detect.stream.StreamDetector` steps the same :meth:`plan`
    (at a day's first bucket) and :meth:`finish` (once the day is over) as buckets
    arrive. The arrays ``y`` and ``normal`` given to them may hold a later part of the
    series only: row ``r`` of the series is their row ``r - origin``.
    """

    def __init__(self, first: pd.Timestamp, slots: int, half_window: int, days: int,
                 weekly_min_days: int, block: int, warm: int, n: int | None = None,
                 utc_offset: pd.Timedelta = UTC, timezone: str | None = None) -> None:
        self.slots = slots
        utc_offset = self.set_clock(timezone, first, utc_offset)  # (trailing_clock)
        # Days begin at the products' local midnight (see day_grid).
        self.first_day, self.dow0 = day_grid(first, DAY / slots, utc_offset)
        self.offset = int((first - self.first_day) / (DAY / slots))
        self.n = n  # rows of the series (None: open-ended, a stream)
        self.n_days = -(-(self.offset + n) // slots) if n is not None else 0
        self.days = days
        self.weekly_min_days = weekly_min_days
        # Days of each kind pooled once weekly: about `days` calendar days' worth.
        self.reach = {True: max(1, round(days * 2 / 7)), False: max(1, round(days * 5 / 7))}
        # How many days back a day's pools reach: `days`, or a pool of its kind (the
        # Saturday after a Sunday reaches six days back for one weekend day).
        self.reach_days = max(days, 2 * self.reach[False], self._kind_span())
        widths = [half_window]
        while widths[-1] < slots // 4:
            widths.append(max(2 * widths[-1], 1))
        self.widths = widths
        self.block = block
        self.warm = warm

    def weekend(self, day: int) -> bool:
        """Whether `day` (counted from the first day of the series) is a Saturday or Sunday."""
        return (self.dow0 + day) % 7 >= SATURDAY

    def rows(self, day: int) -> slice:
        """Rows of the series in `day` (the first and last day may be partial)."""
        start = max(day * self.slots - self.offset, 0)
        stop = (day + 1) * self.slots - self.offset
        return slice(start, stop if self.n is None else min(stop, self.n))

    def history_days(self) -> int:
        """Days before the current one whose rows (counts, normal flags) a day may read:
        its pools, and the width of the widest pool window before the first of them."""
        return self.reach_days + 2

    def _kind_span(self) -> int:
        """The most calendar days back that a pool of a day's kind (:meth:`kind_pool`)
        reaches, over the days of the week."""
        far = 0
        for today in range(7):
            kind = today >= SATURDAY
            back = found = 0
            while found < self.reach[kind]:
                back += 1
                found += ((today - back) % 7 >= SATURDAY) == kind
            far = max(far, back)
        return far

    def contribution(self, y: np.ndarray, normal: np.ndarray | None, day: int,
                     width: int, origin: int = 0) -> np.ndarray:
        """Pooled (values, weights) of `day`'s `normal` (None: observed) buckets on the slot grid
        per window width: each slot's sum over ``[slot - width, slot + width]``, cut at day end."""
        rows = self.rows(day)
        lead = max(rows.start - width, 0)
        seg_y = y[lead - origin : rows.stop - origin]
        seg_n = ~np.isnan(seg_y) if normal is None else normal[lead - origin : rows.stop - origin]
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
            return self.kind_pool(day)
        return list(range(max(0, day - self.days), day))

    def kind_pool(self, day: int) -> list[int]:
        """The earlier days of the kind of `day` (weekdays, or weekend days): its pool
        once the kinds are pooled apart, about `days` calendar days' worth, the latest
        first (before that, the pool the level sums of :meth:`before_kinds_apart` days
        are also taken against)."""
        kind = self.weekend(day)
        same = [d for d in range(day - 1, -1, -1) if self.weekend(d) == kind]
        return same[: self.reach[bool(kind)]]

    def before_kinds_apart(self, day: int) -> bool:
        """Whether `day` is one of the last :data:`LEVEL_DAYS` days of its kind before
        weekdays and weekends are pooled apart: a day whose level may set the level
        factor of the first days pooled apart, each over the pool of its own kind (see
        :func:`~spikes.detect.trailing_level.level_factor`). Never the first
        day, the warm-up, which has no level sums."""
        if not 1 <= day < self.weekly_min_days:
            return False
        kind = self.weekend(day)
        last = [d for d in range(self.weekly_min_days - 1, 0, -1) if self.weekend(d) == kind]
        return day in last[:LEVEL_DAYS]

    def run(self, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """Baseline, normal flags, dispersion and inflation paths, the warm-up and
        cold-start flags, the flags of the days whose weekend shape is unknown
        (:func:`~spikes.detect.trailing_level.weekend_shape`) and the rises held as a
        fall's possible end (None: none; :func:`~.trailing_adopted.held_returns`)."""
        n, p = y.shape
        mu = np.full((n, p), np.nan, order="F")
        normal = np.zeros((n, p), dtype=bool, order="F")
        alpha = np.zeros((n, p), order="F")
        inflation = np.ones((n, p), order="F")
        learning = np.zeros((n, p), dtype=bool, order="F")
        cold = np.zeros((n, p), dtype=bool, order="F")
        unshaped = np.zeros((n, p), dtype=bool, order="F")
        returns = None
        state = _FitState(p)
        for day in range(self.n_days):
            rows = self.rows(day)
            if rows.stop <= rows.start:
                continue
            # Warm-up of the products without data before today (everyone's on the
            # first day): the cold start, the trailing mean of today's earlier buckets
            # with their dispersion. Only the per-bucket tail detector scores it; later
            # days take nothing from it (see finish).
            fresh = np.flatnonzero(~state.had_data)
            plan = None
            if day >= 1:
                plan = self.plan(state, y, normal, day, rows)
                if plan.watch is not None:
                    # A new level judged bucket by bucket, as the stream does.
                    for row in range(rows.start, rows.stop):
                        if not plan.watch.active():
                            break
                        judge_bucket(self, state, y, normal, day, rows, plan, row)
                mu[rows] = plan.mu
                alpha[rows] = plan.alpha
                inflation[rows] = plan.inflation
                if plan.unshaped is not None:
                    unshaped[rows] = plan.unshaped
                if plan.returns is not None:
                    returns = np.zeros((n, p), order="F") if returns is None else returns
                    returns[rows] = plan.returns
            if len(fresh):
                mu[rows, fresh], alpha[rows, fresh], cold[rows, fresh] = self.cold_start(
                    y[rows, fresh])
                learning[rows, fresh] = True
            self.finish(state, y, normal, day, rows, plan)
        return mu, normal, alpha, inflation, learning, cold, unshaped, returns

    def cold_start(self, yd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Baseline, dispersion and cold-start flags of the buckets `yd` of the first day
        (so far).

        The baseline is the trailing mean of the normal buckets of the
        :data:`WARMUP_WINDOW` before each (first as :func:`_trailing_mean_two_pass` takes
        them, then masked against the dispersion measured so far); where fewer than half
        the window's buckets are normal, the level has moved (a morning's rise outlasts
        the window's half) and the mean of all of them is taken. The dispersion is that of
        the day's earlier normal buckets around their baseline, by the method of moments. Each
        bucket's values rest on the buckets up to it only, so a prefix of the day gives
        the values the whole day gives. The dispersion is taken at its upper confidence
        bound (:func:`_upper_dispersion`): a few buckets measure it roughly, and a rough
        measure must not pass an ordinary count for an outage. A bucket is flagged once
        :data:`COLD_MIN_BUCKETS` normal buckets precede it (before that its dispersion is
        0 and unflagged: no evidence). The deviations from a trailing mean include the
        daily cycle's drift across its window, so the dispersion errs high, on the side
        of fewer alarms.
        """
        observed = ~np.isnan(yd)
        values = np.where(observed, yd, 0.0)
        seen = _trailing_sum(observed.astype(float), self.warm)
        everything = _ratio(_trailing_sum(values, self.warm), seen)
        mu = _trailing_mean_two_pass(yd, self.warm)[0]
        alpha = np.zeros(yd.shape)
        count = np.zeros(yd.shape)
        for _ in range(2):
            known = ~np.isnan(mu)
            keep = _mask(yd, mu, alpha) & known
            mean = np.where(known, mu, 0.0)
            spread = np.where(keep, np.square(values - mean), 0.0)
            reports = np.where(keep, values, 0.0)
            square = np.where(keep, np.square(mean), 0.0)
            # Sums over the buckets before each (not itself).
            count = np.cumsum(keep, axis=0) - keep
            alpha = _upper_dispersion(np.cumsum(spread, axis=0) - spread,
                                      np.cumsum(reports, axis=0) - reports,
                                      np.cumsum(square, axis=0) - square, count)
            kept = _trailing_sum(keep.astype(float), self.warm)
            normal = _ratio(_trailing_sum(np.where(keep, values, 0.0), self.warm), kept)
            # Where under half the window is normal (or none), the level has moved.
            mu = np.where((2.0 * kept >= seen) & (kept > 0), normal, everything)
        cold = ~np.isnan(mu) & (count >= COLD_MIN_BUCKETS)
        return mu, np.where(cold, alpha, 0.0), cold

    def plan(self, state: _FitState, y: np.ndarray, normal: np.ndarray, day: int,
             rows: slice, origin: int = 0, watch: bool = True) -> _DayPlan:
        """Baseline and noise of the rows `rows` of `day` (>= 1), from earlier days, with
        the watch over the new levels the day judges (`watch`; a plan made again during
        the day keeps the watch it has)."""
        p = state.p
        pool = self.pool_days(day)
        raw_d, later = self._pooled(state, y, normal, pool, rows, origin)
        history = [d for d in range(max(0, day - self.days), day)]
        level, level_days = level_factor(self, state, history, day)
        scale, unshaped = weekend_shape(self, state, history, day, raw_d, level)
        unshaped = after_fall(self, state, day, unshaped)
        mu_d = raw_d * (level if scale is None else scale)
        num = _column_total(state.rows_of(state.excess_sum, history))
        den = _column_total(state.rows_of(state.musq_sum, history))
        alpha_d = np.clip(np.divide(num, den, out=np.zeros(p), where=den > 0), 0, 100)
        stats = [state.block_stats[d] for d in range(max(0, day - self.days), day)
                 if d in state.block_stats]
        return _DayPlan(pool, raw_d, mu_d, alpha_d, _inflation(stats, p), later, level,
                        level_watch(self, state, y, day, origin) if watch else None,
                        level_days, scale, unshaped,
                        held_returns(self, state, day, len(raw_d)))

    def finish(self, state: _FitState, y: np.ndarray, normal: np.ndarray, day: int,
               rows: slice, plan: _DayPlan | None, origin: int = 0) -> None:
        """Once `day` is over (or the series ends): its normal flags (written to
        `normal`), noise statistics and level sums, from its rows `rows`. `plan` is
        None for the first day, the warm-up."""
        local = slice(rows.start - origin, rows.stop - origin)
        yd = y[local]
        observed = ~np.isnan(yd)
        if plan is None:
            # What later days take from the warm-up day (its normal buckets and its
            # noise) comes from a centred fit of the day alone (hindsight over a past day
            # only).
            mu_c, keep_c, alpha_c = _centred_fit(yd, self.warm, self.block)
            keep_c = _unless_mostly_masked(keep_c, observed)
            normal[local] = keep_c
            self._noise(state, day, yd, mu_c, keep_c, alpha_c)
            state.saw(day, observed.any(axis=0))
            return
        mu_d, alpha_d = plan.mu, plan.alpha
        high = _high(yd, mu_d, alpha_d[None, :])
        # A bucket is masked on its own only where its baseline rests on two earlier
        # days and, at its time of day, on a day other than the product's warm-up day
        # (where every other day's bucket there was masked against a dip of the
        # warm-up day, they would stay masked for as long as it is pooled).
        rests = (plan.later > 0.5) & (len(plan.pool) >= MIN_MASK_DAYS)
        keep = _kept(yd, high)
        if not rests.all():
            # One earlier day cannot tell which of two days is unusual: a bucket is
            # masked only if it also stands out from the normal hours just before it
            # (an outage does, to its last bucket; a different level all day long
            # does not).
            lead = max(rows.start - self.warm, 0)
            above_recent = _high_over_normal_before(
                y[lead - origin : local.stop], normal[lead - origin : local.start], high,
                alpha_d[None, :], self.warm)
            keep |= ~rests & _kept(yd, above_recent)
            high &= rests | above_recent
        shifted = _new_level(high)
        state.mostly_high[day] = shifted
        if self.slots < NEW_LEVEL_SLOTS:
            # A day of fewer than four buckets (8 hours or more) cannot tell an outage
            # from a new level: a new level shows on two days running (a one-day outage
            # taken as one set the next day's baseline at the outage's level, and a
            # second outage went unseen).
            shifted = shifted & state.mostly_high.get(day - 1, np.zeros_like(shifted))
        baselined = ~np.isnan(mu_d)
        ratio = _ratio(*_column_sums(observed & baselined, yd, mu_d))
        raw = plan.raw
        fell, rebased = self.fall_back(state, y, normal, day, ratio, origin)
        # A day that ended a fall, or put its kind back after a fall of the other kind,
        # stood high over the pools scaled to it: no new level (nor noise, if ended).
        ended = np.zeros(state.p, dtype=bool) if plan.watch is None else plan.watch.ended
        restored = check_other_kind(self, state, day, yd, mu_d) | ended
        shifted &= ~restored
        if fell.any() or rebased.any() or restored.any():
            # The pools of today changed with the day taken back, or with the days
            # before a level that held pooled at it: today's level sums compare its
            # reports with what those pools expect.
            raw = np.where((fell | rebased | restored)[None, :],
                           self._pooled(state, y, normal, plan.pool, rows, origin)[0], raw)
        # A day that stood high for most of its buckets moved to a new level: the later
        # pools and level factors take it all (or they would call every later day an
        # outage), its noise statistics none (its residuals are the level's, not noise).
        # A day whose level fell back from such a day keeps its residuals out too: they
        # are the error of the level taken, not noise.
        if plan.watch is not None:
            fell = fell | plan.watch.fell
        # A day far under its baseline (a holiday, a feed that sent zeros) is left out of
        # the later level factors and noise, unless the fall has lasted; its runs of
        # zeros where reports were expected (a dead feed) out of the pools too.
        low, lasting, dead = low_day(self, state, day, yd, mu_d, observed & baselined,
                                     alpha_d, plan)
        low &= ~(shifted | fell | restored)
        lasting &= ~(shifted | fell | restored)
        state.low_days[day] = low
        if lasting.any():
            keep_low(self, state, day, lasting)
            fallen = fall_to_level(self, state, y, normal, day, rows, plan.pool, lasting,
                                   keep & baselined, origin)
            if fallen.any():  # today's level sums against the pools at the fall's level
                raw = np.where(fallen[None, :],
                               self._pooled(state, y, normal, plan.pool, rows, origin)[0], raw)
                rebased = rebased | fallen
        if low.any():
            keep = keep & ~(low[None, :] & dead)
        if rebased.any():
            # A day that confirmed a new level was masked against a baseline that had not
            # caught up with it (its normal buckets would be its lowest): masked again
            # against the pools at the new level, which keeps an outage of that day out.
            again = _kept(yd, _high(yd, raw, alpha_d[None, :]))
            keep = np.where(rebased[None, :], again, keep)
        noise_keep = np.where((shifted | fell | low | rebased | ended)[None, :], False, keep)
        masked = keep
        keep = np.where(shifted[None, :], observed, keep)
        normal[local] = keep
        # Where the baseline rests on one earlier day (the warm-up day, or a one-day
        # pool), a bucket far below it shows an outage of that day that was not masked
        # (the warm-up's centred fit, or one day's masks, let it through), not the day's
        # level: it stays out of the level sums, unless most of the day is that far
        # below (then the level did change). Where that day is the warm-up and its
        # bucket also stood out from the normal hours before it, it is masked from now
        # on, and the day's noise is measured against the baseline the corrected warm-up
        # gives.
        below = np.zeros_like(keep)
        if not rests.all():
            below = ~rests & _far_below(yd, mu_d, WARM_UP_ERROR_FACTOR)
            below &= ~_new_level(below)[None, :]
        mu_noise = mu_d
        if below.any() and self._judge_warm_up(state, y, normal, day, rows, below, alpha_d,
                                               origin).any():
            raw = self._pooled(state, y, normal, plan.pool, rows, origin)[0]
            mu_noise = raw * (plan.level if plan.scale is None else plan.scale)
        level_use = keep & ~below & baselined
        state.level_y[day], state.level_m[day] = _column_sums(level_use & ~low[None, :], yd,
                                                              raw)
        if self.weekend(day) and day < self.weekly_min_days:
            state.shape_sums[day] = shape_sums(level_use & ~low[None, :], yd, raw)
        kind_raw = None
        if self.before_kinds_apart(day):
            # The first days pooled apart take their level factor from this day's
            # reports over the pool of its kind, as they rest on pools of their kind:
            # over today's pool (both kinds) it would hold the weekly rhythm once more.
            kind_raw = self._pooled(state, y, normal, self.kind_pool(day), rows, origin)[0]
            state.level_y_kind[day], state.level_m_kind[day] = _column_sums(
                level_use & ~low[None, :] & ~np.isnan(kind_raw), yd, kind_raw)
        if low.any():
            # What the day gives if its fall lasts, and whether it may (reports, no dead
            # run).
            level_y, level_m = _column_sums(level_use, yd, raw)
            state.low_taken[day] = (level_y, level_m, None if kind_raw is None else
                                    _column_sums(level_use & ~np.isnan(kind_raw), yd, kind_raw),
                                    (level_y > 0) & ~dead.any(axis=0))
        if shifted.any():
            level_y, level_m = _column_sums(masked & ~below & baselined, yd, raw)
            kind_sums = None if kind_raw is None else _column_sums(
                masked & ~below & baselined & ~np.isnan(kind_raw), yd, kind_raw)
            rise = rise_of(yd, raw, observed & baselined)
            state.adopted[day] = _Adoption(jump=np.where(shifted, ratio, np.nan),
                                           masked=masked, level_y=level_y, level_m=level_m,
                                           open=shifted.copy(), kind_sums=kind_sums,
                                           rise=rise)
        self._noise(state, day, yd, mu_noise, noise_keep, alpha_d)
        fresh = np.flatnonzero(~state.had_data & observed.any(axis=0))
        if len(fresh):
            # Products whose data start today: today is their warm-up, as the first
            # day is everyone's (their pools are empty, so nothing would be masked).
            self._warm_up_columns(state, day, local, yd, fresh, normal)
        state.saw(day, observed.any(axis=0))
        # Contributions of days that no later day pools any more are dropped.
        state.forget(day + 1 - self.days, day - self.reach_days)

    def _judge_warm_up(self, state: _FitState, y: np.ndarray, normal: np.ndarray, day: int,
                       rows: slice, below: np.ndarray, alpha_d: np.ndarray,
                       origin: int = 0) -> np.ndarray:
        """Mask the buckets of yesterday's warm-up day that today's buckets `below`
        (far under a baseline resting on the warm-up alone) show to be an outage's: those
        that also stood out from the normal hours before them on the warm-up day
        (:func:`~spikes.detect.trailing_windows._high_over_normal_before`, at the
        dispersion the day was scored with: inflated by the outage if anything, so the
        judgement errs towards keeping). Where today dipped instead, the warm-up's bucket
        is at the level of its hours before and stays pooled. An outage from the data's
        first bucket has no normal hour before it and stays (the level sums still keep
        its error out); the buckets next to a masked one are not masked with it. The
        pools of the masked buckets are dropped and the warm-up's noise statistics
        measured again without them (a centred fit of the day without them). Returns the
        products whose warm-up day changed."""
        changed = np.zeros(state.p, dtype=bool)
        cols = np.flatnonzero(below.any(axis=0) & (state.first_day == day - 1))
        first = self.rows(day - 1)
        if not len(cols) or first.start < origin:
            return changed
        # Today's rows at the times of day of the warm-up's rows (a partial first day
        # has none for its earliest times).
        # (at the warm-up's wall-clock times, with a time zone).
        back = np.arange(rows.start, rows.stop) - self.slots + self.whole_shift(day - 1, day)
        has = (back >= first.start) & (back < first.stop)
        suspect = np.zeros((first.stop - first.start, len(cols)), dtype=bool)
        suspect[back[has] - first.start] = below[has][:, cols]
        warm = slice(first.start - origin, first.stop - origin)
        seg = y[warm, cols]
        kept = normal[warm, cols]
        outage = suspect & kept & _high_over_normal_before(
            seg, np.zeros((0, len(cols)), dtype=bool), suspect, alpha_d[None, cols], self.warm,
            day_normal=kept)
        hit = outage.any(axis=0)
        if not hit.any():
            return changed
        cols, outage, seg = cols[hit], outage[:, hit], seg[:, hit]
        keep = normal[warm, cols] & ~outage
        normal[warm, cols] = keep
        state.drop_pools(day - 1)
        mu_c, _, alpha_c = _centred_fit(np.where(outage, np.nan, seg), self.warm, self.block)
        self._warm_up_noise(state, day - 1, seg, mu_c, keep, alpha_c, cols)
        changed[cols] = True
        return changed

    def fall_back(self, state: _FitState, y: np.ndarray, normal: np.ndarray, day: int,
                  ratio: np.ndarray, origin: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """:func:`~spikes.detect.trailing_adopted.judge` of this fit: the products
        whose level fell back today, and those whose pools were rebased."""
        return judge(self, state, normal, day, ratio, origin)

    def rebase(self, state: _FitState, d: int, day: int, held: np.ndarray) -> np.ndarray:
        """:func:`~spikes.detect.trailing_adopted.rebase` of this fit."""
        return rebase(self, state, d, day, held)

    def take_back(self, state: _FitState, normal: np.ndarray, d: int, back: np.ndarray,
                  origin: int = 0) -> None:
        """:func:`~spikes.detect.trailing_adopted.take_back` of this fit."""
        take_back(self, state, normal, d, back, origin)

    def _warm_up_columns(self, state: _FitState, day: int, local: slice, yd: np.ndarray,
                         cols: np.ndarray, normal: np.ndarray) -> None:
        """The day's masks and noise of the products `cols` from a centred fit of the day
        (their first day of data), as for everyone's first day."""
        sub = yd[:, cols]
        mu_c, keep_c, alpha_c = _centred_fit(sub, self.warm, self.block)
        keep_c = _unless_mostly_masked(keep_c, ~np.isnan(sub))
        normal[local.start : local.stop, cols] = keep_c
        self._warm_up_noise(state, day, sub, mu_c, keep_c, alpha_c, cols)
        state.level_y[day][cols] = 0.0
        state.level_m[day][cols] = 0.0
        if day in state.level_y_kind:
            state.level_y_kind[day][cols] = 0.0
            state.level_m_kind[day][cols] = 0.0

    def _warm_up_noise(self, state: _FitState, day: int, sub: np.ndarray, mu_c: np.ndarray,
                       keep: np.ndarray, alpha_c: np.ndarray, cols: np.ndarray) -> None:
        """Noise statistics of the products `cols` on their warm-up day `day`: their
        counts `sub` around the centred fit `mu_c`, over the normal buckets `keep`."""
        resid = sub - mu_c
        use = keep & ~np.isnan(mu_c)
        # Column-major as the columns of the counts `sub` come (several products or one):
        # numpy sums each column pairwise, alone or in a block (see _column_total).
        state.excess_sum[day][cols] = np.where(use, np.square(resid) - sub, 0.0).sum(axis=0)
        state.musq_sum[day][cols] = np.where(use, np.square(mu_c), 0.0).sum(axis=0)
        var = np.maximum(mu_c, MIN_MEAN) + alpha_c[None, :] * np.square(mu_c)
        stats = _block_squares(resid, var, use, self.block, column_major=True)
        if len(stats) and day in state.block_stats:
            state.block_stats[day][:, cols] = stats

    def _noise(self, state: _FitState, day: int, yd: np.ndarray, mu_d: np.ndarray,
               keep: np.ndarray, alpha_d: np.ndarray) -> None:
        """Record the day's noise statistics (moments for the dispersion, one-hour block
        sums for the inflation) of its normal buckets around `mu_d`."""
        resid = yd - mu_d
        use = keep & ~np.isnan(mu_d)
        state.excess_sum[day] = _column_total(np.where(use, np.square(resid) - yd, 0.0))
        state.musq_sum[day] = _column_total(np.where(use, np.square(mu_d), 0.0))
        var = np.maximum(mu_d, MIN_MEAN) + np.asarray(alpha_d)[None, :] * np.square(mu_d)
        state.block_stats[day] = _block_squares(resid, var, use, self.block)

    def _pooled(self, state: _FitState, y: np.ndarray, normal: np.ndarray, pool: list[int],
                rows: slice, origin: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean of the pooled same-time-of-day values of the days `pool`, widening the
        window where it rests on fewer than MIN_POOL_REPORTS reports, and for each row
        the weight (normal buckets) its window takes from days other than the product's
        warm-up day (> 0: its mean rests on such a day too)."""
        p = state.p
        first_slot = (rows.start + self.offset) % self.slots
        take = slice(first_slot, first_slot + rows.stop - rows.start)
        day = (rows.start + self.offset) // self.slots
        mean = np.full((rows.stop - rows.start, p), np.nan)
        later = np.zeros((rows.stop - rows.start, p))
        for i, width in enumerate(self.widths):
            total = np.zeros((self.slots, 2 * p))
            warm = np.zeros((self.slots, p))  # the weights of each product's warm-up day
            for d in pool:
                grid = self.pool_grid(state, y, normal, d, width, origin, day)
                total += grid
                own = np.flatnonzero(state.first_day == d)
                if len(own):
                    warm[:, own] = grid[:, p + own]
            values, weights = total[take, :p], total[take, p:]
            not_warm_up = weights - warm[take]
            if i == 0:
                values, weights, not_warm_up = self._with_recurring(
                    state, y, normal, pool, take, origin, day, values, weights, not_warm_up)
            if i == 0 and not (weights > 0).all():
                values, weights, not_warm_up = self._unmask_stuck(
                    state, y, pool, width, take, origin, day, values, weights, not_warm_up)
            est = np.divide(values, weights, out=np.full_like(values, np.nan),
                            where=weights > 0)
            fill = np.isnan(mean) & ~np.isnan(est)
            if i < len(self.widths) - 1:
                fill &= values >= MIN_POOL_REPORTS
            mean[fill] = est[fill]
            later[fill] = not_warm_up[fill]
            if not np.isnan(mean).any():
                break
        return mean, later


    def _with_recurring(self, state: _FitState, y: np.ndarray, normal: np.ndarray,
                        pool: list[int], take: slice, origin: int, day: int,
                        values: np.ndarray, weights: np.ndarray, not_warm_up: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`~spikes.detect.trailing_recurring.with_recurring` of this fit."""
        return with_recurring(self, state, y, normal, pool, take, origin, values, weights,
                              not_warm_up, day)

    def _unmask_stuck(self, state: _FitState, y: np.ndarray, pool: list[int], width: int,
                      take: slice, origin: int, day: int, values: np.ndarray,
                      weights: np.ndarray, not_warm_up: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`~spikes.detect.trailing_recurring.unmask_stuck` of this fit."""
        return unmask_stuck(self, state, y, pool, width, take, origin, values, weights,
                            not_warm_up, day)
