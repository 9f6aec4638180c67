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
  read from the order of each product's rows (oldest or newest first; counts also from
  each wall time's first row), else the earliest (summer-time) instant is taken and
  ``RawReports.notes`` says so; a wall time that does not exist (spring) is rejected
  (no such time). The output dtype is
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

This module holds the entry points and reads each file; the rules live in
:mod:`spikes.io.sniffing` (bytes, encodings, header line), :mod:`spikes.io.shapes`
(columns and shapes), :mod:`spikes.io.timestamps`, :mod:`spikes.io.numbers`,
:mod:`spikes.io.rows` (parsing and checking the rows) and :mod:`spikes.io.rejects`
(reasons and lines of rejected rows).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals
from tqdm.auto import tqdm

from spikes.errors import SpikesInputError
from spikes.io.copies import check_not_a_copy, find_copies
from spikes.io.rejects import MAX_COUNT as MAX_COUNT
from spikes.io.rejects import rejected_dtypes, rejected_table
from spikes.io.rows import long_rows, parse_csv, wide_rows
from spikes.io.shapes import ALIASES as ALIASES
from spikes.io.shapes import FORMATS, Layout, Options, file_layout, ignored_columns
from spikes.io.shapes import WORD_ALIASES as WORD_ALIASES
from spikes.io.shapes import Format as Format
from spikes.io.sniffing import FRAME_NAME as FRAME_NAME
from spikes.io.sniffing import (
    NOT_NEWLINE,
    NOT_WHITESPACE,
    Source,
    Text,
    check_quotes_closed,
    decode,
    estimate_one,
    header_end,
    header_start,
    load_bytes,
    open_stream,
    record_blocks,
    split_header,
    utf8_chunks,
)
from spikes.io.timestamps import DATE_ORDERS as DATE_ORDERS
from spikes.io.timestamps import EXCEL_SERIALS as EXCEL_SERIALS
from spikes.io.timestamps import ZONE_ABBREVIATIONS as ZONE_ABBREVIATIONS
from spikes.io.timestamps import DateReading, check_date_order
from spikes.io.zones import header_zone, header_zone_note, zone_name
from spikes.model import RawReports, empty_rejected

# The names imported `as` themselves above (MAX_COUNT, ALIASES, DATE_ORDERS ...) are
# re-exported: they were defined here before the reader was split by concern.
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

_TABLE_COLUMNS = ["timestamp", "product", "reports", "region", "category"]
STREAM_BLOCK_BYTES = 16 << 20
"""Size of a block of :func:`read_report_blocks` (decompressed bytes)."""
#: Blocks of one file held back at most while their dates do not tell day from month
#: (the dates of one day): then they, and the later ones, are read in the default order,
#: with a note.
DEFER_BLOCKS = 4


# --------------------------------------------------------------------------- public API


def read_reports(
    sources: Source | pd.DataFrame | Sequence[Source | pd.DataFrame],
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
    sources : path, file-like, DataFrame, or sequence of them
        Files to read (``str`` or ``Path``), or binary file-like objects with a ``.name``
        attribute (such as a Streamlit upload), or tables in memory in any shape a file
        may have (read as the CSV file they make: :func:`frame_as_file`). Several files
        are concatenated; they must all hold events or all hold counts.
    fmt : {"events", "long", "wide", "single"}, optional
        Force the shape instead of detecting it from the header.
    timestamp_col, product_col, count_col, region_col, category_col : str, optional
        Column names that override detection; each must exist in every file.
    product : str, optional
        Product name of files without a product column; the region and category
        columns are found as without it. Without a count column every row is one report
        (events), unless a column bears the product's name (one product of a wide file:
        its counts).
    tz : str, optional
        IANA time zone of naive timestamps (default UTC). See the module notes on
        daylight saving time.
    progress : bool
        Show a progress bar over files (on a terminal: not on a stream piped to a log).
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
    copies = find_copies(items)
    results = []
    read: dict[str, set[str]] = {}
    # A bar closed (and cleared) when a file stops the reading: the error is one line.
    # On a terminal only (disable=None): piped to a log, a bar is carriage returns.
    with tqdm(total=len(items), disable=not progress or None, desc="reading", unit="file",
              leave=False) as bar:
        for item in items:
            result = _read_one(item, options)
            if isinstance(item, str | Path):
                products = set(map(str, result.table["product"].unique()))
                check_not_a_copy(str(item), products, copies, read)
                read[str(item)] = products
            results.append(result)
            bar.update(1)
    _check_same_kind(results)
    table = _concat_tables([r.table for r in results])
    return RawReports(
        table=table,
        kind=results[0].kind,
        rejected=_concat_rejected([r.rejected for r in results]),
        rows_read=sum(r.rows_read for r in results),
        sources=tuple(r.name for r in results),
        ignored=tuple(c for r in results for c in r.ignored),
        notes=(*dict.fromkeys(n for r in results for n in r.notes),
               *case_variants(table["product"]), *_overlapping_events(results)),
    )


