"""A new level judged as the next day of its kind goes, not only at its end.

A day that stood high for most of its buckets is taken as a new level at once (see
:mod:`spikes.detect.trailing`): the later pools and level factors take it whole, so that
a lasting rise does not make every later day an outage. The next day of its kind tells a
lasting rise from an outage of most of a day (a news day, a long failure): below the
geometric midpoint of the old and the new level, the level fell back, and the day is
masked as an outage's from then on (``_SeasonalFit.fall_back``). Judged only once that
day is over, the day itself runs on a baseline at the new level where it fell back: an
outage then has to stand out from the level of the outage before it (measured: NAB's
Apple tweets on 2015-04-01 ran at 0.1-0.3 of a baseline set by the day before, a 19x
news day).

The days after a fall taken as a product's level judge it too, from half the day on:
once the median of their buckets so far over their pools, and that of their last hour,
stand over the midpoint of the fall's level and the level before it, the fall is taken
back at once (a holiday that ended:
:func:`~spikes.detect.trailing_adopted.end_fall`).

:func:`judge_bucket` runs the same judgement at every bucket of that day, on its buckets
so far at the times of day at which the day taken as a new level stood high (elsewhere
that day was at the old level: a rise of the daytime only raises the night's baseline
through the level factor, and the night would seem to fall back). Once those buckets
(from an hour's worth on, the block of the variance inflation) stand ``MASK_Z`` standard
deviations under the midpoint times their baseline (negative binomial with the day's
dispersion, inflated for autocorrelation; a bucket that far under even the old level
counts as a stalled feed, not as the old level, and is left out), the level is taken
back at that bucket and the day's later buckets get the baseline without it. The batch fit and the
stream call it bucket by bucket with the data up to that bucket, so both give the same
baselines.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from spikes.detect.baseline import MASK_Z
from spikes.detect.trailing_adopted import _median_ratio, end_fall, open_falls
from spikes.detect.trailing_state import _DayPlan, _FitState, _LevelWatch


class _Fit(Protocol):
    """What the judgement needs of :class:`spikes.detect.trailing._SeasonalFit` (named
    here, not imported: that module imports this one)."""

    block: int
    slots: int
    offset: int
    weekly_min_days: int

    def rows(self, day: int) -> slice: ...

    def weekend(self, day: int) -> bool: ...

    def aligned(self, grid: np.ndarray, pooled: int, day: int) -> np.ndarray: ...

    def plan(self, state: _FitState, y: np.ndarray, normal: np.ndarray, day: int,
             rows: slice, origin: int = 0, watch: bool = True) -> _DayPlan: ...

    def take_back(self, state: _FitState, normal: np.ndarray, d: int, back: np.ndarray,
                  origin: int = 0) -> None: ...


def level_watch(fit: _Fit, state: _FitState, y: np.ndarray, day: int,
                origin: int = 0) -> _LevelWatch | None:
    """The new levels taken on earlier days of the kind of `day` that are still to be
    judged, None where there are none.

    Parameters
    ----------
    fit : _SeasonalFit
        The day loop (its calendar).
    state : _FitState
        What the day loop carries (the days taken as new levels).
    y : np.ndarray
        Counts (row ``r`` of the series is row ``r - origin``): the days taken as a new
        level are read, to know when they were observed.
    day : int
        The day being planned.
    origin : int
        Row of the series held at position 0 of `y`.

    Returns
    -------
    _LevelWatch or None
    """
    kind = fit.weekend(day)
    days = sorted(d for d, taken in state.adopted.items()
                  if d < day and fit.weekend(d) == kind and taken.open.any())
    falls = open_falls(fit, state, day)
    if not days and not falls.any():
        return None
    p = state.p
    jumps = np.stack([np.where(state.adopted[d].open, state.adopted[d].jump, np.nan)
                      for d in days]) if days else np.zeros((0, p))
    high = np.zeros((len(days), fit.slots, p), dtype=bool)
    for k, d in enumerate(days):
        rows = fit.rows(d)
        first = rows.start + fit.offset - d * fit.slots
        observed = ~np.isnan(y[rows.start - origin : rows.stop - origin])
        high[k, first : first + len(observed)] = ~state.adopted[d].masked & observed
        # (at the wall-clock times of `day`, with a time zone)
        high[k] = fit.aligned(high[k], d, day)
    zero = np.zeros((len(days), p))
    return _LevelWatch(days, jumps, high, zero.copy(), zero.copy(), zero.copy(), zero.copy(),
                       np.zeros(p, dtype=bool), falls=falls, ended=np.zeros(p, dtype=bool))


def judge_bucket(fit: _Fit, state: _FitState, y: np.ndarray, normal: np.ndarray,
                 day: int, rows: slice, plan: _DayPlan, row: int, origin: int = 0) -> None:
    """Add bucket `row` of `day` to the running judgement of `plan` and take back, at
    once, the new levels its reports so far show to have fallen back (in place: the
    adopted days' flags and level sums, the rows of `plan.mu` after `row`, and the
    day's `raw`, `later` and `level` of those products, which the day's end reads).

    Parameters
    ----------
    fit : _SeasonalFit
        The day loop.
    state : _FitState
        What it carries.
    y, normal : np.ndarray
        Counts and normal flags (row ``r`` of the series is their row ``r - origin``);
        only rows up to `row` of `day` and earlier days are read.
    day : int
        The day.
    rows : slice
        Rows of the series in `day`.
    plan : _DayPlan
        The day's plan, with a :attr:`~_DayPlan.watch`.
    row : int
        The bucket (a row of the series in `rows`).
    origin : int
        Row of the series held at position 0 of `y` and `normal`.
    """
    watch = plan.watch
    assert watch is not None
    at = row - rows.start
    counts, base = y[row - origin], plan.mu[at]
    if watch.falls is not None and watch.falls.any():
        _judge_falls(fit, state, y, normal, day, rows, plan, at, origin)
    if not watch.days:
        return
    where = watch.high[:, row + fit.offset - day * fit.slots] & ~np.isnan(counts)
    where &= ~np.isnan(base) & np.isfinite(watch.jumps)
    with np.errstate(invalid="ignore", divide="ignore"):
        # A bucket far under even the old level is a stalled feed, not the old level.
        old = base / watch.jumps
        where &= ~(counts - old <= -MASK_Z * np.sqrt(old + plan.alpha * np.square(old)))
    if not where.any():
        return
    watch.reports += np.where(where, counts, 0.0)
    watch.expected += np.where(where, base, 0.0)
    watch.squares += np.where(where, np.square(np.nan_to_num(base)), 0.0)
    watch.seen += where
    with np.errstate(invalid="ignore", divide="ignore"):
        under = _under(watch.reports, watch.expected, watch.squares, plan,
                       1.0 / np.sqrt(watch.jumps))
    back = under & (watch.seen >= fit.block)
    if not back.any():
        return
    for k, d in enumerate(watch.days):
        if back[k].any():
            fit.take_back(state, normal, d, back[k], origin)
            watch.jumps[k, back[k]] = np.nan
    fell = back.any(axis=0)
    watch.fell |= fell
    # The rest of the day without the levels taken back (earlier days only).
    _plan_again(fit, state, y, normal, day, rows, plan, at, fell, origin)


def _judge_falls(fit: _Fit, state: _FitState, y: np.ndarray, normal: np.ndarray,
                 day: int, rows: slice, plan: _DayPlan, at: int, origin: int) -> None:
    """Judge the falls taken as levels before `day` on its buckets up to `at`, once half
    the day is in and then at every hour's end, and take back at once those that ended
    (in place; :func:`~spikes.detect.trailing_adopted.end_fall`), planning the rest of
    the day again.

    A fall ended where the median of the day's buckets so far over their pools (at the
    fall's level once the kinds are pooled apart: the level factor follows a return
    part of the way and would hide it; before, the baseline) stands over the geometric
    midpoint of the fall's level and the level before it (as :func:`check_other_kind`
    judges a kind), and so does the median of its last hour (a return lasts up to the
    judgement). An outage of under half the day so far does not move the median: a
    review found that the running sum since midnight, judged from the first hour on,
    took a few hours of outage in the morning for the fall's end (the pools back at
    three times the level, the outages of the next two days missed); one of six hours
    from midnight or 04:00 holds the median up at noon, but its last hour is over
    (measured: outages after it found 9 -> 20 of 24 on 8 seeds). A return in the
    morning is taken back by noon; the hours before run on the fall's level, and a
    stretch there that stands under ``min_ratio`` times the level before the fall is
    held until noon: where the fall is taken back, its rows after the judgement are
    marked (``returns`` -1) and the walk drops the stretch as the fall's end
    (:func:`~spikes.detect.trailing_adopted.held_returns`).
    """
    watch = plan.watch
    assert watch is not None and watch.falls is not None and watch.ended is not None
    seen = at + 1  # (half of a whole day: the data may end within this one)
    if seen < fit.slots // 2 or seen % fit.block:
        return
    cols = np.flatnonzero(watch.falls)
    pools = plan.raw if day >= fit.weekly_min_days else plan.mu
    reports = y[rows.start - origin : rows.start - origin + seen, cols]
    median = _median_ratio(reports, pools[:seen, cols])
    recent = _median_ratio(reports[-fit.block :], pools[seen - fit.block : seen, cols])
    midpoint = np.sqrt(state.fall_factor[cols])
    ended = np.zeros(state.p, dtype=bool)
    ended[cols] = (np.isfinite(median) & (median * midpoint > 1.0)
                   & ~(recent * midpoint <= 1.0))
    if not ended.any():
        return
    end_fall(fit, state, ended, day)
    watch.falls &= ~ended
    watch.ended |= ended
    if plan.returns is not None:  # a rise held until now was the fall's end
        plan.returns[at + 1 :, ended] = -1.0
    _plan_again(fit, state, y, normal, day, rows, plan, at, ended, origin)


def _plan_again(fit: _Fit, state: _FitState, y: np.ndarray, normal: np.ndarray, day: int,
                rows: slice, plan: _DayPlan, at: int, fell: np.ndarray,
                origin: int) -> None:
    """The rows of `plan` after `at` (and what the day's end reads of it) planned again
    for the products `fell`, whose levels (or falls) were taken back."""
    new = fit.plan(state, y, normal, day, rows, origin, watch=False)
    plan.mu[at + 1 :, fell] = new.mu[at + 1 :, fell]
    plan.raw[:, fell] = new.raw[:, fell]
    plan.later[:, fell] = new.later[:, fell]
    plan.level[fell] = new.level[fell]
    if plan.scale is not None or new.scale is not None:
        if plan.scale is None:
            plan.scale = np.repeat(plan.level[None, :], len(plan.raw), axis=0)
        plan.scale[:, fell] = (np.repeat(new.level[None, fell], len(plan.raw), axis=0)
                               if new.scale is None else new.scale[:, fell])


def _under(reports: np.ndarray, expected: np.ndarray, squares: np.ndarray, plan: _DayPlan,
           share: np.ndarray) -> np.ndarray:
    """Whether `reports` stand ``MASK_Z`` standard deviations under `share` times their
    baseline `expected` (negative binomial with the day's dispersion, the sum of whose
    squared baselines is `squares`, inflated for autocorrelation)."""
    mean = share * expected
    var = (mean + plan.alpha * np.square(share) * squares) * plan.inflation
    return (mean > 0) & (reports - mean <= -MASK_Z * np.sqrt(var))
