"""Rows of count data that repeat a product's bucket are named by product."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from spikes.io.buckets import load_reports, to_buckets
from spikes.io.reading import read_reports


def test_the_repeated_rows_are_named_by_product(tmp_path: Path) -> None:
    # "10 rows of count data repeat a product's bucket and were added to it" named
    # neither the products nor how many of each.
    stamps = pd.date_range("2026-01-05", periods=48, freq="5min", tz="UTC")
    rows = [(t, p, 3) for t in stamps for p in ("Outlook", "Teams", "Zoom")]
    rows += [(t, "Teams", 1) for t in stamps[:4]] + [(stamps[9], "Zoom", 2)]
    path = tmp_path / "counts.csv"
    pd.DataFrame(rows, columns=["timestamp", "product", "reports"]).to_csv(path, index=False)
    wanted = ("the repeated rows (a bucket of a product given more than once) are of "
              "Teams (4), Zoom (1)")
    streamed = load_reports(path)
    whole = to_buckets(read_reports(path))
    for data in (streamed, whole):
        assert data.repeated == 5
        assert wanted in data.notes
        assert data.counts["Teams"].iloc[0] == 4 and data.counts["Zoom"].iloc[9] == 5
    # No note without repeated rows.
    once = tmp_path / "once.csv"
    pd.DataFrame(rows[:144], columns=["timestamp", "product", "reports"]).to_csv(
        once, index=False)
    assert not any("repeated rows" in note for note in load_reports(once).notes)
