"""Tables of incidents and labels: read from CSV (or Parquet) files, or checked when
given as data frames, with every problem named by file, line and column.

:func:`read_incidents` and :func:`read_labels` read what ``spikes analyze -o`` and
``spikes explain -o`` write, and hand-made files: a spreadsheet's delimiter (``;``, tab,
``|``), other common column names (:data:`COLUMN_ALIASES`), naive times in UTC or a
given zone, a label's end given as a date (the end of that day). Times that are not
ISO-8601 are read as report files read them (``22/01/2026 19:00``, ``1/22/2026 7:00 PM``,
``Jan 22, 2026 7:00 PM``), day or month first as ``date_order`` says or as the dates
show; where they cannot show it, the file is refused.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spikes.errors import SpikesInputError
from spikes.io.cell_times import read_time_cells
from spikes.io.output import PARQUET_SUFFIXES, restore_formula
from spikes.io.sniffing import sniff_delimiter
from spikes.io.timestamps import check_date_order, date_only
from spikes.io.zones import wall_time_in_utc, zone_name

__all__ = ["COLUMN_ALIASES", "INCIDENT_COLUMNS", "LABEL_COLUMNS", "LABEL_DELIMITERS",
           "is_missing", "labels_on_grid", "read_incidents", "read_labels",
           "validate_incidents", "validate_labels"]

INCIDENT_COLUMNS = ("product", "onset")
#: Delimiters of incidents and labels files (a pipe too: hand-made tables).
LABEL_DELIMITERS = (",", ";", "\t", "|")
LABEL_COLUMNS = ("product", "onset", "end")
#: Other names of the columns of incidents and labels (compared in lower case, spaces and
#: hyphens as underscores: ``Product Name`` is ``product_name``), among them those of
#: status-page histories (``component``, ``started_at``, ``resolved_at``) and incident
#: trackers (``service_name``, ``created_on``, ``resolved_on``).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "product": ("service", "name", "app", "application", "component", "product_name",
                "service_name", "app_name", "application_name", "component_name"),
    "onset": ("start", "begin", "started", "start_time", "started_at", "start_at",
              "start_date", "begin_time", "created_at", "created_on", "opened_at"),
    "end": ("stop", "until", "finish", "ended", "end_time", "ended_at", "end_at", "end_date",
            "resolved", "resolved_at", "resolved_on", "closed_at", "finished_at"),
}


#: Aliases that name the column only where no other alias of it is in the file: a
#: status page's ``name`` is the incident's title beside its ``component``, a tracker's
#: ``created_at`` is when it was filed beside when it ``started_at``.
WEAK_ALIASES = frozenset({"name", "created_at", "created_on", "opened_at"})


def read_incidents(path: str | Path, *, tz: str | None = None,
                   date_order: str | None = None) -> pd.DataFrame:
    """Read and validate a CSV (or Parquet file) of detected incidents.

    Parameters
    ----------
    path : str or Path
        CSV with at least the columns ``product`` and ``onset`` (ISO-8601, or a date and
        time as report files write them: ``22/01/2026 19:00``, ``Jan 22, 2026 7:00 PM``;
        a timestamp without an offset is UTC, or in `tz`). Other columns are kept, as
        text, and ignored by scoring. A name ending in ``.parquet`` (or ``.pq``) is read
        as Parquet, as ``spikes analyze -o`` writes it.
    tz : str, optional
        Time zone of the timestamps without an offset (default UTC).
    date_order : {"dmy", "mdy"}, optional
        Day/month order of numeric dates such as ``01/02/2026``. By default the dates
        decide (a day above 12); where none does, the file is refused.

    Returns
    -------
    pd.DataFrame
        One row per incident, in file order: ``product`` (str), ``onset`` (datetime64, UTC)
        and the other columns of the file.

    Raises
    ------
    SpikesInputError
        The file cannot be read, a required column is missing, or a cell is not valid;
        the message names the file, the line (header = line 1) and the column.
    """
    return _read_table(path, INCIDENT_COLUMNS, tz, date_order)


def labels_on_grid(labels: pd.DataFrame, bucket: pd.Timedelta) -> tuple[pd.DataFrame, int]:
    """Labels whose onset lies inside a bucket of the data, moved to that bucket's start.

    A label's onset is the first bucket of the rise (EVALUATION.md); one written to the
    minute (14:20) against hourly data would otherwise ask for an incident from 14:10 at
    the earliest, and the incident of that very bucket (14:00) would count as a false
    alarm and the label as missed. Buckets are anchored at the Unix epoch, as the data's
    (:func:`spikes.io.buckets.to_buckets`).

    Parameters
    ----------
    labels : pd.DataFrame
        Validated labels (:func:`read_labels`).
    bucket : pd.Timedelta
        The data's bucket size.

    Returns
    -------
    tuple of (pd.DataFrame, int)
        The labels, and how many onsets moved.

    Examples
    --------
    >>> labels = pd.DataFrame({"product": ["A"], "onset": [pd.Timestamp("2026-01-09 14:20Z")],
    ...                        "end": [pd.Timestamp("2026-01-09 16:00Z")]})
    >>> moved, n = labels_on_grid(labels, pd.Timedelta("1h"))
    >>> str(moved["onset"].iloc[0]), n
    ('2026-01-09 14:00:00+00:00', 1)
    """
    if labels.empty:
        return labels, 0
    onset = pd.DatetimeIndex(labels["onset"])
    floored = onset.floor(pd.Timedelta(bucket))
    moved = int((floored != onset).sum())
    return (labels.assign(onset=floored) if moved else labels), moved


def read_labels(path: str | Path, *, tz: str | None = None,
                date_order: str | None = None) -> pd.DataFrame:
    """Read and validate a CSV (or Parquet file) of labelled outages.

    Parameters
    ----------
    path : str or Path
        CSV with the columns ``product``, ``onset``, ``end`` (times as for
        :func:`read_incidents`, naive = UTC or `tz`) and optionally ``event``; ``end``
        must not be before ``onset``. An ``end`` given as a date without a time
        (``2026-01-14``) is the end of that day, as in ``spikes explain --window``.
        Parquet as for :func:`read_incidents`.
    tz : str, optional
        Time zone of the timestamps without an offset (default UTC).
    date_order : {"dmy", "mdy"}, optional
        As for :func:`read_incidents`.

    Returns
    -------
    pd.DataFrame
        One row per label, in file order: ``product`` (str), ``onset`` and ``end``
        (datetime64, UTC), ``event`` (str, empty when absent) and any other column.

    Raises
    ------
    SpikesInputError
        As :func:`read_incidents`, and when ``end`` is before ``onset``.
    """
    return _read_table(path, LABEL_COLUMNS, tz, date_order)


def _read_table(path: str | Path, required: Sequence[str], tz: str | None,
                date_order: str | None = None) -> pd.DataFrame:
    """A validated table of a CSV (rows named by their file line) or of a Parquet file
    (``.parquet``, ``.pq``: as ``spikes analyze -o`` and ``spikes explain -o`` write it;
    rows named by position)."""
    if str(path).lower().endswith(PARQUET_SUFFIXES):
        frame = _read_parquet(path)
        return _validate(frame, required, str(path), _row_names(frame), tz, date_order)
    frame, lines = _read_csv_text(path)
    names = [f"line {n}" for n in lines]
    return _restored(_validate(frame, required, str(path), names, tz, date_order))


def _read_parquet(path: str | Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pandas()
    except OSError as exc:
        raise SpikesInputError(f"{path}: cannot read the file "
                               f"({exc.strerror or exc})") from None
    except (pa.ArrowException, ValueError) as exc:
        raise SpikesInputError(f"{path}: not a readable Parquet file ({exc})") from None


def _restored(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its ``product`` cells as spikes wrote them before guarding them
    against spreadsheet formulas (:func:`spikes.io.output.restore_formula`): a CSV of
    ``spikes analyze -o`` names its products as the data did."""
    frame["product"] = frame["product"].map(restore_formula).astype(str)
    return frame


