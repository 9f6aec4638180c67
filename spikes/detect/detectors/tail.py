"""Per-bucket count-tail detector: reports far above what the noise model allows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.baseline import Baseline
from spikes.detect.detectors.base import Candidate, Detector, runs, score_by_blocks
from spikes.detect.noise import upper_tail_surprise


class CountTailDetector(Detector):
    """Flags buckets whose count is improbably high under the negative-binomial baseline.

    The score of a bucket is ``-log10 P(Y >= y)`` with ``Y ~ NB(mu, alpha)``: a jump from
    0.3 to 4 reports and one from 300 to 400 are judged by their own noise. Runs of buckets
    above the threshold are candidates. It reacts on the first bucket of a sharp outage.

    Parameters
    ----------
    max_gap : int
        Runs separated by at most this many quiet buckets form one candidate.
    """

    name = "tail"
    excursion_decay = math.log(10.0)  # scores are -log10 p

    def __init__(self, *, max_gap: int = 1) -> None:
        self.max_gap = max_gap

    def score(self, counts: pd.DataFrame, baseline: Baseline) -> pd.DataFrame:
        """Surprise ``-log10 P(Y >= y)`` per bucket and product."""
        return score_by_blocks(counts, baseline,
                               lambda y, mu, alpha, _: upper_tail_surprise(y, mu, alpha))

    def candidates(self, scores: np.ndarray, threshold: float) -> list[Candidate]:
        """Runs of buckets with surprise >= `threshold`, short gaps bridged."""
        starts, stops = runs(scores >= threshold)
        if len(starts) == 0:
            return []
        keep = np.concatenate([[True], starts[1:] - stops[:-1] - 1 > self.max_gap])
        group = np.cumsum(keep) - 1
        out = []
        for g in range(group[-1] + 1):
            members = group == g
            lo, hi = int(starts[members][0]), int(stops[members][-1])
            out.append(Candidate(lo, lo, hi, float(scores[lo : hi + 1].max())))
        return out

    def threshold_is_fixed(self, config: DetectionConfig) -> bool:
        """Whether the configuration sets ``tail_threshold`` explicitly."""
        return config.tail_threshold is not None

    def default_threshold(self, config: DetectionConfig, bucket: pd.Timedelta) -> float:
        """Bonferroni level for the configured false alarms per product-week."""
        return config.tail_h(bucket)
