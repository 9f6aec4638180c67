"""Tests of spikes.io.timestamps: formats, day/month order, epochs and serials, zones,
daylight saving time."""

from __future__ import annotations

import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.io import reading
from spikes.io.reading import read_reports
from tests.report_files import utc, write


def test_offsets_are_converted_to_utc_even_when_mixed(tmp_path):
    text = (
        "timestamp,product\n"
        "2024-01-01T12:00:00Z,A\n"
        "2024-01-01T12:00:00+01:00,A\n"
        "2024-01-01T12:00:00-05:00,A\n"
        "2024-01-01 12:00:00.5+0530,A\n"
    )
    raw = read_reports(write(tmp_path, "x.csv", text), tz="Asia/Tokyo")  # tz: naive only
    assert raw.table["timestamp"].tolist() == utc(
        "2024-01-01 12:00", "2024-01-01 11:00", "2024-01-01 17:00", "2024-01-01 06:30:00.5"
    )


def test_naive_and_offset_timestamps_in_one_column(tmp_path):
    text = "timestamp,product\n2024-01-01 12:00,A\n2024-01-01T12:00:00+02:00,A\n"
    raw = read_reports(write(tmp_path, "x.csv", text), tz="Europe/Berlin")
    assert raw.table["timestamp"].tolist() == utc("2024-01-01 11:00", "2024-01-01 10:00")


def test_naive_timestamps_are_utc_by_default(tmp_path):
    raw = read_reports(write(tmp_path, "x.csv", "timestamp,product\n2024-07-01 12:00,A\n"))
    assert raw.table["timestamp"].tolist() == utc("2024-07-01 12:00")


def test_naive_timestamps_with_tz_across_dst(tmp_path):
    text = (
        "timestamp,product\n"
        "2024-03-10 01:30,A\n"  # EST
        "2024-03-10 02:30,A\n"  # does not exist (the clocks skip 02:00-03:00): rejected
        "2024-03-10 03:30,A\n"  # EDT
        "2024-11-03 01:30,A\n"  # ambiguous, no repeat: earliest (EDT)
        "2024-11-03 03:00,A\n"  # EST
    )
    raw = read_reports(write(tmp_path, "x.csv", text), tz="America/New_York")
    assert raw.table["timestamp"].tolist() == utc(
        "2024-03-10 06:30",
        "2024-03-10 07:30",
        "2024-11-03 05:30",
        "2024-11-03 08:00",
    )
    assert raw.rejected["line"].tolist() == [3]
    assert "does not exist in the time zone" in raw.rejected["reason"].iloc[0]


def test_ambiguous_times_are_inferred_from_order(tmp_path):
    wall = ["00:30", "01:00", "01:30", "01:00", "01:30", "02:00"]
    text = "timestamp,product\n" + "".join(f"2024-11-03 {w},A\n" for w in wall)
    raw = read_reports(write(tmp_path, "x.csv", text), tz="America/New_York")
    assert raw.table["timestamp"].tolist() == utc(
        "2024-11-03 04:30",
        "2024-11-03 05:00",
        "2024-11-03 05:30",
        "2024-11-03 06:00",
        "2024-11-03 06:30",
        "2024-11-03 07:00",
    )


@pytest.mark.parametrize(
    ("stamp", "expected", "delimiter"),
    [
        ("01/31/2024 13:00", "2024-01-31 13:00", ","),
        ("1/31/2024 1:05 PM", "2024-01-31 13:05", ","),
        ("31.01.2024 13:00", "2024-01-31 13:00", ";"),
        ("2024/01/31 13:00:00", "2024-01-31 13:00", ","),
        ("2024-01-31", "2024-01-31 00:00", ","),
        ("2024-01-31 13:00 UTC", "2024-01-31 13:00", ","),
        ("1706706000", "2024-01-31 13:00", ","),
        ("1706706000000", "2024-01-31 13:00", ","),
    ],
)
def test_common_timestamp_formats(tmp_path, stamp, expected, delimiter):
    text = f"timestamp{delimiter}product\n{stamp}{delimiter}A\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["timestamp"].tolist() == utc(expected)


