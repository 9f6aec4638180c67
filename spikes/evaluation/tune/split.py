"""The time split: the earlier part of the data trains the search, the later part validates.

:func:`time_split` cuts the bucket grid into a :class:`TimeSplit`; an incident or a label
belongs to the slice that holds its onset (:meth:`TimeSplit.which`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spikes.errors import SpikesInputError


@dataclass(frozen=True)
class TimeSplit:
    """A time-ordered split of the data span: train = ``[start, split)``, validation =
    ``[split, end)``.

    Attributes
    ----------
    start : pd.Timestamp
        Start of the first bucket.
    split : pd.Timestamp
        First instant of the validation slice (on the bucket grid).
    end : pd.Timestamp
        End of the last bucket (its start plus the bucket size).
    """

    start: pd.Timestamp
    split: pd.Timestamp
    end: pd.Timestamp

    def which(self, onsets: pd.Series) -> np.ndarray:
        """True where an onset belongs to the training slice (before `split`)."""
        stamps = pd.DatetimeIndex(pd.to_datetime(onsets, utc=True))
        return np.asarray(stamps < self.split, dtype=bool)

    def describe(self) -> str:
        """One line: the dates of both slices."""
        fmt = "%Y-%m-%d %H:%M"
        return (f"train {self.start:{fmt}} to {self.split:{fmt}} UTC, validation "
                f"{self.split:{fmt}} to {self.end:{fmt}} UTC")


def time_split(index: pd.DatetimeIndex, bucket: pd.Timedelta, fraction: float = 0.5
               ) -> TimeSplit:
    """Split a bucket grid in time: the first `fraction` of the span trains.

    Parameters
    ----------
    index : pd.DatetimeIndex
        Bucket starts (sorted, UTC).
    bucket : pd.Timedelta
        Bucket size.
    fraction : float
        Share of the span in the training slice, in (0, 1).

    Returns
    -------
    TimeSplit

    Raises
    ------
    SpikesInputError
        If `fraction` is not in (0, 1) or the data is shorter than two buckets.

    Examples
    --------
    >>> idx = pd.date_range("2026-01-01", periods=4 * 288, freq="5min", tz="UTC")
    >>> time_split(idx, pd.Timedelta("5min")).split
    Timestamp('2026-01-03 00:00:00+0000', tz='UTC')
    """
    if not 0.0 < fraction < 1.0 or not math.isfinite(fraction):
        raise SpikesInputError(f"split: {fraction!r} must be a fraction in (0, 1), e.g. 0.5")
    if len(index) < 2:
        raise SpikesInputError("tune: the data has fewer than two buckets; nothing to split")
    start, end = index[0], index[-1] + bucket
    buckets = round((end - start) / bucket * fraction)
    buckets = min(max(buckets, 1), len(index) - 1)
    return TimeSplit(start=start, split=start + buckets * bucket, end=end)