def _overlapping_events(results: list[_FileResult]) -> tuple[str, ...]:
    """:func:`overlap_note` of the files read (event files only)."""
    if len(results) < 2 or results[0].kind != "events":
        return ()
    spans: EventSpans = {}
    for i, r in enumerate(results):  # (by position: two tables can share a name)
        add_event_spans(spans, r.table, r.name, key=i)
    return overlap_note(spans)


#: The first and last report time of each product in each source, with the source's
#: name: ``{product: {key: [first, last, name]}}`` (:func:`add_event_spans`,
#: :func:`overlap_note`).
EventSpans = dict[str, dict[object, list]]


def add_event_spans(spans: EventSpans, table: pd.DataFrame, name: str,
                    key: object = None) -> None:
    """Widen `spans` by the report times of `table` (rows of the source `name`, or a
    block of them; sources are told apart by `key`, their name by default)."""
    if not len(table):
        return
    grouped = table.groupby("product", observed=True)["timestamp"].agg(["min", "max"])
    for product, (low, high) in grouped.iterrows():
        span = spans.setdefault(str(product), {}).setdefault(
            name if key is None else key, [low, high, name])
        span[0], span[1] = min(span[0], low), max(span[1], high)


def overlap_note(spans: EventSpans) -> tuple[str, ...]:
    """Notes naming event files whose reports of some products span overlapping times,
    one per pair of files (at most :data:`OVERLAP_PAIRS`), with every such product:
    overlapping exports of one feed count the overlap's reports twice (counts say so by
    their repeated rows; events cannot tell two reports from one counted twice)."""
    pairs: dict[tuple[str, str], list[tuple[str, pd.Timestamp, pd.Timestamp]]] = {}
    for product, files in spans.items():
        ranges = sorted((low, high, name) for low, high, name in files.values())
        for (_, high_a, a), (low_b, high_b, b) in zip(ranges, ranges[1:], strict=False):
            if low_b < high_a:  # the later file begins before the earlier one ends
                pairs.setdefault((a, b), []).append((product, low_b, min(high_a, high_b)))
    notes = [_overlap_text(a, b, found, len(spans))
             for (a, b), found in list(pairs.items())[:OVERLAP_PAIRS]]
    if len(pairs) > OVERLAP_PAIRS:
        notes.append(f"and {len(pairs) - OVERLAP_PAIRS} more pairs of event files hold "
                     "reports of one product at overlapping times")
    return tuple(notes)


#: Pairs of overlapping event files :func:`overlap_note` names; the rest are counted.
OVERLAP_PAIRS = 5
#: Products one note of :func:`overlap_note` names; the rest are counted.
OVERLAP_PRODUCTS = 8


