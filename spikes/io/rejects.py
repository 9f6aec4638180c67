"""Rejected values of a report file: why (reason codes and their texts) and where (the
1-based line of each row in the file), and the rejected-rows table they make.

A reader of a column returns, next to its values, one reason code per row (:data:`OK`
where the value is fine); :func:`reject` records the rows newly found bad in a
:class:`Rejects` collector (the first problem of a row wins) and :func:`rejected_table`
turns them, with the rows the CSV parser skipped for their number of fields, into the
``RawReports.rejected`` table once the line of each record is known.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from spikes.io.sniffing import Text
from spikes.model import REJECTED_COLUMNS, empty_rejected

_MAX_VALUE_CHARS = 80

# Reason codes of a rejected value (0 = fine).
OK, MISSING, NOT_NUMBER, NOT_FINITE, NEGATIVE, NOT_DATE, TOO_LARGE, NO_SUCH_TIME = range(8)
MAX_COUNT = 1e15
"""Largest count accepted in one row: larger values are rejected, so that sums of many
rows stay finite and exact to well below one report."""
_REASONS = {
    MISSING: "is missing",
    NOT_NUMBER: "is not a number",
    NOT_FINITE: "is not finite",
    NEGATIVE: "is negative",
    NOT_DATE: "is not a date",
    TOO_LARGE: f"is too large (above {MAX_COUNT:g})",
    NO_SUCH_TIME: "is a local time that does not exist in the time zone (the hour the "
                  "clocks went forward)",
}


class Rejects:
    """Collects rejected entries by table row; turned into a table once lines are known."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.columns: list[str] = []
        self.values: list[list[str]] = []
        self.reasons: list[list[str]] = []

    def add(self, rows: np.ndarray, column: str, values: list[str], reasons: list[str]) -> None:
        """Record `rows` (table rows) of `column` with their values and reasons."""
        if len(rows):
            self.rows.append(np.asarray(rows, dtype=np.int64))
            self.columns.append(column)
            self.values.append(values)
            self.reasons.append(reasons)

    def __len__(self) -> int:
        return sum(len(r) for r in self.rows)


def reject(
    rejects: Rejects,
    bad: np.ndarray,
    reason: np.ndarray,
    column: str,
    texts: Callable[[np.ndarray], list[str]],
) -> None:
    """Record rows newly found bad (first problem per row wins) and mark them in ``bad``."""
    new = np.flatnonzero((reason != OK) & ~bad)
    if len(new):
        rejects.add(new, column, texts(new), [_REASONS[int(r)] for r in reason[new]])
        bad[new] = True


def texts(column: pa.ChunkedArray) -> Callable[[np.ndarray], list[str]]:
    """Original text of some rows of a column (for the rejected table)."""

    def take(idx: np.ndarray) -> list[str]:
        values = column.take(pa.array(idx, type=pa.int64())).to_pylist()
        return ["" if v is None else _short(v) for v in values]

    return take


def _short(value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def rejected_table(
    text: Text, rejects: Rejects, n_rows: int, n_invalid: int, ncols: int
) -> pd.DataFrame:
    """Turn collected rejects (by table row) and malformed rows into the rejected table."""
    if not len(rejects) and not n_invalid:
        return empty_rejected()
    valid_lines, invalid = _record_lines(text, ncols)
    if len(valid_lines) != n_rows:  # our scan disagrees with pyarrow: number data rows
        valid_lines = text.lines_before_body + 1 + np.arange(n_rows)
        invalid = []
    frames = [
        pd.DataFrame(
            {
                "file": text.name,
                "line": valid_lines[rows],
                "column": column,
                "value": values,
                "reason": reasons,
            }
        )
        for rows, column, values, reasons in zip(
            rejects.rows, rejects.columns, rejects.values, rejects.reasons, strict=True
        )
    ]
    if invalid:
        frames.append(pd.DataFrame(invalid, columns=REJECTED_COLUMNS).assign(file=text.name))
    out = pd.concat(frames, ignore_index=True).sort_values("line", kind="stable")
    return rejected_dtypes(out.reset_index(drop=True))


def row_lines(text: Text, n_rows: int, ncols: int, rows: np.ndarray) -> np.ndarray:
    """Line numbers in the file of data rows `rows` (of `n_rows` read)."""
    valid_lines, _ = _record_lines(text, ncols)
    if len(valid_lines) != n_rows:  # our scan disagrees with pyarrow: number data rows
        valid_lines = text.lines_before_body + 1 + np.arange(n_rows)
    return valid_lines[rows]


def _record_lines(text: Text, ncols: int) -> tuple[np.ndarray, list[tuple]]:
    """Line of each well-formed record, and the malformed ones, of the body (vectorised).

    A line break inside quotes does not end a record (even count of quotes before it).
    Empty lines are skipped, as pyarrow does; records whose field count differs from the
    header's are the malformed rows that pyarrow skipped.
    """
    body = np.frombuffer(text.body, dtype=np.uint8)
    newlines = np.flatnonzero(body == 10)
    delims = np.flatnonzero(body == ord(text.delimiter))
    quotes = np.flatnonzero(body == 34)
    if len(quotes):
        newlines_sep = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
        delims = delims[np.searchsorted(quotes, delims) % 2 == 0]
    else:
        newlines_sep = newlines
    starts = np.concatenate([[0], newlines_sep + 1])
    ends = np.concatenate([newlines_sep, [len(body)]])
    trimmed = ends - ((ends > starts) & (body[np.maximum(ends - 1, 0)] == 13))
    nonempty = trimmed > starts
    fields = np.searchsorted(delims, ends) - np.searchsorted(delims, starts) + 1
    lines = text.lines_before_body + 1 + np.searchsorted(newlines, starts)
    valid = nonempty & (fields == ncols)
    invalid = []
    for i in np.flatnonzero(nonempty & (fields != ncols)):
        row = bytes(text.body[starts[i] : trimmed[i]]).decode("utf-8", errors="replace")
        reason = f"has {fields[i]} fields, expected {ncols}"
        invalid.append((text.name, int(lines[i]), "", _short(row), reason))
    return lines[valid], invalid


def rejected_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """The rejected table's columns in order, as objects with integer lines."""
    out = frame[REJECTED_COLUMNS].astype(object)
    out["line"] = out["line"].astype(np.int64)
    return out
