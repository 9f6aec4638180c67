"""The Dask engine: partitions run on a ``distributed`` cluster.

Without a scheduler address, a local cluster of ``jobs`` single-threaded worker
processes is started for the run (and stopped after it); with one
(``tcp://HOST:8786``), the run goes to that cluster's workers, which must be able to
import `spikes` (same version) and, for file input, read the files at the same paths.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tqdm.auto import tqdm

from spikes.engine.base import Engine, usable_cores
from spikes.errors import SpikesInputError, SpikesRunError

#: Seconds to wait for a scheduler given by address.
CONNECT_TIMEOUT = "10s"
#: Seconds more for its handshake, after which a peer that says nothing is given up.
CONNECT_MARGIN = 5.0
#: Seconds a cluster may have no worker (at the start, or in a run) before the run stops.
WORKER_TIMEOUT = 30.0
#: Seconds between two looks at the cluster while partitions are running.
POLL = 2.0
#: Times a partition is run before its loss (its workers died each time) ends the run.
RETRIES = 3


class _Watch:
    """Since when the cluster has had no worker (None: it has one)."""

    alone_since: float | None = None


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
            self._client = _connect(Client, scheduler)
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
            client = None
            try:
                # Workers log nothing: their warnings of tasks cancelled by a Ctrl-C and
                # their heartbeats to a scheduler stopped first filled the screen (a
                # task's error reaches the run, which also names a worker's death).
                from spikes.engine.dask_plugins import IgnoreInterrupts

                self._cluster = LocalCluster(n_workers=0, threads_per_worker=1,
                                             processes=True, host="127.0.0.1",
                                             dashboard_address="127.0.0.1:0",
                                             memory_limit=memory_limit or "auto",
                                             silence_logs=logging.CRITICAL)
                before = _children()
                with _workers_ignore_interrupts():  # only while their processes are made
                    self._cluster.scale(workers)
                    _await_processes(workers, before)
                with _InterruptHeld() as held:  # Dask's calls, cut short, cannot close
                    client = Client(self._cluster)
                    deadline = time.monotonic() + WORKER_TIMEOUT
                    while not held.hit and len(client.nthreads()) < workers:
                        if time.monotonic() > deadline:
                            raise TimeoutError
                        time.sleep(0.05)
                    # Workers Dask starts again after they died ignore Ctrl-C too.
                    client.register_plugin(IgnoreInterrupts())
            except TimeoutError:
                self._abandon(client)
                raise SpikesRunError(
                    f"the local Dask cluster's {workers} worker(s) did not start within "
                    f"{WORKER_TIMEOUT:g} s (out of memory? too many processes?); try "
                    "fewer --jobs, or the local engine") from None
            except BaseException:  # Ctrl-C while the workers start
                self._abandon(client)
                raise
            self._client = client
            self.jobs = workers
        self.dashboard_link = self._client.dashboard_link

    def _abandon(self, client: Any) -> None:
        """Stop a local cluster whose start failed or was interrupted, and its client
        (left to Dask's exit hooks, they waited 10 s and warned of coroutines never
        awaited); what an interrupted start cannot close is left to the exit."""
        if client is not None:
            with contextlib.suppress(Exception):
                client.close(timeout=5)
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()
        self._cluster = None

    @property
    def client(self) -> Any:
        """The ``distributed.Client``."""
        return self._client

    def map(self, fn: Callable[..., Any], items: Sequence[tuple], *,
            sizes: Sequence[int] | None = None, progress: bool = False,
            desc: str = "products") -> list[Any]:
        sizes = list(sizes) if sizes is not None else [1] * len(items)
        out: list[Any] = [None] * len(items)
        tries = [1] * len(items)
        pending = {self._submit(fn, item): i for i, item in enumerate(items)}
        with tqdm(total=sum(sizes), desc=desc, unit="product", disable=not progress or None,
                  leave=False, file=sys.stderr) as bar:
            watch = _Watch()
            while pending:
                done = self._wait(list(pending), watch)
                for future in [f for f in pending if f in done]:
                    i = pending.pop(future)
                    try:
                        out[i] = future.result()
                    except _lost_errors() as exc:
                        # A worker died with the partition (or its scattered data): the
                        # others redo it, while the scheduler is there.
                        if tries[i] >= RETRIES or not self._running():
                            raise SpikesRunError(
                                f"a partition of products was lost on the Dask cluster "
                                f"{tries[i]} time(s) ({type(exc).__name__}: "
                                f"{str(exc)[:200]}): its workers died (out of memory?) or "
                                f"the scheduler went away; give the workers more memory "
                                f"or run again") from None
                        tries[i] += 1
                        pending[self._submit(fn, items[i])] = i
                        continue
                    future.release()
                    bar.update(sizes[i])
        return out

    def _submit(self, fn: Callable[..., Any], item: tuple) -> Any:
        """A future of ``fn(*item)``, its large arguments scattered first."""
        try:
            return self._client.submit(fn, *_scattered(self._client, item), pure=False)
        except (*_lost_errors(), OSError, TimeoutError) as exc:  # a worker died mid-scatter
            if self._running():
                try:  # once more: the scheduler places the data on a living worker
                    return self._client.submit(fn, *_scattered(self._client, item),
                                               pure=False)
                except (*_lost_errors(), OSError, TimeoutError):
                    pass
            raise SpikesRunError(
                f"the Dask cluster lost the connection while its data were being sent "
                f"({type(exc).__name__}: {str(exc)[:200]}); run again") from None

    def _running(self) -> bool:
        """Whether the scheduler still answers."""
        try:
            return self._client.status == "running" and self._client.nthreads() is not None
        except (OSError, TimeoutError, *_lost_errors()):
            return False

    def _wait(self, futures: list[Any], watch: _Watch) -> set[Any]:
        """The futures of `futures` done (finished, failed or lost) within :data:`POLL`
        seconds; a :class:`~spikes.errors.SpikesRunError` when the scheduler went away,
        or the cluster has had no worker for :data:`WORKER_TIMEOUT` seconds (its last
        worker died, and nothing restarts it), instead of waiting for ever."""
        from distributed import wait

        try:
            done, _ = wait(futures, timeout=POLL, return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        except _lost_errors() as exc:  # futures cancelled: data lost, or no scheduler
            if not self._running():
                raise SpikesRunError(
                    f"the connection to the Dask scheduler"
                    f"{' at ' + self.scheduler if self.scheduler else ''} was lost "
                    f"({type(exc).__name__}); run again") from None
            done = {f for f in futures if f.status in ("cancelled", "lost", "error",
                                                        "finished")}
        if done:
            watch.alone_since = None
            return set(done)
        try:
            workers = self._client.nthreads() if self._client.status == "running" else None
        except (OSError, TimeoutError):
            workers = None
        if workers is None:
            raise SpikesRunError(f"the connection to the Dask scheduler"
                                 f"{' at ' + self.scheduler if self.scheduler else ''} "
                                 f"was lost; run again")
        if workers:
            watch.alone_since = None
        elif watch.alone_since is None:
            watch.alone_since = time.monotonic()
        elif time.monotonic() - watch.alone_since > WORKER_TIMEOUT:
            raise SpikesRunError(
                f"the Dask cluster has had no worker for {WORKER_TIMEOUT:g} s (its last "
                f"worker died, out of memory?); {len(futures)} partition(s) of products "
                f"were not done: start workers again and rerun")
        return set()

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this engine started one (its
        scheduler's complaints of work cut short, after a Ctrl-C, are not shown: the run
        says it was interrupted)."""
        self._client.close()
        if self._cluster is not None:
            logger = logging.getLogger("distributed")
            level = logger.level
            logger.setLevel(logging.CRITICAL)
            try:
                self._cluster.close()
            finally:
                logger.setLevel(level)


