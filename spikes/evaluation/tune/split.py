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

    def describe(self, tz: str = "UTC") -> str:
        """One line, ``train ... to ..., validation ... to ...``: the dates of both slices
        in the zone `tz` (``--display-tz``), each with its abbreviation."""
        from spikes.io.zones import when

        return (f"train {when(self.start, tz)} to {when(self.split, tz)}, validation "
                f"{when(self.split, tz)} to {when(self.end, tz)}")


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


DEFAULT_FOLDS = 3
"""Forward-chaining folds of a search: the span is cut into ``folds + 1`` blocks."""


@dataclass(frozen=True)
class Folds:
    """Forward-chaining folds (as scikit-learn's ``TimeSeriesSplit``): the span is cut into
    ``n_folds + 1`` blocks of equal length on the bucket grid; fold ``k`` trains on blocks
    ``0..k`` and validates on block ``k + 1``, so no fold ever validates on data earlier
    than what it trained on.

    Attributes
    ----------
    edges : tuple of pd.Timestamp
        ``n_folds + 2`` block edges: block ``b`` is ``[edges[b], edges[b + 1])``; the last
        edge is the end of the last bucket.
    """

    edges: tuple[pd.Timestamp, ...]

    @property
    def n_folds(self) -> int:
        """Number of folds (blocks minus one)."""
        return len(self.edges) - 2

    @property
    def start(self) -> pd.Timestamp:
        """Start of the first bucket."""
        return self.edges[0]

    @property
    def end(self) -> pd.Timestamp:
        """End of the last bucket."""
        return self.edges[-1]

    def block_of(self, onsets: pd.Series | pd.DatetimeIndex) -> np.ndarray:
        """The block of each onset (-1 before the span, ``n_folds + 1`` after it)."""
        stamps = pd.DatetimeIndex(pd.to_datetime(onsets, utc=True))
        cuts = pd.DatetimeIndex(self.edges).as_unit("ns").asi8
        return np.searchsorted(cuts, stamps.as_unit("ns").asi8, side="right") - 1

    def train_span(self, fold: int) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``[start, end)`` of the training part of `fold` (blocks ``0..fold``)."""
        return self.edges[0], self.edges[fold + 1]

    def validation_span(self, fold: int) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``[start, end)`` of the validation part of `fold` (block ``fold + 1``)."""
        return self.edges[fold + 1], self.edges[fold + 2]

    def describe(self, tz: str = "UTC") -> str:
        """One line: the folds' validation dates, in the zone `tz` with its abbreviation
        (:func:`spikes.io.zones.when`).

        Parameters
        ----------
        tz : str
            The zone to give the times in (``--display-tz``).

        Returns
        -------
        str
            ``N forward-chaining folds over ... to ..., validation from ...``.
        """
        from spikes.io.zones import when

        return (f"{self.n_folds} forward-chaining folds over {when(self.start, tz)} to "
                f"{when(self.end, tz)}, validation from {when(self.edges[1], tz)} "
                "(each fold trains on all earlier blocks)")


def forward_folds(index: pd.DatetimeIndex, bucket: pd.Timedelta, n_folds: int = DEFAULT_FOLDS
                  ) -> Folds:
    """Cut a bucket grid into forward-chaining folds (see :class:`Folds`).

    Parameters
    ----------
    index : pd.DatetimeIndex
        Bucket starts (sorted, UTC).
    bucket : pd.Timedelta
        Bucket size.
    n_folds : int
        Number of folds (>= 1); the span is cut into ``n_folds + 1`` blocks.

    Returns
    -------
    Folds

    Raises
    ------
    SpikesInputError
        If `n_folds` is not a whole number >= 1 or the data has fewer buckets than blocks.

    Examples
    --------
    >>> idx = pd.date_range("2026-01-01", periods=4 * 288, freq="5min", tz="UTC")
    >>> forward_folds(idx, pd.Timedelta("5min"), 3).edges[1]
    Timestamp('2026-01-02 00:00:00+0000', tz='UTC')
    """
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 1:
        raise SpikesInputError(f"folds: {n_folds!r} must be a whole number >= 1, e.g. 3")
    if len(index) < n_folds + 1:
        raise SpikesInputError(f"tune: the data has {len(index)} bucket(s), fewer than the "
                               f"{n_folds + 1} blocks of {n_folds} folds; give fewer --folds")
    start, end = index[0], index[-1] + bucket
    total = round((end - start) / bucket)
    cuts = [start + round(total * b / (n_folds + 1)) * bucket for b in range(n_folds + 1)]
    return Folds(edges=(*cuts, end))
