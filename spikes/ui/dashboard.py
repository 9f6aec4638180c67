"""Figures and tables of the dashboard (``app.py``), built from an :class:`Analysis`.

Everything here is a pure function of the analysis and a few display choices (product,
time range, time zone): no Streamlit calls and no detection logic, so the figures can be
tested and benchmarked without a browser.

Product, region and category names come from untrusted files. Plotly reads a small subset
of HTML in every text it draws (titles, legend entries, hover labels, annotations), so every
name goes through :func:`plot_text` before it reaches a figure; :func:`escape_markdown`
does the same for Streamlit's Markdown.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from spikes.config import DetectionConfig
from spikes.detect.baseline import Baseline
from spikes.detect.pipeline import Analysis, product_status

__all__ = [
    "SEVERITY_COLORS",
    "STATUS_COLORS",
    "STATUS_LABELS",
    "ViewContext",
    "breakdown_figure",
    "breakdown_shares",
    "default_event",
    "default_range",
    "duration_text",
    "escape_markdown",
    "event_figure",
    "event_members",
    "event_table",
    "incident_table",
    "local_times",
    "overview_figure",
    "overview_table",
    "plot_text",
    "product_figure",
]

#: Colour of each product status (red = outage, pink = recovering, amber = elevated, green =
#: normal).
STATUS_COLORS = {"outage": "#d62728", "recovering": "#e377c2", "elevated": "#f28e2b",
                 "normal": "#2ca02c"}
#: Status as shown in tables, with a coloured marker that survives copy and paste.
STATUS_LABELS = {"outage": "● outage", "recovering": "● recovering", "elevated": "● elevated",
                 "normal": "● normal"}
#: Fill of an incident by severity.
SEVERITY_COLORS = {"minor": "#f2b134", "major": "#f07b3f", "critical": "#d62728"}
REPORTS_COLOR = "#1f4e79"
BASELINE_COLOR = "#7f7f7f"
BAND_COLOR = "rgba(127, 127, 127, 0.18)"
FONT = dict(family="Inter, 'Source Sans Pro', Arial, sans-serif", size=13, color="#262730")
HOUR = pd.Timedelta(hours=1)
DATE_FORMAT = "%Y-%m-%d %H:%M"
#: Plotly's date tick formats by zoom level: time over date, date alone when zoomed out.
TICK_FORMAT_STOPS = [
    dict(dtickrange=[None, 60_000], value="%H:%M:%S\n%b %d"),
    dict(dtickrange=[60_000, 86_400_000], value="%H:%M\n%a %b %d"),
    dict(dtickrange=[86_400_000, None], value="%a %b %d\n%Y"),
]
GRID_COLOR = "#ececec"
#: A small template of our own: Plotly's named templates are large and copying one costs
#: about 0.1 s per figure.
TEMPLATE = go.layout.Template(
    layout=dict(
        font=FONT,
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
                  "#17becf", "#bcbd22", "#7f7f7f", "#d62728"],
        hoverlabel=dict(font=dict(family=FONT["family"], size=12)),
        xaxis=dict(showgrid=True, gridcolor=GRID_COLOR, linecolor="#bbbbbb", ticks="outside",
                   tickcolor="#bbbbbb", zeroline=False, automargin=True),
        yaxis=dict(showgrid=True, gridcolor=GRID_COLOR, linecolor="#bbbbbb", zeroline=False,
                   automargin=True),
    )
)
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


def _local(t: pd.Timestamp, tz: str) -> pd.Timestamp:
    return pd.Timestamp(t).tz_convert(tz).tz_localize(None)


def _fmt_time(t: object, tz: str) -> str:
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
    """
    minutes = delta / pd.Timedelta(minutes=1)
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


