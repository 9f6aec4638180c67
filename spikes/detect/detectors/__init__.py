"""Detectors: score every bucket once, threshold cheaply.

- :class:`CountTailDetector`: a bucket improbably high under the count-noise model;
- :class:`CusumDetector`: a sustained rise (negative-binomial CUSUM);
- :class:`SteepCusumDetector`: the CUSUM chart of a steep rise (few reports, many times the usual);
- :func:`locate_onset` and :func:`onset_bounds` with :class:`CostSeasonalPoisson`:
  ruptures change-point search that places an incident's onset against the seasonal rate.
"""

from spikes.detect.detectors.base import Candidate, Detector
from spikes.detect.detectors.cusum import CusumDetector, SteepCusumDetector
from spikes.detect.detectors.onset import CostSeasonalPoisson, locate_onset, onset_bounds
from spikes.detect.detectors.tail import CountTailDetector

__all__ = [
    "Candidate",
    "CostSeasonalPoisson",
    "CountTailDetector",
    "CusumDetector",
    "Detector",
    "SteepCusumDetector",
    "locate_onset",
    "onset_bounds",
]
