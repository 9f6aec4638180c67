"""Calendar times written as report files write them, in one day/month order."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spikes.cli import main
from spikes.errors import SpikesInputError
from spikes.io.calendar import read_calendar

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "reports.csv.gz"


def _calendar(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "calendar.csv"
    path.write_text("product,start,end,kind\n" + "".join(f"{r}\n" for r in rows))
    return path


def test_day_first_dates_follow_the_date_order_or_are_refused(tmp_path: Path) -> None:
    # "01/02/2026 10:00" was read as 2 January (month first) without a word, also with
    # --date-order dmy, which analyze and explain offer.
    path = _calendar(tmp_path, "Outlook,01/02/2026 10:00,01/02/2026 12:00,maintenance")
    with pytest.raises(SpikesInputError, match=r"calendar.csv, line 2, column start: "
                       r"'01/02/2026 10:00' is 1 February 2026 day first or 2 January "
                       r"2026 month first.*pass --date-order dmy or mdy"):
        read_calendar(path)
    window = read_calendar(path, date_order="dmy").windows.iloc[0]
    assert window["start"] == pd.Timestamp("2026-02-01 10:00", tz="UTC")
    assert read_calendar(path, date_order="mdy").windows.iloc[0]["start"] == pd.Timestamp(
        "2026-01-02 10:00", tz="UTC")
    # A day above 12 in the calendar tells; ISO-8601 and month names need nothing.
    told = _calendar(tmp_path, "Outlook,01/02/2026 10:00,01/02/2026 12:00,maintenance",
                     "Teams,22/01/2026 19:00,22/01/2026 21:00,release",
                     "Zoom,2026-01-05T10:00Z,\"Jan 5, 2026 1:00 PM\",release")
    starts = read_calendar(told).windows.set_index("product")["start"]
    assert starts["Outlook"] == pd.Timestamp("2026-02-01 10:00", tz="UTC")
    assert starts["Zoom"] == pd.Timestamp("2026-01-05 10:00", tz="UTC")
    assert read_calendar(told, tz="Europe/Berlin").windows.set_index("product").at[
        "Teams", "start"] == pd.Timestamp("2026-01-22 18:00", tz="UTC")


def test_analyze_reads_the_calendar_in_its_date_order(tmp_path: Path, capsys) -> None:
    calendar = _calendar(tmp_path, "Outlook,22/01/2026 18:00,22/01/2026 23:00,release")
    out = tmp_path / "incidents.csv"
    assert main(["analyze", str(SAMPLE), "--calendar", str(calendar), "--date-order",
                 "dmy", "-o", str(out)]) == 0
    incidents = pd.read_csv(out)
    outlook = incidents[incidents["product"] == "Outlook"]
    assert (outlook["known_event"].fillna("") != "").any()
    ambiguous = _calendar(tmp_path, "Outlook,01/02/2026 10:00,01/02/2026 12:00,release")
    assert main(["analyze", str(SAMPLE), "--calendar", str(ambiguous), "-o",
                 str(out)]) == 2
    assert "pass --date-order dmy or mdy" in capsys.readouterr().err
