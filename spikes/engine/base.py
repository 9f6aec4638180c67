"""The engine interface and the local engine.

An engine maps a function over items (product partitions) and returns the results in
the order of the items, whatever order they finish in. It knows nothing of detection:
the function and its data come from the caller. The one exception is
:meth:`Engine.map_parts` of the local engine on Linux, which hands the whole data to
forked workers by inheritance rather than pickling each partition's share.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from tqdm.auto import tqdm

from spikes.errors import SpikesRunError

#: Partitions per worker (smaller ones balance the load and move the progress bar).
CHUNKS_PER_JOB = 4
#: Fewest products in a partition (below, the per-task overhead dominates).
MIN_PARTITION = 50
#: Most products in a partition (bounds a worker's memory: about 1.5 MB per product of
#: 28 days of 5-minute buckets while it is scored).
MAX_PARTITION = 250


class Engine(ABC):
    """Runs a function over partitions; chosen at the edge (CLI, caller).

    Attributes
    ----------
    jobs : int
        Workers that run partitions at the same time (what partitioning aims at).
    dashboard_link : str or None
        Where to watch the run, when the engine has a dashboard.
    """

    jobs: int = 1
    dashboard_link: str | None = None

    @abstractmethod
    def map(self, fn: Callable[..., Any], items: Sequence[tuple], *,
            sizes: Sequence[int] | None = None, progress: bool = False,
            desc: str = "products") -> list[Any]:
        """``[fn(*item) for item in items]``, run by the engine's workers.

        Parameters
        ----------
        fn : callable
            A module-level function (the workers import it by name).
        items : sequence of tuple
            The arguments of each call.
        sizes : sequence of int, optional
            Products in each item, for the progress bar (1 per item by default).
        progress : bool
            Show a progress bar.
        desc : str
            The progress bar's label.

        Returns
        -------
        list
            The results, in the order of `items`.
        """

    def map_parts(self, fn: Callable[..., Any], whole: Any, parts: Sequence[Any], *,
                  select: Callable[[Any, Any], Any], args: tuple = (),
                  sizes: Sequence[int] | None = None, progress: bool = False,
                  desc: str = "products") -> list[Any]:
        """``[fn(select(whole, part), *args) for part in parts]``, run by the workers.

        The workers need only their part of `whole` (each partition's products of
        already-computed data); by default each part is selected here and sent to a
        worker (:meth:`map`).

        Parameters
        ----------
        fn : callable
            A module-level function of a part and `args`.
        whole : object
            The data the parts are cut from.
        parts : sequence
            What `select` takes to cut a part (a partition's products).
        select : callable
            A module-level function: ``select(whole, part)`` is a part of the data.
        args : tuple
            Further arguments of every call (small: sent with each).
        sizes, progress, desc
            As :meth:`map`.

        Returns
        -------
        list
            The results, in the order of `parts`.
        """
        return self.map(fn, [(select(whole, part), *args) for part in parts], sizes=sizes,
                        progress=progress, desc=desc)

    def close(self) -> None:
        """Release the workers (nothing to do by default)."""
        return None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalEngine(Engine):
    """In this process (``jobs=1``) or in `jobs` worker processes on this machine.

    The workers are forked on Linux (a ``ProcessPoolExecutor``: they start at once with
    everything already imported, and a worker that dies stops the run with
    :class:`~spikes.errors.SpikesRunError`), elsewhere joblib's ``loky`` workers (fresh
    interpreters: macOS system libraries are not fork-safe, Windows has no fork). Each
    partition's arguments and results are pickled, except in :meth:`map_parts` on Linux,
    whose forked workers inherit the whole data.

    Parameters
    ----------
    jobs : int
        Worker processes; 0 or less means one per CPU core, 1 runs in this process.
    """

    def __init__(self, *, jobs: int = 1) -> None:
        self.jobs = usable_cores() if jobs <= 0 else int(jobs)

    def map(self, fn: Callable[..., Any], items: Sequence[tuple], *,
            sizes: Sequence[int] | None = None, progress: bool = False,
            desc: str = "products") -> list[Any]:
        sizes = list(sizes) if sizes is not None else [1] * len(items)
        with tqdm(total=sum(sizes), desc=desc, unit="product", disable=not progress or None,
                  leave=False) as bar:
            if self.jobs <= 1 or len(items) <= 1:
                out = []
                for item, size in zip(items, sizes, strict=True):
                    out.append(fn(*item))
                    bar.update(size)
                return out
            jobs = min(self.jobs, len(items))
            out = []
            if can_fork():
                with _forked_pool(jobs) as pool:
                    results = pool.map(_call, [(fn, item) for item in items])
                    for result, size in zip(_results(results, jobs), sizes, strict=True):
                        out.append(result)
                        bar.update(size)
                return out
            from joblib import Parallel, delayed

            run = Parallel(n_jobs=jobs, backend="loky", return_as="generator")
            for result, size in zip(run(delayed(fn)(*item) for item in items), sizes,
                                    strict=True):
                out.append(result)
                bar.update(size)
            return out


    def map_parts(self, fn: Callable[..., Any], whole: Any, parts: Sequence[Any], *,
                  select: Callable[[Any, Any], Any], args: tuple = (),
                  sizes: Sequence[int] | None = None, progress: bool = False,
                  desc: str = "products") -> list[Any]:
        """As :meth:`Engine.map_parts`; on Linux, forked workers inherit `whole` (the
        parent's memory, shared copy-on-write) and select their parts themselves, so
        nothing but the parts' keys and the results crosses a pipe (pickling each
        partition's scores cost 0.3-0.5 s a run of 1,000 products x 28 days)."""
        if self.jobs <= 1 or len(parts) <= 1 or not can_fork():
            return super().map_parts(fn, whole, parts, select=select, args=args,
                                     sizes=sizes, progress=progress, desc=desc)
        sizes = list(sizes) if sizes is not None else [1] * len(parts)
        jobs = min(self.jobs, len(parts))
        out = []
        # The workers get the run through their pool's initializer: inherited by fork,
        # never pickled, and each pool its own (two runs at once do not mix).
        with (tqdm(total=sum(sizes), desc=desc, unit="product",
                   disable=not progress or None, leave=False) as bar,
              _forked_pool(jobs, inherit=(fn, whole, select, args)) as pool):
            for result, size in zip(_results(pool.map(_inherited_call, parts), jobs),
                                    sizes, strict=True):
                out.append(result)
                bar.update(size)
        return out


def can_fork() -> bool:
    """Whether this process may run work in forked worker processes: on Linux, and
    outside a daemon process (a ``multiprocessing`` or Dask worker may have no
    children); else the work runs in this process (off Linux, in joblib's loky pool).

    Returns
    -------
    bool
    """
    return sys.platform.startswith("linux") and not multiprocessing.current_process().daemon


def _forked_pool(jobs: int, inherit: tuple | None = None) -> ProcessPoolExecutor:
    """A pool of `jobs` forked worker processes (they start at once with everything
    imported, and inherit the parent's memory; with `inherit`, each worker holds it as
    its run of :meth:`LocalEngine.map_parts`). Unlike ``multiprocessing.Pool``, it
    notices a worker that dies (killed for memory): the run stops with
    :class:`~spikes.errors.SpikesRunError` instead of waiting for it for ever."""
    if inherit is None:
        return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"))
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                               initializer=_inherit, initargs=(inherit,))


