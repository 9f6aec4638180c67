"""Helpers of the reader's tests (``test_reading``, ``test_sniffing``, ``test_shapes``,
``test_timestamps``, ``test_numbers``, ``test_rows``, ``test_rejects``): write a report file,
UTC timestamps, and report files that several of them read."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def utc(*stamps: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(s, tz="UTC") for s in stamps]


BAD_ROWS = (
    "timestamp,product,reports,region\n"  # line 1
    "2024-01-01T00:00:00Z,A,1,US\n"  # 2 ok
    "foo,A,3,EU\n"  # 3 bad timestamp
    "2024-01-01T00:10:00Z,,3,\n"  # 4 empty product
    "2024-01-01T00:10:00Z,A,-1,\n"  # 5 negative
    "2024-01-01T00:10:00Z,A,x,\n"  # 6 not a number
    "\n"  # 7 blank: skipped, not a row
    '2024-01-01T00:15:00Z,"B\n'  # 8-9 quoted newline in product: ok
    'b",2.5,"a, b"\n'
    "2024-01-01T00:20:00Z,A,inf,\n"  # 10 infinite
    "2024-01-01T00:20:00Z,A,NaN,\n"  # 11 NaN
    "2024-01-01T00:20:00Z,A,,\n"  # 12 missing count
    ",A,1,\n"  # 13 missing timestamp
    "2024-01-01T00:25:00Z,A,2\n"  # 14 too few fields
    "2024-01-01T00:25:00Z,A,2,US,extra\n"  # 15 too many fields
    "2024-01-01T00:30:00Z,A,0.25,US\n"  # 16 ok, fractional
)


LONG = "timestamp,product,reports\n2024-01-01T00:00:00Z,A,1.5\n2024-01-01T00:05:00Z,B,2\n"