def test_unknown_time_zone(tmp_path):
    path = write(tmp_path, "x.csv", "timestamp,product\n2024-01-01,A\n")
    with pytest.raises(SpikesInputError, match="unknown time zone 'Mars/Base'"):
        read_reports(path, tz="Mars/Base")


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ('"Jan 31, 2024 1:05 PM"', "2024-01-31 13:05"),
        ('"Jan 31, 2024, 1:05 PM"', "2024-01-31 13:05"),
        ('"January 31, 2024 1:05 PM"', "2024-01-31 13:05"),
        ("31-Jan-2024 13:05", "2024-01-31 13:05"),
        ("31 Jan 2024 1:05 PM", "2024-01-31 13:05"),
    ],
)
def test_timestamps_with_month_names(tmp_path, stamp, expected):
    raw = read_reports(write(tmp_path, "x.csv", f"timestamp,product\n{stamp},A\n"))
    assert raw.table["timestamp"].tolist() == utc(expected)
    assert len(raw.rejected) == 0


def _day_rows(first: str, days: int, fmt: str, step_min: int = 60) -> list[str]:
    start = pd.Timestamp(first)
    return [f"{start + pd.Timedelta(minutes=step_min * i):{fmt}}"
            for i in range(days * 24 * 60 // step_min)]


@pytest.mark.parametrize(
    ("first", "fmt", "delimiter"),
    [
        ("2024-03-01", "%d.%m.%Y %H:%M:%S", ","),  # LibreOffice, comma export: day first
        ("2024-03-01", "%d/%m/%Y %H:%M", ","),     # UK
        ("2024-01-01", "%m/%d/%Y %H:%M", ","),     # US
        ("2024-01-01", "%m/%d/%Y %H:%M", ";"),     # US dates in a semicolon file
    ],
)
def test_day_and_month_order_follows_the_dates(tmp_path, first, fmt, delimiter):
    # No day above 12: both orders parse every date; the one whose dates lie a week
    # apart (not half a year) is the reading.
    stamps = _day_rows(first, 7, fmt)
    text = f"time{delimiter}product\n" + "".join(f"{t}{delimiter}A\n" for t in stamps)
    raw = read_reports(write(tmp_path, "x.csv", text))
    got = raw.table["timestamp"]
    assert got.min() == pd.Timestamp(first, tz="UTC")
    assert got.max() - got.min() == pd.Timedelta(days=7) - pd.Timedelta(hours=1)
    assert len(raw.rejected) == 0


def test_a_streamed_file_reads_its_dates_one_way(tmp_path):
    stamps = _day_rows("2024-03-01", 13, "%d/%m/%Y %H:%M", step_min=15)
    path = write(tmp_path, "uk.csv", "date,product\n" + "".join(f"{t},A\n" for t in stamps))
    blocks = list(reading.read_report_blocks(path, block_bytes=4000))
    assert len(blocks) > 5
    got = pd.concat([b.table["timestamp"] for b in blocks], ignore_index=True)
    assert got.is_monotonic_increasing
    assert got.iloc[-1] == pd.Timestamp("2024-03-13 23:45", tz="UTC")


def test_a_first_block_of_one_day_sets_no_rule_for_the_next(tmp_path):
    # The first block's dates read both ways (one day): the next blocks decide for
    # themselves, from their own spread of dates.
    stamps = _day_rows("2024-03-01", 6, "%d/%m/%Y %H:%M", step_min=15)
    path = write(tmp_path, "uk.csv", "date,product\n" + "".join(f"{t},A\n" for t in stamps))
    blocks = list(reading.read_report_blocks(path, block_bytes=1200))
    later = pd.concat([b.table["timestamp"] for b in blocks[2:]], ignore_index=True)
    assert later.is_monotonic_increasing and later.iloc[-1].month == 3


def test_dates_of_one_day_leave_a_note_and_date_order_decides(tmp_path):
    path = write(tmp_path, "day.csv", "timestamp,product\n01/03/2024 00:05,A\n"
                                      "01/03/2024 00:10,A\n")
    raw = read_reports(path)
    assert raw.table["timestamp"].tolist() == utc("2024-01-03 00:05", "2024-01-03 00:10")
    assert len(raw.notes) == 1 and "read month first" in raw.notes[0]
    assert "--date-order dmy" in raw.notes[0]
    forced = read_reports(path, date_order="DMY")
    assert forced.table["timestamp"].tolist() == utc("2024-03-01 00:05", "2024-03-01 00:10")
    assert forced.notes == ()
    many = write(tmp_path, "week.csv", "timestamp,product\n" + "".join(
        f"{d:02d}/03/2024 00:05,A\n" for d in range(1, 8)))
    assert read_reports(many).notes == ()  # the spread of the dates decides
    with pytest.raises(SpikesInputError, match="unknown date order 'ymd'"):
        read_reports(path, date_order="ymd")


@pytest.mark.parametrize("stamp", ["2024-03-04T00:00:50.6655549Z",
                                   "2024-03-04 00:00:50.665554912"])
def test_nanosecond_timestamps_are_cut_to_microseconds(tmp_path, stamp):
    raw = read_reports(write(tmp_path, "x.csv", f"timestamp,product\n{stamp},A\n"))
    assert raw.table["timestamp"].tolist() == [pd.Timestamp("2024-03-04 00:00:50.665554",
                                                            tz="UTC")]


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("45355.010417", "2024-03-04 00:15"),       # a spreadsheet serial day
        ("1706706000000000", "2024-01-31 13:00"),     # epoch microseconds
        ("1706706000000000000", "2024-01-31 13:00"),  # epoch nanoseconds
    ],
)
def test_numeric_timestamps_by_their_size(tmp_path, stamp, expected):
    raw = read_reports(write(tmp_path, "x.csv", f"timestamp,product\n{stamp},A\n"))
    assert raw.table["timestamp"].tolist() == utc(expected)


