"""Read crowd reports from CSV files into a :class:`~spikes.model.RawReports` table.

Four shapes are understood, detected from the header (names are trimmed and compared
case-insensitively) or forced with ``fmt``:

``events``
    One row per user report: a timestamp and a product, optionally a region and a
    category, and no count column. Every row counts as 1.0 report.
``long``
    Counts per bucket: timestamp, product and count, optionally region and category.
``wide``
    Counts per bucket: a timestamp and one numeric column per product (the column name
    is the product). An empty cell means "no data" and is neither used nor rejected.
``single``
    One series ``timestamp,value`` (the Numenta Anomaly Benchmark layout); the product
    is the file's stem unless ``product=`` names it.

Column aliases are listed in :data:`ALIASES`. A date and a time of day in two columns
(``Date,Time,...``, or named with ``time_col``) are joined into one timestamp.

Rules worth knowing
-------------------
* Timestamps: ISO-8601 (any offset, ``Z``, mixed offsets in one column), common
  day/month formats (``01/31/2024 13:00``, ``31.01.2024 13:00``, ``1/31/2024 1:00 PM``),
  month names (``Jan 31, 2024 1:00 PM``, ``31-Jan-2024 13:00``), Unix epoch seconds,
  milli-, micro- or nanoseconds, and spreadsheet serial days (``45355.5``); a zone after
  the time may be an offset (``UTC+1``) or an unambiguous abbreviation (``EST``, ``CET``:
  :data:`ZONE_ABBREVIATIONS`). Where both
  day-first and month-first read every date, the reading whose dates lie closer
  together is taken (dotted dates are always day first). Times with an offset are
  converted to UTC. Naive times are UTC unless ``tz`` names an IANA time zone; they are
  then localised with daylight saving time: a wall time that occurs twice (autumn) is
  read from the order of each product's rows (oldest or newest first), else the
  earliest (summer-time) instant is taken; a wall time that does not exist (spring) is
  shifted forward to the first valid instant. The output dtype is
  ``datetime64[us, UTC]``. Words such as ``now`` or ``today`` and year-day-month orders
  (``2024-13-01``) are not dates.
* Counts may be fractional (a pre-aggregated or sampled export); they must be finite,
  non-negative and at most :data:`MAX_COUNT`. Digit groups are understood (``"1,234"``,
  ``1 234``, ``1'234``; ``1.234,5`` in a file with a decimal comma).
* Before the header, empty lines, comment lines starting with ``#`` and Excel's
  delimiter line (``sep=;``) are skipped. Named columns that play no role are listed in
  ``RawReports.ignored``.
* Bad rows are never dropped silently: they are listed in ``RawReports.rejected`` with
  the file, the 1-based line number in the file (header = line 1; a quoted field that
  spans several lines is accounted for, so the line is the row's first line), the
  column, the value and the reason. One entry per bad row (the first problem found,
  in the order timestamp, product, count); in wide files one entry per bad cell, and a
  bad timestamp rejects its whole row once.
* Whole-file problems raise :class:`~spikes.errors.SpikesInputError`.
* A quoted field that is never closed is a whole-file error naming its line (the CSV
  parser would otherwise swallow the rest of the file into it).
* A workbook, archive, Parquet file or JSON document given as a CSV is named for what
  it is (by its first bytes), with what to do instead.
* Files may be gzip-compressed (by magic bytes), start with a UTF-8 BOM (or be UTF-16,
  with a BOM or recognised by its zero bytes), use ``,``, ``;`` or tab as delimiter
  (sniffed from the header line), and ``;`` files may use a decimal comma. Bytes that
  are not UTF-8 are read as Windows-1252.

The happy path is one multi-threaded pyarrow parse plus vectorised checks; the slower
paths (timestamps as text, locating the line of a bad row) only run when needed.
:func:`read_report_blocks` reads big files block by block with bounded memory (see
:func:`spikes.io.buckets.load_reports`, which picks it for big files).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import mmap
import re
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from pandas.api.types import union_categoricals
from pandas.tseries.api import guess_datetime_format
from tqdm.auto import tqdm

from spikes.errors import SpikesInputError
from spikes.model import REJECTED_COLUMNS, RawReports, empty_rejected

__all__ = [
    "ALIASES",
    "FORMATS",
    "MAX_COUNT",
    "STREAM_BLOCK_BYTES",
    "describe_rejected",
    "estimate_size",
    "read_report_blocks",
    "read_reports",
]

Source = str | Path | IO[bytes] | IO[str]
Format = Literal["events", "long", "wide", "single"]

FORMATS: tuple[str, ...] = ("events", "long", "wide", "single")
"""Accepted values of ``fmt`` (the CLI's ``--format``)."""

DATE_ORDERS: tuple[str, ...] = ("dmy", "mdy")
"""Accepted values of ``date_order`` (the CLI's ``--date-order``)."""

ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "time", "ts", "date", "datetime", "created_at", "reported_at"),
    "product": ("product", "service", "name", "app"),
    "count": ("reports", "count", "value", "n", "num_reports"),
    "region": ("region", "country", "location", "state"),
    "category": ("category", "problem", "issue", "type"),
}
"""Header names recognised for each role (lower case, compared after trimming, with or
without a trailing unit in brackets: ``Time (UTC)`` is a timestamp column)."""

WORD_ALIASES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "count": (frozenset({"reports", "count", "counts"}),
              frozenset({"report", "number", "of", "num", "total", "user"})),
}
"""Words that give a column its role when no name of :data:`ALIASES` matches whole, in
files with a product column (or ``product=``; a wide file's columns are products,
whatever their names): a name made only of the first set's words and the second's,
with one of the first (``report_count``, ``Number of reports``; not ``like_count``)."""

_OPTION = {
    "timestamp": "--timestamp-col",
    "time": "--time-col",
    "product": "--product-col",
    "count": "--count-col",
    "region": "--region-col",
    "category": "--category-col",
}
_DELIMITERS = (",", ";", "\t")
_MAX_VALUE_CHARS = 80
_BLOCK_SIZE = 4 << 20  # pyarrow's parse unit: fewer, larger chunks are faster here
_TABLE_COLUMNS = ["timestamp", "product", "reports", "region", "category"]
STREAM_BLOCK_BYTES = 16 << 20
"""Size of a block of :func:`read_report_blocks` (decompressed bytes)."""
_GROW_BLOCKS = 4  # a block without a balanced-quote line break is cut at a plain one then

# Reason codes of a rejected value (0 = fine).
_OK, _MISSING, _NOT_NUMBER, _NOT_FINITE, _NEGATIVE, _NOT_DATE, _TOO_LARGE = range(7)
MAX_COUNT = 1e15
"""Largest count accepted in one row: larger values are rejected, so that sums of many
rows stay finite and exact to well below one report."""
_REASONS = {
    _MISSING: "is missing",
    _NOT_NUMBER: "is not a number",
    _NOT_FINITE: "is not finite",
    _NEGATIVE: "is negative",
    _NOT_DATE: "is not a date",
    _TOO_LARGE: f"is too large (above {MAX_COUNT:g})",
}

_EXTRA_DATE_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%m/%d/%Y %I:%M%p",
    "%m/%d/%Y %I:%M:%S.%f %p",
    "%m/%d/%y %H:%M",
    "%m/%d/%y %I:%M %p",
    "%m/%d/%y %I:%M%p",
    # 12-hour times with a zone (after _zone_suffixes: "01:15 PM-05:00", "01:15 PMZ").
    "%m/%d/%Y %I:%M %p%z",
    "%Y-%m-%d %I:%M %p%z",
    "%d/%m/%Y %I:%M %p%z",
    "%d/%m/%y %H:%M",
    "%d.%m.%y %H:%M",
    # Month names, as spreadsheets and web consoles write them ("Nov 27, 2026 4:05 PM").
    "%b %d, %Y %I:%M %p",
    "%b %d, %Y %I:%M:%S %p",
    "%b %d, %Y, %I:%M %p",
    "%B %d, %Y %I:%M %p",
    "%B %d, %Y, %I:%M %p",
    "%d %b %Y %I:%M %p",
    "%d-%b-%Y %H:%M:%S",
    "%d-%b-%Y %H:%M",
)
_RELATIVE_WORDS = ("now", "today", "yesterday", "tomorrow")
# Year-day-month is no one's convention: "2024-13-01" is a bad date, not 13 January.
_YEAR_DAY_MONTH = re.compile(r"%Y\W?%d")
# Dotted dates are day first ("31.01.2024"): month.day is no one's convention either.
_MONTH_DOT_DAY = re.compile(r"%m\.%d")
#: Rows of a text timestamp column sampled to choose its date format.
_FORMAT_SAMPLE = 2000
_NOT_NEWLINE = re.compile(rb"[^\r\n]")
_NOT_WHITESPACE = re.compile(rb"\S")
# A line before the header that is not one: empty, a comment or Excel's "sep=;" ("#,"
# starts a header whose first column, the row number, is called "#").
# Digit groups of counts ("1,234", "1 234", "1'234"; "1.234,5" with a decimal comma).
_GROUP_SEPARATORS = " '\u00a0\u202f"
_GROUPED_POINT = (r"[+-]?\d{1,3}(?P<sep>[,' \u00a0\u202f])\d{3}(?:(?P=sep)\d{3})*"
                  r"(?:\.\d*)?")
