"""Tests of spikes.io.numbers: counts, the decimal comma, digit groups."""

from __future__ import annotations

import numpy as np
import pytest

from spikes.io import reading
from spikes.io.reading import read_reports
from tests.report_files import utc, write


def test_conservation_of_valid_counts(tmp_path):
    rng = np.random.default_rng(7)
    counts = rng.poisson(4, 200).astype(float) + rng.random(200).round(2)
    lines = [
        f"2024-01-01T{i // 60:02d}:{i % 60:02d}:00Z,P{i % 3},{c}" for i, c in enumerate(counts)
    ]
    bad = {5: "oops", 17: "-2", 60: ""}
    for i, value in bad.items():
        lines[i] = lines[i].rsplit(",", 1)[0] + f",{value}"
    raw = read_reports(write(tmp_path, "c.csv", "timestamp,product,reports\n" + "\n".join(lines)))
    valid = np.delete(counts, list(bad))
    assert raw.table["reports"].sum() == pytest.approx(valid.sum())
    assert raw.rejected["line"].tolist() == [i + 2 for i in sorted(bad)]
    assert raw.rows_read == 200


def test_semicolon_file_with_decimal_comma_and_bad_value(tmp_path):
    text = "Datum;Service;Anzahl\n31.01.2024 13:00;Post;1,5\n31.01.2024 13:05;Post;zwei\n"
    raw = read_reports(
        write(tmp_path, "de.csv", text),
        timestamp_col="Datum",
        count_col="Anzahl",
        tz="Europe/Berlin",
    )
    assert raw.table["reports"].tolist() == [1.5]
    assert raw.table["timestamp"].tolist() == utc("2024-01-31 12:00")
    assert raw.rejected[["line", "value", "reason"]].values.tolist() == [
        [3, "zwei", "is not a number"]
    ]


@pytest.mark.parametrize(
    ("delimiter", "cells", "expected"),
    [
        (",", ['"1,234"', '"12,345,678.5"', "987"], [1234.0, 12345678.5, 987.0]),
        (",", ["1 234", "1'234", "5"], [1234.0, 1234.0, 5.0]),
        (";", ["1.234,5", "1.234.567", "2,5"], [1234.5, 1234567.0, 2.5]),
    ],
)
def test_counts_with_digit_groups(tmp_path, delimiter, cells, expected):
    rows = [f"2024-01-01T00:0{i}:00Z{delimiter}A{delimiter}{c}" for i, c in enumerate(cells)]
    header = delimiter.join(["timestamp", "product", "reports"])
    raw = read_reports(write(tmp_path, "x.csv", "\n".join([header, *rows]) + "\n"))
    assert raw.table["reports"].tolist() == expected
    assert len(raw.rejected) == 0


def test_broken_digit_groups_are_not_guessed_in_a_comma_file(tmp_path):
    # "1,23" is no grouping of threes (and in a "," file not a decimal comma either).
    text = ('timestamp,product,reports\n2024-01-01T00:00Z,A,"1,23"\n'
            '2024-01-01T00:01Z,A,"1,2345"\n2024-01-01T00:02Z,A,7\n')
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["reports"].tolist() == [7.0]
    assert raw.rejected["value"].tolist() == ["1,23", "1,2345"]
    assert set(raw.rejected["reason"]) == {"is not a number"}


def test_a_tab_file_whose_counts_show_a_decimal_comma(tmp_path):
    # Excel's tab-delimited text in a German locale: "1,250" there is 1.25, not 1250
    # (it was 1250 while "2,5" beside it was refused), in later blocks too.
    text = ("timestamp\tproduct\treports\n2024-01-01T00:00Z\tA\t2,5\n"
            "2024-01-01T00:01Z\tA\t1,250\n2024-01-01T00:02Z\tA\t3\n")
    raw = read_reports(write(tmp_path, "x.tsv", text))
    assert raw.table["reports"].tolist() == [2.5, 1.25, 3.0]
    blocks = list(reading.read_report_blocks(write(tmp_path, "y.tsv", text + "".join(
        f"2024-01-01T00:{i:02d}Z\tA\t1,250\n" for i in range(3, 60))), block_bytes=200))
    assert {v for b in blocks[1:] for v in b.table["reports"]} == {1.25}
    # Alone, "1,250" is a digit group, as in most exports.
    text = "timestamp\tproduct\treports\n2024-01-01T00:00Z\tA\t1,250\n"
    assert read_reports(write(tmp_path, "z.tsv", text)).table["reports"].tolist() == [1250.0]


def test_swiss_digit_groups_in_a_semicolon_file(tmp_path):
    # Refused in a ";" file (read in a "," one).
    text = "timestamp;product;reports\n2024-01-01T00:00Z;A;1'234.50\n2024-01-01T00:01Z;A;12,25\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["reports"].tolist() == [1234.5, 12.25]