def test_numeric_timestamps_with_a_stray_word_reject_only_the_word(tmp_path):
    text = "timestamp,product\n1709596800,A\nN/A,A\n1709597100,A\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["timestamp"].tolist() == utc("2024-03-05 00:00", "2024-03-05 00:05")
    assert raw.rejected[["line", "value"]].values.tolist() == [[3, "N/A"]]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["20240301", "20240302"], ["2024-03-01", "2024-03-02"]),        # yyyymmdd
        (["45356.0", "45356.0104"], ["2024-03-05 00:00", "2024-03-05 00:15"]),  # 4 decimals
    ],
)
def test_compact_dates_and_coarse_serials(tmp_path, cells, expected):
    rows = "".join(f"{c},A\n" for c in cells)
    raw = read_reports(write(tmp_path, "x.csv", "timestamp,product\n" + rows))
    assert raw.table["timestamp"].tolist() == utc(*expected)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["46097.5", "46097.5034722222"], ["2026-03-16 11:00", "2026-03-16 11:05"]),  # serials
        (["46110.5"], ["2026-03-29 10:00"]),       # a serial after the spring change (CEST)
        (["1773662400"], ["2026-03-16 12:00"]),     # epoch seconds: UTC whatever --tz
        # Dates without a time of day are days, not instants at local midnight: the day
        # itself, as the grid counts days (they were the 15th at 23:00 UTC in Berlin).
        (["20260316", "20260317"], ["2026-03-16", "2026-03-17"]),  # yyyymmdd
        (["2026-03-16", "16/03/2026"], ["2026-03-16", "2026-03-16"]),  # text dates
        (["46097", "46098"], ["2026-03-16", "2026-03-17"]),  # whole serial days
        (["2026-03-16 12:00", "2026-03-16T12:05"], ["2026-03-16 11:00", "2026-03-16 11:05"]),
        # A column of times is of times, its midnights (even written as dates) included,
        # and times written without a colon are times.
        (["2026-03-16", "2026-03-16 01:00"], ["2026-03-15 23:00", "2026-03-16 00:00"]),
        (["20260316 0000", "20260316 1405"], ["2026-03-15 23:00", "2026-03-16 13:05"]),
    ],
)
def test_wall_clock_times_are_in_tz_and_dates_are_days(tmp_path, cells, expected):
    # A spreadsheet's serial days write the local wall clock, as its text times do: with
    # --tz Europe/Berlin, 12:00 on 16 March is 11:00 UTC (serials were read as UTC: an
    # hour late in winter, two in summer). Epoch times are UTC. A column of dates only
    # holds days.
    rows = "".join(f"{c},A\n" for c in cells)
    raw = read_reports(write(tmp_path, "x.csv", "timestamp,product\n" + rows),
                       tz="Europe/Berlin")
    assert raw.table["timestamp"].tolist() == utc(*expected)


def _autumn_rows(descending: bool = False) -> list[str]:
    instants = pd.date_range("2024-11-03 04:00", "2024-11-03 08:00", freq="15min", tz="UTC")
    walls = instants.tz_convert("America/New_York").tz_localize(None)
    rows = [f"{w:%Y-%m-%d %H:%M},{p},5" for w in walls for p in ("Outlook", "Teams")]
    return rows[::-1] if descending else rows