_GROUPED_COMMA = (r"[+-]?\d{1,3}(?:(?P<sep>[' \u00a0\u202f])\d{3}(?:(?P=sep)\d{3})*(?:,\d*)?"
                  r"|\.\d{3}(?:\.\d{3})+(?:,\d*)?|\.\d{3},\d*)")
# Files that are not CSV text, by their first bytes: (magic, what it is, what to do).
_NOT_CSV = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)",
     "save the sheet as CSV (or unzip the archive) and read that"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)", "save the sheet as CSV"),
    (b"PAR1", "a Parquet file", "write it out as CSV, e.g. pandas.read_parquet(f).to_csv(out)"),
    (b"%PDF", "a PDF document", "export the data as CSV"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV"),
)
_JSON_START = re.compile(rb'\{\s*(?:"|\}|$)|\[\s*(?:[{\["\d-]|\]|$)')
_LONE_GROUP = r"[+-]?[1-9]\d{0,2}\.\d{3}"
#: Spreadsheet serial days read as dates (1954-10-03 to 2119-01-10); as Unix seconds
#: they would all fall on 1 January 1970.
EXCEL_SERIALS = (20_000.0, 80_000.0)
_EXCEL_EPOCH_DAY = 25_569.0  # serial day of 1970-01-01 (day 0 = 1899-12-30)
# Numeric timestamps by size: (median above, microseconds per unit).
_EPOCH_SCALES = ((1e17, 1e-3), (1e14, 1.0), (1e11, 1e3), (-1.0, 1e6))
_LINE_BREAK = re.compile(rb"[\r\n]")
_LISTED_COLUMNS = 12  # column names an error message lists
ZONE_ABBREVIATIONS = {
    "EST": "-05:00", "EDT": "-04:00", "CDT": "-05:00", "MST": "-07:00", "MDT": "-06:00",
    "PST": "-08:00", "PDT": "-07:00", "AKST": "-09:00", "AKDT": "-08:00", "HST": "-10:00",
    "WET": "+00:00", "WEST": "+01:00", "BST": "+01:00", "CET": "+01:00", "CEST": "+02:00",
    "EET": "+02:00", "EEST": "+03:00", "MSK": "+03:00", "JST": "+09:00", "KST": "+09:00",
    "AEST": "+10:00", "AEDT": "+11:00", "NZST": "+12:00", "NZDT": "+13:00",
}
"""Zone abbreviations after a time read as their UTC offsets; ambiguous ones (``CST``:
US Central or China, ``IST``: India, Ireland or Israel) are not, and such a time is
rejected as not a date unless ``tz`` says where it is."""
_ZONE_ABBREVIATION = (r"\s*\b(" + "|".join(sorted(ZONE_ABBREVIATIONS, key=len, reverse=True))
                      + r")$")
_SERIAL_SNAP_US = 10e6  # serial times within 10 s of whole minutes are whole minutes
_COMPACT_DATES = (19_000_101.0, 21_001_231.0)  # yyyymmdd numbers, 1900 to 2100
_UNIT_SUFFIX = re.compile(r"\s*(?:\([^()]*\)|\[[^\[\]]*\])$")
_PREAMBLE_LINE = re.compile(rb"[ \t]*(?:#(?![,;\t])[^\r\n]*|sep=[^\r\n]|)[ \t]*(?:\r\n|\n|\r)",
                            re.IGNORECASE)
_AWARE_RE = (r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp][Mm])?\s*"
             r"(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_SECONDS_COMMA = r"(\d:\d{2}:\d{2}),(\d+)"


# --------------------------------------------------------------------------- public API


def read_reports(
    sources: Source | Sequence[Source],
    *,
    fmt: str | None = None,
    timestamp_col: str | None = None,
    product_col: str | None = None,
    count_col: str | None = None,
    region_col: str | None = None,
    category_col: str | None = None,
    product: str | None = None,
    tz: str | None = None,
    progress: bool = False,
    time_col: str | None = None,
    date_order: str | None = None,
) -> RawReports:
    """Read report events or counts from one or more CSV files.

    Parameters
    ----------
    sources : path, file-like, or sequence of them
        Files to read (``str`` or ``Path``), or binary file-like objects with a ``.name``
        attribute (such as a Streamlit upload). Several files are concatenated; they must
        all hold events or all hold counts.
    fmt : {"events", "long", "wide", "single"}, optional
        Force the shape instead of detecting it from the header.
    timestamp_col, product_col, count_col, region_col, category_col : str, optional
        Column names that override detection; each must exist in every file.
    product : str, optional
        Product name of files without a product column. All columns other than the
        timestamp and the count (and the region or category if named explicitly) are
        then ignored; without a count column every row is one report (events), unless a
        column bears the product's name (one product of a wide file: its counts).
    tz : str, optional
        IANA time zone of naive timestamps (default UTC). See the module notes on
        daylight saving time.
    progress : bool
        Show a progress bar over files.
    time_col : str, optional
        A separate time-of-day column, joined to the date in the timestamp column (found
        without it when the header has exactly one ``date`` and one ``time`` column).
    date_order : {"dmy", "mdy"}, optional
        Day/month order of numeric dates such as ``01/03/2024``. By default the dates
        decide (see the module notes); where they cannot, ``RawReports.notes`` says so.

    Returns
    -------
    RawReports
        ``table`` has columns ``timestamp`` (``datetime64[us, UTC]``), ``product``
        (categorical of ``str``), ``reports`` (float64), ``region`` and ``category``
        (categorical of ``str``, NaN where missing), in file order.

    Raises
    ------
    SpikesInputError
        For a whole-file problem: missing or unreadable file, empty file, header without
        data rows, no timestamp column, ambiguous or unrecognisable header, unknown
        ``fmt`` or ``tz``, no usable row, or files of different kinds.

    Examples
    --------
    >>> raw = read_reports("reports.csv", tz="America/New_York")  # doctest: +SKIP
    >>> raw.kind, len(raw.table), len(raw.rejected)  # doctest: +SKIP
    ('events', 10421, 2)
    """
    options = _make_options(
        fmt, timestamp_col, product_col, count_col, region_col, category_col, product, tz,
        time_col, date_order,
    )
    items = _as_list(sources)
    results = [
        _read_one(item, options)
        for item in tqdm(items, disable=not progress, desc="reading", unit="file")
    ]
    _check_same_kind(results)
    return RawReports(
        table=_concat_tables([r.table for r in results]),
        kind=results[0].kind,
        rejected=_concat_rejected([r.rejected for r in results]),
        rows_read=sum(r.rows_read for r in results),
        sources=tuple(r.name for r in results),
        ignored=tuple(c for r in results for c in r.ignored),
        notes=tuple(dict.fromkeys(n for r in results for n in r.notes)),
    )


def read_report_blocks(
    sources: Source | Sequence[Source],
    *,
    fmt: str | None = None,
    timestamp_col: str | None = None,
    product_col: str | None = None,
    count_col: str | None = None,
    region_col: str | None = None,
    category_col: str | None = None,
    product: str | None = None,
    tz: str | None = None,
    progress: bool = False,
    block_bytes: int | None = None,
    time_col: str | None = None,
    date_order: str | None = None,
) -> Iterator[RawReports]:
    """Read report files block by block, with bounded memory: the streaming twin of
    :func:`read_reports`.

    Each file is decompressed and decoded as a stream and cut into blocks of about
    ``block_bytes`` that end at a record boundary (a line break outside double quotes);
    each block is read exactly as :func:`read_reports` reads a whole file, so values,
    rejected rows and their line numbers are the same. What is decided per file in
    :func:`read_reports` is decided per block here: the date format of text timestamps,
    seconds vs milliseconds of epoch times, and the order-based resolution of repeated
    autumn wall times (``tz``) at the edge of a block.

    Parameters
    ----------
    sources, fmt, timestamp_col, product_col, count_col, region_col, category_col, \
product, tz, time_col, date_order
        As in :func:`read_reports`.
    progress : bool
        Show a progress bar over the bytes of each file. A file above
        :data:`STREAM_BLOCK_BYTES` shows it on a terminal even without ``progress``.
    block_bytes : int, optional
        Size of a block (default :data:`STREAM_BLOCK_BYTES`).

    Yields
    ------
    RawReports
        One per block, in file order, with that block's rows, rejected rows and
        ``rows_read``; ``sources`` is the file's name.

    Raises
    ------
    SpikesInputError
        As :func:`read_reports`, when the problem is found (a file with no usable row
        raises after its last block).

    Examples
    --------
    >>> total = sum(b.table["reports"].sum() for b in read_report_blocks("big.csv.gz"))
    ... # doctest: +SKIP
    """
    options = _make_options(
        fmt, timestamp_col, product_col, count_col, region_col, category_col, product, tz,
        time_col, date_order,
    )
    size = STREAM_BLOCK_BYTES if block_bytes is None else max(int(block_bytes), 1)
    kinds: dict[str, str] = {}
    for item in _as_list(sources):
        for block in _read_blocks(item, options, size, progress):
            kinds.setdefault(block.kind, block.sources[0])
            if len(kinds) > 1:
                events, counts = kinds.get("events"), kinds.get("counts")
                raise SpikesInputError(
                    f"cannot mix report events and counts: {events!r} holds events but "
                    f"{counts!r} holds counts; read them separately"
                )
            yield block


