"""Dask clusters that lose their workers or scheduler, one scenario per run of
``python -m tests.dask_failures SCENARIO FOLDER``: the error the engine raises is
printed on the last line (``Type: message``), for ``tests/test_engine.py``."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from spikes.engine import dask as dask_engine
from spikes.engine.choice import make_engine
from tests.dask_cluster import cluster


def exit_worker(value: int) -> int:
    """The worker process dies with its partition (as killed for memory)."""
    os._exit(1)


def die_once(marker: str, data: bytes) -> int:
    """The first run dies with its worker (and the data scattered to it); a rerun, on
    the other worker, gives the data's size."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return len(data)


def nap(seconds: float) -> float:
    """A partition that takes `seconds`."""
    time.sleep(seconds)
    return seconds


def run(scenario: str, folder: Path) -> None:
    """Run `scenario`; raise what the engine raises."""
    dask_engine.WORKER_TIMEOUT = 2.0
    dask_engine.POLL = 0.5
    if scenario == "no-worker":
        with cluster(folder, workers=0) as address:
            make_engine("dask", scheduler=address)
        return
    if scenario == "worker-dies-once":  # on a cluster of two: the other redoes it
        with cluster(folder, workers=2) as address:
            engine = make_engine("dask", scheduler=address)
            try:
                data = os.urandom(3 << 20)  # scattered (over 1 MB), lost with its worker
                sizes = engine.map(die_once, [(str(folder / "died"), data)])
                print(f"done: {sizes}", flush=True)
            finally:
                engine.close()
        return
    processes: list = []
    with cluster(folder, workers=1, processes=processes) as address:
        engine = make_engine("dask", scheduler=address)
        try:
            if scenario == "worker-dies":
                engine.map(exit_worker, [(1,)])
            else:  # scheduler-dies
                threading.Timer(2.0, processes[0].kill).start()
                engine.map(nap, [(20.0,)])
        finally:
            engine.close()


if __name__ == "__main__":
    try:
        run(sys.argv[1], Path(sys.argv[2]))
    except Exception as exc:  # the line the test reads
        print(f"{type(exc).__name__}: {exc}", flush=True)
    else:
        print("no error", flush=True)
