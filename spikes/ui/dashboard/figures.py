"""Figures of the dashboard: the overview's small multiples, one product against its
baseline band, an event's timeline and a report breakdown.

Every name from the data goes through :func:`~spikes.ui.dashboard.formatting.plot_text`
before it reaches a figure.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from spikes.detect.baseline import Baseline
from spikes.detect.pipeline import Analysis, product_status
from spikes.ui.dashboard.formatting import (
    HOUR,
    axis_zone,
    default_range,
    duration_text,
    local_time,
    local_times,
    plot_text,
    zone_note,
)
from spikes.ui.dashboard.theme import (
    BAND_COLOR,
    BASELINE_COLOR,
    FONT,
    GRID_COLOR,
    KNOWN_EVENT_COLOR,
    REPORTS_COLOR,
    SEVERITY_COLORS,
    STATUS_COLORS,
    TEMPLATE,
    line_colors,
    style,
    with_alpha,
)


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
    zone = axis_zone(tz, counts.index[0], counts.index[-1] + analysis.data.bucket)
    x = local_times(counts.index, zone)
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
            fillcolor=with_alpha(line_color, 0.10), legendgroup="reports", showlegend=i == 0,
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
    note = zone_note(tz, zone)
    if note:
        annotations.append(dict(text=plot_text(note), xref="paper", yref="paper", x=1,
                                y=1.0, xanchor="right", yanchor="bottom", yshift=24,
                                showarrow=False, font=dict(size=11, color=BASELINE_COLOR)))
    return go.Figure(dict(data=traces, layout=layout))


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
        overlaps the range is a shaded rectangle with a vertical line at its onset, a dotted
        one where a live run raised it, and a label ``onset HH:MM · severity · raised
        HH:MM``; each known-event window of the calendar (``analysis.scored.calendar``)
        that overlaps the range is a grey rectangle with a dashed outline, labelled with its kind.
    """
    if start is None or end is None:
        start, end = default_range(analysis)
    counts = analysis.data.counts[product].loc[start:end]
    expected = analysis.baseline.expected[product].loc[start:end]
    lower, upper = _band(analysis, product, start, end, coverage)
    bucket = analysis.data.bucket
    zone = axis_zone(tz, start, end + bucket)
    x = local_times(counts.index, zone)
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
    _shade_known_events(fig, analysis, product, start, end + bucket, zone)
    visible = [r for r in own.itertuples(index=False)
               if r.onset <= end and r.end + bucket >= start]
    for k, inc in enumerate(visible):
        color = SEVERITY_COLORS.get(inc.severity, SEVERITY_COLORS["critical"])
        x0 = local_time(max(inc.onset, start), zone)
        x1 = local_time(min(inc.end + bucket, end + bucket), zone)
        fig.add_shape(type="rect", xref="x", yref="paper", x0=x0, x1=x1, y0=0, y1=1,
                      fillcolor=color, opacity=0.16, line_width=0, layer="below")
        if inc.onset >= start:
            onset = local_time(inc.onset, zone)
            fig.add_shape(type="line", xref="x", yref="paper", x0=onset, x1=onset, y0=0,
                          y1=1, line=dict(color=color, width=2, dash="solid"))
            label = f"onset {onset:%H:%M} · {inc.severity}"
            raised = getattr(inc, "alerted_at", pd.NaT)
            if not pd.isna(raised) and start <= raised <= end + bucket:
                raised = local_time(raised, zone)
                fig.add_shape(type="line", xref="x", yref="paper", x0=raised, x1=raised,
                              y0=0, y1=1, line=dict(color=color, width=1.5, dash="dot"))
                label += f" · raised {raised:%H:%M}"
            if getattr(inc, "ongoing", False):
                label += " · ongoing"
            fig.add_annotation(x=onset, xref="x", y=1 - 0.07 * (k % 3), yref="paper",
                               text=plot_text(label), showarrow=False, xanchor="left",
                               yanchor="top", xshift=4, font=dict(size=12, color=color),
                               bgcolor="rgba(255,255,255,0.75)")
    style(fig, height=450, tz=tz)
    fig.update_layout(margin=dict(l=10, r=10, t=80, b=10),
                      yaxis_title=f"reports per {duration_text(bucket)}",
                      title=dict(text=f"<b>{plot_text(product)}</b>: reports vs seasonal "
                                      f"baseline ({_zone_text(tz, zone)})", x=0, y=0.98,
                                 yanchor="top"),
                      legend=dict(y=1.0, yanchor="bottom"))
    fig.update_xaxes(range=[local_time(start, zone), local_time(end + bucket, zone)])
    return fig