def estimate_size(sources: Source | Sequence[Source]) -> int:
    """Estimated size in bytes of the decompressed content of report files.

    A gzip file counts its recorded uncompressed size (at least five times its own size:
    the record wraps at 4 GiB); a file-like object counts its length. Missing files count
    0 (reading them raises the error).

    Examples
    --------
    >>> estimate_size("reports.csv.gz")  # doctest: +SKIP
    7340032
    """
    total = 0
    for item in _as_list(sources):
        total += _estimate_one(item)
    return total


def describe_rejected(rejected: pd.DataFrame, limit: int = 5) -> str:
    """Summarise rejected rows in one line for people.

    Parameters
    ----------
    rejected : pd.DataFrame
        A ``RawReports.rejected`` table.
    limit : int
        How many rows to describe before "and N more".

    Returns
    -------
    str
        For example ``"2 rows rejected: data.csv line 7 (timestamp 'foo' is not a
        date), data.csv line 9 (reports '-1' is negative)"``, or ``"no rows rejected"``.

    Examples
    --------
    >>> import pandas as pd
    >>> describe_rejected(pd.DataFrame({"file": ["a/data.csv"], "line": [7],
    ...     "column": ["timestamp"], "value": ["foo"], "reason": ["is not a date"]}))
    "1 row rejected: data.csv line 7 (timestamp 'foo' is not a date)"
    """
    n = len(rejected)
    if n == 0:
        return "no rows rejected"
    parts = [_describe_entry(row) for row in rejected.head(limit).itertuples(index=False)]
    more = f", and {n - limit} more" if n > limit else ""
    noun = "row" if n == 1 else "rows"
    return f"{n} {noun} rejected: {', '.join(parts)}{more}"


# ------------------------------------------------------------------------ data classes


@dataclass(frozen=True)
class _Options:
    fmt: str | None
    explicit: dict[str, str | None]
    product: str | None
    tz: str | None
    date_order: str | None = None


@dataclass
class _DateReading:
    """How one file's text timestamps are read; shared (and filled in) by its blocks, so
    that one file has one reading of its dates.

    Attributes
    ----------
    dayfirst : bool
        Day before month where nothing else decides (files with ``;`` delimiters).
    order : {"dmy", "mdy"} or None
        Day/month order the caller asked for (``date_order``); None lets the dates decide.
    formats : list of str
        Formats chosen so far, tried first by the next blocks.
    notes : list of str
        What the reader could not decide from the data (an ambiguous day/month order).
    """

    dayfirst: bool = False
    order: str | None = None
    formats: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Layout:
    """Which column (by position) plays which role in one file."""

    fmt: str
    timestamp: int
    product: int | None = None
    count: int | None = None
    region: int | None = None
    category: int | None = None
    wide: tuple[int, ...] = ()
    product_name: str | None = None
    time: int | None = None  # a separate time-of-day column joined to the timestamp's date
    # How the file's text dates are read, decided once for all blocks of a file.
    dates: _DateReading = field(default_factory=lambda: _DateReading(), compare=False)

    @property
    def kind(self) -> Literal["events", "counts"]:
        return "events" if self.fmt == "events" else "counts"

    def used(self) -> list[int]:
        cols = [self.timestamp, self.time, self.product, self.count, self.region,
                self.category]
        return sorted({c for c in cols if c is not None} | set(self.wide))

    def stamp_columns(self) -> set[int]:
        """The columns the timestamp is read from."""
        return {self.timestamp} if self.time is None else {self.timestamp, self.time}


@dataclass(frozen=True)
class _Text:
    """A CSV file, decoded to UTF-8 bytes and split after its header."""

    name: str
    header: list[str]
    delimiter: str
    data: bytes | mmap.mmap
    start: int
    lines_before_body: int

    @property
    def body(self) -> memoryview:
        """The data rows (without a copy)."""
        return memoryview(self.data)[self.start :]

    def has_quotes(self) -> bool:
        return self.data.find(b'"', self.start) >= 0


@dataclass(frozen=True)
class _FileResult:
    name: str
    kind: Literal["events", "counts"]
    table: pd.DataFrame
    rejected: pd.DataFrame
    rows_read: int
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


class _Rejects:
    """Collects rejected entries by table row; turned into a table once lines are known."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.columns: list[str] = []
        self.values: list[list[str]] = []
        self.reasons: list[list[str]] = []

    def add(self, rows: np.ndarray, column: str, values: list[str], reasons: list[str]) -> None:
        if len(rows):
            self.rows.append(np.asarray(rows, dtype=np.int64))
            self.columns.append(column)
            self.values.append(values)
            self.reasons.append(reasons)

    def __len__(self) -> int:
        return sum(len(r) for r in self.rows)


# ----------------------------------------------------------------------- reading a file


def _make_options(
    fmt: str | None,
    timestamp_col: str | None,
    product_col: str | None,
    count_col: str | None,
    region_col: str | None,
    category_col: str | None,
    product: str | None,
    tz: str | None,
    time_col: str | None = None,
    date_order: str | None = None,
) -> _Options:
    if fmt is not None and fmt not in FORMATS:
        raise SpikesInputError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if product is not None and product_col is not None:
        raise SpikesInputError("pass either --product-col or --product, not both")
    if product is not None and not product.strip():
        raise SpikesInputError("--product must not be empty")
    _check_tz(tz)
    return _Options(
        fmt=fmt,
        explicit={
            "timestamp": timestamp_col,
            "product": product_col,
            "count": count_col,
            "region": region_col,
            "category": category_col,
            "time": time_col,
        },
        product=product.strip() if product is not None else None,
        tz=tz,
        date_order=_check_date_order(date_order),
    )


def _check_date_order(order: str | None) -> str | None:
    """``"dmy"``, ``"mdy"`` or None, from any case; anything else is an error."""
    if order is None or not str(order).strip():
        return None
    value = str(order).strip().lower()
    if value not in DATE_ORDERS:
        raise SpikesInputError(
            f"unknown date order {order!r}: expected {' or '.join(DATE_ORDERS)} (day/month/"
            "year or month/day/year)")
    return value


def _read_one(source: Source, options: _Options) -> _FileResult:
    name, raw = _load_bytes(source)
    text = _split_header(name, *_decode(name, raw))
    result = _read_text(text, _layout(text, options), options, last=True)
    _check_usable(name, len(result.table), result.rows_read, result.rejected)
    return result


def _read_text(text: _Text, layout: _Layout, options: _Options, *, last: bool) -> _FileResult:
    """Read the data rows of ``text`` (a whole file, or one block of it)."""
    if last:
        _check_quotes_closed(text)
    table, n_invalid = _parse_csv(text, layout)
    skipped: list[str] = []
    # Naive times are in --tz, else in a zone the timestamp column names: "Time (CET)".
    tz = options.tz or _header_zone(text.header[layout.timestamp])
    if layout.fmt == "wide":
        frame, rejects, skipped = _wide_rows(text, table, layout, tz)
    else:
        frame, rejects, _ = _long_rows(text, table, layout, tz)
    rejected = _rejected_table(text, rejects, table.num_rows, n_invalid, len(text.header))
    notes = tuple(f"{Path(text.name).name!r}: {n}" for n in layout.dates.notes)
    return _FileResult(text.name, layout.kind, frame, rejected, table.num_rows + n_invalid,
                       _ignored_columns(text, layout) + tuple(skipped), notes)


def _commented_header(text: _Text) -> str | None:
    """The last ``#`` line before the header when, without its ``#``, it names a
    timestamp column (a header commented out by the tool that wrote the file)."""
    head_start = bytes(text.data[: text.start]).rstrip(b"\r\n")
    preamble = head_start[: max(head_start.rfind(b"\n"), 0)].decode("utf-8", "replace")
    comments = [line.strip() for line in preamble.splitlines() if line.strip().startswith("#")]
    if not comments:
        return None
    names = [n.strip().lower() for n in comments[-1].lstrip("#").split(text.delimiter)]
    return comments[-1] if set(names) & set(ALIASES["timestamp"]) else None


def _header_zone(name: str) -> str | None:
    """The time zone a column name gives in brackets (``Time (PST)``, ``timestamp
    [Europe/Berlin]``), if any: abbreviations of :data:`ZONE_ABBREVIATIONS` as the fixed
    offsets they stand for after a time, other names as IANA zones."""
    unit = re.search(r"[(\[]\s*([A-Za-z][\w/+-]*)\s*[)\]]\s*$", name)
    if unit is None:
        return None
    offset = ZONE_ABBREVIATIONS.get(unit[1].upper())
    if offset is not None:  # as after a time: a fixed offset ("EST" = -05:00)
        hours = int(offset[:3])
        return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
    try:
        ZoneInfo(unit[1])
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return unit[1]


def _ignored_columns(text: _Text, layout: _Layout) -> tuple[str, ...]:
    """The file's named columns that no role uses, as ``'file': column`` (unnamed ones,
    such as the trailing empty columns of spreadsheet exports, are left out)."""
    used = set(layout.used())
    return tuple(f"{Path(text.name).name!r}: {name}"
                 for i, name in enumerate(text.header) if i not in used and name)


def _check_usable(name: str, usable: int, rows_read: int, rejected: pd.DataFrame) -> None:
    if usable == 0:
        first = describe_rejected(rejected, limit=1).split(": ", 1)[-1]
        raise SpikesInputError(
            f"no usable row in {name!r}: all {rows_read} data rows were rejected (first: {first})"
        )


def _check_quotes_closed(text: _Text) -> None:
    """Refuse a body that ends inside a quoted field: the CSV parser would swallow every
    following line into that one field. Only checked when the quotes do not pair up."""
    if not text.has_quotes():
        return
    body = np.frombuffer(text.body, dtype=np.uint8)
    quotes = np.flatnonzero(body == 34)
    if len(quotes) % 2 == 0:
        return
    opened = _unclosed_quote(body, quotes, ord(text.delimiter))
    if opened is None:
        return
    line = text.lines_before_body + 1 + int(np.count_nonzero(body[:opened] == 10))
    raise SpikesInputError(
        f"{text.name!r} line {line}: a quoted field is never closed (the '\"' there opens a "
        "field that runs to the end of the file); close the quote or double it as '\"\"'"
    )


def _unclosed_quote(body: np.ndarray, quotes: np.ndarray, delimiter: int) -> int | None:
    """Offset of the quote that opens a field still open at the end, else None.

    Follows the CSV parser: a quote opens a field only at the start of a field; inside,
    ``""`` is a literal quote and a lone quote closes the field.
    """
    starts = (delimiter, 10, 13)
    inside, opened, i, n = False, -1, 0, len(quotes)
    while i < n:
        pos = int(quotes[i])
        if inside:
            if i + 1 < n and quotes[i + 1] == pos + 1:
                i += 2
                continue
            inside = False
        elif pos == 0 or int(body[pos - 1]) in starts:
            inside, opened = True, pos
        i += 1
    return opened if inside else None


# ------------------------------------------------------------------------- streaming


def _read_blocks(
    source: Source, options: _Options, block_bytes: int, progress: bool
) -> Iterator[RawReports]:
    """The blocks of one file as RawReports (see :func:`read_report_blocks`)."""
    name, stream, size = _open_stream(source)
    # A big file shows its bar on a terminal (disable=None) even without ``progress``.
    disable = False if progress else (None if size > block_bytes else True)
    bar = tqdm(total=size, disable=disable, desc=Path(name).name, unit="B",
               unit_scale=True, leave=False)
    usable, rows_read, first_rejected = 0, 0, empty_rejected()
    try:
        chunks = _utf8_chunks(name, stream, block_bytes)
        pending, text, layout, lines = b"", None, None, 0
        for block, last in _with_last(_record_blocks(chunks, block_bytes)):
            if text is None:
                pending += block
                first = _NOT_WHITESPACE.search(pending)
                if first is not None:
                    end = _header_end(pending, _header_start(pending, 0)[0])
                    has_rows = _NOT_NEWLINE.search(pending, end) is not None
                else:
                    has_rows = False
                if not has_rows and not last:
                    continue
                text = _split_header(name, pending, 0)
                layout = _layout(text, options)
                pending = b""
            else:
                text = _Text(name, text.header, text.delimiter, block, 0, lines)
            lines = text.lines_before_body + text.data.count(b"\n", text.start)
            result = _read_text(text, layout, options, last=last)
            usable += len(result.table)
            rows_read += result.rows_read
            if len(result.rejected) and not len(first_rejected):
                first_rejected = result.rejected
            bar.update(max(0, min(size, _position(stream)) - bar.n))
            yield RawReports(
                table=result.table.reset_index(drop=True)[_TABLE_COLUMNS],
                kind=result.kind,
                rejected=result.rejected,
                rows_read=result.rows_read,
                sources=(name,),
                ignored=result.ignored,
                notes=result.notes,
            )
        if text is None:  # empty file: no block at all
            _split_header(name, pending, 0)
    finally:
        bar.close()
        stream.close()
    _check_usable(name, usable, rows_read, first_rejected)


def _with_last(items: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Each item with a flag that is True for the last one."""
    previous = None
    for item in items:
        if previous is not None:
            yield previous, False
        previous = item
    if previous is not None:
        yield previous, True


