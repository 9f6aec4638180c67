"""Timestamps and time zones of report files, read into UTC.

Text timestamps are read as ISO-8601 first, then with the best-fitting of common formats
(day/month orders, 12-hour times, month names, two-digit years); where day first and
month first both read every date, the reading whose dates lie closer together is taken
(dotted dates are always day first) and, where even that cannot tell, a note says so.
Numbers are Unix epoch seconds, milli-, micro- or nanoseconds by their size, spreadsheet
serial days (:data:`EXCEL_SERIALS`) or dates written ``yyyymmdd``. Zones after the time
(``UTC+1``, ``EST``: :data:`ZONE_ABBREVIATIONS`) become offsets; naive times are
localised in ``tz`` with daylight saving time (a repeated autumn hour is read from the
order of each product's rows, a spring hour that does not exist is shifted forward).
See the notes of :mod:`spikes.io.reading`.
"""

from __future__ import annotations

import datetime
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.tseries.api import guess_datetime_format

from spikes.errors import SpikesInputError
from spikes.io.rejects import MISSING, NO_SUCH_TIME, NOT_DATE

# The zones of column names and of --tz live in spikes.io.zones; re-exported here, where
# they were defined before.
from spikes.io.zones import AMBIGUOUS_ZONES as AMBIGUOUS_ZONES
from spikes.io.zones import ZONE_ABBREVIATIONS as ZONE_ABBREVIATIONS
from spikes.io.zones import ZONE_PLACES as ZONE_PLACES
from spikes.io.zones import check_tz as check_tz
from spikes.io.zones import header_zone as header_zone
from spikes.io.zones import header_zone_note as header_zone_note
from spikes.io.zones import names_zone as names_zone
from spikes.io.zones import offsets_around as offsets_around
from spikes.io.zones import zone_name as zone_name

DATE_ORDERS: tuple[str, ...] = ("dmy", "mdy")
"""Accepted values of ``date_order`` (the CLI's ``--date-order``)."""

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
    # Day-first 12-hour times (Excel in en-GB, en-AU, en-IN: "22/01/2026 7:00 PM").
    "%d/%m/%Y %I:%M:%S %p",
    "%d/%m/%Y %I:%M %p",
    "%d/%m/%y %I:%M %p",
    # A comma after the date (Azure Log Analytics: "1/22/2026, 7:00:00.000 PM").
    "%m/%d/%Y, %I:%M:%S.%f %p",
    "%m/%d/%Y, %I:%M:%S %p",
    "%m/%d/%Y, %I:%M %p",
    "%d/%m/%Y, %H:%M:%S.%f",
    "%d/%m/%Y, %H:%M:%S",
    "%d/%m/%Y, %H:%M",
    # ISO dates with a 12-hour time (a Date and a Time column joined).
    "%Y-%m-%d %I:%M:%S %p",
    "%Y-%m-%d %I:%M %p",
    # Kibana ("Jan 22, 2026 @ 19:00:00.000").
    "%b %d, %Y @ %H:%M:%S.%f",
    "%b %d, %Y @ %H:%M:%S",
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
#: Dates with a month name, as people write them by hand: month or day first, the
#: month abbreviated or in full, with or without a comma after the day (``Jan 5 2026``,
#: ``January 5, 2026``, ``5 Jan 2026``). No day/month order question: the name says it.
_MONTH_NAME_DATES = ("%b %d %Y", "%b %d, %Y", "%B %d %Y", "%B %d, %Y", "%d %b %Y",
                     "%d %B %Y")
