"""Figures and tables of the dashboard (``app.py``), built from an :class:`Analysis`.

Everything here is a pure function of the analysis and a few display choices (product,
time range, time zone): no Streamlit calls and no detection logic, so the figures can be
tested and benchmarked without a browser.

Product, region and category names come from untrusted files. Plotly reads a small subset
of HTML in every text it draws (titles, legend entries, hover labels, annotations), so every
name goes through :func:`plot_text` before it reaches a figure; :func:`escape_markdown`
does the same for Streamlit's Markdown.

The modules, by concern: :mod:`~spikes.ui.dashboard.formatting` (safe text, local times,
durations), :mod:`~spikes.ui.dashboard.theme` (colours, template, chart styling),
:mod:`~spikes.ui.dashboard.figures`, :mod:`~spikes.ui.dashboard.tables` and
:mod:`~spikes.ui.dashboard.context` (:class:`ViewContext`). ``app.py`` and the views use
them as ``from spikes.ui import dashboard as dash``: every name is importable from here.
"""

from __future__ import annotations

from spikes.ui.dashboard.context import ViewContext
from spikes.ui.dashboard.figures import (
    breakdown_figure,
    event_figure,
    overview_figure,
    product_figure,
)
from spikes.ui.dashboard.formatting import (
    DATE_FORMAT,
    HOUR,
    count_text,
    default_range,
    duration_text,
    escape_markdown,
    fmt_time,
    local_times,
    plot_text,
)
from spikes.ui.dashboard.tables import (
    breakdown_shares,
    default_event,
    event_members,
    event_table,
    incident_table,
    overview_table,
)
from spikes.ui.dashboard.theme import (
    BAND_COLOR,
    BASELINE_COLOR,
    FONT,
    GRID_COLOR,
    REPORTS_COLOR,
    SEVERITY_COLORS,
    STATUS_COLORS,
    STATUS_LABELS,
    TEMPLATE,
    TICK_FORMAT_STOPS,
)

__all__ = [
    "BAND_COLOR",
    "BASELINE_COLOR",
    "DATE_FORMAT",
    "FONT",
    "GRID_COLOR",
    "HOUR",
    "REPORTS_COLOR",
    "SEVERITY_COLORS",
    "STATUS_COLORS",
    "STATUS_LABELS",
    "TEMPLATE",
    "TICK_FORMAT_STOPS",
    "ViewContext",
    "breakdown_figure",
    "breakdown_shares",
    "default_event",
    "default_range",
    "count_text",
    "duration_text",
    "escape_markdown",
    "event_figure",
    "event_members",
    "event_table",
    "fmt_time",
    "incident_table",
    "local_times",
    "overview_figure",
    "overview_table",
    "plot_text",
    "product_figure",
]