def _open_stream(source: Source) -> tuple[str, IO[bytes], int]:
    """A binary stream of the file, its name and its size on disk."""
    if hasattr(source, "read"):
        name = str(getattr(source, "name", None) or "<upload>")
        if hasattr(source, "seek"):
            source.seek(0)  # type: ignore[union-attr]
        data = source.read()  # type: ignore[union-attr]
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        return name, io.BytesIO(raw), len(raw)
    path = Path(source)  # type: ignore[arg-type]
    name = str(source)
    if not path.exists():
        raise SpikesInputError(f"cannot read {name!r}: no such file")
    if path.is_dir():
        raise SpikesInputError(f"cannot read {name!r}: it is a directory, expected a CSV file")
    try:
        return name, path.open("rb"), path.stat().st_size
    except OSError as exc:
        raise SpikesInputError(f"cannot read {name!r}: {exc.strerror}") from exc


def _position(stream: IO[bytes]) -> int:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return 0


def _utf8_chunks(name: str, stream: IO[bytes], block_bytes: int) -> Iterator[bytes]:
    """Decompressed UTF-8 content in chunks of about ``block_bytes`` (BOM removed)."""
    head = _peek(stream, 2)
    source: IO[bytes] = stream
    if head == b"\x1f\x8b":
        source = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
    try:
        first = source.read(block_bytes)
        encoding = _utf16_encoding(first[:4096])
        if encoding is None:
            decode: Callable[[bytes], bytes] = bytes
            if first.startswith(b"\xef\xbb\xbf"):
                first = first[3:]
        else:
            decoder = codecs.getincrementaldecoder(encoding)()

            def decode(chunk: bytes) -> bytes:
                return decoder.decode(chunk, final=not chunk).encode("utf-8")
        first = decode(first)
        while first and not _LINE_BREAK.search(first):  # read on to the first line end
            more = decode(source.read(block_bytes))
            if not more:
                break
            first += more
        cr_only = _cr_line_ends(first[:65536])
        while first:
            yield first.replace(b"\r", b"\n") if cr_only else first
            first = decode(source.read(block_bytes))
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise SpikesInputError(f"cannot read {name!r}: not a valid gzip file ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise SpikesInputError(f"cannot read {name!r}: invalid UTF-16 text") from exc
    except OSError as exc:
        raise SpikesInputError(f"cannot read {name!r}: {exc}") from exc


def _peek(stream: IO[bytes], n: int) -> bytes:
    position = stream.tell()
    head = stream.read(n)
    stream.seek(position)
    return head


def _record_blocks(chunks: Iterator[bytes], block_bytes: int) -> Iterator[bytes]:
    """Regroup chunks into blocks that end at a record boundary.

    A boundary is a line break after an even number of double quotes (RFC 4180 quoting,
    as line numbers assume). When no such break turns up within a few blocks (a stray
    literal quote), the block is cut at its last line break.
    """
    carry = b""
    for chunk in chunks:
        buffer = carry + chunk if carry else chunk
        cut = _record_end(buffer, balanced=len(buffer) < _GROW_BLOCKS * block_bytes)
        if cut <= 0:
            carry = buffer
            continue
        yield buffer[:cut]
        carry = buffer[cut:]
    if carry:
        yield carry


def _record_end(buffer: bytes, *, balanced: bool) -> int:
    """Offset just after the last record boundary in ``buffer``, or -1."""
    last = buffer.rfind(b"\n")
    if last < 0 or not balanced or buffer.find(b'"') < 0:
        return last + 1 if last >= 0 else -1
    data = np.frombuffer(buffer, dtype=np.uint8)
    quotes = np.flatnonzero(data == 34)
    newlines = np.flatnonzero(data == 10)
    even = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    return int(even[-1]) + 1 if len(even) else -1


def _estimate_one(source: Source) -> int:
    if hasattr(source, "read"):
        if hasattr(source, "getbuffer"):
            return int(source.getbuffer().nbytes)  # type: ignore[union-attr]
        try:
            position = source.tell()  # type: ignore[union-attr]
            end = source.seek(0, io.SEEK_END)  # type: ignore[union-attr]
            source.seek(position)  # type: ignore[union-attr]
            return int(end)
        except (OSError, ValueError, AttributeError):
            return 0
    path = Path(source)  # type: ignore[arg-type]
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            if handle.read(2) != b"\x1f\x8b" or size < 18:
                return size
            handle.seek(-4, io.SEEK_END)
            recorded = int.from_bytes(handle.read(4), "little")
    except OSError:
        return 0
    return max(recorded, 5 * size)


def _as_list(sources: Source | Sequence[Source]) -> list[Source]:
    if isinstance(sources, str | Path) or hasattr(sources, "read"):
        return [sources]  # type: ignore[list-item]
    items = list(sources)  # type: ignore[arg-type]
    if not items:
        raise SpikesInputError("no input file given: pass at least one CSV file")
    return items


def _load_bytes(source: Source) -> tuple[str, bytes | mmap.mmap]:
    """The file's content: memory-mapped for a plain file, else bytes."""
    if hasattr(source, "read"):
        name = str(getattr(source, "name", None) or "<upload>")
        try:
            if hasattr(source, "seek"):
                source.seek(0)  # type: ignore[union-attr]
            data = source.read()  # type: ignore[union-attr]
        except (OSError, ValueError) as exc:
            raise SpikesInputError(f"cannot read {name!r}: {exc}") from exc
        return name, data.encode("utf-8") if isinstance(data, str) else bytes(data)
    path = Path(source)  # type: ignore[arg-type]
    name = str(source)
    if not path.exists():
        raise SpikesInputError(f"cannot read {name!r}: no such file")
    if path.is_dir():
        raise SpikesInputError(f"cannot read {name!r}: it is a directory, expected a CSV file")
    try:
        with path.open("rb") as handle:
            if path.stat().st_size == 0:
                return name, b""
            return name, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:
        raise SpikesInputError(f"cannot read {name!r}: {getattr(exc, 'strerror', exc)}") from exc


def _decode(name: str, data: bytes | mmap.mmap) -> tuple[bytes | mmap.mmap, int]:
    """Decompress gzip and decode UTF-16; return UTF-8 content and the offset after a BOM."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise SpikesInputError(f"cannot read {name!r}: not a valid gzip file ({exc})") from exc
    encoding = _utf16_encoding(data[:4096])
    if encoding is not None:
        try:
            data = bytes(data).decode(encoding).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise SpikesInputError(f"cannot read {name!r}: invalid UTF-16 text") from exc
    if _cr_line_ends(bytes(data[:65536])):
        data = bytes(data).replace(b"\r", b"\n")
    return data, 3 if data[:3] == b"\xef\xbb\xbf" else 0


def _utf16_encoding(head: bytes) -> str | None:
    """``utf-16`` for a UTF-16 BOM, ``utf-16-le``/``-be`` for BOM-less UTF-16 text (a zero
    byte in every other position of the start), else None."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    pairs = len(head) // 2
    if pairs < 4:
        return None
    even, odd = head[0 : 2 * pairs : 2], head[1 : 2 * pairs : 2]
    if odd.count(0) >= 0.9 * pairs and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= 0.9 * pairs and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _to_utf8(data: bytes) -> bytes:
    """UTF-8 text, each byte that is not UTF-8 read as Windows-1252 (a stray ``é`` of
    a legacy tool spoils neither the rest of its line nor the file's UTF-8)."""
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        return data.decode("utf-8", errors=_CP1252_BYTES).encode("utf-8")


def _cp1252_bytes(error: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: the offending bytes as Windows-1252 characters."""
    if not isinstance(error, UnicodeDecodeError):  # pragma: no cover
        raise error
    bad = error.object[error.start : error.end]
    return bytes(bad).decode("cp1252", errors="replace"), error.end


_CP1252_BYTES = "spikes.cp1252-bytes"
codecs.register_error(_CP1252_BYTES, _cp1252_bytes)


def _cr_line_ends(head: bytes) -> bool:
    """Whether text whose start is `head` ends its lines with a bare CR (classic Mac
    OS, Excel's "CSV (Macintosh)"): then every CR is turned into a LF."""
    return b"\r" in head and b"\n" not in head


def _split_header(name: str, data: bytes | mmap.mmap, offset: int) -> _Text:
    """Find the header record (quotes respected), sniff the delimiter, parse the names.

    What comes before the header is skipped (and counted for line numbers): empty lines,
    comment lines starting with ``#`` and Excel's delimiter line (``sep=;``), whose
    delimiter is then used.
    """
    first = _NOT_WHITESPACE.search(data, offset)
    if first is None:
        raise SpikesInputError(f"{name!r} is empty: expected a CSV file with a header line")
    _check_is_text(name, bytes(data[first.start() : first.start() + 4096]))
    begin, declared = _header_start(data, offset)
    end = _header_end(data, begin)
    raw_header = data[begin:end]
    header_text = _to_utf8(raw_header).decode("utf-8").rstrip("\r\n")
    if not header_text.strip():
        raise SpikesInputError(
            f"{name!r} has no header line: only empty, comment (#) or sep= lines"
        )
    delimiter = declared or _sniff_delimiter(header_text)
    header = next(csv.reader(io.StringIO(header_text, newline=""), delimiter=delimiter), [])
    header = [h.strip() for h in header]
    if _NOT_NEWLINE.search(data, end) is None:
        raise SpikesInputError(f"{name!r} has a header ({', '.join(header)}) but no data rows")
    lines_before = data[offset:begin].count(b"\n") + raw_header.count(b"\n")
    return _Text(name, header, delimiter, data, end, lines_before)


def _check_is_text(name: str, head: bytes) -> None:
    """Say what a file is when it is not CSV text (a workbook, an archive, JSON, ...)."""
    for magic, what, advice in _NOT_CSV:
        if head.startswith(magic):
            raise SpikesInputError(f"{name!r} is {what}, not CSV text: {advice}")
    if _JSON_START.match(head):
        raise SpikesInputError(
            f"{name!r} looks like JSON, not CSV text: expected a header line such as "
            "timestamp,product,reports and one row per line"
        )


def _header_start(data: bytes | mmap.mmap, offset: int) -> tuple[int, str | None]:
    """Offset of the header line after the preamble (empty lines, ``#`` comment lines
    and an Excel ``sep=X`` line), and the delimiter the ``sep=`` line declares."""
    position, declared = offset, None
    while (line := _PREAMBLE_LINE.match(data, position)) is not None:
        text = line.group(0).lstrip(b" \t")
        if text[:4].lower() == b"sep=" and text[4:5] not in (b"\r", b"\n"):
            declared = text[4:5].decode("latin-1")
        position = line.end()
    return position, declared


def _header_end(data: bytes | mmap.mmap, begin: int) -> int:
    """Offset just after the first record's line break (quotes respected)."""
    start = begin
    while True:
        nl = data.find(b"\n", start)
        if nl < 0:
            return len(data)
        if data[begin:nl].count(b'"') % 2 == 0:
            return nl + 1
        start = nl + 1


def _sniff_delimiter(header: str) -> str:
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


# ---------------------------------------------------------------------- header layout


def _layout(text: _Text, options: _Options) -> _Layout:
    """Decide the shape of the file and the position of each column."""
    finder = _ColumnFinder(text.name, text.header, options.explicit)
    ts, time = finder.timestamp_columns()
    if ts is None:
        dated = pd.to_datetime(pd.Series(text.header), errors="coerce", format="ISO8601")
        transposed = (" (the header holds dates: is the table transposed, one row per "
                      "product? time must run down the rows)"
                      if dated.notna().sum() > len(text.header) // 2 else "")
        commented = _commented_header(text)
        hint = (f" (the comment line {commented!r} before it looks like the header: "
                "remove its '#')" if commented else transposed)
        raise SpikesInputError(
            f"no timestamp column in {text.name!r}: columns found: {finder.listing()}; "
            f"expected one named {'/'.join(ALIASES['timestamp'])}, or pass --timestamp-col"
            + hint
        )
    dates = _DateReading(dayfirst=text.delimiter == ";", order=options.date_order)
    return replace(_shape(text, finder, options, ts, time), time=time, dates=dates)


def _shape(text: _Text, finder: _ColumnFinder, options: _Options, ts: int,
           time: int | None) -> _Layout:
    """The layout of a file whose timestamp is in column `ts` (and `time`)."""
    stamps = {ts} if time is None else {ts, time}
    fmt = options.fmt
    if fmt == "wide":
        return _wide_layout(text, finder, ts, stamps)
    if fmt == "single":
        return _single_layout(text, finder, ts, options.product, stamps)
    if options.product is not None:
        count = finder.find("count", by_words=True) if fmt != "events" else None
        if count is None and fmt != "events":
            # A wide file's column named like the product: its counts (--product Outlook).
            count = finder.named(options.product)
        if fmt == "long" and count is None:
            raise finder.missing("count", "--format long")
        return _Layout(
            fmt="events" if count is None else "long",
            timestamp=ts,
            count=count,
            region=finder.find("region", explicit_only=True),
            category=finder.find("category", explicit_only=True),
            product_name=options.product,
        )
    prod = finder.find("product")
    if prod is not None or fmt in ("events", "long"):
        return _long_layout(finder, ts, prod, fmt)
    if finder.find("count") is not None:
        return _single_layout(text, finder, ts, None, stamps)
    return _wide_layout(text, finder, ts, stamps)


def _long_layout(finder: _ColumnFinder, ts: int, prod: int | None, fmt: str | None) -> _Layout:
    if prod is None:
        raise SpikesInputError(
            f"--format {fmt} needs a product column in {finder.name!r}: columns found: "
            f"{finder.listing()}; expected one named {'/'.join(ALIASES['product'])}, "
            "or pass --product-col NAME, or --product NAME for a one-product file"
        )
    count = None if fmt == "events" else finder.find("count", by_words=True)
    if fmt == "long" and count is None:
        raise finder.missing("count", "--format long")
    return _Layout(
        fmt="events" if count is None else "long",
        timestamp=ts,
        product=prod,
        count=count,
        region=finder.find("region"),
        category=finder.find("category"),
    )


def _single_layout(text: _Text, finder: _ColumnFinder, ts: int, product: str | None,
                   stamps: set[int]) -> _Layout:
    count = finder.find("count")
    if count is None:
        others = [i for i in range(len(text.header)) if i not in stamps]
        if len(others) != 1:
            raise finder.missing("count", "--format single")
        count = others[0]
    explicit_only = product is not None
    return _Layout(
        fmt="single",
        timestamp=ts,
        count=count,
        region=finder.find("region", explicit_only=explicit_only),
        category=finder.find("category", explicit_only=explicit_only),
        product_name=product or _stem(text.name),
    )


def _wide_layout(text: _Text, finder: _ColumnFinder, ts: int, stamps: set[int]) -> _Layout:
    wide = tuple(i for i in range(len(text.header)) if i not in stamps)
    seen: dict[str, int] = {}
    for i in wide:
        name = text.header[i]
        if name and name in seen:
            raise SpikesInputError(
                f"column {name!r} appears twice in the header of {text.name!r} (columns "
                f"{seen[name] + 1} and {i + 1}): a wide file has one column per product; "
                "rename or remove one of them"
            )
        seen[name] = i
    if not wide:
        raise SpikesInputError(
            f"{text.name!r} has only a timestamp column ({text.header[ts]}): pass "
            "--product NAME to count each row as one report of that product"
        )
    return _Layout(fmt="wide", timestamp=ts, wide=wide)


class _ColumnFinder:
    """Find the column of a role: explicit name first, then aliases (one match only)."""

    def __init__(self, name: str, header: list[str], explicit: dict[str, str | None]) -> None:
        self.name = name
        self.header = header
        self.explicit = explicit
        self.normalised = [h.strip().lower() for h in header]
        # "Time (UTC)" or "reports [count]": the name without its trailing unit.
        self.bare = [_UNIT_SUFFIX.sub("", h) for h in self.normalised]

    def listing(self) -> str:
        """The header's names for a message (the first :data:`_LISTED_COLUMNS` of them)."""
        names = ", ".join(repr(h) for h in self.header[:_LISTED_COLUMNS]) or "(none)"
        hidden = len(self.header) - _LISTED_COLUMNS
        return names + (f" and {hidden} more" if hidden > 0 else "")

    def find(self, role: str, *, explicit_only: bool = False, exclude: int | None = None,
             by_words: bool = False) -> int | None:
        wanted = self.explicit.get(role)
        if wanted is not None:
            return self._explicit(role, wanted)
        if explicit_only:
            return None
        # Whole names first, then names without a unit in brackets ("Time (UTC)").
        hits = [i for i, h in enumerate(self.normalised) if h in ALIASES[role] and i != exclude]
        if not hits:
            hits = [i for i, b in enumerate(self.bare) if b in ALIASES[role] and i != exclude]
        if not hits and by_words and role in WORD_ALIASES:
            # "report_count", "Number of reports": a name made of the role's words.
            hits = [i for i, h in enumerate(self.normalised)
                    if _is_made_of(h, WORD_ALIASES[role]) and i != exclude]
        if len(hits) > 1:
            names = " and ".join(repr(self.header[i]) for i in hits)
            raise SpikesInputError(
                f"ambiguous header in {self.name!r}: columns {names} could each be the "
                f"{role} column; pass {_OPTION[role]} NAME to choose"
            )
        return hits[0] if hits else None

    def named(self, name: str) -> int | None:
        """The one column called `name` (compared trimmed and in lower case), if any."""
        hits = [i for i, h in enumerate(self.normalised) if h == name.strip().lower()]
        return hits[0] if len(hits) == 1 else None

    def timestamp_columns(self) -> tuple[int | None, int | None]:
        """The timestamp column, and a separate time-of-day column: the one named by
        ``--time-col``, or without options a header with exactly one ``date`` and one
        ``time`` column (``Date,Time,Service,Reports``)."""
        time = self.find("time", explicit_only=True)
        if time is None and self.explicit.get("timestamp") is None:
            dates = [i for i, h in enumerate(self.normalised) if h == "date"]
            # "Time" or "Time (UTC)", not "Time (ms)": a duration.
            times = [i for i, (h, b) in enumerate(zip(self.normalised, self.header, strict=True))
                     if h == "time" or (self.bare[i] == "time" and _header_zone(b))]
            if len(dates) == 1 and len(times) == 1:
                return dates[0], times[0]
        return self.find("timestamp", exclude=time), time

    def _explicit(self, role: str, wanted: str) -> int:
        key = wanted.strip()
        for candidates in (self.header, self.normalised):
            target = key if candidates is self.header else key.lower()
            if target in candidates:
                return candidates.index(target)
        raise SpikesInputError(
            f"column {wanted!r} ({_OPTION[role]}) not found in {self.name!r}: "
            f"columns found: {self.listing()}"
        )

    def missing(self, role: str, why: str) -> SpikesInputError:
        return SpikesInputError(
            f"{why} needs a {role} column in {self.name!r}: columns found: "
            f"{self.listing()}; expected one named {'/'.join(ALIASES[role])}, "
            f"or pass {_OPTION[role]} NAME"
        )


def _is_made_of(name: str, words: tuple[frozenset[str], frozenset[str]]) -> bool:
    """Whether `name`'s words are all in ``words[0] | words[1]``, one of them in the
    first (see :data:`WORD_ALIASES`)."""
    found = set(re.findall(r"[a-z]+", name))
    key, extra = words
    return bool(found & key) and found <= key | extra


def _stem(name: str) -> str:
    base = Path(name).name
    for suffix in (".gz", ".csv", ".tsv", ".txt"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
    return base or name


# ------------------------------------------------------------------------ arrow parsing


def _parse_csv(text: _Text, layout: _Layout) -> tuple[pa.Table, int]:
    """Parse the body with pyarrow; retry with timestamps and counts as text on failure."""
    data, has_quotes = text.body, text.has_quotes()
    for attempt in range(3):
        as_text = attempt > 0
        try:
            return _arrow_read(data, text, layout, as_text=as_text, quoted=has_quotes)
        except pa.ArrowInvalid as exc:
            message = str(exc)
            if "UTF8" in message or "UTF-8" in message:
                data = memoryview(_to_utf8(bytes(data)))
                continue
            if "conversion error" in message.lower() and not as_text:
                continue
            raise SpikesInputError(
                f"cannot parse {text.name!r} as CSV: {message.splitlines()[0]}"
            ) from exc
    raise SpikesInputError(f"cannot parse {text.name!r} as CSV")  # pragma: no cover


def _arrow_read(
    data: memoryview, text: _Text, layout: _Layout, *, as_text: bool, quoted: bool
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


def _long_rows(
    text: _Text, table: pa.Table, layout: _Layout, tz: str | None
) -> tuple[pd.DataFrame, _Rejects, int]:
    """Validate events / long / single rows; return accepted rows and rejects."""
    n = table.num_rows
    rejects = _Rejects()
    bad = np.zeros(n, dtype=bool)
    if layout.product is not None:
        products = _categorical(_col(table, layout.product))
    else:
        products = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [layout.product_name])
    ts_col = _stamp_column(table, layout)
    # Each product's rows are its own sequence of wall times (for repeated autumn hours).
    stamps, ts_reason = _timestamps(ts_col, tz, layout.dates, groups=products.codes)
    _reject(rejects, bad, ts_reason, _stamp_name(text, layout), _texts(ts_col))
    if layout.product is not None:
        prod_reason = np.where(products.codes < 0, _MISSING, _OK)
        _reject(rejects, bad, prod_reason, text.header[layout.product], lambda idx: [""] * len(idx))
    if layout.count is not None:
        count_col = _col(table, layout.count)
        counts, count_reason = _numbers(count_col, decimal_comma=text.delimiter == ";")
        _reject(rejects, bad, count_reason, text.header[layout.count], _texts(count_col))
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


def _wide_rows(
    text: _Text, table: pa.Table, layout: _Layout, tz: str | None
) -> tuple[pd.DataFrame, _Rejects, list[str]]:
    """Validate a wide file cell by cell and melt it into long rows; also the columns
    left out because they hold no number."""
    n = table.num_rows
    rejects = _Rejects()
    bad_row = np.zeros(n, dtype=bool)
    ts_col = _stamp_column(table, layout)
    stamps, ts_reason = _timestamps(ts_col, tz, layout.dates)
    _reject(rejects, bad_row, ts_reason, _stamp_name(text, layout), _texts(ts_col))
    names = [text.header[i] or f"column {i + 1}" for i in layout.wide]
    parsed = [_numbers(_col(table, col), decimal_comma=text.delimiter == ";")
              for col in layout.wide]
    # A column without a single number (notes, labels) is no product: it is left out
    # (and listed as ignored), unless no column holds numbers at all.
    text_only = [bool(np.isnan(v).all() and (r == _NOT_NUMBER).any()) for v, r in parsed]
    if all(text_only):
        _check_wide_column(text, names[0], *parsed[0])
    skipped = [f"{Path(text.name).name!r}: {name} (no number)"
               for name, t in zip(names, text_only, strict=True) if t]
    categories = sorted({name for name, t in zip(names, text_only, strict=True) if not t})
    code_of = {name: code for code, name in enumerate(categories)}
    parts_rows, parts_codes, parts_values = [], [], []
    for col, name, (values, reason), only_text in zip(layout.wide, names, parsed, text_only,
                                                      strict=True):
        if only_text:
            continue
        column = _col(table, col)
        reason = np.where(bad_row | (reason == _MISSING), _OK, reason)
        _reject(rejects, np.zeros(n, dtype=bool), reason, name, _texts(column))
        rows = np.flatnonzero(~bad_row & ~np.isnan(values) & (reason == _OK))
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


def _check_wide_column(text: _Text, name: str, values: np.ndarray, reason: np.ndarray) -> None:
    """A wide column without a single number is not a product column: say so."""
    if np.isnan(values).all() and (reason == _NOT_NUMBER).any():
        raise SpikesInputError(
            f"column {name!r} of {text.name!r} is not numeric: read as a wide file (one "
            f"numeric column per product) because no product or count column was found "
            f"among {', '.join(repr(h) for h in text.header)}; pass --product-col, "
            "--count-col, --product NAME or --format to say how to read it"
        )


def _col(table: pa.Table, position: int) -> pa.ChunkedArray:
    """The column at ``position`` in the file's header."""
    return table.column(f"c{position}")


def _stamp_column(table: pa.Table, layout: _Layout) -> pa.ChunkedArray:
    """The timestamps as read: one column, or a date and a time joined by a space."""
    stamps = _col(table, layout.timestamp)
    if layout.time is None:
        return stamps
    return pc.binary_join_element_wise(stamps, _col(table, layout.time), " ")


def _stamp_name(text: _Text, layout: _Layout) -> str:
    """The name of the timestamp column(s), for rejected rows."""
    name = text.header[layout.timestamp]
    return name if layout.time is None else f"{name} {text.header[layout.time]}"


def _reject(
    rejects: _Rejects,
    bad: np.ndarray,
    reason: np.ndarray,
    column: str,
    texts: Callable[[np.ndarray], list[str]],
) -> None:
    """Record rows newly found bad (first problem per row wins) and mark them in ``bad``."""
    new = np.flatnonzero((reason != _OK) & ~bad)
    if len(new):
        rejects.add(new, column, texts(new), [_REASONS[int(r)] for r in reason[new]])
        bad[new] = True


def _texts(column: pa.ChunkedArray) -> Callable[[np.ndarray], list[str]]:
    """Original text of some rows of a column (for the rejected table)."""

    def take(idx: np.ndarray) -> list[str]:
        values = column.take(pa.array(idx, type=pa.int64())).to_pylist()
        return ["" if v is None else _short(v) for v in values]

    return take


def _short(value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


# ------------------------------------------------------------------------- value parsing


def _numbers(column: pa.ChunkedArray, *, decimal_comma: bool) -> tuple[np.ndarray, np.ndarray]:
    """Float values (NaN where unusable) and reason codes of a count column."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        text = _without_grouping(column.to_pandas().str.strip(), decimal_comma=decimal_comma)
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
        [_MISSING, _NOT_NUMBER, _NOT_FINITE, _NEGATIVE],
        _TOO_LARGE,
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


def _timestamps(
    column: pa.ChunkedArray, tz: str | None, dates: _DateReading,
    groups: np.ndarray | None = None,
) -> tuple[pd.Series, np.ndarray]:
    """UTC timestamps (``datetime64[us, UTC]``, NaT where bad) and reason codes.

    `dates` is how the file reads its text dates (updated with what this column
    needs); `groups` (e.g. product codes) split the rows into sequences of their own for
    :func:`_localize`."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        # Nanoseconds (.NET and PowerShell write 7 digits) are cut to microseconds.
        values = column.cast(pa.timestamp("us"), safe=False).to_numpy()
        if kind.tz is None:
            values = _localize(values, tz, groups)
    elif pa.types.is_date(kind):
        values = _localize(column.cast(pa.timestamp("us")).to_numpy(), tz, groups)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values = _epoch(column.to_numpy().astype(np.float64, copy=False))
    elif pa.types.is_null(kind):
        values = np.full(len(column), np.datetime64("NaT", "us"))
    else:
        text = column.to_pandas()
        if _mostly_numbers(text):
            # Numbers (epoch times, serial days) with a stray word ("N/A"): the numbers
            # are read as such and only the words rejected.
            values = _epoch(pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64))
        else:
            values = _parse_timestamp_text(text, tz, dates, groups=groups)
    bad = np.isnat(values)
    reason = np.zeros(len(values), dtype=np.int8)
    if bad.any():
        idx = np.flatnonzero(bad)
        missing = column.take(pa.array(idx)).to_pandas().astype(object)
        blank = missing.isna() | (missing.astype(str).str.strip() == "")
        reason[idx] = np.where(blank.to_numpy(dtype=bool), _MISSING, _NOT_DATE)
    utc = pd.Series(values.astype("datetime64[us]", copy=False), copy=False).dt.tz_localize("UTC")
    return utc, reason


def _epoch(numbers: np.ndarray) -> np.ndarray:
    """Numeric timestamps: Unix epoch seconds, milli-, micro- or nanoseconds by their
    size, spreadsheet serial days (``45355.5`` = 2024-03-05 12:00, for values that
    would otherwise fall on 1 January 1970), or dates written ``20240305``."""
    finite = numbers[np.isfinite(numbers)]
    size = float(np.median(np.abs(finite))) if len(finite) else 0.0
    if _COMPACT_DATES[0] <= size <= _COMPACT_DATES[1] and _compact_dates(finite):
        text = pd.Series(numbers).map(lambda v: f"{v:.0f}" if np.isfinite(v) else None)
        return _to_datetime(text, "%Y%m%d", utc=False)
    offset, unit = 0.0, 1.0
    if EXCEL_SERIALS[0] <= size <= EXCEL_SERIALS[1]:
        # Serials are written with a few decimals: rounded to the second.
        scale, offset, unit = 86_400e6, _EXCEL_EPOCH_DAY, 1e6
    else:
        scale = next(s for limit, s in _EPOCH_SCALES if size > limit)
    with np.errstate(invalid="ignore", over="ignore"):
        micros = (numbers - offset) * scale
        ok = np.isfinite(micros) & (np.abs(micros) < 1e16)
        if unit > 1 and ok.any():
            # Serials with four decimals (8.6 s): on whole minutes when all lie near one.
            minutes = np.round(micros[ok] / 60e6) * 60e6
            if np.all(np.abs(micros[ok] - minutes) <= _SERIAL_SNAP_US):
                unit = 60e6
        micros = np.where(ok, np.round(micros / unit) * unit, 0).astype(np.int64)
    values = micros.astype("datetime64[us]")
    values[~ok] = np.datetime64("NaT")
    return values


def _mostly_numbers(text: pd.Series) -> bool:
    """Whether most of a sample of the given values are numbers."""
    sample = text.iloc[:: max(1, len(text) // _FORMAT_SAMPLE)].dropna()
    numbers = pd.to_numeric(sample, errors="coerce")
    return bool(len(sample)) and int(numbers.notna().sum()) > len(sample) // 2


def _compact_dates(values: np.ndarray) -> bool:
    """Whether whole numbers are dates written ``yyyymmdd`` (``20240301``)."""
    whole = np.all(values == np.round(values))
    month, day = (values // 100) % 100, values % 100
    return bool(whole and np.all((month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)))


def _parse_timestamp_text(text: pd.Series, tz: str | None, dates: _DateReading | None = None,
                          groups: np.ndarray | None = None) -> np.ndarray:
    """Parse timestamps given as text; naive ones are in ``tz``. Returns UTC ``datetime64[us]``."""
    dates = _DateReading() if dates is None else dates
    s = _zone_suffixes(text.str.strip(), tz)
    aware = s.str.contains(_AWARE_RE, regex=True, na=False).to_numpy()
    out = np.full(len(s), np.datetime64("NaT", "us"))
    if aware.any():
        out[aware] = _parse_dates(s[aware], utc=True, dates=dates)
    if (~aware).any():
        out[~aware] = _localize(
            _parse_dates(s[~aware], utc=False, dates=dates), tz,
            None if groups is None else groups[~aware])
    # pandas reads "now" and "today" as the time of parsing: not a date in a file.
    relative = s.str.lower().isin(_RELATIVE_WORDS).to_numpy(dtype=bool)
    out[relative] = np.datetime64("NaT")
    return out


def _zone_suffixes(s: pd.Series, tz: str | None = None) -> pd.Series:
    """Zones written after the time as UTC offsets: ``UTC`` and ``GMT`` as ``Z``,
    ``UTC+1`` and ``GMT-05:30`` as ``+01:00`` and ``-05:30``, and the abbreviations of
    :data:`ZONE_ABBREVIATIONS` as their offsets (``EST`` as ``-05:00``); with `tz`, other
    abbreviations (the ambiguous ``CST``) are dropped: the time is local to `tz`. Also a
    decimal comma in the seconds (``00:00:00,123``, ISO 8601 allows it) becomes a point.
    Looked for only when the values of a sample end in letters or such an offset (or
    hold such a comma)."""
    sample = s.iloc[:: max(1, len(s) // _FORMAT_SAMPLE)]
    if sample.str.contains(r"\d:\d{2}:\d{2},\d", regex=True, na=False).any():
        s = s.str.replace(_SECONDS_COMMA, r"\1.\2", regex=True)
    # Two to five letters at the end (a bare "Z" is ISO's UTC, read as it is).
    if not sample.str.contains(r"(?<![A-Za-z])[A-Za-z]{2,5}$|(?:UTC|GMT)[+-]", regex=True,
                               na=False, case=False).any():
        return s

    def offset(match: re.Match[str]) -> str:
        return f"{match['sign']}{int(match['hours']):02d}:{match['minutes'] or '00'}"

    s = s.str.replace(r"\s*(?:UTC|GMT)(?P<sign>[+-])(?P<hours>\d{1,2}):?(?P<minutes>\d{2})?$",
                      offset, regex=True, case=False)
    s = s.str.replace(r"\s*(?:UTC|GMT)$", "Z", regex=True, case=False)
    s = s.str.replace(_ZONE_ABBREVIATION, lambda m: ZONE_ABBREVIATIONS[m[1].upper()],
                      regex=True)
    if tz is not None:
        s = s.str.replace(r"\s+(?!AM$|PM$)[A-Z]{3,5}$", "", regex=True)
    return s


def _parse_dates(s: pd.Series, *, utc: bool, dates: _DateReading) -> np.ndarray:
    """ISO-8601 first, then the file's formats so far, then the best-fitting common
    format for what is left over (added to the file's formats)."""
    out = _to_datetime(s, "ISO8601", utc=utc).copy()  # may be a read-only view
    given = s.notna().to_numpy() & (s != "").to_numpy(dtype=bool)
    for fmt in dates.formats:
        todo = np.isnat(out) & given
        if not todo.any():
            return out
        out[todo] = _to_datetime(s[todo], fmt, utc=utc)
    tried = set(dates.formats)
    for _ in range(3):
        todo = np.isnat(out) & given
        if not todo.any():
            break
        fmt, tie = _best_format(s[todo], tried, utc=utc, dates=dates)
        if fmt is None:
            break
        tried.add(fmt)
        if not tie:  # a block whose dates could not tell is no rule for the next ones
            dates.formats.append(fmt)
        out[todo] = _to_datetime(s[todo], fmt, utc=utc)
    return out


def _day_month_order(fmt: str) -> str | None:
    """``"dmy"`` or ``"mdy"`` for a format with a numeric day and month, else None."""
    if "%d" not in fmt or "%m" not in fmt:
        return None
    return "dmy" if fmt.index("%d") < fmt.index("%m") else "mdy"


def _best_format(s: pd.Series, tried: set[str], *, utc: bool,
                 dates: _DateReading) -> tuple[str | None, bool]:
    """The candidate format that parses most of a sample of ``s``.

    Where day-first and month-first both parse everything (no day above 12 in the
    sample), the one whose dates lie closer together wins: a file of 1-7 March read
    month-first would run from January to July. Where even that does not decide (the
    dates of one day), the file's default order is taken and a note says so, unless
    the caller chose the order. Returns the format and whether it was such a tie.
    """
    sample = s.iloc[:: max(1, len(s) // _FORMAT_SAMPLE)]
    first = str(sample.iloc[0])
    dayfirst = dates.dayfirst if dates.order is None else dates.order == "dmy"
    with warnings.catch_warnings():  # guessing with the "wrong" dayfirst warns
        warnings.simplefilter("ignore", UserWarning)
        guesses = [guess_datetime_format(first, dayfirst=d) for d in (dayfirst, not dayfirst)]
    extra = _EXTRA_DATE_FORMATS if not dayfirst else tuple(reversed(_EXTRA_DATE_FORMATS))
    candidates = [
        f
        for f in dict.fromkeys([*guesses, *extra])
        if f and f not in tried and not _YEAR_DAY_MONTH.match(f) and not _MONTH_DOT_DAY.search(f)
        and (dates.order is None or _day_month_order(f) in (None, dates.order))
    ]
    scored = []
    for fmt in candidates:
        parsed = _to_datetime(sample, fmt, utc=utc)
        ok = parsed[~np.isnat(parsed)]
        if len(ok):
            span = float((ok.max() - ok.min()) / np.timedelta64(1, "s"))
            scored.append(((len(ok), -span), fmt))
    if not scored:
        return None, False
    best_key = max(key for key, _ in scored)
    best = next(fmt for key, fmt in scored if key == best_key)  # the first of the best
    orders = {_day_month_order(fmt) for key, fmt in scored if key == best_key}
    tie = dates.order is None and {"dmy", "mdy"} <= orders
    if tie:
        order = _day_month_order(best)
        note = (f"dates such as {first!r} read {'day' if order == 'dmy' else 'month'} first "
                "(nothing in them tells day and month apart); pass --date-order "
                f"{'mdy' if order == 'dmy' else 'dmy'} if that is wrong")
        if note not in dates.notes:
            dates.notes.append(note)
    return best, tie


def _to_datetime(s: pd.Series, fmt: str, *, utc: bool) -> np.ndarray:
    """``pd.to_datetime`` with coercion, as naive ``datetime64[us]`` (UTC if ``utc``)."""
    try:
        parsed = pd.to_datetime(s, format=fmt, utc=utc, errors="coerce")
    except (ValueError, TypeError, OverflowError):
        return np.full(len(s), np.datetime64("NaT", "us"))
    if utc:
        parsed = parsed.dt.tz_localize(None)
    return parsed.to_numpy(dtype="datetime64[us]")


def _localize(values: np.ndarray, tz: str | None,
              groups: np.ndarray | None = None) -> np.ndarray:
    """Naive wall times in ``tz`` -> naive UTC ``datetime64[us]``.

    A wall time that occurs twice (the autumn hour) is read from the order of the rows
    of its group (`groups`, e.g. the product; all rows when None), see
    :func:`_summer_time_flags`; nonexistent ones (spring) are shifted forward.
    """
    values = values.astype("datetime64[us]")
    if tz is None:
        return values
    ok = ~np.isnat(values)
    index = pd.DatetimeIndex(values[ok])
    strict = index.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    repeated = np.asarray(strict.isna())
    if repeated.any():
        summer = _summer_time_flags(values[ok].view(np.int64), repeated,
                                    None if groups is None else groups[ok])
        strict = index.tz_localize(tz, ambiguous=summer, nonexistent="shift_forward")
    out = values.copy()
    out[ok] = strict.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[us]")
    return out


def _summer_time_flags(wall: np.ndarray, repeated: np.ndarray,
                       groups: np.ndarray | None) -> np.ndarray:
    """Which rows of a repeated autumn wall time are the first (summer-time) pass.

    Within a group (a product's rows, in file order) whose other wall times run in one
    direction, the hour is first walked in summer time and, after the clock has gone
    back (a row earlier than one before it; or as early, where the group's other wall
    times never repeat, as in counts per bucket), in winter time; in a file sorted
    newest first it is the other way round. A group in no order takes summer time.
    """
    summer = np.ones(len(wall), dtype=bool)
    keys = np.zeros(len(wall), dtype=np.int64) if groups is None else np.asarray(groups)
    order = np.argsort(keys, kind="stable")  # each group's rows together, in file order
    bounds = np.flatnonzero(np.diff(keys[order])) + 1
    for rows in np.split(order, bounds):
        if not repeated[rows].any():
            continue
        steps = np.diff(wall[rows][~repeated[rows]])
        ascending = not (steps < 0).any()
        if not ascending and (steps > 0).any():
            continue  # neither order: summer time
        hour = rows[repeated[rows]]
        times = wall[hour]
        distinct = (steps != 0).all()  # then a wall time met again is the second pass
        if ascending:
            earlier = np.maximum.accumulate(times)[:-1]
            back = (times[1:] <= earlier) if distinct else (times[1:] < earlier)
        else:  # newest first: winter time first, summer time once the clock jumps up
            later = np.minimum.accumulate(times)[:-1]
            back = (times[1:] >= later) if distinct else (times[1:] > later)
        back = np.concatenate([[False], back])
        after = np.logical_or.accumulate(back)
        summer[hour] = ~after if ascending else after
    return summer


def _check_tz(tz: str | None) -> None:
    if tz is None:
        return
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise SpikesInputError(
            f"unknown time zone {tz!r}: expected an IANA name such as America/New_York or UTC"
        ) from exc


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


# -------------------------------------------------------------------- rejected + lines


def _rejected_table(
    text: _Text, rejects: _Rejects, n_rows: int, n_invalid: int, ncols: int
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
    return _rejected_dtypes(out.reset_index(drop=True))


def _record_lines(text: _Text, ncols: int) -> tuple[np.ndarray, list[tuple]]:
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


def _rejected_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[REJECTED_COLUMNS].astype(object)
    out["line"] = out["line"].astype(np.int64)
    return out


def _describe_entry(row: Any) -> str:
    what = f"{row.column} {row.value!r}" if row.column else f"row {row.value!r}"
    return f"{Path(str(row.file)).name} line {row.line} ({what} {row.reason})"


# ----------------------------------------------------------------------- concatenation


def _check_same_kind(results: list[_FileResult]) -> None:
    first = results[0]
    for other in results[1:]:
        if other.kind != first.kind:
            raise SpikesInputError(
                f"cannot mix report events and counts: {first.name!r} holds {first.kind} "
                f"but {other.name!r} holds {other.kind}; read them separately"
            )


def _concat_tables(tables: list[pd.DataFrame]) -> pd.DataFrame:
    if len(tables) == 1:
        return tables[0].reset_index(drop=True)[_TABLE_COLUMNS]
    columns: dict[str, Any] = {
        "timestamp": pd.concat([t["timestamp"] for t in tables], ignore_index=True),
        "reports": np.concatenate([t["reports"].to_numpy() for t in tables]),
    }
    for name in ("product", "region", "category"):
        columns[name] = union_categoricals([t[name].array for t in tables])
    return pd.DataFrame(columns)[_TABLE_COLUMNS]


def _concat_rejected(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_rejected()
    return _rejected_dtypes(pd.concat(frames, ignore_index=True))
