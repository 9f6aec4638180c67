"""Tests of spikes.io.rows: parsing the rows (quotes, blocks), wide cells, product names."""

from __future__ import annotations

from spikes.io import rows
from spikes.io.reading import read_reports
from tests.report_files import write


def test_bad_timestamp_after_the_first_block_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(rows, "_BLOCK_SIZE", 1024)  # pyarrow infers types per block
    lines = [f"2024-01-01T00:{i % 60:02d}:00Z,A,1" for i in range(300)]
    lines[250] = "not-a-date,A,1"
    raw = read_reports(
        write(tmp_path, "late.csv", "timestamp,product,reports\n" + "\n".join(lines))
    )
    assert raw.rejected[["line", "value"]].values.tolist() == [[252, "not-a-date"]]
    assert len(raw.table) == 299


def test_wide_file_cells(tmp_path):
    text = (
        "timestamp,A,B\n"
        "2024-01-01T00:00:00Z,1,\n"  # empty cell: missing, not rejected
        "2024-01-01T00:05:00Z,-3,2\n"  # bad cell rejected, the other cell kept
        "garbage,4,4\n"  # bad timestamp: whole row rejected once
    )
    raw = read_reports(write(tmp_path, "w.csv", text))
    assert raw.rejected[["line", "column", "reason"]].values.tolist() == [
        [3, "A", "is negative"],
        [4, "timestamp", "is not a date"],
    ]
    assert raw.table[["product", "reports"]].values.tolist() == [["A", 1.0], ["B", 2.0]]
    assert raw.rows_read == 3


def test_quoted_fields_with_delimiters_and_newlines(tmp_path):
    text = (
        'timestamp,product,category\n2024-01-01T00:00:00Z,"Xbox, Live","login\nfailed"\n'
        '2024-01-01T00:01:00Z,"Say ""hi""",other\n'
    )
    raw = read_reports(write(tmp_path, "q.csv", text))
    assert raw.table["product"].tolist() == ["Xbox, Live", 'Say "hi"']
    assert raw.table["category"].tolist() == ["login\nfailed", "other"]


def test_names_are_trimmed(tmp_path):
    raw = read_reports(
        write(tmp_path, "x.csv", "timestamp,product\n2024-01-01, A \n2024-01-01,A\n")
    )
    assert raw.table["product"].tolist() == ["A", "A"]
    assert list(raw.table["product"].cat.categories) == ["A"]


def test_a_wide_column_without_any_value_is_named(tmp_path):
    # It vanished: the summary counted 2 products and named no third.
    text = "timestamp,A,B,Empty\n2026-01-05T00:00Z,1,2,\n2026-01-05T00:05Z,3,4,\n"
    raw = read_reports(write(tmp_path, "w.csv", text))
    assert sorted(raw.table["product"].unique()) == ["A", "B"]
    assert any("Empty (no value)" in item for item in raw.ignored)
