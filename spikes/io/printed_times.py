"""Times as the command line prints them, read back: ``2026-01-22 20:05 CET``.

Printed times (:func:`spikes.io.zones.when`) end with the abbreviation of the display zone
at that instant (``--display-tz``), so that a person can paste one where a time is asked
for (``spikes explain --window``). An abbreviation alone names no zone (``CST``, ``IST``
name several); read in the display zone it does: it is accepted where it is that zone's
abbreviation at that wall time, and then also tells the two passes of the hour the clocks
go back apart (``02:30 CEST``, ``02:30 CET``). Any other is refused in one line.
Offsets that are printed as such (``UTC+04:00``, ``UTC``) are read by pandas itself.
"""

from __future__ import annotations

import re

import pandas as pd

from spikes.errors import SpikesInputError
from spikes.io.zones import printed_zone, zone_label

__all__ = ["split_zone_label", "time_with_label"]

# A time then a word of letters: "2026-01-22 20:05 CET".
_LABELLED = re.compile(r"\s*(?P<time>.*\d)\s+(?P<label>[A-Za-z]{2,6})\s*")
#: Words after a time that are not a printed zone's abbreviation (a 12-hour clock), or
#: that pandas reads by itself as an offset.
_NOT_LABELS = frozenset({"AM", "PM", "UTC", "GMT", "Z"})


def split_zone_label(text: object) -> tuple[str, str] | None:
    """A time and the zone abbreviation after it, as printed; None for anything else.

    Parameters
    ----------
    text : object
        A time as typed (only text is split).

    Returns
    -------
    tuple of (str, str) or None
        The time without the abbreviation, and the abbreviation (upper case).

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
    return labelled["time"], labelled["label"].upper()


def time_with_label(naive: pd.Timestamp, label: str, zone: str, what: str) -> pd.Timestamp:
    """The instant at which the clocks of `zone` show `naive` under the abbreviation
    `label` (:func:`spikes.io.zones.zone_label`), in UTC.

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

    Returns
    -------
    pd.Timestamp
        The instant printed, aware in UTC.

    Raises
    ------
    SpikesInputError
        Where `zone` is not at `label` at that wall time (another zone's
        abbreviation, the other side of a change of the clocks, an hour they skip): in
        one line.

    Examples
    --------
    >>> time_with_label(pd.Timestamp("2026-10-25 02:30"), "CET", "Europe/Berlin", "x")
    Timestamp('2026-10-25 01:30:00+0000', tz='UTC')
    >>> time_with_label(pd.Timestamp("2026-10-25 02:30"), "CEST", "Europe/Berlin", "x")
    Timestamp('2026-10-25 00:30:00+0000', tz='UTC')
    """
    passes = [naive.tz_localize(zone, ambiguous=summer, nonexistent="NaT")
              for summer in (True, False)]
    passes = [stamp for stamp in passes if not pd.isna(stamp)]
    matching = {stamp for stamp in passes if zone_label(stamp) == label}
    if len(matching) == 1:
        return matching.pop().tz_convert("UTC")
    shown = printed_zone(zone)
    if not passes:
        raise SpikesInputError(f"{what}: that time does not exist in {shown}, the zone times "
                               "are printed and read in (the hour the clocks skip)")
    labels = " or ".join(dict.fromkeys(zone_label(stamp) for stamp in passes))
    offset = f"{passes[0]:%z}"
    raise SpikesInputError(
        f"{what}: {label} is not the abbreviation of {shown} at that time ({labels}), the "
        f"zone times are printed and read in; give the time with its UTC offset "
        f"({naive:%Y-%m-%dT%H:%M}{offset[:3]}:{offset[3:]}), without a zone, or with the "
        "--display-tz of the zone it was printed in")
