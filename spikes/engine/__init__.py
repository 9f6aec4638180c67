"""Engines that run the analysis of many products: chosen at the edge, one code path.

A run is one pure function, "analyse this partition of products" (counts of some
products + settings -> their incident rows, :func:`spikes.detect.pipeline.analyze_partition`),
mapped over product partitions by an :class:`~spikes.engine.base.Engine`; the driver then
assigns event ids, which need every product's incidents. Engines:

- ``local`` (:class:`~spikes.engine.base.LocalEngine`): in this process with ``jobs=1``,
  else ``jobs`` worker processes (forked on Linux, joblib's loky pool elsewhere; a
  worker that dies stops the run with :class:`~spikes.errors.SpikesRunError`);
- ``dask`` (:class:`~spikes.engine.dask.DaskEngine`): a ``distributed.Client``, on a
  local cluster of ``jobs`` worker processes or on an existing scheduler's cluster.

:func:`~spikes.engine.run.detect` runs a whole analysis on an engine, from data in
memory or from files that each worker reads for its own products
(:class:`spikes.io.datasets.ProductDataset`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Detection", "Engine", "LocalEngine", "DaskEngine", "detect", "make_engine"]

_WHERE = {
    "Engine": "spikes.engine.base",
    "LocalEngine": "spikes.engine.base",
    "make_engine": "spikes.engine.choice",
    "DaskEngine": "spikes.engine.dask",
    "Detection": "spikes.engine.run",
    "detect": "spikes.engine.run",
}


def __getattr__(name: str) -> Any:
    """Load the engines lazily (Dask only when it is used)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'spikes.engine' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
