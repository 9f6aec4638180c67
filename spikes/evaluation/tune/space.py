"""The searched settings: :class:`Param`, :data:`SEARCH_SPACE` and the trial parameters.

A trial is a dictionary of the settings of :data:`SEARCH_SPACE` (by name);
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


SEARCH_SPACE: tuple[Param, ...] = (
    Param("false_alarms_per_week", 0.01, 3.0, "log"),
    Param("min_ratio", 1.3, 10.0, "log"),
    Param("min_buckets", 1, 4, "int"),
    Param("min_excess_reports", 0.0, 30.0, "log1p"),
    Param("merge_gap", 15, 180, "minutes"),
    Param("cusum_ratio", 1.5, 8.0, "grid", CUSUM_GRID),
)
"""The searched settings. ``event_window`` is not searched: the scoring rules do not see
events. ``cusum_ratio`` is the only score setting (see :data:`CUSUM_GRID`)."""
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
        value = row[p.name]
        if p.kind == "minutes":
            out[p.name] = str(value)
        elif p.kind == "int":
            out[p.name] = int(value)
        else:
            out[p.name] = float(value)
    return out


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
    return {name: getattr(base, name) for name in PARAM_NAMES}


def trial_key(params: dict[str, Any]) -> tuple:
    """What identifies a trial: its settings as text, in the order of :data:`SEARCH_SPACE`.

    Parameters
    ----------
    params : dict of str to object
        One value per setting of :data:`SEARCH_SPACE`.

    Returns
    -------
    tuple of str
    """
    return tuple(str(params[name]) for name in PARAM_NAMES)
