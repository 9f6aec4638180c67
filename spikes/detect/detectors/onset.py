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

from spikes.detect.noise import MIN_MEAN, total_surprise

#: -log10 p from which a segment before the peak counts as part of the rise.
SIGNIFICANT = 2.0


class CostSeasonalPoisson(BaseCost):
    """Poisson segment cost relative to a known baseline (a ruptures ``BaseCost``).

    The signal has two columns, counts ``y`` and baseline ``mu``. The cost of a segment is
    its negative profile log-likelihood up to terms that do not depend on the segmentation:
    ``-Y log(Y / M)`` with ``Y`` and ``M`` the segment's total counts and total baseline.
    Cumulative sums make each evaluation O(1).
    """

    model = "seasonal_poisson"
    min_size = 1
    #: Longest signal whose segment costs are tabulated at once (see :meth:`best_split`).
    TABLE_SAMPLES = 512
    #: Longest signal tabulated from its first search on: its table costs about as much
    #: as the two arrays of costs of one search (the window of most incidents).
    FIRST_TABLE_SAMPLES = 64

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
        self._table: np.ndarray | None = None
        self._searches = 0
        return self

    def totals(self, start: int, end: int) -> tuple[float, float]:
        """Total counts and total baseline of the segment ``[start, end)``."""
        return self._cy[end] - self._cy[start], self._cm[end] - self._cm[start]

    def error(self, start: int, end: int) -> float:
        """Cost of the segment ``[start, end)`` (inlined sums: ruptures calls it often)."""
        total = self._cy[end] - self._cy[start]
        base = self._cm[end] - self._cm[start]
        if total <= 0 or base <= 0:
            return 0.0
        return float(-total * np.log(total / base))

    def best_split(self, start: int, end: int, min_size: int = 1) -> tuple[int | None, float]:
        """Best single split of ``[start, end)`` and its gain, all splits at once.

        The same computation as ruptures' ``Binseg.single_bkp`` (gain = cost of the
        segment minus the costs of its two parts; ties go to the later split), done
        with arrays instead of one :meth:`error` call per candidate split. From the
        second search of a signal of up to :data:`TABLE_SAMPLES` samples on (from the
        first, up to :data:`FIRST_TABLE_SAMPLES`), the parts' costs are read from a table
        of every segment's cost, computed once per fit: a binary segmentation asks for
        several splits of the same short window.
        """
        first, last = start + min_size, end - min_size  # the splits: first..last
        if last < first:
            return None, 0.0
        self._searches += 1
        samples = len(self._cy) - 1
        if samples <= self.TABLE_SAMPLES and (self._searches > 1
                                              or samples <= self.FIRST_TABLE_SAMPLES):
            # A short signal (the window of one incident) searched again: the costs of
            # all its segments at once, so that each further search is two slices.
            table = self._segment_errors()
            left, right = table[start, first : last + 1], table[first : last + 1, end]
        else:
            splits = np.arange(first, last + 1)
            left, right = self._errors(start, splits), self._errors(splits, end)
        gains = self.error(start, end) - left - right
        best = len(gains) - 1 - int(np.argmax(gains[::-1]))
        return first + best, float(gains[best])

    def _segment_errors(self) -> np.ndarray:
        """:meth:`error` of every segment ``[start, end)`` as ``table[start, end]``
        (computed once per fit; the same arithmetic as :meth:`_errors`)."""
        if self._table is None:
            positions = np.arange(len(self._cy))
            self._table = self._errors(positions[:, None], positions[None, :])
        return self._table

    def _errors(self, start: np.ndarray | int, end: np.ndarray | int) -> np.ndarray:
        """:meth:`error` of many segments at once."""
        total = self._cy[end] - self._cy[start]
        base = self._cm[end] - self._cm[start]
        ok = (total > 0) & (base > 0)
        ratio = np.divide(total, base, out=np.ones_like(total), where=ok)
        return -total * np.log(ratio, out=np.zeros_like(total), where=ok)

    def rate(self, start: int, end: int) -> float:
        """Fitted ratio ``theta`` of the segment ``[start, end)``."""
        total, base = self.totals(start, end)
        return float(total / base) if base > 0 else 0.0


class SeasonalBinseg(rpt.Binseg):
    """ruptures' binary segmentation (``rpt.Binseg``) with :class:`CostSeasonalPoisson`,
    each single-split search vectorised by :meth:`CostSeasonalPoisson.best_split`.

    Same search, same penalty rule and same result as ``rpt.Binseg(custom_cost=
    CostSeasonalPoisson(), min_size=1, jump=1)``; only the inner loop over candidate
    splits runs in numpy (the incidents of a thousand products call it thousands of
    times).
    """

    def __init__(self) -> None:
        super().__init__(custom_cost=CostSeasonalPoisson(), min_size=1, jump=1)
        self._splits: dict[tuple[int, int], tuple[int | None, float]] = {}

    def fit(self, signal: np.ndarray) -> SeasonalBinseg:
        """Fit the cost to `signal` (columns: counts, baseline)."""
        self.signal = signal.reshape(-1, 1) if signal.ndim == 1 else signal
        self.n_samples = self.signal.shape[0]
        self.cost.fit(signal)
        self._splits = {}
        return self

    def single_bkp(self, start: int, end: int) -> tuple[int | None, float]:
        """Best split of ``[start, end)`` and its gain (cached per fit)."""
        key = (start, end)
        if key not in self._splits:
            self._splits[key] = self.cost.best_split(start, end, self.min_size)
        return self._splits[key]


