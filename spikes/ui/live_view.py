"""The live dashboard's Streamlit parts: loading a live source, what is on fire now, and
the refresh every bucket.

``app.py`` calls :func:`load_live` instead of reading a file when the environment names a
live source (:func:`spikes.ui.live.live_source_from_env`), then :func:`render_live_header`
above the tabs. The header holds a fragment that runs every bucket of the source's clock
(``st.fragment(run_every=...)``), asks the source for its version (cheap) and reruns the
whole page only when buckets closed or reports arrived.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from spikes.errors import SpikesInputError
from spikes.model import ReportData
from spikes.ui import dashboard as dash
from spikes.ui.live import LiveSource, on_fire

__all__ = ["VERSION_KEY", "load_live", "render_live_header", "render_waiting"]

#: Session key of the version of the live data on the page.
VERSION_KEY = "_live_version"


@st.cache_resource(show_spinner="Reading the live data…", max_entries=4)
def _live_data(name: str, version: str, _source: LiveSource) -> ReportData | None:
    """The source's data at `version` (cached: each session of one version reads once)."""
    return _source.data()


def load_live(source: LiveSource) -> tuple[str, ReportData | None]:
    """The live source's version digest and its data (None while it has none).

    Raises
    ------
    SpikesInputError
        When the source cannot be read (a store held by a service, a service that does
        not answer or refuses the token).
    """
    version = source.version()
    st.session_state[VERSION_KEY] = version
    digest = hashlib.sha256(f"{source.name}|{version}".encode()).hexdigest()
    return digest, _live_data(source.name, version, source)


def render_live_header(source: LiveSource, status: pd.DataFrame, analysis_latest: pd.Timestamp,
                       tz: str) -> None:
    """What is on fire now, the source's clock, and the refresh every bucket."""
    fire = on_fire(status)
    latest = pd.Timestamp(analysis_latest).tz_convert(tz)
    if fire.empty:
        st.success(f"Nothing on fire at {latest:%Y-%m-%d %H:%M} ({tz}): no product in "
                   "outage or recovering.", icon="✅")
    else:
        st.subheader(f"🔥 On fire now ({len(fire)}), at {latest:%Y-%m-%d %H:%M} ({tz})")
        table = pd.DataFrame({
            "product": fire["product"],
            "status": fire["status"].map(dash.STATUS_LABELS).fillna(fire["status"]),
            "since": _local(fire["current_onset"], tz),
            "raised": _local(fire["current_alerted_at"], tz),
            "reports now": fire["latest_reports"].round(0),
            "baseline now": fire["latest_baseline"].round(1),
        })
        st.dataframe(table, hide_index=True, key="on_fire_table")
    _watch(source)


def _local(values: pd.Series, tz: str) -> pd.Series:
    stamps = pd.to_datetime(values, utc=True)
    return stamps.dt.tz_convert(tz).dt.strftime("%Y-%m-%d %H:%M").fillna("")


def _watch(source: LiveSource) -> None:
    """The refresh: a fragment polling the source's version every bucket."""
    try:
        every = source.refresh_seconds()
        described = source.describe()
    except SpikesInputError as exc:
        st.warning(dash.escape_markdown(str(exc)))
        return
    st.caption(dash.escape_markdown(described) + f" · refreshes every {every:g} s")

    @st.fragment(run_every=every)
    def poll() -> None:
        try:
            version = source.version()
        except SpikesInputError as exc:
            st.warning(dash.escape_markdown(str(exc)))
            return
        if version != st.session_state.get(VERSION_KEY):
            st.rerun(scope="app")

    poll()


def render_waiting(source: LiveSource) -> None:
    """The page of a live source without a closed bucket yet (refreshed every bucket)."""
    st.info("No closed bucket yet: the page fills in as reports arrive and buckets close.")
    _watch(source)
