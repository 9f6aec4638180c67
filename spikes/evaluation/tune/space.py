"""The searched settings: :class:`Param`, :data:`SEARCH_SPACE` and the trial parameters.

A trial is a dictionary of the settings of :data:`SEARCH_SPACE` (by name, typed by
:func:`typed`);
:func:`apply_params` puts one on a base configuration, :func:`params_of` reads one back from
a row of the trials table and :func:`trial_key` identifies it (so a trial is never run twice).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig

CUSUM_GRID = (1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
"""Values of the score setting ``cusum_ratio`` the search may pick (each costs a re-scoring).
Values above 5 pay at low volume, where a sustained rise must be large to be seen."""
REFINE_STEP = 0.15
"""First coordinate step, as a share of a setting's (log) range; halved when stuck."""


@dataclass(frozen=True)
class Param:
    """One searched setting of :class:`~spikes.config.DetectionConfig`.

    Parameters
    ----------
    name : str
        Field of the configuration.
    low, high : float
        Range searched (minutes for ``kind="minutes"``).
    kind : {"log", "log1p", "int", "minutes", "grid"}
        How values are drawn: log-uniform, log-uniform in ``1 + value`` (ranges starting
        at 0), uniform integers, log-uniform durations rounded to 5 minutes (written as
        ``"45min"``), or one of `grid`.
    grid : tuple of float
        The values of a ``"grid"`` setting.
    """

    name: str
    low: float
    high: float
    kind: Literal["log", "log1p", "int", "minutes", "grid"]
    grid: tuple[float, ...] = ()

    def sample(self, rng: np.random.Generator) -> Any:
        """A random value."""
        if self.kind == "grid":
            return float(self.grid[int(rng.integers(len(self.grid)))])
        if self.kind == "int":
            return int(rng.integers(int(self.low), int(self.high) + 1))
        return self._from_unit(float(rng.random()))

    def step(self, value: Any, direction: int, scale: float) -> Any:
        """The value one coordinate step up (``direction=1``) or down (``-1``)."""
        if self.kind in ("grid", "int"):
            values = self.grid if self.kind == "grid" else tuple(
                range(int(self.low), int(self.high) + 1))
            i = int(np.argmin([abs(v - float(_number(value))) for v in values]))
            j = min(max(i + direction, 0), len(values) - 1)
            return float(values[j]) if self.kind == "grid" else int(values[j])
        return self._from_unit(self._to_unit(value) + direction * REFINE_STEP * scale)

    def _from_unit(self, u: float) -> Any:
        u = min(max(u, 0.0), 1.0)
        if self.kind == "log1p":
            lo, hi = math.log1p(self.low), math.log1p(self.high)
            return round(math.expm1(lo + u * (hi - lo)), 1)
        value = math.exp(math.log(self.low) + u * math.log(self.high / self.low))
        if self.kind == "minutes":
            return f"{max(5, int(round(value / 5.0)) * 5)}min"
        return float(f"{value:.3g}")

    def _to_unit(self, value: Any) -> float:
        v = float(_number(value))
        if self.kind == "log1p":
            lo, hi = math.log1p(self.low), math.log1p(self.high)
            return (math.log1p(max(v, 0.0)) - lo) / (hi - lo)
        return (math.log(max(v, 1e-12)) - math.log(self.low)) / math.log(self.high / self.low)


def _number(value: Any) -> float:
    """A setting as a number (durations in minutes)."""
    if isinstance(value, str):
        return pd.Timedelta(value) / pd.Timedelta(minutes=1)
    return float(value)


FA_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
"""Values of ``false_alarms_per_week`` on the threshold grid."""
RATIO_GRID = (1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 10.0)
"""Values of ``min_ratio`` on the threshold grid."""
DURATION_GRID = (0.0, 15.0, 30.0, 45.0, 60.0, 90.0, 120.0)
"""Values of ``min_duration`` (minutes) on its grid: from no wait to two hours."""
DURATIONS = ("min_duration", "merge_gap")
"""The searched settings that are durations (numbers of minutes in the grids, written as
``"60min"``)."""

