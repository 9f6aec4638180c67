"""Helpers shared by the peer detectors: runs of flagged buckets to incidents, timing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

INCIDENT_COLUMNS = ["product", "onset", "end"]


def empty_incidents() -> pd.DataFrame:
    """An incident table with no row."""
    return pd.DataFrame({
        "product": pd.Series(dtype=object),
        "onset": pd.Series(dtype="datetime64[ns, UTC]"),
        "end": pd.Series(dtype="datetime64[ns, UTC]"),
    })


def runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last position of every run of consecutive True values.

    Parameters
    ----------
    flags : np.ndarray of bool
        One value per bucket.

    Returns
    -------
    starts, ends : np.ndarray of int
        Inclusive positions of each run.
    """
    padded = np.concatenate(([0], np.asarray(flags, dtype=np.int8), [0]))
    edges = np.diff(padded)
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1


def flags_to_incidents(flags: pd.DataFrame) -> pd.DataFrame:
    """Turn flagged buckets into incidents: consecutive flagged buckets form one incident.

    Parameters
    ----------
    flags : pd.DataFrame
        Bool per bucket (rows, UTC ``DatetimeIndex``) and product (columns).

    Returns
    -------
    pd.DataFrame
        ``product, onset, end``: onset = first flagged bucket, end = last one.
    """
    index = flags.index
    values = flags.to_numpy(dtype=bool)
    parts = []
    for j, product in enumerate(flags.columns):
        starts, ends = runs(values[:, j])
        if starts.size:
            parts.append(pd.DataFrame({"product": str(product), "onset": index[starts],
                                       "end": index[ends]}))
    return concat_incidents(parts)


def concat_incidents(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-product incident tables (or return an empty table)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_incidents()
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["onset", "product"], ignore_index=True)[INCIDENT_COLUMNS]


def grid_by_loop(detect: Callable[..., pd.DataFrame], counts: pd.DataFrame,
                 bucket: pd.Timedelta, settings: list[dict[str, Any]]) -> list[pd.DataFrame]:
    """Run ``detect`` once per setting (for peers with nothing to share across settings)."""
    return [detect(counts, bucket, **s) for s in settings]