def validate_incidents(frame: pd.DataFrame, source: str = "incidents", *,
                       tz: str | None = None, date_order: str | None = None) -> pd.DataFrame:
    """Validate an already-loaded incident table the way :func:`read_incidents` does.

    Parameters
    ----------
    frame : pd.DataFrame
        Table with at least ``product`` and ``onset`` (datetime-like or ISO-8601 text).
    source : str
        Name used in error messages.
    tz : str, optional
        Time zone of naive timestamps (default UTC).
    date_order : {"dmy", "mdy"}, optional
        Day/month order of numeric dates (see :func:`read_incidents`).

    Returns
    -------
    pd.DataFrame
        A validated copy with a fresh ``RangeIndex`` (rows are named by position).

    Raises
    ------
    SpikesInputError
        A column is missing or a cell is not valid.
    """
    return _validate(frame, INCIDENT_COLUMNS, source, _row_names(frame), tz, date_order)


def validate_labels(frame: pd.DataFrame, source: str = "labels", *,
                    tz: str | None = None, date_order: str | None = None) -> pd.DataFrame:
    """Validate an already-loaded label table the way :func:`read_labels` does.

    Parameters
    ----------
    frame : pd.DataFrame
        Table with at least ``product``, ``onset`` and ``end``.
    source : str
        Name used in error messages.
    tz : str, optional
        Time zone of naive timestamps (default UTC).
    date_order : {"dmy", "mdy"}, optional
        Day/month order of numeric dates (see :func:`read_incidents`).

    Returns
    -------
    pd.DataFrame
        A validated copy with a fresh ``RangeIndex``.

    Raises
    ------
    SpikesInputError
        A column is missing, a cell is not valid, or ``end`` is before ``onset``.
    """
    return _validate(frame, LABEL_COLUMNS, source, _row_names(frame), tz, date_order)


