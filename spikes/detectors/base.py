"""The interface every detector shares.

Configuration goes in the constructor (keyword-only, stored as given), data in the calls:
``score(counts, baseline)`` computes how abnormal each bucket is (the expensive step,
done once) and ``candidates(scores, threshold)`` turns scores into candidate intervals
(the cheap step, repeated by threshold tuning and the dashboard's sliders).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from spikes.baseline import Baseline


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
    def default_threshold(self, config, bucket: pd.Timedelta) -> float:  # noqa: ANN001
        """The threshold that `config` asks for at this bucket size."""

    def get_params(self) -> dict[str, object]:
        """Constructor parameters, read back from the instance."""
        import inspect

        names = inspect.signature(type(self).__init__).parameters
        return {n: getattr(self, n) for n in names if n != "self"}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and inclusive stop positions of the runs of True in a boolean array."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return edges[0::2], edges[1::2] - 1
