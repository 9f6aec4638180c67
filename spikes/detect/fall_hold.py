"""A rise back to the level before a fall, held until the fall is judged.

A fall to under half a product's reports is taken as its level on its third day of its
kind, and the days before it are pooled at its level
(:func:`spikes.detect.trailing_adopted.rebase_fall`). It may be a holiday: the later days
of its kind judge it from noon on, and the first day of the other kind judges that kind at
its end (:mod:`spikes.detect.trailing_watch`,
:func:`spikes.detect.trailing_adopted.check_other_kind`). Until then the day back from a
holiday runs at three times a baseline at the fall's level, and its return is the fall's
end as much as an outage. The baseline marks those buckets with the level before the fall
over the fall's (``Baseline.returns``,
:func:`spikes.detect.trailing_adopted.held_returns`), and the live walk holds a stretch
that returns to it (:func:`held_as_return`) until the judgement
(:meth:`spikes.detect.causal.LiveWalk.returns_to`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from spikes.detect.elevation import Elevation
from spikes.detect.noise import upper_tail_surprise


def held_as_return(returns: np.ndarray, y: np.ndarray, mu: np.ndarray, onset: int,
                   alarm: int, u: int, hour: int, min_ratio: float,
                   into_day: Callable[[int], int]) -> bool:
    """Whether a stretch from `onset` that alarmed at `alarm` is, at bucket `u`, held as
    the end of a fall: it alarmed on held buckets (`returns` above 0 from `alarm` to
    `u`), began with a day of the hold (within `hour` buckets of its start: a holiday
    ends with a day, and its onset may be found in the noise of the last hour before;
    a stretch that begins later is an outage on the fall's level) and the
    reports of its last `hour` buckets stand under `min_ratio` times the level before
    the fall (``mu * returns``; over it, an outage on top of a return).

    Parameters
    ----------
    returns : np.ndarray
        Per bucket, the level before the fall over the baseline where held, 0 or -1
        elsewhere (``Baseline.returns`` of one product).
    y, mu : np.ndarray
        Counts (NaN = missing) and baseline of the product.
    onset, alarm, u : int
        The stretch's onset and alarm, and the bucket it is judged at (positions).
    hour : int
        Buckets in an hour (at least 1).
    min_ratio : float
        How far over the level before the fall an outage stands.
    into_day : callable
        Buckets from a position to the nearest start of a day (of the baseline's days),
        before or after it.

    Returns
    -------
    bool

    Examples
    --------
    >>> returns = np.array([0.0, 3.0, 3.0, 3.0, 3.0])
    >>> mu, y = np.full(5, 10.0), np.array([10.0, 31.0, 29.0, 30.0, 32.0])
    >>> day = lambda at: at - 1  # (the day begins at position 1)
    >>> held_as_return(returns, y, mu, 1, 2, 4, 2, 2.0, day)  # at the level before
    True
    >>> held_as_return(returns, y * 3, mu, 1, 2, 4, 2, 2.0, day)  # three times over it
    False
    """
    if not (returns[alarm : u + 1] > 0).all():
        return False
    lo = max(alarm - 36 * hour, 0)  # (a hold lasts a day and a half at most)
    before = np.flatnonzero(~(returns[lo:alarm] > 0))
    first = max(onset, lo + int(before[-1]) + 1 if len(before) else lo)  # in the hold
    if into_day(first) >= hour:
        return False
    last = slice(max(first, u + 1 - hour), u + 1)
    seen = ~np.isnan(y[last])
    level = float((mu[last] * returns[last])[seen].sum())
    return float(y[last][seen].sum()) < min_ratio * level


def over_return(y: np.ndarray, mu: np.ndarray, returns: np.ndarray, alpha: np.ndarray,
                lo: int, u: int, dispersion: float, window: int, min_ratio: float
                ) -> tuple[int | None, Elevation]:
    """An outage on top of a return: a held stretch whose last hour, from `lo` to `u`,
    grew past `min_ratio` times the level before the fall. It begins where its last
    hour first stood that far over that level, and goes on while it stands out from
    it: the return is the level the product runs at.

    Parameters
    ----------
    y, mu, returns, alpha : np.ndarray
        Counts, baseline, ``Baseline.returns`` and dispersion of one product.
    lo, u : int
        The stretch's last hour (positions).
    dispersion : float
        Variance over the Poisson variance of a window's total (:class:`Elevation`).
    window : int
        Buckets of the elevation's windowed total.
    min_ratio : float
        How far over the level before the fall an outage stands.

    Returns
    -------
    onset : int or None
        Its first bucket at `min_ratio` times the level before the fall (None: none).
    elevation : Elevation
        Its buckets elevated against the level before the fall where held (elsewhere
        against the baseline).
    """
    level = mu * np.where(returns > 0, returns, 1.0)
    high = np.flatnonzero(y[lo : u + 1] >= min_ratio * level[lo : u + 1])
    tail = upper_tail_surprise(y, level, alpha)
    return (lo + int(high[0]) if len(high) else None,
            Elevation(y, level, tail, 1.0, dispersion, window, min_ratio))
