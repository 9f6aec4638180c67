"""Days taken as a new level (:class:`spikes.detect.trailing._SeasonalFit`), judged by
the next day of their kind (:func:`judge`): taken back where the level fell back
(:func:`take_back`: an outage of most of a day after all), or, where it held, the days
before pooled at the new level (:func:`rebase`; where it was taken on days of one kind
only, the next day of the other kind judges whether that kind moved too:
:func:`check_other_kind`).

A day with most of its buckets far above the baseline is taken as a new level and pooled
whole; the level factor carries the change into the next days. But for two weeks the
pools mix the days before the change with those after it, and the level factor,
measured on the last days against the pools they rested on (which lagged further),
overshot: after a tripling the weekdays' baselines ran up to a fifth high, a weekend
that pooled only old weekend days at 0.6 of its reports and the Monday after it at 1.7
times them, and the calibration read the swings as bursts. Once the level held, the
days before it are pooled at it instead, where they were at one level
(:func:`level_before`), by the level the day moved to (:func:`rise_of`).

A lasting fall (a day under half its baseline, three days of its kind running: see
:mod:`spikes.detect.trailing_level`) is rebased the same way when it is taken
(:func:`fall_to_level`, :func:`rebase_fall`); as it may be a holiday that ends, the
later days of its kinds judge it bucket by bucket (:func:`open_falls`, and
:func:`spikes.detect.trailing_watch.judge_bucket`), and a fall that ended is taken back
(:func:`end_fall`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from spikes.detect.recurring import STUCK_AGREEMENT
from spikes.detect.trailing_level import MAX_LEVEL_FACTOR, _run_before, dead_runs
from spikes.detect.trailing_state import _FitState
from spikes.detect.trailing_windows import _column_sums, _ratio


class _Fit(Protocol):
    """What these read of :class:`spikes.detect.trailing._SeasonalFit`."""

    weekly_min_days: int
    block: int
    slots: int

    def history_days(self) -> int: ...

    def weekend(self, day: int) -> bool: ...

    def rows(self, day: int) -> slice: ...

    def rebase(self, state: _FitState, d: int, day: int, held: np.ndarray
               ) -> np.ndarray: ...

    def take_back(self, state: _FitState, normal: np.ndarray, d: int, back: np.ndarray,
                  origin: int = 0) -> None: ...

    def _pooled(self, state: _FitState, y: np.ndarray, normal: np.ndarray, pool: list[int],
                rows: slice, origin: int) -> tuple[np.ndarray, np.ndarray]: ...


def judge(fit: _Fit, state: _FitState, normal: np.ndarray, day: int, ratio: np.ndarray,
          origin: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Judge the new levels taken on earlier days of the kind of `day` by its level, take
    back those that did not hold and pool the days before those that held at their level
    (in place); return the products whose level fell back today, and those whose pools
    were so rebased.

    A new level is taken at once (a lasting rise ends within a day or two), but an outage
    of more than half a day (a news day, a long failure) looks the same on that day. The
    next day of its kind tells them apart: its baseline ran at the new level, so its
    reports over that baseline (`ratio`) are near 1 where the level held and near
    1 / jump where it fell back to the old one. Below the geometric midpoint,
    ``jump ** -0.5``, the day was an outage after all: its buckets are masked as an
    outage's in the later pools and level sums (:func:`take_back`). Otherwise the pools
    and level factors would carry the outage for weeks, and the days overestimated after
    it would swell the dispersion (measured: a one-day news burst on NAB's Apple tweets
    raised it from 0.12 to 0.88 for three weeks). Where it held, the days before it are
    pooled at the new level (:func:`rebase`), if they were at one level
    (:func:`level_before`).
    """
    fell = np.zeros(state.p, dtype=bool)
    rebased = np.zeros(state.p, dtype=bool)
    kind = fit.weekend(day)
    for d, taken in state.adopted.items():
        if d >= day or fit.weekend(d) != kind or not taken.open.any():
            continue
        judged = taken.open & np.isfinite(ratio)
        back = judged & (ratio < 1.0 / np.sqrt(np.where(judged, taken.jump, 1.0)))
        taken.open &= ~judged
        held = judged & ~back
        if held.any():
            held &= level_before(fit, state, d)
        if held.any():
            rebased |= fit.rebase(state, d, day, held)
        if back.any():
            fell |= back
            fit.take_back(state, normal, d, back, origin)
    return fell, rebased