SEARCH_SPACE: tuple[Param, ...] = (
    Param("false_alarms_per_week", 0.01, 2.0, "grid", FA_GRID),
    Param("min_ratio", 1.5, 10.0, "grid", RATIO_GRID),
    Param("min_excess_reports", 0.0, 40.0, "grid", (0.0, 2.0, 5.0, 10.0, 20.0, 40.0)),
    Param("min_buckets", 1, 12, "grid", (1.0, 2.0, 3.0, 4.0, 6.0, 9.0, 12.0)),
    Param("min_duration", 0, 120, "grid", DURATION_GRID),
    Param("cusum_ratio", 1.5, 8.0, "grid", CUSUM_GRID),
    Param("merge_gap", 15, 180, "grid", (15.0, 30.0, 60.0, 120.0, 180.0)),
)
"""The searched settings, in the order they are taken into a search as labels allow (see
:data:`MIN_LABELS_PER_SETTING`): first the two threshold-like settings, which only move
thresholds on cached scores, then the others. Every setting is searched on its grid
(``min_duration`` and ``merge_gap`` in minutes). ``min_duration`` expresses labels that
count only lasting outages ("only outages over an hour"), which no threshold of the
evidence can (it follows its kin ``min_buckets``). ``event_window`` is not searched: the
scoring rules do not see events. ``cusum_ratio`` is the only score setting (each value
costs one re-scoring)."""
THRESHOLD_SETTINGS = ("false_alarms_per_week", "min_ratio")
"""The settings always tuned (a grid of every pair is searched)."""
MIN_LABELS_PER_SETTING = 10
"""Labels per tuned setting: with ``n`` training labels, ``n // 10`` settings of
:data:`SEARCH_SPACE` are tuned (in its order), never fewer than the two of
:data:`THRESHOLD_SETTINGS`."""
SHRINK = 0.01
"""Shrinkage toward the base settings: a trial's objective on train is lowered by this
much per grid span (on a log scale) that a setting moves away from the base value."""


def tuned_settings(n_labels: int) -> tuple[str, ...]:
    """The settings tuned with `n_labels` training labels (see
    :data:`MIN_LABELS_PER_SETTING`).

    Parameters
    ----------
    n_labels : int

    Returns
    -------
    tuple of str
        Names, in the order of :data:`SEARCH_SPACE`.
    """
    k = max(len(THRESHOLD_SETTINGS), int(n_labels) // MIN_LABELS_PER_SETTING)
    return tuple(p.name for p in SEARCH_SPACE[:k])


def distance(params: dict[str, Any], base: dict[str, Any]) -> float:
    """How far a trial lies from the base settings: per setting, the distance of the two
    values on a log scale (``log1p`` for settings that may be 0) as a share of the grid's
    span, summed.

    Parameters
    ----------
    params, base : dict of str to object
        Settings of :data:`SEARCH_SPACE`.

    Returns
    -------
    float
    """
    total = 0.0
    for p in SEARCH_SPACE:
        a, b = _number(params[p.name]), _number(base[p.name])
        lo, hi = min(p.grid), max(p.grid)
        span = math.log1p(hi) - math.log1p(lo)
        if span > 0:
            total += abs(math.log1p(a) - math.log1p(b)) / span
    return total


PARAM_NAMES = tuple(p.name for p in SEARCH_SPACE)


def apply_params(base: DetectionConfig, params: dict[str, Any]) -> DetectionConfig:
    """`base` with the settings of one trial.

    Parameters
    ----------
    base : DetectionConfig
        The settings the search started from.
    params : dict of str to object
        Values of (some of) the settings of :data:`SEARCH_SPACE`, by name.

    Returns
    -------
    DetectionConfig
    """
    return dataclasses.replace(base, **params)


def params_of(row: pd.Series) -> dict[str, Any]:
    """The settings of one trial from its row of ``TuningResult.trials``, typed as
    :class:`~spikes.config.DetectionConfig` takes them.

    Parameters
    ----------
    row : pd.Series
        A row of the trials table (or a trial's dictionary as a Series).

    Returns
    -------
    dict of str to object
        One value per setting of :data:`SEARCH_SPACE`.
    """
    out: dict[str, Any] = {}
    for p in SEARCH_SPACE:
        out[p.name] = typed(p.name, row[p.name])
    return out


def typed(name: str, value: Any) -> Any:
    """A value of one searched setting as :class:`~spikes.config.DetectionConfig` takes it
    (the durations of :data:`DURATIONS` as ``"60min"``, ``min_buckets`` as an int, the
    rest as floats).

    Parameters
    ----------
    name : str
        A setting of :data:`SEARCH_SPACE`.
    value : object
        A number (minutes for a duration) or, for a duration, its text (``"1h"``).

    Returns
    -------
    object
    """
    if name in DURATIONS:
        return value if isinstance(value, str) else f"{int(round(_number(value)))}min"
    if name == "min_buckets":
        return int(round(float(value)))
    return float(value)


def base_params(base: DetectionConfig) -> dict[str, Any]:
    """The searched settings of a configuration (the base trial).

    Parameters
    ----------
    base : DetectionConfig

    Returns
    -------
    dict of str to object
        One value per setting of :data:`SEARCH_SPACE`.
    """
    return {name: typed(name, getattr(base, name)) for name in PARAM_NAMES}


def trial_key(params: dict[str, Any]) -> tuple:
    """What identifies a trial: its settings as text, in the order of :data:`SEARCH_SPACE`.

    Parameters
    ----------
    params : dict of str to object
        One value per setting of :data:`SEARCH_SPACE`.

    Returns
    -------
    tuple of float
        Durations in minutes.
    """
    return tuple(round(_number(typed(name, params[name])), 9) for name in PARAM_NAMES)
