"""Times as the command line prints them, read back: ``2026-01-22 20:05 CET``.

Printed times (:func:`spikes.io.zones.when`) end with the abbreviation of the display zone
at that instant (``--display-tz``), so that a person can paste one where a time is asked
for (``spikes explain --window``, ``spikes simulate --start``). An abbreviation alone names
no zone (``CST``, ``IST`` name several); read in the display zone it does: it is accepted
where it is that zone's abbreviation at that wall time, in any case (``ChST``, ``chst``),
and then also tells the two passes of the hour the clocks go back apart (``02:30 CEST``,
``02:30 CET``). Any other is refused in one line. A word after a time is taken for an
abbreviation only where some zone of the tz database has it that year
(:func:`zone_abbreviations`; German ``MEZ`` and ``MESZ`` are ``CET`` and ``CEST``):
``12:00 today`` stays no time. Offsets that are printed as such (``UTC+04:00``, ``UTC``)
are read by :func:`pandas.to_datetime` itself (not by :class:`pandas.Timestamp`, which
reads ``UTC+04:00`` the POSIX way, as -04:00): see :mod:`spikes.io.typed_times`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import pandas as pd

from spikes.errors import SpikesInputError
from spikes.io.zones import AMBIGUOUS_ZONES, day_start, printed_zone, utc_offset, zone_label

__all__ = ["split_zone_label", "time_with_label", "zone_abbreviations"]

# A time then a word of letters: "2026-01-22 20:05 CET".
_LABELLED = re.compile(r"\s*(?P<time>.*\d)\s+(?P<label>[A-Za-z]{2,6})\s*")
#: Words after a time that are not a printed zone's abbreviation (a 12-hour clock), or
#: that pandas reads by itself as an offset.
_NOT_LABELS = frozenset({"AM", "PM", "UTC", "GMT", "Z"})
#: Other names of abbreviations (German), as the file readers take them.
_ALIASES = {"MEZ": "CET", "MESZ": "CEST"}


def split_zone_label(text: object) -> tuple[str, str] | None:
    """A time and the word after it that may be a zone's abbreviation, as printed; None
    for anything else (whether the word is one depends on the year:
    :func:`zone_abbreviations`).

    Parameters
    ----------
    text : object
        A time as typed (only text is split).

    Returns
    -------
    tuple of (str, str) or None
        The time without the word, and the word as written.

    Examples
    --------
    >>> split_zone_label("2026-01-22 20:05 CET"), split_zone_label("2026-01-22 20:05")
    (('2026-01-22 20:05', 'CET'), None)
    >>> split_zone_label("1/22/2026 7:05 PM"), split_zone_label("2026-01-22 20:05 UTC")
    (None, None)
    """
    if not isinstance(text, str):
        return None
    labelled = _LABELLED.fullmatch(text)
    if labelled is None or labelled["label"].upper() in _NOT_LABELS:
        return None
    return labelled["time"], labelled["label"]


@cache
def zone_abbreviations(year: int) -> dict[str, tuple[str, frozenset[str]]]:
    """The abbreviations the zones of the tz database print in `year` (at the start of
    January and of July: winter and summer on either side of the equator), by their upper
    case, with their spelling and the UTC offsets they stand for; ``MEZ`` and ``MESZ``
    too. About 0.1 s the first time (every zone is loaded).

    Parameters
    ----------
    year : int
        The year.

    Returns
    -------
    dict
        ``{"CEST": ("CEST", frozenset({"+02:00"})), "CHST": ("ChST", ...), ...}``.

    Examples
    --------
    >>> known = zone_abbreviations(2026)
    >>> known["CHST"][0], sorted(known["CEST"][1]), "TODAY" in known
    ('ChST', ['+02:00'], False)
    """
    found: dict[str, tuple[str, set[str]]] = {}
    for name in available_timezones():
        zone = ZoneInfo(name)
        for month in (1, 7):
            local = datetime(year, month, 1, 12, tzinfo=UTC).astimezone(zone)
            label = local.tzname() or ""
            if label.isalpha():  # not "-03", where the database has no name
                found.setdefault(label.upper(), (label, set()))[1].add(utc_offset(local))
    for alias, label in _ALIASES.items():
        if label in found:
            found[alias] = (alias, found[label][1])
    return {key: (spelt, frozenset(offsets)) for key, (spelt, offsets) in found.items()}


def is_zone_label(label: str, naive: pd.Timestamp, zone: str) -> bool:
    """Whether the word `label` after the wall time `naive` is a zone's abbreviation: one
    of :func:`zone_abbreviations` that year, or of the display zone `zone` then."""
    key = label.upper()
    return key in zone_abbreviations(naive.year) or any(
        zone_label(stamp).upper() == key for stamp in _passes(naive, zone))


def time_with_label(naive: pd.Timestamp, label: str, zone: str, what: str, *,
                    day: bool = False) -> pd.Timestamp:
    """The instant at which the clocks of `zone` show `naive` under the abbreviation
    `label` (:func:`spikes.io.zones.zone_label`, in any case), in UTC.

    Parameters
    ----------
    naive : pd.Timestamp
        The wall time.
    label : str
        The abbreviation written after it (``CET``).
    zone : str
        The zone times are printed in (``--display-tz``).
    what : str
        The time as given and whose it is, for the message (``"explain: start
        '2026-01-22 20:05 CET'"``).
    day : bool
        `naive` is a date (``2026-10-25 CET``): `label` must be that of `zone` at the
        start or at the end of that day, and the day's first instant is returned
        (:func:`spikes.io.zones.day_start`).

    Returns
    -------
    pd.Timestamp
        The instant printed, aware in UTC.

    Raises
    ------
    SpikesInputError
        Where `zone` is not at `label` at that wall time (another zone's
        abbreviation, the other side of a change of the clocks, an hour they skip): in
        one line, with the UTC offset `label` stands for where it stands for one, and
        the display zone's there, each said whose it is.

    Examples
    --------
    >>> time_with_label(pd.Timestamp("2026-10-25 02:30"), "CET", "Europe/Berlin", "x")
    Timestamp('2026-10-25 01:30:00+0000', tz='UTC')
    >>> time_with_label(pd.Timestamp("2026-10-25 02:30"), "cest", "Europe/Berlin", "x")
    Timestamp('2026-10-25 00:30:00+0000', tz='UTC')
    """
    key = _ALIASES.get(label.upper(), label.upper())
    if day:
        first = day_start(naive, zone)
        passes = [first.tz_convert(zone), (day_start(naive + pd.Timedelta(days=1), zone)
                                           - pd.Timedelta(microseconds=1)).tz_convert(zone)]
        if any(zone_label(stamp).upper() == key for stamp in passes):
            return first
    else:
        passes = _passes(naive, zone)
        matching = {stamp for stamp in passes if zone_label(stamp).upper() == key}
        if len(matching) == 1:
            return matching.pop().tz_convert("UTC")
    raise SpikesInputError(_refusal(naive, label, zone, what, passes, day))


def _passes(naive: pd.Timestamp, zone: str) -> list[pd.Timestamp]:
    """The instants at which the clocks of `zone` show `naive` (none, one or two)."""
    passes = [naive.tz_localize(zone, ambiguous=summer, nonexistent="NaT")
              for summer in (True, False)]
    return list(dict.fromkeys(stamp for stamp in passes if not pd.isna(stamp)))


def _refusal(naive: pd.Timestamp, label: str, zone: str, what: str,
             passes: list[pd.Timestamp], day: bool) -> str:
    """The message of :func:`time_with_label` refusing `label` after `naive`: what the
    display zone is there, and what to write instead."""
    known = zone_abbreviations(naive.year).get(label.upper())
    spelt = known[0] if known else label
    shown = printed_zone(zone)
    if passes:
        there = " or ".join(dict.fromkeys(f"{zone_label(stamp)}, {utc_offset(stamp)}"
                                          for stamp in passes))
        head = (f"{what}: {spelt} is not the abbreviation of {shown} "
                f"{'on that day' if day else 'at that time'} ({there}), the zone times "
                "are printed and read in")
    else:
        before, after = (utc_offset(stamp) for stamp in (
            naive.tz_localize(zone, nonexistent="shift_backward"),
            naive.tz_localize(zone, nonexistent="shift_forward")))
        head = (f"{what}: that time does not exist in {shown}, the zone times are printed "
                f"and read in (the hour the clocks skip: from {before} to {after} there)")
    offsets = sorted(known[1]) if known else []
    if len(offsets) == 1 and label.upper() not in AMBIGUOUS_ZONES and not day:
        return (f"{head}; {spelt} is UTC{offsets[0]}: write {naive:%Y-%m-%dT%H:%M}"
                f"{offsets[0]} for that time, or give the --display-tz of the zone it was "
                "printed in")
    several = AMBIGUOUS_ZONES.get(label.upper()) or (
        ", ".join(f"UTC{offset}" for offset in offsets) if len(offsets) > 1 else "")
    stands = f"; {spelt} stands for {several}" if several else ""
    return (f"{head}{stands}; give the time with the UTC offset of the zone it was "
            "printed in, without a zone, or with the --display-tz of that zone")
