"""The Dask engine: partitions run on a ``distributed`` cluster.

Without a scheduler address, a local cluster of ``jobs`` single-threaded worker
processes is started for the run (and stopped after it); with one
(``tcp://HOST:8786``), the run goes to that cluster's workers, which must be able to
import `spikes` (same version) and, for file input, read the files at the same paths.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from tqdm.auto import tqdm

from spikes.engine.base import Engine, usable_cores
from spikes.errors import SpikesInputError

#: Seconds to wait for a scheduler given by address.
CONNECT_TIMEOUT = "10s"


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
        When the scheduler cannot be reached.
    """

    def __init__(self, *, jobs: int = 1, scheduler: str | None = None,
                 memory_limit: str | None = None) -> None:
        from distributed import Client, LocalCluster

        self._cluster = None
        if scheduler:
            try:
                self._client = Client(scheduler, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                raise SpikesInputError(f"cannot reach the Dask scheduler at {scheduler}: "
                                       f"{exc}") from exc
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
        from distributed import as_completed

        sizes = list(sizes) if sizes is not None else [1] * len(items)
        futures = [self._client.submit(fn, *_scattered(self._client, item), pure=False)
                   for item in items]
        position = {f.key: i for i, f in enumerate(futures)}
        out: list[Any] = [None] * len(futures)
        with tqdm(total=sum(sizes), desc=desc, unit="product", disable=not progress or None,
                  leave=False, file=sys.stderr) as bar:
            for future in as_completed(futures):
                i = position[future.key]
                out[i] = future.result()
                future.release()
                bar.update(sizes[i])
        return out

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