def _overlap_text(a: str, b: str, found: list[tuple[str, pd.Timestamp, pd.Timestamp]],
                  products: int) -> str:
    """The note of files `a` and `b`, whose reports of the products `found` overlap
    (with the overlap's first and last time), of `products` products in all."""
    names = [repr(product) for product, _, _ in found]
    shown = names[:OVERLAP_PRODUCTS]
    if len(names) > len(shown):
        listed = f"{', '.join(shown)} and {len(names) - len(shown)} more"
    else:
        listed = " and ".join([", ".join(shown[:-1]), shown[-1]] if len(shown) > 1 else shown)
    if len(found) > 1:
        listed = (f"all {products} products ({listed})" if len(found) == products
                  else f"{len(found)} products ({listed})")
    low = min(start for _, start, _ in found)
    high = max(stop for _, _, stop in found)
    return (f"{a!r} and {b!r} both hold reports of {listed} from {low:%Y-%m-%d %H:%M} to "
            f"{high:%Y-%m-%d %H:%M} UTC: if they are overlapping exports of one feed, those "
            "reports count twice")


def case_variants(products: pd.Series) -> tuple[str, ...]:
    """A note naming the products whose names differ only in case ("Outlook" and
    "outlook"): read as products of their own, each with part of the reports, where
    they may be one (none where there are none).

    Examples
    --------
    >>> note, = case_variants(pd.Series(["Outlook", "outlook", "Teams"], dtype="category"))
    >>> note.split(": ")[1]
    "'Outlook' and 'outlook'; if they are one, write its name one way"
    """
    names = pd.Index(products.dropna().unique())  # those with rows (not a category alone)
    groups: dict[str, list[str]] = {}
    for name in map(str, names):
        groups.setdefault(name.casefold(), []).append(name)
    alike = [" and ".join(repr(n) for n in sorted(g)) for g in groups.values() if len(g) > 1]
    if not alike:
        return ()
    shown = "; ".join(alike[:5]) + (f"; and {len(alike) - 5} more" if len(alike) > 5 else "")
    return ("products whose names differ only in case are read as different products: "
            f"{shown}; if they are one, write its name one way",)


def read_report_blocks(
    sources: Source | pd.DataFrame | Sequence[Source | pd.DataFrame],
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
    :func:`read_reports` is decided from the blocks read so far here: the date format of
    text timestamps (blocks whose dates cannot tell day from month, the dates of one
    day, are held back, up to :data:`DEFER_BLOCKS`, and read with the next), a count
    column's decimal comma (from the block that shows it on), seconds vs milliseconds of
    epoch times, and the order-based resolution of repeated autumn wall times (``tz``)
    at the edge of a block.

    Parameters
    ----------
    sources, fmt, timestamp_col, product_col, count_col, region_col, category_col, \
product, tz, time_col, date_order
        As in :func:`read_reports`.
    progress : bool
        Show a progress bar over the bytes of each file, on a terminal (not on a stream
        piped to a log). A file above :data:`STREAM_BLOCK_BYTES` shows it there even
        without ``progress``.
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
    items = _as_list(sources)
    copies = find_copies(items)
    read: dict[str, set[str]] = {}
    for item in items:
        for block in _read_blocks(item, options, size, progress):
            if isinstance(item, str | Path):
                products = set(map(str, block.table["product"].unique()))
                check_not_a_copy(str(item), products, copies, read)
                read.setdefault(str(item), set()).update(products)
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
        total += estimate_one(item)
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


# ----------------------------------------------------------------------- reading a file


@dataclass(frozen=True)
class _FileResult:
    name: str
    kind: Literal["events", "counts"]
    table: pd.DataFrame
    rejected: pd.DataFrame
    rows_read: int
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


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
) -> Options:
    if fmt is not None and fmt not in FORMATS:
        raise SpikesInputError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if product is not None and product_col is not None:
        raise SpikesInputError("pass either --product-col or --product, not both")
    if product is not None and not product.strip():
        raise SpikesInputError("--product must not be empty")
    return Options(
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
        tz=zone_name(tz),  # "europe/berlin", "UTC+1": as spelt for zoneinfo
        date_order=check_date_order(date_order),
    )


def _read_one(source: Source, options: Options) -> _FileResult:
    name, raw = load_bytes(source)
    text = split_header(name, *decode(name, raw))
    result = _read_text(text, file_layout(text, options), options, last=True)
    _check_usable(name, len(result.table), result.rows_read, result.rejected)
    return result


