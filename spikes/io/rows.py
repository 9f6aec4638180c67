"""The data rows of a report file: parsed with pyarrow, then checked column by column.

:func:`parse_csv` reads a body (a whole file or one block of it) in one multi-threaded
parse, with timestamps and counts as text only when their types do not convert.
:func:`long_rows` and :func:`wide_rows` check the timestamps (:mod:`spikes.io.timestamps`),
products and counts (:mod:`spikes.io.numbers`), keep the good rows as a table of
``timestamp, product, reports, region, category`` and collect the bad ones
(:mod:`spikes.io.rejects`); a wide file is melted into long rows, cell by cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from spikes.errors import SpikesInputError
from spikes.io.numbers import read_numbers, shows_decimal_comma
from spikes.io.rejects import MISSING, NOT_NUMBER, OK, Rejects, reject, row_lines, texts
from spikes.io.shapes import Layout
from spikes.io.sniffing import Text, to_utf8
from spikes.io.timestamps import read_timestamps

_BLOCK_SIZE = 4 << 20  # pyarrow's parse unit: fewer, larger chunks are faster here


# ------------------------------------------------------------------------ arrow parsing


def parse_csv(text: Text, layout: Layout) -> tuple[pa.Table, int]:
    """Parse the body with pyarrow; retry with timestamps and counts as text on failure."""
    data, has_quotes = text.body, text.has_quotes()
    for attempt in range(3):
        as_text = attempt > 0
        try:
            return _arrow_read(data, text, layout, as_text=as_text, quoted=has_quotes)
        except pa.ArrowInvalid as exc:
            message = str(exc)
            if "UTF8" in message or "UTF-8" in message:
                data = memoryview(to_utf8(bytes(data)))
                continue
            if "conversion error" in message.lower() and not as_text:
                continue
            raise SpikesInputError(
                f"cannot parse {text.name!r} as CSV: {message.splitlines()[0]}"
            ) from exc
    raise SpikesInputError(f"cannot parse {text.name!r} as CSV")  # pragma: no cover


def _arrow_read(
    data: memoryview, text: Text, layout: Layout, *, as_text: bool, quoted: bool
) -> tuple[pa.Table, int]:
    names = [f"c{i}" for i in range(len(text.header))]
    dictionary = pa.dictionary(pa.int32(), pa.string())
    number = pa.string() if as_text else pa.float64()
    types: dict[str, pa.DataType] = {}
    for col in (layout.product, layout.region, layout.category):
        if col is not None:
            types[names[col]] = dictionary
    for col in (layout.count, *layout.wide):
        if col is not None:
            types[names[col]] = number
    if as_text or layout.time is not None:
        for col in layout.stamp_columns():
            types[names[col]] = pa.string()
    invalid: list[int] = []

    def on_invalid(_row: Any) -> str:
        invalid.append(1)
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(data)),
        read_options=pacsv.ReadOptions(column_names=names, block_size=_BLOCK_SIZE),
        parse_options=pacsv.ParseOptions(
            delimiter=text.delimiter,
            newlines_in_values=quoted,
            invalid_row_handler=on_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            include_columns=[names[i] for i in layout.used()],
            null_values=[""],
            strings_can_be_null=True,
            decimal_point="," if text.delimiter == ";" else ".",
        ),
    )
    return table, len(invalid)


# ------------------------------------------------------------------ rows of long shapes


def long_rows(
    text: Text, table: pa.Table, layout: Layout, tz: str | None
) -> tuple[pd.DataFrame, Rejects, int]:
    """Validate events / long / single rows; return accepted rows and rejects."""
    n = table.num_rows
    _check_header_repeats(text, table, layout)
    rejects = Rejects()
    bad = np.zeros(n, dtype=bool)
    if layout.product is not None:
        products = _categorical(_col(table, layout.product))
    else:
        products = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [layout.product_name])
    ts_col = _stamp_column(table, layout)
    # Each product's rows are its own sequence of wall times (for repeated autumn hours).
    stamps, ts_reason = read_timestamps(ts_col, tz, layout.dates, groups=products.codes)
    reject(rejects, bad, ts_reason, _stamp_name(text, layout), texts(ts_col))
    if layout.product is not None:
        prod_reason = np.where(products.codes < 0, MISSING, OK)
        reject(rejects, bad, prod_reason, text.header[layout.product], lambda idx: [""] * len(idx))
    if layout.count is not None:
        count_col = _col(table, layout.count)
        counts, count_reason = read_numbers(
            count_col, decimal_comma=_decimal_comma(text, layout, layout.count, count_col))
        reject(rejects, bad, count_reason, text.header[layout.count], texts(count_col))
    else:
        counts = np.ones(n, dtype=np.float64)
    frame = pd.DataFrame(
        {
            "timestamp": stamps,
            "product": products,
            "reports": counts,
            "region": _optional_categorical(table, layout.region, n),
            "category": _optional_categorical(table, layout.category, n),
        },
        copy=False,
    )
    if bad.any():
        frame = frame[~bad]
    return frame, rejects, len(frame)


def wide_rows(
    text: Text, table: pa.Table, layout: Layout, tz: str | None
) -> tuple[pd.DataFrame, Rejects, list[str]]:
    """Validate a wide file cell by cell and melt it into long rows; also the columns
    left out because they hold no number."""
    n = table.num_rows
    _check_header_repeats(text, table, layout)
    rejects = Rejects()
    bad_row = np.zeros(n, dtype=bool)
    ts_col = _stamp_column(table, layout)
    stamps, ts_reason = read_timestamps(ts_col, tz, layout.dates)
    reject(rejects, bad_row, ts_reason, _stamp_name(text, layout), texts(ts_col))
    names = [text.header[i] or f"column {i + 1}" for i in layout.wide]
    parsed = [read_numbers(_col(table, col),
                           decimal_comma=_decimal_comma(text, layout, col, _col(table, col)))
              for col in layout.wide]
    # A column without a single number (notes, labels) is no product: it is left out
    # (and listed as ignored), unless no column holds numbers at all.
    text_only = [bool(np.isnan(v).all() and (r == NOT_NUMBER).any()) for v, r in parsed]
    if all(text_only):
        _check_wide_column(text, names[0], *parsed[0])
    skipped = [f"{Path(text.name).name!r}: {name} (no number)"
               for name, t in zip(names, text_only, strict=True) if t]
    # A column without any value: no product with data here (named, not dropped unsaid).
    skipped += [f"{Path(text.name).name!r}: {name} (no value)"
                for name, (v, r), t in zip(names, parsed, text_only, strict=True)
                if not t and bool(np.isnan(v).all())]
    for i in _total_columns(names, parsed, text_only):
        # A totals column (a spreadsheet's "Total") is no product: as one it would join
        # every product's outage as an event of its own.
        text_only[i] = True
        skipped.append(f"{Path(text.name).name!r}: {names[i]} (the sum of the other columns)")
    categories = sorted({name for name, t in zip(names, text_only, strict=True) if not t})
    code_of = {name: code for code, name in enumerate(categories)}
    parts_rows, parts_codes, parts_values = [], [], []
    for col, name, (values, reason), only_text in zip(layout.wide, names, parsed, text_only,
                                                      strict=True):
        if only_text:
            continue
        column = _col(table, col)
        reason = np.where(bad_row | (reason == MISSING), OK, reason)
        reject(rejects, np.zeros(n, dtype=bool), reason, name, texts(column))
        rows = np.flatnonzero(~bad_row & ~np.isnan(values) & (reason == OK))
        parts_rows.append(rows)
        parts_codes.append(np.full(len(rows), code_of[name], dtype=np.int32))
        parts_values.append(values[rows])
    rows = np.concatenate(parts_rows)
    frame = pd.DataFrame(
        {
            "timestamp": stamps[rows],
            "product": pd.Categorical.from_codes(np.concatenate(parts_codes), categories),
            "reports": np.concatenate(parts_values),
            "region": _empty_categorical(len(rows)),
            "category": _empty_categorical(len(rows)),
        },
        copy=False,
    )
    return frame, rejects, skipped


#: Names of a wide file's totals column (compared trimmed, in lower case).
TOTAL_NAMES = frozenset({"total", "totals", "sum", "all", "overall", "grand total"})


def _total_columns(names: list[str], parsed: list[tuple[np.ndarray, np.ndarray]],
                   text_only: list[bool]) -> list[int]:
    """The columns named as totals (:data:`TOTAL_NAMES`), beside two or more numeric
    columns, whose every cell holds the sum of the other columns' cells of its row
    (missing ones as 0; to 1e-9 of it). Decided on the rows at hand, so that a file read
    in blocks decides it as the whole file does (a block whose totals cells are all
    empty leaves the column out as well: it holds nothing).

    Examples
    --------
    >>> ok = np.zeros(2, dtype=np.int8)
    >>> cols = [(np.array([1.0, 2.0]), ok), (np.array([3.0, 4.0]), ok),
    ...         (np.array([4.0, 6.0]), ok)]
    >>> _total_columns(["Outlook", "Teams", "Total"], cols, [False] * 3)
    [2]
    """
    numeric = [i for i, t in enumerate(text_only) if not t]
    out = []
    for i in numeric:
        others = [j for j in numeric if j != i]
        if names[i].strip().lower() not in TOTAL_NAMES or len(others) < 2:
            continue
        values = np.column_stack([parsed[j][0] for j in others])
        total = parsed[i][0]
        held = ~np.isnan(total)
        if np.allclose(total[held], np.nansum(values[held], axis=1), rtol=1e-9, atol=1e-9):
            out.append(i)
    return out


def _check_wide_column(text: Text, name: str, values: np.ndarray, reason: np.ndarray) -> None:
    """A wide column without a single number is not a product column: say so."""
    if np.isnan(values).all() and (reason == NOT_NUMBER).any():
        raise SpikesInputError(
            f"column {name!r} of {text.name!r} is not numeric: read as a wide file (one "
            f"numeric column per product) because no product or count column was found "
            f"among {', '.join(repr(h) for h in text.header)}; pass --product-col, "
            "--count-col, --product NAME or --format to say how to read it"
        )


def _decimal_comma(text: Text, layout: Layout, position: int,
                   column: pa.ChunkedArray) -> bool:
    """Whether count column `position` is read with a decimal comma: in a ``;`` file,
    and in a tab (or other) delimited one whose column showed one, in this block or an
    earlier one (:func:`spikes.io.numbers.shows_decimal_comma`). Not in a ``,`` file,
    where a quoted ``"1,250"`` is a thousands group and ``"2,5"`` a stray cell."""
    if text.delimiter == ";":
        return True
    if text.delimiter == ",":
        return False
    if position not in layout.comma_columns and shows_decimal_comma(column):
        layout.comma_columns.add(position)
    return position in layout.comma_columns


def _check_header_repeats(text: Text, table: pa.Table, layout: Layout) -> None:
    """Refuse a file whose data repeat its header with the columns in another order (two
    exports joined): the rows after it would be read into the wrong columns. A header
    repeated as it is stays a rejected row (not a date)."""
    stamps = _col(table, layout.timestamp)
    if not (pa.types.is_string(stamps.type) or pa.types.is_large_string(stamps.type)):
        return
    names = [h.strip().casefold() for h in text.header]
    cells = pc.utf8_lower(pc.utf8_trim_whitespace(stamps))
    hits = pc.is_in(cells, value_set=pa.array(names, pa.string()))
    rows = np.flatnonzero(hits.to_numpy(zero_copy_only=False))
    used = layout.used()
    for row in rows[:50]:
        found = {i: str(_col(table, i)[int(row)].as_py() or "").strip() for i in used}
        if (any(v.casefold() not in names for v in found.values())
                or all(v.casefold() == names[i] for i, v in found.items())):
            continue
        line = int(row_lines(text, table.num_rows, len(text.header), np.array([row]))[0])
        shown = ", ".join(f"{v} under {text.header[i]}" for i, v in found.items()
                          if v.casefold() != names[i])
        raise SpikesInputError(
            f"{text.name!r} line {line} repeats the header with its columns in another "
            f"order ({shown}): files joined with different column orders would put the "
            "rows after it in the wrong columns; read each file on its own (give them "
            "all to the command)")


def _col(table: pa.Table, position: int) -> pa.ChunkedArray:
    """The column at ``position`` in the file's header."""
    return table.column(f"c{position}")