def _assert_each_quarter_hour_once(raw) -> None:
    """Each product of :func:`_autumn_rows` holds every quarter hour of 04:00-08:00 UTC
    once: the repeated hour read neither doubled nor shifted."""
    expected = pd.date_range("2024-11-03 04:00", "2024-11-03 08:00", freq="15min", tz="UTC")
    for product in ("Outlook", "Teams"):
        got = raw.table.loc[raw.table["product"] == product, "timestamp"].sort_values()
        assert got.tolist() == expected.tolist()


@pytest.mark.parametrize("descending", [False, True])
def test_repeated_autumn_hour_in_a_long_file_is_read_per_product(tmp_path, descending):
    # Two products per timestamp interleave their rows: the repeated 01:xx hour is read
    # from each product's own order (oldest or newest first), not doubled.
    text = "timestamp,product,reports\n" + "\n".join(_autumn_rows(descending)) + "\n"
    _assert_each_quarter_hour_once(read_reports(write(tmp_path, "x.csv", text),
                                                tz="America/New_York"))


def test_repeated_autumn_hour_of_counts_sorted_by_their_local_time(tmp_path):
    # Sorted by the local-time text (a plain ORDER BY), the two rows of each repeated
    # wall time lie side by side: each wall time's first row is its first pass. Before,
    # everything after the first repeat was read as the second pass (an outage at 00:15
    # UTC reported at 01:15, 33 rows "repeated").
    rows = sorted(_autumn_rows(), key=lambda r: (r.split(",")[0], r.split(",")[1]))
    text = "timestamp,product,reports\n" + "\n".join(rows) + "\n"
    raw = read_reports(write(tmp_path, "x.csv", text), tz="America/New_York")
    _assert_each_quarter_hour_once(raw)
    assert raw.notes == ()  # each wall time's two rows told the passes apart


def test_repeated_autumn_hour_of_report_events(tmp_path):
    # Events with seconds, oldest first: the clock going back marks winter time.
    walls = ["00:59:10", "01:10:05", "01:40:00", "01:59:59", "01:05:00", "01:50:00",
             "02:10:00"]
    text = "timestamp,product\n" + "".join(f"2024-11-03 {w},A\n" for w in walls)
    raw = read_reports(write(tmp_path, "x.csv", text), tz="America/New_York")
    assert raw.table["timestamp"].is_monotonic_increasing
    assert raw.table["timestamp"].iloc[4] == pd.Timestamp("2024-11-03 06:05", tz="UTC")
    assert raw.notes == ()  # the order told the passes apart


def test_report_events_sorted_by_their_local_time_in_the_autumn_hour_are_named(tmp_path):
    # The same reports sorted by their local-time text: nothing tells the passes apart,
    # all are read as summer time (05:xx UTC, 06:xx UTC empty), and the reader says so.
    walls = ["00:59:10", "01:05:00", "01:10:05", "01:40:00", "01:50:00", "01:59:59",
             "02:10:00"]
    text = "timestamp,product\n" + "".join(f"2024-11-03 {w},A\n" for w in walls)
    raw = read_reports(write(tmp_path, "x.csv", text), tz="America/New_York")
    assert raw.table["timestamp"].iloc[1] == pd.Timestamp("2024-11-03 05:05", tz="UTC")
    [note] = raw.notes
    assert note.startswith("'x.csv': report times in the hour the clocks go back in "
                           "America/New_York (2024-11-03) were read as its first "
                           "(summer-time) pass")
    assert note.endswith("Times with their UTC offset (-04:00 or -05:00) or in UTC read exactly")


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2024-03-04 00:00 EST", "2024-03-04 05:00"),
        ("2024-03-04 06:00 CEST", "2024-03-04 04:00"),
        ("2024-03-04 00:00 UTC+1", "2024-03-03 23:00"),
        ("2024-03-04 00:00 GMT-05:30", "2024-03-04 05:30"),
        ("3/4/24 13:00", "2024-03-04 13:00"),
        ("03/04/2024 1:15PM", "2024-03-04 13:15"),
    ],
)
def test_zones_two_digit_years_and_joined_pm(tmp_path, stamp, expected):
    raw = read_reports(write(tmp_path, "x.csv", f"timestamp,product\n{stamp},A\n"))
    assert raw.table["timestamp"].tolist() == utc(expected)