def take_back(fit: _Fit, state: _FitState, normal: np.ndarray, d: int, back: np.ndarray,
              origin: int = 0) -> None:
    """Take back the new level of day `d` for the products `back` (in place): no longer
    open, its buckets masked as an outage's (rows of `normal` from `origin`), its level
    sums without them, its cached pools dropped."""
    taken = state.adopted[d]
    taken.open &= ~back
    rows = fit.rows(d)
    local = slice(rows.start - origin, rows.stop - origin)
    normal[local] = np.where(back[None, :], taken.masked, normal[local])
    state.level_y[d] = np.where(back, taken.level_y, state.level_y[d])
    state.level_m[d] = np.where(back, taken.level_m, state.level_m[d])
    if taken.kind_sums is not None:
        state.level_y_kind[d] = np.where(back, taken.kind_sums[0], state.level_y_kind[d])
        state.level_m_kind[d] = np.where(back, taken.kind_sums[1], state.level_m_kind[d])
    state.drop_pools(d)


def rise_of(yd: np.ndarray, raw: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Per product, the level a day taken as a new level moved to: its reports over its
    pools (`raw`, before the level factor) after the day's change point, the bucket
    after which its reports fell furthest behind their share of what the pools
    expected (the maximum of the cumulative share of the expected reports less that of
    the reports, as Page's CUSUM locates a change of mean): a step at 08:20 leaves the
    night at the old level, and a chance high bucket at night does not move it. For a
    day at the new level throughout, any point gives that level.

    Examples
    --------
    >>> raw = np.full((8, 1), 10.0)
    >>> yd = np.array([[10.0], [9.0], [11.0], [30.0], [31.0], [29.0], [30.0], [30.0]])
    >>> float(rise_of(yd, raw, np.ones(yd.shape, dtype=bool))[0])
    3.0
    """
    y_sum = np.cumsum(np.where(use, yd, 0.0), axis=0)
    m_sum = np.cumsum(np.where(use, raw, 0.0), axis=0)
    lag = (np.divide(m_sum, m_sum[-1:], out=np.zeros_like(m_sum), where=m_sum[-1:] > 0)
           - np.divide(y_sum, y_sum[-1:], out=np.zeros_like(y_sum), where=y_sum[-1:] > 0))
    after = np.arange(len(yd))[:, None] > np.argmax(lag, axis=0)[None, :]
    return _ratio(*_column_sums(use & after, yd, raw))


def level_before(fit: _Fit, state: _FitState, d: int) -> np.ndarray:
    """Per product, whether the days before `d` that :func:`rebase` would move were
    at one level: each day's normal reports within :data:`STUCK_AGREEMENT` of what
    its pools expected (days without data, and a product's low days, pass). A rise
    from a fall (a feed that recovered after days of few reports) is no lasting
    change of the level before the fall: its jump stands against pools that the
    fall held down."""
    agree = np.ones(state.p, dtype=bool)
    for before in _rebased_days(fit, d):
        if before not in state.level_m:
            continue
        y, m = state.level_y[before], state.level_m[before]
        ratio = np.divide(y, m, out=np.ones(state.p), where=m > 0)
        steady = (ratio <= STUCK_AGREEMENT) & (ratio * STUCK_AGREEMENT >= 1)
        agree &= steady | state.low_days.get(before, np.zeros(state.p, dtype=bool))
    return agree


def _rebased_days(fit: _Fit, d: int) -> range:
    """The days before `d` whose pool contributions a later day may still read."""
    return range(max(0, d - fit.history_days()), d)


def rebase(fit: _Fit, state: _FitState, d: int, day: int, held: np.ndarray
           ) -> np.ndarray:
    """Pool the days before the change of level taken on `d`, which held on `day`, at the
    new level, for the products `held` (in place); return the products so rebased.

    The factor is `d`'s rise (:func:`rise_of`: over the pools before the level factor,
    which are what is moved), bounded by
    :data:`~spikes.detect.trailing_level.MAX_LEVEL_FACTOR` each way (see the module's
    docstring for what it mends: measured, outages at 2.2x in the two weeks after a
    tripling were missed, 24 of 32 found on 8 seeds, 31 with it). A change is rebased
    once: where a day of the other kind was taken as the same new level before `d` was
    judged (a step on a Friday is taken on Friday and Saturday, and Saturday is judged
    first), the days scaled are those before the first of them, and the later
    judgement of the others scales nothing again. Where the rise is unknown (no change
    point within the day), nothing is rebased. The level sums from the first day of the
    change to `day` (part of it may be at the old level; the pools of the others held
    it) say that their level is their pools': the level factor starts again from the
    pools at the new level.
    """
    taken = state.adopted[d]
    moved = held & ~taken.rebased & np.isfinite(taken.rise)
    if not moved.any():
        return moved
    factor = np.where(moved, np.clip(taken.rise, 1 / MAX_LEVEL_FACTOR, MAX_LEVEL_FACTOR), 1.0)
    # The first day of the change: the days just before `d` taken as a new level and
    # still to be judged, back to the first that was not (the same change, taken on
    # days of the other kind too; an older adoption, days apart, is another story).
    first = np.full(state.p, d)
    for e in range(d - 1, max(-1, d - fit.history_days() - 1), -1):
        other = state.adopted.get(e)
        if other is None:
            break
        first = np.where(moved & (first == e + 1) & other.open & ~other.rebased
                         & np.isfinite(other.jump), e, first)
    seen_on = {False: np.zeros(state.p, dtype=bool), True: np.zeros(state.p, dtype=bool)}
    for e in range(int(first.min()), d + 1):
        of_change = moved & (e >= first)
        seen_on[fit.weekend(e)] |= of_change
        if e in state.adopted:
            state.adopted[e].rebased |= of_change
    _scale_before(fit, state, d, day, moved, first, factor, seen_on)
    return moved


def fall_to_level(fit: _Fit, state: _FitState, y: np.ndarray, normal: np.ndarray,
                  day: int, rows: slice, pool: list[int], lasting: np.ndarray,
                  use: np.ndarray, origin: int = 0) -> np.ndarray:
    """:func:`rebase_fall` of the products `lasting` whose fall was taken as the level on
    `day` (its rows `rows`, its pool `pool`, its buckets `use` at their level): the
    fall's level is the day's reports over the pools of `pool`'s days before it."""
    run = _run_before(fit, day)
    first = fall_start(state, lasting, min(run, default=day), fit.history_days())
    old = [d for d in pool if d < first.min()]
    if not old:
        return np.zeros(state.p, dtype=bool)
    yd = y[rows.start - origin : rows.stop - origin]
    old_raw = fit._pooled(state, y, normal, old, rows, origin)[0]
    level = _ratio(*_column_sums(use & ~np.isnan(old_raw), yd, old_raw))
    return rebase_fall(fit, state, day, lasting, first, level)


def fall_start(state: _FitState, lasting: np.ndarray, run_first: int, reach: int
               ) -> np.ndarray:
    """Per product, the first day of a fall taken as the level: `run_first`, or earlier
    where the days just before it (of either kind, at most `reach` back) stood low
    too."""
    first = np.full(state.p, run_first)
    going = lasting.copy()
    for e in range(run_first - 1, max(-1, run_first - reach - 1), -1):
        going &= state.low_days.get(e, np.zeros(state.p, dtype=bool))
        if not going.any():
            break
        first = np.where(going, e, first)
    return first


def rebase_fall(fit: _Fit, state: _FitState, day: int, lasting: np.ndarray,
                first: np.ndarray, old_level: np.ndarray) -> np.ndarray:
    """Pool the days before a lasting fall at its level, for the products `lasting`
    (in place); return the products so rebased.

    A fall is taken as the level once it has lasted
    :data:`~spikes.detect.trailing_level.LOW_DAYS_TO_LEVEL` days of its kind
    (:func:`~spikes.detect.trailing_level.keep_low`), its first day `first`
    (:func:`fall_start`).
    The level factor then carries it, but measured on the last days against pools that
    mix both levels it lagged as the old days left them: after a fall to a third, the
    next Sunday ran at 0.62 of its baseline and the Monday and Tuesday after it at 1.55
    and 1.65 times it (false alarms in waiting), the rest of that week at 1.2-1.3. As after a
    rise (:func:`rebase`), the days before the fall are pooled at its level instead,
    where they were at one level (:func:`level_before`). The fall began on the run's
    first day, or earlier where the days just before it stood low too (a step on a
    Thursday leaves the weekend low before the third weekday confirms it). The factor
    is `day`'s reports over the pools of the days before the fall (`old_level`, its
    reports over them: the fall's level, at most 1), bounded by
    :data:`~spikes.detect.trailing_level.MAX_LEVEL_FACTOR`. The days of the fall say
    from then on that their level is their pools' (they are taken as the level: no
    longer low). The days of a kind that no day of the fall showed are scaled too, and
    judged by the next day of that kind (:func:`check_other_kind`; before weekdays and
    weekends are pooled apart no day would, and a fall is rebased only where both kinds
    showed it). Later days of its kinds judge whether it ended (a holiday week taken as
    a level, then back: :func:`open_falls`, :func:`end_fall`).
    """
    moved = lasting & np.isfinite(old_level) & (old_level < 1.0) & (old_level > 0)
    if not moved.any():
        return moved
    moved &= level_before(fit, state, int(first.min()))
    if not moved.any():
        return moved
    factor = np.where(moved, np.maximum(old_level, 1 / MAX_LEVEL_FACTOR), 1.0)
    seen_on = {False: np.zeros(state.p, dtype=bool), True: np.zeros(state.p, dtype=bool)}
    for e in range(int(first.min()), day + 1):
        seen_on[fit.weekend(e)] |= moved & (e >= first)
    if day < fit.weekly_min_days:
        # The pools hold both kinds and no day judges the other one: only a fall that
        # both showed (weekdays at a third, weekends not: the next Saturday at three
        # times its reports, found by a review).
        moved &= seen_on[False] & seen_on[True]
        if not moved.any():
            return moved
    _scale_before(fit, state, day, day, moved, first, factor, seen_on)
    state.fell_on[moved] = day
    for kind in state.fall_skipped:
        state.fall_skipped[kind] &= ~moved
    state.fall_first[moved] = first[moved]
    state.fall_factor[moved] = factor[moved]
    for kind, seen in seen_on.items():  # the other kind: check_other_kind
        state.fall_open[kind] |= seen
    for e in range(int(first.min()), day):
        since = moved & (e >= first)
        if e in state.low_days:
            state.low_days[e] = state.low_days[e] & ~since
    return moved


def after_fall(fit: _Fit, state: _FitState, day: int,
               unproven: np.ndarray | None) -> np.ndarray | None:
    """`unproven` (per product, or None), with the first day of a kind a fall taken as
    a product's level did not show on since it was taken (:func:`rebase_fall`)
    unproven too: a stretch raised there must jump over the hours before it
    (:meth:`spikes.detect.causal.LiveWalk.unproven`).

    That day's kind was scaled with the fall's until the day judges it at its end
    (:func:`check_other_kind`): where that kind did not fall, the day runs at three
    times its baseline all day. Its level is no jump over the evening before; an
    outage is. (The days of the fall's own kinds hold a rise back to the level before
    it until they judge the fall: :func:`held_returns`.)
    """
    open_falls(fit, state, day)  # (the falls no longer judged expire)
    first = _first_of_other_kind(fit, state, day)
    if first.any():
        unproven = first if unproven is None else unproven | first
    return unproven


def _first_of_other_kind(fit: _Fit, state: _FitState, day: int) -> np.ndarray:
    """Per product, whether `day` is the first day of a kind a fall taken as its level
    did not show on since it was taken (:func:`rebase_fall`)."""
    kind = fit.weekend(day)
    first = np.zeros(state.p, dtype=bool)
    for r in np.unique(state.fell_on[(state.fell_on >= 0) & (state.fell_on < day)]):
        if not any(fit.weekend(e) == kind for e in range(int(r) + 1, day)):
            first |= state.fell_on == r
    return first & ~state.fall_open[kind]  # a kind the fall showed on: held_returns


def held_returns(fit: _Fit, state: _FitState, day: int, rows: int) -> np.ndarray | None:
    """Per row of `day` (its first `rows`) and product, the level before a fall taken
    as the product's level over the fall's (``1 / fall_factor``) on the rows that come
    before the fall is judged: the first half of a day that judges it
    (:func:`open_falls`), the whole of the first day of a kind it did not show on
    (judged at its end, :func:`check_other_kind`); -1 on the first row after such a
    day that put its kind back (and on the rows after a judgement that took the fall
    back: :func:`spikes.detect.trailing_watch.judge_bucket`); 0 elsewhere. None where
    the day holds none.

    Until then a rise back to the level before the fall is the fall's end (a holiday
    over) as much as an outage: the live walk holds a stretch that begins with the
    hold and stands under ``min_ratio`` times that level until the judgement
    (:meth:`spikes.detect.causal.LiveWalk.returns_to`). Where the fall ended, or the
    kind was put back, the stretch was that level and is dropped; elsewhere it is
    raised then.
    """
    judging = open_falls(fit, state, day)
    other = _first_of_other_kind(fit, state, day)
    # The first day of the other kind put its kind back at its end: a rise held all
    # that day was the kind's own level.
    back = (_first_of_other_kind(fit, state, day - 1) & state.put_back if day >= 1
            else np.zeros(state.p, dtype=bool))
    if not (judging.any() or other.any() or back.any()):
        return None
    out = np.zeros((rows, state.p))
    out[: fit.slots // 2] = np.where(judging, 1.0 / state.fall_factor, 0.0)
    out[:] = np.where(other, 1.0 / state.fall_factor, out)
    if rows:
        out[0] = np.where(back & ~(out[0] > 0), -1.0, out[0])
    return out


def open_falls(fit: _Fit, state: _FitState, day: int) -> np.ndarray:
    """Per product, whether `day` judges a fall taken as its level before it
    (:func:`end_fall`): a day of a kind the fall showed on, while the days it scaled are
    pooled (:meth:`history_days` after it was taken)."""
    for kind in state.fall_open:
        state.fall_open[kind] &= state.fell_on + fit.history_days() > day
    return state.fall_open[fit.weekend(day)] & (state.fell_on >= 0) & (state.fell_on < day)


def end_fall(fit: _Fit, state: _FitState, ended: np.ndarray, day: int) -> None:
    """Take back the falls of the products `ended`, which came back to the level
    before them on `day` (in place): the days before each fall are pooled at their own
    level again (where a kind was not put back already), its days up to `day` at the
    level before it (their level sums stood against pools at their level: they stay),
    and the pending judgement of the other kind is dropped.

    A fall taken after three days may be a holiday that ends later (judged from half
    the day on: :func:`spikes.detect.trailing_watch.judge_bucket`). Without it the
    pools stayed at the fall's level, and the day back at the usual level stood at
    three times its baseline until the rise was taken as a new level and confirmed (a
    false incident of two days, where the level factor alone followed the return in
    two days).
    """
    for kind in state.fall_open:
        state.fall_open[kind] &= ~ended
    for r in np.unique(state.fell_on[ended]):
        fell = ended & (state.fell_on == r)
        kept = {k: fell & ~state.fall_skipped[k] for k in (False, True)}
        for d in _rebased_days(fit, int(r)):
            back = kept[fit.weekend(d)] & (d < state.fall_first)
            if d in state.scale and back.any():
                state.scale[d] = np.where(back, state.scale[d] / state.fall_factor,
                                          state.scale[d])
        for pending in state.unproven.values():  # the fall's (a rise's stay)
            for d in pending:
                pending[d] = np.where(fell & (pending[d] < 1.0), 1.0, pending[d])
        for d in range(int(state.fall_first[fell].min()), day):
            since = kept[fit.weekend(d)] & (d >= state.fall_first)
            if since.any():
                state.scale[d] = np.where(since, state.scale.get(d, np.ones(state.p))
                                          / state.fall_factor, state.scale.get(d, 1.0))
    state.fell_on[ended] = -1


def _median_ratio(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Per column, the median of its buckets' reports over their baseline (baselines
    of a report or more), NaN where there is none or the day holds a dead feed
    (:func:`~spikes.detect.trailing_level.dead_runs`)."""
    usable = ~dead_runs(np.nan_to_num(y, nan=1.0), mu).any(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_bucket = np.where(mu >= 1.0, y / mu, np.nan)
    seen = np.isfinite(per_bucket).any(axis=0) & usable
    median = np.full(y.shape[1], np.nan)
    if seen.any():
        median[seen] = np.nanmedian(per_bucket[:, seen], axis=0)
    return median


def _scale_before(fit: _Fit, state: _FitState, d: int, day: int, moved: np.ndarray,
                  first: np.ndarray, factor: np.ndarray,
                  seen_on: dict[bool, np.ndarray]) -> None:
    """Scale the pool contributions of the days before each product's `first` by
    `factor` for the products `moved` (a change of level seen on `d`, judged on `day`),
    keeping the factors of the days of a kind not in `seen_on` to be judged, and say
    that the days from `first` to `day` are at their pools' level."""
    apart = day >= fit.weekly_min_days
    for before in _rebased_days(fit, d):
        scaled = moved & (before < first)
        if not scaled.any():
            continue
        state.scale[before] = state.scale.get(before, np.ones(state.p)) * np.where(
            scaled, factor, 1.0)
        kind = fit.weekend(before)
        unproven = scaled & ~seen_on[kind]
        if apart and unproven.any():
            # Weekdays and weekends are pooled apart and the change was taken on days of
            # the other kind only: the next day of this kind shows whether it moved too
            # (check_other_kind), and each day's factor is kept to be divided back.
            pending = state.unproven.setdefault(kind, {})
            pending[before] = pending.get(before, np.ones(state.p)) * np.where(
                unproven, factor, 1.0)
    for between in range(int(first.min()), day):
        since = moved & (between >= first)
        for ys, ms in ((state.level_y, state.level_m),
                       (state.level_y_kind, state.level_m_kind)):
            if between in ms:
                ms[between] = np.where(since, ys[between], ms[between])


def check_other_kind(fit: _Fit, state: _FitState, day: int, yd: np.ndarray, mu: np.ndarray
                     ) -> np.ndarray:
    """Where a rebase scaled the days of the kind of `day` (weekdays, or weekend days)
    although the change was taken on days of the other kind only, judge it by `day`:
    the median over its buckets of its reports `yd` over its baseline `mu` (an outage
    of a few hours does not move it), unless the day holds a dead feed
    (:func:`~spikes.detect.trailing_level.dead_runs`: it waits for the next day of its
    kind). Beyond the geometric midpoint of the old and the new level on the old
    level's side (under ``factor ** -0.5`` after a rise, as a new level falls back; over
    it after a fall), that kind did not move (weekdays tripled, weekends not), and each
    of its days is pooled at its own level again, divided by the factors it was scaled
    by (in place); after a fall, that kind is left where it is when the fall ends
    (:func:`end_fall`). Return the products so restored.

    Without it, a change on weekdays alone put the second weekend's baseline at twice
    its reports and the Monday after it at 0.56 (found by a review).
    """
    kind = fit.weekend(day)
    pending = state.unproven.get(kind)
    restore = np.zeros(state.p, dtype=bool)
    state.put_back = restore
    if not pending:
        return restore
    factor = np.ones(state.p)  # the change's factor: the one furthest from 1
    for f in pending.values():
        factor = np.where(np.abs(np.log(f)) > np.abs(np.log(factor)), f, factor)
    # Only the products waiting for the judgement (most days: none) are looked at.
    cols = np.flatnonzero(factor != 1.0)
    median = _median_ratio(yd[:, cols], mu[:, cols])
    judged = np.zeros(state.p, dtype=bool)
    judged[cols] = np.isfinite(median)
    median_all = np.full(state.p, np.nan)
    median_all[cols] = median
    median = median_all
    with np.errstate(divide="ignore", invalid="ignore"):
        # Beyond the midpoint on the side of the old level: under it after a rise, over
        # it after a fall (a median of 0 after a fall fell further).
        toward_old = (np.log(median) + np.log(factor) / 2) * np.sign(np.log(factor))
    restore = judged & (toward_old < 0)
    # After a fall: a kind put back is left where it is when the fall ends (end_fall);
    # a kind that fell too judges from now on whether the fall ends (open_falls).
    fall = judged & (factor < 1.0) & (state.fell_on >= 0)
    state.fall_skipped[kind] |= fall & restore
    state.put_back = fall & restore
    state.fall_open[kind] |= fall & ~restore
    for d in [d for d in pending if d < day]:
        if d in state.scale:
            state.scale[d] = np.where(restore, state.scale[d] / pending[d], state.scale[d])
        pending[d] = np.where(judged, 1.0, pending[d])
        if (pending[d] == 1.0).all():
            del pending[d]
    if not pending:
        del state.unproven[kind]
    return restore
