"""Progress bars show on a terminal only: piped to a log, a bar is carriage returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.cli import main
from spikes.io.reading import read_report_blocks


def _counts_file(path: Path, product: str, seed: int) -> Path:
    index = pd.date_range("2026-01-01", periods=2 * 288, freq="5min", tz="UTC")
    reports = np.random.default_rng(seed).poisson(5, len(index))
    pd.DataFrame({"timestamp": index, "product": product, "reports": reports}).to_csv(
        path, index=False)
    return path


def test_analyze_of_several_files_piped_to_a_log_shows_no_reading_bar(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The reading bar of several files was drawn whatever stderr was: a log got
    # "\rreading:   0%|          | 0/2 [00:00<?, ?file/s]\r" before the summary.
    files = [_counts_file(tmp_path / f"{name}.csv", name, seed)
             for seed, name in enumerate(["mail", "chat"])]
    assert main(["analyze", *map(str, files), "-o", str(tmp_path / "out.csv")]) == 0
    captured = capsys.readouterr()
    assert "2 products" in captured.out
    assert "\r" not in captured.err and "reading" not in captured.err


def test_reading_blocks_with_progress_piped_to_a_log_shows_no_bar(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _counts_file(tmp_path / "mail.csv", "mail", 0)
    blocks = list(read_report_blocks(str(path), progress=True))
    assert sum(len(b.table) for b in blocks) == 2 * 288
    assert "\r" not in capsys.readouterr().err
