"""The interface every detector shares.

Configuration goes in the constructor (keyword-only, stored as given), data in the calls:
``score(counts, baseline)`` computes how abnormal each bucket is (the expensive step,
done once) and ``candidates(scores, threshold)`` turns scores into candidate intervals
(the cheap step, repeated by threshold tuning and the dashboard's sliders).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from spikes.detect.baseline import Baseline
from spikes.detect.noise import column_blocks
from spikes.errors import SpikesInputError

if TYPE_CHECKING:
    from spikes.config import DetectionConfig


@dataclass(frozen=True)
class Candidate:
    """A stretch of buckets a detector finds abnormal, by integer position.

    Attributes
    ----------
    start : int
        First bucket of the stretch.
    alarm : int
        Bucket at which the detector's threshold was first crossed.
    stop : int
        Last bucket of the stretch (inclusive).
    strength : float
        The detector's largest score inside the stretch.
    """

    start: int
    alarm: int
    stop: int
    strength: float


class Detector(ABC):
    """Base class of detectors: scores per bucket, thresholded cheaply."""

    #: Short name, listed in an incident's ``detectors`` column.
    name: ClassVar[str]

    @abstractmethod
    def score(self, counts: pd.DataFrame, baseline: Baseline) -> pd.DataFrame:
        """How abnormal each bucket is, per product (same shape as `counts`)."""

    @abstractmethod
    def candidates(self, scores: np.ndarray, threshold: float) -> list[Candidate]:
        """Candidate intervals of one product's score array above `threshold`."""

    @abstractmethod
    def default_threshold(self, config: DetectionConfig, bucket: pd.Timedelta) -> float:
        """The threshold that `config` asks for at this bucket size."""

    def threshold_is_fixed(self, config: DetectionConfig) -> bool:
        """Whether `config` sets this detector's threshold explicitly (no calibration)."""
        return False

    #: Whether the score accumulates evidence over buckets (a CUSUM): a causal run then
    #: raises an alarm on a rise of the score by the threshold from its lowest point since
    #: the last incident, instead of on the score itself.
    cumulative: ClassVar[bool] = False
    #: Score level above which a stretch of buckets counts as one excursion when the
    #: threshold is calibrated on a product's own history.
    excursion_floor: ClassVar[float] = 1.0
    #: How fast the share of noise excursions reaching a score level falls with the level
    #: under the noise model, per unit of score: 1 for log-likelihood ratios in nats
    #: (Wald's bound), ``ln 10`` for ``-log10`` tail probabilities.
    excursion_decay: ClassVar[float] = 1.0

    def excursion_maxima(self, scores: np.ndarray) -> np.ndarray:
        """Largest score of each excursion of `scores` above :attr:`excursion_floor`."""
        return self.excursions(scores)[0]

    def excursions(self, scores: np.ndarray,
                   reversal: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """Largest score and last position of each excursion of `scores` above
        :attr:`excursion_floor`, in time order: the history a threshold is calibrated on.

        Parameters
        ----------
        scores : np.ndarray
            The detector's scores of one product.
        reversal : float
            For a cumulative detector, the fall from a rise's peak after which its alarm's
            statistic restarts (its configured threshold; see
            :func:`spikes.detect.detectors.rises.chart_rises`); ignored by the others.

        Returns
        -------
        tuple of np.ndarray
            Maxima and last positions.
        """
        starts, stops = runs(scores > self.excursion_floor)
        if len(starts) == 0:
            return np.empty(0), stops
        return np.maximum.reduceat(np.nan_to_num(scores), starts), stops

    def get_params(self) -> dict[str, object]:
        """Constructor parameters, read back from the instance."""
        import inspect

        names = inspect.signature(type(self).__init__).parameters
        return {n: getattr(self, n) for n in names if n != "self"}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


#: Excursions the noise model expects above the calibration's upper fitting level; also
#: the fewest of a product's largest excursions the heavy-tail fit censors (past outages).
MID_EXCEEDANCES = 10
#: Share of a product's largest excursions the heavy-tail fit censors, where that is more
#: than the other bounds of :func:`censored_count`: a burstier history has more
#: excursions and censors more.
CENSORED_SHARE = 1 / 32
#: Excursions a week of a product's history that may be real outages, which the
#: heavy-tail fit censors (:func:`censored_count`): about one or two outages a week,
#: each with an aftershock. A detector's noise makes excursions at a rate set by its
#: bucket (about 150 a week for the per-bucket tail at 5 minutes, 15-20 at an hour, a
#: few for an hourly CUSUM), so a share of them alone would cover ever fewer outages a
#: week at slower rates; over months, the outages of a product that fails weekly would
#: pass for a heavy tail of its noise and raise its thresholds above its outages
#: (measured in ``benchmarks/bench_long_history.py``).
OUTAGE_EXCURSIONS_PER_WEEK = 3.0
#: Fewest excursions from which a product's own history calibrates its threshold.
MIN_EXCURSIONS = 10
#: Excursions from which the decay is measured between ``low`` and ``mid``; with fewer,
#: from a censored fit of all of them, at its upper confidence bound. A threshold may
#: step at the midnight a detector reaches this many (from a bound to an estimate).
#: Borrowing ends later, once the history can show a heavy tail (:func:`tail_testable`,
#: at least 84 excursions): the threshold may then step down (its own fit replaces a
#: borrowed raise, which can be large where the lender's tail is heavy), and back up
#: where the calibration's reach or the weeks of outages censored make it untestable
#: again.
BULK_EXCURSIONS = 30
#: Standard errors of evidence a calibration needs to raise a threshold: the decay of a
#: short history is taken at its upper bound by so many, and a tail counts as heavy
#: where the mean excess of its upper quartile exceeds both the overall one and the noise
#: model's bound by so many (:func:`heavy_tail_threshold`).
EVIDENCE_Z = 3.0
#: Digits of nominal improbability (``-log10`` p under ``exp(-t)``, Bonferroni over the
#: places tried; looser for short histories: see :func:`separated_count`) of a gap
#: between a history's largest excursions and the others before they are censored as
#: outages of their own (:func:`separated_count`). At 3, two more alerts on the Cloud
#: Monitoring series without labels (real bursts of telemetry set apart as outages);
#: at 6 none, and a product failing three times a week keeps recall 0.89 (0.84 without).
GAP_EVIDENCE = 6.0


def calibrated_threshold(maxima: np.ndarray, weeks: float, false_alarms_per_week: float,
                         *, low: float, model_decay: float = 1.0,
                         heavy_tail: bool = True) -> float | None:
    """Threshold at which a product's own noise excursions meet the false-alarm budget.

    For a well-specified CUSUM of log-likelihood ratios, the share of excursions whose
    maximum exceeds ``h`` is at most ``exp(-(h - low))`` beyond `low` (Wald's identity);
    for ``-log10`` tail probabilities it is about ``10 ** -(h - low)``: in general
    ``exp(-model_decay * (h - low))``. Traffic burstier than the noise model shows a
    slower decay. The decay rate is measured between `low` and the level ``mid`` that
    the model expects :data:`MID_EXCEEDANCES` excursions to exceed, a range where noise
    still outnumbers the few real outages of a history, and extrapolated to the level
    that noise excursions exceed ``false_alarms_per_week * weeks`` times. Where the
    history decays as fast as the model says, this exponential extrapolation is no
    higher than the model's own threshold. A history of fewer than
    :data:`BULK_EXCURSIONS` excursions (the first weeks of hourly data) is too short for
    that range: its decay is the upper confidence bound of a censored fit
    (:func:`short_history_decay`), so that it raises the threshold only as far as it
    proves.

    Real bursts (news in mention counts, load ramps in telemetry) are often heavier
    than any exponential: their maxima follow a power law, and the exponential
    extrapolation then puts the threshold far too low. Where the excursions' tail is
    significantly heavier than exponential (:func:`heavy_tail_threshold`, a generalized
    Pareto tail as in SPOT, Siffer et al. KDD 2017), the threshold is the higher of the
    two extrapolations.

    Parameters
    ----------
    maxima : np.ndarray
        Excursion maxima of one product's score series.
    weeks : float
        Length of the series in weeks.
    false_alarms_per_week : float
        The false-alarm budget.
    low : float
        Smallest excursion maximum used in the fit.
    model_decay : float
        Decay rate of the excursion maxima's tail under the noise model, per unit of
        score (1 for nats, ``ln 10`` for ``-log10 p``); the measured rate is capped at it.
    heavy_tail : bool
        Also extrapolate a significantly heavier tail as a generalized Pareto one.

    Returns
    -------
    float or None
        The calibrated threshold, or None with under :data:`MIN_EXCURSIONS` excursions
        or no history (`weeks` <= 0).
    """
    maxima = maxima[maxima >= low]
    n = len(maxima)
    if n < MIN_EXCURSIONS or not weeks > 0:
        return None
    if n >= BULK_EXCURSIONS:
        mid = low + np.log(n / MID_EXCEEDANCES) / model_decay
        above_mid = max(int((maxima >= mid).sum()), 1)
        decay = min(np.log(n / above_mid) / (mid - low), model_decay)
    else:
        decay = min(short_history_decay(maxima, low), model_decay)
    budget = false_alarms_per_week * weeks
    threshold = float(low + np.log(n / budget) / max(decay, 1e-3))
    heavy = (heavy_tail_threshold(maxima, low, budget, weeks=weeks, model_decay=model_decay)
             if heavy_tail else None)
    return threshold if heavy is None else max(threshold, heavy)


def censored_count(n: int, weeks: float) -> int:
    """How many of a history's largest excursions the heavy-tail fit censors.

    The largest of :data:`MID_EXCEEDANCES`, :data:`CENSORED_SHARE` of the `n`
    excursions and :data:`OUTAGE_EXCURSIONS_PER_WEEK` per week of history: the real
    outages of a history must not pass for a heavy tail of its noise, however long the
    history and however few excursions the detector makes a week.

    Parameters
    ----------
    n : int
        Excursions in the history.
    weeks : float
        Length of the history in weeks.

    Returns
    -------
    int
        The number of the largest excursions censored (at least
        :data:`MID_EXCEEDANCES`).

    Examples
    --------
    >>> censored_count(100, 1.0), censored_count(4800, 4.0), censored_count(480, 26.0)
    (10, 150, 78)
    """
    outages = OUTAGE_EXCURSIONS_PER_WEEK * weeks if weeks > 0 else 0.0
    return max(MID_EXCEEDANCES, int(n * CENSORED_SHARE), int(outages))


def tail_testable(n: int, weeks: float) -> bool:
    """Whether a history can show a heavy tail of its own.

    Its upper quartile must hold more than twice the excursions censored as possible
    outages (:func:`censored_count`): at least 84 excursions, and more than 24 a week of
    history. An hourly tail detector (15-20 noise excursions a week) and a CUSUM at an
    hour never are: they take their raise from the other detector of the product
    (:func:`product_thresholds`), the exponential fit's where neither can test.

    Parameters
    ----------
    n : int
        Excursions in the history.
    weeks : float
        Length of the history in weeks.

    Returns
    -------
    bool

    Examples
    --------
    >>> tail_testable(83, 1.0), tail_testable(84, 1.0), tail_testable(400, 20.0)
    (False, True, False)
    """
    return n // 4 > 2 * censored_count(n, weeks)


def short_history_decay(maxima: np.ndarray, low: float) -> float:
    """Decay rate of a short history's excursion maxima, at its upper confidence bound.

    The maximum-likelihood rate of an exponential tail above `low`, with the largest
    quarter of the maxima censored at the next one (they may be real outages), is
    ``m / T`` with ``m`` the uncensored count and ``T`` the total excess (censored values
    at the censoring level); ``2 m rate / estimate`` follows a chi-square law with ``2 m``
    degrees of freedom. Its upper bound by :data:`EVIDENCE_Z` standard errors (Wilson-
    Hilferty's approximation of the quantile) is returned: a short history raises a
    threshold only when even the fastest decay it allows is slower than the model's.

    Parameters
    ----------
    maxima : np.ndarray
        Excursion maxima, all >= `low` (at least 2).
    low : float
        Level from which the excursions are counted.

    Returns
    -------
    float
        The upper bound of the decay rate per unit of score.
    """
    n = len(maxima)
    k = max(n // 4, 1)
    ordered = np.sort(maxima)[::-1]
    uncensored = n - k
    total = float((np.minimum(ordered, ordered[k]) - low).sum())
    nu = 2.0 * uncensored
    upper = (1.0 - 2.0 / (9.0 * nu) + EVIDENCE_Z * np.sqrt(2.0 / (9.0 * nu))) ** 3
    return uncensored / max(total, 1e-12) * upper


def separated_count(upper: np.ndarray, low: float) -> int:
    """How many of the largest excursion maxima stand apart from the others by a gap no
    tail of noise makes: a population of their own (outages), however many they are.

    The maxima are taken on a log scale, ``z = log(x - low + s)`` with ``s`` their median
    excess over `low` (a Pareto tail is then exponential, an exponential one lighter);
    by Rényi's representation the spacings ``i (z_(i) - z_(i+1))`` of the ``i``-th
    largest are then independent exponentials of one mean (smaller at the top for the
    lighter tail). The spacing below the ``j`` largest is compared with the mean of those
    below it: a ratio ``t`` has probability about ``exp(-t)`` (that ignores that the
    mean is estimated: with ``n`` spacings below, ``(1 + t / n) ** -n``, so the test is
    looser than its nominal level for short histories), taken as a gap under
    ``10 ** -GAP_EVIDENCE`` divided by the number of places tried (Bonferroni). The
    largest such ``j`` is returned (0 without a gap).

    Parameters
    ----------
    upper : np.ndarray
        The largest excursion maxima (the upper quartile), in descending order.
    low : float
        Level from which the excursions are counted.

    Returns
    -------
    int
        The number of maxima above the lowest significant gap (at most half of `upper`).

    Examples
    --------
    >>> noise = 5.0 + np.random.default_rng(0).exponential(1.0, 120)
    >>> outages = np.full(25, 200.0)
    >>> upper = np.sort(np.concatenate([noise, outages]))[::-1][:60]
    >>> separated_count(upper, 5.0), separated_count(np.sort(noise)[::-1][:60], 5.0)
    (25, 0)
    """
    m = len(upper)
    places = m // 2
    if places < 2:
        return 0
    excess = upper - low
    z = np.log(excess + max(_median_of_sorted(excess), 1e-9))
    spacings = np.arange(1, m) * (z[:-1] - z[1:])  # the one below the i largest, i = 1..
    # Mean of the spacings below each place: those of i + 1 .. m - 1.
    below = np.cumsum(spacings[::-1])[::-1]
    counts = np.arange(m - 1, 0, -1)
    means = np.empty(m - 1)
    means[:-1] = below[1:] / counts[1:]
    means[-1] = np.inf
    ratio = spacings[:places] / np.maximum(means[:places], 1e-12)
    limit = GAP_EVIDENCE * np.log(10.0) + np.log(places)
    hits = np.flatnonzero(ratio > limit)
    return int(hits[-1]) + 1 if len(hits) else 0


def _median_of_sorted(ordered: np.ndarray) -> float:
    """``np.median`` of an array already sorted (either way), without its partition: the
    middle value, or the mean of the two middle ones (the same float)."""
    m = len(ordered)
    lo, hi = ordered[(m - 1) // 2], ordered[m // 2]
    return float(lo) if m % 2 else float((lo + hi) / 2.0)


def heavy_tail_threshold(maxima: np.ndarray, low: float, budget: float, *,
                         weeks: float, model_decay: float = 1.0) -> float | None:
    """Level that excursion maxima exceed `budget` times, where their tail is heavy.

    The mean excess ``E[X - u | X > u]`` of a generalized Pareto tail grows linearly in
    the level ``u`` with slope ``xi / (1 - xi)``; that of an exponential tail (the noise
    model's) is flat. It is estimated above `low` over all excursions, and above ``u``,
    the upper quartile of the maxima, over the excursions beyond it. The largest maxima
    (:func:`censored_count` of them, or all those a gap sets apart from the others:
    :func:`separated_count`) are censored at the next one (the exponential estimate with
    censoring), so that the real outages of a history do not make the tail. Only where
    the upper quartile's mean excess exceeds the overall one by :data:`EVIDENCE_Z`
    standard errors (under the exponential, taking the two means as independent: they
    share the upper quartile, so the test is stricter than its nominal level), and also
    the mean excess ``1 / model_decay`` of the noise model's own bound by as many, is the
    tail taken as heavy. The second test matters where the detector's drift changes over
    the day (a CUSUM at one-minute buckets drains slowly at night, fast by day): its
    maxima are then a mixture of exponentials, heavier than their bulk yet lighter than
    the bound everywhere (on simulated negative-binomial counts without outages, a
    fifth of the one-minute CUSUM's calibrations passed the first test alone). Its slope
    is then the estimate (as heavy as the history shows; its lower confidence bound, used
    before, put the threshold where a generalized Pareto tail exceeds it three to seven
    times as often as the budget allows), a generalized Pareto tail with it is fitted
    above ``u``, and its level exceeded `budget` times among the maxima is returned.

    Parameters
    ----------
    maxima : np.ndarray
        Excursion maxima of one product's score series, all >= `low`.
    low : float
        Level from which the excursions are counted.
    budget : float
        Number of exceedances allowed (false alarms per week times weeks of history).
    weeks : float
        Length of the history in weeks (for the outages it may hold: see
        :func:`censored_count`).
    model_decay : float
        Decay rate of the excursion maxima's tail under the noise model, per unit of
        score (see :func:`calibrated_threshold`).

    Returns
    -------
    float or None
        The level, or None when the tail is not significantly heavier than exponential
        or than the noise model's bound,
        the outages set apart are half the upper quartile or more,
        the history too short for the test (:func:`tail_testable`), or the budget not
        below the upper quartile's count.
    """
    n = len(maxima)
    k = censored_count(n, weeks)
    q = n // 4
    if not tail_testable(n, weeks) or budget >= q:
        return None
    ordered = np.sort(maxima)[::-1]
    # Outages set apart from the noise by a gap are censored however many they are (a
    # product that fails daily would otherwise pass them for a heavy tail of its noise);
    # the upper quartile must keep as many uncensored excursions as it censors.
    k = max(k, separated_count(ordered[:q], low))
    if 2 * k >= q:
        return None
    # The q largest lie above the level u (the next one); the k largest are censored at
    # the value of the next one, which is itself observed.
    censor, upper = float(ordered[k]), float(ordered[q])
    if upper <= low:
        return None
    capped = np.minimum(ordered, censor)
    return heavy_tail_level(float((capped - low).sum()) / (n - k),
                            float((capped[:q] - upper).sum()) / (q - k),
                            upper=upper, low=low, n=n, q=q, k=k, budget=budget,
                            model_decay=model_decay)


def heavy_tail_level(excess_all: float, excess_upper: float, *, upper: float, low: float,
                     n: int, q: int, k: int, budget: float,
                     model_decay: float) -> float | None:
    """The tests and the generalized Pareto level of :func:`heavy_tail_threshold`, from
    its two censored mean excesses.

    Parameters
    ----------
    excess_all : float
        Mean excess above `low` of all `n` maxima, the `k` largest censored.
    excess_upper : float
        Mean excess above `upper` of the `q` largest, the `k` largest censored.
    upper : float
        The upper quartile's level (the ``q + 1``-th largest maximum).
    low : float
        Level from which the excursions are counted.
    n, q, k : int
        Maxima, those in the upper quartile, those censored.
    budget : float
        Number of exceedances allowed.
    model_decay : float
        Decay rate of the excursion maxima's tail under the noise model.

    Returns
    -------
    float or None
        The level, or None when the tail is not significantly heavier than exponential
        or than the noise model's bound.
    """
    if excess_all <= 0:
        return None
    error = excess_all * math.sqrt(1.0 / (n - k) + 1.0 / (q - k))
    if excess_upper - excess_all <= EVIDENCE_Z * error:
        return None  # no heavier than the bulk's exponential
    bound = 1.0 / model_decay  # the mean excess of Wald's bound above any level
    if excess_upper - bound <= EVIDENCE_Z * bound / math.sqrt(q - k):
        return None  # no heavier than the noise model allows
    slope = (excess_upper - excess_all) / (upper - low)
    xi = slope / (1.0 + slope)
    sigma = excess_upper * (1.0 - xi)
    return float(upper + sigma / xi * ((q / budget) ** xi - 1.0))


def product_thresholds(detectors: Mapping[str, Detector], maxima: Mapping[str, np.ndarray],
                       weeks: float, config: DetectionConfig, bucket: pd.Timedelta, *,
                       hindsight: bool = False,
                       base: Mapping[str, float] | None = None) -> dict[str, float]:
    """The thresholds of one product's detectors, calibrated on its history.

    Each detector's threshold is its configured one, raised to
    :func:`calibrated_threshold` of its own excursions where that is higher. A detector
    whose own history cannot show a heavy tail (too few excursions beyond those censored
    as possible outages: :func:`tail_testable`; an hourly CUSUM gets a handful a month,
    each a long climb) borrows the burstiness the others measured on the same product:
    its threshold above
    its :attr:`~Detector.excursion_floor` is scaled by the largest factor by which theirs
    was raised, where that is above its own calibration. Both score the same counts
    against the same noise model, so traffic that makes one detector's noise excursions
    so much larger than the model says does the same to the other's evidence.

    With `hindsight` (the retrospective mode: the history is the whole series, the
    outages judged included), each detector is calibrated on its own excursions with the
    exponential fit only: measured on NAB and Cloud Monitoring, the heavy-tail
    extrapolation and the borrowing cost the retrospective mode recall, the outages of
    the series being part of the tail it fits (``benchmarks/RESULTS.md``).

    Parameters
    ----------
    detectors : mapping of str to Detector
        The product's detectors, by name.
    maxima : mapping of str to np.ndarray
        Per detector, the maxima of the excursions of its scores in the history.
    weeks : float
        Length of the history in weeks.
    config : DetectionConfig
        The product's settings (``calibrate``, the budget, explicit thresholds).
    bucket : pd.Timedelta
        Bucket size.
    hindsight : bool
        The history is the whole series (retrospective mode).
    base : mapping of str to float, optional
        The detectors' configured thresholds (``default_threshold`` of `config` and
        `bucket`), where the caller has them already (one product's every midnight).

    Returns
    -------
    dict of str to float
        Threshold per detector.
    """
    if base is None:
        base = {name: det.default_threshold(config, bucket) for name, det in detectors.items()}
    if not config.calibrate:
        return base
    own: dict[str, float | None] = {}
    testable: dict[str, bool] = {}
    for name, det in detectors.items():
        if det.threshold_is_fixed(config):
            continue
        floor = det.excursion_floor
        above = maxima[name][maxima[name] >= floor]
        own[name] = calibrated_threshold(above, weeks, config.false_alarms_per_week,
                                         low=floor, model_decay=det.excursion_decay,
                                         heavy_tail=not hindsight)
        testable[name] = tail_testable(len(above), weeks)
    return raised_thresholds(detectors, own, testable, base, hindsight=hindsight)


def raised_thresholds(detectors: Mapping[str, Detector], own: Mapping[str, float | None],
                      testable: Mapping[str, bool], base: Mapping[str, float], *,
                      hindsight: bool = False) -> dict[str, float]:
    """The step of :func:`product_thresholds` after each detector's own calibration: its
    configured threshold raised to its own, and a borrower's by the others' factors
    (:func:`raised_days` of one day).

    Parameters
    ----------
    detectors : mapping of str to Detector
        The product's detectors, by name.
    own : mapping of str to float or None
        :func:`calibrated_threshold` of each calibrated detector (those whose threshold
        is not fixed), in the detectors' order.
    testable : mapping of str to bool
        :func:`tail_testable` of each calibrated detector's history.
    base : mapping of str to float
        Each detector's configured threshold, the least it keeps.
    hindsight : bool
        Whether the run sees the whole series (then no detector borrows a raise).

    Returns
    -------
    dict of str to float
        The threshold of each detector.
    """
    if not own:
        return dict(base)
    day = raised_days(detectors, {name: [value] for name, value in own.items()},
                      {name: np.array([ok]) for name, ok in testable.items()}, base,
                      hindsight=hindsight)
    return {name: float(values[0]) for name, values in day.items()}


def raised_days(detectors: Mapping[str, Detector], own: Mapping[str, list[float | None]],
                testable: Mapping[str, np.ndarray], base: Mapping[str, float], *,
                hindsight: bool = False) -> dict[str, np.ndarray]:
    """The thresholds of many days from each detector's own calibration of each day: its
    configured threshold raised to its own; in a live run, a detector whose history
    cannot show a heavy tail (``testable`` False) raised by the largest factor by which
    another's was (it borrows the raise).

    Parameters
    ----------
    detectors : mapping of str to Detector
        The product's detectors, by name.
    own : mapping of str to list of float or None
        Per calibrated detector (in the detectors' order), its own calibration each day.
    testable : mapping of str to np.ndarray
        Per calibrated detector, whether its history could show a heavy tail each day.
    base : mapping of str to float
        The detectors' configured thresholds.
    hindsight : bool
        The retrospective mode (no borrowing).

    Returns
    -------
    dict of str to np.ndarray
        Per detector, its threshold each day.
    """
    days = len(next(iter(own.values()))) if own else 0
    out = {name: np.full(days, value) for name, value in base.items()}
    scales: dict[str, np.ndarray] = {}  # factor of each raise, NaN where not calibrated
    for name, values in own.items():
        floor = detectors[name].excursion_floor
        has = np.array([value is not None for value in values], dtype=bool)
        mine = np.array([np.nan if value is None else value for value in values], dtype=float)
        out[name] = np.where(has, np.maximum(mine, base[name]), base[name])
        if base[name] > floor:
            scales[name] = np.where(has, (out[name] - floor) / (base[name] - floor), np.nan)
    if hindsight:
        return out
    for name in own:
        floor = detectors[name].excursion_floor
        lent = [factor for other, factor in scales.items() if other != name]
        if not lent or not base[name] > floor:
            continue
        with np.errstate(invalid="ignore"):
            factor = np.fmax.reduce(lent, axis=0)
        borrows = ~testable[name] & ~np.isnan(factor)
        raised = np.maximum(out[name], floor + (base[name] - floor) * factor)
        out[name] = np.where(borrows, raised, out[name])
    return out


def check_aligned(counts: pd.DataFrame, baseline: Baseline) -> None:
    """Refuse counts whose products or buckets are not those of their baseline: scores
    are computed position by position, so each product would be scored against another's
    baseline.

    Raises
    ------
    SpikesInputError
        Naming what differs.
    """
    expected = baseline.expected
    if not counts.columns.equals(expected.columns):
        mine, theirs = list(map(str, counts.columns)), list(map(str, expected.columns))
        how = ("in another order" if sorted(mine) == sorted(theirs) else
               f"not the same: {sorted(set(mine) ^ set(theirs))[:5]} in one only")
        raise SpikesInputError(
            f"the counts' products and their baseline's are {how}: score counts with "
            "the baseline fitted on those very counts (or select the same columns of "
            "both)")
    if not counts.index.equals(expected.index):
        raise SpikesInputError(
            f"the counts' buckets ({len(counts.index)}, from {counts.index[:1].tolist()}) "
            f"are not their baseline's ({len(expected.index)}, from "
            f"{expected.index[:1].tolist()}): score counts with the baseline fitted on "
            "those very counts")


def score_by_blocks(counts: pd.DataFrame, baseline: Baseline,
                    score_block: Callable[[np.ndarray, np.ndarray, np.ndarray, slice],
                                          np.ndarray]) -> pd.DataFrame:
    """A detector's scores computed a block of products at a time.

    Time runs down each column of the result (Fortran order, as pandas stores a frame),
    and products are scored a block of columns at a time (:func:`spikes.detect.noise.
    column_blocks`), so that the temporaries stay in the CPU cache.

    Parameters
    ----------
    counts : pd.DataFrame
        Reports per bucket and product.
    baseline : Baseline
        Their baseline.
    score_block : callable
        ``score_block(y, mu, alpha, cols)``: the scores of the counts `y` and baseline
        `mu` of the products `cols` (2-D, time down the columns), with their dispersion
        `alpha` (shape ``(1, len(cols))``, or that of `y` for a causal baseline).

    Returns
    -------
    pd.DataFrame
        Scores, same index and columns as `counts`.
    """
    check_aligned(counts, baseline)
    y = counts.to_numpy(dtype=float)
    mu = baseline.expected.to_numpy(dtype=float)
    alpha = baseline.dispersion_at()  # one row, or one per bucket (causal baseline)
    n, p = y.shape
    out = np.empty((n, p), order="F")
    for cols in column_blocks(n, p):
        out[:, cols] = score_block(y[:, cols], mu[:, cols], alpha[:, cols], cols)
    return pd.DataFrame(out, index=counts.index, columns=counts.columns, copy=False)


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and inclusive stop positions of the runs of True in a boolean array."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return edges[0::2], edges[1::2] - 1

