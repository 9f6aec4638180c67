"""Change-point location of an incident's onset with ruptures, against the seasonal rate.

Built-in ruptures costs see the daily cycle as hundreds of change points. The cost here
knows the baseline: a segment's counts are Poisson with rate ``theta * mu_t``, ``theta``
fitted per segment, so a split is only worth it where the ratio to the usual volume
changes, not where the time of day does. A single split is searched by ruptures' binary
segmentation (exact for one change point) in a short window around a candidate.
"""

from __future__ import annotations

import numpy as np
import ruptures as rpt
from ruptures.base import BaseCost

from spikes.noise import MIN_MEAN


class CostSeasonalPoisson(BaseCost):
    """Poisson segment cost relative to a known baseline (a ruptures ``BaseCost``).

    The signal has two columns, counts ``y`` and baseline ``mu``. The cost of a segment is
    its negative profile log-likelihood up to terms that do not depend on the segmentation:
    ``-Y log(Y / M)`` with ``Y`` and ``M`` the segment's total counts and total baseline.
    Cumulative sums make each evaluation O(1).
    """

    model = "seasonal_poisson"
    min_size = 1

    def fit(self, signal: np.ndarray) -> CostSeasonalPoisson:
        """Store cumulative sums of counts and baseline (NaN counts add nothing)."""
        signal = np.asarray(signal, dtype=float)
        y, mu = signal[:, 0], signal[:, 1]
        missing = np.isnan(y)
        y = np.where(missing, 0.0, y)
        mu = np.where(missing, 0.0, np.maximum(mu, MIN_MEAN))
        self.signal = signal
        self._cy = np.concatenate([[0.0], np.cumsum(y)])
        self._cm = np.concatenate([[0.0], np.cumsum(mu)])
        return self

    def error(self, start: int, end: int) -> float:
        """Cost of the segment ``[start, end)``."""
        total = self._cy[end] - self._cy[start]
        base = self._cm[end] - self._cm[start]
        if total <= 0 or base <= 0:
            return 0.0
        return float(-total * np.log(total / base))

    def rate(self, start: int, end: int) -> float:
        """Fitted ratio ``theta`` of the segment ``[start, end)``."""
        base = self._cm[end] - self._cm[start]
        return float((self._cy[end] - self._cy[start]) / base) if base > 0 else 0.0


def locate_onset(y: np.ndarray, mu: np.ndarray, lo: int, peak: int) -> int | None:
    """Most likely start of the rise that peaks at `peak`, searched in ``[lo, peak]``.

    Parameters
    ----------
    y, mu : np.ndarray
        One product's counts and baseline.
    lo : int
        First position the onset may take.
    peak : int
        Position of the incident's peak (the rise is over by then).

    Returns
    -------
    int or None
        Position of the onset bucket, or None when no split raises the rate (the window
        is flat or starts inside an earlier rise).
    """
    if peak <= lo:
        return None
    signal = np.column_stack([y[lo : peak + 1], mu[lo : peak + 1]])
    cost = CostSeasonalPoisson()
    algo = rpt.Binseg(custom_cost=cost, min_size=1, jump=1).fit(signal)
    bkps = algo.predict(n_bkps=1)
    split = bkps[0]
    if split >= len(signal):
        return None
    if cost.rate(split, len(signal)) <= cost.rate(0, split):
        return None
    return lo + split
