"""Counts of report files: numbers with a decimal point or comma and digit groups
(``"1,234"``, ``1 234``, ``1'234``; ``1.234,5`` in a file with a decimal comma), checked
to be finite, non-negative and at most :data:`~spikes.io.rejects.MAX_COUNT`."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa

from spikes.io.rejects import MAX_COUNT, MISSING, NEGATIVE, NOT_FINITE, NOT_NUMBER, TOO_LARGE

# Digit groups of counts ("1,234", "1 234", "1'234"; "1.234,5" with a decimal comma).
_GROUP_SEPARATORS = " '\u00a0\u202f"
_GROUPED_POINT = (r"[+-]?\d{1,3}(?P<sep>[,' \u00a0\u202f])\d{3}(?:(?P=sep)\d{3})*"
                  r"(?:\.\d*)?")
_GROUPED_COMMA = (r"[+-]?\d{1,3}(?:(?P<sep>[' \u00a0\u202f])\d{3}(?:(?P=sep)\d{3})*(?:,\d*)?"
                  r"|\.\d{3}(?:\.\d{3})+(?:,\d*)?|\.\d{3},\d*)")
_LONE_GROUP = r"[+-]?[1-9]\d{0,2}\.\d{3}"
_SWISS = r"[+-]?\d{1,3}(?:'\d{3})+\.\d+"
# A decimal comma no digit grouping explains: not three digits after it, or after more
# than three digits or point groups ("2,5", "1250,75", "1.234,5").
_COMMA_DECIMAL = (r"[+-]?(?:\d{1,3},(?:\d{1,2}|\d{4,})|\d{4,},\d+"
                  r"|\d{1,3}(?:\.\d{3})+,\d+)")


def shows_decimal_comma(column: pa.ChunkedArray) -> bool:
    """Whether a count column's values show a decimal comma that no digit grouping
    explains (``2,5``, ``1250,75``, ``1.234,5``: Excel's tab-delimited text in a German
    locale), so that its ``1,250`` is 1.25, not 1250."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return False
    return bool(_matches(column.to_pandas().str.strip(), _COMMA_DECIMAL).any())


def read_numbers(column: pa.ChunkedArray, *, decimal_comma: bool) -> tuple[np.ndarray, np.ndarray]:
    """Float values (NaN where unusable) and reason codes of a count column
    (`decimal_comma`: the file's custom, or :func:`shows_decimal_comma`)."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        raw = column.to_pandas().str.strip()
        text = _without_grouping(raw, decimal_comma=decimal_comma)
        missing = (text.isna() | (text == "")).to_numpy()
        if decimal_comma:
            text = text.str.replace(",", ".", regex=False)
        parsed = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        words = text.str.lower().isin(["nan", "inf", "+inf", "-inf", "infinity", "-infinity"])
        not_number = np.isnan(parsed) & ~missing & ~words.to_numpy()
    else:
        parsed = column.to_numpy().astype(np.float64, copy=False)
        missing = (
            column.is_null().to_numpy(zero_copy_only=False)
            if column.null_count
            else np.zeros(len(parsed), dtype=bool)
        )
        not_number = np.zeros(len(parsed), dtype=bool)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(parsed) & (parsed >= 0) & (parsed <= MAX_COUNT)
    reason = np.zeros(len(parsed), dtype=np.int8)
    if good.all():
        return parsed, reason
    idx = np.flatnonzero(~good)
    p = parsed[idx]
    reason[idx] = np.select(
        [missing[idx], not_number[idx], ~np.isfinite(p), p < 0],
        [MISSING, NOT_NUMBER, NOT_FINITE, NEGATIVE],
        TOO_LARGE,
    )
    values = np.where(good, parsed, np.nan)
    return values, reason


def _without_grouping(text: pd.Series, *, decimal_comma: bool) -> pd.Series:
    """Numbers written with digit groups (``1,234``, ``1 234 567``, ``1'234.5``; in a file
    with a decimal comma ``1.234,5`` or ``1.234.567``) without the group separators.

    Only groupings are read: threes of digits after one to three, the same separator
    throughout. In a file with a decimal comma, ``1.234`` alone could also be a decimal
    point: it is a group separator when every value of the column with a point reads as
    grouped (``900``, ``1.700``, ``12.500``), and a decimal point otherwise (``0.5``,
    ``1.234``).
    """
    if decimal_comma:  # Swiss: apostrophe groups and a decimal point ("1'234.50")
        swiss = _matches(text, _SWISS)
        if swiss.any():
            text = text.where(~swiss, text[swiss].str.replace("'", "", regex=False)
                              .str.replace(".", ",", regex=False))
    grouped = _matches(text, _GROUPED_COMMA if decimal_comma else _GROUPED_POINT)
    if decimal_comma:
        lone = _matches(text, _LONE_GROUP)
        dotted = _matches(text, r".*\..*")
        if lone.any() and not (dotted & ~grouped & ~lone).any():
            grouped |= lone
    if not grouped.any():
        return text
    separators = ("." if decimal_comma else ",") + _GROUP_SEPARATORS
    cleaned = text[grouped].str.replace(f"[{re.escape(separators)}]", "", regex=True)
    return text.where(~grouped, cleaned)


def _matches(text: pd.Series, pattern: str) -> pd.Series:
    """Whether each value matches `pattern` in full (False for missing values)."""
    return text.str.fullmatch(pattern).fillna(False).astype(bool)
