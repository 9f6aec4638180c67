"""The one look of the dashboard: colours, font, Plotly template and chart styling."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

#: Colour of each product status (red = outage, pink = recovering, amber = elevated, grey =
#: no data in the latest bucket, green = normal).
STATUS_COLORS = {"outage": "#d62728", "recovering": "#e377c2", "elevated": "#f28e2b",
                 "no data": "#7f7f7f", "normal": "#2ca02c"}
#: Status as shown in tables, with a coloured marker that survives copy and paste.
STATUS_LABELS = {"outage": "● outage", "recovering": "● recovering", "elevated": "● elevated",
                 "no data": "● no data", "normal": "● normal"}
#: Fill of an incident by severity.
SEVERITY_COLORS = {"minor": "#f2b134", "major": "#f07b3f", "critical": "#d62728"}
REPORTS_COLOR = "#1f4e79"
BASELINE_COLOR = "#7f7f7f"
BAND_COLOR = "rgba(127, 127, 127, 0.18)"
#: Known-event windows of the calendar (maintenance, releases) on the product chart.
KNOWN_EVENT_COLOR = "#5b6f8a"
FONT = dict(family="Inter, 'Source Sans Pro', Arial, sans-serif", size=13, color="#262730")
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


def style(fig: go.Figure, *, height: int, tz: str, legend: bool = True) -> go.Figure:
    """The one look of every chart: white, light grid, unified hover, two-level dates.

    Parameters
    ----------
    fig : go.Figure
        The figure, styled in place.
    height : int
        Height in pixels.
    tz : str
        Time zone of the time axis (kept in ``layout.meta``).
    legend : bool
        Show the legend.

    Returns
    -------
    go.Figure
        `fig`.
    """
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


def with_alpha(color: str, alpha: float) -> str:
    """A ``#rrggbb`` colour with an opacity, as ``rgba(...)``.

    Parameters
    ----------
    color : str
        ``#rrggbb``.
    alpha : float
        Opacity in [0, 1].

    Returns
    -------
    str

    Examples
    --------
    >>> with_alpha("#ff0000", 0.5)
    'rgba(255, 0, 0, 0.5)'
    """
    color = color.lstrip("#")
    r, g, b = (int(color[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def line_colors(n: int) -> Sequence[str]:
    """`n` line colours, one per product (the template's colours, repeated).

    Parameters
    ----------
    n : int

    Returns
    -------
    sequence of str
    """
    base = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
            "#bcbd22", "#7f7f7f", "#d62728"]
    return [base[i % len(base)] for i in range(n)]
