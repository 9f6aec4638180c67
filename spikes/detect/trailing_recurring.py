"""Times of day the seasonal fit pools unmasked although masked as outages: a level seen
at that time on the pooled days is its usual level
(:class:`spikes.detect.trailing._SeasonalFit` calls these on its narrowest pool window).

- :func:`unmask_stuck`: a window masked whole on every pooled day (a steep evening rise the
  warm-up day's fit failed to follow);
- :func:`with_recurring`: a time of day seen on several days at agreeing levels, far from
  what its smoothing window says (a daily peak of a few buckets, masked on its first
  days), taken from that time of day alone, every observed bucket of it (masked or not:
  the days agree within :data:`STUCK_AGREEMENT`, so no masked bucket there is more than
  twice the others); or, for a peak that began later or moved with a change of the
  clocks, from the latest days that agree there, three of them masked; or, for a rush
  on one day of the week (Monday mornings, Friday evenings), from the pooled days of
  that weekday, where they agree at twice the other days' level or more.

Spikes that recur at about one time but vary in size do not agree, and stay masked.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from spikes.detect.baseline import MIN_POOL_REPORTS
from spikes.detect.recurring import (
    RECURRING_DAYS,
    RECURRING_Z,
    STUCK_AGREEMENT,
    WEEKLY_DAYS,
    WEEKLY_RISE,
)
from spikes.detect.trailing_state import _FitState
from spikes.detect.trailing_windows import _ratio


class _SeasonalFit(Protocol):
    """What these rules read of :class:`spikes.detect.trailing._SeasonalFit`."""

    slots: int
    widths: list[int]

    def contribution(self, y: np.ndarray, normal: np.ndarray | None, day: int, width: int,
                     origin: int = 0) -> np.ndarray: ...

    def pool_grid(self, state: _FitState, y: np.ndarray, normal: np.ndarray | None,
                  pooled: int, width: int, origin: int, day: int) -> np.ndarray: ...

#: Earlier days a baseline must rest on before it masks a day's buckets as unusual on its
#: own: with one, a disagreement between two days cannot tell which of them is unusual,
#: and masking today against yesterday would keep today's normal level out of every later
#: pool; such a day masks only what also stands out from the normal hours before it.
MIN_MASK_DAYS = 2



def with_recurring(fit: _SeasonalFit, state: _FitState, y: np.ndarray, normal: np.ndarray,
                   pool: list[int], take: slice, origin: int, values: np.ndarray,
                   weights: np.ndarray, not_warm_up: np.ndarray, day: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The narrowest pool window's (values, weights, weights of days other than the
    warm-up day), where a time of day recurs taken from that time of day alone.

    It recurs where it was observed on at least :data:`RECURRING_DAYS` of the pooled
    days at levels that agree within
    :data:`STUCK_AGREEMENT`, holds :data:`~spikes.detect.day_pools.MIN_POOL_REPORTS`
    reports or more, and its reports differ from what its window's mean says of them by
    more than :data:`RECURRING_Z` (Poisson) standard deviations: a shape the smoothing
    window cannot follow, not noise.

    A peak at the same time every day (a daily job, a morning rush of 15 minutes)
    is masked as an outage on its first days; its window then takes its baseline
    from the normal buckets around it alone, the peak stands out again the next day,
    and the mask holds for good: an incident at that time every day, however many
    days show it (:func:`unmask_stuck` reaches only windows masked whole). A level
    seen at that time on every pooled day is its usual level; pooled with the times
    around it, a peak of a few buckets would still be diluted below itself. Spikes
    that recur at about that time but vary in size do not agree, and stay masked.
    Where the whole pool does not agree, a time of day masked on three pooled days or
    more is judged on the latest days alone (:func:`_with_new_peaks`: a peak that began
    later, or moved with a change of the clocks).
    """
    p = state.p
    window = values, weights
    days = []
    seen = np.zeros((values.shape[0], 2 * p))
    normal_weights = np.zeros(values.shape)
    for d in sorted(pool, reverse=True):  # the latest first
        # (Each pooled day at the wall-clock times of `day`, the day planned.)
        day_d = fit.pool_grid(state, y, None, d, 0, origin, day)[take]
        normal_d = fit.pool_grid(state, y, normal, d, 0, origin, day)[take, p:]
        seen += day_d
        normal_weights += normal_d
        days.append((d, day_d, normal_d))
    own_values, own_weights = seen[:, :p], seen[:, p:]
    recurring = ((own_weights >= RECURRING_DAYS) & (own_values >= MIN_POOL_REPORTS)
                 & _far_from_window(own_values, own_weights, values, weights, RECURRING_Z))
    if recurring.any():  # only then, and only there: do the days agree?
        cols, at, at_weights = _block(recurring, p)
        levels = _Range(recurring[at].shape)
        warm = np.zeros(levels.lowest.shape)
        for d, day_d, _ in days:
            day_values, day_weights = _cut(day_d, at), _cut(day_d, at_weights)
            levels.add(np.where(day_weights > 0, day_values, np.nan))
            own = np.flatnonzero(state.first_day[cols] == d)
            if len(own):
                warm[:, own] = day_weights[:, own]
        agree = recurring[at] & levels.agree()
        recurring = np.zeros_like(recurring)
        recurring[at] = agree
        values, weights, not_warm_up = _taken(values, weights, not_warm_up, at, agree,
                                              own_values[at], own_weights[at], warm)
    # A time of day masked on three pooled days or more may be a peak that began later.
    new = ~recurring & (own_weights - normal_weights >= RECURRING_DAYS)
    if new.any():
        values, weights, not_warm_up = _with_new_peaks(state, days, values, weights,
                                                       not_warm_up, new)
    return _with_weekly(fit, state, y, normal, days, take, origin, day, window, values,
                        weights, not_warm_up)


