"""Time zones named by a column name, by ``--tz``, and what is said of them (hunt43b F03,
F04, F09, F10): each test failed before its fix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spikes.cli import main
from spikes.errors import SpikesInputError
from spikes.io.buckets import load_reports
from spikes.io.reading import read_reports
from spikes.io.timestamps import check_tz, zone_name
from tests.report_files import utc, write

#: Berlin wall times around the spring change of 2026 (29 March, 02:00 -> 03:00).
SPRING = ("2026-03-28 12:00", "2026-03-29 01:00", "2026-03-29 03:00", "2026-04-01 23:00")
#: The same times in UTC, read with Europe/Berlin's summer time.
SPRING_UTC = ("2026-03-28 11:00", "2026-03-29 00:00", "2026-03-29 01:00", "2026-04-01 21:00")


def _wide(tmp_path: Path, header: str, stamps: tuple[str, ...] = SPRING,
          name: str = "x.csv") -> Path:
    """A ``;`` file with Excel-style dotted dates, one product, `header` as its time."""
    rows = "".join(f"{pd.Timestamp(t):%d.%m.%Y %H:%M};{i + 1}\n" for i, t in enumerate(stamps))
    return write(tmp_path, name, f"{header};Teams\n" + rows)


def _zone_notes(notes: tuple[str, ...]) -> list[str]:
    return [n for n in notes if "column name" in n or "--tz" in n]


# --- F03: a header abbreviation that is an IANA name reads as that zone -------------------
@pytest.mark.parametrize("header", ["Time (CET)", "Time (cet)", "Zeit (MEZ)",
                                    "Time [Europe/Berlin]", "time (europe/berlin)"])
def test_a_zone_named_by_the_header_follows_summer_time_as_tz_does(tmp_path, header):
    # "Time (CET)" was fixed UTC+01:00 all year while --tz CET is IANA CET: every time
    # after the spring change was an hour late (and "europe/berlin" was UTC).
    path = _wide(tmp_path, header)
    kwargs = {"timestamp_col": header} if header.startswith("Zeit") else {}
    raw = read_reports(path, **kwargs)
    assert raw.table["timestamp"].tolist() == utc(*SPRING_UTC)
    assert raw.table["timestamp"].tolist() == read_reports(
        path, tz="Europe/Berlin", **kwargs).table["timestamp"].tolist()
    assert not _zone_notes(raw.notes)


@pytest.mark.parametrize(("header", "zone"), [("Time (EET)", "Europe/Athens"),
                                              ("Time (WET)", "Europe/Lisbon")])
def test_other_iana_abbreviations_in_the_header_keep_their_summer_time(tmp_path, header, zone):
    stamps = ("2026-01-10 12:00", "2026-07-10 12:00")
    raw = read_reports(_wide(tmp_path, header, stamps))
    expected = pd.DatetimeIndex(stamps).tz_localize(zone).tz_convert("UTC")
    assert raw.table["timestamp"].tolist() == list(expected)


def test_a_summer_time_abbreviation_stays_fixed_and_says_so_when_the_clock_differs(tmp_path):
    # CEST is +02:00 all year; in winter Berlin's clock is at +01:00: said, with the zone
    # to pass. In summer only, nothing is off and nothing is said.
    winter = read_reports(_wide(tmp_path, "Time (CEST)", ("2026-01-10 12:00",
                                                          "2026-07-10 12:00")))
    assert winter.table["timestamp"].tolist() == utc("2026-01-10 10:00", "2026-07-10 10:00")
    assert _zone_notes(winter.notes) == [
        "'x.csv': the column name 'Time (CEST)' gives the fixed offset UTC+02:00 all year, "
        "but Europe/Berlin is at another offset for some of its times (summer or winter "
        "time): if they follow the clock, pass --tz Europe/Berlin"]
    summer = read_reports(_wide(tmp_path, "Time (CEST)", ("2026-07-10 12:00",
                                                          "2026-07-11 12:00")))
    assert not _zone_notes(summer.notes)
    pst = read_reports(_wide(tmp_path, "Time (PST)", ("2026-07-10 12:00",)))
    assert pst.table["timestamp"].tolist() == utc("2026-07-10 20:00")
    assert "pass --tz America/Los_Angeles" in _zone_notes(pst.notes)[0]


# --- F04: a word in brackets that names no zone is said --------------------------------
@pytest.mark.parametrize("streaming", [False, True])
def test_a_column_name_that_names_no_known_zone_is_said(tmp_path, streaming):
    # "Time (local)" was read as UTC without a word.
    path = _wide(tmp_path, "Time (local)")
    raw = read_reports(path)
    assert raw.table["timestamp"].tolist() == utc(*SPRING)  # as UTC, as before
    note = ("'x.csv': the column name 'Time (local)' names no time zone spikes knows "
            "('local'): its times are read as UTC; pass --tz with their zone (an IANA name "
            "such as Europe/Berlin)")
    data = load_reports(path, streaming=streaming, block_bytes=40)
    assert _zone_notes(data.notes) == [note]
    assert _zone_notes(read_reports(path, tz="Europe/Berlin").notes) == []


def test_a_unit_in_brackets_of_epoch_times_is_not_taken_for_a_zone(tmp_path):
    text = "Time (ms),product\n1769108400000,A\n1769108700000,A\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["timestamp"].tolist() == utc("2026-01-22 19:00", "2026-01-22 19:05")
    assert not _zone_notes(raw.notes)


# --- F09: --tz as the header reader reads zones ------------------------------------------
@pytest.mark.parametrize(("given", "name"), [
    ("utc", "UTC"), ("europe/berlin", "Europe/Berlin"), ("  Europe/Berlin ", "Europe/Berlin"),
    ("UTC+1", "Etc/GMT-1"), ("UTC+01:00", "Etc/GMT-1"), ("+01:00", "Etc/GMT-1"),
    ("GMT-5", "Etc/GMT+5"), ("-05:30", "-05:30"), ("UTC+0", "UTC"),
])
def test_zone_names_are_spelt_as_zoneinfo_spells_them(given, name):
    assert zone_name(given) == name


@pytest.mark.parametrize(("given", "message"), [
    ("Mars/Olympus", "unknown time zone 'Mars/Olympus': expected an IANA name such as "
                     "America/New_York or UTC, or an offset such as UTC+01:00"),
    ("Europe/Berln", "(did you mean Europe/Berlin?)"),
    ("PST", "an abbreviation of UTC-08:00; pass an IANA name such as America/Los_Angeles"),
    ("IST", "India (+05:30), Ireland (+01:00) or Israel (+02:00)"),
    ("America", "unknown time zone 'America'"),  # a folder of the database: was a traceback
    ("UTC+15", "an offset of more than 14 hours"),
])
def test_unknown_zones_are_refused_with_what_they_may_mean(given, message):
    with pytest.raises(SpikesInputError) as err:
        zone_name(given)
    assert message in str(err.value)


def test_check_tz_names_the_spelling_a_zone_is_used_in():
    check_tz("Europe/Berlin")
    with pytest.raises(SpikesInputError, match="time zone 'europe/berlin': write it "
                                               "'Europe/Berlin'"):
        check_tz("europe/berlin")


@pytest.mark.parametrize("given", ["UTC+1", "+01:00", "utc+01:00"])
def test_the_reader_takes_tz_as_a_fixed_offset(tmp_path, given):
    path = write(tmp_path, "x.csv", "timestamp,product\n2026-07-01 10:00,A\n")
    assert read_reports(path, tz=given).table["timestamp"].tolist() == utc("2026-07-01 09:00")


def test_the_reader_takes_tz_in_any_case(tmp_path):
    path = write(tmp_path, "x.csv", "timestamp,product\n2026-07-01 10:00,A\n")
    assert read_reports(path, tz="europe/berlin").table["timestamp"].tolist() == utc(
        "2026-07-01 08:00")


def _labelled(tmp_path: Path) -> tuple[Path, Path]:
    """Naive incidents and labels one hour apart in Berlin (19:00 and 20:00 local)."""
    incidents = write(tmp_path, "inc.csv", "product,onset\nA,2026-07-01 19:00\n")
    labels = write(tmp_path, "lab.csv", "product,onset,end\nA,2026-07-01 19:00,"
                                        "2026-07-01 20:00\n")
    return incidents, labels


@pytest.mark.parametrize("given", ["europe/berlin", "UTC+2", "+02:00"])
def test_the_command_line_takes_tz_spelt_as_the_reader_reads_zones(tmp_path, capsys, given):
    # Refused before: "unknown time zone 'europe/berlin': expected an IANA name ...".
    incidents, labels = _labelled(tmp_path)
    assert main(["evaluate", "--incidents", str(incidents), "--labels", str(labels),
                 "--tz", given, "--json"]) == 0
    assert '"tp": 1' in capsys.readouterr().out


def test_the_command_line_still_refuses_an_unknown_zone_in_one_line(tmp_path, capsys):
    incidents, labels = _labelled(tmp_path)
    assert main(["evaluate", "--incidents", str(incidents), "--labels", str(labels),
                 "--tz", "Europe/Berln"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean Europe/Berlin?" in err


# --- F10: --tz that no time needs is said -------------------------------------------------
@pytest.mark.parametrize("streaming", [False, True])
def test_tz_unused_by_a_file_of_times_with_offsets_is_said(tmp_path, streaming):
    aware = "timestamp,product\n" + "".join(f"2026-01-05T{h:02d}:00:00Z,A\n" for h in range(8))
    data = load_reports(write(tmp_path, "x.csv", aware), tz="America/New_York",
                        streaming=streaming, block_bytes=60)
    assert _zone_notes(data.notes) == [
        "'x.csv': --tz is not used for this file: its times carry their UTC offset (or are "
        "Unix epoch times or dates), which --tz does not change"]
    # One naive time, in the last block only: --tz is used, nothing said.
    mixed = write(tmp_path, "y.csv", aware + "2026-01-05 09:00,A\n")
    data = load_reports(mixed, tz="America/New_York", streaming=streaming, block_bytes=60)
    assert not _zone_notes(data.notes)
    assert data.counts.index[-1] == pd.Timestamp("2026-01-05 14:00", tz="UTC")
