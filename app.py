"""spikes dashboard: every product's outages at a glance.

Run ``streamlit run app.py``: it opens on the bundled sample ``data/reports.csv.gz`` (the
environment variable ``SPIKES_DATA`` names another file on the server, for admins;
``SPIKES_CALENDAR`` a known-event calendar CSV, see :func:`spikes.io.calendar.read_calendar`,
whose windows are kept out of the baselines, shaded on the product chart and named in the
incident tables, its numeric dates read in the day/month order the reports were read with:
the Data tab's "Date order" of an upload, else ``SPIKES_DATE_ORDER`` (``dmy`` or ``mdy``,
which also reads the file of ``SPIKES_DATA``); ``SPIKES_CONFIG`` a TOML settings file,
as ``spikes analyze --config`` reads it, per-product overrides included: the sidebar starts
from it).

Status pages: ``SPIKES_STATUS_FEED`` names vendors' incident histories on the server
(Statuspage JSON or Atom/RSS, several separated by ``os.pathsep``) and
``SPIKES_STATUS_CONFIG`` a TOML file with their ``[status_feed]`` table; incidents then
show their lead over the status page. The bundled sample uses the sample feeds
(``data/status_feed_sample.*``) unless ``SPIKES_STATUS_FEED`` is set.
Live: ``SPIKES_SERVICE=http://127.0.0.1:8000`` (and ``SPIKES_TOKEN``) shows a running
``spikes serve`` over its API, ``SPIKES_STORE=spikes.duckdb`` a store no service holds
(:mod:`spikes.ui.live`); what is on fire now comes first and the page refreshes itself
every bucket (:mod:`spikes.ui.live_view`).

Views (tabs, rendered lazily: only the open one runs): Overview, Product, Events, Data, and
Tuning once ``spikes.ui.tuning_view.render_tuning`` exists. A view is a function
``render(ctx: spikes.ui.dashboard.ViewContext) -> None`` listed in :func:`views`.

URL query parameters select what a link opens: ``?view=product&product=Outlook&tz=UTC``
(``view`` is one of the tab names, case-insensitive). Switching tabs, products or time
zones updates the URL.

Data loading. The Data view's upload form stores the file as
``st.session_state["spikes_upload"] = {"name": str, "data": bytes, "options": dict}``
(``options``: the input options of ``spikes.io.buckets.load_reports``: ``fmt``, ``bucket``,
``tz``, ``timestamp_col``, ``time_col``, ``product_col``, ``count_col``, ``region_col``,
``category_col``, ``product``, ``date_order``). Tests inject a file the same way (``AppTest`` cannot
upload), e.g. ``at.session_state["spikes_upload"] = {"name": "bad.csv", "data": b"x\\n"}``.
A file that cannot be read shows the library's error message in an error box and the
dashboard falls back to the bundled data. No file path is ever taken from the URL.

Speed. Reading, scoring and thresholding are cached with ``st.cache_resource`` (keyed on
the file's SHA-256, the input options and the settings): moving a threshold slider only
re-runs :func:`spikes.detect.pipeline.rethreshold`; changing product, range or time zone
re-runs nothing but the figures. The Overview (:mod:`spikes.ui.overview_view`) is light for
the browser (no Plotly until asked for); ``.streamlit/config.toml`` enables Streamlit's
script health check so that a launcher (``dev.py dashboard``) can run the app once at start
and the first visitor finds the imports and the analysis ready (``benchmarks/DASHBOARD.md``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import os
import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import streamlit as st

from spikes.cli.display import ENVIRONMENT, chosen_display_zone
from spikes.config import MODES, DetectionConfig, load_config, load_status_feed_config
from spikes.detect.days import offset_suggestions, suggestion_texts
from spikes.detect.explain import explain_window
from spikes.detect.known_events import Calendar
from spikes.detect.pipeline import (
    SCORE_KEYS,
    Analysis,
    Scored,
    product_status,
    rethreshold,
    score_reports,
)
from spikes.detect.reason_zone import reason_shown
from spikes.errors import SpikesInputError
from spikes.evaluation.lead import OfficialFeed
from spikes.io.buckets import load_reports
from spikes.io.calendar import read_calendar
from spikes.io.output import to_safe_csv
from spikes.io.status_feed import read_status_feeds
from spikes.io.timestamps import check_date_order
from spikes.model import ReportData
from spikes.ui import dashboard as dash
from spikes.ui.live import live_source_from_env
from spikes.ui.live_view import load_live, render_live_header, render_waiting
from spikes.ui.overview_view import render_overview
from spikes.ui.tuning_view import PICKED_CONFIG_KEY, TUNED_CONFIG_KEY, render_tuning

ROOT = Path(__file__).resolve().parent
BUNDLED = Path(os.environ.get("SPIKES_DATA", "").strip() or ROOT / "data" / "reports.csv.gz")
#: The sample status feeds of the bundled sample (used when SPIKES_STATUS_FEED is unset).
SAMPLE_FEEDS = (str(ROOT / "data" / "status_feed_sample.json"),
                str(ROOT / "data" / "status_feed_sample.atom"))
SAMPLE_FEED_CONFIG = str(ROOT / "data" / "status_feed_sample.toml")
FEED_ERROR_KEY = "spikes_feed_error"
CALENDAR_ENV = "SPIKES_CALENDAR"
#: Day/month order of the numeric dates of SPIKES_DATA and SPIKES_CALENDAR (dmy or mdy).
DATE_ORDER_ENV = "SPIKES_DATE_ORDER"
UPLOAD_KEY = "spikes_upload"
ERROR_KEY = "spikes_load_error"
CALENDAR_ERROR_KEY = "spikes_calendar_error"
CONFIG_ENV = "SPIKES_CONFIG"
CONFIG_ERROR_KEY = "spikes_config_error"
CONFIG_STAMP_KEY = "spikes_config_stamp"
#: Session key of the note on a SPIKES_DISPLAY_TZ the dashboard could not use.
_ZONE_NOTE = "spikes_zone_note"
INPUT_OPTIONS = ("fmt", "bucket", "tz", "timestamp_col", "time_col", "product_col",
                 "count_col", "region_col", "category_col", "product", "date_order")
FORMATS = ("auto", "events", "long", "wide", "single")
DATE_ORDERS = ("auto", "dmy", "mdy")
COMMON_ZONES = ("UTC", "America/New_York", "America/Chicago", "America/Los_Angeles",
                "Europe/London", "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo",
                "Australia/Sydney")
ALARM_RATES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
GAPS = ("0min", "5min", "10min", "15min", "30min", "1h", "2h", "3h", "6h", "12h")
PLOT_CONFIG = {"displaylogo": False, "scrollZoom": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
THRESHOLDS = ("min_ratio", "false_alarms_per_week", "min_buckets", "min_duration",
              "min_excess_reports", "merge_gap", "event_window", "mode")
DURATIONS = ("0min", "5min", "10min", "15min", "30min", "45min", "60min", "90min", "120min")


# --- cached stages -----------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    """SHA-256 of a file on disk (cached on its path, modification time and size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@st.cache_resource(show_spinner="Reading reports…", max_entries=8)
def _load(digest: str, name: str, options: tuple[tuple[str, Any], ...],
          _source: str | bytes) -> ReportData:
    """Read and bucket a report file (cached on its digest and the input options)."""
    if isinstance(_source, bytes):
        handle = io.BytesIO(_source)
        handle.name = name
        return load_reports([handle], **dict(options))
    return load_reports([_source], **dict(options))


@st.cache_resource(show_spinner=False, max_entries=4)
def _read_calendar(path: str, mtime_ns: int, size: int,
                   date_order: str | None = None) -> Calendar:
    """The calendar file (cached on its path, modification time, size and date order)."""
    return read_calendar(path, date_order=date_order)


def env_date_order() -> str | None:
    """The day/month order ``SPIKES_DATE_ORDER`` gives (``dmy``, ``mdy``; None unset).

    Raises
    ------
    SpikesInputError
        For another value, naming the variable.
    """
    try:
        return check_date_order(os.environ.get(DATE_ORDER_ENV))
    except SpikesInputError as exc:
        raise SpikesInputError(f"{DATE_ORDER_ENV}: {exc}") from None


def load_calendar(date_order: str | None = None) -> tuple[Calendar | None, str]:
    """The calendar named by ``SPIKES_CALENDAR`` (None without one), and its cache key;
    a calendar that cannot be read leaves its error in the session state.

    Parameters
    ----------
    date_order : {"dmy", "mdy"}, optional
        Day/month order of the calendar's numeric dates: the one the reports were read
        with (see :func:`calendar_date_order`); None: the calendar's dates decide, and a
        calendar whose dates cannot tell is refused, saying how to choose the order here.
    """
    path = os.environ.get(CALENDAR_ENV)
    if not path:
        return None, ""
    try:
        stat = Path(path).stat()
        return _read_calendar(path, stat.st_mtime_ns, stat.st_size, date_order), \
            f"{path}:{stat.st_mtime_ns}:{stat.st_size}:{date_order or 'auto'}"
    except OSError as exc:
        st.session_state[CALENDAR_ERROR_KEY] = (f"{CALENDAR_ENV}: cannot read {path!r}: "
                                                f"{exc.strerror or exc}")
        return None, ""
    except SpikesInputError as exc:
        hint = ("" if date_order or "--date-order" not in str(exc) else
                f" In the dashboard, the calendar's dates are read in the Date order of the "
                f"Data tab's upload, else in that of {DATE_ORDER_ENV}=dmy or mdy on the "
                "server.")
        st.session_state[CALENDAR_ERROR_KEY] = f"{CALENDAR_ENV}: {exc}{hint}"
        return None, ""


def calendar_date_order(source: Source) -> str | None:
    """The day/month order the calendar is read in: the one the reports of `source` were
    read with (an upload's Date order, or ``SPIKES_DATE_ORDER`` for the file of
    ``SPIKES_DATA``), else ``SPIKES_DATE_ORDER`` (None where neither gives one; an
    invalid ``SPIKES_DATE_ORDER`` leaves its error in the session state)."""
    given = dict(source.options).get("date_order")
    if given:
        return str(given)
    try:
        return env_date_order()
    except SpikesInputError as exc:
        st.session_state[CALENDAR_ERROR_KEY] = str(exc)
        return None


@st.cache_resource(show_spinner="Fitting baselines…", max_entries=8)
def _score(digest: str, options: tuple[tuple[str, Any], ...],
           score_settings: tuple, calendar_key: str,
           _data: ReportData, _calendar: Calendar | None) -> Scored:
    """Baseline and detector scores (the expensive step), cached on data, settings and
    calendar."""
    shared, overrides = score_settings
    config = DetectionConfig(**dict(shared),
                             overrides={product: dict(values) for product, values in overrides})
    return score_reports(_data, config, calendar=_calendar)


def score_settings_of(config: DetectionConfig) -> tuple:
    """The settings of `config` that change the scores (``SCORE_KEYS``), per-product
    overrides included, as a hashable cache key of :func:`_score`."""
    shared = tuple((k, getattr(config, k)) for k in SCORE_KEYS)
    overrides = tuple(sorted(
        (product, tuple(sorted((k, v) for k, v in values.items() if k in SCORE_KEYS)))
        for product, values in config.overrides.items()))
    return shared, tuple((product, values) for product, values in overrides if values)


def _file_config() -> DetectionConfig:
    """The settings of the file ``SPIKES_CONFIG`` names (the defaults without one, or
    when it cannot be read: its error is shown)."""
    path = os.environ.get(CONFIG_ENV)
    if not path:
        return DetectionConfig()
    try:
        stat = Path(path).stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = (-1, -1)
    try:
        config = _read_config(path, stamp)
    except SpikesInputError as exc:
        st.session_state[CONFIG_ERROR_KEY] = f"{CONFIG_ENV}: {exc}"
        return DetectionConfig()
    seen = st.session_state.get(CONFIG_STAMP_KEY)
    st.session_state[CONFIG_STAMP_KEY] = stamp
    if seen is not None and seen != stamp and TUNED_CONFIG_KEY not in st.session_state:
        # The file changed during the session: the sliders follow it, as the scores do.
        _set_sliders(config)
    return config


@st.cache_data(show_spinner=False, max_entries=16)
def _week_suggestions(digest: str, options: tuple[tuple[str, Any], ...], config_toml: str,
                      _data: ReportData, _config: DetectionConfig) -> list[str]:
    """The products whose week follows another time zone than their days
    (:func:`spikes.detect.days.offset_suggestions`), as text."""
    return suggestion_texts(offset_suggestions(_data.counts, _data.bucket, _config))


@st.cache_resource(show_spinner=False, max_entries=4)
def _read_config(path: str, stamp: tuple[int, int]) -> DetectionConfig:
    """The file's settings, read again when it changes (`stamp`)."""
    return load_config(path)


@st.cache_resource(show_spinner=False, max_entries=64)
def _analyze(digest: str, options: tuple[tuple[str, Any], ...],
             score_settings: tuple, calendar_key: str, config_toml: str,
             _scored: Scored, _config: DetectionConfig) -> tuple[Analysis, pd.DataFrame]:
    """Incidents, events and product status under the thresholds (the cheap step)."""
    analysis = rethreshold(_scored, _config)
    return analysis, product_status(analysis)


@st.cache_resource(show_spinner=False, max_entries=8)
def _status_feed(paths: tuple[str, ...], config: str | None, stamps: tuple[int, ...],
                 names: tuple[str, ...]) -> OfficialFeed:
    """The official incidents of the status feeds (cached on the files' modification
    times and the names looked for in Atom/RSS entries)."""
    settings = load_status_feed_config(config)
    official = read_status_feeds(paths, [*names, *settings.components])
    return OfficialFeed(official=official, config=settings)


def status_feed(bundled: bool, products: list[str]) -> OfficialFeed | None:
    """The status feeds of ``SPIKES_STATUS_FEED`` (``SPIKES_STATUS_CONFIG``), else the
    sample feeds for the bundled sample, else None. A feed that cannot be read leaves
    its error message in the session state."""
    named = os.environ.get("SPIKES_STATUS_FEED", "")
    if named.strip():
        paths = tuple(p for p in named.split(os.pathsep) if p.strip())
        config = os.environ.get("SPIKES_STATUS_CONFIG") or None
    elif bundled and "SPIKES_DATA" not in os.environ:
        paths, config = SAMPLE_FEEDS, SAMPLE_FEED_CONFIG
    else:
        return None
    files = [*paths, *([config] if config else [])]
    stamps = tuple(os.stat(p).st_mtime_ns if os.path.exists(p) else 0 for p in files)
    try:
        return _status_feed(paths, config, stamps, tuple(products))
    except SpikesInputError as exc:
        st.session_state[FEED_ERROR_KEY] = f"Status feed not used: {exc}"
        return None


# --- source and settings -----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Source:
    """The file to analyse: its name, a digest, its bytes or path, and input options."""

    name: str
    digest: str
    content: str | bytes
    options: tuple[tuple[str, Any], ...]


def _clean_options(options: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """Input options with blanks dropped, in a fixed order (a cache key)."""
    options = options or {}
    out = []
    for key in INPUT_OPTIONS:
        value = options.get(key)
        if isinstance(value, str):
            value = value.strip() or None
        if key in ("fmt", "date_order") and value == "auto":
            value = None
        if value is not None:
            out.append((key, value))
    return tuple(out)


def _bundled_source() -> Source:
    if BUNDLED.is_dir():
        raise SpikesInputError(f"{BUNDLED} is a folder: the dashboard shows one report file "
                               "(spikes analyze reads folders); set SPIKES_DATA to a file")
    try:
        stat = BUNDLED.stat()
    except FileNotFoundError:
        raise SpikesInputError(f"cannot read {str(BUNDLED)!r}: no such file") from None
    except OSError as exc:
        raise SpikesInputError(f"cannot read {str(BUNDLED)!r}: "
                               f"{exc.strerror or exc}") from None
    order = env_date_order()
    return Source(name=BUNDLED.name, digest=_file_digest(str(BUNDLED), stat.st_mtime_ns,
                                                         stat.st_size),
                  content=str(BUNDLED), options=(("date_order", order),) if order else ())


def _uploaded_source() -> Source | None:
    upload = st.session_state.get(UPLOAD_KEY)
    if not upload:
        return None
    data = bytes(upload["data"])
    return Source(name=str(upload.get("name") or "upload.csv"),
                  digest=hashlib.sha256(data).hexdigest(), content=data,
                  options=_clean_options(upload.get("options")))


def load_source() -> tuple[Source, ReportData]:
    """The data to show: the uploaded file if there is one and it reads, else the bundled
    sample. A file that cannot be read leaves its error message in the session state."""
    source = _uploaded_source()
    if source is not None:
        try:
            return source, _load(source.digest, source.name, source.options, source.content)
        except SpikesInputError as exc:
            st.session_state[ERROR_KEY] = f"{source.name}: {exc}"
            del st.session_state[UPLOAD_KEY]
    source = _bundled_source()
    return source, _load(source.digest, source.name, source.options, source.content)


def _defaults() -> DetectionConfig:
    """The settings the sidebar starts from: those tuned in the Tuning tab once applied
    ("Apply tuned settings"), else those of ``SPIKES_CONFIG``."""
    tuned = st.session_state.get(TUNED_CONFIG_KEY)
    return tuned if isinstance(tuned, DetectionConfig) else _file_config()


def _stops(options: tuple, value: Any) -> tuple[tuple, Any]:
    """The slider's stops with `value` among them, and `value` as a stop spells it: a
    duration is one stop however it is written ("1h" is the stop "60min")."""
    def key(v: Any) -> Any:
        return pd.Timedelta(v) if isinstance(v, str) else v

    same = next((o for o in options if key(o) == key(value)), None)
    if same is not None:
        return tuple(options), same
    return tuple(sorted([*options, value], key=key)), value


def sidebar_settings() -> tuple[DetectionConfig, str]:
    """The detector thresholds and display time zone chosen in the sidebar."""
    base = _defaults()
    fixed = base.cusum_threshold is not None and base.tail_threshold is not None
    side = st.sidebar
    side.header("Detector settings")
    side.caption("Applied live to every view. Scores are cached: a change here only "
                 "re-thresholds.")
    values = {
        "mode": side.radio(
            "Detection", MODES, index=MODES.index(base.mode), key="mode",
            format_func={"causal": "Live (from the past only)",
                         "retrospective": "Retrospective (hindsight)"}.get,
            help="Live: every decision about a bucket uses data up to it, and each incident "
                 "shows when it was raised. Retrospective: baselines, thresholds and onsets "
                 "see the whole series, for post-mortems."),
        "min_ratio": side.slider(
            "Min ratio to baseline", 1.0, 20.0, float(base.min_ratio), 0.1, key="min_ratio",
            help="An incident's reports must reach this multiple of the baseline."),
        "false_alarms_per_week": side.select_slider(
            "False alarms per product-week", *_stops(ALARM_RATES, base.false_alarms_per_week),
            key="false_alarms_per_week", disabled=fixed,
            help=("The settings file fixes cusum_threshold and tail_threshold, which this "
                  "rate would otherwise set: it changes nothing here." if fixed else
                  "Target false-alarm rate under normal traffic; lower = stricter.")),
        "min_buckets": side.slider(
            "Min buckets", 1, 24, int(base.min_buckets), key="min_buckets",
            help="An incident must span at least this many buckets."),
        "min_duration": side.select_slider(
            "Min duration", *_stops(DURATIONS, base.min_duration), key="min_duration",
            help="An incident is raised only once it has lasted this long (0min: no "
                 "wait); \"page me only for outages over an hour\" is 1h."),
        "min_excess_reports": side.slider(
            "Min excess reports", 0.0, 500.0, float(base.min_excess_reports), 1.0,
            key="min_excess_reports", help="Reports above the baseline an incident needs."),
        "merge_gap": side.select_slider(
            "Merge gap", *_stops(GAPS, base.merge_gap), key="merge_gap",
            help="Incidents of one product closer than this are one incident."),
        "event_window": side.select_slider(
            "Event window", *_stops(GAPS, base.event_window), key="event_window",
            help="Products whose onsets follow each other within this window form one "
                 "event."),
    }
    if isinstance(st.session_state.get(TUNED_CONFIG_KEY), DetectionConfig):
        side.caption("Tuned settings applied from the Tuning tab are the base of these "
                     "sliders.")
    if isinstance(st.session_state.get(PICKED_CONFIG_KEY), DetectionConfig):
        side.button("Apply tuned settings", on_click=_apply_tuned, width="stretch",
                    help="Make the settings picked in the Tuning tab those of every view.")
    side.button("Reset to defaults", on_click=_reset_settings, width="stretch")
    side.divider()
    side.header("Display")
    zones = _zones()
    tz = side.selectbox("Time zone", zones, key="tz", on_change=_sync_url, args=("tz",),
                        help=f"Time zone of every time axis and table (at start: ?tz= in "
                             f"the link, else {ENVIRONMENT}, else UTC).")
    if st.session_state.get(_ZONE_NOTE):
        side.warning(dash.escape_markdown(st.session_state[_ZONE_NOTE]))
    side.divider()
    side.caption("Tune the thresholds against labelled outages in the **Tuning** tab.")
    try:
        config = dataclasses.replace(base, **values)
    except SpikesInputError as exc:
        side.error(dash.escape_markdown(str(exc)))
        config = base
    return config, tz


@functools.cache
def _zones() -> list[str]:
    """Time zones offered: common ones first, then every IANA zone (read once)."""
    return list(COMMON_ZONES) + sorted(zoneinfo.available_timezones() - set(COMMON_ZONES))


def _reset_settings() -> None:
    """Back to the settings the dashboard started from: those of ``SPIKES_CONFIG``, or
    the documented defaults (forgetting a tuned operating point)."""
    st.session_state.pop(TUNED_CONFIG_KEY, None)
    _set_sliders(_file_config())


def _set_sliders(config: DetectionConfig) -> None:
    """Move the sidebar's sliders to `config`'s values."""
    for key in THRESHOLDS:
        st.session_state[key] = _slider_value(key, getattr(config, key))


def _slider_value(key: str, value: Any) -> Any:
    """`value` of setting `key` as its slider's stop spells it (see :func:`_stops`)."""
    stops = {"min_duration": DURATIONS, "merge_gap": GAPS, "event_window": GAPS,
             "false_alarms_per_week": ALARM_RATES}.get(key)
    return value if stops is None else _stops(stops, value)[1]


def _apply_tuned() -> None:
    """Make the operating point picked in the Tuning tab the dashboard's settings (the
    base of the sliders, for the settings without one too), and move the sliders to it."""
    picked = st.session_state.get(PICKED_CONFIG_KEY)
    if isinstance(picked, DetectionConfig):
        st.session_state[TUNED_CONFIG_KEY] = picked
    tuned = _defaults()
    for key in THRESHOLDS:
        st.session_state[key] = _slider_value(key, getattr(tuned, key))


def _sync_url(key: str) -> None:
    """Mirror a widget's value in the URL so that the link reopens the same view."""
    value = st.session_state.get(key)
    if value is None:
        return
    st.query_params[key] = str(value).lower() if key == "view" else str(value)


def _seed_from_url() -> None:
    """Apply ``?view=&product=&tz=`` once per session, before the widgets exist."""
    if st.session_state.get("_url_applied"):
        return
    st.session_state["_url_applied"] = True
    params = st.query_params
    product = params.get("product")
    if product:
        st.session_state["product"] = product  # checked against the data by the view
    tz = params.get("tz")
    if tz and tz in _zones():
        st.session_state["tz"] = tz
    else:
        _seed_zone_from_env()


def _seed_zone_from_env() -> None:
    """Start the time zone at ``SPIKES_DISPLAY_TZ`` where set, as the command line's
    ``--display-tz`` does; a value that names no zone offered stays UTC with a note in
    the sidebar (``_ZONE_NOTE``)."""
    try:
        zone = chosen_display_zone(None)
    except SpikesInputError as exc:
        st.session_state[_ZONE_NOTE] = f"{exc}; times are shown in UTC."
        return
    if zone is None:
        return
    if zone in _zones():
        st.session_state["tz"] = zone
    else:
        st.session_state[_ZONE_NOTE] = (f"{ENVIRONMENT} = {zone}: not a zone the dashboard "
                                        "offers (an IANA name); times are shown in UTC.")


# --- views -----------------------------------------------------------------------------
#: Times Streamlit's slider can hold (microseconds since 1970 in a JavaScript number).
_SLIDER_LOW = datetime(1970, 1, 1) - timedelta(microseconds=2**53 - 1)
_SLIDER_HIGH = datetime(1970, 1, 1) + timedelta(microseconds=2**53 - 1)


def _range_widget(ctx: dash.ViewContext) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Time range slider (in the display zone) with quick buttons; returns UTC bounds."""
    data = ctx.analysis.data
    index = data.counts.index
    span = index[-1] - index[0]
    step = data.bucket if span <= pd.Timedelta(days=3) else max(data.bucket,
                                                                 pd.Timedelta(hours=1))
    lo = dash.local_times(index[:1], ctx.tz)[0].floor(step).to_pydatetime()
    hi = (dash.local_times(index[-1:], ctx.tz)[0] + data.bucket).ceil(step).to_pydatetime()
    key = f"range::{ctx.key}::{ctx.tz}::{step}"

    def last(hours: float | None) -> tuple[datetime, datetime]:
        if hours is None:
            return lo, hi
        # Hours of real time (across a change of the clocks, not of the wall clock).
        begin = max(index[-1] + data.bucket - pd.Timedelta(hours=hours), index[0])
        return max(lo, dash.local_times([begin], ctx.tz)[0].floor(step).to_pydatetime()), hi

    if not _SLIDER_LOW <= lo <= hi <= _SLIDER_HIGH:
        st.caption("The time-range slider cannot hold times this far from 1970 (Streamlit "
                   "keeps them to the microsecond in a JavaScript number): the whole data "
                   "is shown.")
        return index[0], index[-1]
    if key not in st.session_state:
        st.session_state[key] = last(24)
    presets = {"Last 24 h": 24, "Last 3 days": 72, "Last 7 days": 168, "All": None}
    buttons = st.columns(len(presets) + 2)
    for col, (label, hours) in zip(buttons, presets.items(), strict=False):
        col.button(label, key=f"preset::{label}", width="stretch",
                   on_click=st.session_state.__setitem__, args=(key, last(hours)))
    chosen = st.slider("Time range", min_value=lo, max_value=hi, step=step.to_pytimedelta(),
                       key=key, format="MMM DD HH:mm", label_visibility="collapsed")
    # Both handles at the slider's end (the end of the last bucket): the last bucket.
    start = min(max(_to_utc(chosen[0], ctx.tz), index[0]), index[-1])
    end = _to_utc(chosen[1], ctx.tz) - data.bucket
    return start, max(min(end, index[-1]), start)


def _to_utc(value: datetime, tz: str) -> pd.Timestamp:
    stamp = pd.Timestamp(value).tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return stamp.tz_convert("UTC")


def render_product(ctx: dash.ViewContext) -> None:
    """One product: reports against its seasonal band, incidents, what people report."""
    analysis = ctx.analysis
    products = analysis.data.products
    status = st.session_state["_status"].set_index("product")["status"]
    if st.session_state.get("product") not in products:
        asked = st.session_state.get("product")
        if asked is not None:  # from a link, or of data shown before
            st.warning(dash.escape_markdown(f"No product {asked!r} in this data (names "
                                            f"match exactly): showing {status.index[0]}."))
        st.session_state["product"] = status.index[0]
        _sync_url("product")  # the link names the product shown
    product = st.selectbox("Product", products, key="product", persist_state="session",
                           on_change=_sync_url, args=("product",),
                           format_func=lambda p: f"{p} — {status.get(p, '')}")
    start, end = _range_widget(ctx)
    st.plotly_chart(dash.product_figure(analysis, product, start, end, ctx.tz), theme=None,
                    config=PLOT_CONFIG, key="product_chart")
    _explain_range(ctx, product, start, end)
    own = dash.incident_table(analysis.incidents, ctx.tz, product, bucket=analysis.data.bucket)
    st.subheader(f"Incidents: {len(own)}")
    if own.empty:
        st.info("No incident under the current thresholds.")
        return
    st.dataframe(own.drop(columns="product"), hide_index=True, key="incident_table",
                 column_config={"why": st.column_config.TextColumn("why", width="large")})
    if ctx.analysis.incidents["official_at"].notna().any():
        st.caption(_LEAD_NOTE + (" Retrospective mode: the lead is from the onset "
                                 "(hindsight)." if ctx.config.mode != "causal" else ""))
    incidents = analysis.incidents[analysis.incidents["product"] == product]
    incidents = incidents.sort_values("onset", ascending=False).reset_index(drop=True)
    in_range = incidents[(incidents["onset"] <= end) & (incidents["end"] >= start)]
    default = int(in_range.index[0]) if len(in_range) else 0
    labels = [f"{r.event_id} · {pd.Timestamp(r.onset).tz_convert(ctx.tz):%Y-%m-%d %H:%M} · "
              f"{r.severity}" for r in incidents.itertuples(index=False)]
    choice = st.selectbox("Incident", range(len(labels)), index=default,
                          format_func=labels.__getitem__, key=f"breakdown::{product}")
    incident = incidents.iloc[choice]
    why = reason_shown(incident, ctx.tz)
    if why:
        st.info(dash.escape_markdown(f"Why: {why}"))
    if incident.get("known_event"):
        st.caption(dash.escape_markdown(f"Known event: {incident['known_event']}"))
    if analysis.data.breakdown is None:
        st.caption("This data has no region or category column, so there is no breakdown "
                   "of what people report.")
        return
    left, right = st.columns(2)
    for column, dimension, title in ((left, "category", "Most reported problems"),
                                     (right, "region", "Where reports come from")):
        shares = dash.breakdown_shares(analysis, product, incident, dimension)
        with column:
            if shares is None:
                st.caption(f"No {dimension} in this data.")
            else:
                st.plotly_chart(dash.breakdown_figure(shares, title), theme=None,
                                config=PLOT_CONFIG, key=f"breakdown_{dimension}")


def _explain_range(ctx: dash.ViewContext, product: str, start: pd.Timestamp,
                   end: pd.Timestamp) -> None:
    """On request: why the time range shown raised an incident of `product`, or why not
    (:func:`spikes.detect.explain.explain_window`)."""
    if not st.toggle("Why (no) incident in this time range?", key=f"explain::{product}"):
        return
    if ctx.config.mode != "causal":
        st.caption("Explanations are of live (causal) runs; the settings are retrospective.")
        return
    try:
        found = explain_window(ctx.analysis, product, start, end)
    except SpikesInputError as exc:  # a range the data do not hold
        st.info(dash.escape_markdown(str(exc)))
        return
    said = (found.reason if found.reason.startswith(f"{found.cause}:")
            else f"{found.cause}: {found.reason}")
    st.info(dash.escape_markdown(said))
    local = {"peak_at", "onset", "alarm", "judged_until"}
    for name, table in (("detectors", found.detectors), ("stretches", found.stretches)):
        if table.empty:
            continue
        shown = table.copy()
        for column in local & set(shown.columns):
            shown[column] = pd.DatetimeIndex(shown[column]).tz_convert(ctx.tz)
        st.dataframe(shown, hide_index=True, key=f"explain_{name}")


_LEAD_NOTE = ("Status page: how much earlier the incident was raised than the vendor's "
              "status page first said something publicly (+23 min: 23 minutes earlier; "
              "empty: no official incident of the product from 1 h before the onset to "
              "6 h after the end).")


def render_events(ctx: dash.ViewContext) -> None:
    """Incidents of several products grouped into events, on a shared timeline."""
    analysis = ctx.analysis
    events = analysis.events
    if events.empty:
        st.info("No incident under the current thresholds.")
        return
    multi = events[events["n_products"] > 1]
    st.caption(f"{len(events)} events, {len(multi)} of them across several products "
               f"(onsets within {analysis.config.event_window} of each other).")
    table = dash.event_table(events, ctx.tz, analysis.incidents)
    ids = list(table["event"])
    labels = {
        event: f"{event} · {onset} · {n} product(s) · first: {first}"
        for event, onset, n, first in zip(table["event"], table["onset"], table["n products"],
                                          table["first product"], strict=True)
    }
    if st.session_state.get("event") not in ids:
        st.session_state["event"] = dash.default_event(events)
    event_id = st.selectbox("Event", ids, key="event", persist_state="session",
                            format_func=labels.__getitem__)
    members = dash.event_members(analysis, event_id, ctx.tz)
    st.subheader(f"Event {event_id}: {len(members)} product(s), first mover first")
    st.plotly_chart(dash.event_figure(analysis, event_id, ctx.tz), theme=None,
                    config=PLOT_CONFIG, key="event_chart")
    st.dataframe(members.drop(columns=["event"]), hide_index=True, key="event_members")
    if (members["status page"] != "").any():
        st.caption(_LEAD_NOTE)
    st.subheader("All events")
    st.dataframe(table, hide_index=True, key="event_table")


def render_data(ctx: dash.ViewContext) -> None:
    """The data shown, an upload form, and downloads."""
    analysis = ctx.analysis
    data = analysis.data
    counts = data.counts
    st.subheader("Data shown")
    bundled = UPLOAD_KEY not in st.session_state and ctx.source == BUNDLED.name
    st.dataframe(pd.DataFrame({
        "": ["file", "kind", "rows read", "rows rejected", "products", "bucket", "from",
             "to"],
        "value": [ctx.source + (f" ({_home()})" if bundled else ""), data.kind,
                  f"{data.rows_read:,}", f"{len(data.rejected):,}", f"{len(data.products)}",
                  dash.duration_text(data.bucket), dash.local_times(counts.index[:1], ctx.tz)[0]
                  .strftime("%Y-%m-%d %H:%M"),
                  dash.local_times(counts.index[-1:], ctx.tz)[0].strftime("%Y-%m-%d %H:%M")],
    }), hide_index=True, key="data_summary")
    if len(data.rejected):
        with st.expander(f"{len(data.rejected):,} rejected rows"):
            st.dataframe(data.rejected.head(1000), hide_index=True)
    for note in data.notes:
        st.info(note)
    if data.ignored:
        st.caption("Ignored columns (no role in the analysis): " + ", ".join(data.ignored))
    if data.repeated:
        st.warning(f"{data.repeated:,} rows of count data repeat a product's bucket and were "
                   "added to it: a duplicated or overlapping export?")
    left, right = st.columns(2)
    left.download_button("Download incidents (CSV)", to_safe_csv(analysis.incidents),
                          file_name="incidents.csv", mime="text/csv", icon="⬇️",
                          on_click="ignore", width="stretch")
    right.download_button("Download events (CSV)", to_safe_csv(analysis.events),
                          file_name="events.csv", mime="text/csv", icon="⬇️",
                          on_click="ignore", width="stretch")
    st.download_button("Download these settings (TOML)",
                       analysis.config.to_toml("spikes settings from the dashboard"),
                       file_name="spikes.toml", mime="application/toml", on_click="ignore")
    if live_source_from_env() is not None:
        st.caption("The data come from the live store or service (SPIKES_STORE or "
                   "SPIKES_SERVICE): to analyse a file, open the dashboard without them.")
        return
    st.subheader("Analyse your own file")
    st.caption("Any CSV the `spikes` command line reads (.csv or .csv.gz): raw report "
               "events, long counts, wide counts or a single series. Leave the options "
               "blank to detect them from the header.")
    with st.form("upload_form"):
        upload = st.file_uploader("Report CSV", type=["csv", "tsv", "gz", "txt"], key="upload_file")
        c1, c2, c3 = st.columns(3)
        fmt = c1.selectbox("Format (--format)", FORMATS, key="opt_fmt")
        bucket = c2.text_input("Bucket (--bucket)", placeholder="e.g. 5min", key="opt_bucket")
        tz = c3.text_input("Time zone of naive times (--tz)", placeholder="UTC",
                           key="opt_tz")
        c4, c5, c6 = st.columns(3)
        ts_col = c4.text_input("Timestamp column", key="opt_timestamp_col")
        prod_col = c5.text_input("Product column", key="opt_product_col")
        count_col = c6.text_input("Count column", key="opt_count_col")
        c7, c8, c9 = st.columns(3)
        region_col = c7.text_input("Region column", key="opt_region_col")
        category_col = c8.text_input("Category column", key="opt_category_col")
        product = c9.text_input("Product name (file without product column)",
                                key="opt_product")
        c10, c11 = st.columns([2, 1])
        time_col = c10.text_input("Separate time-of-day column (joined to the timestamp "
                                  "column's date)", key="opt_time_col")
        date_order = c11.selectbox("Date order (--date-order)", DATE_ORDERS,
                                   key="opt_date_order",
                                   help="Day/month order of dates such as 01/03/2024, in "
                                        "the file and in the known-event calendar "
                                        "(SPIKES_CALENDAR); auto: decided by the dates.")
        submitted = st.form_submit_button("Analyse this file", type="primary")
    if submitted:
        if upload is None:
            st.warning("Choose a file first.")
        else:
            st.session_state[UPLOAD_KEY] = {
                "name": upload.name, "data": upload.getvalue(),
                "options": dict(fmt=fmt, bucket=bucket, tz=tz, timestamp_col=ts_col,
                                time_col=time_col, date_order=date_order,
                                product_col=prod_col, count_col=count_col,
                                region_col=region_col, category_col=category_col,
                                product=product)}
            st.session_state.pop(ERROR_KEY, None)
            st.rerun()
    if not bundled:
        st.button(f"Back to {_home()}", on_click=_use_bundled)


def _home() -> str:
    """What the dashboard shows without an upload, in words."""
    return ("the file of SPIKES_DATA" if os.environ.get("SPIKES_DATA", "").strip()
            else "the bundled sample")


def _use_bundled() -> None:
    st.session_state.pop(UPLOAD_KEY, None)
    st.session_state.pop(ERROR_KEY, None)


def views() -> dict[str, Callable[[dash.ViewContext], None]]:
    """The dashboard's views by tab label, in tab order (add a view here)."""
    out: dict[str, Callable[[dash.ViewContext], None]] = {
        "Overview": render_overview,
        "Product": render_product,
        "Events": render_events,
        "Data": render_data,
        "Tuning": render_tuning,
    }
    return out


# --- page ------------------------------------------------------------------------------
def _cannot_analyse(source: Source, exc: SpikesInputError) -> NoReturn:
    """Data that read but cannot be analysed under the settings (live detection of a
    bucket that does not divide a day): an upload gives way to the bundled sample, with
    its error, as a file that does not read; otherwise the error and the sidebar stay."""
    if UPLOAD_KEY in st.session_state:
        st.session_state[ERROR_KEY] = f"{source.name}: {exc}"
        del st.session_state[UPLOAD_KEY]
        st.rerun()
    st.error(dash.escape_markdown(f"Cannot analyse {source.name}: {exc}"))
    st.caption("The sidebar's detection mode (retrospective) or another bucket for the "
               "data may analyse it.")
    st.stop()


def main() -> None:
    """Build the page."""
    st.set_page_config(page_title="spikes · outages", page_icon="📈", layout="wide")
    _seed_from_url()
    config, tz = sidebar_settings()
    try:
        live = live_source_from_env()
        if live is None:
            source, data = load_source()
        else:
            digest, data = load_live(live)
            source = Source(name=live.name, digest=digest, content="", options=())
    except SpikesInputError as exc:
        what = ("the live data" if os.environ.get("SPIKES_SERVICE")
                or os.environ.get("SPIKES_STORE") else "the data file (SPIKES_DATA)"
                if os.environ.get("SPIKES_DATA", "").strip() else "the bundled data")
        st.error(dash.escape_markdown(f"Cannot read {what}: {exc}"))
        st.stop()
    if data is None:
        st.title("spikes · live outage dashboard")
        render_waiting(live)
        st.stop()
    score_settings = score_settings_of(config)
    settings_toml = config.to_toml()
    calendar, calendar_key = load_calendar(calendar_date_order(source))
    try:
        scored = _score(source.digest, source.options, score_settings, calendar_key, data,
                        calendar)
        analysis, status = _analyze(source.digest, source.options, score_settings,
                                    calendar_key, settings_toml, scored, config)
    except SpikesInputError as exc:
        _cannot_analyse(source, exc)
    # The sample feeds belong to the bundled sample: not to an upload, nor live data.
    feed = status_feed(live is None and UPLOAD_KEY not in st.session_state, data.products)
    if feed is not None:
        analysis = dataclasses.replace(analysis, incidents=feed.annotate(analysis.incidents))
    st.session_state["_status"] = status
    ctx = dash.ViewContext(analysis=analysis, config=config, tz=tz, source=source.name,
                           key=source.digest[:16] + repr(source.options))

    st.title("spikes · outage dashboard" if live is None else "spikes · live outage dashboard")
    if live is not None:
        render_live_header(live, status, data.counts.index[-1], tz)
    index = data.counts.index
    st.caption(
        dash.escape_markdown(
            f"{source.name}: {dash.count_text(len(data.products), 'product')}, "
            f"{dash.count_text(len(index), 'bucket')} of "
            f"{dash.duration_text(data.bucket)}, "
            f"{dash.count_text(len(analysis.incidents), 'incident')} in "
            f"{dash.count_text(len(analysis.events), 'event')}; times in {tz}."))
    if st.session_state.get(FEED_ERROR_KEY):
        st.error(dash.escape_markdown(st.session_state.pop(FEED_ERROR_KEY)))
    if calendar is not None:
        st.caption(dash.escape_markdown(
            f"Known-event calendar {Path(calendar.source).name}: {len(calendar)} window(s), "
            "kept out of the baselines and shaded on the product chart."))
        unknown = calendar.unknown_products(data.products)
        if unknown:
            st.warning(dash.escape_markdown(
                f"Calendar windows for {len(unknown)} product(s) not in the data (names "
                f"match exactly): {', '.join(map(repr, unknown))}; they apply to nothing."))
    for key in (CALENDAR_ERROR_KEY, CONFIG_ERROR_KEY):
        problem = st.session_state.pop(key, None)
        if problem:
            st.error(dash.escape_markdown(problem))
    error = st.session_state.get(ERROR_KEY)
    if error:
        st.error(dash.escape_markdown(error))
        st.caption(f"Showing {_home()} instead. Fix the file or its options in the Data tab.")
        st.button("Dismiss", key="dismiss_load_error", on_click=st.session_state.pop,
                  args=(ERROR_KEY, None))
    unset = config.unknown_products(data.products)
    if unset:
        st.warning(dash.escape_markdown(
            f"Settings of their own for {len(unset)} product(s) not in the data (names "
            f"match exactly): {', '.join(map(repr, unset))}; they apply to nothing."))
    zones = _week_suggestions(source.digest, source.options, settings_toml, data, config)
    if zones:
        st.caption(dash.escape_markdown(
            "Weekly rhythm in another time zone than the baseline's days: "
            + ", ".join(zones) + f". Set utc_offset (or timezone) per product in the settings file "
            f"({CONFIG_ENV}) to move their days, and so their weekends, there."))

    pages = views()
    labels = list(pages)
    wanted = str(st.query_params.get("view", "")).lower()
    default = next((label for label in labels if label.lower() == wanted), None)
    tabs = st.tabs(labels, key="view", default=default, on_change=_sync_url, args=("view",))
    for label, tab in zip(labels, tabs, strict=True):
        if tab.open:
            with tab:
                pages[label](ctx)


main()
