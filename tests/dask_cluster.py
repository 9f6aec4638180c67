"""A Dask cluster of separate processes on 127.0.0.1, for the engine tests."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def cluster(folder: Path, workers: int, processes: list | None = None) -> Iterator[str]:
    """A scheduler and `workers` workers (no nanny: a worker that dies stays dead) as
    separate processes on 127.0.0.1; its address. `processes` receives the processes
    (the scheduler first)."""
    folder.mkdir(parents=True, exist_ok=True)
    address_file = folder / "scheduler.json"
    python = [sys.executable, "-m"]
    started = [subprocess.Popen(
        [*python, "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--scheduler-file", str(address_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 30
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        for _ in range(workers):
            started.append(subprocess.Popen(
                [*python, "distributed.cli.dask_worker", address, "--nthreads", "1",
                 "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--memory-limit", "1GB"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        if workers:
            with Client(address, timeout="20s") as client:
                client.wait_for_workers(workers, timeout=30)
        if processes is not None:
            processes.extend(started)
        yield address
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
