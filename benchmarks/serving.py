"""A real ``spikes serve`` process for the service benchmarks, on a free loopback port,
started, waited for and stopped by the caller's ``with`` block."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

TOKEN = "bench-token"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(folder: Path, *options: str, store: str = "bench.duckdb"
            ) -> Iterator[tuple[subprocess.Popen, str]]:
    """Run ``spikes serve --store FOLDER/STORE --clock data`` with a token (and
    `options`) until the block ends; yield the process and its base URL once
    ``/healthz`` answers."""
    port = free_port()
    (folder / "token").write_text(TOKEN)
    process = subprocess.Popen(
        [sys.executable, "-m", "spikes", "serve", "--store", str(folder / store),
         "--port", str(port), "--clock", "data", "--token-file", str(folder / "token"),
         *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield process, url
    finally:
        stop(process, timeout=60)


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a ``spikes serve`` process as a service manager does: SIGTERM, then SIGKILL
    after `timeout` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
