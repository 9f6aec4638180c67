"""The dashboard's tuning view through Streamlit's AppTest, and its figure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("streamlit")
pytest.importorskip("plotly")

from streamlit.testing.v1 import AppTest  # noqa: E402

from spikes.config import DetectionConfig  # noqa: E402
from spikes.evaluation.simulate import simulate  # noqa: E402
from spikes.evaluation.tune import tune  # noqa: E402
from spikes.model import ReportData  # noqa: E402
from spikes.ui.dashboard import escape_markdown  # noqa: E402
from spikes.ui.tuning_view import (  # noqa: E402
    PICKED_CONFIG_KEY,
    TUNED_CONFIG_KEY,
    TUNED_SETTINGS,
    folds_table,
    scores_table,
    settings_table,
    tradeoff_figure,
    trial_table,
)

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TIMEOUT = 120


def _script() -> None:
    """A tiny page that calls the view on simulated data (run by AppTest)."""
    import pandas as pd
    import streamlit as st

    from spikes.detect.pipeline import score_reports
    from spikes.evaluation.simulate import simulate
    from spikes.model import ReportData
    from spikes.ui.tuning_view import render_tuning

    sim = simulate(products=4, days=8, seed=3, volume="low", outage_rate_per_week=2.0,
                   mild=True)
    counts = sim.reports.pivot(index="timestamp", columns="product", values="reports")
    counts.index = pd.DatetimeIndex(counts.index)
    scored = score_reports(ReportData(counts=counts.astype(float), bucket=sim.bucket))
    picked = render_tuning(scored, sim.labels, budget=12)
    st.text(f"picked: {picked is not None}")


def _zoned_script(first_days_labels: bool = False) -> None:
    """The view as the dashboard calls it (a ViewContext), times shown in Tokyo; with
    `first_days_labels`, only the labels of the first two days (the first fold's
    training block, which no fold validates on: the search refuses them)."""
    import pandas as pd
    import streamlit as st

    from spikes.config import DetectionConfig
    from spikes.detect.pipeline import analyze
    from spikes.evaluation.simulate import simulate
    from spikes.model import ReportData
    from spikes.ui.dashboard import ViewContext
    from spikes.ui.tuning_view import render_tuning

    sim = simulate(products=4, days=8, seed=3, volume="low", outage_rate_per_week=2.0,
                   mild=True)
    counts = sim.reports.pivot(index="timestamp", columns="product", values="reports")
    counts.index = pd.DatetimeIndex(counts.index)
    analysis = analyze(ReportData(counts=counts.astype(float), bucket=sim.bucket))
    ctx = ViewContext(analysis=analysis, config=DetectionConfig(), tz="Asia/Tokyo",
                      source="sim", key="sim")
    labels = sim.labels
    if first_days_labels:
        labels = labels[pd.to_datetime(labels["onset"], utc=True)
                        < counts.index[0] + pd.Timedelta(days=2)]
    picked = render_tuning(ctx, labels, budget=4)
    st.text(f"picked: {picked is not None}")


def _scores(at: AppTest) -> pd.DataFrame:
    """The figures table of the view (the dataframe with a ``slice`` column)."""
    return next(d.value for d in at.dataframe
                if "slice" in d.value.columns and "fold" not in d.value.columns)


@pytest.fixture(scope="module")
def view_result():
    """A small seeded search (12 trials), shared by the tests that read it (none changes
    it)."""
    sim = simulate(products=4, days=8, seed=3, volume="low", outage_rate_per_week=2.0,
                   mild=True)
    counts = sim.reports.pivot(index="timestamp", columns="product", values="reports")
    counts.index = pd.DatetimeIndex(counts.index)
    data = ReportData(counts=counts.astype(float), bucket=sim.bucket)
    return tune(data, sim.labels, budget=12, seed=0)


def _decision_boxes(at: AppTest) -> list[str]:
    return [b.value for b in (*at.success, *at.info)
            if b.value.startswith(("adopted", "kept the base"))]


def test_view_runs_a_search_and_shows_the_decision() -> None:
    at = AppTest.from_function(_script, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text[-1].value == "picked: False"
    assert at.number_input(key="tuning_budget").value == 12
    at.button(key="tuning_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert at.text[-1].value == "picked: True"
    # The decision: one box, with the validation numbers.
    boxes = _decision_boxes(at)
    assert len(boxes) == 1 and "validation f1" in boxes[0] and "90% interval" in boxes[0]
    # The per-fold figures: three folds, base and tuned, train and validation.
    folds = next(d.value for d in at.dataframe if "fold" in d.value.columns)
    per_fold = folds[folds["fold"] != "all"]
    assert sorted(set(per_fold["fold"])) == ["1", "2", "3"]
    assert set(per_fold["slice"]) == {"train", "validation"}
    assert "alert delay median (min)" in folds.columns
    point = at.selectbox(key="tuning_point")
    assert "(the decision)" in point.format_func(point.value)
    scores = _scores(at)
    assert list(scores["slice"]) == ["all blocks", "validation blocks"] * 2
    assert isinstance(at.session_state[PICKED_CONFIG_KEY], DetectionConfig)
    assert TUNED_CONFIG_KEY not in at.session_state  # offered, not applied
    assert at.get("download_button"), "no TOML download button"
    # Picking another point of the curve changes the settings returned.
    if len(point.options) > 1:
        other = next(o for o in point.options if o != point.value)
        point.set_value(other).run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.text[-1].value == "picked: True"
        assert at.get("download_button")


def test_view_without_result_asks_to_run() -> None:
    at = AppTest.from_function(_script, default_timeout=TIMEOUT).run()
    assert any("Run tuning" in i.value for i in at.info)
    assert PICKED_CONFIG_KEY not in at.session_state


@pytest.mark.skipif(not APP.exists(), reason="app.py missing")
def test_tuning_tab_of_the_dashboard_with_bundled_labels() -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["view"] = "tuning"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # The bundled labels open with the tab (their path was wrong, and this test skipped).
    assert not at.error, [e.value for e in at.error]
    assert any(b.key == "tuning_run" for b in at.button)
    assert at.radio(key="tuning_labels_choice").value.startswith("Bundled")
    at.number_input(key="tuning_budget").set_value(3)
    at.button(key="tuning_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert isinstance(at.session_state[PICKED_CONFIG_KEY], DetectionConfig)
    assert _scores(at)["labels"].sum() > 0


def test_tradeoff_figure_marks_front_base_and_choice(view_result) -> None:
    result = view_result
    fig = tradeoff_figure(result)
    names = [t.name for t in fig.data]
    assert "Pareto front (all blocks)" in names and "base settings" in names
    chosen = next(t for t in fig.data if t.name.startswith("chosen"))
    row = result.trials[result.trials["trial"] == result.chosen].iloc[0]
    assert list(chosen.y) == [row["all_recall"]]
    assert ("not adopted" in chosen.name) is not result.adopted
    table = scores_table({"base": result.defaults, "tuned": result.tuned})
    assert table.shape[0] == 4 and set(table["slice"]) == {"train", "validation"}
    trials = trial_table(result, {"base": 0, "chosen": result.chosen})
    assert trials.shape[0] == 4
    assert trials.iloc[0]["F1"] == pytest.approx(result.trials.iloc[0]["all_f1"], abs=1e-3)


def test_min_duration_is_shown_with_the_tuned_settings(view_result) -> None:
    """issue 13: ``min_duration`` (searched by ``spikes tune``) appears in the settings
    table, the trade-off figure's hover text and carries into the picked settings."""
    result = view_result
    picked = int(result.trials["trial"].iloc[-1])
    table = settings_table(result, {"base": 0, "picked": picked}).set_index("setting")
    assert "min_duration" in table.index
    assert table.loc["min_duration", "base"] == result.base.min_duration
    assert table.loc["min_duration", "picked"] == result.config_of(picked).min_duration
    assert list(table.index) == list(TUNED_SETTINGS)
    hover = " ".join(" ".join(t.hovertext or []) for t in tradeoff_figure(result).data
                     if t.hovertext is not None)
    assert "min duration" in hover