def _results(results: Iterator[Any], jobs: int) -> Iterator[Any]:
    """`results` of a :func:`_forked_pool`, a lost worker told as a
    :class:`~spikes.errors.SpikesRunError`."""
    try:
        yield from results
    except BrokenProcessPool:
        raise SpikesRunError(
            f"a worker process of the {jobs} died before its partition was done (killed "
            f"for lack of memory?): run with fewer --jobs, or on a machine with more "
            f"memory") from None


def _call(call: tuple[Callable[..., Any], tuple]) -> Any:
    """``fn(*item)`` of one partition in a forked worker of :meth:`LocalEngine.map`."""
    fn, item = call
    return fn(*item)


#: What a forked worker of :meth:`LocalEngine.map_parts` inherited: the function, the
#: whole data, the selector and the further arguments (set in the worker only, by its
#: pool's initializer).
_INHERITED: tuple | None = None


def _inherit(run: tuple) -> None:
    """A forked worker's initializer: keep the run of its :meth:`LocalEngine.map_parts`."""
    global _INHERITED
    _INHERITED = run


def _inherited_call(part: Any) -> Any:
    """One part's call in a forked worker of :meth:`LocalEngine.map_parts`."""
    assert _INHERITED is not None, "map_parts' data were not inherited (no fork?)"
    fn, whole, select, args = _INHERITED
    return fn(select(whole, part), *args)


def product_partitions(products: Sequence[str], jobs: int, *,
                       bounded: bool = False) -> list[list[str]]:
    """`products` cut into consecutive partitions for `jobs` workers.

    About :data:`CHUNKS_PER_JOB` partitions per worker, each of :data:`MIN_PARTITION`
    to :data:`MAX_PARTITION` products; for one worker, one partition (all of them)
    unless `bounded`.

    Parameters
    ----------
    products : sequence of str
        The products, in the order their results should come back.
    jobs : int
        Workers.
    bounded : bool
        Keep partitions at most :data:`MAX_PARTITION` products even for one worker
        (when a partition is read from files, this bounds memory).

    Returns
    -------
    list of list of str
    """
    products = list(products)
    if not products:
        return []
    if jobs <= 1 and not bounded:
        return [products]
    count = max(jobs * CHUNKS_PER_JOB if jobs > 1 else 1, math.ceil(len(products) / MAX_PARTITION))
    count = max(1, min(count, len(products) // MIN_PARTITION))
    step = math.ceil(len(products) / count)
    return [products[i:i + step] for i in range(0, len(products), step)]


def usable_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
