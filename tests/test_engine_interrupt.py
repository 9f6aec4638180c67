"""Ctrl-C during a run on a local Dask cluster: one line, exit 130, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "reports.csv.gz"


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
def test_ctrl_c_while_the_dask_workers_start_is_one_line(tmp_path: Path) -> None:
    # A terminal's Ctrl-C goes to the whole process group: the worker processes, caught
    # importing, printed about 137 lines of tracebacks, and the cluster stopped mid-start
    # another at exit ("Exception ignored in atexit callback ... Status.init").
    out = tmp_path / "incidents.csv"
    run = subprocess.Popen(
        [sys.executable, "-m", "spikes", "analyze", str(SAMPLE), "--engine", "dask",
         "--jobs", "2", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline and run.poll() is None:
            workers = [p for p in _children(run.pid) if "spawn_main" in _cmdline(p)]
            time.sleep(0.02)
        assert len(workers) == 2, "the local cluster's workers never started"
        time.sleep(0.3)  # they import spikes now (seconds), as a user's Ctrl-C finds them
        os.killpg(run.pid, signal.SIGINT)
        _, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate()
    assert run.returncode == 130
    assert err == "spikes analyze: interrupted\n"
    assert not out.exists()
    time.sleep(0.5)
    assert not [p for p in workers if Path(f"/proc/{p}").exists()
                and "spawn_main" in _cmdline(p)], "a worker outlived the run"

