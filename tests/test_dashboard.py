"""Figure and table builders of the dashboard (spikes.ui.dashboard: its formatting, theme,
figures and tables modules), on small synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("plotly")

import plotly.graph_objects as go  # noqa: E402

from spikes.detect.pipeline import analyze, product_status  # noqa: E402
from spikes.model import ReportData  # noqa: E402
from spikes.ui import dashboard as dash  # noqa: E402

NASTY = "<a href='javascript:alert(1)'>Evil</a>"


@pytest.fixture(scope="module")
def analysis():
    """Three products over 10 days of 5-minute buckets; two fail together at the end,
    one of them named with HTML."""
    rng = np.random.default_rng(3)
    index = pd.date_range("2026-01-01", periods=288 * 10, freq="5min", tz="UTC")
    hour = index.hour.to_numpy() + index.minute.to_numpy() / 60
    mu = 10 + 6 * np.sin(2 * np.pi * (hour - 9) / 24)
    counts = {p: rng.poisson(mu).astype(float) for p in ("Alpha", "Beta", NASTY)}
    outage = slice(len(index) - 30, len(index))
    counts["Alpha"][outage] += 80
    later = slice(len(index) - 27, len(index))
    counts[NASTY][later] += 60
    frame = pd.DataFrame(counts, index=index)
    rows = []
    for t in index[-200:]:
        inside = t >= index[-30]
        rows.append((t, "Alpha", "Europe", "Login" if inside else "App", 5.0))
        rows.append((t, "Alpha", "Asia", "App", 1.0))
    breakdown = pd.DataFrame(rows, columns=["timestamp", "product", "region", "category",
                                            "reports"])
    data = ReportData(counts=frame, bucket=pd.Timedelta("5min"), kind="events",
                      breakdown=breakdown)
    return analyze(data)


def all_text(fig) -> str:
    layout = fig.layout
    parts = [str(a.text) for a in layout.annotations or ()]
    parts += [str(t.name) for t in fig.data]
    parts += [str(getattr(t, "hovertemplate", "") or "") for t in fig.data]
    parts += [str(layout.title.text or "")]
    return "\n".join(parts)


def test_plot_text_and_markdown_escape() -> None:
    assert "<" not in dash.plot_text(NASTY) and ">" not in dash.plot_text(NASTY)
    escaped = dash.escape_markdown("[x](http://e.vil) ![i](u) <b>")
    for char in "[]()!<>":
        assert f"\\{char}" in escaped


def test_the_package_gives_every_name_of_its_modules() -> None:
    from spikes.ui.dashboard import context, figures, formatting, tables, theme

    for name in dash.__all__:
        assert getattr(dash, name) is not None, name
    assert dash.ViewContext is context.ViewContext
    assert dash.product_figure is figures.product_figure
    assert dash.plot_text is formatting.plot_text
    assert dash.incident_table is tables.incident_table
    assert dash.TEMPLATE is theme.TEMPLATE


def test_times_and_durations_for_people() -> None:
    from spikes.ui.dashboard.formatting import fmt_time, local_time

    t = pd.Timestamp("2026-01-05 12:00", tz="UTC")
    assert local_time(t, "Europe/Berlin") == pd.Timestamp("2026-01-05 13:00")
    assert fmt_time(t, "America/New_York") == "2026-01-05 07:00"
    assert fmt_time(None, "UTC") == fmt_time(pd.NaT, "UTC") == ""
    assert list(dash.local_times(pd.DatetimeIndex([t]), "Asia/Tokyo")) == [
        pd.Timestamp("2026-01-05 21:00")]
    assert dash.duration_text(pd.Timedelta("5min")) == "5 min"
    assert dash.duration_text(pd.Timedelta("2h")) == "2 h"


def test_theme_colours() -> None:
    from spikes.ui.dashboard.theme import line_colors, style, with_alpha

    assert with_alpha("#1f4e79", 0.1) == "rgba(31, 78, 121, 0.1)"
    colors = line_colors(12)
    assert len(colors) == 12 and colors[10] == colors[0]
    fig = style(go.Figure(), height=300, tz="Europe/Paris")
    assert fig.layout.height == 300 and fig.layout.meta == {"tz": "Europe/Paris"}


def test_overview_table_and_figure(analysis) -> None:
    status = product_status(analysis)
    table = dash.overview_table(analysis, "Europe/Berlin", status=status)
    assert list(table["product"]) == list(status["product"])
    assert table["status"].iloc[0].endswith("outage")
    assert all(len(t) == 288 for t in table["trend"])
    fig = dash.overview_figure(analysis, "UTC", status=status)
    assert len(fig.data) == 2 * len(status)
    titles = [a.text for a in fig.layout.annotations]
    assert len(titles) == len(status)
    assert NASTY not in all_text(fig) and dash.plot_text(NASTY) in all_text(fig)


def test_product_figure_marks_onsets_in_the_chosen_zone(analysis) -> None:
    start, end = dash.default_range(analysis)
    assert end - start == pd.Timedelta(hours=24) - analysis.data.bucket
    fig = dash.product_figure(analysis, "Alpha", start, end, tz="America/New_York")
    names = [t.name for t in fig.data]
    assert names[-2:] == ["baseline", "reports"]
    onset = analysis.incidents.query("product == 'Alpha'")["onset"].iloc[-1]
    local = onset.tz_convert("America/New_York")
    labels = [a.text for a in fig.layout.annotations if a.text.startswith("onset")]
    assert labels and labels[-1].startswith(f"onset {local:%H:%M}")
    solid = [s for s in fig.layout.shapes if s.type == "line" and s.line.dash == "solid"]
    assert pd.Timestamp(solid[-1].x0) == local.tz_localize(None)
    # where a live run raised it: a dotted line at alerted_at, named in the label
    raised = analysis.incidents.query("product == 'Alpha'")["alerted_at"].iloc[-1]
    raised = raised.tz_convert("America/New_York")
    dotted = [s for s in fig.layout.shapes if s.type == "line" and s.line.dash == "dot"]
    assert pd.Timestamp(dotted[-1].x0) == raised.tz_localize(None)
    assert f"raised {raised:%H:%M}" in labels[-1]
    assert fig.layout.hovermode == "x unified"


def test_product_figure_on_a_quiet_range_has_no_marker(analysis) -> None:
    index = analysis.data.counts.index
    fig = dash.product_figure(analysis, "Beta", index[0], index[100])
    assert not [a for a in fig.layout.annotations if a.text.startswith("onset")]


def test_incident_table_and_breakdown(analysis) -> None:
    bucket = analysis.data.bucket
    table = dash.incident_table(analysis.incidents, "UTC", "Alpha", bucket=bucket)
    assert len(table) >= 1 and set(table["product"]) == {"Alpha"}
    # From the onset to the end of the last bucket (it was one bucket short: a
    # one-bucket incident lasted "0 min").
    alpha = analysis.incidents.query("product == 'Alpha'").sort_values("onset",
                                                                        ascending=False)
    assert table["duration"].tolist() == [
        dash.duration_text(e + bucket - o)
        for o, e in zip(alpha["onset"], alpha["end"], strict=True)]
    one = alpha.iloc[:1].assign(end=alpha["onset"].iloc[0])
    assert dash.incident_table(one, "UTC", bucket=bucket)["duration"].tolist() == [
        dash.duration_text(bucket)]
    incident = analysis.incidents.query("product == 'Alpha'").iloc[-1]
    shares = dash.breakdown_shares(analysis, "Alpha", incident, "category")
    assert shares is not None
    assert shares.index[0] == "Login"
    assert shares.sum().round(6).tolist() == [1.0, 1.0]
    assert shares.loc["Login", "normal times"] == 0.0
    fig = dash.breakdown_figure(shares, "Most reported problems")
    assert [t.name for t in fig.data] == ["during incident", "normal times"]
    assert dash.breakdown_shares(analysis, "Beta", incident, "category") is None
    assert dash.breakdown_shares(analysis, "Alpha", None, "category") is None


def test_event_members_and_figure_first_mover_first(analysis) -> None:
    event = dash.default_event(analysis.events)
    members = dash.event_members(analysis, event)
    assert list(members["product"])[:2] == ["Alpha", NASTY]
    assert members["after first"].iloc[0] == "first"
    assert members["after first"].iloc[1] == "+15 min"
    fig = dash.event_figure(analysis, event, "UTC")
    bars = [t for t in fig.data if t.type == "bar"]
    assert [b.y[0] for b in bars] == ["Alpha", dash.plot_text(NASTY)]
    assert NASTY not in all_text(fig)
    table = dash.event_table(analysis.events)
    assert table["event"].iloc[0] == event


def test_empty_incidents_tables() -> None:
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in ("product", "onset")})
    assert dash.incident_table(empty, bucket=pd.Timedelta("5min")).empty
    assert dash.default_event(pd.DataFrame()) is None


def test_incident_table_shows_why_and_known_event(analysis) -> None:
    table = dash.incident_table(analysis.incidents, "UTC", bucket=analysis.data.bucket)
    assert list(table.columns[-2:]) == ["known event", "why"]
    newest_first = analysis.incidents.sort_values(["onset", "product"], ascending=False,
                                                  kind="stable")
    assert table["why"].tolist() == newest_first["why"].tolist()
    assert all(w.endswith(".") for w in table["why"])
    assert (table["known event"] == "").all()


def test_incident_table_gives_the_why_in_its_time_zone(analysis) -> None:
    # The times and the why's times in one zone (the why said UTC beside local times).
    from spikes.detect.reason_zone import reason_in_zone

    table = dash.incident_table(analysis.incidents, "Asia/Tokyo", bucket=analysis.data.bucket)
    newest_first = analysis.incidents.sort_values(["onset", "product"], ascending=False,
                                                  kind="stable")
    assert table["why"].tolist() == [reason_in_zone(incident["why"], incident, "Asia/Tokyo")
                                     for incident in newest_first.to_dict("records")]
    assert all(" JST (" in why and " UTC" not in why for why in table["why"])
    edited = analysis.incidents.assign(why="Alpha: edited by hand.")
    table = dash.incident_table(edited, "Asia/Tokyo", bucket=analysis.data.bucket)
    assert set(table["why"]) == {"Alpha: edited by hand. (times in UTC)"}


def test_product_figure_shades_the_calendar_windows(analysis) -> None:
    from spikes.detect.known_events import Calendar

    index = analysis.data.counts.index
    calendar = Calendar.from_records([
        ("Alpha", index[300], index[324], "maintenance", NASTY),
        ("*", index[-30], index[-1], "release", ""),
        ("Beta", index[400], index[410], "maintenance", "not Alpha's")])
    shaded = analyze(analysis.data, calendar=calendar)
    fig = dash.product_figure(shaded, "Alpha", index[200], index[-1], "UTC")
    windows = [s for s in fig.layout.shapes if s.name == "known event"]
    assert len(windows) == 2
    texts = all_text(fig)
    assert f"maintenance: {dash.plot_text(NASTY)}" in texts and "release" in texts
    assert NASTY not in texts and "not Alpha" not in texts
    # The incident at the end lies in the release window: marked in the table.
    table = dash.incident_table(shaded.incidents, "UTC", "Alpha", bucket=shaded.data.bucket)
    assert table["known event"].iloc[0] == "release"
    # Outside the range no window is drawn.
    quiet = dash.product_figure(shaded, "Alpha", index[500], index[600], "UTC")
    assert not [s for s in quiet.layout.shapes if s.name == "known event"]


def test_charts_across_a_change_of_the_clocks_run_forward_in_one_offset() -> None:
    # New York falls back on 2026-11-01 at 02:00 EDT: the wall-clock axis ran 01:55 ->
    # 01:00, the line doubling back over an hour of reports.
    rng = np.random.default_rng(5)
    index = pd.date_range("2026-10-29", "2026-11-01T18:00", freq="5min", tz="UTC",
                          inclusive="left")
    counts = pd.DataFrame({"A": rng.poisson(20, len(index)).astype(float)}, index=index)
    counts.iloc[-40:-10, 0] *= 6
    analysis = analyze(ReportData(counts=counts, bucket=pd.Timedelta("5min")))
    tz = "America/New_York"
    start = index[-288]
    fig = dash.product_figure(analysis, "A", start, index[-1], tz)
    x = pd.DatetimeIndex(next(t for t in fig.data if t.name == "reports").x)
    assert len(x) == 288 and x.is_monotonic_increasing and x.is_unique
    assert x[-1] == index[-1].tz_convert(tz).tz_localize(None)  # the clock of now (EST)
    assert x[0] == (start - pd.Timedelta(hours=5)).tz_localize(None)  # EST throughout
    assert "times in UTC-05:00 throughout: the clocks of America/New_York change" in \
        fig.layout.title.text
    overview = dash.overview_figure(analysis, tz)
    assert pd.DatetimeIndex(overview.data[0].x).is_monotonic_increasing
    # A range without a change keeps the zone's own wall clock and says nothing more.
    calm = dash.product_figure(analysis, "A", index[0], index[200], tz)
    assert "throughout" not in calm.layout.title.text
    assert pd.DatetimeIndex(calm.data[-1].x)[0] == index[0].tz_convert(tz).tz_localize(None)