def _stamp_column(table: pa.Table, layout: Layout) -> pa.ChunkedArray:
    """The timestamps as read: one column, or a date and a time joined by a space."""
    stamps = _col(table, layout.timestamp)
    if layout.time is None:
        return stamps
    return pc.binary_join_element_wise(stamps, _col(table, layout.time), " ")


def _stamp_name(text: Text, layout: Layout) -> str:
    """The name of the timestamp column(s), for rejected rows."""
    name = text.header[layout.timestamp]
    return name if layout.time is None else f"{name} {text.header[layout.time]}"


# ------------------------------------------------------------------------- categoricals


def _categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """Trimmed string categories; empty strings become missing (code -1)."""
    raw = column.to_pandas()
    if not isinstance(raw.dtype, pd.CategoricalDtype):
        raw = raw.astype("category")
    cat = raw.array
    names = pd.Index(cat.categories).astype(str).str.strip()
    unique, inverse = np.unique(np.asarray(names, dtype=object), return_inverse=True)
    lookup = np.append(inverse, -1).astype(np.int32)
    codes = lookup[cat.codes]
    keep = np.asarray([u != "" for u in unique], dtype=bool)
    if not keep.all():
        remap = np.where(keep, np.cumsum(keep) - 1, -1).astype(np.int32)
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
        unique = unique[keep]
    return pd.Categorical.from_codes(codes, [str(u) for u in unique])


def _optional_categorical(table: pa.Table, col: int | None, n: int) -> pd.Categorical:
    return _empty_categorical(n) if col is None else _categorical(_col(table, col))


def _empty_categorical(n: int) -> pd.Categorical:
    return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), pd.Index([], dtype=str))
