"""Times of day whose usual level the retrospective baseline would mask as an outage: the
hindsight form of the live fit's recurring rules
(:mod:`spikes.detect.trailing_recurring`), for :func:`spikes.detect.baseline.fit_baseline`.

The retrospective baseline pools a time of day with its neighbours (the smoothing window)
on the days around it, and masks the buckets that stand far above that pool. A peak of a
few buckets at the same time every day (a daily job, a 15-minute morning rush) is diluted
in its window, masked on every day, and pooled out: an incident every day. A rush on one
day of the week (Monday mornings) is masked on each of those days, and the other days of
the week keep the pool at their level: an incident every week. With hindsight, both show
as a time of day masked on most days of the pool at levels that agree:

- **daily**: masked on more of the pooled days of the bucket's kind (weekdays, or
  weekend days) than the product's masking rate explains, and on most of them
  (:data:`~spikes.detect.recurring.RECURRING_DAYS` at least) the time of day's
  own level agrees within :data:`~spikes.detect.recurring.STUCK_AGREEMENT`, is
  far from what the window says (:data:`~spikes.detect.recurring.RECURRING_Z`
  Poisson standard deviations) and rests on
  :data:`~spikes.detect.day_pools.MIN_POOL_REPORTS` reports or more;
- **weekly**: masked as often on the pooled days of the same day of the week, and on
  most of them (:data:`~spikes.detect.recurring.WEEKLY_DAYS` at least) the
  level agrees, rests on as many reports and stands at
  :data:`~spikes.detect.recurring.WEEKLY_RISE` times the other days' or more.

There the baseline is the mean of the agreeing days' own buckets. Most of the pool, not all
of it: hindsight sees the days on both sides, so an outage on top of a peak one day (a
level that disagrees) neither keeps the peak out of the pool nor enters it, and outages at
one time of day on a few days (a minority) never become its usual level, however alike.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy import special

from spikes.detect.day_pools import MIN_POOL_REPORTS
from spikes.detect.recurring import (
    RECURRING_DAYS,
    RECURRING_Z,
    STUCK_AGREEMENT,
    WEEKLY_DAYS,
    WEEKLY_RISE,
)

#: Chance under which a time of day's masks on the pooled days must fall, were they the
#: product's masks at their usual rate spread over the day (:func:`_masked_often`),
#: before it can recur: a mask that comes back at that time, not a bursty product's
#: masks (news on some days) that fall there by chance. (Without it, the daily rule
#: took 1,682 buckets of NAB's Apple tweets from bursty days.)
MASKED_OFTEN_P = 0.01


def with_recurring(level: np.ndarray, masked: np.ndarray, expected: np.ndarray,
                   kinds: list[tuple[np.ndarray, int]], weekdays: np.ndarray,
                   week_reach: int) -> np.ndarray:
    """The baseline on a grid of whole days, with the times of day that recur taken from
    the agreeing days' own buckets.

    Parameters
    ----------
    level : np.ndarray
        Reports per bucket, shape ``(days, slots, products)``; NaN where not observed
        (outside the series, a missing count).
    masked : np.ndarray
        Boolean, the same shape: the buckets masked as unusual by the fit so far.
    expected : np.ndarray
        The baseline so far (the smoothing window's pooled mean), the same shape.
    kinds : list of (np.ndarray, int)
        Per kind of day (weekdays, weekend days; or all days): its days in order, and how
        many of them on either side each day's pool holds.
    weekdays : np.ndarray
        The day of the week of each day (0 = Monday).
    week_reach : int
        How many days of the same day of the week on either side the weekly rule pools.

    Returns
    -------
    np.ndarray
        A copy of `expected`, changed where a time of day recurs.

    Examples
    --------
    A 15-minute peak at three times the level, every day, masked on every day:

    >>> rng = np.random.default_rng(0)
    >>> level = rng.poisson(30.0, size=(10, 96, 1)).astype(float)
    >>> level[:, 36] = rng.poisson(90.0, size=(10, 1))
    >>> masked = np.zeros(level.shape, dtype=bool)
    >>> masked[:, 36] = True
    >>> out = with_recurring(level, masked, np.full(level.shape, 30.0),
    ...                      [(np.arange(10), 7)], np.arange(10) % 7, 2)
    >>> bool(abs(out[5, 36, 0] - 90.0) < 10.0), float(out[5, 35, 0])
    (True, 30.0)
    """
    out = expected.copy()
    taken = np.zeros(level.shape, dtype=bool)
    # Each product's share of masked buckets, what a time of day is masked at by chance.
    rate = masked.sum(axis=(0, 1)) / np.maximum((~np.isnan(level)).sum(axis=(0, 1)), 1)
    kind_of = np.zeros(len(level), dtype=int)
    for k, (which, reach) in enumerate(kinds):
        kind_of[which] = k
        _take_daily(out, taken, level, masked, rate, which, reach)
    for weekday in range(7):
        _take_weekly(out, taken, level, masked, rate, weekdays, kind_of, weekday, week_reach)
    return out


def _take_daily(out: np.ndarray, taken: np.ndarray, level: np.ndarray, masked: np.ndarray,
                rate: np.ndarray, which: np.ndarray, reach: int) -> None:
    """Into `out`, the times of day of the days `which` (one kind of day) that recur
    daily: masked on more of the pool's days than chance explains
    (:func:`_masked_often`), the pool's days agreeing there on most of them
    (:data:`RECURRING_DAYS` at least), whose reports differ from what the window's mean
    (`out`) says of them by more than :data:`RECURRING_Z` Poisson standard deviations: a
    shape the window cannot follow (a peak of a few buckets), not noise. (Not masked on
    most of them: the masks of a peak's edge buckets come and go with the noise.)"""
    times = _times(masked[which], taken[which], 1)
    if times is None:
        return
    slots, cols = times
    levels = level[which][:, slots, cols]  # (days of `which`, times of day)
    masks = masked[which][:, slots, cols]
    for i, pool in _pools(len(which), reach):
        # The cheap test first: the agreement is asked only where the masks recur.
        at = np.flatnonzero(_masked_often(masks[pool], levels[pool], rate[cols]))
        if len(at) == 0:
            continue
        agree = _Agreement(levels[:, at], i, pool)
        said = out[which[i], slots[at], cols[at]] * agree.count
        far = np.abs(agree.total - said) > RECURRING_Z * np.sqrt(np.maximum(said, 1.0))
        _put(out, taken, which[i], slots[at], cols[at], agree,
             agree.usual(RECURRING_DAYS) & far)


def _take_weekly(out: np.ndarray, taken: np.ndarray, level: np.ndarray, masked: np.ndarray,
                 rate: np.ndarray, weekdays: np.ndarray, kind_of: np.ndarray, weekday: int,
                 reach: int) -> None:
    """Into `out`, the times of day of the days of one `weekday` that recur weekly: masked
    on more of the pool's days of that weekday than chance explains
    (:func:`_masked_often`), those days agreeing there on most of them, at
    :data:`WEEKLY_RISE` times the level of the other days of its kind within the pool's
    span or more (their median: `out` there rests on the masked days' buckets too, where
    the rush was masked on some days and not on others). A rise under twice the usual
    level is never raised (``min_ratio``'s default), so it need not be learned."""
    which = np.flatnonzero(weekdays == weekday)
    times = _times(masked[which], taken[which], 1)
    if times is None:
        return
    slots, cols = times
    levels = level[which][:, slots, cols]
    masks = masked[which][:, slots, cols]
    for i, pool in _pools(len(which), reach):
        day = which[i]
        near = np.abs(np.arange(len(level)) - day) <= 7 * reach
        others = np.flatnonzero(near & (kind_of == kind_of[day]) & (weekdays != weekday))
        if len(others) == 0:
            continue
        at = np.flatnonzero(_masked_often(masks[pool], levels[pool], rate[cols]))
        if len(at) == 0:
            continue
        agree = _Agreement(levels[:, at], i, pool)
        rest = _lower_median(level[others[:, None], slots[at], cols[at]])
        rises = agree.total >= WEEKLY_RISE * np.maximum(rest, 0.5) * agree.count
        _put(out, taken, day, slots[at], cols[at], agree, agree.usual(WEEKLY_DAYS) & rises)


def _masked_often(masks: np.ndarray, levels: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Whether a time of day was masked on more of the pooled days than the product's
    masking `rate` explains: the chance of as many masks or more among the days that
    observed it (binomial) under :data:`MASKED_OFTEN_P`."""
    seen = (~np.isnan(levels)).sum(axis=0)
    count = masks.sum(axis=0)
    tail = np.where(count > 0, special.bdtrc(np.maximum(count - 1, 0), seen, rate), 1.0)
    return tail < MASKED_OFTEN_P


def _times(masked: np.ndarray, taken: np.ndarray, fewest: int
           ) -> tuple[np.ndarray, np.ndarray] | None:
    """The (slots, products) masked on `fewest` of the days or more and not taken on all
    of them already; None if there are none."""
    times = (masked.sum(axis=0) >= fewest) & ~taken.all(axis=0)
    return np.nonzero(times) if times.any() else None


def _put(out: np.ndarray, taken: np.ndarray, day: int, slots: np.ndarray, cols: np.ndarray,
         agree: _Agreement, where: np.ndarray) -> None:
    """The agreeing days' mean into `out` on `day` at the times of day `where` holds and
    no rule took before; `taken` marks them."""
    where = where & ~taken[day, slots, cols]
    if where.any():
        at = slots[where], cols[where]
        out[day][at] = agree.total[where] / agree.count[where]
        taken[day][at] = True


def _pools(n: int, reach: int) -> Iterator[tuple[int, np.ndarray]]:
    """Per day of `n` in order, the positions of the days pooled with it, itself among
    them: `reach` on either side (more on one side near the ends, as far as there are);
    none for a single day."""
    if n < 2:
        return
    for i in range(n):
        lo = max(0, min(i - reach, n - 1 - 2 * reach))
        yield i, np.arange(lo, min(n, lo + 2 * reach + 1))


def _lower_median(pooled: np.ndarray) -> np.ndarray:
    """Per column, the lower median of the observed (not NaN) values: a value of one
    of them (NaN where none)."""
    seen = ~np.isnan(pooled)
    ordered = np.sort(np.where(seen, pooled, np.inf), axis=0)
    middle = np.maximum(seen.sum(axis=0) - 1, 0) // 2
    median = np.take_along_axis(ordered, middle[None, :], axis=0)[0]
    return np.where(seen.any(axis=0), median, np.nan)


class _Agreement:
    """Which days of a pool agree at each time of day, and the level they give the day
    pooled.

    The days agree with the pool's median day, each way within
    :data:`STUCK_AGREEMENT` (a level under half a report counting as half). The median
    day is the lower one of an even number, and the majority is asked of the pool with
    and without the day pooled: a pool split evenly between two levels (Saturdays at a
    rush, Sundays without) has no usual one, whichever day is pooled. The level,
    `total` over `count`, rests on the other agreeing days alone: an outage does not
    raise its own baseline.

    Parameters
    ----------
    levels : np.ndarray
        Reports per day (rows; NaN: not observed) and time of day (columns).
    own : int
        The row of the day pooled.
    pool : np.ndarray
        The rows of its pool, `own` among them.
    """

    def __init__(self, levels: np.ndarray, own: int, pool: np.ndarray) -> None:
        pooled = levels[pool]
        median = np.maximum(_lower_median(pooled), 0.5)
        with np.errstate(invalid="ignore"):
            near = (pooled <= STUCK_AGREEMENT * median) & (
                median <= STUCK_AGREEMENT * np.maximum(pooled, 0.5))
        seen = ~np.isnan(pooled)
        other = (pool != own)[:, None]
        others = near & other
        self.count = others.sum(axis=0)
        self.total = np.where(others, pooled, 0.0).sum(axis=0)
        # Most of the pool's days, with the day pooled and without it.
        self.most = ((2 * near.sum(axis=0) > seen.sum(axis=0))
                     & (2 * self.count > (seen & other).sum(axis=0)))

    def usual(self, fewest: int) -> np.ndarray:
        """Whether the agreeing days make a time of day's usual level: most of the
        pool's days that observed it, with the day pooled and without it (three
        outages at one time on five Saturdays are not the other two Saturdays' usual
        level, nor theirs), `fewest` other days or more, and
        :data:`MIN_POOL_REPORTS` reports or more."""
        return self.most & (self.count >= fewest) & (self.total >= MIN_POOL_REPORTS)
