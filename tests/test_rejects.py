"""Tests of spikes.io.rejects: the rejected-rows table (file, line, column, value, reason)."""

from __future__ import annotations

from spikes.io.reading import read_reports
from spikes.model import REJECTED_COLUMNS
from tests.report_files import BAD_ROWS, write


def test_rejected_rows_have_file_line_column_value_reason(tmp_path):
    path = write(tmp_path, "bad.csv", BAD_ROWS)
    raw = read_reports(path)
    rejected = raw.rejected
    assert list(rejected.columns) == REJECTED_COLUMNS
    assert set(rejected["file"]) == {str(path)}
    got = rejected[["line", "column", "value", "reason"]].values.tolist()
    assert got == [
        [3, "timestamp", "foo", "is not a date"],
        [4, "product", "", "is missing"],
        [5, "reports", "-1", "is negative"],
        [6, "reports", "x", "is not a number"],
        [10, "reports", "inf", "is not finite"],
        [11, "reports", "NaN", "is not finite"],
        [12, "reports", "", "is missing"],
        [13, "timestamp", "", "is missing"],
        [14, "", "2024-01-01T00:25:00Z,A,2", "has 3 fields, expected 4"],
        [15, "", "2024-01-01T00:25:00Z,A,2,US,extra", "has 5 fields, expected 4"],
    ]
    assert raw.table["product"].tolist() == ["A", "B\nb", "A"]
    assert raw.table["reports"].tolist() == [1.0, 2.5, 0.25]
    assert raw.rows_read == 13 == len(raw.table) + len(raw.rejected)


def test_lines_account_for_leading_blank_lines(tmp_path):
    path = write(tmp_path, "x.csv", "\n\ntimestamp,product\n2024-01-01,A\nfoo,A\n")
    assert read_reports(path).rejected["line"].tolist() == [5]