def locate_onset(y: np.ndarray, mu: np.ndarray, lo: int, peak: int, *,
                 min_ratio: float = 2.0, dispersion: float = 1.0) -> int | None:
    """Start of the rise that peaks at `peak`, searched in ``[lo, peak]``.

    The window is segmented by ruptures' binary segmentation with the seasonal Poisson
    cost and a BIC penalty (``dispersion x ln n`` nats per change point, the dispersion
    accounting for noise beyond Poisson). Walking back from the segment that holds the
    peak, the onset is the start of the earliest segment of the unbroken run of
    segments at least `min_ratio` times the baseline, significantly so (p <= 1 %): a
    slow trickle that grows into the outage belongs to it, an earlier quiet stretch (or
    two stray reports in a quiet night) does not. That segment is split once more where
    the rate leaves the baseline, if its head is not itself elevated.

    Parameters
    ----------
    y, mu : np.ndarray
        One product's counts and baseline.
    lo : int
        First position the onset may take.
    peak : int
        Position of the incident's peak (the rise is over by then).
    min_ratio : float
        Ratio to the baseline from which a segment counts as part of the rise.
    dispersion : float
        Variance of the counts over their Poisson variance (>= 1), scaling the penalty.

    Returns
    -------
    int or None
        Position of the onset bucket, or None when no segment before the peak is
        elevated (the caller keeps its own estimate).

    See Also
    --------
    onset_bounds : the same search, with the latest start the rise supports.
    """
    bounds = onset_bounds(y, mu, lo, peak, min_ratio=min_ratio, dispersion=dispersion)
    return None if bounds is None else bounds[0]


def onset_bounds(y: np.ndarray, mu: np.ndarray, lo: int, peak: int, *,
                 min_ratio: float = 2.0, dispersion: float = 1.0) -> tuple[int, int] | None:
    """Earliest and latest start of the rise that peaks at `peak`, searched in
    ``[lo, peak]``.

    The earliest is :func:`locate_onset`'s. The latest goes on splitting the earliest
    elevated segment where the rate leaves the baseline, while the head cut off is not
    itself elevated (under `min_ratio` or not significant) and the rest still is (at
    `min_ratio` and significant, p <= 1 %). The penalty of the segmentation keeps a mild
    lead-in with the rise's first buckets in one segment where counts are low: at 0.06
    reports a minute, an hour at the usual volume joins the first half hour of an outage
    after it (suite B's Service 25 in ``tests/test_detectors.py``: the earliest start
    lies 57 minutes before the outage). The first split takes the quiet part of such a
    lead-in off; the later ones take off the rest, down to where the rise itself
    begins. The latest start errs late rather than early: the first buckets of a mild
    outage at a few reports are not significant on their own, and the search may cut
    them off too.

    The two differ in what they serve. The hours before the earliest start are the
    stretch's context (its local level and the hours it must stand out from: a lead-in
    cut from its onset is no evidence that the product already ran high), and the
    latest start is the onset an incident reports: an outage is matched by its onset
    (``../shared/EVALUATION.md``), and an onset placed before the rise is a false alarm
    and a miss.

    Parameters
    ----------
    y, mu, lo, peak, min_ratio, dispersion
        As for :func:`locate_onset`.

    Returns
    -------
    tuple of int or None
        ``(earliest, latest)`` positions (``earliest <= latest <= peak``), or None when
        no segment before the peak is elevated.
    """
    if peak <= lo:
        return None
    signal = np.column_stack([y[lo : peak + 1], mu[lo : peak + 1]])
    n = len(signal)
    algo = SeasonalBinseg().fit(signal)
    cost = algo.cost
    ends = algo.predict(pen=max(dispersion, 1.0) * np.log(n))
    starts = [0, *ends[:-1]]
    onset, first_end = None, None
    for start, end in reversed(list(zip(starts, ends, strict=True))):
        if cost.rate(start, end) < min_ratio or not _significant(cost, start, end, dispersion):
            break
        onset, first_end = start, end
    if onset is None:
        return None
    # The penalty may have kept a quiet lead-in and the first part of a slow ramp in
    # one segment: split the earliest segment where the rate leaves the baseline, if
    # its head is not itself elevated (once for the earliest start, then as long as
    # the rest stays significantly elevated for the latest).
    earliest = None
    while first_end - onset >= 2:
        # One change point: ruptures' Binseg with n_bkps=1 is this single best split.
        split, _ = cost.best_split(onset, first_end)
        if split is None:
            break
        head_quiet = (cost.rate(onset, split) < min_ratio
                      or not _significant(cost, onset, split, dispersion))
        tail_elevated = cost.rate(split, first_end) >= min_ratio and (
            earliest is None or _significant(cost, split, first_end, dispersion))
        if not (head_quiet and tail_elevated):
            break
        onset = split
        if earliest is None:
            earliest = onset
    return lo + (onset if earliest is None else earliest), lo + onset


def _significant(cost: CostSeasonalPoisson, start: int, end: int, dispersion: float) -> bool:
    """Whether the segment's total is improbably high for its baseline (p <= 1 %), under a
    quasi-Poisson law (counts and baseline divided by the dispersion)."""
    scale = max(dispersion, 1.0)
    total, base = cost.totals(start, end)
    total, base = total / scale, base / scale
    surprise = total_surprise(np.floor(total), base)
    return bool(surprise >= SIGNIFICANT)