def test_an_ambiguous_zone_abbreviation_is_not_guessed(tmp_path):
    text = "timestamp,product\n2024-03-04 00:00 CST,A\n2024-03-04 00:05 EST,A\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["timestamp"].tolist() == utc("2024-03-04 05:05")
    assert raw.rejected[["line", "reason"]].values.tolist() == [[2, "is not a date"]]


@pytest.mark.parametrize(
    ("stamp", "tz", "expected"),
    [
        ("03/01/2024 01:15 PM EST", None, "2024-03-01 18:15"),
        ("2024-03-01 01:15 PM UTC", None, "2024-03-01 13:15"),
        ("3/1/24 1:15PM", None, "2024-03-01 13:15"),
        ("2024-03-01 00:00 CST", "America/Chicago", "2024-03-01 06:00"),
        ("03/01/2024 12:00:00.123 AM", None, "2024-03-01 00:00:00.123"),
        ("2024-03-01T00:00:00,123Z", None, "2024-03-01 00:00:00.123"),
    ],
)
def test_twelve_hour_times_zones_and_comma_seconds(tmp_path, stamp, tz, expected):
    raw = read_reports(write(tmp_path, "x.csv", f'timestamp,product\n"{stamp}",A\n'), tz=tz)
    assert raw.table["timestamp"].tolist() == utc(expected)


def test_a_zone_in_the_timestamp_column_name_localises_naive_times(tmp_path):
    text = "Time (CET),product\n2024-01-01 10:00,A\n"
    path = write(tmp_path, "x.csv", text)
    assert read_reports(path).table["timestamp"].tolist() == utc("2024-01-01 09:00")
    assert read_reports(path, tz="UTC").table["timestamp"].tolist() == utc("2024-01-01 10:00")
    other = write(tmp_path, "y.csv", "Time (count),product\n2024-01-01 10:00,A\n")
    assert read_reports(other).table["timestamp"].tolist() == utc("2024-01-01 10:00")


@pytest.mark.parametrize(("header", "expected"), [("Time (PST)", "2024-07-01 18:00"),
                                                  ("time [Europe/Berlin]", "2024-07-01 08:00")])
def test_zone_names_in_the_header(tmp_path, header, expected):
    raw = read_reports(write(tmp_path, "x.csv", f"{header},product\n2024-07-01 10:00,A\n"))
    assert raw.table["timestamp"].tolist() == utc(expected)


def test_a_quiet_product_s_autumn_reports_follow_the_file_s_order(tmp_path):
    # A quiet product with reports in the second pass only: its own rows never show the
    # clock going back (read an hour early, and named as undecided), the busy product's
    # rows in the same oldest-first file do.
    zone = "Europe/Berlin"
    quiet = pd.to_datetime(["2024-10-26 23:10", "2024-10-27 01:20", "2024-10-27 01:40",
                            "2024-10-27 03:30"], utc=True)  # 02:20 and 02:40 CET
    busy = pd.date_range("2024-10-26 22:00", "2024-10-27 04:00", freq="7min", tz="UTC")
    rows = sorted([(t, "Quiet") for t in quiet] + [(t, "Busy") for t in busy])
    text = "timestamp,product\n" + "".join(
        f"{t.tz_convert(zone):%Y-%m-%d %H:%M:%S},{p}\n" for t, p in rows)
    raw = read_reports(write(tmp_path, "x.csv", text), tz=zone)
    got = raw.table.loc[raw.table["product"] == "Quiet", "timestamp"].tolist()
    assert got == list(quiet) and raw.notes == ()
    # Read block by block, an ordered file is not named as undecided (a block's edge
    # inside the hour hides the clock going back from that block).
    from spikes.io.buckets import load_reports

    path = write(tmp_path, "y.csv", text)
    assert not [n for n in load_reports(path, tz=zone, streaming=True,
                                        block_bytes=512).notes if "clocks go back" in n]


