"""A zone's clock in the live baseline: each pooled day at the wall-clock times of the
day it is pooled for (:attr:`spikes.config.DetectionConfig.timezone`).

The days of a product with a time zone begin at the zone's standard-time midnight
(:func:`~spikes.detect.days.standard_offset`), 24 hours each. Where the zone's offset
(read at each day's noon: clocks change at night) differs between a pooled day and the
day scored, the pooled day's per-slot arrays are moved by the difference
(:func:`~spikes.detect.days.pool_shift`), so that the pools hold the same local clock
time: an office's morning ramp is pooled with the mornings before it, not with the hour
before them. Without a time zone nothing moves, and the arrays are the same objects.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from spikes.detect.baseline import DAY
from spikes.detect.days import nearest_slots, noon_offset, pool_shift, standard_offset
from spikes.detect.trailing_state import _FitState


class _LocalClock:
    """The clock methods of :class:`spikes.detect.trailing._SeasonalFit` (a mixin: it
    sets ``slots``, ``first_day``, ``timezone`` and ``_clock``, and has
    ``contribution``)."""

    slots: int
    first_day: pd.Timestamp
    timezone: str | None
    _clock: dict[int, pd.Timedelta]

    def contribution(self, y: np.ndarray, normal: np.ndarray | None, day: int,
                     width: int, origin: int = 0) -> np.ndarray:
        raise NotImplementedError

    def set_clock(self, timezone: str | None, first: pd.Timestamp,
                  utc_offset: pd.Timedelta) -> pd.Timedelta:
        """Take the zone `timezone` (None: none) of a series that starts at `first`, and
        return the offset at whose midnight its days begin: the zone's standard one, or
        `utc_offset` without a zone."""
        self.timezone = timezone
        self._clock = {}  # each day's offset (at its noon)
        return utc_offset if timezone is None else standard_offset(timezone, first)

    def whole_shift(self, pooled: int, day: int) -> int:
        """:meth:`shift` in whole slots (:func:`~spikes.detect.days.nearest_slots`), for
        rows and flags."""
        return nearest_slots(self.shift(pooled, day))

    def day_offset(self, day: int) -> pd.Timedelta:
        """The offset from UTC of :attr:`timezone` on `day`, read at its noon (clocks
        change at night)."""
        if day not in self._clock:
            assert self.timezone is not None
            self._clock[day] = noon_offset(self.timezone, self.first_day + day * DAY)
        return self._clock[day]

    def shift(self, pooled: int, day: int) -> float:
        """Slots by which the day `pooled` is moved to pool the wall-clock times of `day`
        (:func:`~spikes.detect.days.pool_shift`; a part of a slot where the bucket does
        not divide the change): 0 without a time zone."""
        if self.timezone is None or pooled == day:
            return 0.0
        return pool_shift(self.day_offset(pooled), self.day_offset(day), DAY / self.slots)

    def aligned(self, grid: np.ndarray, pooled: int, day: int,
                neighbour: Callable[[int], np.ndarray] | None = None) -> np.ndarray:
        """The per-slot array `grid` (slots first) of the day `pooled`, at the wall-clock
        times of `day`'s slots: slot ``s`` takes `pooled`'s slot ``s + shift``, or a
        blend of the two slots around it for a part of a slot (2-hour buckets: half of
        each; flags, which cannot be blended, the nearest slot). The slots moved past the
        day's edge take the adjacent day's slots there (`neighbour` gives a day's array)
        where that day is before `day` (known when `day` is planned), else the pooled
        day's edge slot. The same array where nothing moves."""
        shift = self.shift(pooled, day)
        if shift == 0:
            return grid
        if grid.dtype == bool:
            return self._moved(grid, self.whole_shift(pooled, day), pooled, day, neighbour)
        whole = math.floor(shift)
        part = shift - whole
        out = self._moved(grid, whole, pooled, day, neighbour)
        if part:
            out = (1 - part) * out + part * self._moved(grid, whole + 1, pooled, day, neighbour)
        return out

    def _moved(self, grid: np.ndarray, k: int, pooled: int, day: int,
               neighbour: Callable[[int], np.ndarray] | None) -> np.ndarray:
        """`grid` moved by `k` whole slots (see :meth:`aligned`)."""
        if k == 0:
            return grid
        source = np.arange(self.slots) + k
        out = grid[np.clip(source, 0, self.slots - 1)]
        beside = pooled + (1 if k > 0 else -1)
        if neighbour is not None and 0 <= beside < day:
            beyond = (source < 0) | (source >= self.slots)
            out[beyond] = neighbour(beside)[source[beyond] % self.slots]
        return out

    def pool_grid(self, state: _FitState, y: np.ndarray, normal: np.ndarray | None,
                  pooled: int, width: int, origin: int, day: int) -> np.ndarray:
        """The (cached) :meth:`contribution` of the day `pooled` to the pools of `day`,
        at its wall-clock times (:meth:`aligned`), its reports at the product's level of
        now (:meth:`~spikes.detect.trailing_state._FitState.rebased`); `normal` None: of
        the observed buckets."""
        def of(d: int) -> np.ndarray:
            key = (d, width) if normal is not None else (d, width, "observed")
            if key not in state.cache:
                state.cache[key] = self.contribution(y, normal, d, width, origin)
            return state.rebased(d, state.cache[key])

        return self.aligned(of(pooled), pooled, day, of)
