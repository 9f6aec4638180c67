""":func:`~spikes.detect.detectors.base.calibrated_threshold` of many windows of one
history at once: a live run's every midnight (:func:`spikes.detect.live_thresholds.
threshold_paths`), whose history is the excursions that ended in the calibration's reach
before it.

The per-window steps that cost a few numpy calls each (the counts above ``mid``, the sort,
:func:`~spikes.detect.detectors.base.separated_count`'s spacings, the capped maxima) are
taken for every window in one pass over their concatenation, or over a matrix of one
window a row. Only elementwise operations and sequential cumulative sums run there, each
on the very values the per-window functions take, so every float is the same; the two
sums of :func:`~spikes.detect.detectors.base.heavy_tail_threshold`, whose pairwise
order depends on their length, stay one call per window on a contiguous slice.
"""

from __future__ import annotations

import numpy as np

from spikes.detect.detectors.base import (
    BULK_EXCURSIONS,
    GAP_EVIDENCE,
    MID_EXCEEDANCES,
    MIN_EXCURSIONS,
    censored_count,
    heavy_tail_level,
    short_history_decay,
    tail_testable,
)

#: Most cells of one pass's matrix of windows (a row per window over the maxima they
#: span), so that a year of daily windows over a long history is taken in parts of
#: bounded memory (a few megabytes).
PASS_CELLS = 1 << 22


def window_thresholds(maxima: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                      weeks: np.ndarray, false_alarms_per_week: float, *, low: float,
                      model_decay: float = 1.0) -> list[float | None]:
    """``calibrated_threshold(maxima[lo[i]:hi[i]], weeks[i], ...)`` for every window ``i``
    (the live run's, ``heavy_tail=True``), the same floats.

    Parameters
    ----------
    maxima : np.ndarray
        Excursion maxima of one product's score series, all >= `low`.
    lo, hi : np.ndarray
        Each window's first and past-the-last position in `maxima`.
    weeks : np.ndarray
        Each window's length of history in weeks.
    false_alarms_per_week : float
        The false-alarm budget.
    low : float
        Smallest excursion maximum used in the fit.
    model_decay : float
        Decay rate of the excursion maxima's tail under the noise model.

    Returns
    -------
    list of float or None
        Per window, :func:`~spikes.detect.detectors.base.calibrated_threshold`.

    Examples
    --------
    >>> from spikes.detect.detectors.base import calibrated_threshold
    >>> maxima = 1.0 + np.random.default_rng(0).pareto(2.0, 400)
    >>> lo, hi, weeks = np.array([0, 0, 100]), np.array([5, 200, 400]), np.array([1., 2., 3.])
    >>> got = window_thresholds(maxima, lo, hi, weeks, 0.1, low=1.0)
    >>> got == [calibrated_threshold(maxima[a:b], w, 0.1, low=1.0)
    ...         for a, b, w in zip(lo, hi, weeks)]
    True
    """
    lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
    weeks = np.asarray(weeks, dtype=float)
    out: list[float | None] = []
    for part in _passes(lo, hi):
        out.extend(_thresholds(maxima, lo[part], hi[part], weeks[part],
                               false_alarms_per_week, low, model_decay))
    return out


def tail_testables(n: np.ndarray, weeks: np.ndarray) -> np.ndarray:
    """:func:`~spikes.detect.detectors.base.tail_testable` of many histories.

    Parameters
    ----------
    n : np.ndarray
        Excursions in each history.
    weeks : np.ndarray
        Length of each history in weeks (finite).

    Returns
    -------
    np.ndarray
        Whether each history can show a heavy tail of its own.

    Examples
    --------
    >>> tail_testables(np.array([83, 84, 400]), np.array([1.0, 1.0, 20.0])).tolist()
    [False, True, False]
    """
    return np.array([tail_testable(int(m), float(w)) for m, w in zip(n, weeks, strict=True)],
                    dtype=bool)


def _passes(lo: np.ndarray, hi: np.ndarray) -> list[slice]:
    """Consecutive windows taken together (one at least): their rows over the maxima they
    span (:class:`_Ranked`) hold at most :data:`PASS_CELLS` cells."""
    bounds, start, first, last = [], 0, 0, 0
    for i, (a, b) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)):
        if i > start and (i + 1 - start) * (max(last, b) - min(first, a)) > PASS_CELLS:
            bounds.append(slice(start, i))
            start = i
        first, last = (a, b) if i == start else (min(first, a), max(last, b))
    bounds.append(slice(start, len(lo)))
    return bounds


