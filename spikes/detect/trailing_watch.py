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

:func:`judge_bucket` runs the same judgement at every bucket of that day, on its buckets
so far: from the first hour on (the block of the variance inflation), once the day's
reports stand ``MASK_Z`` standard deviations under the midpoint times their baseline
(negative binomial with the day's dispersion, inflated for autocorrelation), the level is
taken back at that bucket and the day's later buckets get the baseline without it. A
rise that holds keeps its reports near the new level and is judged at the day's end as
before. The batch fit and the stream call it bucket by bucket with the data up to that
bucket, so both give the same baselines.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from spikes.detect.baseline import MASK_Z
from spikes.detect.trailing_state import _DayPlan, _FitState, _LevelWatch


class _SeasonalFit(Protocol):
    """What the judgement needs of :class:`spikes.detect.trailing._SeasonalFit` (named
    here, not imported: that module imports this one)."""

    block: int

    def weekend(self, day: int) -> bool: ...

    def plan(self, state: _FitState, y: np.ndarray, normal: np.ndarray, day: int,
             rows: slice, origin: int = 0) -> _DayPlan: ...

    def take_back(self, state: _FitState, normal: np.ndarray, d: int, back: np.ndarray,
                  origin: int = 0) -> None: ...


def level_watch(fit: _SeasonalFit, state: _FitState, day: int) -> _LevelWatch | None:
    """The new levels taken on earlier days of the kind of `day` that are still to be
    judged, None where there are none.

    Parameters
    ----------
    fit : _SeasonalFit
        The day loop (its calendar).
    state : _FitState
        What the day loop carries (the days taken as new levels).
    day : int
        The day being planned.

    Returns
    -------
    _LevelWatch or None
    """
    kind = fit.weekend(day)
    days = sorted(d for d, taken in state.adopted.items()
                  if d < day and fit.weekend(d) == kind and taken.open.any())
    if not days:
        return None
    mids = np.stack([np.where(state.adopted[d].open, 1.0 / np.sqrt(state.adopted[d].jump),
                              np.nan) for d in days])
    zero = np.zeros(state.p)
    return _LevelWatch(days, mids, zero.copy(), zero.copy(), zero.copy(), 0,
                       np.zeros(state.p, dtype=bool))


def judge_bucket(fit: _SeasonalFit, state: _FitState, y: np.ndarray, normal: np.ndarray,
                 day: int, rows: slice, plan: _DayPlan, row: int, origin: int = 0) -> None:
    """Add bucket `row` of `day` to the running judgement of `plan` and take back, at
    once, the new levels its reports so far show to have fallen back (in place: the
    adopted days' flags and level sums, and the rows of `plan` after `row`).

    Parameters
    ----------
    fit : _SeasonalFit
        The day loop.
    state : _FitState
        What it carries.
    y, normal : np.ndarray
        Counts and normal flags (row ``r`` of the series is their row ``r - origin``);
        only rows up to `row` are read.
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
    seen = ~np.isnan(counts) & ~np.isnan(base)
    watch.reports += np.where(seen, counts, 0.0)
    watch.expected += np.where(seen, base, 0.0)
    watch.squares += np.where(seen, np.square(np.where(seen, base, 0.0)), 0.0)
    watch.buckets += 1
    if watch.buckets < fit.block:
        return
    mean = watch.mids * watch.expected
    var = (mean + plan.alpha * np.square(watch.mids) * watch.squares) * plan.inflation
    with np.errstate(invalid="ignore"):
        back = (mean > 0) & (watch.reports - mean <= -MASK_Z * np.sqrt(var))
    if not back.any():
        return
    for k, d in enumerate(watch.days):
        if back[k].any():
            fit.take_back(state, normal, d, back[k], origin)
            watch.mids[k, back[k]] = np.nan
    fell = back.any(axis=0)
    watch.fell |= fell
    # The rest of the day without the levels taken back (earlier days only).
    new = fit.plan(state, y, normal, day, rows, origin)
    plan.mu[at + 1 :, fell] = new.mu[at + 1 :, fell]
    plan.raw[:, fell] = new.raw[:, fell]
    plan.later[:, fell] = new.later[:, fell]
    plan.level[fell] = new.level[fell]
