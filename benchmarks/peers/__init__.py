"""Peer detectors of the benchmark, one module each, and `spikes` with its defaults.

Every module has ``NAME``, ``LABEL``, ``DEFAULTS`` (its published or documented defaults),
``GRID`` and ``QUICK_GRID`` (the 1-3 main settings tuned by the oracle grid search) and
``detect(counts, bucket, **params) -> DataFrame(product, onset, end)``; modules that can
share work across settings also have ``detect_grid(counts, bucket, settings)``.
"""

from __future__ import annotations

import itertools
from types import ModuleType
from typing import Any

from peers import (
    adtk_levelshift,
    adtk_persist,
    downdetector,
    pelt,
    shesd,
    spikes_default,
    spikes_retrospective,
)

PEERS: list[ModuleType] = [spikes_default, spikes_retrospective, downdetector, pelt, shesd,
                           adtk_persist, adtk_levelshift]
"""In the order of the tables."""


def grid_settings(peer: ModuleType, quick: bool = False) -> list[dict[str, Any]]:
    """Every combination of the peer's grid (its defaults when it has no grid)."""
    grid = peer.QUICK_GRID if quick else peer.GRID
    if not grid:
        return [dict(peer.DEFAULTS)]
    keys = list(grid)
    return [dict(peer.DEFAULTS, **dict(zip(keys, combo, strict=True)))
            for combo in itertools.product(*(grid[k] for k in keys))]


def run_grid(peer: ModuleType, counts, bucket, settings: list[dict[str, Any]]) -> list:
    """Incident tables of several settings, sharing work where the peer can."""
    if hasattr(peer, "detect_grid"):
        return peer.detect_grid(counts, bucket, settings)
    return [peer.detect(counts, bucket, **s) for s in settings]


def reported_seconds(peer: ModuleType, wall: float) -> float:
    """Seconds to report for the last call: the peer's own measure when it has one
    (ADTK: CPU time inside its process, without the process start), else ``wall``."""
    if hasattr(peer, "last_seconds"):
        return float(sum(peer.last_seconds()))
    return wall