def _row_names(frame: pd.DataFrame) -> list[str]:
    return [f"row {i}" for i in range(len(frame))]


def _read_csv_text(path: str | Path) -> tuple[pd.DataFrame, list[int]]:
    """Read a CSV as text cells, with the 1-based file line of every data row."""
    name = str(path)
    try:
        opener = gzip.open if name.lower().endswith(".gz") else open
        # Read whole (incidents and labels are small): a pipe cannot be rewound.
        with opener(path, "rt", newline="", encoding="utf-8-sig") as stream:
            text = stream.read()
        with io.StringIO(text, newline="") as handle:
            reader = csv.reader(handle, delimiter=_delimiter(text))
            header = next(reader, None)
            if header is None:
                raise SpikesInputError(f"{name}: the file is empty (expected a header row)")
            header = [h.strip() for h in header]
            rows: list[list[str]] = []
            lines: list[int] = []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise SpikesInputError(
                        f"{name} line {reader.line_num}: {len(row)} fields "
                        f"(expected {len(header)}, as in the header)"
                    )
                rows.append(row)
                lines.append(reader.line_num)
    except (UnicodeDecodeError, csv.Error, gzip.BadGzipFile, EOFError) as exc:
        # (BadGzipFile is an OSError: a file named .gz that is not one.)
        raise SpikesInputError(f"{name}: not a readable UTF-8 CSV file ({exc})") from exc
    except OSError as exc:
        raise SpikesInputError(f"{name}: cannot read the file "
                               f"({exc.strerror or exc})") from exc
    # Columns without a name and without a value (a spreadsheet's trailing delimiters).
    keep = [i for i, h in enumerate(header)
            if h or any(row[i].strip() for row in rows)]
    if len(keep) < len(header):
        header = [header[i] for i in keep]
        rows = [[row[i] for i in keep] for row in rows]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise SpikesInputError(f"{name}: column {duplicated[0]!r} appears twice in the header")
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return frame, lines


def _delimiter(text: str) -> str:
    """The delimiter of CSV `text`, from its first line: ``,``, ``;`` (spreadsheets in
    much of Europe), tab or ``|``, as the report reader sniffs it."""
    return sniff_delimiter(text.split("\n", 1)[0], LABEL_DELIMITERS)


