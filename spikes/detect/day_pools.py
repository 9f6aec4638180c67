"""Where a series lies on a grid of whole days, and the pools of the retrospective
baseline on it (:func:`spikes.detect.baseline.fit_baseline`): the same time of day
(a window of neighbouring slots) on the other days of the same kind, weekdays and
weekend days apart, each day on its own wall clock where a time zone moves it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spikes.detect.days import (
    SATURDAY,
    UTC,
    day_grid,
    noon_offset,
    pool_shift,
    standard_offset,
)

DAY = pd.Timedelta(days=1)
#: Reports a baseline value should rest on before its time-of-day window stops widening.
MIN_POOL_REPORTS = 50


def _moving_sum(x: np.ndarray, half_window: int, out: np.ndarray | None = None) -> np.ndarray:
    """Sum over ``[t - half_window, t + half_window]`` along axis 0, clipped at the ends.

    From the cumulative sum ``c`` with a leading zero row (``c[k]`` = sum of the first `k`
    rows): the sum is ``c[min(t + half_window + 1, n)] - c[max(t - half_window, 0)]``.
    Written into `out` when given.
    """
    n = x.shape[0]
    if out is None:
        out = np.empty_like(x)
    if half_window == 0:
        out[...] = x
        return out
    csum = np.empty_like(x, shape=(n + 1, *x.shape[1:]))
    csum[0] = 0.0
    np.cumsum(x, axis=0, out=csum[1:])
    inside = max(n - half_window - 1, 0)  # rows whose window ends before the last row
    out[:inside] = csum[half_window + 1 : half_window + 1 + inside]
    out[inside:] = csum[n]
    if n > half_window + 1:  # rows whose window starts after the first row
        out[half_window + 1 :] -= csum[1 : n - half_window]
    return out


@dataclass(frozen=True)
class _Calendar:
    """Where a series lies on the grid of whole days x time-of-day slots.

    Attributes
    ----------
    slots : int
        Buckets per day.
    offset : int
        Slot of the first bucket in its day.
    n_days : int
        Days the series touches.
    kinds : tuple of (np.ndarray, tuple of slice, int)
        Per kind of day (weekdays and weekend days, or all days): the days of that kind,
        the same as runs of consecutive days, and how many days of the kind on either
        side are pooled.
    widths : tuple of int
        Time-of-day half windows, from the configured one doubling up to a quarter day.
    weekdays : np.ndarray
        The day of the week of each day (0 = Monday).
    week_reach : int
        Days of the same day of the week pooled on either side (``days / 7``).
    shifts : np.ndarray or None
        With a time zone, the slots by which each day's clock is ahead of its standard
        time (its offset at noon; :func:`~spikes.detect.days.pool_shift`, a part of a
        slot where the bucket does not divide the change); None without.
    """

    slots: int
    offset: int
    n_days: int
    kinds: tuple[tuple[np.ndarray, tuple[slice, ...], int], ...]
    widths: tuple[int, ...]
    weekdays: np.ndarray
    week_reach: int
    shifts: np.ndarray | None = None


def _calendar(index: pd.DatetimeIndex, slots: int, half_window: int, days: int, *,
              weekly: bool, utc_offset: pd.Timedelta = UTC,
              timezone: str | None = None) -> _Calendar:
    """The :class:`_Calendar` of a series; `days` calendar days pooled on either side,
    days beginning at the local midnight of `utc_offset` (:func:`~spikes.detect.days.day_grid`),
    or of the standard time of `timezone`."""
    first = index[0]
    if timezone is not None:
        utc_offset = standard_offset(timezone, first)
    first_day, dow0 = day_grid(first, DAY / slots, utc_offset)
    offset = int((first - first_day) / (DAY / slots))
    n_days = -(-(offset + len(index)) // slots)
    if weekly:
        weekend = (dow0 + np.arange(n_days)) % 7 >= SATURDAY
        masks = [weekend, ~weekend]
    else:
        masks = [np.ones(n_days, dtype=bool)]
    kinds = []
    for mask in masks:
        # Days of one kind (weekdays, or weekend days) in order; ``days`` calendar days
        # on either side hold about ``days x share`` of them.
        which = np.flatnonzero(mask)
        runs = np.split(which, np.flatnonzero(np.diff(which) != 1) + 1)
        kinds.append((which, tuple(slice(r[0], r[-1] + 1) for r in runs if len(r)),
                      max(1, round(days * len(which) / n_days))))
    widths = [half_window]
    while widths[-1] < slots // 4:
        widths.append(max(2 * widths[-1], 1))
    shifts = None
    if timezone is not None:
        shifts = np.array([pool_shift(utc_offset, noon_offset(timezone, first_day + d * DAY),
                                      DAY / slots) for d in range(n_days)])
        # The clock of most days stays put and only the others move: a shift of part of
        # a bucket (2-hour buckets, a 1-hour change) blends the two buckets around the
        # time each way, which would blur every summer day of data that hold no change.
        values, counts = np.unique(shifts, return_counts=True)
        shifts = shifts - values[np.argmax(counts)]
        if not shifts.any():
            shifts = None
    return _Calendar(slots, offset, n_days, tuple(kinds), tuple(widths),
                     (dow0 + np.arange(n_days)) % 7, max(1, round(days / 7)), shifts)


def _pooled_mean(both: np.ndarray, half_window: int,
                 calendar: _Calendar) -> tuple[np.ndarray, np.ndarray]:
    """Pooled mean over neighbouring slots and the other days of the same kind, and the
    pooled values (reports) it rests on, for values and weights side by side (see
    :func:`_values_and_weights`)."""
    n, q = both.shape
    p = q // 2
    slots = calendar.slots
    grid, rows = _on_day_grid(both, half_window, calendar)
    by_day = grid.reshape(calendar.n_days, slots, q)
    totals = np.empty_like(grid)
    total_by_day = totals.reshape(by_day.shape)
    for which, runs, reach in calendar.kinds:
        if len(which) == 0:
            continue
        if len(which) <= 2 * reach + 1:
            # The window covers all days of the kind (the common case of a few weeks of
            # data): one sum over them, in day order, less the bucket's own day.
            every = by_day[which[0]].copy()
            for day in which[1:]:
                every += by_day[day]
            for run in runs:
                np.subtract(every, by_day[run], out=total_by_day[run])
        else:
            own = by_day[which]
            total_by_day[which] = _moving_sum(own, reach) - own
    total = _off_day_grid(totals, rows, calendar, n)
    pooled, weight = total[:, :p], total[:, p:]
    known = weight > 0
    est = np.full((n, p), np.nan, order="F")
    np.divide(pooled, weight, out=est, where=known)
    if not known.all():
        # Where a slot has no history of its kind: that slot over all days.
        all_days = by_day.sum(axis=0)
        w_all = all_days[:, p:]
        slot_all = all_days[:, :p] / np.where(w_all > 0, w_all, np.nan)
        slot_of_row = (calendar.offset + np.arange(n) if rows is None
                       else np.rint(rows).astype(int)) % slots
        np.copyto(est, slot_all[slot_of_row], where=~known)
    return est, pooled


def _on_day_grid(x: np.ndarray, half_window: int, calendar: _Calendar
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """`x` summed over neighbouring time-of-day slots (``half_window`` either side),
    on a grid of whole days (``(days x slots, columns)``, Fortran order, zeros outside
    the series), each day on its wall clock; and, with a time zone, the grid row of
    each bucket's wall-clock time (None without: the rows follow the buckets from
    ``calendar.offset``)."""
    n, q = x.shape
    slots = calendar.slots
    # Pool neighbouring time-of-day slots (continuous in time, so across midnight too),
    # straight into a grid of whole days with zeros outside the series. Time runs down
    # each column, so its (days, slots, columns) view needs no copy.
    grid = np.zeros((calendar.n_days * slots, q), order="F")
    _moving_sum(x, half_window, out=grid[calendar.offset : calendar.offset + n])
    if calendar.shifts is None:
        return grid, None
    # A time zone: each day on its wall clock (its rows moved by its shift, across its
    # midnight where it is ahead), and each bucket read at its wall-clock time (on the
    # next day's clock past the day's end).
    size = calendar.n_days * slots
    grid = np.asfortranarray(_at(grid, np.arange(size) - np.repeat(calendar.shifts, slots)))
    row = calendar.offset + np.arange(n)
    return grid, row + calendar.shifts[row // slots]


def _off_day_grid(grid: np.ndarray, rows: np.ndarray | None, calendar: _Calendar,
                  n: int) -> np.ndarray:
    """The `n` buckets' rows of a grid of :func:`_on_day_grid` (its `rows`)."""
    if rows is None:
        return grid[calendar.offset : calendar.offset + n]
    # (Beyond the last day: 0, as for a day without history.)
    return _at(grid, rows)


def _at(array: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The rows of `array` at `positions` (row numbers, a part of a row blending the
    two rows around it linearly); 0 outside the array."""
    low = np.floor(positions).astype(int)
    part = (positions - low)[:, None]

    def rows(at: np.ndarray) -> np.ndarray:
        inside = ((at >= 0) & (at < len(array)))[:, None]
        return np.where(inside, array[np.clip(at, 0, len(array) - 1)], 0.0)

    out = rows(low)
    if part.any():
        out = (1 - part) * out + part * rows(low + 1)
    return out
