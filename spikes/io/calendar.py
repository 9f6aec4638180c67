"""Reading a known-event calendar: ``product,start,end,kind,note`` windows from a CSV.

A calendar file looks like this (``note`` is optional, ``*`` names every product)::

    product,start,end,kind,note
    Exchange Online,2026-01-13T15:00:00Z,2026-01-13T18:00:00Z,maintenance,mailbox migration
    *,2026-01-20T02:00:00Z,2026-01-20T03:00:00Z,release,monthly release

Times are ISO-8601 (``2026-01-13T15:00:00Z``, ``2026-01-13 15:00``), or written as
report files write them (``13/01/2026 15:00``, day or month first as `date_order` says or
as the dates show); naive ones are UTC unless `tz` names a zone. A calendar is short and
written by hand, so any bad line stops
the reading with one message naming the file, the line, the column and what was expected:
nothing is skipped. Windows of products that are not in the data are not an error (one
calendar may serve several exports); :meth:`spikes.detect.known_events.Calendar.unknown_products`
names them, and ``spikes analyze`` prints them as a warning.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from spikes.detect.known_events import ALL_PRODUCTS, CALENDAR_COLUMNS, Calendar
from spikes.errors import SpikesInputError
from spikes.io.cell_times import read_time_cells
from spikes.io.timestamps import check_date_order
from spikes.io.zones import wall_time_in_utc

__all__ = ["read_calendar"]

#: Columns a calendar must have (``note`` is optional).
REQUIRED = ("product", "start", "end", "kind")
#: Longest calendar file read (a calendar is a short hand-written list).
MAX_BYTES = 10 * 1024 * 1024


def read_calendar(path: str | Path, *, tz: str | None = None,
                  date_order: str | None = None) -> Calendar:
    """Read a known-event calendar CSV.

    Parameters
    ----------
    path : str or Path
        The CSV file: a header with ``product``, ``start``, ``end``, ``kind`` and
        optionally ``note`` (any order, any case), then one window per line; ``,`` or
        ``;`` separated.
    tz : str, optional
        Time zone of naive times (UTC when None).
    date_order : {"dmy", "mdy"}, optional
        Day/month order of numeric dates that are not ISO-8601 (``01/02/2026 10:00``);
        None: the calendar's dates decide, and where none has a day above 12 to tell,
        the calendar is refused (it was read month first without a word).

    Returns
    -------
    Calendar
        Windows sorted by start, times in UTC.

    Raises
    ------
    SpikesInputError
        If the file cannot be read, lacks a column, or a line has an empty product or
        kind, a time that is not a date-time, or a start not before its end (naming the
        file, line and column).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("product,start,end,kind\\nOutlook,2026-01-13 15:00,2026-01-13 18:00,"
    ...                 "maintenance\\n")
    >>> read_calendar(f.name).windows[["product", "kind"]].values.tolist()
    [['Outlook', 'maintenance']]
    >>> os.unlink(f.name)
    """
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpikesInputError(f"{name}: cannot read the calendar ({exc.strerror})") from None
    if len(raw) > MAX_BYTES:
        raise SpikesInputError(f"{name}: a calendar of {len(raw):,} bytes is too large "
                               f"(expected a short list of windows, at most {MAX_BYTES:,})")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpikesInputError(f"{name}: the calendar is not UTF-8 text (byte {exc.start}); "
                               "expected a CSV file") from None
    lines = text.splitlines()
    header_at = next((i for i, line in enumerate(lines)
                      if line.strip() and not line.lstrip().startswith("#")), None)
    if header_at is None:
        raise SpikesInputError(f"{name}: the calendar is empty (expected a header "
                               f"{','.join(CALENDAR_COLUMNS)} and one window per line)")
    delimiter = ";" if lines[header_at].count(";") > lines[header_at].count(",") else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    header = [h.strip().lower() for h in rows[header_at]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SpikesInputError(
            f"{name}, line {header_at + 1}: the calendar has no column {', '.join(missing)} "
            f"(found {', '.join(map(repr, header))}; expected {','.join(CALENDAR_COLUMNS)}, "
            "note optional)")
    at = {c: header.index(c) for c in CALENDAR_COLUMNS if c in header}
    cells = []
    for number, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if len(row) < len(header):
            row = row + [""] * (len(header) - len(row))
        if len(row) > len(header):
            raise SpikesInputError(
                f"{name}, line {number}: {len(row)} fields, the header has {len(header)} "
                "(quote a note that holds the separator)")
        cell = {c: row[i].strip() for c, i in at.items()}
        for column in ("product", "kind"):
            if not cell[column]:
                what = (f"a product name or {ALL_PRODUCTS} for all products"
                        if column == "product" else "a kind such as maintenance, release or "
                        "expected surge")
                raise SpikesInputError(f"{name}, line {number}, column {column}: empty "
                                       f"(expected {what})")
        cells.append((number, cell))
    times = _times(cells, tz, check_date_order(date_order), name)
    records = []
    for (number, cell), (start, end) in zip(cells, times, strict=True):
        if not start < end:
            raise SpikesInputError(
                f"{name}, line {number}: start {cell['start']!r} is not before end "
                f"{cell['end']!r} (expected start < end)")
        records.append((cell["product"], start, end, cell["kind"], cell.get("note", "")))
    return Calendar.from_records(records, source=name)


def _times(cells: list[tuple[int, dict[str, str]]], tz: str | None,
           date_order: str | None, name: str) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Each window's start and end in UTC (:func:`spikes.io.cell_times.read_time_cells`:
    one day/month order for the whole calendar)."""
    wheres, texts = [], []
    for number, cell in cells:
        for column in ("start", "end"):
            where = f"{name}, line {number}, column {column}"
            if not cell[column]:
                raise SpikesInputError(f"{where}: empty (expected a date-time such as "
                                       "2026-01-13T15:00:00Z)")
            wheres.append(where)
            texts.append(cell[column])
    stamps = read_time_cells(texts, wheres, tz, date_order)
    utc = [_in_utc(stamp, text, where, tz)
           for stamp, text, where in zip(stamps, texts, wheres, strict=True)]
    return list(zip(utc[0::2], utc[1::2], strict=True))


def _in_utc(stamp: pd.Timestamp, text: str, where: str, tz: str | None) -> pd.Timestamp:
    """One calendar time in UTC (naive: a wall-clock time in `tz`, UTC by default)."""
    if pd.isna(stamp):
        raise SpikesInputError(f"{where}: {text!r} is not a date-time (expected ISO-8601 "
                               "such as 2026-01-13T15:00:00Z or 2026-01-13 15:00)")
    return wall_time_in_utc(stamp, tz, where, text)