#: Arguments above this many bytes go to the workers by ``scatter`` (not in the task).
_SCATTER_BYTES = 1 << 20


@contextlib.contextmanager
def _workers_ignore_interrupts() -> Iterator[None]:
    """Start the worker processes of a local cluster ignoring Ctrl-C (SIGINT).

    A terminal sends Ctrl-C to every process of the foreground group: the workers,
    caught importing, printed a traceback each, and the cluster, stopped mid-start,
    another at exit. A signal ignored when a process starts stays ignored in it (Python
    installs its handler only over the default), so the workers leave the interrupt to
    the run, which stops them when it stops. Held only until their processes exist (a
    Ctrl-C in that fraction of a second is dropped), not while they import. Not in
    another thread than the main one, where no handler can be set. A worker that Dask
    starts again after it died (out of memory) ignores Ctrl-C from the moment the
    scheduler gives it the engine's plugin
    (:class:`spikes.engine.dask_plugins.IgnoreInterrupts`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class _InterruptHeld:
    """Hold Ctrl-C back while Dask's client starts (an interrupted start could not be
    closed: Dask's exit hooks then waited 10 s and warned of coroutines never awaited);
    ``hit`` says one came, and it is raised (KeyboardInterrupt) on leaving."""

    hit = False

    def __enter__(self) -> _InterruptHeld:
        self._main = threading.current_thread() is threading.main_thread()
        if self._main:
            self._old = signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, *_: object) -> None:
        self.hit = True

    def __exit__(self, *exc: object) -> None:
        if self._main:
            signal.signal(signal.SIGINT, self._old)
        if self.hit and exc[0] is None:
            raise KeyboardInterrupt


#: Seconds a local cluster's worker processes may take to appear while Ctrl-C is
#: ignored (they appear in a fraction of a second; later, the wait for them goes on with
#: Ctrl-C heard).
SPAWN_TIMEOUT = 5.0


def _children() -> set[int]:
    """Process ids of this process's live ``multiprocessing`` children."""
    import multiprocessing

    return {p.pid for p in multiprocessing.active_children() if p.pid is not None}