def _read_text(text: Text, layout: Layout, options: Options, *, last: bool) -> _FileResult:
    """Read the data rows of ``text`` (a whole file, or one block of it)."""
    if last:
        check_quotes_closed(text)
    table, n_invalid = parse_csv(text, layout)
    skipped: list[str] = []
    # Naive times are in --tz, else in a zone the timestamp column names: "Time (CET)".
    tz, named = options.tz, None
    for column in (layout.timestamp, layout.time):  # a separate time column's too
        if tz is None and column is not None:
            named = text.header[column]
            tz = header_zone(named, where=repr(text.name))
    before, layout.dates.wall = layout.dates.wall, False  # this block's wall-clock times
    if layout.fmt == "wide":
        frame, rejects, skipped = wide_rows(text, table, layout, tz)
    else:
        frame, rejects, _ = long_rows(text, table, layout, tz)
    rejected = rejected_table(text, rejects, table.num_rows, n_invalid, len(text.header))
    wall, layout.dates.wall = layout.dates.wall, before or layout.dates.wall
    _zone_notes(layout.dates, options.tz, named, frame["timestamp"], wall=wall, last=last)
    notes = tuple(f"{Path(text.name).name!r}: {n}" for n in layout.dates.notes)
    return _FileResult(text.name, layout.kind, frame, rejected, table.num_rows + n_invalid,
                       ignored_columns(text, layout) + tuple(skipped), notes)


def _zone_notes(dates: DateReading, tz: str | None, named: str | None,
                stamps: pd.Series, *, wall: bool, last: bool) -> None:
    """Add to `dates.notes` what the zone of a file's (or block's) times leaves open.

    With ``tz``: that it is not used, where no time of the whole file (``dates.wall``)
    was a wall-clock time (said with its `last` block). Without: what the name of the
    timestamp column `named` leaves open (:func:`~spikes.io.timestamps.header_zone_note`)
    when the block's times (`stamps`) were wall-clock times (`wall`).
    """
    note = None
    if tz is not None:
        if last and not dates.wall:
            note = ("--tz is not used for this file: its times carry their UTC offset (or "
                    "are Unix epoch times or dates), which --tz does not change")
    elif named is not None and wall:
        note = header_zone_note(named, stamps)
    if note is not None and note not in dates.notes:
        dates.notes.append(note)


def _check_usable(name: str, usable: int, rows_read: int, rejected: pd.DataFrame) -> None:
    if usable == 0:
        first = describe_rejected(rejected, limit=1).split(": ", 1)[-1]
        raise SpikesInputError(
            f"no usable row in {name!r}: all {rows_read} data rows were rejected (first: {first})"
        )


def _as_list(sources: Source | Sequence[Source] | pd.DataFrame) -> list[Source]:
    if isinstance(sources, pd.Series):
        if sources.name is None or not str(sources.name).strip():
            raise SpikesInputError(
                "a Series of counts needs a name, the product's (series.rename('Outlook')), "
                "or give a DataFrame")
        sources = sources.to_frame()
    if isinstance(sources, pd.DataFrame):
        return [frame_as_file(sources)]
    if isinstance(sources, str | Path) or hasattr(sources, "read"):
        return [sources]  # type: ignore[list-item]
    if not isinstance(sources, Iterable):
        raise SpikesInputError(f"cannot read a {type(sources).__name__}: give the path of a "
                               f"CSV file, a file object, a DataFrame or a list of them")
    items = [frame_as_file(item) if isinstance(item, pd.DataFrame) else item
             for item in sources]  # type: ignore[union-attr]
    if not items:
        raise SpikesInputError("no input file given: pass at least one CSV file")
    seen: dict[object, str] = {}
    for item in items:
        if isinstance(item, str | Path):
            if not Path(item).is_file():
                continue
            info = Path(item).stat()  # one file by any path (a link, a relative one)
            key: object = (info.st_dev, info.st_ino)
        else:
            key = id(item)  # one file object given twice
        if key in seen:
            raise SpikesInputError(
                f"{_label(item)!r} is given twice (as {seen[key]!r} too): its reports "
                "would be counted twice; give each file once")
        seen[key] = _label(item)
    return items