#: Times of day after such a date, 24-hour or 12-hour (one-digit hours read too).
_MONTH_NAME_CLOCKS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p", "%I:%M%p")
_EXTRA_DATE_FORMATS = tuple(dict.fromkeys((
    *_EXTRA_DATE_FORMATS,
    *(f"{date} {clock}" for date in _MONTH_NAME_DATES for clock in _MONTH_NAME_CLOCKS),
    *_MONTH_NAME_DATES,
)))
_RELATIVE_WORDS = ("now", "today", "yesterday", "tomorrow")
# Year-day-month is no one's convention: "2024-13-01" is a bad date, not 13 January.
_YEAR_DAY_MONTH = re.compile(r"%Y\W?%d")
# Dotted dates are day first ("31.01.2024"): month.day is no one's convention either.
_MONTH_DOT_DAY = re.compile(r"%m\.%d")
# A month's name left as text in a guessed format: pandas did not see it as the month
# (``JAN 22 2026 1:00 PM`` guessed as ``JAN %d %Y %m:%M %p``, the hour read as the
# month); the month-name formats (``%b``, any case) read it.
_LITERAL_MONTH = re.compile(r"(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)")
# A month's abbreviation with a dot (``Jan.``, ``Sept.``) or the four-letter ``Sept``,
# which ``%b`` does not read, written as ``%b`` reads it (``\1\2\3\4\5``: the three
# letters and what follows the dot). The dot goes only where a space, comma, hyphen or the
# end follows it: a dot between the parts (``Jan.05.2026``, ``05.Jan.2026``) is a
# separator the formats read as written. Only the twelve months' own letters, so that
# nothing misspelt becomes a month (``Septe``, ``Jann.``); in the syntax of RE2 (pyarrow,
# which has no lookahead) and of Python's re alike.
_MONTH_WORD = (r"(?i)\b(?:(jan|feb|mar|apr|may|jun|jul|aug|oct|nov|dec)\.([\s,\-]|$)"
               r"|(sep)t?\.([\s,\-]|$)|(sep)t\b)")
#: Rows of a text timestamp column sampled to choose its date format.
_FORMAT_SAMPLE = 2000
#: Spreadsheet serial days read as dates (1954-10-03 to 2119-01-10); as Unix seconds
#: they would all fall on 1 January 1970.
EXCEL_SERIALS = (20_000.0, 80_000.0)
_EXCEL_EPOCH_DAY = 25_569.0  # serial day of 1970-01-01 (day 0 = 1899-12-30)
# Numeric timestamps by size: (median above, microseconds per unit).
_EPOCH_SCALES = ((1e17, 1e-3), (1e14, 1.0), (1e11, 1e3), (-1.0, 1e6))
_ZONE_ABBREVIATION = (r"\s*\b(" + "|".join(sorted(ZONE_ABBREVIATIONS, key=len, reverse=True))
                      + r")$")
_SERIAL_SNAP_US = 10e6  # serial times within 10 s of whole minutes are whole minutes
_COMPACT_DATES = (19_000_101.0, 21_001_231.0)  # yyyymmdd numbers, 1900 to 2100
_AWARE_RE = (r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp][Mm])?\s*"
             r"(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_SECONDS_COMMA = r"(\d:\d{2}:\d{2}),(\d+)"


