"""A time a person types as an option (``explain --window``'s START and END, ``simulate
--start``), read one way: with its offset (``2026-01-22T14:00Z``, ``2026-01-22 16:00
UTC+02:00``, read by :func:`pandas.to_datetime`, which takes ``UTC+02:00`` as +02:00),
as printed with the display zone's abbreviation (``2026-01-22 15:00 CET``:
:mod:`spikes.io.printed_times`), or naive, a wall time in a given zone. A date names a
day there: its first instant, or as the end of a span its last.
"""

from __future__ import annotations

import re
import warnings

import pandas as pd

from spikes.errors import SpikesInputError
from spikes.io.printed_times import is_zone_label, split_zone_label, time_with_label
from spikes.io.timestamps import date_only
from spikes.io.zones import day_start, wall_time_in_utc

__all__ = ["parse_time", "read_typed_time", "typed_time_in_utc"]

#: Text that begins with a four-digit year (ISO-8601 and its kin): never day first.
_YEAR_FIRST = re.compile(r"\d{4}\D")


def parse_time(value: object, dayfirst: bool = False) -> pd.Timestamp:
    """A time typed, aware where it gives its offset (:func:`pandas.to_datetime`:
    ``UTC+02:00`` is +02:00), naive otherwise.

    Parameters
    ----------
    value : str or pd.Timestamp
        The time.
    dayfirst : bool
        Read a numeric date such as ``09/01/2026`` day first (not a text that begins
        with its year).

    Returns
    -------
    pd.Timestamp

    Raises
    ------
    ValueError, TypeError
        For a value that is no time.

    Examples
    --------
    >>> parse_time("2026-07-01 00:00 UTC+02:00").isoformat()
    '2026-07-01T00:00:00+02:00'
    """
    # Day first only where the text does not begin with its year (pandas reads
    # ISO 2024-10-11 as 10 November under dayfirst).
    first = dayfirst and isinstance(value, str) and not _YEAR_FIRST.match(value.strip())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return (pd.to_datetime(value, dayfirst=first) if isinstance(value, str)
                else pd.Timestamp(value))


def read_typed_time(value: object, zone: str,
                    dayfirst: bool = False) -> tuple[pd.Timestamp, str | None, bool]:
    """A time typed, with the abbreviation after it, if it has one.

    Parameters
    ----------
    value : str or pd.Timestamp
        The time.
    zone : str
        The display zone (whose abbreviations are taken for one, with the other zones').
    dayfirst : bool
        Read a numeric date day first.

    Returns
    -------
    tuple of (pd.Timestamp, str or None, bool)
        The time without the abbreviation (:func:`parse_time`), the abbreviation (None
        where a word after the time is none: the text as a whole is read), and whether
        the time is a date without a time of day.

    Raises
    ------
    ValueError, TypeError
        Where `value` (or, before an abbreviation, the rest of it) is no time.

    Examples
    --------
    >>> read_typed_time("2026-10-26 CET", "Europe/Berlin")
    (Timestamp('2026-10-26 00:00:00'), 'CET', True)
    """
    labelled = split_zone_label(value)
    if labelled is not None:
        try:
            stamp = parse_time(labelled[0], dayfirst)
        except (TypeError, ValueError):
            stamp = None
        if stamp is not None and not pd.isna(stamp) and is_zone_label(
                labelled[1], stamp.tz_localize(None), zone):
            return stamp, labelled[1], date_only(labelled[0])
    return parse_time(value, dayfirst), None, date_only(value)


def typed_time_in_utc(value: object, what: str, tz: str | None = None, *,
                      dayfirst: bool = False, display_tz: str = "UTC",
                      end: bool = False) -> pd.Timestamp:
    """A time typed (:func:`read_typed_time`) in UTC: with its offset as it is; as
    printed, in `display_tz` (:func:`spikes.io.printed_times.time_with_label`); naive,
    in `tz`. A date is the first instant of that day (:func:`spikes.io.zones.day_start`),
    with `end` its last.

    Parameters
    ----------
    value : str or pd.Timestamp
        The time.
    what : str
        Whose it is, for the messages (``"explain: start"``, ``"--start"``).
    tz : str, optional
        Zone of a naive time (default UTC).
    dayfirst : bool
        Read a numeric date day first.
    display_tz : str
        The zone times are printed in (``--display-tz``): of a time given with an
        abbreviation.
    end : bool
        The time ends a span: a date is up to the end of that day (23 to 25 hours).

    Returns
    -------
    pd.Timestamp
        Aware in UTC.

    Raises
    ------
    SpikesInputError
        In one line, for a value that is no time, a missing one, one with both an offset
        and an abbreviation, an abbreviation that is not `display_tz`'s there, or a wall
        time the clocks of `tz` skip or repeat.

    Examples
    --------
    >>> typed_time_in_utc("2026-09-05", "end", "America/Santiago", end=True)
    Timestamp('2026-09-06 03:59:59.999999+0000', tz='UTC')
    >>> typed_time_in_utc("2026-10-25 02:30 CET", "x", display_tz="Europe/Berlin")
    Timestamp('2026-10-25 01:30:00+0000', tz='UTC')
    """
    zone = tz or "UTC"
    try:
        stamp, label, day = read_typed_time(value, display_tz, dayfirst)
    except (TypeError, ValueError):
        raise SpikesInputError(f"{what} {value!r} is not a time; expected e.g. "
                               f"2026-01-22T14:05 ({zone} unless an offset is given)") from None
    if pd.isna(stamp):
        raise SpikesInputError(f"{what} is missing")
    if label is not None and stamp.tzinfo is not None:
        raise SpikesInputError(f"{what} {value!r} gives both an offset and a zone "
                               f"({label}): give one")
    if label is not None:
        zone = display_tz
        first = time_with_label(stamp, label, zone, f"{what} {value!r}", day=day)
    elif day and stamp.tzinfo is None:
        first = day_start(stamp, zone)
    else:
        return wall_time_in_utc(stamp, zone, what, str(value), sep=" ")
    if not (day and end):
        return first
    following = first.tz_convert(zone).tz_localize(None) + pd.Timedelta(days=1)
    return day_start(following, zone) - pd.Timedelta(microseconds=1)
