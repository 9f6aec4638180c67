"""Sustained-rise detector: a negative-binomial CUSUM against the seasonal baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spikes.baseline import Baseline
from spikes.config import DetectionConfig
from spikes.detectors.base import Candidate, Detector, runs
from spikes.noise import log_likelihood_ratio


class CusumDetector(Detector):
    """Page's CUSUM of the log-likelihood ratio "rate = ratio x baseline" vs "baseline".

    The statistic ``S_t = max(0, S_{t-1} + LLR_t)`` accumulates evidence of a rise, so an
    outage too mild to stand out in any one bucket is found once it lasts. It is computed
    for a whole series at once as ``C_t - min(0, min_{s<=t} C_s)`` with ``C`` the cumulative
    sum of the LLR. Every excursion of ``S`` above 0 whose maximum reaches the threshold is
    a candidate running from the excursion's start (the change-point estimate of the CUSUM)
    to its maximum (the end of the rise). Missing buckets add no evidence.

    Parameters
    ----------
    ratio : float
        The rise the detector is tuned for (its alternative hypothesis).
    """

    name = "cusum"

    def __init__(self, *, ratio: float = 3.0) -> None:
        self.ratio = ratio

    def score(self, counts: pd.DataFrame, baseline: Baseline) -> pd.DataFrame:
        """CUSUM statistic in nats per bucket and product."""
        llr = log_likelihood_ratio(
            counts.to_numpy(dtype=float),
            baseline.expected.to_numpy(dtype=float),
            baseline.dispersion.to_numpy(dtype=float)[None, :],
            self.ratio,
        )
        csum = np.cumsum(llr, axis=0)
        floor = np.minimum(np.minimum.accumulate(csum, axis=0), 0.0)
        return pd.DataFrame(csum - floor, index=counts.index, columns=counts.columns)

    def candidates(self, scores: np.ndarray, threshold: float) -> list[Candidate]:
        """Excursions of the CUSUM whose maximum reaches `threshold`."""
        starts, stops = runs(scores > 1e-12)
        if len(starts) == 0:
            return []
        tops = np.maximum.reduceat(scores, starts)
        out = []
        for lo, hi in zip(starts[tops >= threshold], stops[tops >= threshold], strict=True):
            seg = scores[lo : hi + 1]
            top = int(np.argmax(seg))
            alarm = int(np.argmax(seg >= threshold))
            out.append(Candidate(int(lo), int(lo) + alarm, int(lo) + top, float(seg[top])))
        return out

    def default_threshold(self, config: DetectionConfig, bucket: pd.Timedelta) -> float:
        """``ln(buckets per week / false alarms per week)`` (Lorden's ARL bound)."""
        return config.cusum_h(bucket)
