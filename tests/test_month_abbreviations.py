"""Month names abbreviated with a dot (``Jan. 5, 2026``, ``Sept. 5, 2026``) and the
four-letter ``Sept`` (``Sept 5 2026``), as AP style, US news sites and many hand-kept
sheets write them, are read wherever report, label and calendar times are read (one
reader: :func:`spikes.io.timestamps.read_time_texts`), with the day/month rules of the
other dates. Before, ``Sept 5 2026`` and ``Sept. 5, 2026`` were "not a timestamp" in a
label or calendar and every such row of a report file was rejected; ``Jan. 5, 2026``
was read only without a time."""

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
    ("Sept 5 2026 1:00 PM", "Sept 15 2026 11:30 AM"),
    ("Sept. 5, 2026 1:00 PM", "Sept. 15, 2026 11:30 AM"),
    ("Sept. 5, 2026 13:00", "Sept. 15, 2026 11:30"),
    ("Sep. 5, 2026 1:00 PM", "Sep. 15, 2026 11:30 AM"),
    ("SEPT. 5, 2026 1:00 PM", "SEPT. 15, 2026 11:30 AM"),
    ("5 Sept 2026 13:00", "15 Sept 2026 11:30"),
    ("5 Sept. 2026 1:00 PM", "15 Sept. 2026 11:30 AM"),
    ("5-Sept-2026 13:00", "15-Sept-2026 11:30"),
]


@pytest.mark.parametrize(("first", "second"), SHAPES)
def test_dotted_and_sept_shapes_read_as_cells(first: str, second: str) -> None:
    assert read_time_cells([first, second], ["a", "b"]) == [
        pd.Timestamp("2026-09-05 13:00"), pd.Timestamp("2026-09-15 11:30")]


@pytest.mark.parametrize(("text", "day"), [
    ("Sept 5 2026", "2026-09-05"), ("Sept. 5, 2026", "2026-09-05"),
    ("Jan. 5, 2026", "2026-01-05"), ("5 Sept. 2026", "2026-09-05"),
    ("Dec. 31 2026", "2026-12-31"), ("Feb. 28, 2026", "2026-02-28"),
    ("5 May. 2026", "2026-05-05"),  # no abbreviation, but written so by analogy
])
def test_dotted_dates_without_a_time(text: str, day: str) -> None:
    assert read_time_cells([text], ["a"]) == [pd.Timestamp(day)]


@pytest.mark.parametrize("month", ["Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Oct",
                                   "Nov", "Dec"])
def test_every_abbreviation_with_a_dot_and_a_time(month: str) -> None:
    number = pd.Timestamp(f"{month} 1 2026").month
    assert read_time_cells([f"{month}. 5, 2026 1:00 PM"], ["a"]) == [
        pd.Timestamp(2026, number, 5, 13)]


def test_a_report_file_of_them_reads_every_row(tmp_path: Path) -> None:
    # Every row was rejected: "timestamp 'Sept. 5, 2026 1:00 PM' is not a date".
    text = ('time,product,reports\n"Sept. 5, 2026 1:00 PM",A,1\n"Sept. 5, 2026 1:05 PM",A,2\n'
            '"Sept. 5, 2026 11:55 PM",A,3\n')
    raw = read_reports(write(tmp_path, "r.csv", text), tz="America/New_York")
    assert raw.rejected.empty
    assert sorted(raw.table["timestamp"]) == utc("2026-09-05 17:00", "2026-09-05 17:05",
                                                "2026-09-06 03:55")


def test_rows_of_another_spelling_beyond_the_sample_are_read_too(tmp_path: Path) -> None:
    # The reader looks at a sample of 2,000 rows (every fifth of 10,000): a file of
    # "Sep 20, 2026" whose last rows (another export appended) write "Sept. 26, 2026"
    # reads them all.
    stamps = pd.date_range("2026-09-20", periods=10_000, freq="min")
    texts = [f"{t:%b %d, %Y %I:%M %p}" for t in stamps]
    texts[-3:] = [t.replace("Sep ", "Sept. ") for t in texts[-3:]]
    assert texts[-1] == "Sept. 26, 2026 10:39 PM" and texts[0] == "Sep 20, 2026 12:00 AM"
    text = "time,product,reports\n" + "".join(f'"{t}",A,1\n' for t in texts)
    raw = read_reports(write(tmp_path, "r.csv", text))
    assert raw.rejected.empty and len(raw.table) == 10_000
    assert raw.table["timestamp"].max() == pd.Timestamp("2026-09-26 22:39", tz="UTC")