def _await_processes(n: int, before: set[int], timeout: float = SPAWN_TIMEOUT) -> None:
    """Wait until this process has started `n` new child processes of `multiprocessing`
    (not in `before`: the local cluster's workers, started by its event loop), or
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(_children() - before) >= n:
            return
        time.sleep(0.01)


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



def _connect(client_class: Any, scheduler: str) -> Any:
    """A ``Client`` of the scheduler at `scheduler`, within :data:`CONNECT_TIMEOUT` and
    a margin: Dask bounds the TCP connection but not the handshake, so a peer that takes
    the connection and says nothing (a web server: the dashboard's port) held the run
    for ever, and one that speaks first (ssh) made it read its banner as a frame size.

    Raises
    ------
    SpikesInputError
        When no Dask scheduler answers there in time, or the address is not one.
    """
    import threading

    deadline = float(CONNECT_TIMEOUT.rstrip("s")) + CONNECT_MARGIN
    done: dict[str, Any] = {}

    def connect() -> None:
        try:
            done["client"] = client_class(scheduler, timeout=CONNECT_TIMEOUT)
        except BaseException as exc:  # handed to the caller's thread
            done["error"] = exc

    # A daemon thread: one stuck in a handshake does not keep the process from exiting.
    thread = threading.Thread(target=connect, name="spikes-dask-connect", daemon=True)
    thread.start()
    thread.join(deadline)
    if thread.is_alive():
        raise SpikesInputError(
            f"no Dask scheduler answered at {scheduler} within {deadline:g} s: something "
            "took the connection and said nothing (is it a scheduler's address, "
            "tcp://HOST:8786, not its dashboard's port?)")
    error = done.get("error")
    if isinstance(error, OSError | TimeoutError):
        raise SpikesInputError(f"cannot reach the Dask scheduler at {scheduler}: "
                               f"{error}") from error
    if isinstance(error, ValueError | TypeError):  # "http://...:8787", no port, tls://
        raise SpikesInputError(
            f"--scheduler {scheduler!r} is not a Dask scheduler address ({error}); "
            "expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 (not the dashboard's "
            "http:// address)") from None
    if isinstance(error, MemoryError):  # a banner read as the length of a message
        raise SpikesInputError(
            f"what answers at {scheduler} does not speak Dask's protocol (its first bytes "
            "read as a message of impossible size): is it a Dask scheduler's address?"
        ) from None
    if error is not None:
        raise error
    return done["client"]
