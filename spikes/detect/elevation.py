"""Which buckets keep a live stretch going: elevated against the level before it.

A stretch of :mod:`spikes.detect.causal` (pending, or a raised incident) goes on while
its buckets are elevated: improbably high on their own, or at least ``min_ratio`` times
the local baseline and ending a short window whose total is improbably high (a
low-volume outage has quiet buckets, and one report more than usual is no evidence).
"""

from __future__ import annotations

import numpy as np

from spikes.detect.noise import upper_tail_surprise

#: -log10 p from which a bucket counts as elevated (keeps an incident going).
ELEVATED_SURPRISE = 2.0


def elevated_buckets(y: np.ndarray, mu: np.ndarray, tail: np.ndarray, level: float,
                     dispersion: float, window: int, min_ratio: float) -> np.ndarray:
    """Buckets improbably high (p <= 1 %) on their own, or at least `min_ratio` times the
    local baseline (``mu`` times `level`) and ending a window of `window` buckets whose
    total is improbably high (quasi-Poisson with `dispersion`): a low-volume outage has
    quiet buckets, and one report more than usual is no evidence.

    Parameters
    ----------
    y, mu : np.ndarray
        Counts (NaN = missing) and baseline of one product.
    tail : np.ndarray
        Per-bucket tail surprise (-log10 p) of the counts.
    level : float
        Local level before the stretch, as a multiple of the baseline.
    dispersion : float
        Variance over the Poisson variance of a window's total (>= 1 counts).
    window : int
        Buckets of the windowed total (at least 1).
    min_ratio : float
        Ratio to the local baseline a bucket of the window must reach.

    Returns
    -------
    np.ndarray of bool
    """
    base = np.where(np.isnan(mu), np.inf, mu * level)
    missing = np.isnan(y)
    counts = np.where(missing, 0.0, y)
    elevated = tail >= ELEVATED_SURPRISE
    # Only the buckets high enough and not improbable on their own need their window's
    # total (each the same floats as over the whole array: elementwise).
    need = np.flatnonzero(~elevated & (counts >= min_ratio * base))
    if len(need) == 0:
        return elevated
    expect = np.where(missing | np.isinf(base), 0.0, base)
    k = max(window, 1)
    csum_y = np.concatenate([[0.0], np.cumsum(counts)])
    csum_m = np.concatenate([[0.0], np.cumsum(expect)])
    stop = need + 1
    start = np.maximum(stop - k, 0)
    scale = max(dispersion, 1.0)
    total = (csum_y[stop] - csum_y[start]) / scale
    mean = (csum_m[stop] - csum_m[start]) / scale
    elevated[need] = upper_tail_surprise(np.floor(total), mean, np.zeros(1)) >= ELEVATED_SURPRISE
    return elevated


class Elevation:
    """:func:`elevated_buckets` of one stretch, computed a chunk at a time as the walk
    needs it (most alarms are decided within a few buckets; a whole series per alarm is
    waste). ``elevation[u]`` is the flag of bucket ``u``."""

    CHUNK = 64

    def __init__(self, y: np.ndarray, mu: np.ndarray, tail: np.ndarray, level: float,
                 dispersion: float, window: int, min_ratio: float) -> None:
        self.args = (y, mu, tail, level, dispersion, window, min_ratio)
        self.n = len(y)
        self.lo = self.hi = 0
        self.flags = np.zeros(0, dtype=bool)

    def _cover(self, at: int) -> None:
        """Compute the flags of a chunk starting at `at`."""
        y, mu, tail, level, dispersion, window, min_ratio = self.args
        lead = max(at - window, 0)
        hi = min(self.n, at + self.CHUNK)
        sl = slice(lead, hi)
        flags = elevated_buckets(y[sl], mu[sl], tail[sl], level, dispersion, window, min_ratio)
        self.lo, self.hi, self.flags = at, hi, flags[at - lead :]

    def __getitem__(self, u: int) -> bool:
        if not self.lo <= u < self.hi:
            self._cover(u)
        return bool(self.flags[u - self.lo])

    def end_of_run(self, start: int, gap: int) -> int:
        """Last elevated bucket of the incident raised at `start`: elevated buckets
        separated by at most `gap` quiet ones belong to it."""
        end, u = start, start + 1
        while u < self.n and u - end - 1 <= gap:
            if not self.lo <= u < self.hi:
                self._cover(u)
            chunk = self.flags[u - self.lo :]
            hits = chunk[: gap + 1 - (u - end - 1)].nonzero()[0]
            if len(hits):
                end = u + int(hits[0])
                u = end + 1
            else:
                u += len(chunk[: gap + 1 - (u - end - 1)])
        return end