@dataclass
class DateReading:
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
    blocks : bool
        The file is read block by block: the order of its autumn hour's rows is seen a
        block at a time, and the note of :func:`_one_pass_note` is not given (a block
        edge inside the hour would make an ordered file look undecided).
    tied : bool
        Dates read since it was last cleared could not tell day from month and were read
        in the default order (a block reader may read them again with the next block).
    wall : bool
        Some times were read as wall-clock times (without an offset of their own: in
        ``tz``, or UTC), not as times with an offset, epoch times or dates.
    """

    dayfirst: bool = False
    order: str | None = None
    formats: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blocks: bool = False
    tied: bool = False
    wall: bool = False

    @property
    def pass_notes(self) -> list[str] | None:
        """Where :func:`_localize` may note an undecided autumn hour (None: nowhere)."""
        return None if self.blocks else self.notes


# ---------------------------------------------------------------------------- options


def check_date_order(order: str | None) -> str | None:
    """``"dmy"``, ``"mdy"`` or None, from any case; anything else is an error."""
    if order is None or not str(order).strip():
        return None
    value = str(order).strip().lower()
    if value not in DATE_ORDERS:
        raise SpikesInputError(
            f"unknown date order {order!r}: expected {' or '.join(DATE_ORDERS)} (day/month/"
            "year or month/day/year)")
    return value


# ------------------------------------------------------------------------ a column


def read_timestamps(
    column: pa.ChunkedArray, tz: str | None, dates: DateReading,
    groups: np.ndarray | None = None,
) -> tuple[pd.Series, np.ndarray]:
    """UTC timestamps (``datetime64[us, UTC]``, NaT where bad) and reason codes.

    `dates` is how the file reads its text dates (updated with what this column
    needs); `groups` (e.g. product codes) split the rows into sequences of their own for
    :func:`_localize`."""
    kind = column.type
    gaps = np.zeros(len(column), dtype=bool)  # local times in a spring DST gap
    if pa.types.is_timestamp(kind):
        # Nanoseconds (.NET and PowerShell write 7 digits) are cut to microseconds.
        values = column.cast(pa.timestamp("us"), safe=False).to_numpy()
        if kind.tz is None and not _dates_only(values):
            dates.wall = dates.wall or bool((~np.isnat(values)).any())
            values = _localize(values, tz, groups, gaps, dates.pass_notes)
    elif pa.types.is_date(kind):  # a day, not an instant at its local midnight
        values = column.cast(pa.timestamp("us")).to_numpy()
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values = _numeric_times(column.to_numpy().astype(np.float64, copy=False), tz,
                                groups, gaps, dates)
    elif pa.types.is_null(kind):
        values = np.full(len(column), np.datetime64("NaT", "us"))
    else:
        text = column.to_pandas()
        if _mostly_numbers(text):
            # Numbers (epoch times, serial days) with a stray word ("N/A"): the numbers
            # are read as such and only the words rejected.
            values = _numeric_times(
                pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64), tz, groups,
                gaps, dates)
        else:
            values = _parse_timestamp_text(text, tz, dates, groups=groups, gaps=gaps)
    bad = np.isnat(values)
    reason = np.zeros(len(values), dtype=np.int8)
    if bad.any():
        idx = np.flatnonzero(bad)
        missing = column.take(pa.array(idx)).to_pandas().astype(object)
        blank = missing.isna() | (missing.astype(str).str.strip() == "")
        reason[idx] = np.where(blank.to_numpy(dtype=bool), MISSING,
                               np.where(gaps[idx], NO_SUCH_TIME, NOT_DATE))
    utc = pd.Series(values.astype("datetime64[us]", copy=False), copy=False).dt.tz_localize("UTC")
    return utc, reason


def _numeric_times(numbers: np.ndarray, tz: str | None, groups: np.ndarray | None,
                   gaps: np.ndarray, dates: DateReading) -> np.ndarray:
    """Numeric timestamps (:func:`_epoch`) as naive UTC: epoch times are UTC whatever
    ``tz``; spreadsheet serial days are wall-clock times, in ``tz`` where given (as naive
    text times are), but a column of whole serial days, as of ``yyyymmdd`` dates, holds
    days (:func:`_dates_only`)."""
    values, wall = _epoch(numbers)
    if wall and not _dates_only(values):
        dates.wall = dates.wall or bool((~np.isnat(values)).any())
        return _localize(values, tz, groups, gaps, dates.pass_notes)
    return values


def _epoch(numbers: np.ndarray) -> tuple[np.ndarray, bool]:
    """Numeric timestamps: Unix epoch seconds, milli-, micro- or nanoseconds by their
    size, spreadsheet serial days (``45355.5`` = 2024-03-05 12:00, for values that
    would otherwise fall on 1 January 1970), or dates written ``20240305``; and whether
    they are wall-clock times (serial days: a spreadsheet's local time) rather than
    epoch times (UTC by definition) or dates."""
    finite = numbers[np.isfinite(numbers)]
    size = float(np.median(np.abs(finite))) if len(finite) else 0.0
    if _COMPACT_DATES[0] <= size <= _COMPACT_DATES[1] and _compact_dates(finite):
        text = pd.Series(numbers).map(lambda v: f"{v:.0f}" if np.isfinite(v) else None)
        return _to_datetime(text, "%Y%m%d", utc=False), False  # days, as dates are
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
    return values, offset != 0.0  # serial days are wall-clock times (or dates)


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


# ------------------------------------------------------------------------------ text


def _parse_timestamp_text(text: pd.Series, tz: str | None, dates: DateReading | None = None,
                          groups: np.ndarray | None = None,
                          gaps: np.ndarray | None = None) -> np.ndarray:
    """Parse timestamps given as text; naive ones are in ``tz``. Returns UTC ``datetime64[us]``
    (NaT where bad; `gaps`, where given, marks those that are local times that do not
    exist in ``tz``)."""
    dates = DateReading() if dates is None else dates
    out, aware = read_time_texts(text, tz, dates)
    if (~aware).any():
        naive = out[~aware]
        clock = text[~aware].str.contains(_CLOCK, regex=True, na=False).any()
        if not _dates_only(naive) or clock:  # days stay days (see _dates_only)
            dates.wall = dates.wall or bool((~np.isnat(naive)).any())
            local_gaps = np.zeros(int((~aware).sum()), dtype=bool)
            out[~aware] = _localize(naive, tz, None if groups is None else groups[~aware],
                                    local_gaps, dates.pass_notes)
            if gaps is not None:
                gaps[~aware] = local_gaps
    return out


def read_time_texts(text: pd.Series, tz: str | None,
                    dates: DateReading) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps given as text, read as report files read them (ISO-8601, the formats of
    :data:`_EXTRA_DATE_FORMATS` in the order of `dates`, zones after the time), not yet
    localised.

    Parameters
    ----------
    text : pd.Series
        The texts (None or NaN where missing).
    tz : str or None
        Only whether an abbreviation after a time that names several zones (``CST``) is
        dropped, the time being local to `tz` (:func:`_zone_suffixes`).
    dates : DateReading
        How the texts' dates are read (updated with the formats chosen).

    Returns
    -------
    tuple of (np.ndarray, np.ndarray)
        Naive ``datetime64[us]`` values (NaT where not a time: ``now`` is not one): in UTC
        where a value carries its zone, as its wall-clock time otherwise; and which
        values carry their zone.
    """
    written = _zone_suffixes(text.str.strip(), tz)
    sample = written.iloc[:: max(1, len(written) // _FORMAT_SAMPLE)]
    plain_first = _has_month_words(sample)
    s = _plain_month_words(written) if plain_first else written
    out, aware = _read_texts(s, dates)
    # Rows left unread are read again in the other form: with their months plain where the
    # sample showed no such month (another export appended), as written where it did (so
    # that no shape read before months were made plain is lost, whatever it is).
    left = np.flatnonzero(np.isnat(out) & s.notna().to_numpy(dtype=bool))
    if len(left):
        rest = s.iloc[left]
        other = written.iloc[left] if plain_first else _plain_month_words(rest)
        changed = (other != rest).to_numpy(dtype=bool)
        if changed.any():
            rows = left[changed]
            out[rows], aware[rows] = _read_texts(other[changed], dates)
    # pandas reads "now" and "today" as the time of parsing: not a date in a file.
    relative = s.str.lower().isin(_RELATIVE_WORDS).to_numpy(dtype=bool)
    out[relative] = np.datetime64("NaT")
    return out, aware


def _read_texts(s: pd.Series, dates: DateReading) -> tuple[np.ndarray, np.ndarray]:
    """:func:`read_time_texts` of texts whose zones are offsets already: naive values
    (UTC where a text gives its zone) and which texts give it."""
    aware = np.array(s.str.contains(_AWARE_RE, regex=True, na=False), dtype=bool)
    out = np.full(len(s), np.datetime64("NaT", "us"))
    if aware.any():
        out[aware] = _parse_dates(s[aware], utc=True, dates=dates)
    if (~aware).any():
        out[~aware] = _parse_dates(s[~aware], utc=False, dates=dates)
    return out, aware


def _has_month_words(s: pd.Series) -> bool:
    """Whether any text of `s` writes a month as :data:`_MONTH_WORD` matches it.

    Examples
    --------
    >>> _has_month_words(pd.Series(["Jan.05.2026", None])), _has_month_words(
    ...     pd.Series(["Jan. 5, 2026"]))
    (False, True)
    """
    import pyarrow.compute as pc

    found = pc.match_substring_regex(pa.array(s, type=pa.string(), from_pandas=True),
                                     _MONTH_WORD)
    return bool(pc.any(found).as_py())


def _plain_month_words(s: pd.Series) -> pd.Series:
    """`s` with months written as the formats' ``%b`` reads them: ``Jan. 5`` as ``Jan 5``,
    ``Sept 5`` and ``Sept. 5`` as ``Sep 5`` (:data:`_MONTH_WORD`), by pyarrow (a tenth of
    pandas' time: a second for a million rows).

    Examples
    --------
    >>> _plain_month_words(pd.Series(["Sept. 5, 2026", "5 Jan. 2026", "September 5",
    ...                               "Jan.05.2026", "Sept.05.2026", "5-Jan.-2026"])).tolist()
    ['Sep 5, 2026', '5 Jan 2026', 'September 5', 'Jan.05.2026', 'Sep.05.2026', '5-Jan-2026']
    """
    import pyarrow.compute as pc

    plain = pc.replace_substring_regex(pa.array(s, type=pa.string(), from_pandas=True),
                                       _MONTH_WORD, r"\1\2\3\4\5")
    return pd.Series(plain.to_numpy(zero_copy_only=False), index=s.index, dtype=s.dtype)


#: A clock time written in a timestamp (``00:00``, ``12 AM``, ``T00``): a column at
#: midnight that writes one holds times, not dates.
_CLOCK = r"\d:\d|\d\s*[aApP]\.?[mM]\b|\dT\d"


def _dates_only(values: np.ndarray) -> bool:
    """Whether naive timestamps are all dates (every one at midnight): they name days,
    not instants at their local midnight, and stay those (UTC) days whatever ``tz`` (in
    Berlin, 2026-03-16 was read as 23:00 UTC on the 15th, and counted on the 15th). A
    column with any other time of day is of times, its midnights included."""
    stamps = np.asarray(values, dtype="datetime64[us]")
    seen = stamps[~np.isnat(stamps)].view(np.int64)
    return bool(len(seen)) and not (seen % 86_400_000_000).any()


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


def _parse_dates(s: pd.Series, *, utc: bool, dates: DateReading) -> np.ndarray:
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
        dates.tied = dates.tied or tie
        out[todo] = _to_datetime(s[todo], fmt, utc=utc)
    return out


def _day_month_order(fmt: str) -> str | None:
    """``"dmy"`` or ``"mdy"`` for a format with a numeric day and month, else None."""
    if "%d" not in fmt or "%m" not in fmt:
        return None
    return "dmy" if fmt.index("%d") < fmt.index("%m") else "mdy"


def _best_format(s: pd.Series, tried: set[str], *, utc: bool,
                 dates: DateReading) -> tuple[str | None, bool]:
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
        and not _LITERAL_MONTH.search(re.sub(r"%.", " ", f))
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


# ---------------------------------------------------------------------- local times


def _localize(values: np.ndarray, tz: str | None, groups: np.ndarray | None = None,
              gaps: np.ndarray | None = None, notes: list[str] | None = None) -> np.ndarray:
    """Naive wall times in ``tz`` -> naive UTC ``datetime64[us]``.

    A wall time that occurs twice (the autumn hour) is read from the order of the rows
    of its group (`groups`, e.g. the product; all rows when None), see
    :func:`_summer_time_flags`; where nothing in that order tells the two passes apart,
    `notes` (where given) says how they were read. One that does not exist (the spring
    hour the clocks skip) is NaT, and marked in `gaps` where given: its reports are
    rejected with that reason, not added to the next hour's bucket.
    """
    values = values.astype("datetime64[us]")
    if tz is None:
        return values
    ok = ~np.isnat(values)
    index = pd.DatetimeIndex(values[ok])
    strict = index.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    repeated = np.asarray(strict.isna())
    summer: np.ndarray | str = "NaT"
    if repeated.any():
        summer, undecided = _summer_time_flags(values[ok].view(np.int64), repeated,
                                               None if groups is None else groups[ok])
        if undecided.any() and notes is not None:
            note = _one_pass_note(values[ok][undecided], summer[undecided], tz)
            if note not in notes:
                notes.append(note)
    strict = index.tz_localize(tz, ambiguous=summer, nonexistent="NaT")
    skipped = np.asarray(strict.isna()) & ~repeated
    out = values.copy()
    out[ok] = strict.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[us]")
    if gaps is not None and skipped.any():
        gaps[np.flatnonzero(ok)[skipped]] = True
    return out


def _summer_time_flags(wall: np.ndarray, repeated: np.ndarray,
                       groups: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of a repeated autumn wall time are the first (summer-time) pass, and
    which of those rows nothing in their order decided.

    Within a group (a product's rows, in file order) whose other wall times run in one
    direction, the hour is first walked in summer time and, after the clock has gone
    back (a row earlier than one before it), in winter time; in a file sorted newest
    first it is the other way round. Where the group's other wall times never repeat
    and those of the hour come at most twice, some twice (counts per bucket), each wall
    time's first row is its first pass (its second the other), wherever the rows lie: a
    file sorted by its local-time text holds them side by side. Undecided: a group in no
    order (it takes summer time), and report times whose order never shows the clock
    going back (all one pass: summer time oldest first, winter time newest first; a file
    sorted by its local-time text looks so, whatever its reports' passes).
    """
    summer = np.ones(len(wall), dtype=bool)
    undecided = np.zeros(len(wall), dtype=bool)
    keys = np.zeros(len(wall), dtype=np.int64) if groups is None else np.asarray(groups)
    order = np.argsort(keys, kind="stable")  # each group's rows together, in file order
    bounds = np.flatnonzero(np.diff(keys[order])) + 1
    for rows in np.split(order, bounds):
        if not repeated[rows].any():
            continue
        hour = rows[repeated[rows]]
        steps = np.diff(wall[rows][~repeated[rows]])
        ascending = not (steps < 0).any()
        if not ascending and (steps > 0).any():
            undecided[hour] = True
            continue  # neither order: summer time
        times = wall[hour]
        distinct = (steps != 0).all()  # then a wall time met again is the second pass
        seen = pd.Series(times).groupby(times).cumcount().to_numpy()
        if distinct and seen.max() == 1:
            # One row per wall time and pass (counts per bucket, both passes on one
            # grid): a wall time's first row is its earlier pass, wherever it lies (a
            # file sorted by its local-time text puts the two rows of 02:05 side by
            # side, before 02:10's).
            summer[hour] = (seen == 0) if ascending else (seen >= 1)
            continue
        if ascending:
            earlier = np.maximum.accumulate(times)[:-1]
            back = (times[1:] <= earlier) if distinct else (times[1:] < earlier)
        else:  # newest first: winter time first, summer time once the clock jumps up
            later = np.minimum.accumulate(times)[:-1]
            back = (times[1:] >= later) if distinct else (times[1:] > later)
        back = np.concatenate([[False], back])
        after = np.logical_or.accumulate(back)
        summer[hour] = ~after if ascending else after
        undecided[hour] = not after.any()
    if groups is not None and undecided.any():
        # A quiet product with reports in one pass only: the whole file's order, where it
        # runs one way and shows the clock going back, tells which pass they are in.
        whole, unknown = _summer_time_flags(wall, repeated, None)
        told = undecided & ~unknown
        summer[told], undecided[told] = whole[told], False
    return summer, undecided


def _one_pass_note(wall: np.ndarray, summer: np.ndarray, tz: str) -> str:
    """What :func:`_localize` says of repeated autumn wall times (`wall`, naive) that
    their rows' order did not tell apart (`summer`: the pass each was read as)."""
    days = sorted({str(day) for day in wall.astype("datetime64[D]")})
    before, after = offsets_around(pd.Timestamp(days[0]), tz)
    read = ("its first (summer-time) pass" if summer.all() else
            "its second (winter-time) pass" if not summer.any() else
            "the pass of the summer time (a group in no order)")
    return (f"report times in the hour the clocks go back in {tz} "
            f"({', '.join(days)}) were read as {read}: nothing in the rows' order shows "
            "the clock going back (a file sorted by its local-time text looks so); where "
            "the file holds reports of both passes, some lie an hour off. Times with "
            f"their UTC offset ({before} or {after}) or in UTC read exactly")


def date_only(value: object) -> bool:
    """Whether `value` names a day, not a time: a date, or the text of a date without
    a time (``2026-01-22``, ``20260122``, ``2026/01/22``, ``Jan 22, 2026``, ``22 Jan
    2026``).

    Examples
    --------
    >>> [date_only(v) for v in ("2026-01-22", "20260122", "Jan 22, 2026", "22 Jan 2026")]
    [True, True, True, True]
    >>> [date_only(v) for v in ("2026-01-22T00:00", "2026-01-22T00", "2026-01-22 00h")]
    [False, False, False]
    """
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return True
    if isinstance(value, np.datetime64):
        return np.datetime_data(value.dtype)[0] in ("D", "W", "M", "Y")
    return isinstance(value, str) and any(form.fullmatch(value.strip()) for form in _DATES)


#: Texts of a date without a time.
_DATES = tuple(re.compile(form) for form in (
    r"\d{4}-\d{1,2}-\d{1,2}", r"\d{4}/\d{1,2}/\d{1,2}", r"\d{8}",
    r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}",
    r"[A-Za-z]{3,9}\.? \d{1,2},? \d{4}", r"\d{1,2} [A-Za-z]{3,9}\.? \d{4}"))
