"""Labels and incidents read their times as report files do: day/month orders,
12-hour times, month names, ``--date-order`` and ``--tz`` (hunt43b F05; each failed
before: labels took ISO-8601 only)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spikes.cli import main
from spikes.errors import SpikesInputError
from spikes.evaluation.tables import read_incidents, read_labels, validate_labels
from tests.report_files import utc, write


def _labels(tmp_path: Path, onset: str, end: str, name: str = "labels.csv") -> Path:
    return write(tmp_path, name, f'product,onset,end\nOutlook,"{onset}","{end}"\n')


@pytest.mark.parametrize(("onset", "end", "order"), [
    ("22/01/2026 19:00", "22/01/2026 22:00", "dmy"),
    ("22/01/2026 19:00", "22/01/2026 22:00", None),  # a day above 12 tells
    ("1/22/2026 7:00 PM", "1/22/2026 10:00 PM", None),
    ("Jan 22, 2026 7:00 PM", "Jan 22, 2026 10:00 PM", None),
    ("22.01.2026 19:00", "22.01.2026 22:00", None),  # dotted dates are day first
    ("2026-01-22T19:00:00Z", "22/01/2026 22:00", "dmy"),  # ISO beside another format
])
def test_labels_in_the_formats_of_report_files(tmp_path, onset, end, order):
    labels = read_labels(_labels(tmp_path, onset, end), date_order=order)
    assert labels["onset"].tolist() == utc("2026-01-22 19:00")
    assert labels["end"].tolist() == utc("2026-01-22 22:00")


def test_the_date_order_decides_dates_that_read_both_ways(tmp_path):
    path = _labels(tmp_path, "01/02/2026 19:00", "01/02/2026 22:00")
    assert read_labels(path, date_order="dmy")["onset"].tolist() == utc("2026-02-01 19:00")
    assert read_labels(path, date_order="mdy")["onset"].tolist() == utc("2026-01-02 19:00")
    with pytest.raises(SpikesInputError) as err:
        read_labels(path)
    assert str(err.value) == (
        f"{path} line 2, column 'onset': '01/02/2026 19:00' is 1 February 2026 day first or "
        "2 January 2026 month first, and no date of the column has a day above 12 to tell: "
        "pass --date-order dmy or mdy (or write the dates as ISO-8601, 2026-01-22)")


def test_one_date_of_the_column_tells_the_order_of_the_others(tmp_path):
    text = ("product,onset,end\nA,01/02/2026 19:00,01/02/2026 20:00\n"
            "A,13/02/2026 19:00,13/02/2026 20:00\n")
    labels = read_labels(write(tmp_path, "labels.csv", text))
    assert labels["onset"].tolist() == utc("2026-02-01 19:00", "2026-02-13 19:00")


def test_a_time_against_the_date_order_is_named(tmp_path):
    path = _labels(tmp_path, "1/22/2026 19:00", "1/22/2026 22:00")
    with pytest.raises(SpikesInputError, match=r"labels.csv line 2, column 'onset': "
                                               r"'1/22/2026 19:00' is not a timestamp "
                                               r"\(expected ISO-8601"):
        read_labels(path, date_order="dmy")


def test_labels_in_a_zone_and_a_date_as_end(tmp_path):
    labels = read_labels(_labels(tmp_path, "22/01/2026 19:00", "22/01/2026"),
                         tz="Europe/Berlin", date_order="dmy")
    assert labels["onset"].tolist() == utc("2026-01-22 18:00")
    # A date without a time is the end of that day (Berlin's day).
    assert labels["end"].tolist() == [pd.Timestamp("2026-01-22 22:59:59.999999", tz="UTC")]


def test_a_spring_hour_that_does_not_exist_is_still_named(tmp_path):
    path = _labels(tmp_path, "29/03/2026 02:30", "29/03/2026 04:00")
    with pytest.raises(SpikesInputError, match="it does not exist there, the hour the clocks "
                                               "skip"):
        read_labels(path, tz="Europe/Berlin")


def test_incidents_and_tables_read_the_same_way(tmp_path):
    incidents = read_incidents(write(tmp_path, "inc.csv", "product,onset,alerted_at\n"
                                                          "A,22/01/2026 19:00,22/01/2026 "
                                                          "19:10\n"))
    assert incidents["onset"].tolist() == utc("2026-01-22 19:00")
    assert incidents["alerted_at"].tolist() == utc("2026-01-22 19:10")
    frame = pd.DataFrame({"product": ["A"], "onset": ["01/02/2026 19:00"],
                          "end": ["01/02/2026 20:00"]})
    assert validate_labels(frame, date_order="dmy")["onset"].tolist() == utc(
        "2026-02-01 19:00")
    with pytest.raises(SpikesInputError, match="unknown date order 'ymd'"):
        validate_labels(frame, date_order="ymd")


def test_evaluate_reads_spreadsheet_labels_with_date_order(tmp_path, capsys):
    # Refused before: "'22/01/2026 19:00' is not a timestamp (expected ISO-8601)".
    incidents = write(tmp_path, "inc.csv", "product,onset\nOutlook,2026-02-01T19:10:00Z\n")
    labels = _labels(tmp_path, "01/02/2026 19:00", "01/02/2026 22:00")
    assert main(["evaluate", "--incidents", str(incidents), "--labels", str(labels),
                 "--date-order", "dmy", "--json"]) == 0
    assert '"tp": 1' in capsys.readouterr().out
    assert main(["evaluate", "--incidents", str(incidents), "--labels", str(labels)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass --date-order dmy or mdy" in err
