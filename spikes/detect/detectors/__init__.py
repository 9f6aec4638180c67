"""Detectors: score every bucket once, threshold cheaply.

- :class:`CountTailDetector`: a bucket improbably high under the count-noise model;
- :class:`CusumDetector`: a sustained rise (negative-binomial CUSUM);
- :class:`SteepCusumDetector`: the CUSUM chart of a steep rise (few reports, many times the usual);
- :func:`locate_onset` and :func:`onset_bounds` with :class:`CostSeasonalPoisson`:
  ruptures change-point search that places an incident's onset against the seasonal rate.
  They load on first use (:mod:`~spikes.detect.detectors.onset` imports ruptures, about a
  second), so that a run with no incident to place, and the command line's start-up, do
  without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spikes._lazy import lazy_names
from spikes.detect.detectors.base import Candidate, Detector
from spikes.detect.detectors.cusum import CusumDetector, SteepCusumDetector
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

#: The names of :mod:`spikes.detect.detectors.onset`, loaded on first use.
_ONSET = ("CostSeasonalPoisson", "locate_onset", "onset_bounds")


__getattr__, __dir__ = lazy_names(__name__, dict.fromkeys(_ONSET, "spikes.detect.detectors.onset"),
                                  globals())


if TYPE_CHECKING:
    from spikes.detect.detectors.onset import CostSeasonalPoisson, locate_onset, onset_bounds
