"""``spikes ingest`` that fails leaves no store of its own behind (F24), and keeps every
store it did not create, or that holds reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from spikes.cli import main

REPORTS = "timestamp,product,reports\n" + "".join(
    f"2026-01-05T{h:02d}:00Z,A,5\n" for h in range(6))
LABELS = "product,onset,end\nA,2026-01-05T10:00Z,2026-01-05T11:00Z\n"


def _write(folder: Path, name: str, text: str) -> Path:
    """`text` as the file `name` in `folder`."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_failed_ingest_removes_the_store_it_created(tmp_path: Path, capsys) -> None:
    # It left an empty store of 270 KB: `analyze --store` then said "holds no report",
    # and `serve` started on it.
    store = tmp_path / "new.duckdb"
    labels = _write(tmp_path, "labels.csv", LABELS)
    assert main(["ingest", str(labels), "--store", str(store)]) == 2
    assert "no timestamp column" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.csv"]


def test_a_failed_ingest_keeps_a_store_that_was_there(tmp_path: Path, capsys) -> None:
    store = tmp_path / "old.duckdb"
    reports = _write(tmp_path, "reports.csv", REPORTS)
    labels = _write(tmp_path, "labels.csv", LABELS)
    assert main(["ingest", str(reports), "--store", str(store)]) == 0
    assert main(["ingest", str(labels), "--store", str(store)]) == 2
    assert store.is_file()
    capsys.readouterr()
    assert main(["ingest", str(reports), "--store", str(store)]) == 0
    assert "accepted 0, duplicates 6" in capsys.readouterr().out  # its reports are there


def test_a_new_store_that_took_a_file_before_one_failed_is_kept(tmp_path: Path) -> None:
    store = tmp_path / "new.duckdb"
    reports = _write(tmp_path, "reports.csv", REPORTS)
    labels = _write(tmp_path, "labels.csv", LABELS)
    assert main(["ingest", str(reports), str(labels), "--store", str(store)]) == 2
    assert store.is_file()


@pytest.mark.parametrize("bucket", [None, "1h"])
def test_an_ingest_that_works_still_creates_its_store(tmp_path: Path, bucket) -> None:
    store = tmp_path / "new.duckdb"
    reports = _write(tmp_path, "reports.csv", REPORTS)
    extra = [] if bucket is None else ["--bucket", bucket]
    assert main(["ingest", str(reports), "--store", str(store), *extra]) == 0
    assert store.is_file()
