"""The rises of a cumulative chart from its running trough: the statistic a live CUSUM
alarm reads (:class:`spikes.detect.causal.LiveWalk` alarms on a rise of the chart by its
threshold from its lowest point since the last decision), as the history its threshold
is calibrated on, with a decision taken wherever a rise reached the configured threshold
(the least an alarm needs).

A chart such as ``S_t = max(0, S_{t-1} + LLR_t)`` drains slowly after a large burst: for
days it stays above its excursion floor, and every rise in that time is one excursion of
the chart's level with one maximum, the burst's. Calibrating on those maxima counts one
exceedance where the alarm, which reads rises from the trough, sees many (measured on
the tweet series of the benchmark, over their calibration history: 7 excursions of
AAPL's level in 7.6 weeks against 96 rises; on CVS, 17 rises above the 9.9 nats its
level's excursions left its threshold at, 2.2 a week against a budget of 0.1).

A rise here is what the alarm would judge: it starts where the chart climbs more than
the floor above its running trough, grows to its peak (height from the trough), and ends
either where the chart is back within the floor of the trough, or, once it has reached
the reversal (the configured threshold: the least an alarm needs), where the chart has
fallen that far from its peak; the trough then restarts at that point, as the alarm's
does after a decision, and as :meth:`CusumDetector.candidates
<spikes.detect.detectors.cusum.CusumDetector.candidates>` splits an excursion in its
zig-zag. Between two zeros of the chart that it spends under the reversal (most of a
simulated product's history) the rises are its level excursions, one for one. Where a
product's threshold is calibrated above the configured one, its alarm restarts less
often than these rises do (only at decisions at that threshold): the history then
counts more and smaller rises than the alarm reads, and the calibration errs towards
the alarm's side of the budget (fewer false alarms).

:func:`chart_rises` takes a whole series (the batch); :class:`RiseTracker` takes one
bucket of many products at a time (the stream) and gives the same rises.
"""

from __future__ import annotations

import numpy as np

from spikes.detect.detectors.base import runs


def chart_rises(scores: np.ndarray, floor: float,
                reversal: float) -> tuple[np.ndarray, np.ndarray]:
    """Height and last position of each rise of a cumulative chart from its running
    trough, in time order.

    Parameters
    ----------
    scores : np.ndarray
        The chart, one value per bucket (>= 0; NaN counts as 0).
    floor : float
        Height above the trough beyond which a rise begins, and within which it ends.
    reversal : float
        Fall from a rise's peak that ends it and restarts the trough, for a rise of at
        least this height (``inf``: never; the rises are then the excursions of the
        chart's level above `floor`).

    Returns
    -------
    tuple of np.ndarray
        The rises' heights, and for each the last position before the bucket at which it
        is known to be over (the series' last position for one still going on).

    Examples
    --------
    >>> s = np.array([0, 5, 12, 6, 4, 11, 7, 0, 3, 0.])
    >>> chart_rises(s, 1.0, 5.0)
    (array([12.,  7.,  3.]), array([2, 6, 8]))
    >>> chart_rises(s, 1.0, np.inf)
    (array([12.,  3.]), array([6, 8]))
    """
    s = np.nan_to_num(np.asarray(scores, dtype=float))
    starts, stops = runs(s > floor)
    if len(starts) == 0:
        return np.empty(0), stops
    maxima = np.maximum.reduceat(s, starts)
    if not maxima.max() >= reversal:
        return maxima, stops  # no rise reaches the reversal: none restarts the trough
    # The chart at 0 leaves the trough at 0 and ends any rise: between its zeros the
    # rises are independent, and they are the level's excursions where the chart stays
    # under the reversal.
    block_starts, block_stops = runs(s > 0.0)
    restarted = np.maximum.reduceat(s, block_starts) >= reversal
    block_of = np.searchsorted(block_starts, starts, side="right") - 1
    keep = ~restarted[block_of]
    heights, ends = [maxima[keep]], [stops[keep]]
    for lo, hi in zip(block_starts[restarted], block_stops[restarted], strict=True):
        block_heights, block_ends = _block_rises(s, int(lo), int(hi), floor, reversal)
        heights.append(block_heights)
        ends.append(block_ends)
    height, end = np.concatenate(heights), np.concatenate(ends)
    order = np.argsort(end, kind="stable")
    return height[order], end[order]