def _with_weekly(fit: _SeasonalFit, state: _FitState, y: np.ndarray, normal: np.ndarray,
                 days: list[tuple[int, np.ndarray, np.ndarray]], take: slice, origin: int,
                 day: int, window: tuple[np.ndarray, np.ndarray], values: np.ndarray,
                 weights: np.ndarray, not_warm_up: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The narrowest pool window's (values, weights, weights of days other than the
    warm-up day), where a time of day recurs weekly taken from the pooled days of the
    weekday of `day` alone.

    It recurs weekly where the latest :data:`WEEKLY_DAYS` pooled days of that weekday
    (those a product did not leave out as low: a holiday would disagree with the rush)
    hold :data:`~spikes.detect.day_pools.MIN_POOL_REPORTS` reports or more there, at
    :data:`WEEKLY_RISE` times the level of the pool's other days or more (their normal
    buckets in the `window`, the pool window before the other rules), and agree within
    :data:`STUCK_AGREEMENT`: observed on each of them, every bucket; where those
    disagree, the normal buckets of their windows, if they agree (the rush learned on
    one of them, an outage on top of it on another: without them, that outage kept the
    rush out for two weeks).

    A rush on one day of the week (Monday mornings of an office product, Friday
    evenings of a game) is masked as an outage on its first weeks; the pool of its kind
    (weekdays, or weekend days) holds the other days of the week, whose level there is
    the usual one, so the rush stands out again the next week, the mask holds, and it is
    raised every week for good. Seen at agreeing levels on that weekday of the last
    weeks, it is that weekday's usual level at that time. The same holds for a weekend
    day that is partly a weekday on its users' clock (a product of Tokyo's Monday
    morning is UTC's Sunday evening). The values taken are each time of day's own
    buckets, as :func:`with_recurring` takes a daily peak's: the window around them
    would blur a rush's first and last buckets. A rush too small for
    :data:`~spikes.detect.day_pools.MIN_POOL_REPORTS` reports in a bucket on those days
    is not learned. `days` are the pool's days, the latest first, with their own slots'
    observed (values, weights) and normal weights; the times of day that the other rules
    of :func:`with_recurring` took from a pool of their own (where `values` and `weights`
    differ from the `window`'s) keep it.
    """
    weekday = [(d, grid) for d, grid, _ in days if (day - d) % 7 == 0]
    if len(weekday) < WEEKLY_DAYS:
        return values, weights, not_warm_up
    p = state.p
    shape = values.shape[:1] + (2 * p,)
    # The usual level of the other days of the week: the window's normal buckets on them.
    kept_of = {d: fit.pool_grid(state, y, normal, d, fit.widths[0], origin, day)[take]
               for d, _ in weekday}
    every_kept = sum(kept_of.values(), np.zeros(shape))
    other = _ratio(window[0] - every_kept[:, :p], window[1] - every_kept[:, p:])
    taken = (values != window[0]) | (weights != window[1])
    # The latest days of the weekday; per product, those not left out as low (a holiday
    # would disagree with the rush, and keep it out for as long as it stays in the pool).
    seen, seen_window = np.zeros(shape), np.zeros(shape)
    kept = np.zeros(shape)
    levels = {"seen": _Range(values.shape), "kept": _Range(values.shape)}
    warm = {"seen": np.zeros(values.shape), "kept": np.zeros(values.shape)}
    usable = np.zeros(p, dtype=int)
    for d, own_grid in weekday[:WEEKLY_DAYS]:
        # Each time of day's own buckets and its window's, and the window's normal ones.
        grids = {"seen": own_grid,
                 "window": fit.pool_grid(state, y, None, d, fit.widths[0], origin, day)[take],
                 "kept": kept_of[d]}
        if d in state.low_days:
            low = np.tile(state.low_days[d], 2)[None, :]
            grids = {name: np.where(low, 0.0, grid) for name, grid in grids.items()}
            usable += ~state.low_days[d]
        else:
            usable += 1
        seen += grids["seen"]
        seen_window += grids["window"]
        kept += grids["kept"]
        first = np.flatnonzero(state.first_day == d)
        for name in levels:
            levels[name].add(_ratio(grids[name][:, :p], grids[name][:, p:]))
            if len(first):
                warm[name][:, first] = grids[name][:, p + first]
    # Every bucket of those days where they agree; else, where their windows hold normal
    # buckets that agree, those alone (a rush learned, an outage on top of it one week).
    agreeing = (seen[:, p:] >= np.maximum(usable, WEEKLY_DAYS)) & levels["seen"].agree()
    learned = ~agreeing & (kept[:, p:] > 0) & levels["kept"].agree()
    own_values = np.where(learned, kept[:, :p], seen[:, :p])
    own_weights = np.where(learned, kept[:, p:], seen[:, p:])
    # Where they agree, the rise is judged on each time of day's own buckets and on its
    # window, whichever says more: the window's many buckets say it where the own ones
    # fall under 2x by chance (a rush of 2.5x at 40 reports a bucket: one time of day in
    # twenty), the own ones at a rush's first and last buckets, which the window reaches
    # past. (Where they disagree, on the normal buckets' window alone: their own buckets
    # there, a day's single ones, let chance rises of bursty series through: NAB 80.9 ->
    # 80.6.)
    level = np.where(learned, _ratio(kept[:, :p], kept[:, p:]),
                     np.fmax(_ratio(seen[:, :p], seen[:, p:]),
                             _ratio(seen_window[:, :p], seen_window[:, p:])))
    weekly = (~taken & (agreeing | learned) & (own_values >= MIN_POOL_REPORTS)
              & (level >= WEEKLY_RISE * other))
    if not weekly.any():
        return values, weights, not_warm_up
    every = (slice(None), slice(None))
    return _taken(values, weights, not_warm_up, every, weekly, own_values, own_weights,
                  np.where(learned, warm["kept"], warm["seen"]))


def _with_new_peaks(state: _FitState, days: list[tuple[int, np.ndarray, np.ndarray]],
                    values: np.ndarray, weights: np.ndarray, not_warm_up: np.ndarray,
                    candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the latest pooled days agree at a time of day (the run goes back to the
    first day that does not), the run holds three or more days on which it was masked,
    and its level is far from its window's: taken from the run alone. A peak that began
    after the pool's first days, or moved there with a change of the clocks, is masked
    as an outage each day it shows; the pool's older days disagree with it, so the rule
    of the whole pool does not learn it before they leave the pool (``baseline_days``:
    an incident every day until then). Once learned, the peak's days are normal and the
    run keeps its first, masked ones until they leave the pool, when the whole pool
    agrees. `days` are the pool's days, the latest first, with their own slots'
    observed (values, weights) and normal weights; `candidate`: the times of day masked
    on three pooled days or more, not taken already."""
    p = state.p
    cols, at, at_weights = _block(candidate, p)
    block = [(d, _cut(day, at), _cut(day, at_weights), _cut(normal_d, at))
             for d, day, normal_d in days]
    run_values, run_weights, run_masked = (np.zeros(candidate[at].shape) for _ in range(3))
    lowest = np.full(run_values.shape, np.inf)
    highest = np.zeros(run_values.shape)
    warm = np.zeros(run_values.shape)
    going = candidate[at].copy()
    for d, day_values, day_weights, normal_d in block:
        seen = day_weights > 0
        level = np.where(seen, day_values, np.nan)
        low, high = np.fmin(lowest, level), np.fmax(highest, level)
        going &= _agree(low, high)
        took = going & seen
        lowest, highest = np.where(took, low, lowest), np.where(took, high, highest)
        run_values += np.where(took, day_values, 0.0)
        run_weights += np.where(took, day_weights, 0.0)
        run_masked += took & (normal_d == 0)
        own = np.flatnonzero(state.first_day[cols] == d)
        if len(own):
            warm[:, own] += np.where(took[:, own], day_weights[:, own], 0.0)
        if not going.any():
            break
    new = ((run_masked >= RECURRING_DAYS) & (run_values >= MIN_POOL_REPORTS)
           & _far_from_window(run_values, run_weights, values[at], weights[at],
                              RECURRING_Z))
    if not new.any():
        return values, weights, not_warm_up
    return _taken(values, weights, not_warm_up, at, new, run_values, run_weights, warm)


def _block(mask: np.ndarray, p: int) -> tuple[np.ndarray, tuple, tuple]:
    """The times of day and products of `mask` (slots x products) that hold a True: the
    products, and the indexers of the block in a (values) and in a (values, weights)
    array."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return cols, np.ix_(rows, cols), np.ix_(rows, cols + p)


def _cut(array: np.ndarray, at: tuple) -> np.ndarray:
    """``array[at]`` for an indexer of :func:`_block` (``np.ix_`` of rows and columns),
    taken one axis at a time: the same values, a few times faster for a large block."""
    rows, cols = at
    return array.take(rows.ravel(), axis=0).take(cols.ravel(), axis=1)


def _taken(values: np.ndarray, weights: np.ndarray, not_warm_up: np.ndarray, at: tuple,
           where: np.ndarray, own_values: np.ndarray, own_weights: np.ndarray,
           warm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The window's (values, weights, weights of days other than the warm-up day), with
    the block `at` taken from the time of day's own pool (`own_*`, of which `warm` the
    warm-up day's weights) `where` it recurs."""
    values, weights, not_warm_up = values.copy(), weights.copy(), not_warm_up.copy()
    values[at] = np.where(where, own_values, values[at])
    not_warm_up[at] = np.where(where, own_weights - warm, not_warm_up[at])
    weights[at] = np.where(where, own_weights, weights[at])
    return values, weights, not_warm_up


class _Range:
    """The lowest and highest of the levels of several days at each time of day (NaN:
    not seen that day)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.lowest = np.full(shape, np.inf)
        self.highest = np.zeros(shape)

    def add(self, level: np.ndarray) -> None:
        self.lowest = np.fmin(self.lowest, level)
        self.highest = np.fmax(self.highest, level)

    def agree(self) -> np.ndarray:
        """Whether the days seen agree (:func:`_agree`)."""
        return _agree(self.lowest, self.highest)


def _agree(lowest: np.ndarray, highest: np.ndarray) -> np.ndarray:
    """Whether the days' levels at a time of day agree: each within
    :data:`STUCK_AGREEMENT` of the others (a day's mean under half a report counts as
    half)."""
    return highest <= STUCK_AGREEMENT * np.maximum(lowest, 0.5)


def _far_from_window(own_values: np.ndarray, own_weights: np.ndarray, values: np.ndarray,
                     weights: np.ndarray, z: float) -> np.ndarray:
    """Where a time of day's own reports differ from what its window's mean says of
    them by more than `z` (Poisson) standard deviations (everywhere the window has no
    normal bucket)."""
    said = np.divide(values * own_weights, weights, out=np.zeros_like(values),
                     where=weights > 0)
    far = np.abs(own_values - said) > z * np.sqrt(np.maximum(said, 1.0))
    return np.where(weights > 0, far, True)


def unmask_stuck(fit: _SeasonalFit, state: _FitState, y: np.ndarray, pool: list[int],
                 width: int, take: slice, origin: int, values: np.ndarray,
                 weights: np.ndarray, not_warm_up: np.ndarray, day: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The narrowest pool window's (values, weights, weights of days other than the
    warm-up day), with every time of day that was masked on all the pooled days
    (observed on at least :data:`MIN_MASK_DAYS` of them), and whose levels there
    agree within :data:`STUCK_AGREEMENT`, pooled unmasked.

    Such a time of day would otherwise take its baseline from a wider window, from
    the neighbouring times of day: where the daily cycle is steep (an evening rise of
    several times at hourly buckets, which the warm-up day's fit may fail to
    follow), that baseline is far off, masks the time of day again, and the mask
    holds for good: a false alarm at that hour every day. A level seen at that time
    on every pooled day is its usual level, not an outage. Spikes that recur at
    about that hour but vary in size (crashes of a buggy release: 5x one day, 60x
    the next) do not agree, and stay masked.
    """
    p = state.p
    seen = np.zeros((fit.slots, 2 * p))
    warm = np.zeros((fit.slots, p))
    levels = _Range((fit.slots, p))
    for d in pool:
        grid = fit.pool_grid(state, y, None, d, width, origin, day)
        seen += grid
        levels.add(_ratio(grid[:, :p], grid[:, p:]))
        first = np.flatnonzero(state.first_day == d)
        if len(first):
            warm[:, first] = grid[:, p + first]
    seen_values, seen_weights = seen[take, :p], seen[take, p:]
    # More than one day's window observed (at least two days had data there), and
    # the days' levels there agree (a day's mean under half a report counts as half).
    stuck = ((weights == 0) & (seen_weights > (MIN_MASK_DAYS - 1) * (2 * width + 1))
             & levels.agree()[take])
    if not stuck.any():
        return values, weights, not_warm_up
    return (np.where(stuck, seen_values, values), np.where(stuck, seen_weights, weights),
            np.where(stuck, seen_weights - warm[take], not_warm_up))
