"""The Dask engine: partitions run on a ``distributed`` cluster.

Without a scheduler address, a local cluster of ``jobs`` single-threaded worker
processes is started for the run (and stopped after it); with one
(``tcp://HOST:8786``), the run goes to that cluster's workers, which must be able to
import `spikes` (same version) and, for file input, read the files at the same paths.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tqdm.auto import tqdm

from spikes.engine.base import Engine, usable_cores
from spikes.errors import SpikesInputError, SpikesRunError

#: Seconds to wait for a scheduler given by address.
CONNECT_TIMEOUT = "10s"
#: Seconds a cluster may have no worker (at the start, or in a run) before the run stops.
WORKER_TIMEOUT = 30.0
#: Seconds between two looks at the cluster while partitions are running.
POLL = 2.0


class DaskEngine(Engine):
    """Runs partitions on a Dask cluster through a ``distributed.Client``.

    Parameters
    ----------
    jobs : int
        Worker processes of the local cluster (0 or less: one per CPU core); unused
        with a `scheduler`, where the cluster's worker threads count.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786``.
    memory_limit : str, optional
        Memory limit of each local worker (e.g. ``"6GB"``); Dask's default (the
        machine's memory shared among the workers) when None.

    Raises
    ------
    SpikesInputError
        When the scheduler cannot be reached, its address is not one, or it has no
        worker for :data:`WORKER_TIMEOUT` seconds.
    """

    def __init__(self, *, jobs: int = 1, scheduler: str | None = None,
                 memory_limit: str | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # a broken install: dask[distributed] is a dependency
            raise SpikesInputError(
                f"the Dask engine needs the `distributed` package, which cannot be "
                f"imported ({exc}); install it with `pip install 'dask[distributed]'`, or "
                "leave out --engine dask") from None

        self._cluster = None
        self.scheduler = scheduler
        if scheduler:
            try:
                self._client = Client(scheduler, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                raise SpikesInputError(f"cannot reach the Dask scheduler at {scheduler}: "
                                       f"{exc}") from exc
            except (ValueError, TypeError) as exc:  # "http://...:8787", no port, tls://
                raise SpikesInputError(
                    f"--scheduler {scheduler!r} is not a Dask scheduler address ({exc}); "
                    f"expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 (not the "
                    f"dashboard's http:// address)") from None
            try:
                self._client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
            except (TimeoutError, OSError):
                self._client.close()
                raise SpikesInputError(
                    f"the Dask scheduler at {scheduler} has no worker (waited "
                    f"{WORKER_TIMEOUT:g} s): start workers with `dask worker {scheduler}`"
                ) from None
            threads = self._client.nthreads()
            self.jobs = max(1, sum(threads.values()))
        else:
            workers = usable_cores() if jobs <= 0 else int(jobs)
            self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                         processes=True, host="127.0.0.1",
                                         dashboard_address="127.0.0.1:0",
                                         memory_limit=memory_limit or "auto")
            self._client = Client(self._cluster)
            self.jobs = workers
        self.dashboard_link = self._client.dashboard_link

    @property
    def client(self) -> Any:
        """The ``distributed.Client``."""
        return self._client

    def map(self, fn: Callable[..., Any], items: Sequence[tuple], *,
            sizes: Sequence[int] | None = None, progress: bool = False,
            desc: str = "products") -> list[Any]:
        sizes = list(sizes) if sizes is not None else [1] * len(items)
        futures = [self._client.submit(fn, *_scattered(self._client, item), pure=False)
                   for item in items]
        position = {f.key: i for i, f in enumerate(futures)}
        out: list[Any] = [None] * len(futures)
        with tqdm(total=sum(sizes), desc=desc, unit="product", disable=not progress or None,
                  leave=False, file=sys.stderr) as bar:
            for future in self._finished(futures):
                i = position[future.key]
                try:
                    out[i] = future.result()
                except _lost_errors() as exc:
                    raise SpikesRunError(
                        f"a partition of products was lost on the Dask cluster "
                        f"({type(exc).__name__}: {str(exc)[:200]}): its workers died (out of "
                        f"memory?) or the scheduler went away; give the workers more "
                        f"memory or run again") from None
                future.release()
                bar.update(sizes[i])
        return out

    def _finished(self, futures: list[Any]) -> Iterator[Any]:
        """`futures` as they finish; a :class:`~spikes.errors.SpikesRunError` when the
        cluster has had no worker for :data:`WORKER_TIMEOUT` seconds (its last worker
        died, and nothing restarts it), instead of waiting for ever."""
        from distributed import wait

        pending = set(futures)
        alone_since: float | None = None
        while pending:
            try:
                done, pending = wait(list(pending), timeout=POLL, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            except _lost_errors() as exc:  # the scheduler went away: its futures cancelled
                raise SpikesRunError(
                    f"the connection to the Dask scheduler"
                    f"{' at ' + self.scheduler if self.scheduler else ''} was lost "
                    f"({type(exc).__name__}); run again") from None
            yield from (f for f in futures if f in done)
            if done or not pending:
                alone_since = None
                continue
            try:
                workers = self._client.nthreads() if self._client.status == "running" else None
            except (OSError, TimeoutError):
                workers = None
            if workers is None:
                raise SpikesRunError(f"the connection to the Dask scheduler"
                                     f"{' at ' + self.scheduler if self.scheduler else ''} "
                                     f"was lost; run again")
            if workers:
                alone_since = None
            elif alone_since is None:
                alone_since = time.monotonic()
            elif time.monotonic() - alone_since > WORKER_TIMEOUT:
                raise SpikesRunError(
                    f"the Dask cluster has had no worker for {WORKER_TIMEOUT:g} s (its last "
                    f"worker died, out of memory?); {len(pending)} partition(s) of products "
                    f"were not done: start workers again and rerun")

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this engine started one."""
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


#: Arguments above this many bytes go to the workers by ``scatter`` (not in the task).
_SCATTER_BYTES = 1 << 20


def _scattered(client: Any, item: tuple) -> tuple:
    """`item` with its large arguments (data frames) scattered to the cluster."""
    from dask.sizeof import sizeof

    return tuple(client.scatter(arg, hash=False) if sizeof(arg) > _SCATTER_BYTES else arg
                 for arg in item)


def _lost_errors() -> tuple[type[BaseException], ...]:
    """The errors of a future whose work the cluster lost (not the task's own errors)."""
    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    return (KilledWorker, CommClosedError, asyncio.CancelledError,
            concurrent.futures.CancelledError)