@pytest.mark.skipif(not APP.exists(), reason="app.py missing")
def test_sidebar_applies_a_tuned_min_duration() -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state[PICKED_CONFIG_KEY] = DetectionConfig(min_duration="60min")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.select_slider(key="min_duration").value == "0min"  # picked, not applied
    next(b for b in at.button if b.label == "Apply tuned settings").click().run()
    assert at.select_slider(key="min_duration").value == "60min"
    at.select_slider(key="min_duration").set_value("30min").run()
    assert not at.exception, [e.value for e in at.exception]
    apply = next(b for b in at.button if b.label == "Apply tuned settings")
    apply.click().run()
    assert at.select_slider(key="min_duration").value == "60min"


@pytest.mark.skipif(not APP.exists(), reason="app.py missing")
def test_the_tunings_incidents_keep_the_known_event_calendar(monkeypatch) -> None:
    # A loaded TOML whose score settings differ re-scores the data: with the calendar, as
    # the dashboard scores them (the tab marked 0 incidents as known events where
    # `analyze` with the calendar marks 1).
    from spikes.detect.pipeline import analyze
    from spikes.io.buckets import load_reports
    from spikes.io.calendar import read_calendar

    calendar = ROOT / "data" / "calendar_sample.csv"
    monkeypatch.setenv("SPIKES_CALENDAR", str(calendar))
    toml = b"[detection]\nsteep_ratio = 12.0\n"
    want = analyze(load_reports([ROOT / "data" / "reports.csv.gz"]),
                   DetectionConfig(steep_ratio=12.0), calendar=read_calendar(calendar))
    marked = int((want.incidents["known_event"].fillna("") != "").sum())
    assert marked >= 1
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["view"] = "tuning"
    at.run()
    at.radio(key="tuning_mode").set_value("Load a tuned TOML").run()
    at.file_uploader(key="tuning_toml").set_value(("t.toml", toml, "application/toml")).run()
    assert not at.exception, [e.value for e in at.exception]
    table = [d.value for d in at.dataframe if "known event" in d.value.columns][-1]
    assert len(table) == len(want.incidents)
    assert int((table["known event"] != "").sum()) == marked


