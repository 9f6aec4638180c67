"""The interface every detector shares.

Configuration goes in the constructor (keyword-only, stored as given), data in the calls:
``score(counts, baseline)`` computes how abnormal each bucket is (the expensive step,
done once) and ``candidates(scores, threshold)`` turns scores into candidate intervals
(the cheap step, repeated by threshold tuning and the dashboard's sliders).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from spikes.detect.baseline import Baseline
from spikes.detect.noise import column_blocks

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
        starts, _ = runs(scores > self.excursion_floor)
        if len(starts) == 0:
            return np.empty(0)
        return np.maximum.reduceat(np.nan_to_num(scores), starts)

    def get_params(self) -> dict[str, object]:
        """Constructor parameters, read back from the instance."""
        import inspect

        names = inspect.signature(type(self).__init__).parameters
        return {n: getattr(self, n) for n in names if n != "self"}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


#: Excursions the noise model expects above the calibration's upper fitting level.
MID_EXCEEDANCES = 10
#: Fewest excursions from which a product's own history calibrates its threshold.
MIN_EXCURSIONS = 30


def calibrated_threshold(maxima: np.ndarray, weeks: float, false_alarms_per_week: float,
                         *, low: float, model_decay: float = 1.0) -> float | None:
    """Threshold at which a product's own noise excursions meet the false-alarm budget.

    For a well-specified CUSUM of log-likelihood ratios, the share of excursions whose
    maximum exceeds ``h`` is at most ``exp(-(h - low))`` beyond `low` (Wald's identity);
    for ``-log10`` tail probabilities it is about ``10 ** -(h - low)``: in general
    ``exp(-model_decay * (h - low))``. Traffic burstier than the noise model shows a
    slower decay. The decay rate is measured between `low` and the level ``mid`` that
    the model expects
    :data:`MID_EXCEEDANCES` excursions to exceed, a range where noise still outnumbers
    the few real outages of a history, and extrapolated to the level that noise
    excursions exceed ``false_alarms_per_week * weeks`` times. Where the history decays
    as fast as the model says, this is no higher than the model's own threshold.

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

    Returns
    -------
    float or None
        The calibrated threshold, or None with under :data:`MIN_EXCURSIONS` excursions.
    """
    maxima = maxima[maxima >= low]
    n = len(maxima)
    if n < MIN_EXCURSIONS or weeks <= 0:
        return None
    mid = low + np.log(n / MID_EXCEEDANCES) / model_decay
    above_mid = max(int((maxima >= mid).sum()), 1)
    decay = min(np.log(n / above_mid) / (mid - low), model_decay)
    budget = false_alarms_per_week * weeks
    return float(low + np.log(n / budget) / max(decay, 1e-3))


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

