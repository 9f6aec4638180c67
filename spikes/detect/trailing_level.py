"""The level factor of the causal seasonal baseline (:func:`level_factor`), the shape of
a weekend before weekdays and weekends are pooled apart (:func:`weekend_shape`), and the
days far under their baseline (a holiday, a feed that sent zeros) the level factor
passes over: left out of the later days' level factors and noise statistics until the
fall has lasted (:func:`low_day`, :func:`keep_low`; :class:`spikes.detect.trailing._SeasonalFit`
calls them as its days are planned and once they are over).

Low counts raise no alarm, so nothing masked them: a holiday Saturday at a third of the
usual reports, taken into the level factor, put the next Saturday's baseline at half its
reports (an incident all day), and a feed that sent zeros for a day or two put the days
after it at the level factor's floor (a critical incident of a whole day once it
recovered) and swelled the dispersion. A low day stays in the pools (one day of ten
weekdays, or of four weekend days, moves them little; left out of them whole, a lasting
fall's level sums stood against pools without its days, and its outages were missed for
two weeks), except its runs of zeros where reports were expected (:func:`dead_runs`:
days of them would hold the pools down for two weeks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from spikes.detect.baseline import MASK_Z, MIN_POOL_REPORTS
from spikes.detect.trailing_recurring import MIN_MASK_DAYS
from spikes.detect.trailing_state import _DayPlan, _FitState
from spikes.detect.trailing_windows import _column_sums, _column_total

#: Days whose fit sets the level factor (of the same kind, weekday or weekend, until
#: weekdays and weekends are pooled apart; see :func:`level_factor`).
LEVEL_DAYS = 2
#: Bound on the level factor (see :func:`level_factor`).
MAX_LEVEL_FACTOR = 5.0
#: Factor by which a weekend's level factor must differ from 1, before weekdays and
#: weekends are pooled apart, for its shape to be fitted (:func:`weekend_shape`): the
#: mirror of ``min_ratio``'s default, the rise a single factor would fake in the hours
#: whose level did not change.
SHAPE_FACTOR = 2.0
#: Factor under its baseline below which a day's reports leave it out of the later days'
#: level factors and noise (:func:`low_day`): the mirror of ``min_ratio``'s default (a
#: dip to half of the usual is no error of the baseline).
LOW_DAY_FACTOR = 2.0
#: Days of its kind running a product must stand that low before the low is its new
#: level (as a peak seen on three days is a time of day's usual level).
LOW_DAYS_TO_LEVEL = 3
#: Reports a baseline expects over a run of zeros of a low day before the run is no data
#: for the later pools (:func:`dead_runs`): Poisson noise makes such a run with
#: probability exp(-20), about 2e-9.
DEAD_RUN_REPORTS = 20.0
#: Days after a product's first data before its days are judged low: a week, the whole
#: weekly rhythm (a baseline learnt from the first days can be an outage's level, and the
#: day its reports go back to normal is no fall; measured on Cloud Monitoring's app1-04,
#: whose first three days are labelled outages).
LOW_HISTORY_DAYS = 7


class _SeasonalFit(Protocol):
    """What these rules read of :class:`spikes.detect.trailing._SeasonalFit`."""

    days: int
    weekly_min_days: int

    def weekend(self, day: int) -> bool: ...


def level_factor(fit: _SeasonalFit, state: _FitState, history: list[int], day: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Level factor of `day`, and per product the days with normal data it rests on.

    The normal reports of the last :data:`LEVEL_DAYS` days among `history` over what
    their unscaled pools expected, shrunk towards 1 by
    :data:`~spikes.detect.day_pools.MIN_POOL_REPORTS` reports each way. It follows a slow
    drift (the pools lag by about half their span) and, while all days are pooled
    together, a weekly rhythm: until then the days are those of `day`'s kind (weekdays,
    or weekend days), whose reports over pools of both kinds carry the rhythm. Once
    weekdays and weekends are pooled apart, each day's pool holds its rhythm, and a
    day's reports over the pool of its own kind are the product's level whatever the
    kind: the last days of either kind count, each over the pool of its own kind (the
    days before the split over the pools of their kind too, sums kept for them by
    :meth:`spikes.detect.trailing._SeasonalFit.finish`; over pools of both kinds they
    would carry the weekly rhythm into a pool that already holds it: weekends at half
    the weekdays' reports gave the first weekend so pooled a baseline at 0.6 of its
    reports). Taken from the last days of its own kind, a weekend's level was a week
    old: a product whose reports doubled for good on a Wednesday met its old level on
    Saturday, a false incident of the whole day that hid the outage of that afternoon.
    A product's days left out as low (:func:`low_day`) are passed over: its days before
    them count instead.
    """
    apart = day >= fit.weekly_min_days
    zero = np.zeros(state.p)

    def sums(d: int) -> np.ndarray:
        by_kind = apart and d in state.level_y_kind
        level_m = (state.level_m_kind if by_kind else state.level_m).get(d, zero)
        return np.stack([(state.level_y_kind if by_kind else state.level_y).get(d, zero),
                         level_m, (level_m > 0).astype(float)])

    same = history if apart else [d for d in history if fit.weekend(d) == fit.weekend(day)]
    start = np.array([MIN_POOL_REPORTS, MIN_POOL_REPORTS, 0.0])[:, None] * np.ones(state.p)
    (seen_y, seen_m, with_data), _ = _latest_sums(state, same, sums, start)
    return (np.clip(seen_y / seen_m, 1 / MAX_LEVEL_FACTOR, MAX_LEVEL_FACTOR),
            with_data.astype(int))