def _shade_known_events(fig: go.Figure, analysis: Analysis, product: str,
                        start: pd.Timestamp, stop: pd.Timestamp,
                        tz: str | dt.tzinfo) -> None:
    """Grey dashed rectangles for the calendar's windows of `product` in the range."""
    calendar = analysis.scored.calendar
    if calendar is None or not len(calendar):
        return
    windows = calendar.for_products([product])
    for window in windows[(windows["start"] < stop) & (windows["end"] > start)].itertuples():
        x0, x1 = local_time(max(window.start, start), tz), local_time(min(window.end, stop), tz)
        fig.add_shape(type="rect", xref="x", yref="paper", x0=x0, x1=x1, y0=0, y1=1,
                      fillcolor=KNOWN_EVENT_COLOR, opacity=0.14, layer="below",
                      line=dict(color=KNOWN_EVENT_COLOR, width=1, dash="dash"),
                      name="known event")
        label = f"{window.kind}: {window.note}" if window.note else str(window.kind)
        fig.add_annotation(x=x0, xref="x", y=0.01, yref="paper", text=plot_text(label),
                           showarrow=False, xanchor="left", yanchor="bottom", xshift=4,
                           font=dict(size=11, color=KNOWN_EVENT_COLOR),
                           bgcolor="rgba(255,255,255,0.75)")


def _zone_text(tz: str, zone: str | dt.tzinfo) -> str:
    """The display zone as a chart's title says it (the fixed offset too, if any)."""
    note = zone_note(tz, zone)
    return plot_text(tz if not note else f"{tz}; {note}")


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
        return style(fig, height=300, tz=tz)
    first = members["onset"].iloc[0]
    start = first - margin
    stop = members["end"].max() + bucket + margin
    zone = axis_zone(tz, start, stop)
    products = list(dict.fromkeys(members["product"].astype(str)))
    palette = line_colors(len(products))
    color_of = dict(zip(products, palette, strict=True))
    for inc in members.itertuples(index=False):
        name = plot_text(inc.product)
        onset, end = local_time(inc.onset, zone), local_time(inc.end + bucket, zone)
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
    x = local_times(ratio.index, zone)
    for product in products:
        fig.add_trace(
            go.Scatter(x=x, y=ratio[product].to_numpy(dtype=float), mode="lines",
                       name=plot_text(product), line=dict(color=color_of[product], width=2),
                       hovertemplate="%{y:.1f}x"),
            row=2, col=1,
        )
    first_local = local_time(first, zone)
    for row in (1, 2):
        fig.add_vline(x=first_local, line=dict(color="#d62728", width=1.5, dash="dot"),
                      row=row, col=1)
    fig.add_annotation(x=first_local, xref="x", y=1.0, yref="paper", yanchor="bottom",
                       text=plot_text(f"first onset {first_local:%H:%M} ({products[0]})"),
                       showarrow=False, xanchor="left", font=dict(color="#d62728"))
    style(fig, height=240 + 36 * len(products) + 260, tz=tz)
    fig.update_yaxes(autorange="reversed", showgrid=False, rangemode=None, row=1, col=1)
    fig.update_yaxes(type="log", title_text="reports ÷ baseline", rangemode=None, row=2, col=1)
    fig.update_layout(hovermode="x unified", barmode="overlay",
                      margin=dict(l=10, r=10, t=60, b=10))
    fig.update_xaxes(range=[local_time(start, zone), local_time(stop, zone)])
    note = zone_note(tz, zone)
    if note:
        fig.add_annotation(x=1, xref="paper", y=1.0, yref="paper", yanchor="bottom",
                           xanchor="right", text=plot_text(note), showarrow=False,
                           font=dict(size=11, color=BASELINE_COLOR))
    return fig
