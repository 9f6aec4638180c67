"""The causal seasonal baseline, stepped a closed bucket at a time.

The same day loop as :func:`spikes.detect.trailing.fit_trailing_baseline` (its
``_SeasonalFit``): a day's baseline, dispersion and inflation rest on earlier days
only, so they are computed at the day's first bucket (``plan``) and hold for the whole
day (but where a new level taken on an earlier day of its kind falls back during the
day: :mod:`spikes.detect.trailing_watch`, bucket by bucket as in the batch); the day's
normal flags and noise statistics are recorded once it is over (``finish``). A
product's first day (the warm-up: the series' first day, or the day a product first
appears) takes the cold start of its earlier buckets (their trailing
mean and dispersion: ``_SeasonalFit.cold_start``). Only the days the pools can still
reach are kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spikes.detect.baseline import INFLATION_SCALE
from spikes.detect.ring import Ring
from spikes.detect.trailing import DAY, FIT_COLUMNS, WARMUP_WINDOW, _SeasonalFit
from spikes.detect.trailing_state import _DayPlan, _FitState
from spikes.detect.trailing_watch import judge_bucket


class BaselineStep:
    """Baseline of one block of products (same baseline settings), bucket by bucket.

    Parameters
    ----------
    first : pd.Timestamp
        Start of the first bucket of the block's products (day 0 is its day: their
        first data, as the batch's fit counts them).
    bucket : pd.Timedelta
        Bucket size (divides a day).
    columns : int
        Products of the block.
    at : int
        Absolute row of the first bucket the block will be given (a block created
        later holds products that appear then: their earlier rows are all missing).
    days, smoothing, weekly_min_days, utc_offset, timezone
        As :func:`spikes.detect.trailing.fit_trailing_baseline`.
    """

    def __init__(self, first: pd.Timestamp, bucket: pd.Timedelta, columns: int, at: int,
                 *, days: int, smoothing: str | pd.Timedelta, weekly_min_days: int,
                 utc_offset: str | pd.Timedelta = "0h", timezone: str | None = None) -> None:
        slots = int(DAY / bucket)
        block = max(1, int(INFLATION_SCALE / bucket))
        warm = max(1, int(WARMUP_WINDOW / bucket))
        self.fit = _SeasonalFit(first, slots, int(pd.Timedelta(smoothing) / bucket) // 2,
                                days, weekly_min_days, block, warm,
                                utc_offset=pd.Timedelta(utc_offset), timezone=timezone)
        self.state = _FitState(columns)
        origin = self.fit.rows(max(self.day_of(at) - self.fit.history_days(), 0)).start
        self.ring = Ring({"y": (float, np.nan), "normal": (bool, False)}, columns, origin)
        self.ring.extend(at - origin)
        self.plan: _DayPlan | None = None
        self.plan_day = -1

    def day_of(self, row: int) -> int:
        """Day (from the block's first day) of row `row` (counted from its first bucket)."""
        return (row + self.fit.offset) // self.fit.slots

    def step(self, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """Take the next rows `y` (k x columns) and return their baseline (NaN without
        history), dispersion, inflation, warm-up flags, cold-start flags and the flags
        of a weekend whose shape is unknown, and the rises held as a fall's possible end
        (:func:`~spikes.detect.trailing_adopted.held_returns`), each k x columns."""
        ring, fit = self.ring, self.fit
        k, p = y.shape
        start = ring.stop
        local = ring.extend(k)
        ring.data["y"][local] = y
        mu = np.full((k, p), np.nan)
        alpha = np.zeros((k, p))
        inflation = np.ones((k, p))
        learning = np.zeros((k, p), dtype=bool)
        cold = np.zeros((k, p), dtype=bool)
        unshaped = np.zeros((k, p), dtype=bool)
        returns = np.zeros((k, p))
        row = start
        while row < start + k:
            day = self.day_of(row)
            rows = fit.rows(day)
            stop = min(rows.stop, start + k)
            out = slice(row - start, stop - start)
            if day >= 1:
                if self.plan_day != day:
                    self.plan = fit.plan(self.state, ring["y"], ring["normal"], day, rows,
                                         ring.origin)
                    self.plan_day = day
                plan = self.plan
                assert plan is not None
                if plan.watch is None or not plan.watch.active():
                    mu[out] = plan.mu[row - rows.start : stop - rows.start]
                    if plan.returns is not None:
                        returns[out] = plan.returns[row - rows.start : stop - rows.start]
                else:
                    # A new level judged bucket by bucket (its later rows may change).
                    for r in range(row, stop):
                        mu[r - start] = plan.mu[r - rows.start]
                        if plan.returns is not None:  # (a fall taken back marks them)
                            returns[r - start] = plan.returns[r - rows.start]
                        if plan.watch.active():
                            judge_bucket(fit, self.state, ring["y"], ring["normal"], day,
                                         rows, plan, r, ring.origin)
                alpha[out] = plan.alpha
                inflation[out] = plan.inflation
                if plan.unshaped is not None:
                    unshaped[out] = plan.unshaped
            fresh = np.flatnonzero(~self.state.had_data)
            if len(fresh):
                # Warm-up of the products without data before today: the cold start of
                # the day so far (a prefix of the day gives the values the whole day
                # gives).
                seg = ring["y"][rows.start - ring.origin : stop - ring.origin, fresh]
                day_mu, day_alpha, day_cold = fit.cold_start(seg)
                at = slice(row - rows.start, None)
                mu[out, fresh], alpha[out, fresh] = day_mu[at], day_alpha[at]
                cold[out, fresh] = day_cold[at]
                learning[out, fresh] = True
            if stop == rows.stop:  # the day is over
                fit.finish(self.state, ring["y"], ring.data["normal"], day, rows,
                           None if day < 1 else self.plan, ring.origin)
                ring.forget(fit.rows(max(day + 1 - fit.history_days(), 0)).start)
            row = stop
        return mu, alpha, inflation, learning, cold, unshaped, returns


def blocks_of(columns: list[int]) -> list[list[int]]:
    """`columns` in blocks of at most :data:`~spikes.detect.trailing.FIT_COLUMNS`."""
    return [columns[i : i + FIT_COLUMNS] for i in range(0, len(columns), FIT_COLUMNS)]
