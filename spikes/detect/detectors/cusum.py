"""Sustained-rise detector: a negative-binomial CUSUM against the seasonal baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.baseline import Baseline
from spikes.detect.detectors.base import Candidate, Detector, runs, score_by_blocks
from spikes.detect.noise import log_likelihood_ratio


class CusumDetector(Detector):
    """Page's CUSUM of the log-likelihood ratio "rate = ratio x baseline" vs "baseline".

    The statistic ``S_t = max(0, S_{t-1} + LLR_t)`` accumulates evidence of a rise, so an
    outage too mild to stand out in any one bucket is found once it lasts. It is computed
    for a whole series at once as ``C_t - min(0, min_{s<=t} C_s)`` with ``C`` the cumulative
    sum of the LLR. Every excursion of ``S`` above 0 whose maximum reaches the threshold is
    a candidate running from the excursion's start (the change-point estimate of the CUSUM)
    to its maximum (the end of the rise). Missing buckets add no evidence. Where the
    noise is autocorrelated, the evidence of each bucket is divided by the baseline's
    variance inflation, as quasi-likelihood does, so that a persistent wobble does not
    add up to an outage.

    Parameters
    ----------
    ratio : float
        The rise the detector is tuned for (its alternative hypothesis).
    """

    name = "cusum"
    cumulative = True

    def __init__(self, *, ratio: float = 3.0) -> None:
        self.ratio = ratio

    def score(self, counts: pd.DataFrame, baseline: Baseline) -> pd.DataFrame:
        """CUSUM statistic in nats per bucket and product."""
        inflation = baseline.inflation_at()

        def cusum(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray, cols: slice) -> np.ndarray:
            llr = log_likelihood_ratio(y, mu, alpha, self.ratio)
            if inflation is not None:
                llr /= inflation[:, cols]
            csum = np.cumsum(llr, axis=0)
            floor = np.minimum.accumulate(csum, axis=0, out=llr)
            np.minimum(floor, 0.0, out=floor)
            return np.subtract(csum, floor, out=csum)

        return score_by_blocks(counts, baseline, cusum)

    def candidates(self, scores: np.ndarray, threshold: float) -> list[Candidate]:
        """Rises of the CUSUM by at least `threshold` from its lowest point before them.

        After a large outage the statistic takes a while to drain back to 0, and a second
        outage in that time would otherwise be read as part of the first. Each excursion
        is therefore split into its rises: a rise starts after the lowest value since the
        previous rise peaked, and it ends at its peak, once the statistic has fallen by
        `threshold` from that peak (or the excursion ends).
        """
        starts, stops = runs(scores > 1e-12)
        if len(starts) == 0:
            return []
        tops = np.maximum.reduceat(scores, starts)
        out: list[Candidate] = []
        for lo, hi in zip(starts[tops >= threshold], stops[tops >= threshold], strict=True):
            out.extend(_rises(scores, int(lo), int(hi), threshold))
        return out

    def threshold_is_fixed(self, config: DetectionConfig) -> bool:
        """Whether the configuration sets ``cusum_threshold`` explicitly."""
        return config.cusum_threshold is not None

    def default_threshold(self, config: DetectionConfig, bucket: pd.Timedelta) -> float:
        """``ln(buckets per week / false alarms per week)`` (Lorden's ARL bound)."""
        return config.cusum_h(bucket)


def _rises(scores: np.ndarray, lo: int, hi: int, threshold: float) -> list[Candidate]:
    """Zig-zag segmentation of one excursion ``scores[lo:hi + 1]`` with reversal
    `threshold`: every rise of at least `threshold` from a trough is a candidate."""
    out = []
    trough_val, trough_pos = 0.0, lo - 1  # the excursion starts from 0
    peak_val, peak_pos, alarm = -np.inf, -1, -1
    rising = False
    for i in range(lo, hi + 1):
        v = float(scores[i])
        if not rising:
            if v < trough_val:
                trough_val, trough_pos = v, i
            elif v - trough_val >= threshold:
                rising, peak_val, peak_pos, alarm = True, v, i, i
        elif v > peak_val:
            peak_val, peak_pos = v, i
        elif peak_val - v >= threshold:
            out.append(Candidate(trough_pos + 1, alarm, peak_pos, peak_val - trough_val))
            rising, trough_val, trough_pos = False, v, i
    if rising:
        out.append(Candidate(trough_pos + 1, alarm, peak_pos, peak_val - trough_val))
    return out