# --- found by a hunt of real exports (each failed before) --------------------------------
@pytest.mark.parametrize(("stamps", "first"), [
    # Excel in en-GB: a PM first value made pandas guess no day-first format, so the
    # dates were read month first, silently (1-3 February as 2 January - 2 March).
    (["01/02/2026 1:00 PM", "02/02/2026 1:00 PM", "03/02/2026 1:00 PM"], "2026-02-01 13:00"),
    (["22/01/2026 7:00 PM", "22/01/2026 7:05 PM"], "2026-01-22 19:00"),
    (["Jan 22, 2026 @ 19:00:00.000", "Jan 22, 2026 @ 19:05:00.000"], "2026-01-22 19:00"),
    (["1/22/2026, 7:00:00.000 PM", "1/22/2026, 7:05:00.000 PM"], "2026-01-22 19:00"),
    (["2026-01-22 7:00 PM", "2026-01-22 7:05 PM"], "2026-01-22 19:00"),
])
def test_twelve_hour_and_console_timestamps(tmp_path, stamps, first):
    rows = "".join(f'"{s}",A\n' for s in stamps)
    raw = read_reports(write(tmp_path, "x.csv", "timestamp,product\n" + rows))
    assert raw.table["timestamp"].iloc[0] == pd.Timestamp(first, tz="UTC")
    assert len(raw.rejected) == 0 and raw.table["timestamp"].is_monotonic_increasing


def test_dmy_twelve_hour_times_with_date_order(tmp_path):
    text = "timestamp,product\n01/02/2026 1:00 PM,A\n"
    raw = read_reports(write(tmp_path, "x.csv", text), date_order="dmy")
    assert raw.table["timestamp"].tolist() == utc("2026-02-01 13:00")


@pytest.mark.parametrize(("column", "utc_time"), [
    ("Time (UTC+01:00)", "2026-01-22 19:00"), ("Time (UTC+1)", "2026-01-22 19:00"),
    ("Time (GMT+2)", "2026-01-22 18:00"), ("Time (UTC-05:00)", "2026-01-23 01:00"),
    ("Time (UTC+05:30)", "2026-01-22 14:30"), ("Time [GMT]", "2026-01-22 20:00"),
])
def test_an_offset_in_the_timestamp_column_name(tmp_path, column, utc_time):
    # Read as UTC before, without a word.
    text = f"{column},product\n2026-01-22 20:00,A\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["timestamp"].tolist() == utc(utc_time)


def test_an_ambiguous_zone_in_the_column_name_is_refused_unless_tz_says(tmp_path):
    path = write(tmp_path, "x.csv", "Time (IST),product\n2026-01-22 20:00,A\n")
    with pytest.raises(SpikesInputError, match=r"'Time \(IST\)' names the zone 'IST'.*India"):
        read_reports(path)
    raw = read_reports(path, tz="Asia/Kolkata")
    assert raw.table["timestamp"].tolist() == utc("2026-01-22 14:30")


def test_a_streamed_first_day_of_day_first_dates_waits_for_the_next_block(tmp_path):
    # Blocks of one day could not tell day from month and were read month first (1
    # February as 2 January), while the later blocks, and a whole-file read, were right.
    from spikes.io.buckets import load_reports
    times = pd.date_range("2026-02-01", "2026-02-05", freq="5min", inclusive="left")
    text = "timestamp,product,reports\n" + "".join(
        f"{t:%d/%m/%Y %H:%M},A,{i % 7}\n" for i, t in enumerate(times))
    path = write(tmp_path, "x.csv", text)
    whole = load_reports(path)
    streamed = load_reports(path, streaming=True, block_bytes=3000)  # 1/3 of a day
    assert streamed.counts.index[0] == pd.Timestamp("2026-02-01", tz="UTC")
    pd.testing.assert_frame_equal(streamed.counts, whole.counts)
    assert streamed.notes == whole.notes == ()


def test_a_zone_in_the_name_of_a_separate_time_column(tmp_path):
    # "Date,Time (CET)" was read as UTC, and "Date,Time (IST)" lost its time of day.
    body = "2026-01-05,10:00,A,3\n2026-01-05,10:05,A,4\n"
    raw = read_reports(write(tmp_path, "x.csv", "Date,Time (CET),Product,Reports\n" + body))
    assert raw.table["timestamp"].tolist() == utc("2026-01-05 09:00", "2026-01-05 09:05")
    path = write(tmp_path, "y.csv", "Date,Time (IST),Product,Reports\n" + body)
    with pytest.raises(SpikesInputError, match="names the zone 'IST'"):
        read_reports(path)
    assert read_reports(path, tz="Asia/Kolkata").table["timestamp"].tolist() == utc(
        "2026-01-05 04:30", "2026-01-05 04:35")