def _latest_sums(state: _FitState, days: list[int], sums: Callable[[int], np.ndarray],
                 start: np.ndarray, usable: Callable[[np.ndarray], np.ndarray] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per product, `start` plus the `sums` (rows x products) of its last
    :data:`LEVEL_DAYS` of `days` (in time order) that are not low for it (and, with
    `usable`, whose sums it accepts), and how many days were taken."""
    total = start.copy()
    taken = np.zeros(state.p, dtype=int)
    for d in reversed(days):
        use = taken < LEVEL_DAYS
        if not use.any():
            break
        if d in state.low_days:
            use &= ~state.low_days[d]
        values = sums(d)
        if usable is not None:
            use &= usable(values)
        total += np.where(use[None, :], values, 0.0)
        taken += use
    return total, taken


def weekend_shape(fit: _SeasonalFit, state: _FitState, history: list[int], day: int,
                  raw: np.ndarray, level: np.ndarray
                  ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per row of `day` (its unscaled pool `raw`), the level factor where the products'
    weekend runs at another shape than their weekdays (None where no product does, or
    `day` is no weekend day before weekdays and weekends are pooled apart), and the
    products whose weekend runs so far from their weekdays that it needs a shape no day
    yet shows (None where none does).

    Until then a weekend day's baseline is the pool of both kinds of day scaled by
    `level`, the level of the last weekend days. An office product's weekend is quiet in
    working hours only: its level (a third) put its unchanged nights at a third of their
    reports, a false outage every weekend night of its first two weeks (the third
    simulator's office products: 295 of its 323 false alarms of those days). Where
    `level` is :data:`SHAPE_FACTOR` or more away from 1, and the last :data:`LEVEL_DAYS`
    weekend days (not low) both hold their sums (:func:`shape_sums`), the weekend is
    taken as ``a + b x`` its pool (least squares over their normal buckets, unconstrained;
    kept where ``a`` and ``b`` come out >= 0, else the one factor): quiet working hours
    (``b`` < 1) over unchanged nights (``a``), or a prime time that swells. Two numbers
    fitted on two days, where a factor per part of the day was noisier (NAB's Apple
    tweets: 3 more false alarms) and put the evening's factor into the late working
    hours (an afternoon outage hidden).

    Where `level` is that far from 1 but fewer than two weekend days hold their sums
    (the first Sunday: one Saturday before it), the shape is unknown: those products are
    returned as such, and their day is unproven (a stretch raised there must jump
    over the hours before it, as on the first day of its kind: see
    :meth:`spikes.detect.causal.LiveWalk.unproven`). One day's fit was tried in its
    place: the third simulator's office products gained, NAB's tweets and the outages
    injected into them lost more (a noisy shape of one weekend day).
    """
    if not fit.weekend(day) or day >= fit.weekly_min_days:
        return None, None
    far = (level <= 1 / SHAPE_FACTOR) | (level >= SHAPE_FACTOR)
    if not far.any():
        return None, None
    (n, x, y, xx, xy), taken = _latest_sums(
        state, [d for d in history if d in state.shape_sums], state.shape_sums.__getitem__,
        np.zeros((len(SHAPE_MOMENTS), state.p)),
        usable=lambda values: values[0] > 0)  # a day without data there tells nothing
    spread = n * xx - x * x
    with np.errstate(invalid="ignore", divide="ignore"):
        b = (n * xy - x * y) / spread
        a = (y - b * x) / n
    fits = far & (taken >= LEVEL_DAYS) & (spread > 0) & (a >= 0) & (b >= 0)
    fits &= y >= MIN_POOL_REPORTS
    unknown = far & (taken < LEVEL_DAYS)
    if not fits.any():
        return None, unknown if unknown.any() else None
    with np.errstate(invalid="ignore", divide="ignore"):
        shaped = np.clip((a[None, :] + b[None, :] * raw) / raw, 1 / MAX_LEVEL_FACTOR,
                         MAX_LEVEL_FACTOR)
    return (np.where(fits[None, :] & (raw > 0), shaped, level[None, :]),
            unknown if unknown.any() else None)


#: The sums :func:`shape_sums` keeps of a weekend day (buckets, pool, reports, squared
#: pool, pool times reports).
SHAPE_MOMENTS = ("n", "x", "y", "xx", "xy")


def shape_sums(use: np.ndarray, yd: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """A day's sums for :func:`weekend_shape` over the buckets `use`: its reports `yd`
    against their unscaled pool `raw` (:data:`SHAPE_MOMENTS` x products)."""
    ok = use & ~np.isnan(raw) & ~np.isnan(yd)
    x = np.where(ok, raw, 0.0)
    y = np.where(ok, yd, 0.0)
    return np.stack([ok.sum(axis=0).astype(float), _column_total(x), _column_total(y),
                     _column_total(x * x), _column_total(x * y)])


def low_day(fit: _SeasonalFit, state: _FitState, day: int, yd: np.ndarray,
            mu_d: np.ndarray, use: np.ndarray, alpha_d: np.ndarray, plan: _DayPlan
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per product, whether `day` stood low (left out of the later level factors and
    noise), and whether its fall has lasted (taken, with the days of its run: see
    :func:`keep_low`); and its buckets in runs of zeros where reports were expected
    (:func:`dead_runs`, where it stood low).

    A day stands low where its reports `yd` over the buckets `use` are under
    ``1 /`` :data:`LOW_DAY_FACTOR` of its baseline `mu_d`'s, and
    :data:`~spikes.detect.baseline.MASK_Z` standard deviations under them (the day's
    negative-binomial spread at the dispersion `alpha_d`: about 36 reports a day
    expected at least). Only a day whose level factor rests on an earlier day with data
    (of its kind, before weekdays and weekends are pooled apart) is judged (the first
    weekend after weekdays only is no fall), from
    :data:`LOW_HISTORY_DAYS` days after the product's first data on, once its pool holds
    :data:`~spikes.detect.trailing_recurring.MIN_MASK_DAYS` days.

    A fall that lasts is the product's new level: the :data:`LOW_DAYS_TO_LEVEL`-th day
    of its kind running that stands low is taken, unless a day of the run holds no
    report at all or a run of zeros where reports were expected (a dead feed is no
    level).

    Examples
    --------
    A day at a third of its baseline, judged with a week of history behind it:

    >>> from spikes.detect.trailing_state import _DayPlan, _FitState
    >>> class Fit:
    ...     days = 14
    ...     weekly_min_days = 14
    ...     def weekend(self, day):
    ...         return False
    >>> state = _FitState(1)
    >>> state.first_day[:] = 0
    >>> mu = np.full((24, 1), 30.0)
    >>> plan = _DayPlan([8, 7], mu, mu, np.zeros(1), np.ones(1), mu, np.ones(1),
    ...                 level_days=np.array([2]))
    >>> low, lasting, dead = low_day(Fit(), state, 9, mu / 3, mu, np.ones((24, 1), bool),
    ...                              np.zeros(1), plan)
    >>> bool(low[0]), bool(lasting[0]), bool(dead.any())
    (True, False, False)
    """
    reports, expected, squares = _column_sums(use, yd, mu_d, np.square(mu_d))
    spread = np.sqrt(expected + alpha_d * squares)
    low = (LOW_DAY_FACTOR * reports < expected) & (expected - reports > MASK_Z * spread)
    if plan.level_days is not None:
        low &= plan.level_days >= 1
    low &= (state.first_day >= 0) & (day - state.first_day >= LOW_HISTORY_DAYS)
    low &= len(plan.pool) >= MIN_MASK_DAYS
    lasting = np.zeros_like(low)
    dead = np.zeros(yd.shape, dtype=bool)
    if not low.any():
        return low, lasting, dead
    dead = dead_runs(yd, mu_d) & low[None, :]
    before = _run_before(fit, day)
    if len(before) == LOW_DAYS_TO_LEVEL - 1:
        # Every day of the run low, with reports and no dead run: a dead feed is no level.
        lasting = low & (reports > 0) & ~dead.any(axis=0)
        for d in before:
            lasting &= state.low_days.get(d, np.zeros(state.p, dtype=bool))
            lasting &= state.low_taken[d][3] if d in state.low_taken else False
    return low & ~lasting, lasting, dead & ~lasting[None, :]


def keep_low(fit: _SeasonalFit, state: _FitState, day: int, lasting: np.ndarray) -> None:
    """Take the days of the products `lasting` left out as low before `day` (its run:
    the :data:`LOW_DAYS_TO_LEVEL` - 1 days of its kind before it) as their level after
    all (in place): their level sums back, so that the level factor rests on the fall's
    latest days, not on the days before it. Their noise statistics stay out (their
    residuals, against the level before the fall, are no noise either)."""
    for d in _run_before(fit, day):
        back = lasting & state.low_days.get(d, np.zeros(state.p, dtype=bool))
        if d not in state.low_taken or not back.any():
            continue
        state.low_days[d] = state.low_days[d] & ~back
        level_y, level_m, kind_sums, _ = state.low_taken[d]
        state.level_y[d] = np.where(back, level_y, state.level_y[d])
        state.level_m[d] = np.where(back, level_m, state.level_m[d])
        if kind_sums is not None:
            state.level_y_kind[d] = np.where(back, kind_sums[0], state.level_y_kind[d])
            state.level_m_kind[d] = np.where(back, kind_sums[1], state.level_m_kind[d])


def dead_runs(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Buckets of runs of zero reports (rows of a day, per product) over which the
    baseline `mu` expected at least :data:`DEAD_RUN_REPORTS` reports: a feed that sent
    zeros, whose buckets no later pool may take for the product's usual level at that
    time of day.

    Examples
    --------
    >>> y = np.array([[5.0], [0.0], [0.0], [0.0], [4.0], [0.0]])
    >>> dead_runs(y, np.full((6, 1), 8.0)).ravel().tolist()
    [False, True, True, True, False, False]
    """
    zero = (y == 0) & ~np.isnan(mu)
    out = np.zeros_like(zero)
    expected = np.where(zero, mu, 0.0)
    for j in np.flatnonzero(zero.any(axis=0)):
        column = zero[:, j]
        starts = column & ~np.concatenate([[False], column[:-1]])
        run = np.cumsum(starts) * column  # 1, 2, ... per run; 0 outside runs
        sums = np.bincount(run, weights=expected[:, j])
        out[:, j] = column & (sums[run] >= DEAD_RUN_REPORTS)
    return out


def _run_before(fit: _SeasonalFit, day: int) -> list[int]:
    """The :data:`LOW_DAYS_TO_LEVEL` - 1 days of the kind of `day` before it (fewer where
    the history is shorter), the latest first."""
    kind = fit.weekend(day)
    return [d for d in range(day - 1, max(day - fit.days, 0) - 1, -1)
            if fit.weekend(d) == kind][: LOW_DAYS_TO_LEVEL - 1]
