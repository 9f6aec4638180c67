"""The dashboard's first page: what is on fire now and the latest incidents.

:func:`render_overview` is a view of ``app.py`` (``render(ctx)``). It is the page a
visitor waits for, so it is kept light for the browser: the metrics, the table of every
product (worst first, with a sparkline of the last 24 h thinned to at most
:data:`SPARK_POINTS` points for display) and the latest incidents are all drawn by
Streamlit's data grid; the Plotly small multiples (Plotly's script alone takes about a
second to load and draw in a browser) come only when the visitor asks for them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from spikes.ui import dashboard as dash

__all__ = ["CHARTS_KEY", "RECENT_INCIDENTS", "SPARK_POINTS", "render_overview"]

SPARK_POINTS = 96
"""Most points of a sparkline in the overview table (15-minute peaks over 24 h of
5-minute buckets)."""
RECENT_INCIDENTS = 20
"""Incidents listed on the overview, newest first."""
CHARTS_KEY = "overview_charts"
"""Session-state key of the toggle that shows the small-multiple charts."""
PLOT_CONFIG = {"displaylogo": False, "scrollZoom": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def render_overview(ctx: dash.ViewContext) -> None:
    """Every product's status at the latest bucket, worst first, with sparklines; the
    latest incidents; on request, each product's reports against its baseline.

    Parameters
    ----------
    ctx : ViewContext
        The analysis, settings and display time zone. The product status table is read
        from ``st.session_state["_status"]`` (computed once per settings by ``app.py``).
    """
    analysis = ctx.analysis
    status = st.session_state["_status"]
    counts = status["status"].value_counts()
    latest = analysis.data.counts.index[-1]
    cols = st.columns([1, 1.15, 1, 1, 1, 1.15, 1.9])
    cols[0].metric("Outage", int(counts.get("outage", 0)), border=True)
    cols[1].metric("Recovering", int(counts.get("recovering", 0)), border=True,
                   help="The outage ended less than merge_gap ago: a new rise now would "
                        "still be the same incident.")
    cols[2].metric("Elevated", int(counts.get("elevated", 0)), border=True)
    cols[3].metric("No data", int(counts.get("no data", 0)), border=True,
                   help="Products without data in the latest bucket (their feed stopped, "
                        "named under the table): their state now is unknown.")
    cols[4].metric("Normal", int(counts.get("normal", 0)), border=True)
    cols[5].metric("Incidents in data", len(analysis.incidents), border=True)
    latest = pd.Timestamp(latest).tz_convert(ctx.tz)
    cols[6].metric(f"Latest bucket ({latest:%a %b %d}, {ctx.tz})", f"{latest:%H:%M}",
                   border=True)
    _products_table(ctx, status)
    silent = status.loc[(status["status"] == "no data")
                        | (status["latest"] < analysis.data.counts.index[-1])]
    if len(silent):
        since = ", ".join(
            f"{p} (no data since {dash.fmt_time(t, ctx.tz)}"
            + ({"no data": "", "outage": ", during an outage: its state since then is "
                                          "unknown"}
               .get(s, f", {s}: its state since then is unknown"))
            + ")"
            for p, t, s in zip(silent["product"], silent["latest"], silent["status"],
                               strict=True))
        st.caption(dash.escape_markdown(
            f"No data in the latest bucket for {len(silent)} product(s), their baselines "
            f"of their own latest bucket with data: {since}."))
    _recent_incidents(ctx)
    st.subheader("Reports vs baseline, last 24 h")
    if st.toggle("Show each product's chart (the worst 40)", key=CHARTS_KEY,
                 help="Small multiples of reports against the baseline, worst first."):
        st.plotly_chart(dash.overview_figure(analysis, ctx.tz, status=status), theme=None,
                        config=PLOT_CONFIG, key="overview_chart")


def _products_table(ctx: dash.ViewContext, status: pd.DataFrame) -> None:
    table = dash.overview_table(ctx.analysis, ctx.tz, status=status,
                                max_points=SPARK_POINTS)
    st.subheader("Products, on fire first")
    st.caption("Select a row to open its product view.")
    colors = {label: dash.STATUS_COLORS[s] for s, label in dash.STATUS_LABELS.items()}
    styled = table.style.map(lambda v: f"color: {colors.get(v, 'inherit')}; font-weight: 600",
                             subset=["status"])
    st.dataframe(
        styled,
        height=min(38 + 35 * len(table), 640),
        hide_index=True,
        key="overview_table",
        on_select=_open_selected_product,
        selection_mode="single-row",
        column_config={
            "product": st.column_config.TextColumn("Product", pinned=True),
            "status": st.column_config.TextColumn("Status"),
            "reports": st.column_config.NumberColumn("Reports now", format="%d"),
            "baseline": st.column_config.NumberColumn("Baseline now", format="%.1f"),
            "ratio": st.column_config.NumberColumn("× baseline", format="%.1f"),
            "trend": st.column_config.LineChartColumn("Reports, last 24 h", y_min=0),
            "current_onset": st.column_config.TextColumn(f"Current incident since ({ctx.tz})"),
            "current_alerted_at": st.column_config.TextColumn(
                f"Raised at ({ctx.tz})",
                help="When a live run over the same data raised the current incident."),
            "last_onset": st.column_config.TextColumn(f"Last incident onset ({ctx.tz})"),
            "last_lead": st.column_config.TextColumn(
                "Status page",
                help="The last incident's lead over the vendor's status page: +23 min = "
                     "raised 23 minutes before the vendor first said something publicly "
                     "(from the onset in retrospective mode, hindsight)."),
            "incidents": st.column_config.NumberColumn("Incidents", format="%d"),
        },
    )
    st.session_state["_overview_products"] = list(table["product"])


def _recent_incidents(ctx: dash.ViewContext) -> None:
    incidents = ctx.analysis.incidents
    newest = incidents.nlargest(RECENT_INCIDENTS, "onset") if len(incidents) else incidents
    st.subheader(f"Latest incidents ({min(len(incidents), RECENT_INCIDENTS)} of "
                 f"{len(incidents)})")
    if newest.empty:
        st.info("No incident under the current thresholds.")
        return
    table = dash.incident_table(newest, ctx.tz, bucket=ctx.analysis.data.bucket)
    st.dataframe(table[["product", "onset", "raised", "status page", "duration", "severity",
                        "ratio", "ongoing", "known event", "why"]],
                 hide_index=True, key="overview_incidents",
                 column_config={"why": st.column_config.TextColumn("why", width="large")})


def _open_selected_product() -> None:
    selection = st.session_state.get("overview_table")
    rows = selection.selection.rows if selection is not None else []
    products = st.session_state.get("_overview_products", [])
    if rows and rows[0] < len(products):
        st.session_state["product"] = products[rows[0]]
        st.session_state["view"] = "Product"
        st.query_params["view"] = "product"
        st.query_params["product"] = products[rows[0]]
