"""Text and time for people: safe names, local times, durations and the default range.

Product, region and category names come from untrusted files. Plotly reads a small subset
of HTML in every text it draws (titles, legend entries, hover labels, annotations), so every
name goes through :func:`plot_text` before it reaches a figure; :func:`escape_markdown`
does the same for Streamlit's Markdown.
"""

from __future__ import annotations

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
def local_times(times: pd.DatetimeIndex | pd.Series, tz: str = "UTC") -> pd.DatetimeIndex:
    """Wall-clock times in `tz` without offset, for a Plotly date axis.

    Plotly draws the clock time it is given and ignores offsets, so times are converted to
    the viewer's zone first.

    Parameters
    ----------
    times : pd.DatetimeIndex or pd.Series
        Time-zone-aware (UTC) times.
    tz : str
        IANA time zone.

    Returns
    -------
    pd.DatetimeIndex
        Naive local times.
    """
    index = pd.DatetimeIndex(times)
    if index.tz is None:
        index = index.tz_localize("UTC")
    return index.tz_convert(tz).tz_localize(None)


def local_time(t: pd.Timestamp, tz: str) -> pd.Timestamp:
    """One time as wall-clock time in `tz` without offset (see :func:`local_times`).

    Parameters
    ----------
    t : pd.Timestamp
        A time-zone-aware time.
    tz : str
        IANA time zone.

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