def test_labels_and_calendar_read_them_through_the_command_line(tmp_path: Path,
                                                                capsys) -> None:
    incidents = write(tmp_path, "inc.csv", "product,onset\nOutlook,2026-09-05T13:05:00Z\n")
    labels = write(tmp_path, "labels.csv", "product,onset,end\n"
                   "Outlook,Sept. 5, 2026 1:00 PM,Sept. 5, 2026 3:00 PM\n".replace(
                       "Sept. 5, 2026 1:00 PM", '"Sept. 5, 2026 1:00 PM"').replace(
                       "Sept. 5, 2026 3:00 PM", '"Sept. 5, 2026 3:00 PM"'))
    assert main(["evaluate", "--incidents", str(incidents), "--labels", str(labels),
                 "--json"]) == 0
    assert '"tp": 1' in capsys.readouterr().out
    calendar = write(tmp_path, "cal.csv", "product,start,end,kind\n"
                     "Outlook,5 Sept 2026 13:00,Sept 5 2026 3:00 PM,maintenance\n"
                     '*,"Jan. 5, 2026","Jan. 6, 2026",release\n')
    windows = read_calendar(calendar, tz="Europe/Berlin").windows.set_index("kind")
    assert (windows.at["maintenance", "start"], windows.at["maintenance", "end"]) == (
        pd.Timestamp("2026-09-05 11:00", tz="UTC"), pd.Timestamp("2026-09-05 13:00", tz="UTC"))
    # A day from midnight in Berlin.
    assert windows.at["release", "start"] == pd.Timestamp("2026-01-04 23:00", tz="UTC")


def test_the_ambiguity_rules_stay() -> None:
    # A named month beside numeric dates that cannot tell day from month: still refused.
    with pytest.raises(SpikesInputError, match="pass --date-order dmy or mdy"):
        read_time_cells(["Sept. 5, 2026 1:00 PM", "01/02/2026 10:00"], ["a", "b"])
    assert read_time_cells(["Sept. 5, 2026 1:00 PM", "01/02/2026 10:00"], ["a", "b"],
                           date_order="dmy") == [pd.Timestamp("2026-09-05 13:00"),
                                                 pd.Timestamp("2026-02-01 10:00")]


# Dots between the parts, no space after them: read before months with a dot were made
# plain (pandas' guessed ``%b.%d.%Y``, dateutil), and still read so, as label or calendar
# cells and in a report file. The branch had dropped the dot of ``Jan.05.2026`` too
# (``Jan05.2026``), and every row of such a file was rejected.
READ_BEFORE = [
    ("Jan.05.2026 13:00", "2026-01-05 13:00"), ("Sep.05.2026 13:00", "2026-09-05 13:00"),
    ("Dec.31.2025 23:00", "2025-12-31 23:00"), ("Jan.05.2026", "2026-01-05"),
    ("05.Jan.2026", "2026-01-05"), ("05.Jan.2026 13:00", "2026-01-05 13:00"),
    ("2026.Jan.05", "2026-01-05"), ("2026.Jan.05 13:00", "2026-01-05 13:00"),
    ("Jan./05/2026", "2026-01-05"), ("Jan.,5 2026", "2026-01-05"),
    ("Jan.5, 2026", "2026-01-05"), ("5-Jan.-2026", "2026-01-05"),
    ("Jan.5 2026 13:00", "2026-01-05 13:00"),
    # An odd shape dateutil read as written and not with the dot dropped ("Dec-.31"):
    # rows left unread with their months plain are read again as written.
    ("Dec.-.31 2025 23:00", "2025-12-31 23:00"),
]


@pytest.mark.parametrize(("text", "when"), READ_BEFORE)
def test_dots_as_separators_read_as_before_as_cells(text: str, when: str) -> None:
    assert read_time_cells([text], ["a"]) == [pd.Timestamp(when)]


@pytest.mark.parametrize(("text", "when"), READ_BEFORE)
def test_dots_as_separators_read_as_before_in_a_report_file(tmp_path: Path, text: str,
                                                            when: str) -> None:
    raw = read_reports(write(tmp_path, "r.csv",
                             "time,product\n" + f'"{text}",A\n' * 3))
    assert raw.rejected.empty
    assert list(raw.table["timestamp"]) == utc(when, when, when)


def test_sept_with_a_dot_and_no_space_reads_as_sep_did() -> None:
    # "Sept.5, 2026" is read as "Sep.5, 2026" and "Jan.5, 2026" were before (a date
    # alone); with a 12-hour time no format reads that shape, whatever the month, as
    # before: "Jan.5, 2026 1:00 PM" was refused too.
    assert read_time_cells(["Sept.5, 2026", "Sep.5, 2026"], ["a", "b"]) == [
        pd.Timestamp("2026-09-05")] * 2
    for text in ("Sept.5, 2026 1:00 PM", "Jan.5, 2026 1:00 PM"):
        with pytest.raises(SpikesInputError, match="is not a timestamp"):
            read_time_cells([text], ["a"])


@pytest.mark.parametrize("text", ["Septe 5 2026", "Sepr. 5 2026",
                                  "Jann. 5, 2026", "Sept 5 2026 25:00"])
def test_what_is_no_date_stays_refused(text: str) -> None:
    # Never read as something else: no month is guessed from a misspelt one.
    with pytest.raises(SpikesInputError, match="is not a timestamp"):
        read_time_cells([text], ["a"])


def test_full_names_and_plain_abbreviations_are_read_as_before() -> None:
    cells = ["September 5, 2026 1:00 PM", "Sep 6 2026 13:00", "May 7 2026"]
    assert read_time_cells(cells, list("abc")) == [
        pd.Timestamp("2026-09-05 13:00"), pd.Timestamp("2026-09-06 13:00"),
        pd.Timestamp("2026-05-07")]