def _thresholds(maxima: np.ndarray, lo: np.ndarray, hi: np.ndarray, weeks: np.ndarray,
                rate: float, low: float, model_decay: float) -> list[float | None]:
    """:func:`window_thresholds` of one pass."""
    n = hi - lo
    valid = (n >= MIN_EXCURSIONS) & (weeks > 0)
    if not valid.any():
        return [None] * len(n)
    ranked = _Ranked(maxima, lo, hi)
    decay = np.full(len(n), np.nan)
    bulk = valid & (n >= BULK_EXCURSIONS)
    if bulk.any():
        counted = n[bulk]
        mid = low + np.log(counted / MID_EXCEEDANCES) / model_decay
        above = np.maximum(ranked.counts_at_least(bulk, mid), 1)
        decay[bulk] = np.minimum(np.log(counted / above) / (mid - low), model_decay)
    for i in np.flatnonzero(valid & ~bulk).tolist():
        decay[i] = min(short_history_decay(maxima[lo[i]:hi[i]], low), model_decay)
    budget = rate * weeks
    with np.errstate(divide="ignore", invalid="ignore"):
        threshold = low + np.log(n / budget) / np.maximum(decay, 1e-3)
    heavy = np.flatnonzero(valid & tail_testables(n, weeks) & (budget < n // 4)).tolist()
    levels = _heavy_levels(ranked.ordered(heavy), n[heavy], weeks[heavy], budget[heavy],
                           low, model_decay) if heavy else []
    out: list[float | None] = [None] * len(n)
    for i in np.flatnonzero(valid).tolist():
        out[i] = float(threshold[i])
    for i, level in zip(heavy, levels, strict=True):
        if level is not None:
            out[i] = max(out[i], level)
    return out


class _Ranked:
    """The maxima of a pass's windows in descending order, and which of them lies in
    each window (a row per window)."""

    def __init__(self, maxima: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        first = int(lo.min())
        rank = np.argsort(-maxima[first : int(hi.max())], kind="stable") + first
        self.values = maxima[rank]
        self.inside = (rank >= lo[:, None]) & (rank < hi[:, None])

    def counts_at_least(self, rows: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """How many maxima of each window of `rows` (a mask) are >= its level."""
        return np.count_nonzero(self.inside[rows] & (self.values >= levels[:, None]), axis=1)

    def ordered(self, rows: list[int]) -> np.ndarray:
        """The maxima of the windows `rows`, each window's in descending order, one
        window after the other."""
        return self.values[np.nonzero(self.inside[rows])[1]]


def _heavy_levels(ordered: np.ndarray, n: np.ndarray, weeks: np.ndarray,
                  budget: np.ndarray, low: float,
                  model_decay: float) -> list[float | None]:
    """:func:`~spikes.detect.detectors.base.heavy_tail_threshold` of windows of `n`
    maxima, each in descending order in `ordered` one after the other, all of them
    testable (:func:`~spikes.detect.detectors.base.tail_testable`) with a budget under
    their upper quartile's count."""
    starts = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
    window = np.repeat(np.arange(len(n)), n)
    q = n // 4
    separated = _separated_counts(ordered, starts, q, low)
    sizes, quartiles, spans = n.tolist(), q.tolist(), weeks.tolist()
    kept = [max(censored_count(m, w), s)
            for m, w, s in zip(sizes, spans, separated.tolist(), strict=True)]
    censor = ordered[starts + np.minimum(kept, q)]
    level = ordered[starts + q]
    capped = np.minimum(ordered, censor[window])
    over_low = capped - low
    over_level = capped - level[window]
    out: list[float | None] = []
    for first, m, quartile, k, upper, allowed in zip(starts.tolist(), sizes, quartiles, kept,
                                                     level.tolist(), budget.tolist(),
                                                     strict=True):
        if 2 * k >= quartile or not upper > low:
            out.append(None)
            continue
        out.append(heavy_tail_level(float(over_low[first:first + m].sum()) / (m - k),
                                    float(over_level[first:first + quartile].sum())
                                    / (quartile - k), upper=upper, low=low, n=m, q=quartile,
                                    k=k, budget=allowed, model_decay=model_decay))
    return out


def _separated_counts(ordered: np.ndarray, starts: np.ndarray, q: np.ndarray,
                      low: float) -> np.ndarray:
    """:func:`~spikes.detect.detectors.base.separated_count` of each window's upper
    quartile (its ``q`` largest, from ``starts`` in `ordered`, ``q >= 4``), one a row."""
    rows, width = len(q), int(q.max())
    column = np.arange(width)
    row = np.arange(rows)[:, None]
    # Past a window's quartile, a row reads the maxima after it (all >= low: finite
    # logarithms), which no step below uses.
    excess = ordered[np.minimum(starts[:, None] + column, len(ordered) - 1)] - low
    middle, upper_middle = excess[row[:, 0], (q - 1) // 2], excess[row[:, 0], q // 2]
    median = np.where(q % 2 == 1, middle, (middle + upper_middle) / 2.0)
    z = np.log(excess + np.maximum(median, 1e-9)[:, None])
    spacings = column[1:] * (z[:, :-1] - z[:, 1:])  # the one below the i largest
    # The spacings of each row reversed, left-aligned: their running sums from the
    # bottom are the per-window cumsum, zeros after them change none.
    last = (q - 2)[:, None] - column[:-1]
    flipped = np.where(last >= 0, spacings[row, np.maximum(last, 0)], 0.0)
    below = np.cumsum(flipped, axis=1)  # below[i] of a window at column q - 2 - i
    places = q // 2
    j = column[: int(places.max())]
    tried = j < places[:, None]
    rest = below[row, np.maximum((q - 3)[:, None] - j, 0)]
    means = rest / np.maximum((q - 2)[:, None] - j, 1)
    ratio = spacings[:, : len(j)] / np.maximum(means, 1e-12)
    limit = GAP_EVIDENCE * np.log(10.0) + np.log(places)
    hits = tried & (ratio > limit[:, None])
    found = hits.any(axis=1)
    return np.where(found, len(j) - np.argmax(hits[:, ::-1], axis=1), 0)
