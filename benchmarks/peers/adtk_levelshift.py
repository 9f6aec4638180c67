"""ADTK ``LevelShiftAD``: the median of the next ``window`` values far above the previous.

ADTK compares the medians of two adjacent windows of ``window`` values and flags
differences beyond ``c`` interquartile ranges of all such differences. ``window`` has no
ADTK default; 5 is the value of ADTK's own examples. ``c=6.0`` is ADTK's default;
``side="positive"`` (rises only). Consecutive flagged buckets form one incident. Runs in
ADTK's own environment (see :mod:`peers.adtk_bridge`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from peers import adtk_bridge

NAME = "adtk_levelshift"
LABEL = "ADTK LevelShiftAD"
DEFAULTS: dict[str, Any] = {"window": 5, "c": 6.0}
GRID: dict[str, list[Any]] = {"window": [3, 6, 12], "c": [3.0, 6.0, 12.0]}
QUICK_GRID: dict[str, list[Any]] = {"window": [3, 6], "c": [3.0, 6.0]}


def last_seconds() -> list[float]:
    """CPU seconds per setting of the last call, measured inside ADTK's process."""
    return adtk_bridge.last_seconds()


def _settings(settings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"detector": "levelshift", "side": "positive", **s} for s in settings]


def detect(counts: pd.DataFrame, bucket: pd.Timedelta, *, window: int = 5,
           c: float = 6.0) -> pd.DataFrame:
    """Detect incidents with ``LevelShiftAD(window, c, side="positive")``.

    Parameters
    ----------
    counts : pd.DataFrame
        Wide counts per bucket and product.
    bucket : pd.Timedelta
        Bucket size (unused).
    window : int
        Buckets in each of the two windows.
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
