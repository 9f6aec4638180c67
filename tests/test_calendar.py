"""Known-event calendar: the reader's errors, the windows' masks and labels, and the
baseline kept free of a surge inside a window (both modes), through the library, the
engine and the command line."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.config import DetectionConfig
from spikes.detect.known_events import Calendar, known_event_labels
from spikes.detect.pipeline import analyze, score_reports
from spikes.engine.run import detect
from spikes.errors import SpikesInputError
from spikes.io.calendar import read_calendar
from tests.conftest import as_data, diurnal_counts, with_outage

ROOT = Path(__file__).resolve().parents[1]
HEADER = "product,start,end,kind,note\n"


def _write(tmp_path: Path, text: str, name: str = "cal.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- reading ---------------------------------------------------------------------------
def test_read_calendar_times_products_and_optional_note(tmp_path: Path) -> None:
    path = _write(tmp_path, "# planned work\nKind;Product;Start;End\n"
                            "maintenance;p0;2026-01-13 15:00;2026-01-13T18:00:00+01:00\n"
                            "\n"
                            "release;*;2026-01-10T02:00Z;2026-01-10T03:00Z\n")
    cal = read_calendar(path)
    windows = cal.windows
    assert windows["product"].tolist() == ["*", "p0"]  # sorted by start
    assert windows["start"].tolist() == [pd.Timestamp("2026-01-10T02:00Z"),
                                         pd.Timestamp("2026-01-13T15:00Z")]
    assert windows["end"].iloc[1] == pd.Timestamp("2026-01-13T17:00Z")  # offset read
    assert windows["note"].tolist() == ["", ""]
    assert cal.source == str(path)
    # Naive times in another zone
    berlin = read_calendar(path, tz="Europe/Berlin").windows
    assert berlin["start"].iloc[1] == pd.Timestamp("2026-01-13T14:00Z")


@pytest.mark.parametrize(("text", "expected"), [
    ("product,start,kind\np0,2026-01-13,maintenance\n",
     "line 1: the calendar has no column end"),
    (HEADER + ",2026-01-13 15:00,2026-01-13 18:00,maintenance,\n",
     "line 2, column product: empty (expected a product name or * for all products)"),
    (HEADER + "p0,2026-01-13 15:00,2026-01-13 18:00,,\n",
     "line 2, column kind: empty"),
    (HEADER + "p0,2026-01-13 15:00,tomorrow-ish,maintenance,\n",
     "line 2, column end: 'tomorrow-ish' is not a timestamp"),
    (HEADER + "p0,2026-01-13 15:00,,maintenance,\n",
     "line 2, column end: empty (expected a date-time"),
    (HEADER + "p0,2026-01-13 15:00,2026-01-13 18:00,maintenance,x\n"
              "p0,2026-01-13 18:00,2026-01-13 18:00,release,\n",
     "line 3: start '2026-01-13 18:00' is not before end '2026-01-13 18:00' "
     "(expected start < end)"),
    (HEADER + "p0,2026-01-13 15:00,2026-01-13 18:00,maintenance,a,b\n",
     "line 2: 6 fields, the header has 5"),
    ("", "the calendar is empty"),
])
def test_bad_calendar_names_file_line_and_column(tmp_path: Path, text: str,
                                                 expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SpikesInputError) as err:
        read_calendar(path)
    assert str(err.value).startswith(str(path))
    assert expected in str(err.value)


def test_unreadable_calendar_files(tmp_path: Path) -> None:
    with pytest.raises(SpikesInputError, match="cannot read the calendar"):
        read_calendar(tmp_path / "missing.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(HEADER.encode() + "p0,2026-01-13,2026-01-14,maintenance,caf\xe9\n"
                      .encode("latin-1"))
    with pytest.raises(SpikesInputError, match="not UTF-8 text"):
        read_calendar(latin)


# --- masks and labels ------------------------------------------------------------------
def test_mask_covers_buckets_that_overlap_a_window_of_their_product() -> None:
    index = pd.date_range("2026-01-13 14:00", periods=12, freq="30min", tz="UTC")
    cal = Calendar.from_records([("a", "2026-01-13 15:10", "2026-01-13 16:00", "maintenance"),
                                 ("*", "2026-01-13 19:00", "2026-01-13 19:30", "release"),
                                 ("nobody", "2026-01-13 14:00", "2026-01-14", "x")])
    mask = cal.mask(index, ["a", "b"], pd.Timedelta("30min"))
    # 15:00 overlaps [15:10, 16:00); 15:30 too; 16:00 does not (the window ends there).
    assert index[mask[:, 0]].strftime("%H:%M").tolist() == ["15:00", "15:30", "19:00"]
    assert index[mask[:, 1]].strftime("%H:%M").tolist() == ["19:00"]
    assert cal.unknown_products(["a", "b"]) == ["nobody"]


def test_known_event_labels_by_onset_product_and_star() -> None:
    cal = Calendar.from_records([("a", "2026-01-13 15:00", "2026-01-13 16:00", "maintenance",
                                  "db upgrade"),
                                 ("*", "2026-01-13 15:30", "2026-01-13 17:00", "release")])
    incidents = pd.DataFrame({
        "product": ["a", "b", "a", "a"],
        "onset": pd.to_datetime(["2026-01-13 15:00", "2026-01-13 15:45",
                                 "2026-01-13 15:45", "2026-01-13 17:00"], utc=True)})
    assert known_event_labels(incidents, cal).tolist() == [
        "maintenance: db upgrade", "release", "maintenance: db upgrade; release", ""]
    assert known_event_labels(incidents, None).tolist() == ["", "", "", ""]


# --- the baseline keeps the window out ---------------------------------------------------
DAY = 288
SURGE_DAY = 9  # a Wednesday (the data start on Monday 2026-01-05)


def _surge_case() -> tuple[pd.DataFrame, pd.DataFrame, Calendar]:
    """Quiet data, the same with a 3-hour surge of 4x on day 9 at 15:00, and a
    maintenance window around the surge."""
    quiet = diurnal_counts(days=14, products=2, seed=5)
    start = SURGE_DAY * DAY + 15 * 12
    surged = with_outage(quiet, "p0", start, 36, 4.0, seed=2)
    window = (quiet.index[start] - pd.Timedelta("30min"),
              quiet.index[start + 36] + pd.Timedelta("30min"))
    calendar = Calendar.from_records([("p0", *window, "maintenance", "planned migration")])
    return quiet, surged, calendar


@pytest.mark.parametrize("mode", ["causal", "retrospective"])
def test_surge_in_a_window_is_marked_and_leaves_the_baseline_unchanged(mode: str) -> None:
    quiet, surged, calendar = _surge_case()
    config = DetectionConfig(mode=mode)
    with_window = analyze(as_data(surged), config, calendar=calendar)
    marked = with_window.incidents[with_window.incidents["product"] == "p0"]
    in_window = marked[(marked["onset"] >= calendar.windows["start"].iloc[0])
                       & (marked["onset"] < calendar.windows["end"].iloc[0])]
    assert len(in_window) == 1
    assert in_window["known_event"].iloc[0] == "maintenance: planned migration"
    # The baseline of the following days is that of the same data without the surge.
    after = quiet.index >= quiet.index[(SURGE_DAY + 1) * DAY]
    clean = score_reports(as_data(quiet), config, calendar=calendar).baseline
    pd.testing.assert_frame_equal(with_window.baseline.expected[after],
                                  clean.expected[after], check_exact=True)
    # Control: without the calendar the incident is there, unmarked.
    control = analyze(as_data(surged), config)
    own = control.incidents[control.incidents["product"] == "p0"]
    assert len(own) >= 1 and (own["known_event"] == "").all()
    assert in_window["onset"].iloc[0] in set(own["onset"])


def test_without_the_window_a_long_mild_surge_moves_the_later_baseline() -> None:
    # Why the window matters: a mild, day-long surge (1.5x) is mostly not masked as an
    # outage, so without the calendar the next day's live baseline rises (by about 4 %);
    # with it, not at all.
    quiet = diurnal_counts(days=12, products=1, seed=7)
    start = 6 * DAY
    surged = with_outage(quiet, "p0", start, DAY, 1.5, seed=3)
    cal = Calendar.from_records([("p0", quiet.index[start], quiet.index[start + DAY],
                                  "expected surge", "launch day")])
    after = quiet.index >= quiet.index[start + DAY]
    base = score_reports(as_data(quiet), calendar=cal).baseline.expected[after]
    kept = score_reports(as_data(surged), calendar=cal).baseline.expected[after]
    moved = score_reports(as_data(surged)).baseline.expected[after]
    pd.testing.assert_frame_equal(kept, base, check_exact=True)
    next_day = slice(0, DAY)
    assert float((moved / base).iloc[next_day, 0].mean()) > 1.03


def test_engine_detect_applies_the_calendar_as_analyze_does() -> None:
    _, surged, calendar = _surge_case()
    data = as_data(surged)
    expected = analyze(data, calendar=calendar).incidents
    found = detect(data, engine="local", jobs=1, calendar=calendar)
    pd.testing.assert_frame_equal(found.incidents, expected)
    assert (found.incidents["known_event"] != "").sum() == 1
    assert found.calendar is calendar


def test_product_partitions_keep_the_calendar() -> None:
    from spikes.detect.pipeline import select_products

    _, surged, calendar = _surge_case()
    scored = score_reports(as_data(surged), calendar=calendar)
    part = select_products(scored, ["p1"])
    assert part.calendar is calendar
    assert dataclasses.replace(part).calendar is calendar


# --- command line ------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spikes", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def test_cli_calendar_marks_incidents_and_warns_of_unknown_products(tmp_path: Path) -> None:
    _, surged, calendar = _surge_case()
    data = tmp_path / "counts.csv"
    long = surged.rename_axis("timestamp").reset_index().melt(
        id_vars="timestamp", var_name="product", value_name="reports")
    long.to_csv(data, index=False)
    window = calendar.windows.iloc[0]
    cal = _write(tmp_path, HEADER + f"p0,{window.start.isoformat()},{window.end.isoformat()},"
                                    "maintenance,planned migration\n"
                                    "ghost,2026-01-06,2026-01-07,release,\n")
    out = tmp_path / "incidents.csv"
    run = _cli("analyze", str(data), "--calendar", str(cal), "-o", str(out), "--jobs", "1")
    assert run.returncode == 0, run.stderr
    assert "1 product of the calendar not in the data" in run.stderr and "'ghost'" in run.stderr
    incidents = pd.read_csv(out, keep_default_na=False)
    assert incidents["known_event"].tolist().count("maintenance: planned migration") == 1
    assert "known_event" in run.stdout and "why (the newest" in run.stdout
    bad = _write(tmp_path, HEADER + "p0,2026-01-13 18:00,2026-01-13 15:00,maintenance,\n",
                 "bad.csv")
    run = _cli("analyze", str(data), "--calendar", str(bad))
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0
    assert f"{bad}, line 2: start" in run.stderr


def test_sample_calendar_marks_the_exchange_online_false_alarm() -> None:
    from spikes.io.buckets import load_reports

    data = load_reports([ROOT / "data" / "reports.csv.gz"])
    calendar = read_calendar(ROOT / "data" / "calendar_sample.csv")
    assert calendar.unknown_products(data.products) == []
    incidents = analyze(data, calendar=calendar).incidents
    labels = pd.read_csv(ROOT / "data" / "labels.csv")
    marked = incidents[incidents["known_event"] != ""]
    assert marked["product"].tolist() == ["Exchange Online"]
    # No labelled outage of that product on that day.
    day = marked["onset"].iloc[0].normalize()
    own = labels[labels["product"] == "Exchange Online"]
    assert not (pd.to_datetime(own["onset"], utc=True).dt.normalize() == day).any()
    assert np.isin(labels["product"], data.products).all()