def _label(item: object) -> str:
    """A source's name for a message: its path, or a file object's name."""
    return str(item) if isinstance(item, str | Path) else str(getattr(item, "name", item))


def frame_as_file(frame: pd.DataFrame) -> io.BytesIO:
    """A table in memory (reports in any shape a file may have) as a CSV file to read: a
    time index is a column too (named ``timestamp`` when it has no name), any other index
    is left out (row labels, as of a filtered frame, are no reports).

    Examples
    --------
    >>> frame_as_file(pd.DataFrame({"timestamp": ["2026-01-01"], "product": ["a"]})).read()
    b'timestamp,product\\n2026-01-01,a\\n'
    """
    index = frame.index
    name = index.name if index.name is not None else "timestamp"
    if isinstance(index, pd.DatetimeIndex) and name not in frame.columns:
        frame = frame.rename_axis(name).reset_index()
    text = frame.to_csv(index=False, lineterminator="\n")
    buffer = io.BytesIO(text.encode("utf-8"))
    buffer.name = FRAME_NAME
    return buffer


# ------------------------------------------------------------------------- streaming


def _read_blocks(
    source: Source, options: Options, block_bytes: int, progress: bool
) -> Iterator[RawReports]:
    """The blocks of one file as RawReports (see :func:`read_report_blocks`)."""
    name, stream, size = open_stream(source)
    # A bar on a terminal only (disable=None: piped to a log, it is carriage returns),
    # with ``progress`` or for a big file.
    disable = None if progress or size > block_bytes else True
    bar = tqdm(total=size, disable=disable, desc=Path(name).name, unit="B",
               unit_scale=True, leave=False)
    usable, rows_read, first_rejected = 0, 0, empty_rejected()
    deferred: Text | None = None  # blocks whose dates have not told day from month yet
    defer = True
    try:
        chunks = utf8_chunks(name, stream, block_bytes)
        pending, text, layout, lines = b"", None, None, 0
        for block, last in _with_last(record_blocks(chunks, block_bytes)):
            if text is None:
                pending += block
                first = NOT_WHITESPACE.search(pending)
                if first is not None:
                    end = header_end(pending, header_start(pending, 0)[0])
                    has_rows = NOT_NEWLINE.search(pending, end) is not None
                else:
                    has_rows = False
                if not has_rows and not last:
                    continue
                text = split_header(name, pending, 0)
                layout = file_layout(text, options)
                layout.dates.blocks = True
                pending = b""
            else:
                text = Text(name, text.header, text.delimiter, block, 0, lines)
            lines = text.lines_before_body + text.data.count(b"\n", text.start)
            if deferred is not None:
                text = Text(name, text.header, text.delimiter,
                            bytes(deferred.body) + bytes(text.body), 0,
                            deferred.lines_before_body)
            noted = len(layout.dates.notes)
            layout.dates.tied = False
            result = _read_text(text, layout, options, last=last)
            if (defer and layout.dates.tied and not last
                    and len(text.body) < DEFER_BLOCKS * block_bytes):
                # Dates of one day (a big file's first block): read them again with the
                # next block rather than in the default day/month order, as a read of
                # the whole file would.
                del layout.dates.notes[noted:]
                deferred = text
                continue
            deferred = None
            # Held back as long as allowed and still undecided: the default order from
            # here on, without parsing each later block several times over.
            defer = defer and not layout.dates.tied
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
            split_header(name, pending, 0)
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


def _position(stream: IO[bytes]) -> int:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return 0


# ----------------------------------------------------------------------- concatenation


def _describe_entry(row: Any) -> str:
    what = f"{row.column} {row.value!r}" if row.column else f"row {row.value!r}"
    return f"{Path(str(row.file)).name} line {row.line} ({what} {row.reason})"


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
    return rejected_dtypes(pd.concat(frames, ignore_index=True))
