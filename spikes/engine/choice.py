"""Choosing an engine by name, at the edge (the CLI's ``--engine``)."""

from __future__ import annotations

from spikes.engine.base import Engine, LocalEngine
from spikes.errors import SpikesInputError

__all__ = ["ENGINES", "make_engine"]

ENGINES = ("local", "dask")


def make_engine(name: str = "local", *, jobs: int = 1, scheduler: str | None = None,
                memory_limit: str | None = None) -> Engine:
    """The engine called `name`.

    Parameters
    ----------
    name : {"local", "dask"}
        ``local``: this process, or `jobs` local worker processes; ``dask``: a Dask
        cluster (:class:`spikes.engine.dask.DaskEngine`).
    jobs : int
        Worker processes (0: one per CPU core). With a `scheduler`, the cluster's own
        workers run the partitions and `jobs` is not used.
    scheduler : str, optional
        Address of a running Dask scheduler, e.g. ``tcp://10.0.0.5:8786`` (``dask``
        only).
    memory_limit : str, optional
        Memory limit of each worker of a local Dask cluster, e.g. ``"6GB"``.

    Returns
    -------
    Engine

    Raises
    ------
    SpikesInputError
        For an unknown engine, or a scheduler given to the local engine.
    """
    if name not in ENGINES:
        raise SpikesInputError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}")
    if name == "local":
        if scheduler:
            raise SpikesInputError("--scheduler needs --engine dask (the local engine runs "
                                   "on this machine)")
        return LocalEngine(jobs=jobs)
    from spikes.engine.dask import DaskEngine

    return DaskEngine(jobs=jobs, scheduler=scheduler, memory_limit=memory_limit)
