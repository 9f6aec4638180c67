"""Dates with a month name as people write them by hand (``Jan 5 2026 1:00 PM``, ``5 Jan
2026 13:00``, ``January 5 2026``) are read wherever report, label and calendar times are
read: one reader (:func:`spikes.io.timestamps.read_time_texts`). Before, ``Jan 5, 2026
1:00 PM`` was read but ``Jan 5 2026 1:00 PM`` (no comma, a 12-hour time) was not a date,
nor ``January 5 2026 1:00 PM`` or ``5 January 2026 1:00 PM``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spikes.cli import main
from spikes.errors import SpikesInputError
from spikes.io.calendar import read_calendar
from spikes.io.cell_times import read_time_cells
from spikes.io.reading import read_reports
from tests.report_files import utc, write

SHAPES = [
    ("Jan 5 2026 1:00 PM", "Jan 15 2026 11:30 AM"),
    ("Jan 5 2026 1:00:00 PM", "Jan 15 2026 11:30:00 AM"),
    ("Jan 5 2026 1:00PM", "Jan 15 2026 11:30AM"),
    ("January 5 2026 1:00 PM", "January 15 2026 11:30 AM"),
    ("January 5, 2026 1:00 PM", "January 15, 2026 11:30 AM"),
    ("5 January 2026 1:00 PM", "15 January 2026 11:30 AM"),
    ("5 Jan 2026 1:00 PM", "15 Jan 2026 11:30 AM"),
    ("Jan 5, 2026 1:00 PM", "Jan 15, 2026 11:30 AM"),  # read before too
    ("5 Jan 2026 13:00", "15 Jan 2026 11:30"),
    ("Jan 5 2026 13:00", "Jan 15 2026 11:30"),
]


@pytest.mark.parametrize(("first", "second"), SHAPES)
def test_month_name_shapes_read_as_cells(first: str, second: str) -> None:
    assert read_time_cells([first, second], ["a", "b"]) == [
        pd.Timestamp("2026-01-05 13:00"), pd.Timestamp("2026-01-15 11:30")]


@pytest.mark.parametrize("text", ["January 5 2026", "January 5, 2026", "5 January 2026",
                                  "Jan 5 2026", "5 Jan 2026"])
def test_month_name_dates_without_a_time(text: str) -> None:
    assert read_time_cells([text], ["a"]) == [pd.Timestamp("2026-01-05")]


def test_a_report_file_with_month_names_reads_every_row(tmp_path: Path) -> None:
    # Every row was rejected: "time 'Jan 1 2026 12:00 AM' is not a date".
    text = ("time,product,reports\nJan 5 2026 1:00 PM,A,1\nJan 5 2026 1:05 PM,A,2\n"
            "Jan 5 2026 11:55 PM,A,3\n")
    raw = read_reports(write(tmp_path, "r.csv", text))
    assert raw.rejected.empty
    assert sorted(raw.table["timestamp"]) == utc("2026-01-05 13:00", "2026-01-05 13:05",
                                                "2026-01-05 23:55")


def test_labels_and_calendar_read_them_through_the_command_line(tmp_path: Path,
                                                                capsys) -> None:
    incidents = write(tmp_path, "inc.csv", "product,onset\nOutlook,2026-01-05T13:05:00Z\n")
    labels = write(tmp_path, "labels.csv", "product,onset,end\n"
                   "Outlook,Jan 5 2026 1:00 PM,Jan 5 2026 3:00 PM\n")
    assert main(["evaluate", "--incidents", str(incidents), "--labels", str(labels),
                 "--json"]) == 0
    assert '"tp": 1' in capsys.readouterr().out
    calendar = write(tmp_path, "cal.csv", "product,start,end,kind\n"
                     "Outlook,5 Jan 2026 13:00,January 5 2026 3:00 PM,maintenance\n")
    window = read_calendar(calendar, tz="Europe/Berlin").windows.iloc[0]
    assert (window["start"], window["end"]) == (pd.Timestamp("2026-01-05 12:00", tz="UTC"),
                                                pd.Timestamp("2026-01-05 14:00", tz="UTC"))


def test_the_ambiguity_rules_stay(tmp_path: Path) -> None:
    # A month name beside numeric dates that cannot tell day from month: still refused.
    with pytest.raises(SpikesInputError, match="pass --date-order dmy or mdy"):
        read_time_cells(["Jan 5 2026 1:00 PM", "01/02/2026 10:00"], ["a", "b"])
    assert read_time_cells(["Jan 5 2026 1:00 PM", "01/02/2026 10:00"], ["a", "b"],
                           date_order="dmy")[1] == pd.Timestamp("2026-02-01 10:00")
    with pytest.raises(SpikesInputError, match=r"'Jaan 5 2026 1:00 PM' is not a timestamp"):
        read_time_cells(["Jaan 5 2026 1:00 PM"], ["a"])


def test_upper_case_month_names_at_one_o_clock_keep_their_hour(tmp_path: Path) -> None:
    # pandas guessed 'JAN %d %Y %m:%M %p' for 'JAN 22 2026 1:00 PM' (the hour read as the
    # month, JAN left as text): labels were refused as ambiguous, and with --date-order,
    # or in a report file whose rows are all at one o'clock, 13:00 became 00:00.
    cells = ["JAN 22 2026 1:00 PM", "JAN 23 2026 1:30 PM"]
    wanted = [pd.Timestamp("2026-01-22 13:00"), pd.Timestamp("2026-01-23 13:30")]
    assert read_time_cells(cells, ["a", "b"]) == wanted
    assert read_time_cells(cells, ["a", "b"], date_order="dmy") == wanted
    text = "time,product,reports\nJAN 22 2026 1:00 PM,A,1\nJAN 22 2026 1:05 PM,A,2\n"
    raw = read_reports(write(tmp_path, "r.csv", text))
    assert sorted(raw.table["timestamp"]) == utc("2026-01-22 13:00", "2026-01-22 13:05")
