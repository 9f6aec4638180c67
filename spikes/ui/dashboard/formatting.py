"""Text and time for people: safe names, local times, durations and the default range.

Product, region and category names come from untrusted files. Plotly reads a small subset
of HTML in every text it draws (titles, legend entries, hover labels, annotations), so every
name goes through :func:`plot_text` before it reaches a figure; :func:`escape_markdown`
does the same for Streamlit's Markdown.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pandas as pd

from spikes.detect.pipeline import Analysis

HOUR = pd.Timedelta(hours=1)
DATE_FORMAT = "%Y-%m-%d %H:%M"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


# --- text safety -------------------------------------------------------------------------
def plot_text(value: object) -> str:
    """Text from data made safe for Plotly, which reads ``<b>``, ``<a href>`` and other
    tags in titles, legends, hover labels and annotations.

    Parameters
    ----------
    value : object
        A product, region or category name.

    Returns
    -------
    str
        The text with ``&``, ``<`` and ``>`` written as entities (Plotly shows them as
        the characters).

    Examples
    --------
    >>> plot_text("<a href='x'>Outlook</a>")
    "&lt;a href='x'&gt;Outlook&lt;/a&gt;"
    """
    return html.escape(str(value), quote=False)


def escape_markdown(value: object) -> str:
    """Text from data made literal for Streamlit Markdown (no links, images or HTML).

    Parameters
    ----------
    value : object
        A product, region or category name.

    Returns
    -------
    str
        The text with every Markdown control character backslash-escaped.

    Examples
    --------
    >>> escape_markdown("[click](http://x)")
    '\\\\[click\\\\]\\\\(http\\\\://x\\\\)'
    """
    return _MD_SPECIAL.sub(r"\\\1", str(value))


# --- time ---------------------------------------------------------------------------------
def axis_zone(tz: str, start: pd.Timestamp, stop: pd.Timestamp) -> str | dt.tzinfo:
    """The zone of a chart's time axis over ``[start, stop]``: `tz`, or where its clocks
    change within the range (daylight saving time), its offset at `stop` throughout.

    A date axis draws wall-clock times: across a change they would repeat an hour (the
    line doubling back over itself) or skip one. The offset at `stop` is that of the
    clock at the range's end (now, for the latest data); :func:`zone_note` says so
    beside the chart.

    Parameters
    ----------
    tz : str
        IANA time zone of the display.
    start, stop : pd.Timestamp
        Time-zone-aware ends of the range shown.

    Returns
    -------
    str or datetime.tzinfo
        `tz`, or a fixed offset named like ``UTC-05:00``.

    Examples
    --------
    >>> axis_zone("America/New_York", pd.Timestamp("2026-11-01T00:00Z"),
    ...           pd.Timestamp("2026-11-02T00:00Z"))
    datetime.timezone(datetime.timedelta(days=-1, seconds=68400), 'UTC-05:00')
    >>> axis_zone("Europe/Paris", pd.Timestamp("2026-01-05T00:00Z"),
    ...           pd.Timestamp("2026-01-06T00:00Z"))
    'Europe/Paris'
    """
    # The hours of the range and its last instant (`stop` is its end, not in it).
    last = pd.Timestamp(stop).tz_convert("UTC") - pd.Timedelta(1, "us")  # not ns: year 2300
    first = min(pd.Timestamp(start).tz_convert("UTC"), last)
    hours = pd.date_range(first.floor("h"), last.floor("h"), freq="h").append(
        pd.DatetimeIndex([first, last]))
    offsets = hours.tz_convert(tz).tz_localize(None) - hours.tz_localize(None)
    if len(offsets.unique()) <= 1:
        return tz
    offset = last.tz_convert(tz).utcoffset()
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return dt.timezone(offset, f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")


def zone_note(tz: str, zone: str | dt.tzinfo) -> str:
    """What a chart says of its time axis when :func:`axis_zone` fixed its offset
    (empty otherwise).

    Examples
    --------
    >>> zone_note("UTC", "UTC")
    ''
    """
    if isinstance(zone, str):
        return ""
    return (f"times in {zone.tzname(None)} throughout: the clocks of {tz} change in "
            f"this range")


def local_times(times: pd.DatetimeIndex | pd.Series,
                tz: str | dt.tzinfo = "UTC") -> pd.DatetimeIndex:
    """Wall-clock times in `tz` without offset, for a Plotly date axis.

    Plotly draws the clock time it is given and ignores offsets, so times are converted to
    the viewer's zone first.

    Parameters
    ----------
    times : pd.DatetimeIndex or pd.Series
        Time-zone-aware (UTC) times.
    tz : str or datetime.tzinfo
        IANA time zone (or a fixed offset: :func:`axis_zone`).

    Returns
    -------
    pd.DatetimeIndex
        Naive local times.
    """
    index = pd.DatetimeIndex(times)
    if index.tz is None:
        index = index.tz_localize("UTC")
    return index.tz_convert(tz).tz_localize(None)


def local_time(t: pd.Timestamp, tz: str | dt.tzinfo) -> pd.Timestamp:
    """One time as wall-clock time in `tz` without offset (see :func:`local_times`).

    Parameters
    ----------
    t : pd.Timestamp
        A time-zone-aware time.
    tz : str or datetime.tzinfo
        IANA time zone (or a fixed offset: :func:`axis_zone`).

    Returns
    -------
    pd.Timestamp
        Naive local time.
    """
    return pd.Timestamp(t).tz_convert(tz).tz_localize(None)


def fmt_time(t: object, tz: str) -> str:
    """A time as shown in tables (:data:`DATE_FORMAT` in `tz`); empty when missing.

    Parameters
    ----------
    t : object
        A time-zone-aware time, None or NaT.
    tz : str
        IANA time zone.

    Returns
    -------
    str
    """
    if t is None or pd.isna(t):
        return ""
    return pd.Timestamp(t).tz_convert(tz).strftime(DATE_FORMAT)


def count_text(n: int, noun: str) -> str:
    """``1 incident``, ``2 incidents`` (with thousands separators).

    Examples
    --------
    >>> count_text(1, "event"), count_text(1200, "incident")
    ('1 event', '1,200 incidents')
    """
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def duration_text(delta: pd.Timedelta) -> str:
    """A duration as people write it: ``5 min``, ``1.5 h``.

    Parameters
    ----------
    delta : pd.Timedelta
        The duration.

    Returns
    -------
    str

    Examples
    --------
    >>> duration_text(pd.Timedelta("5min")), duration_text(pd.Timedelta("90min"))
    ('5 min', '1.5 h')
    >>> duration_text(pd.Timedelta("10s"))
    '10 s'
    """
    minutes = delta / pd.Timedelta(minutes=1)
    if 0 < abs(minutes) < 1:
        return f"{delta / pd.Timedelta(seconds=1):g} s"
    if minutes < 60:
        return f"{minutes:g} min"
    return f"{minutes / 60:.1f} h".replace(".0 h", " h")


def default_range(analysis: Analysis, hours: float = 24) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The last `hours` of the data: the product view's default range.

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`spikes.detect.pipeline.analyze`.
    hours : float
        Length of the range.

    Returns
    -------
    start, end : pd.Timestamp
        UTC bucket starts, inclusive, clipped to the data.
    """
    index = analysis.data.counts.index
    end = index[-1]
    start = max(index[0], end - pd.Timedelta(hours=hours) + analysis.data.bucket)
    return start, end