def _style(fig: go.Figure, *, height: int, tz: str, legend: bool = True) -> go.Figure:
    """The one look of every chart: white, light grid, unified hover, two-level dates."""
    fig.update_layout(
        template=TEMPLATE,
        font=FONT,
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        hovermode="x unified",
        showlegend=legend,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        dragmode="zoom",
    )
    fig.update_xaxes(
        type="date",
        tickformatstops=TICK_FORMAT_STOPS,
        showspikes=True,
        spikemode="across",
        spikethickness=1,
        spikecolor="#999999",
        showgrid=True,
        gridcolor="#ececec",
    )
    fig.update_yaxes(showgrid=True, gridcolor="#ececec", zeroline=False, rangemode="tozero")
    fig.update_xaxes(title_text=None)
    fig.layout.meta = {"tz": tz}
    return fig


# --- overview ------------------------------------------------------------------------------
def overview_table(analysis: Analysis, tz: str = "UTC", hours: float = 24,
                   status: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per product, worst first: status, latest reports against the baseline, a
    sparkline of the last `hours` and the current and last incident onset.

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`spikes.detect.pipeline.analyze`.
    tz : str
        Time zone of the onset times shown.
    hours : float
        Length of the sparkline.
    status : pd.DataFrame, optional
        Output of :func:`spikes.detect.pipeline.product_status` when already computed.

    Returns
    -------
    pd.DataFrame
        Columns ``product``, ``status`` (with a coloured marker), ``reports``,
        ``baseline``, ``ratio``, ``trend`` (list of reports per bucket), ``current_onset``,
        ``last_onset`` (text in `tz`, empty when none), ``incidents``.
    """
    status = product_status(analysis) if status is None else status
    counts = analysis.data.counts
    start, _ = default_range(analysis, hours)
    recent = counts.loc[start:]
    rows = []
    for row in status.itertuples(index=False):
        trend = recent[row.product].to_numpy(dtype=float)
        baseline = float(row.latest_baseline)
        reports = float(row.latest_reports)
        rows.append(
            {
                "product": row.product,
                "status": STATUS_LABELS.get(row.status, row.status),
                "reports": reports,
                "baseline": round(baseline, 1),
                "ratio": round(reports / baseline, 1) if baseline > 0 and reports == reports
                else float("nan"),
                "trend": [0.0 if math.isnan(v) else v for v in trend],
                "current_onset": _fmt_time(row.current_onset, tz),
                "last_onset": _fmt_time(row.last_onset, tz),
                "incidents": int(row.incidents),
            }
        )
    return pd.DataFrame(rows, columns=["product", "status", "reports", "baseline", "ratio",
                                       "trend", "current_onset", "last_onset", "incidents"])


def overview_figure(analysis: Analysis, tz: str = "UTC", hours: float = 24,
                    status: pd.DataFrame | None = None, columns: int = 4,
                    max_products: int = 40) -> go.Figure:
    """Small multiples: each product's reports against its baseline over the last `hours`,
    coloured by status, worst first.

    The figure is assembled as one dictionary on a Plotly layout grid (building dozens of
    subplots through Plotly's object API costs about 30 ms per panel).

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`spikes.detect.pipeline.analyze`.
    tz : str
        Time zone of the time axis.
    hours : float
        Length of each sparkline.
    status : pd.DataFrame, optional
        Output of :func:`spikes.detect.pipeline.product_status` when already computed.
    columns : int
        Panels per row.
    max_products : int
        Most panels drawn (the worst products first); the table lists every product.

    Returns
    -------
    go.Figure
        Two traces per product (``baseline`` then ``reports``) and one title annotation
        per panel, ``product · status``.
    """
    status = product_status(analysis) if status is None else status
    shown = status.head(max_products)
    n = max(len(shown), 1)
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    start, _ = default_range(analysis, hours)
    counts = analysis.data.counts.loc[start:]
    expected = analysis.baseline.expected.loc[start:]
    x = local_times(counts.index, tz)
    traces: list[dict] = []
    annotations: list[dict] = []
    layout: dict = {}
    for i, row in enumerate(shown.itertuples(index=False)):
        suffix = "" if i == 0 else str(i + 1)
        name = plot_text(row.product)
        color = STATUS_COLORS.get(row.status, REPORTS_COLOR)
        line_color = REPORTS_COLOR if row.status == "normal" else color
        axes = dict(xaxis=f"x{suffix}", yaxis=f"y{suffix}")
        traces.append(dict(
            type="scatter", x=x, y=expected[row.product].to_numpy(dtype=float),
            name="baseline", mode="lines", line=dict(color=BASELINE_COLOR, width=1, dash="dot"),
            legendgroup="baseline", showlegend=i == 0,
            hovertemplate=f"{name} baseline %{{y:.1f}}<extra></extra>", **axes))
        traces.append(dict(
            type="scatter", x=x, y=counts[row.product].to_numpy(dtype=float), name="reports",
            mode="lines", line=dict(color=line_color, width=1.4), fill="tozeroy",
            fillcolor=_alpha(line_color, 0.10), legendgroup="reports", showlegend=i == 0,
            hovertemplate=f"{name} reports %{{y:.0f}}<extra></extra>", **axes))
        layout[f"xaxis{suffix}"] = dict(
            type="date", tickformat="%H:%M", nticks=5, tickfont=dict(size=10),
            showgrid=True, gridcolor=GRID_COLOR,
            matches=None if i == 0 else "x")
        layout[f"yaxis{suffix}"] = dict(rangemode="tozero", nticks=3, tickfont=dict(size=10),
                                        showgrid=True, gridcolor=GRID_COLOR)
        annotations.append(dict(
            text=f"<b>{name}</b> · {row.status}", xref=f"x{suffix} domain",
            yref=f"y{suffix} domain", x=0, y=1.02, xanchor="left", yanchor="bottom",
            showarrow=False, font=dict(size=12, color=color)))
    layout.update(
        template=TEMPLATE,
        height=70 + 150 * rows,
        grid=dict(rows=rows, columns=columns, pattern="independent", xgap=0.06, ygap=0.45),
        annotations=annotations,
        hovermode="x",
        margin=dict(l=10, r=10, t=60, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, yref="container",
                    xanchor="left", x=0),
        meta={"tz": tz},
    )
    return go.Figure(dict(data=traces, layout=layout))


def _alpha(color: str, alpha: float) -> str:
    color = color.lstrip("#")
    r, g, b = (int(color[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


# --- product view --------------------------------------------------------------------------
def product_figure(analysis: Analysis, product: str, start: pd.Timestamp | None = None,
                   end: pd.Timestamp | None = None, tz: str = "UTC",
                   coverage: float = 0.95) -> go.Figure:
    """Reports of one product against its seasonal baseline band, incidents shaded.

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`spikes.detect.pipeline.analyze`.
    product : str
        Product to draw.
    start, end : pd.Timestamp, optional
        UTC range (bucket starts, inclusive); the last 24 hours when omitted.
    tz : str
        Time zone of the time axis.
    coverage : float
        Probability mass of the usual-traffic band.

    Returns
    -------
    go.Figure
        Band (``usual range``), ``baseline`` and ``reports`` traces; each incident that
        overlaps the range is a shaded rectangle with a vertical line at its onset and a
        label ``onset HH:MM · severity``.
    """
    if start is None or end is None:
        start, end = default_range(analysis)
    counts = analysis.data.counts[product].loc[start:end]
    expected = analysis.baseline.expected[product].loc[start:end]
    lower, upper = _band(analysis, product, start, end, coverage)
    x = local_times(counts.index, tz)
    fig = go.Figure()
    pct = f"{coverage:.0%}"
    fig.add_trace(go.Scatter(x=x, y=upper.to_numpy(), mode="lines", line=dict(width=0),
                             showlegend=False, hoverinfo="skip", name="upper"))
    fig.add_trace(go.Scatter(x=x, y=lower.to_numpy(), mode="lines", line=dict(width=0),
                             fill="tonexty", fillcolor=BAND_COLOR, name=f"usual range ({pct})",
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=expected.to_numpy(dtype=float), mode="lines",
                             name="baseline", line=dict(color=BASELINE_COLOR, width=1.5,
                                                        dash="dash"),
                             hovertemplate="%{y:.1f}"))
    fig.add_trace(go.Scatter(x=x, y=counts.to_numpy(dtype=float), mode="lines",
                             name="reports", line=dict(color=REPORTS_COLOR, width=2),
                             hovertemplate="%{y:.0f}"))
    incidents = analysis.incidents
    own = incidents[incidents["product"] == product] if len(incidents) else incidents
    bucket = analysis.data.bucket
    visible = [r for r in own.itertuples(index=False)
               if r.onset <= end and r.end + bucket >= start]
    for k, inc in enumerate(visible):
        color = SEVERITY_COLORS.get(inc.severity, SEVERITY_COLORS["critical"])
        x0 = _local(max(inc.onset, start), tz)
        x1 = _local(min(inc.end + bucket, end + bucket), tz)
        fig.add_shape(type="rect", xref="x", yref="paper", x0=x0, x1=x1, y0=0, y1=1,
                      fillcolor=color, opacity=0.16, line_width=0, layer="below")
        if inc.onset >= start:
            onset = _local(inc.onset, tz)
            fig.add_shape(type="line", xref="x", yref="paper", x0=onset, x1=onset, y0=0,
                          y1=1, line=dict(color=color, width=2, dash="solid"))
            label = f"onset {onset:%H:%M} · {inc.severity}"
            if getattr(inc, "ongoing", False):
                label += " · ongoing"
            fig.add_annotation(x=onset, xref="x", y=1 - 0.07 * (k % 3), yref="paper",
                               text=plot_text(label), showarrow=False, xanchor="left",
                               yanchor="top", xshift=4, font=dict(size=12, color=color),
                               bgcolor="rgba(255,255,255,0.75)")
    _style(fig, height=450, tz=tz)
    fig.update_layout(margin=dict(l=10, r=10, t=80, b=10),
                      yaxis_title=f"reports per {duration_text(bucket)}",
                      title=dict(text=f"<b>{plot_text(product)}</b>: reports vs seasonal "
                                      f"baseline ({tz})", x=0, y=0.98, yanchor="top"),
                      legend=dict(y=1.0, yanchor="bottom"))
    fig.update_xaxes(range=[_local(start, tz), _local(end + bucket, tz)])
    return fig


def _band(analysis: Analysis, product: str, start: pd.Timestamp, end: pd.Timestamp,
          coverage: float) -> tuple[pd.Series, pd.Series]:
    """The baseline's band over one product and range only (the whole band costs
    quantiles of every bucket of every product)."""
    base = analysis.baseline
    window = Baseline(
        expected=base.expected.loc[start:end, [product]],
        dispersion=base.dispersion[[product]],
        normal=base.normal.loc[start:end, [product]],
        method=base.method,
    )
    lower, upper = window.band(coverage)
    return lower[product], upper[product]


def incident_table(incidents: pd.DataFrame, tz: str = "UTC",
                   product: str | None = None) -> pd.DataFrame:
    """Incidents as shown to a person: local times, rounded numbers, newest first.

    Parameters
    ----------
    incidents : pd.DataFrame
        ``Analysis.incidents``.
    tz : str
        Time zone of the times.
    product : str, optional
        Keep only this product's incidents.

    Returns
    -------
    pd.DataFrame
        Columns ``event``, ``product``, ``onset``, ``peak``, ``end`` (text in `tz`),
        ``duration``, ``severity``, ``peak reports``, ``baseline``, ``excess reports``,
        ``ratio``, ``detectors``, ``ongoing``.
    """
    columns = ["event", "product", "onset", "peak", "end", "duration", "severity",
               "peak reports", "baseline", "excess reports", "ratio", "detectors", "ongoing"]
    if incidents.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    own = incidents if product is None else incidents[incidents["product"] == product]
    own = own.sort_values(["onset", "product"], ascending=False, kind="stable")
    out = pd.DataFrame(
        {
            "event": own["event_id"].astype(str),
            "product": own["product"].astype(str),
            "onset": [_fmt_time(t, tz) for t in own["onset"]],
            "peak": [_fmt_time(t, tz) for t in own["peak"]],
            "end": [_fmt_time(t, tz) for t in own["end"]],
            "duration": [duration_text(e - o)
                         for o, e in zip(own["onset"], own["end"], strict=True)],
            "severity": own["severity"].astype(str),
            "peak reports": own["peak_reports"].astype(float).round(0),
            "baseline": own["baseline_reports"].astype(float).round(1),
            "excess reports": own["excess_reports"].astype(float).round(0),
            "ratio": own["ratio"].astype(float).round(1),
            "detectors": own["detectors"].astype(str),
            "ongoing": own["ongoing"].astype(bool),
        },
        columns=columns,
    )
    return out.reset_index(drop=True)


def breakdown_shares(analysis: Analysis, product: str, incident: pd.Series | None,
                     dimension: str, top: int = 8) -> pd.DataFrame | None:
    """Share of a product's reports by region or category during one incident and in
    normal times (every bucket outside the product's incidents).

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`spikes.detect.pipeline.analyze`.
    product : str
        The product.
    incident : pd.Series, optional
        One row of ``Analysis.incidents``; None compares nothing and returns None.
    dimension : {"category", "region"}
        What to break the reports down by.
    top : int
        Most values shown; the rest are summed into ``other``.

    Returns
    -------
    pd.DataFrame or None
        Index = the values of `dimension`, columns ``during incident`` and
        ``normal times`` (shares summing to 1), sorted by share during the incident; None
        when the data has no such breakdown or no report in the incident.
    """
    breakdown = analysis.data.breakdown
    if incident is None or breakdown is None or dimension not in breakdown.columns:
        return None
    own = breakdown[breakdown["product"] == product]
    if own.empty or (own[dimension].astype(str) == "unknown").all():
        return None
    bucket = analysis.data.bucket
    onset, end = incident["onset"], incident["end"] + bucket
    during = (own["timestamp"] >= onset) & (own["timestamp"] < end)
    normal = np.ones(len(own), dtype=bool)
    incidents = analysis.incidents
    mine = incidents[incidents["product"] == product] if len(incidents) else incidents
    stamps = own["timestamp"]
    for row in mine.itertuples(index=False):
        normal &= ~((stamps >= row.onset) & (stamps < row.end + bucket)).to_numpy()
    sums = pd.DataFrame(
        {
            "during incident": own.loc[during.to_numpy()].groupby(dimension)["reports"].sum(),
            "normal times": own.loc[normal].groupby(dimension)["reports"].sum(),
        }
    ).fillna(0.0)
    if sums["during incident"].sum() <= 0:
        return None
    sums = sums.sort_values(["during incident", "normal times"], ascending=False)
    if len(sums) > top:
        head, rest = sums.iloc[: top - 1], sums.iloc[top - 1:]
        sums = pd.concat([head, rest.sum().to_frame("other").T])
    total = sums.sum()
    shares = sums / total.where(total > 0, 1.0)
    shares.index = shares.index.astype(str)
    shares.index.name = dimension
    return shares


def breakdown_figure(shares: pd.DataFrame, title: str) -> go.Figure:
    """Horizontal bars: share of reports by value during the incident and normally.

    Parameters
    ----------
    shares : pd.DataFrame
        Output of :func:`breakdown_shares`.
    title : str
        Chart title (plain text).

    Returns
    -------
    go.Figure
    """
    labels = [plot_text(v) for v in shares.index]
    fig = go.Figure()
    for column, color in (("during incident", "#d62728"), ("normal times", BASELINE_COLOR)):
        fig.add_trace(go.Bar(y=labels, x=shares[column].to_numpy(), name=column,
                             orientation="h", marker_color=color,
                             text=[f"{v:.0%}" for v in shares[column]],
                             textposition="outside", cliponaxis=False,
                             hovertemplate="%{y}: %{x:.1%}<extra>" + column + "</extra>"))
    fig.update_layout(template=TEMPLATE, font=FONT, barmode="group",
                      height=120 + 40 * len(labels), title=dict(text=plot_text(title), x=0),
                      margin=dict(l=10, r=30, t=40, b=10),
                      legend=dict(orientation="h", yanchor="top", y=-0.12, x=0,
                                  xanchor="left"),
                      hovermode="y unified")
    fig.update_xaxes(tickformat=".0%", rangemode="tozero", gridcolor="#ececec")
    fig.update_yaxes(autorange="reversed")
    return fig


# --- events --------------------------------------------------------------------------------
def event_table(events: pd.DataFrame, tz: str = "UTC") -> pd.DataFrame:
    """Events as shown to a person, biggest (most products) first, then newest.

    Parameters
    ----------
    events : pd.DataFrame
        ``Analysis.events``.
    tz : str
        Time zone of the times.

    Returns
    -------
    pd.DataFrame
        Columns ``event``, ``onset``, ``end``, ``first product``, ``products``,
        ``n products``, ``by chance`` (how likely so many products start together by
        coincidence, see :func:`spikes.detect.events.summarize_events`), ``severity``,
        ``excess reports``, ``ongoing``.
    """
    columns = ["event", "onset", "end", "first product", "products", "n products",
               "by chance", "severity", "excess reports", "ongoing"]
    if events.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    ev = events.sort_values(["n_products", "onset"], ascending=[False, False])
    chances = ev["chance"] if "chance" in ev else pd.Series(np.nan, index=ev.index)
    return pd.DataFrame(
        {
            "event": ev["event_id"].astype(str),
            "onset": [_fmt_time(t, tz) for t in ev["onset"]],
            "end": [_fmt_time(t, tz) for t in ev["end"]],
            "first product": ev["first_product"].astype(str),
            "products": ev["products"].astype(str),
            "n products": ev["n_products"].astype(int),
            "by chance": [_chance_text(p, n) for p, n in zip(chances, ev["n_products"],
                                                            strict=True)],
            "severity": ev["severity"].astype(str),
            "excess reports": ev["excess_reports"].astype(float).round(0),
            "ongoing": ev["ongoing"].astype(bool),
        },
        columns=columns,
    ).reset_index(drop=True)


def _chance_text(chance: float, n_products: int) -> str:
    """``chance`` of an event for a person: "-" for one product, else a probability."""
    if n_products <= 1 or pd.isna(chance):
        return "-"
    if chance < 1e-4:
        return "< 0.01 %"
    return f"{100 * chance:.2g} %"


def event_members(analysis: Analysis, event_id: str, tz: str = "UTC") -> pd.DataFrame:
    """The incidents of one event, first mover first, with their delay after it.

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`spikes.detect.pipeline.analyze`.
    event_id : str
        The event.
    tz : str
        Time zone of the times.

    Returns
    -------
    pd.DataFrame
        The columns of :func:`incident_table` with ``after first`` after ``product``, in
        order of onset (then product, as on the event timeline).
    """
    incidents = analysis.incidents
    members = incidents[incidents["event_id"] == event_id].sort_values(["onset", "product"])
    table = incident_table(members, tz).iloc[::-1].reset_index(drop=True)
    if members.empty:
        table.insert(2, "after first", pd.Series(dtype="object"))
        return table
    first = members["onset"].iloc[0]
    table.insert(2, "after first", [f"+{duration_text(t - first)}" if t > first else "first"
                                    for t in members["onset"]])
    return table


def default_event(events: pd.DataFrame) -> str | None:
    """The event to show first: the one with most products (the latest among equals).

    Parameters
    ----------
    events : pd.DataFrame
        ``Analysis.events``.

    Returns
    -------
    str or None
        An ``event_id``, or None without events.
    """
    if events.empty:
        return None
    ev = events.sort_values(["n_products", "onset"], ascending=[False, False])
    return str(ev["event_id"].iloc[0])


def event_figure(analysis: Analysis, event_id: str, tz: str = "UTC",
                 margin: pd.Timedelta = HOUR) -> go.Figure:
    """One event on a shared timeline: which product moved first and how the others
    followed.

    The top panel has one bar per incident from onset to end, first mover on top, labelled
    with its delay after the first onset; the bottom panel has each product's reports as a
    multiple of its baseline (log scale), so products of very different volume compare.

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`spikes.detect.pipeline.analyze`.
    event_id : str
        The event.
    tz : str
        Time zone of the time axis.
    margin : pd.Timedelta
        Time shown before the first onset and after the last end.

    Returns
    -------
    go.Figure
    """
    incidents = analysis.incidents
    members = incidents[incidents["event_id"] == event_id].sort_values(["onset", "product"])
    bucket = analysis.data.bucket
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.42, 0.58],
                        vertical_spacing=0.06)
    if members.empty:
        return _style(fig, height=300, tz=tz)
    first = members["onset"].iloc[0]
    start = first - margin
    stop = members["end"].max() + bucket + margin
    products = list(dict.fromkeys(members["product"].astype(str)))
    palette = _palette(len(products))
    color_of = dict(zip(products, palette, strict=True))
    for inc in members.itertuples(index=False):
        name = plot_text(inc.product)
        onset, end = _local(inc.onset, tz), _local(inc.end + bucket, tz)
        delay = inc.onset - first
        label = "first" if delay == pd.Timedelta(0) else f"+{duration_text(delay)}"
        fig.add_trace(
            go.Bar(y=[name], x=[(end - onset) / pd.Timedelta(milliseconds=1)], base=[onset],
                   orientation="h", marker_color=SEVERITY_COLORS.get(inc.severity, "#d62728"),
                   marker_line=dict(color=color_of[str(inc.product)], width=2),
                   text=[f"{label} · {inc.severity}"], textposition="inside",
                   insidetextanchor="start", showlegend=False, name=name,
                   hovertemplate=(f"{name}<br>onset {onset:%H:%M} ({label})<br>"
                                  f"end {end:%H:%M}<br>{inc.severity}<extra></extra>")),
            row=1, col=1,
        )
    counts = analysis.data.counts.loc[start:stop, products]
    expected = analysis.baseline.expected.loc[start:stop, products]
    ratio = counts / expected.clip(lower=0.5)
    x = local_times(ratio.index, tz)
    for product in products:
        fig.add_trace(
            go.Scatter(x=x, y=ratio[product].to_numpy(dtype=float), mode="lines",
                       name=plot_text(product), line=dict(color=color_of[product], width=2),
                       hovertemplate="%{y:.1f}x"),
            row=2, col=1,
        )
    first_local = _local(first, tz)
    for row in (1, 2):
        fig.add_vline(x=first_local, line=dict(color="#d62728", width=1.5, dash="dot"),
                      row=row, col=1)
    fig.add_annotation(x=first_local, xref="x", y=1.0, yref="paper", yanchor="bottom",
                       text=plot_text(f"first onset {first_local:%H:%M} ({products[0]})"),
                       showarrow=False, xanchor="left", font=dict(color="#d62728"))
    _style(fig, height=240 + 36 * len(products) + 260, tz=tz)
    fig.update_yaxes(autorange="reversed", showgrid=False, rangemode=None, row=1, col=1)
    fig.update_yaxes(type="log", title_text="reports ÷ baseline", rangemode=None, row=2, col=1)
    fig.update_layout(hovermode="x unified", barmode="overlay",
                      margin=dict(l=10, r=10, t=60, b=10))
    fig.update_xaxes(range=[_local(start, tz), _local(stop, tz)])
    return fig


def _palette(n: int) -> Sequence[str]:
    base = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
            "#bcbd22", "#7f7f7f", "#d62728"]
    return [base[i % len(base)] for i in range(n)]


# --- views -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ViewContext:
    """What every dashboard view is given; a new view (such as the tuning view, a function
    ``render_tuning(ctx: ViewContext) -> None``) needs nothing else.

    Attributes
    ----------
    analysis : Analysis
        Incidents and events under the sidebar's thresholds (``analysis.scored`` holds the
        baseline and scores, ``analysis.data`` the input).
    config : DetectionConfig
        The settings in force (defaults with the sidebar's thresholds).
    tz : str
        Time zone chosen for display.
    source : str
        Name of the data shown (file name).
    key : str
        Identifies the data and input options (a digest); use it in cache keys.
    """

    analysis: Analysis
    config: DetectionConfig
    tz: str
    source: str
    key: str