def _validate(
    frame: pd.DataFrame, required: Sequence[str], source: str, row_names: Sequence[str],
    tz: str | None = None, date_order: str | None = None,
) -> pd.DataFrame:
    """Check required columns and cells; return a clean copy with a RangeIndex."""
    if not isinstance(frame, pd.DataFrame):
        raise SpikesInputError(f"{source}: expected a table (DataFrame), got {type(frame)}")
    # A bad zone or order is its own error, not the first naive cell's.
    times = _Times(zone_name(tz), check_date_order(date_order))
    columns = _canonical_columns([str(c) for c in frame.columns], required)
    for column in required:
        if column not in columns:
            found = ", ".join(map(str, frame.columns)) if len(frame.columns) else "none"
            names = {column, *COLUMN_ALIASES.get(column, ())}
            rivals = [c for c in columns if _plain(c) in names]
            if len(rivals) > 1:  # more than one could be it: say which to rename
                listed = ", ".join(repr(c) for c in rivals)
                raise SpikesInputError(
                    f"{source}: {len(rivals)} columns could be the {column!r} column "
                    f"({listed}); rename the one that is to {column!r} (found: {found})")
            alias = "/".join((column, *COLUMN_ALIASES.get(column, ())))
            raise SpikesInputError(f"{source}: missing column {column!r} (found: {found}; "
                                   f"expected one named {alias})")
    out = frame.copy()
    out.columns = columns
    out = out.reset_index(drop=True)
    out["product"] = _parse_products(out["product"], source, row_names)
    for column in required[1:]:
        out[column] = _parse_timestamps(out[column], source, row_names, column, times,
                                        day_end=column == "end")
    if "alerted_at" in out.columns and "end" not in required:
        out["alerted_at"] = _parse_optional_timestamps(out["alerted_at"], source, row_names,
                                                       times)
    if "end" in required:
        bad = np.flatnonzero((out["end"] < out["onset"]).to_numpy())
        if bad.size:
            i = int(bad[0])
            raise SpikesInputError(
                f"{source} {row_names[i]}: end {out['end'].iloc[i].isoformat()} is before "
                f"onset {out['onset'].iloc[i].isoformat()} (expected end >= onset)"
            )
        if "event" in out.columns:
            out["event"] = out["event"].map(lambda v: "" if is_missing(v) else str(v))
        else:
            out["event"] = ""
    return out


def _parse_optional_timestamps(values: pd.Series, source: str,
                               row_names: Sequence[str], times: _Times) -> pd.Series:
    """A column of timestamps that may be empty (NaT), e.g. ``alerted_at`` of a
    retrospective run."""
    missing = values.map(lambda v: is_missing(v) or (isinstance(v, str) and not v.strip())
                         ).to_numpy(dtype=bool)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if (~missing).any():
        present = values[~missing]
        parsed = _parse_timestamps(present.reset_index(drop=True), source,
                                   [row_names[i] for i in np.flatnonzero(~missing)],
                                   "alerted_at", times)
        out[~missing] = parsed.to_numpy()
    return out


def _canonical_columns(columns: list[str], required: Sequence[str]) -> list[str]:
    """`columns` with a required column's alias (any case) renamed to its own name, where
    the file has no column of that name and exactly one alias: ``service,start,end`` is
    ``product,onset,end``."""
    out = list(columns)
    for column in required:
        if column in out:
            continue
        names = {column, *COLUMN_ALIASES.get(column, ())}
        plain = [_plain(c) for c in out]
        hits = [i for i, c in enumerate(plain) if c in names]
        strong = [i for i in hits if plain[i] not in WEAK_ALIASES]
        if len(strong) == 1 or (not strong and len(hits) == 1):
            out[(strong or hits)[0]] = column
    return out