def _tokyo(stamps: pd.Series) -> list[str]:
    return [pd.Timestamp(t).tz_convert("Asia/Tokyo").strftime("%Y-%m-%d %H:%M")
            for t in stamps]


def test_the_fold_table_gives_its_times_in_the_display_zone(view_result) -> None:
    # The tab showed the folds' blocks in UTC (and did not say so) while every other
    # view gives times in the sidebar's zone.
    table = folds_table(view_result, "Asia/Tokyo")
    scores = view_result.fold_scores
    assert "from" not in table and "to" not in table
    assert table["from (Asia/Tokyo)"].tolist() == _tokyo(scores["from"])
    assert table["to (Asia/Tokyo)"].tolist() == _tokyo(scores["to"])
    assert table["from (Asia/Tokyo)"].iloc[0] != scores["from"].iloc[0].strftime(
        "%Y-%m-%d %H:%M")  # 9 hours apart: the test is not vacuous
    others = [c for c in scores.columns if c not in ("from", "to")]
    pd.testing.assert_frame_equal(table[others], scores[others])
    assert list(folds_table(view_result).columns[3:5]) == ["from (UTC)", "to (UTC)"]


def test_the_tuning_tab_shows_the_folds_and_the_split_in_the_dashboards_zone() -> None:
    at = AppTest.from_function(_zoned_script, default_timeout=TIMEOUT).run()
    at.button(key="tuning_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    result = at.session_state["tuning_result"][1]
    folds = next(d.value for d in at.dataframe if "fold" in d.value.columns)
    assert folds["from (Asia/Tokyo)"].tolist() == _tokyo(result.fold_scores["from"])
    described = result.folds.describe("Asia/Tokyo")
    assert "JST" in described and "UTC" not in described
    assert any(c.value.startswith(escape_markdown(described)) for c in at.caption)
    # A loaded TOML is scored on a time split: its dates in the zone too.
    at.radio(key="tuning_mode").set_value("Load a tuned TOML").run()
    at.file_uploader(key="tuning_toml").set_value(
        ("t.toml", b"[detection]\nmin_ratio = 3.0\n", "application/toml")).run()
    assert not at.exception, [e.value for e in at.exception]
    split = next(c.value for c in at.caption if c.value.startswith("train "))
    assert "JST" in split and "UTC" not in split


def test_a_search_the_labels_cannot_judge_says_the_folds_dates_in_the_zone() -> None:
    at = AppTest.from_function(_zoned_script, default_timeout=TIMEOUT,
                               kwargs={"first_days_labels": True}).run()
    at.button(key="tuning_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    said = [e.value for e in at.error]
    assert len(said) == 1 and said[0].startswith(escape_markdown(
        "tune: no labelled outage starts in a validation block (3 forward-chaining folds "
        "over 2026-01-05 09:00 JST to "))
    assert "JST" in said[0] and "UTC" not in said[0]
