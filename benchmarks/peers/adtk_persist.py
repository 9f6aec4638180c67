"""ADTK ``PersistAD``: a value far above the median of the preceding ``window`` values.

ADTK compares each value with the median of the ``window`` values before it and flags
differences beyond ``c`` interquartile ranges of all such differences (fitted on the whole
series). Defaults are ADTK's (``window=1``, ``c=3.0``) except ``side="positive"``
(outages are rises; ``"both"`` would only add alarms on drops). Consecutive flagged
buckets form one incident. Runs in ADTK's own environment (see :mod:`peers.adtk_bridge`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from peers import adtk_bridge

NAME = "adtk_persist"
LABEL = "ADTK PersistAD"
DEFAULTS: dict[str, Any] = {"window": 1, "c": 3.0}
GRID: dict[str, list[Any]] = {"window": [1, 3, 12], "c": [1.5, 3.0, 6.0, 12.0]}
QUICK_GRID: dict[str, list[Any]] = {"window": [1, 12], "c": [3.0, 6.0]}


def last_seconds() -> list[float]:
    """CPU seconds per setting of the last call, measured inside ADTK's process."""
    return adtk_bridge.last_seconds()


def _settings(settings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"detector": "persist", "side": "positive", **s} for s in settings]


def detect(counts: pd.DataFrame, bucket: pd.Timedelta, *, window: int = 1,
           c: float = 3.0) -> pd.DataFrame:
    """Detect incidents with ``PersistAD(window, c, side="positive")``.

    Parameters
    ----------
    counts : pd.DataFrame
        Wide counts per bucket and product.
    bucket : pd.Timedelta
        Bucket size (unused).
    window : int
        Buckets in the preceding window.
    c : float
        Threshold in interquartile ranges.

    Returns
    -------
    pd.DataFrame
        ``product, onset, end``.
    """
    return adtk_bridge.run(counts, _settings([{"window": window, "c": c}]))[0]


def detect_grid(counts: pd.DataFrame, bucket: pd.Timedelta,
                settings: list[dict[str, Any]]) -> list[pd.DataFrame]:
    """Run several settings in one ADTK process."""
    return adtk_bridge.run(counts, _settings(settings))