def _plain(name: str) -> str:
    """A column name compared with the aliases: lower case, spaces and hyphens as
    underscores (``"Product Name"`` -> ``"product_name"``)."""
    return "_".join(name.strip().lower().replace("-", " ").split())


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _parse_products(values: pd.Series, source: str, row_names: Sequence[str]) -> pd.Series:
    out = []
    for i, value in enumerate(values):
        text = "" if is_missing(value) else str(value).strip()
        if not text:
            raise SpikesInputError(
                f"{source} {row_names[i]}, column 'product': empty (expected a product name)"
            )
        out.append(text)
    return pd.Series(out, index=values.index, dtype=object)


@dataclass(frozen=True)
class _Times:
    """How a table's times are read: the zone of naive ones (None: UTC) and the
    day/month order of numeric dates (None: the dates decide)."""

    tz: str | None = None
    date_order: str | None = None


def _parse_timestamps(
    values: pd.Series, source: str, row_names: Sequence[str], column: str,
    times: _Times, *, day_end: bool = False,
) -> pd.Series:
    """Parse one column to UTC timestamps; naive values are taken as UTC (or
    ``times.tz``). With `day_end`, a date without a time is the end of that day."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
        bad = np.flatnonzero(values.isna().to_numpy())
        if bad.size:
            raise SpikesInputError(
                f"{source} {row_names[int(bad[0])]}, column {column!r}: missing "
                "(expected an ISO-8601 timestamp)"
            )
        values = values.astype(object)  # each checked as text cells are
    wheres = [f"{source} {row_names[i]}, column {column!r}" for i in range(len(values))]
    stamps, texts = _read_stamps(values, wheres, times)
    out = [_in_utc(stamp, text, where, times.tz, day_end=day_end)
           for stamp, text, where in zip(stamps, texts, wheres, strict=True)]
    return pd.Series(pd.DatetimeIndex(out, tz="UTC").as_unit("ns"), index=values.index)


def _read_stamps(values: pd.Series, wheres: Sequence[str],
                 times: _Times) -> tuple[list[pd.Timestamp], list[str]]:
    """Each value as a Timestamp (naive: a wall-clock time) and as its text: datetimes as
    they are, text by :func:`spikes.io.cell_times.read_time_cells` (the column's texts
    together: one day/month order)."""
    stamps: list[pd.Timestamp | None] = []
    texts: list[str] = []
    for i, value in enumerate(values):
        if isinstance(value, pd.Timestamp | datetime | np.datetime64) and not is_missing(value):
            stamps.append(pd.Timestamp(value))
            texts.append(str(value))
            continue
        text = "" if is_missing(value) else str(value).strip()
        if not text:
            raise SpikesInputError(f"{wheres[i]}: empty (expected a timestamp such as "
                                   "2026-01-22T19:00)")
        stamps.append(None)
        texts.append(text)
    cells = [i for i, stamp in enumerate(stamps) if stamp is None]
    if cells:
        read = read_time_cells([texts[i] for i in cells], [wheres[i] for i in cells],
                               times.tz, times.date_order)
        for i, stamp in zip(cells, read, strict=True):
            stamps[i] = stamp
    return stamps, texts  # type: ignore[return-value]


def _in_utc(stamp: pd.Timestamp, text: str, where: str, tz: str | None = None, *,
            day_end: bool = False) -> pd.Timestamp:
    """A time read from `text` (a naive `stamp` is a wall-clock time in `tz`, default
    UTC) in UTC, within the times pandas holds (nanoseconds: 1677 to 2262). With
    `day_end`, a date without a time is the end of that day."""
    if day_end and date_only(text):  # "2026-01-14": up to the end of that day
        stamp = stamp + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    stamp = wall_time_in_utc(stamp, tz, where, text)
    if not _NS_FIRST <= stamp <= _NS_LAST:
        raise SpikesInputError(
            f"{where}: {text!r} is outside the times spikes handles ({_NS_FIRST.date()} to "
            f"{_NS_LAST.date()}); give a time inside the data (for an outage still going "
            f"on, the data's last time)")
    return stamp


#: The times a nanosecond timestamp holds (pandas' range).
_NS_FIRST = pd.Timestamp.min.tz_localize("UTC").ceil("D")
_NS_LAST = pd.Timestamp.max.tz_localize("UTC").floor("D")
