"""Time zones named by the user: ``--tz`` (:func:`zone_name`) and the zone a timestamp
column's name gives in brackets (:func:`header_zone`: ``Time (CET)``, ``timestamp
[Europe/Berlin]``, ``Time (UTC+01:00)``), read alike: an IANA name in any case is that
zone, with its summer time; a fixed offset (``UTC+1``, ``+01:00``) is that offset; the
abbreviations of :data:`ZONE_ABBREVIATIONS` that are no IANA name (``CEST``, ``PST``)
stand for their fixed offsets, and :func:`header_zone_note` says when the clocks of
their place differ. Abbreviations that name several zones (``IST``) are refused.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pandas as pd

from spikes.errors import SpikesInputError

ZONE_ABBREVIATIONS = {
    "EST": "-05:00", "EDT": "-04:00", "CDT": "-05:00", "MST": "-07:00", "MDT": "-06:00",
    "PST": "-08:00", "PDT": "-07:00", "AKST": "-09:00", "AKDT": "-08:00", "HST": "-10:00",
    "WET": "+00:00", "WEST": "+01:00", "BST": "+01:00", "CET": "+01:00", "CEST": "+02:00",
    "EET": "+02:00", "EEST": "+03:00", "MSK": "+03:00", "JST": "+09:00", "KST": "+09:00",
    "AEST": "+10:00", "AEDT": "+11:00", "NZST": "+12:00", "NZDT": "+13:00",
    "MEZ": "+01:00", "MESZ": "+02:00",  # German: CET and CEST
}
"""Zone abbreviations after a time read as their UTC offsets; ambiguous ones (``CST``:
US Central or China, ``IST``: India, Ireland or Israel) are not, and such a time is
rejected as not a date unless ``tz`` says where it is."""
ZONE_PLACES = {
    "EST": "America/New_York", "EDT": "America/New_York", "CDT": "America/Chicago",
    "MST": "America/Denver", "MDT": "America/Denver", "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles", "AKST": "America/Anchorage", "AKDT": "America/Anchorage",
    "WET": "Europe/Lisbon", "WEST": "Europe/Lisbon", "BST": "Europe/London",
    "CET": "Europe/Berlin", "CEST": "Europe/Berlin", "MEZ": "Europe/Berlin",
    "MESZ": "Europe/Berlin", "EET": "Europe/Athens", "EEST": "Europe/Athens",
    "AEST": "Australia/Sydney", "AEDT": "Australia/Sydney", "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
}
"""An IANA zone with summer time whose clocks each abbreviation of
:data:`ZONE_ABBREVIATIONS` names for part of the year (suggested to pass as ``--tz``;
abbreviations of zones without summer time, ``JST``, are not listed)."""
#: Words of a column name that name an IANA zone by another name (German MEZ is CET).
_HEADER_NAMES = {"MEZ": "CET", "Z": "UTC"}
# A zone in brackets at the end of a column name: "Time (CET)", "timestamp [UTC+01:00]".
_HEADER_ZONE = re.compile(r"[(\[]\s*([A-Za-z][\w/:+-]*)\s*[)\]]\s*$")
# Any words in brackets at the end of a column name: "Time (local time)".
_HEADER_WORDS = re.compile(r"[(\[]\s*([^()\[\]]*?)\s*[)\]]\s*$")
# A fixed offset as --tz: "UTC+1", "GMT-05:30", "+01:00", "-0500".
_OFFSET_ARGUMENT = re.compile(r"(?:UTC|GMT)?\s*(?P<sign>[+-])\s*(?P<hours>\d{1,2})"
                              r"(?::?(?P<minutes>[0-5]\d))?", re.IGNORECASE)
#: Hours of the largest UTC offset a zone has (Kiribati: +14:00).
_MAX_OFFSET_HOURS = 14
AMBIGUOUS_ZONES = {
    "CST": "US Central (-06:00), China (+08:00) or Cuba (-05:00)",
    "IST": "India (+05:30), Ireland (+01:00) or Israel (+02:00)",
    "AST": "Atlantic (-04:00) or Arabia (+03:00)",
}
"""Abbreviations that name several zones, with them (not read from a column name)."""
AMBIGUOUS_ZONE_NAMES = {
    "CST": "America/Chicago, Asia/Shanghai or America/Havana",
    "IST": "Asia/Kolkata, Europe/Dublin or Asia/Jerusalem",
    "AST": "America/Halifax or Asia/Riyadh",
}
"""The IANA names of the zones each of :data:`AMBIGUOUS_ZONES` stands for, in its order."""
_UTC_OFFSET = re.compile(r"(?:UTC|GMT)\s*(?P<sign>[+-])\s*(?P<hours>\d{1,2})"
                         r"(?::?(?P<minutes>[0-5]\d))?", re.IGNORECASE)


def zone_name(tz: str | None) -> str | None:
    """The time zone `tz` names, spelt as spikes uses it (None for None): an IANA name in
    any case (``europe/berlin`` is ``Europe/Berlin``, ``utc`` is ``UTC``), or a fixed
    offset written as a column name or a time gives it (``UTC+1``, ``UTC+01:00``,
    ``+01:00``, ``GMT-5``), as ``Etc/GMT-1`` (whole hours) or ``+05:30``.

    Raises
    ------
    SpikesInputError
        For anything else, with the zone it may mean where one is close.

    Examples
    --------
    >>> [zone_name(z) for z in ("europe/berlin", "utc", "UTC+1", "+01:00", "-05:30")]
    ['Europe/Berlin', 'UTC', 'Etc/GMT-1', 'Etc/GMT-1', '-05:30']
    """
    if tz is None:
        return None
    text = str(tz).strip()
    fixed = _OFFSET_ARGUMENT.fullmatch(text)
    if fixed is not None:
        zone = _offset_zone(fixed)
        if zone is None:
            raise SpikesInputError(f"unknown time zone {tz!r}: an offset of more than "
                                   f"{_MAX_OFFSET_HOURS} hours, which no zone has")
        return zone
    zone = _iana_name(text)
    if zone is None:
        raise SpikesInputError(_unknown_zone(str(tz), text))
    return zone


#: Names of the zone UTC (and of zones always at its time): a zone chosen to read times
#: in (``--display-tz``, a route's ``tz``) by one of them is ``"UTC"``
#: (:func:`spelt_zone`), so that times written in UTC are shown as without a choice.
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal",
                       "Etc/Zulu", "Zulu", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0",
                       "GMT", "GMT0", "GMT+0", "GMT-0", "Etc/Greenwich", "Greenwich"})


def spelt_zone(value: str, whose: str) -> str:
    """The zone a person chose to read times in (``--display-tz``, a route's ``tz``),
    read as :func:`zone_name` reads it and spelt as spikes uses it; every name of UTC
    (:data:`UTC_NAMES`, ``+00:00``) as ``"UTC"``.

    Parameters
    ----------
    value : str
        The zone as given: an IANA name in any case (``europe/berlin``) or a fixed
        offset (``UTC+01:00``, ``+05:30``).
    whose : str
        Whose value it is, put before the error (``--display-tz``,
        ``spikes.toml: [[notify]] #2 (name = 'berlin'): tz``).

    Returns
    -------
    str
        The zone.

    Raises
    ------
    SpikesInputError
        For a value that names no zone: ``{whose}: unknown time zone ...``.

    Examples
    --------
    >>> spelt_zone("europe/berlin", "--display-tz"), spelt_zone("Etc/Zulu", "x")
    ('Europe/Berlin', 'UTC')
    >>> spelt_zone("+00:00", "x"), spelt_zone("UTC+1", "x")
    ('UTC', 'Etc/GMT-1')
    """
    try:
        zone = zone_name(value) or "UTC"
    except SpikesInputError as exc:
        raise SpikesInputError(f"{whose}: {exc}") from None
    return "UTC" if zone in UTC_NAMES else zone


def printed_zone(zone: str) -> str:
    """A zone of :func:`zone_name` written for people: fixed offsets as ``UTC+01:00``
    (the database's ``Etc/GMT-1`` has the sign inverted), other zones by their name.

    Parameters
    ----------
    zone : str
        A zone as :func:`zone_name` spells it.

    Returns
    -------
    str
        The text to print.

    Examples
    --------
    >>> [printed_zone(z) for z in ("Etc/GMT+3", "Etc/GMT-1", "+05:30", "Europe/Berlin", "UTC")]
    ['UTC-03:00', 'UTC+01:00', 'UTC+05:30', 'Europe/Berlin', 'UTC']
    """
    etc = _ETC_OFFSET.fullmatch(zone)
    if etc is not None:
        return f"UTC{'-' if etc['sign'] == '+' else '+'}{int(etc['hours']):02d}:00"
    return f"UTC{zone}" if zone[:1] in ("+", "-") else zone


# The database's zones of whole-hour offsets, with their sign inverted ("Etc/GMT-1").
_ETC_OFFSET = re.compile(r"Etc/GMT(?P<sign>[+-])(?P<hours>\d{1,2})")


def check_tz(tz: str | None) -> None:
    """Refuse a ``tz`` that is not a time zone spelt as spikes uses it (None is UTC):
    an unknown one, or one :func:`zone_name` would spell otherwise (``europe/berlin``:
    the callers that accept such spellings pass ``zone_name(tz)``)."""
    name = zone_name(tz)
    if name != tz:
        raise SpikesInputError(f"time zone {tz!r}: write it {name!r}")


@cache
def _zone_keys() -> dict[str, str]:
    """The IANA zone names, by their lower case."""
    return {name.lower(): name for name in available_timezones()}


def _iana_name(word: str) -> str | None:
    """The IANA zone `word` names in any case, as the database spells it; None if none."""
    name = _zone_keys().get(word.lower())
    if name is not None:
        return name
    try:  # a key of the database that is no zone of its list ("posix/Europe/Berlin")
        ZoneInfo(word)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        return None
    return word


def _offset_zone(fixed: re.Match[str]) -> str | None:
    """The zone of a fixed offset (:data:`_OFFSET_ARGUMENT`, :data:`_UTC_OFFSET`): ``UTC``,
    ``Etc/GMT-1`` for +01:00, ``+05:30``; None beyond any zone's offset."""
    minutes = int(fixed["hours"]) * 60 + int(fixed["minutes"] or 0)
    if minutes > _MAX_OFFSET_HOURS * 60:
        return None
    sign = -1 if fixed["sign"] == "-" else 1
    if minutes % 60 == 0:
        return "UTC" if minutes == 0 else f"Etc/GMT{-sign * minutes // 60:+d}"
    return f"{fixed['sign']}{minutes // 60:02d}:{minutes % 60:02d}"


def _unknown_zone(tz: str, text: str) -> str:
    """The message of an unknown ``tz``, with the zone it may mean."""
    word = text.upper()
    head = f"unknown time zone {tz!r}"
    if word in AMBIGUOUS_ZONES:
        return (f"{head}: it stands for {AMBIGUOUS_ZONES[word]}; pass the IANA name of the "
                f"zone meant: {AMBIGUOUS_ZONE_NAMES[word]}")
    if word in ZONE_ABBREVIATIONS:
        offset = ZONE_ABBREVIATIONS[word]
        place = ZONE_PLACES.get(word)
        named = f"an IANA name such as {place} (with its clock changes) or " if place else ""
        return f"{head}: an abbreviation of UTC{offset}; pass {named}the offset UTC{offset}"
    close = difflib.get_close_matches(text.lower(), list(_zone_keys()), n=1, cutoff=0.8)
    hint = f" (did you mean {_zone_keys()[close[0]]}?)" if close else ""
    return (f"{head}: expected an IANA name such as America/New_York or UTC, or an offset "
            f"such as UTC+01:00{hint}")


def names_zone(name: str) -> bool:
    """Whether a column name gives a zone in brackets (:func:`header_zone`), an ambiguous
    one (``Time (IST)``) included."""
    unit = _HEADER_ZONE.search(name)
    return unit is not None and (unit[1].upper() in AMBIGUOUS_ZONES
                                 or header_zone(name) is not None)


def header_zone(name: str, *, where: str | None = None) -> str | None:
    """The time zone a column name gives in brackets (``Time (CET)``, ``timestamp
    [Europe/Berlin]``, ``Time (UTC+01:00)``), if any: ``UTC`` or ``GMT`` with an offset as
    that offset; an IANA name, in any case, as that zone, as ``--tz`` reads it (``CET``,
    ``EET``, ``WET``, ``MET``, ``EST5EDT``: with their summer time; German ``MEZ`` as
    ``CET``); the other abbreviations of :data:`ZONE_ABBREVIATIONS` (``CEST``, ``PST``,
    ``BST``) as the fixed offsets they stand for after a time (see
    :func:`header_zone_note`).

    Raises
    ------
    SpikesInputError
        With `where` (the file), for an abbreviation that names several zones
        (:data:`AMBIGUOUS_ZONES`): its times would otherwise be read as UTC.
    """
    unit = _HEADER_ZONE.search(name)
    if unit is None:
        return None
    fixed = _UTC_OFFSET.fullmatch(unit[1])
    if fixed is not None:
        zone = _offset_zone(fixed)
        if zone is None and where is not None:
            raise SpikesInputError(
                f"{where}: the timestamp column {name!r} names an offset of more than "
                "14 hours, which no zone has: pass --tz with the zone of its times")
        return zone
    word = unit[1].upper()
    zone = _iana_name(_HEADER_NAMES.get(word, unit[1]))
    if zone is not None:
        return zone
    offset = ZONE_ABBREVIATIONS.get(word)
    if offset is not None:  # as after a time: a fixed offset ("PST" = -08:00)
        hours = int(offset[:3])
        return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
    if where is not None and word in AMBIGUOUS_ZONES:
        raise SpikesInputError(
            f"{where}: the timestamp column {name!r} names the zone {unit[1]!r}, which "
            f"stands for {AMBIGUOUS_ZONES[word]}: pass --tz with the zone "
            f"it means (its IANA name: {AMBIGUOUS_ZONE_NAMES[word]})")
    return None


def header_zone_note(name: str, stamps: pd.Series) -> str | None:
    """What a column name leaves open about its times when they are read with the zone
    it gives (:func:`header_zone`), for a note; None where nothing is.

    Two cases are said: words in brackets that name no zone spikes knows (``Time
    (local)``: the times are read as UTC), and an abbreviation read as a fixed offset
    (``Time (PST)``) where the zone whose clocks it names (:data:`ZONE_PLACES`) is at
    another offset for some of the times (`stamps`, UTC): summer time, if the times
    follow the clock.

    Examples
    --------
    >>> stamps = pd.Series(pd.to_datetime(["2026-01-05", "2026-07-01"], utc=True))
    >>> header_zone_note("Time (local)", stamps).split(":")[0]
    "the column name 'Time (local)' names no time zone spikes knows ('local')"
    >>> header_zone_note("Time (CEST)", stamps).split(": ")[1]
    'if they follow the clock, pass --tz Europe/Berlin'
    >>> header_zone_note("Time (CEST)", stamps.iloc[1:]) is None  # summer only
    True
    """
    words = _HEADER_WORDS.search(name)
    if words is None:
        return None
    zone = header_zone(name)
    if zone is None:
        return (f"the column name {name!r} names no time zone spikes knows ({words[1]!r}): "
                "its times are read as UTC; pass --tz with their zone (an IANA name such "
                "as Europe/Berlin)")
    word = words[1].upper()
    place = ZONE_PLACES.get(word)
    if place is None or not _off_clock(stamps, place, zone):
        return None
    offset = ZONE_ABBREVIATIONS[word]
    return (f"the column name {name!r} gives the fixed offset UTC{offset} all year, but "
            f"{place} is at another offset for some of its times (summer or winter time): "
            f"if they follow the clock, pass --tz {place}")


def _off_clock(stamps: pd.Series, place: str, zone: str) -> bool:
    """Whether the clocks of `place` are at another offset than those of the fixed
    `zone` at some of `stamps` (UTC): probed at the first and last and a week apart."""
    seen = pd.DatetimeIndex(stamps.dropna())
    if seen.empty:
        return False
    first, last = seen.min(), seen.max()
    probes = pd.date_range(first, last, freq="7D").append(pd.DatetimeIndex([last]))
    naive = probes.tz_localize(None)
    offsets = probes.tz_convert(place).tz_localize(None) - naive
    fixed = probes.tz_convert(zone).tz_localize(None) - naive
    return bool((offsets != fixed).any())


def wall_time_in_utc(stamp: pd.Timestamp, tz: str | None, where: str,
                     text: str | None = None, *, sep: str = ": ") -> pd.Timestamp:
    """A time read from a file or an option in UTC: an aware `stamp` as it is, a naive one
    as a wall-clock time in the zone `tz` (UTC when None).

    Parameters
    ----------
    stamp : pd.Timestamp
        The time read (naive where its text gave no offset).
    tz : str or None
        The zone of naive times (``--tz``).
    where : str
        Where the time comes from, for the message (``"cal.csv, line 2, column start"``,
        ``"--demo-from"``).
    text : str, optional
        The time as written, for the message (default: `stamp` to the minute, as
        ``2026-03-29 02:30``).
    sep : str
        What the message writes between `where` and the time: ``": "`` after a place in
        a file, ``" "`` after an option (``--start '2026-03-29 02:30' cannot be ...``).

    Returns
    -------
    pd.Timestamp
        The time, aware in UTC.

    Raises
    ------
    SpikesInputError
        In one line naming `where`, the time and the zone, for a wall time the clocks of
        `tz` skip or repeat (with the offsets to give it with), or a zone that is none.

    Examples
    --------
    >>> wall_time_in_utc(pd.Timestamp("2026-03-29 01:30"), "Europe/Berlin", "x")
    Timestamp('2026-03-29 00:30:00+0000', tz='UTC')
    >>> try:
    ...     wall_time_in_utc(pd.Timestamp("2026-03-29 02:30"), "Europe/Berlin", "x")
    ... except SpikesInputError as exc:
    ...     print(str(exc).replace(" (", "\\n("))
    x: '2026-03-29 02:30' cannot be read in time zone 'Europe/Berlin'
    (it does not exist there, the hour the clocks skip): give it with its UTC offset
    (2026-03-29T02:30 then +01:00 or +02:00)
    """
    if stamp.tzinfo is not None:
        return stamp.tz_convert("UTC")
    zone = tz or "UTC"
    shown = repr(text) if text is not None else repr(f"{stamp:%Y-%m-%d %H:%M}")
    head = f"{where}{sep}{shown} cannot be read in time zone {zone!r}"
    try:
        local = stamp.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    except Exception as exc:  # noqa: BLE001 - a zone that is none: said as pandas says it
        raise SpikesInputError(f"{head} ({exc})") from None
    if not pd.isna(local):
        return local.tz_convert("UTC")
    repeated = not pd.isna(stamp.tz_localize(zone, ambiguous=True, nonexistent="NaT"))
    why = ("it occurs twice there, the hour the clocks go back" if repeated else
           "it does not exist there, the hour the clocks skip")
    offsets = " or ".join(offsets_around(stamp, zone))
    raise SpikesInputError(f"{head} ({why}): give it with its UTC offset "
                           f"({stamp:%Y-%m-%dT%H:%M} then {offsets})")


def offsets_around(day: pd.Timestamp, tz: str) -> tuple[str, str]:
    """The UTC offsets of `tz` before and after the clocks change on `day` (naive), as
    written after a time: those of the noons of the days before and after it (a midnight
    can be the changing hour itself).

    Examples
    --------
    >>> offsets_around(pd.Timestamp("2024-10-27"), "Europe/Berlin")
    ('+02:00', '+01:00')
    """
    noon = pd.Timestamp(day).normalize()
    return tuple(  # type: ignore[return-value]
        (noon + pd.Timedelta(hours=h)).tz_localize(tz).isoformat()[-6:] for h in (-12, 36))


def when(stamp: object, zone: str = "UTC") -> str:
    """A time as printed for people: ``2026-01-22 20:05 CET`` in `zone` (naive times
    are UTC), with its zone's abbreviation (the command line's ``--display-tz``); empty
    for a missing one.

    Examples
    --------
    >>> import pandas as pd
    >>> when(pd.Timestamp("2026-01-22 19:05", tz="UTC"), "Europe/Berlin")
    '2026-01-22 20:05 CET'
    >>> when(pd.Timestamp("2026-01-22 19:05"), "Etc/GMT-4"), when(None)
    ('2026-01-22 23:05 UTC+04:00', '')
    """
    if stamp is None or pd.isna(stamp):
        return ""
    moment = pd.Timestamp(stamp)
    if moment.tzinfo is None:
        moment = moment.tz_localize("UTC")
    local = moment.tz_convert(zone)
    return f"{local:%Y-%m-%d %H:%M} {zone_label(local)}"


def when_column(values: pd.Series, zone: str = "UTC") -> pd.Series:
    """:func:`when` of each time of a column (aware, or naive UTC), keeping its index
    (one by one, about 30 us a time: for the rows a person reads, not whole tables).

    Examples
    --------
    >>> stamps = pd.Series(pd.to_datetime(["2026-03-29 00:30", None, "2026-03-29 01:30"],
    ...                                   utc=True))
    >>> when_column(stamps, "Europe/Berlin").tolist()
    ['2026-03-29 01:30 CET', '', '2026-03-29 03:30 CEST']
    """
    return values.map(lambda stamp: when(stamp, zone)).astype(object)


def zone_label(local: pd.Timestamp) -> str:
    """The zone of a local (aware) time as printed: its abbreviation where the zone has
    one (``CET``, ``EST``, ``IST``, ``UTC``), else its offset (``UTC-03:00``: zones of
    the database whose abbreviation is a number, ``-03``).

    Parameters
    ----------
    local : pd.Timestamp
        A time, aware in its zone.

    Returns
    -------
    str
        The abbreviation, or ``UTC±HH:MM``.

    Examples
    --------
    >>> stamp = pd.Timestamp("2026-07-01 12:00", tz="UTC")
    >>> zone_label(stamp.tz_convert("Europe/Berlin")), zone_label(stamp.tz_convert(
    ...     "America/Sao_Paulo"))
    ('CEST', 'UTC-03:00')
    """
    name = local.strftime("%Z")
    if name[:1].isalpha():
        return name
    return f"UTC{utc_offset(local)}"


def utc_offset(local: datetime) -> str:
    """The UTC offset of a local (aware) time as written after a time: ``+02:00``.

    Parameters
    ----------
    local : datetime.datetime
        A time, aware in its zone (a :class:`pandas.Timestamp` too).

    Returns
    -------
    str
        ``±HH:MM``.

    Examples
    --------
    >>> utc_offset(pd.Timestamp("2026-07-01 12:00", tz="America/St_Johns"))
    '-02:30'
    """
    offset = f"{local:%z}"
    return f"{offset[:3]}:{offset[3:5]}"


def day_start(day: pd.Timestamp, tz: str) -> pd.Timestamp:
    """The first instant of a day in the zone `tz`, in UTC: its midnight, or where the
    clocks skip midnight the first time they show that day (``01:00`` in
    America/Santiago on 2026-09-06), or where they repeat it the first pass.

    Parameters
    ----------
    day : pd.Timestamp
        The day (naive; its time of day is ignored).
    tz : str
        The zone.

    Returns
    -------
    pd.Timestamp
        Aware in UTC.

    Examples
    --------
    >>> day_start(pd.Timestamp("2026-09-06"), "America/Santiago")
    Timestamp('2026-09-06 04:00:00+0000', tz='UTC')
    >>> day_start(pd.Timestamp("2026-09-05"), "America/Santiago")
    Timestamp('2026-09-05 04:00:00+0000', tz='UTC')
    """
    midnight = pd.Timestamp(day).normalize()
    return min(midnight.tz_localize(tz, ambiguous=first, nonexistent="shift_forward")
               for first in (True, False)).tz_convert("UTC")
