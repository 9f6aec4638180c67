"""`dev.py`, the entry point that needs nothing but Python."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _dev():
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_keeps_the_caller_s_directory_and_test_runs_in_the_project(monkeypatch) -> None:
    # `cd exports && python3 ../dev.py run spikes analyze mine.csv` said "no such file":
    # every command ran in the project's folder.
    dev = _dev()
    calls: list[tuple[list[str], object]] = []

    def fake_run(cmd: list[str], cwd: object = None) -> subprocess.CompletedProcess:
        calls.append((cmd, cwd))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(dev, "ensure_venv", lambda: None)
    monkeypatch.setattr(dev.subprocess, "run", fake_run)
    assert dev.main(["run", "spikes", "analyze", "mine.csv"]) == 0
    assert dev.main(["lint"]) == 0
    assert calls[0][0][1:] == ["analyze", "mine.csv"] and calls[0][1] is None
    assert calls[1][1] == ROOT  # ruff checks the project wherever it is called from
