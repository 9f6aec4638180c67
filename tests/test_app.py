"""The dashboard as a person uses it, through Streamlit's AppTest (no browser).

AppTest cannot upload files; the app reads uploads from
``st.session_state["spikes_upload"]`` (what its upload form writes), so the tests put a
file there.
"""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
pytest.importorskip("plotly")

from streamlit.testing.v1 import AppTest  # noqa: E402

from spikes.detect.pipeline import STATUS_ORDER  # noqa
from spikes.errors import SpikesInputError  # noqa: E402
from spikes.io.buckets import load_reports  # noqa: E402
from spikes.ui.dashboard import escape_markdown  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
BUNDLED = ROOT / "data" / "reports.csv.gz"
TIMEOUT = 120

pytestmark = pytest.mark.skipif(not BUNDLED.exists(), reason="bundled data missing")


@pytest.fixture(scope="module")
def products() -> list[str]:
    return load_reports([BUNDLED]).products


def fresh(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_opens_on_bundled_data_and_lists_every_product(products: list[str]) -> None:
    at = fresh()
    assert not at.error
    assert at.title[0].value == "spikes · outage dashboard"
    assert escape_markdown("reports.csv.gz") in at.caption[0].value
    table = at.dataframe(key="overview_table").value
    assert sorted(table["product"]) == sorted(products)
    # on fire first: statuses are ranked outage, recovering, elevated, normal
    ranks = table["status"].map(lambda s: list(STATUS_ORDER).index(s.split()[-1]))
    assert list(ranks) == sorted(ranks)
    assert int(metric(at, "Outage")) == int((ranks == 0).sum())
    # Every product is counted under one status ("no data" had no count of its own).
    assert sum(int(metric(at, s)) for s in ("Outage", "Recovering", "Elevated", "No data",
                                            "Normal")) == len(products)


def test_every_view_renders() -> None:
    at = fresh()
    for view in ("Product", "Events", "Data", "Overview"):
        at.session_state["view"] = view
        at.run()
        assert not at.exception, (view, [e.value for e in at.exception])
        assert not at.error


def test_product_view_from_url_and_threshold_slider_changes_incidents() -> None:
    at = fresh(view="product", product="Outlook")
    assert at.selectbox(key="product").value == "Outlook"
    incidents = at.dataframe[0].value
    assert len(incidents) >= 1
    assert "critical" in set(incidents["severity"])
    assert at.subheader[0].value == f"Incidents: {len(incidents)}"
    # choosing another product shows that product's incidents
    at.selectbox(key="product").set_value("Gmail").run()
    assert not at.exception
    gmail = at.subheader[0].value
    # a strict min ratio removes the mild incidents and keeps Outlook's big one
    at.selectbox(key="product").set_value("Outlook").run()
    at.slider(key="min_ratio").set_value(20.0).run()
    assert not at.exception
    strict = at.dataframe[0].value
    assert 1 <= len(strict) <= len(incidents)
    assert (strict["ratio"] >= 20.0).all()
    at.selectbox(key="product").set_value("Gmail").run()
    assert at.subheader[0].value == "Incidents: 0" != gmail


def test_threshold_changes_overview_count() -> None:
    at = fresh()
    before = int(metric(at, "Incidents in data"))
    at.slider(key="min_ratio").set_value(20.0).run()
    after = int(metric(at, "Incidents in data"))
    assert 0 < after < before
    at.button[0].click().run()  # reset to defaults
    assert int(metric(at, "Incidents in data")) == before


def test_events_view_shows_the_microsoft_365_chain_as_one_event() -> None:
    at = fresh(view="events")
    members = at.dataframe[0].value
    ms365 = {"Outlook", "Exchange Online", "Microsoft Store", "Microsoft Defender",
             "Microsoft Purview"}
    assert ms365 <= set(members["product"])
    assert members["product"].iloc[0] == "Outlook"
    assert members["after first"].iloc[0] == "first"


def test_bad_upload_shows_the_library_error_and_falls_back() -> None:
    content = b"when,what\nyesterday,nothing\n"
    bad = io.BytesIO(content)
    bad.name = "bad.csv"
    with pytest.raises(SpikesInputError) as expected:
        load_reports([bad])
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["spikes_upload"] = {"name": "bad.csv", "data": content}
    at.run()
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert message == escape_markdown(f"bad.csv: {expected.value}")
    assert "Traceback" not in message
    # the dashboard still shows the bundled data
    assert "Showing the bundled sample instead" in at.caption[1].value
    assert escape_markdown("reports.csv.gz") in at.caption[0].value
    # It stays until dismissed (no "Back to the bundled sample" is offered: it is shown).
    at.run()
    assert len(at.error) == 1
    next(b for b in at.button if b.label == "Dismiss").click().run()
    assert not at.error


def test_a_product_asked_for_that_is_not_in_the_data_is_said(products) -> None:
    # ?product=outlook opened another product without a word.
    at = fresh(view="product", product="outlook")
    assert [w.value for w in at.warning] == [escape_markdown(
        f"No product 'outlook' in this data (names match exactly): showing "
        f"{at.selectbox(key='product').value}.")]


def test_good_upload_replaces_the_bundled_data() -> None:
    rows = ["timestamp,product,count"]
    rows += [f"2026-01-0{1 + i // 288}T{(i % 288) // 12:02d}:{(i % 12) * 5:02d}:00Z,"
             f"Widget <b>,{5 + (i % 3)}" for i in range(288 * 3)]
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["spikes_upload"] = {"name": "mine.csv",
                                         "data": "\n".join(rows).encode()}
    at.run()
    assert not at.exception and not at.error
    assert escape_markdown("mine.csv") in at.caption[0].value
    assert list(at.dataframe(key="overview_table").value["product"]) == ["Widget <b>"]


def test_tuned_operating_point_moves_the_sliders() -> None:
    from spikes.config import DetectionConfig
    from spikes.ui.tuning_view import PICKED_CONFIG_KEY

    at = fresh()
    before = int(metric(at, "Incidents in data"))
    # Picked in the Tuning tab (a search, or a loaded TOML): offered, not yet applied.
    at.session_state[PICKED_CONFIG_KEY] = DetectionConfig(min_ratio=15.0, min_buckets=3,
                                                          cusum_ratio=3.5)
    at.run()
    assert int(metric(at, "Incidents in data")) == before
    at.run()
    assert int(metric(at, "Incidents in data")) == before  # not a run later either
    next(b for b in at.button if b.label == "Apply tuned settings").click()
    at.run()
    assert at.slider(key="min_ratio").value == 15.0
    assert at.slider(key="min_buckets").value == 3
    assert int(metric(at, "Incidents in data")) < before
    next(b for b in at.button if b.label == "Reset to defaults").click()
    at.run()
    assert at.slider(key="min_ratio").value == 2.0
    assert int(metric(at, "Incidents in data")) == before
    # A value off the slider's step is applied as picked (it was rounded to 2.1: other
    # incidents than the Tuning tab had shown under the picked settings).
    at.session_state[PICKED_CONFIG_KEY] = DetectionConfig(min_ratio=2.13)
    at.run()
    next(b for b in at.button if b.label == "Apply tuned settings").click()
    at.run()
    assert at.slider(key="min_ratio").value == 2.13


@pytest.mark.parametrize("where", ["missing.csv", "folder", ""])
def test_a_data_file_that_is_not_there_is_one_error_box(monkeypatch, tmp_path, where) -> None:
    # A missing file or a folder was a FileNotFoundError / IsADirectoryError traceback on
    # the page; an empty SPIKES_DATA was the current folder.
    (tmp_path / "folder").mkdir()
    monkeypatch.setenv("SPIKES_DATA", str(tmp_path / where) if where else "")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if not where:  # unset: the bundled sample
        assert escape_markdown("reports.csv.gz") in at.caption[0].value
        return
    assert len(at.error) == 1
    expected = "no such file" if where == "missing.csv" else "is a folder"
    assert escape_markdown(expected) in at.error[0].value


def test_an_upload_live_detection_cannot_analyse_falls_back_with_its_error() -> None:
    # A 7-minute bucket (it does not divide a day) was the library's error as a
    # traceback, with no tab left to go back to the sample from.
    rows = ["timestamp,product,count"] + [
        f"2026-01-01T{i // 12:02d}:{(i % 12) * 5:02d}:00Z,A,{20 + i % 3}" for i in range(288)]
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["spikes_upload"] = {"name": "mine.csv", "data": "\n".join(rows).encode(),
                                         "options": {"bucket": "7min"}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and escape_markdown("mine.csv: live detection") in \
        at.error[0].value
    assert escape_markdown("reports.csv.gz") in at.caption[0].value  # the sample instead
    assert len(at.tabs) == 5


def test_calendar_from_the_environment_marks_and_shades(monkeypatch) -> None:
    monkeypatch.setenv("SPIKES_CALENDAR", str(ROOT / "data" / "calendar_sample.csv"))
    at = fresh(view="product", product="Exchange Online")
    assert not at.error
    assert any("Known\\-event calendar calendar\\_sample\\.csv" in c.value for c in at.caption)
    incidents = at.dataframe[0].value
    marked = incidents[incidents["known event"] != ""]
    assert marked["known event"].tolist() == ["maintenance: planned mailbox migration (sample)"]
    assert incidents["why"].str.startswith("Exchange Online: ").all()


def test_calendar_windows_of_products_not_in_the_data_are_named(monkeypatch, tmp_path) -> None:
    # As `spikes analyze` warns; the dashboard said nothing and counted the window.
    calendar = tmp_path / "cal.csv"
    calendar.write_text("product,start,end,kind\n"
                        "outlook,2026-01-13T15:00:00Z,2026-01-13T18:00:00Z,maintenance\n")
    monkeypatch.setenv("SPIKES_CALENDAR", str(calendar))
    at = fresh()
    assert [w.value for w in at.warning] == [escape_markdown(
        "Calendar windows for 1 product(s) not in the data (names match exactly): "
        "'outlook'; they apply to nothing.")]


def test_bad_calendar_shows_its_error_and_the_data_still_shows(monkeypatch, tmp_path) -> None:
    bad = tmp_path / "cal.csv"
    bad.write_text("product,start,end,kind\nOutlook,soon,later,maintenance\n")
    monkeypatch.setenv("SPIKES_CALENDAR", str(bad))
    at = fresh()
    assert any("column start" in e.value for e in at.error)
    assert len(at.dataframe(key="overview_table").value) > 0


def test_product_view_says_why_of_the_chosen_incident() -> None:
    at = fresh(view="product", product="Outlook")
    shown = [i.value.replace("\\", "") for i in at.info]  # Markdown-escaped
    why = [text for text in shown if text.startswith("Why: ")]
    assert len(why) == 1
    assert why[0].startswith("Why: Outlook: 1,391 reports in 5 min against ")
    assert re.search(r"\(event E\d{4}, chance < 0\.01 %\)", why[0])


def test_the_why_is_given_in_the_time_zone_chosen() -> None:
    # Times were shown in the zone chosen, the why beside them in UTC ("at 20:10 UTC").
    at = fresh(view="product", product="Outlook", tz="Asia/Tokyo")
    shown = [i.value.replace("\\", "") for i in at.info]  # Markdown-escaped
    why = next(text for text in shown if text.startswith("Why: "))
    assert " usual on a Friday at 05:10 JST (96x, p < 1e-30); started 04:00, raised " \
           "04:10; " in why
    incidents = at.dataframe[0].value
    assert incidents["onset"].iloc[0] == "2026-01-23 04:00"
    assert incidents["why"].iloc[0] == why.removeprefix("Why: ")
    at.session_state["view"] = "Overview"
    at.run()
    latest = next(d.value for d in at.dataframe if "why" in d.value)
    assert latest["why"].str.contains(r" JST \(").all()
    assert not latest["why"].str.contains(" UTC").any()


def test_the_zone_starts_at_spikes_display_tz_and_the_link_wins(monkeypatch) -> None:
    # The command line read SPIKES_DISPLAY_TZ, the dashboard started in UTC whatever it
    # said; ?tz= in a link still wins, and a value naming no zone is said, not a crash.
    monkeypatch.setenv("SPIKES_DISPLAY_TZ", "asia/tokyo")
    at = fresh(view="product", product="Outlook")
    assert at.selectbox(key="tz").value == "Asia/Tokyo"
    assert at.dataframe[0].value["onset"].iloc[0] == "2026-01-23 04:00"
    assert not at.sidebar.warning
    assert fresh(tz="Europe/Berlin").selectbox(key="tz").value == "Europe/Berlin"
    monkeypatch.setenv("SPIKES_DISPLAY_TZ", "Mars/Olympus")
    at = fresh()
    assert at.selectbox(key="tz").value == "UTC"
    note = at.sidebar.warning[0].value.replace("\\", "")
    assert note.startswith("SPIKES_DISPLAY_TZ") and "Mars/Olympus" in note
    assert note.endswith("times are shown in UTC.")


def test_product_view_explains_the_time_range_on_request() -> None:
    at = fresh(view="product", product="Outlook")

    def tables() -> list:
        return [d.value for d in at.dataframe]

    assert not any("configured" in t.columns for t in tables())  # off until asked
    at.toggle(key="explain::Outlook").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [i.value.replace("\\", "") for i in at.info]
    assert shown[0].startswith("raised: incident from ")  # Outlook's outage is in range
    detectors = next(t for t in tables() if "configured" in t.columns)
    assert set(detectors["detector"]) == {"tail", "cusum", "steep"}
    assert (detectors["threshold"] >= detectors["configured"]).all()


def test_settings_file_from_the_environment_is_the_sidebars_start(monkeypatch, tmp_path) -> None:
    # SPIKES_CONFIG: the sidebar starts from the file's settings, its per-product
    # overrides (a score setting among them) included, and the dashboard shows the
    # incidents `spikes analyze --config` finds.
    from spikes.config import load_config
    from spikes.detect.pipeline import analyze

    path = tmp_path / "spikes.toml"
    path.write_text('[detection]\nmin_ratio = 3.0\n\n'
                    '[products."Microsoft Store"]\nutc_offset = "+9h"\n')
    monkeypatch.setenv("SPIKES_CONFIG", str(path))
    at = fresh()
    assert not at.error
    assert at.slider(key="min_ratio").value == 3.0
    data = load_reports([BUNDLED])
    want = analyze(data, load_config(path)).incidents
    assert int(metric(at, "Incidents in data")) == len(want)
    # Without the override the count differs (measured: 14 against 15).
    without = dataclasses.replace(load_config(path), overrides={})
    assert len(analyze(data, without).incidents) != len(want)
    at.slider(key="min_ratio").set_value(20.0).run()
    next(b for b in at.button if b.label == "Reset to defaults").click()
    at.run()
    assert at.slider(key="min_ratio").value == 3.0  # back to the file's settings
    # The file edited during the session: the sliders follow it.
    path.write_text('[detection]\nmin_ratio = 4.5\nmerge_gap = "2h"\n')
    at.run()
    assert at.slider(key="min_ratio").value == 4.5
    assert at.select_slider(key="merge_gap").value == "2h"


def test_bad_settings_file_shows_its_error_and_the_defaults(monkeypatch, tmp_path) -> None:
    path = tmp_path / "spikes.toml"
    path.write_text('[products."Outlook"]\nutc_offset = "Tokyo"\n')
    monkeypatch.setenv("SPIKES_CONFIG", str(path))
    at = fresh()
    assert any(escape_markdown("SPIKES_CONFIG") in e.value
               and escape_markdown("utc_offset = 'Tokyo'") in e.value for e in at.error)
    assert at.slider(key="min_ratio").value == 2.0
    assert len(at.dataframe(key="overview_table").value) > 0


def test_a_product_s_time_zone_from_the_settings_file(monkeypatch, tmp_path) -> None:
    # A product's timezone (a score setting) is scored as `spikes analyze --config`
    # scores it; a zone that is none shows its error with the closest name.
    from spikes.config import load_config
    from spikes.detect.pipeline import analyze

    path = tmp_path / "spikes.toml"
    path.write_text('[products."Microsoft Store"]\ntimezone = "Asia/Tokyo"\n')
    monkeypatch.setenv("SPIKES_CONFIG", str(path))
    at = fresh()
    assert not at.error
    want = analyze(load_reports([BUNDLED]), load_config(path)).incidents
    assert int(metric(at, "Incidents in data")) == len(want)
    path.write_text('[products."Outlook"]\ntimezone = "Asia/Tokio"\n')
    at = fresh()
    assert any(escape_markdown("timezone = 'Asia/Tokio'") in e.value
               and escape_markdown("did you mean Asia/Tokyo?") in e.value for e in at.error)


def test_products_whose_week_follows_another_time_zone_are_named(monkeypatch,
                                                                  tmp_path) -> None:
    # The bundled sample's AWS and Discord keep weekends of their American users; once
    # the settings file gives them their offsets, the dashboard no longer names them.
    at = fresh()
    named = [c.value for c in at.caption if c.value.startswith("Weekly rhythm")]
    assert len(named) == 1 and "AWS \\-5h" in named[0] and "Discord \\-8h" in named[0]
    path = tmp_path / "spikes.toml"
    path.write_text('[products."AWS"]\nutc_offset = "-5h"\n\n'
                    '[products."Discord"]\nutc_offset = "-8h"\n')
    monkeypatch.setenv("SPIKES_CONFIG", str(path))
    at = fresh()
    assert not [c.value for c in at.caption if c.value.startswith("Weekly rhythm")]


def test_settings_for_a_product_not_in_the_data_are_named(monkeypatch, tmp_path) -> None:
    # "outlook" is no product of the sample ("Outlook" is): its settings apply to
    # nothing, and the dashboard says so rather than ignore them silently.
    path = tmp_path / "spikes.toml"
    path.write_text('[products."outlook"]\nmin_ratio = 50.0\n')
    monkeypatch.setenv("SPIKES_CONFIG", str(path))
    at = fresh()
    assert not at.error
    warned = [w.value for w in at.warning if "apply to nothing" in w.value]
    assert len(warned) == 1 and "'outlook'" in warned[0]
    path.write_text('[products."Outlook"]\nmin_ratio = 50.0\n')
    at.run()
    assert not [w.value for w in at.warning if "apply to nothing" in w.value]


def test_the_product_view_of_data_past_2255_shows_the_whole_range() -> None:
    # Streamlit's slider holds times within 2**53 microseconds of 1970: data of 2300
    # (which the library reads) was a traceback in the product view.
    import datetime as dt

    start = dt.datetime(2300, 1, 1)
    rows = ["timestamp,product,count"] + [
        f"{(start + dt.timedelta(minutes=5 * i)).isoformat()}Z,A,{20 + i % 4}"
        for i in range(576)]
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["spikes_upload"] = {"name": "y2300.csv",
                                         "data": "\n".join(rows).encode()}
    at.query_params["view"] = "product"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("cannot hold times this far from 1970" in c.value for c in at.caption)


# --- found by a hunt of the dashboard (each failed before) -------------------------------
def test_a_time_range_at_the_end_of_the_data_is_explained_not_a_traceback() -> None:
    import pandas as pd

    at = fresh(view="product", product="Outlook")
    slider = next(s for s in at.slider if s.key and s.key.startswith("range::"))
    end = pd.Timestamp(slider.max, unit="us").to_pydatetime()
    at.session_state[slider.key] = (end, end)  # both handles at the end
    at.toggle(key="explain::Outlook").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.info  # the explanation of the last bucket


def test_settings_file_durations_and_fixed_thresholds_in_the_sidebar(monkeypatch,
                                                                     tmp_path) -> None:
    # "1h" beside the stop "60min" was a second stop; the false-alarm slider changed
    # nothing with both thresholds fixed, unsaid.
    path = tmp_path / "spikes.toml"
    path.write_text('[detection]\nmin_duration = "1h"\nmerge_gap = "60min"\n'
                    "cusum_threshold = 9.0\ntail_threshold = 5.0\n")
    monkeypatch.setenv("SPIKES_CONFIG", str(path))
    at = fresh()
    assert not at.error
    for key in ("min_duration", "merge_gap"):
        stops = at.select_slider(key=key).options
        assert len({pd_delta(s) for s in stops}) == len(stops), stops
    rate = at.select_slider(key="false_alarms_per_week")
    assert rate.disabled and "changes nothing" in rate.help


def pd_delta(text: str):
    import pandas as pd

    return pd.Timedelta(text)
