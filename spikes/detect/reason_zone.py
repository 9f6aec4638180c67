"""The ``why`` of an incident with its times in the zone a person reads.

Reasons are written in UTC (:mod:`spikes.detect.reasons`), and so are the files that
hold them: a file is the same whoever wrote it. The command line prints times in the
zone of ``--display-tz``; :func:`reason_in_zone` gives a reason's times there too. They
are all in its first part, the product's own evidence: the time of day of the peak (and
the weekday it is compared on), when the incident started and when it was raised
(``... usual on a Sunday at 13:00 UTC (15x, p < 1e-30); started 12:55, raised 13:10``).
The event's part says durations only and the part of what people report no time.

The times are found by writing them in UTC as :mod:`spikes.detect.reasons` does, from
the incident's own ``peak``, ``onset`` and ``alerted_at``, and put back in the zone: a
text in which they are not found (edited, or of another incident) is left alone and
said so (None), never half rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from spikes.detect.reasons import DAY_US, WEEKDAYS, clock_text, micros
from spikes.io.zones import zone_label

__all__ = ["reason_in_zone", "reason_shown", "reason_unplaced"]


def reason_shown(incident: Mapping[str, object], zone: str) -> str:
    """The ``why`` of `incident` as shown to a person reading times in `zone`: with its
    times there (:func:`reason_in_zone`), or as written ending "(times in UTC)" where
    they cannot be placed; empty without one.

    Parameters
    ----------
    incident : Mapping
        An incident: its ``why`` (UTC) and the times it gives (``product``, ``onset``,
        ``peak``, ``alerted_at``).
    zone : str
        The zone to show the times in (``--display-tz``, the dashboard's time zone).

    Returns
    -------
    str
        The text to show.

    Examples
    --------
    >>> reason_shown({"product": "A", "onset": None, "why": "B: edited"}, "Asia/Tokyo")
    'B: edited (times in UTC)'
    >>> reason_shown({"why": float("nan")}, "Asia/Tokyo")
    ''
    """
    why = incident.get("why")
    if why is None or pd.isna(why) or not str(why):
        return ""
    local = reason_in_zone(str(why), incident, zone)
    return local if local is not None else reason_unplaced(str(why))


def reason_unplaced(why: str) -> str:
    """A reason whose times cannot be given in another zone, as written and saying so.

    Parameters
    ----------
    why : str
        The reason (its times in UTC).

    Returns
    -------
    str
        `why` ending " (times in UTC)".

    Examples
    --------
    >>> reason_unplaced("B: 9 reports at 19:10 UTC")
    'B: 9 reports at 19:10 UTC (times in UTC)'
    """
    return f"{why} (times in UTC)"


def reason_in_zone(why: str, incident: Mapping[str, object], zone: str) -> str | None:
    """`why`, the reason of `incident` as written in UTC, with its times in `zone`.

    The peak's time of day is given with the zone's abbreviation (``at 15:00 CEST``) and
    on its weekday there; the times the incident started and was raised are given as in
    UTC, with their date where it is not the peak's day and with their abbreviation where
    it is not the peak's (the clocks changed in between); the alert also where its day or
    abbreviation is not the start's, so that it never reads as in the start's zone or on
    its day (``started 02:50 CEST, raised 02:20 CET``). The time of a product in local
    days (``at 01:10 UTC+09:00 (16:10 UTC)``) keeps its own zone; the UTC time beside it
    is given in `zone`.

    Parameters
    ----------
    why : str
        The reason (the ``why`` of an incidents table, in UTC).
    incident : Mapping
        Its incident: ``product``, ``onset``, ``peak`` and ``alerted_at`` (aware, or
        naive UTC; missing ones NaT).
    zone : str
        The zone to give the times in (an IANA name or a fixed offset, as
        :func:`spikes.cli.display.display_zone` spells it).

    Returns
    -------
    str or None
        The reason in `zone` (`why` itself for UTC or an empty text); None where its
        times are not those of `incident`: the caller says that it is in UTC.

    Examples
    --------
    >>> incident = {"product": "Outlook", "onset": pd.Timestamp("2026-01-22 19:00Z"),
    ...             "peak": pd.Timestamp("2026-01-22 19:10Z"),
    ...             "alerted_at": pd.Timestamp("2026-01-22 19:10Z")}
    >>> print(reason_in_zone("Outlook: 90 reports in 5 min against 6.0 usual on a "
    ...                      "Thursday at 19:10 UTC (15x, p < 1e-30); started 19:00, "
    ...                      "raised 19:10.", incident, "Asia/Tokyo").replace("; ", "\\n"))
    Outlook: 90 reports in 5 min against 6.0 usual on a Friday at 04:10 JST (15x, p < 1e-30)
    started 04:00, raised 04:10.
    """
    if not why or zone == "UTC":
        return why
    head = f"{incident.get('product')}: "
    onset = _utc(incident.get("onset"))
    if not why.startswith(head) or onset is None:
        return None
    body = why[len(head):]
    # Before a bucket of it closed, only its start is known: "started 19:00 UTC".
    unknown = f"started {clock_text(micros(onset), micros(onset))} UTC"
    if body.startswith(unknown) and body[len(unknown):][:1] in ("", ";", "."):
        return f"{head}started {_local_clock(onset, onset, zone, named=True)}" + \
            body[len(unknown):]
    peak = _utc(incident.get("peak"))
    if peak is None:
        return None
    body = _swap_peak(body, peak, zone)
    if body is None:
        return None
    body = _swap_start(body, onset, peak, _utc(incident.get("alerted_at")), zone)
    return None if body is None else head + body


def _swap_peak(body: str, peak: pd.Timestamp, zone: str) -> str | None:
    """`body` with the peak's time (and weekday) in `zone`; None where not found."""
    us = micros(peak)
    at = f"{clock_text(us, us)} UTC"
    local = _local_clock(peak, peak, zone, named=True)
    utc_day = WEEKDAYS[(us // DAY_US + 3) % 7]  # 1970-01-01 was a Thursday
    local_day = WEEKDAYS[peak.tz_convert(zone).weekday()]
    for old, new in ((f" usual on a {utc_day} at {at} (", f" usual on a {local_day} at {local} ("),
                     (f" (its first day of data) at {at} (",
                      f" (its first day of data) at {local} ("),
                     (f" ({at}) (", f" ({local}) (")):  # beside a product's local time
        if old in body:
            return body.replace(old, new, 1)
    return None


def _swap_start(body: str, onset: pd.Timestamp, peak: pd.Timestamp,
                raised: pd.Timestamp | None, zone: str) -> str | None:
    """`body` with "started ..., raised ..." in `zone`; None where not found."""
    us = micros(peak)
    old = f"; started {clock_text(micros(onset), us)}"
    new = f"; started {_local_clock(onset, peak, zone)}"
    tails = [(old, new)]
    if raised is not None:
        tails.insert(0, (f"{old}, raised {clock_text(micros(raised), us)}",
                         f"{new}, raised {_local_clock(raised, peak, zone, after=onset)}"))
    for utc_text, local_text in tails:
        at = body.find(utc_text)
        if at >= 0 and body[at + len(utc_text):][:1] in ("", ";", "."):
            return body[:at] + local_text + body[at + len(utc_text):]
    return None


def _local_clock(stamp: pd.Timestamp, reference: pd.Timestamp, zone: str,
                 named: bool = False, after: pd.Timestamp | None = None) -> str:
    """`stamp` in `zone` as HH:MM, as :func:`spikes.detect.reasons.clock_text` writes UTC
    times: dated where it is not on the day of `reference` there (or of `after`, the time
    written just before it), with its zone's abbreviation where `named` or where it is
    not the one of `reference` or of `after`. So a time after one the clocks changed
    between, or one dated, never reads as in the zone or on the day of the one before
    (``started 02:50 CEST, raised 02:20 CET``, not ``raised 02:20``: raised before it
    started).

    Examples
    --------
    >>> at = pd.Timestamp("2026-10-25 01:10", tz="UTC")
    >>> _local_clock(at + pd.Timedelta("10min"), at, "Europe/Berlin",
    ...              after=at - pd.Timedelta("20min"))
    '02:20 CET'
    """
    local, ref = stamp.tz_convert(zone), reference.tz_convert(zone)
    days = {ref.date()}
    labels = {zone_label(ref)}
    if after is not None:
        before = after.tz_convert(zone)
        days.add(before.date())
        labels.add(zone_label(before))
    text = f"{local:%H:%M}" if days == {local.date()} else f"{local:%Y-%m-%d %H:%M}"
    label = zone_label(local)
    return f"{text} {label}" if named or labels != {label} else text


def _utc(value: object) -> pd.Timestamp | None:
    """An aware UTC time (naive ones are UTC), None where missing."""
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
