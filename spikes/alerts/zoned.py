"""The human text of a message in the time zone of its route (``tz`` of ``[[notify]]``).

A message is written in UTC (:mod:`spikes.alerts.timeline`) and stored so, once, in the
outbox: it is the same whoever runs the detection. A route with ``tz`` gets the text of
Slack, e-mail and apprise with its times in that zone, rendered at delivery: the title's
time (``since 2026-01-22 20:05 CET``), each product's reason (by
:func:`spikes.detect.reason_zone.reason_in_zone`) and the time each product was over
(``over 23:40 CET``), and the message's own time at its end, ISO-8601 at the zone's
offset (``2026-01-22T20:15:00+01:00``). The JSON of a message (a webhook's body, the
e-mail's JSON) keeps its UTC fields: machines read it.

A reason's peak is not a field of the message; its time of day is in the reason
(``at 19:10 UTC``), on a day from the product's onset to the message's time: each of
those is tried (:func:`~spikes.detect.reason_zone.reason_in_zone` rewrites no text whose
times it does not find). More than one day can fit the text: the weekday of
``usual on a Sunday`` fits every seventh day, and a product's local-days reason
(``01:10 UTC+09:00 (16:10 UTC)``) or its first day of data names no weekday at all. The
converted text is taken only where every day that fits gives the same text; a reason
whose times cannot be placed so, on one day or on several days that disagree, is given as
written, saying "(times in UTC)"; one without times (a withdrawal's) as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from spikes.alerts.timeline import utc_time
from spikes.detect.reason_zone import reason_in_zone, reason_unplaced
from spikes.io.zones import when

__all__ = ["at_in_zone", "end_in_zone", "reason_in_route_zone", "title_in_zone"]

#: A time of day written in UTC by a reason (``at 19:10 UTC``, ``(16:10 UTC)``), not a
#: product's own local time (``01:10 UTC+09:00``).
_UTC_CLOCK = re.compile(r"\b(\d{2}):(\d{2}) UTC(?![+\-\w])")
#: Any time of day.
_CLOCK = re.compile(r"\b\d{2}:\d{2}\b")


def title_in_zone(message: Mapping[str, Any], zone: str) -> str:
    """The title of `message` with its time (``since ...`` its onset, ``over since ...``
    its end) in `zone`.

    Parameters
    ----------
    message : Mapping
        A message body (:data:`spikes.alerts.timeline.MESSAGE_FIELDS`).
    zone : str
        The route's zone, as :func:`spikes.io.zones.zone_name` spells it.

    Returns
    -------
    str
        The title; as written for UTC, or where it ends with no time of the message.

    Examples
    --------
    >>> message = {"title": "E0001 open (critical): Slack, since 2026-01-09 14:20 UTC",
    ...            "onset": "2026-01-09T14:20:00+00:00", "end": None}
    >>> title_in_zone(message, "Europe/Berlin")
    'E0001 open (critical): Slack, since 2026-01-09 15:20 CET'
    """
    title = str(message["title"])
    if zone == "UTC":
        return title
    for key in ("onset", "end"):
        if not message.get(key):
            continue
        stamp = utc_time(message[key])
        written = when(stamp)  # as the title writes it: "2026-01-22 19:00 UTC"
        if title.endswith(written):
            return title[:-len(written)] + when(stamp, zone)
    return title


def end_in_zone(end: str, zone: str) -> str:
    """The time of day a product was over (its ``end``, ISO-8601) in `zone`, with the
    zone's abbreviation.

    Parameters
    ----------
    end : str
        The product's ``end`` as the message gives it (UTC).
    zone : str
        The route's zone.

    Returns
    -------
    str
        ``"22:40 UTC"`` (as the message has always said it), ``"23:40 CET"``.

    Examples
    --------
    >>> end_in_zone("2026-01-22T22:40:00+00:00", "UTC")
    '22:40 UTC'
    >>> end_in_zone("2026-07-01T22:40:00+00:00", "Europe/Berlin")
    '00:40 CEST'
    """
    if zone == "UTC":
        return f"{end[11:16]} UTC"
    return when(utc_time(end), zone)[len("YYYY-MM-DD "):]


def at_in_zone(at: str, zone: str) -> str:
    """The time of a message (its ``at``, ISO-8601) as ISO-8601 at the offset of `zone`.

    Parameters
    ----------
    at : str
        The message's ``at`` (UTC).
    zone : str
        The route's zone.

    Returns
    -------
    str
        `at` as written for UTC.

    Examples
    --------
    >>> at_in_zone("2026-01-22T19:15:00+00:00", "Europe/Berlin")
    '2026-01-22T20:15:00+01:00'
    """
    if zone == "UTC":
        return at
    return utc_time(at).tz_convert(zone).isoformat()


def reason_in_route_zone(product: Mapping[str, Any], zone: str,
                         at: str | None = None) -> str:
    """The ``why`` of one product of a message with its times in `zone`.

    Parameters
    ----------
    product : Mapping
        A product of a message: ``product``, ``onset``, ``alerted_at``, ``why`` (UTC).
    zone : str
        The route's zone.
    at : str or None, optional
        The message's time (its ``at``, ISO-8601): the peak is no later.

    Returns
    -------
    str
        The reason in `zone` (as written for UTC, or without times); as written ending
        "(times in UTC)" where its times cannot be placed on one day, or where the days
        they fit give different texts (:func:`_peaks`).

    Examples
    --------
    >>> product = {"product": "Outlook", "onset": "2026-01-22T19:00:00+00:00",
    ...            "alerted_at": "2026-01-22T19:10:00+00:00",
    ...            "why": "Outlook: 90 reports in 5 min against 6.0 usual on a Thursday "
    ...                   "at 19:10 UTC (15x, p < 1e-30); started 19:00, raised 19:10."}
    >>> local = reason_in_route_zone(product, "Europe/Berlin", "2026-01-22T19:15:00+00:00")
    >>> print(local.replace("; ", "\\n"))
    Outlook: 90 reports in 5 min against 6.0 usual on a Thursday at 20:10 CET (15x, p < 1e-30)
    started 20:00, raised 20:10.
    """
    why = str(product.get("why") or "")
    if zone == "UTC" or not why:
        return why
    incident = {"product": product.get("product"), "onset": product.get("onset"),
                "alerted_at": product.get("alerted_at"), "why": why}
    # Every peak the text fits: where they disagree, no one of them is known to be right.
    texts = {reason_in_zone(why, {**incident, "peak": peak}, zone)
             for peak in (None, *_peaks(why, product.get("onset"), at))} - {None}
    if len(texts) == 1:
        return texts.pop()
    if not _CLOCK.search(why):
        return why
    return reason_unplaced(why)


def _peaks(why: str, onset: str | None, at: str | None) -> list[pd.Timestamp]:
    """The times the peak of a reason may be at: each time of day it writes in UTC, on
    each day from `onset` to `at` (a week after `onset` where `at` is missing).

    Several of them may fit the reason as written (:func:`reason_in_zone` accepts them):
    a weekday is every seventh day, and a reason in a product's local days or of its
    first day of data names none. The caller takes a text only where all that fit give
    the same one, so this need not (and cannot) pick the right day."""
    if onset is None or pd.isna(onset):
        return []
    start = utc_time(onset)
    stop = utc_time(at) if at is not None and not pd.isna(at) else start + pd.Timedelta(days=7)
    clocks = {pd.Timedelta(hours=int(h), minutes=int(m)) for h, m in _UTC_CLOCK.findall(why)}
    days = pd.date_range(start.normalize(), stop.normalize(), freq="D")
    return sorted(day + clock for day in days for clock in clocks
                  if start <= day + clock <= stop)