def _block_rises(s: np.ndarray, lo: int, hi: int, floor: float,
                 reversal: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`chart_rises` of ``s[lo:hi + 1]``, a stretch above 0 after a 0 (or the
    start), walked bucket by bucket as :class:`RiseTracker` steps."""
    heights: list[float] = []
    ends: list[int] = []
    trough = 0.0
    inside = False
    peak = top = 0.0
    for i, v in enumerate(s[lo : hi + 1].tolist(), start=lo):
        if v < trough:  # min(trough, v), without the call
            trough = v
        rise = v - trough
        if not inside:
            if rise > floor:
                inside, peak, top = True, rise, v
            continue
        if rise > peak:
            peak, top = rise, v
        if rise <= floor or (peak >= reversal and top - v >= reversal):
            heights.append(peak)
            ends.append(i - 1)
            inside = False
            if rise > floor:  # ended by the reversal: the trough restarts here
                trough = v
    if inside:
        heights.append(peak)
        ends.append(hi)
    return np.asarray(heights, dtype=float), np.asarray(ends, dtype=np.int64)


class RiseTracker:
    """The rises of :func:`chart_rises` for many products, one bucket at a time.

    Parameters
    ----------
    floor : float
        As in :func:`chart_rises`.

    Attributes
    ----------
    trough, peak, top : np.ndarray
        Per product: the running trough, the height of the current rise from it and the
        chart's value at that height.
    inside : np.ndarray
        Per product: whether a rise is going on.

    Examples
    --------
    >>> tracker = RiseTracker(floor=1.0)
    >>> tracker.extend(2)
    >>> ended = [tracker.step(np.array([v, 0.0]), np.array([5.0, 5.0]))
    ...          for v in [0, 5, 12, 6, 4, 11, 7, 0, 3, 0.]]
    >>> [(i, e[1].tolist()) for i, e in enumerate(ended) if len(e[0])]
    [(3, [12.0]), (7, [7.0]), (9, [3.0])]
    """

    def __init__(self, *, floor: float) -> None:
        self.floor = floor
        self.trough = np.zeros(0)
        self.peak = np.zeros(0)
        self.top = np.zeros(0)
        self.inside = np.zeros(0, dtype=bool)

    def extend(self, k: int) -> None:
        """Track `k` more products (their charts start at 0).

        Parameters
        ----------
        k : int
            Products added, after those tracked so far.
        """
        self.trough = np.concatenate([self.trough, np.zeros(k)])
        self.peak = np.concatenate([self.peak, np.zeros(k)])
        self.top = np.concatenate([self.top, np.zeros(k)])
        self.inside = np.concatenate([self.inside, np.zeros(k, dtype=bool)])

    def step(self, values: np.ndarray,
             reversal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Take one bucket's chart values (one per product).

        Parameters
        ----------
        values : np.ndarray
            The charts at this bucket (NaN counts as 0).
        reversal : np.ndarray
            Per product, as in :func:`chart_rises`.

        Returns
        -------
        tuple of np.ndarray
            The products whose rise ended before this bucket (its last position is the
            previous bucket), and the heights of those rises.
        """
        v = np.nan_to_num(np.asarray(values, dtype=float))
        np.minimum(self.trough, v, out=self.trough)
        rise = v - self.trough
        was = self.inside
        grow = was & (rise > self.peak)
        self.peak[grow] = rise[grow]
        self.top[grow] = v[grow]
        drained = rise <= self.floor
        reversed_ = ~drained & (self.peak >= reversal) & (self.top - v >= reversal)
        ended = was & (drained | reversed_)
        which = np.flatnonzero(ended)
        heights = self.peak[which].copy()
        restart = was & reversed_
        self.trough[restart] = v[restart]
        start = ~was & ~drained
        self.inside = (was & ~ended) | start
        self.peak[start] = rise[start]
        self.top[start] = v[start]
        return which, heights
