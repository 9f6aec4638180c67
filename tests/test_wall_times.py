"""Naive times read in a zone (``--tz``) by one function,
:func:`spikes.io.zones.wall_time_in_utc`, for labels and incidents, known-event
calendars and ``spikes serve --demo-from``: a wall time the clocks skip or repeat is
refused in one line naming where it is, the time, the zone and the offsets to give it
with (the calendar's gave pandas' advice, "try using the 'ambiguous' argument", and
serve's no offsets)."""

from __future__ import annotations

import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.io.calendar import read_calendar
from spikes.io.zones import wall_time_in_utc


def test_naive_times_are_read_in_the_zone_aware_ones_kept() -> None:
    assert wall_time_in_utc(pd.Timestamp("2026-01-22 20:05"), "Europe/Berlin", "x") == \
        pd.Timestamp("2026-01-22 19:05", tz="UTC")
    assert wall_time_in_utc(pd.Timestamp("2026-01-22 20:05"), None, "x") == \
        pd.Timestamp("2026-01-22 20:05", tz="UTC")
    aware = pd.Timestamp("2026-01-22 20:05", tz="Asia/Tokyo")
    assert wall_time_in_utc(aware, "Europe/Berlin", "x") == aware
    assert str(wall_time_in_utc(aware, "Europe/Berlin", "x").tz) == "UTC"


@pytest.mark.parametrize(("naive", "zone", "said"), [
    ("2026-03-29 02:30", "Europe/Berlin", "it does not exist there, the hour the clocks skip"
                                          "): give it with its UTC offset (2026-03-29T02:30 "
                                          "then +01:00 or +02:00)"),
    ("2026-10-25 02:30", "Europe/Berlin", "it occurs twice there, the hour the clocks go "
                                          "back): give it with its UTC offset "
                                          "(2026-10-25T02:30 then +02:00 or +01:00)"),
])
def test_a_wall_time_the_clocks_skip_or_repeat_is_refused(naive, zone, said) -> None:
    with pytest.raises(SpikesInputError) as raised:
        wall_time_in_utc(pd.Timestamp(naive), zone, "cal.csv, line 2, column start", "T")
    assert str(raised.value) == (f"cal.csv, line 2, column start: 'T' cannot be read in "
                                 f"time zone {zone!r} ({said}")


def test_the_calendar_says_which_pass_of_the_clocks_is_meant(tmp_path) -> None:
    # Its message was pandas' ("Cannot infer dst time from 2026-10-25 02:30:00, try using
    # the 'ambiguous' argument"), with no offset to give.
    path = tmp_path / "cal.csv"
    path.write_text("product,start,end,kind\nA,2026-10-25 02:30,2026-10-25 04:00,release\n")
    with pytest.raises(SpikesInputError) as raised:
        read_calendar(path, tz="Europe/Berlin")
    assert str(raised.value) == (
        f"{path}, line 2, column start: '2026-10-25 02:30' cannot be read in time zone "
        "'Europe/Berlin' (it occurs twice there, the hour the clocks go back): give it with "
        "its UTC offset (2026-10-25T02:30 then +02:00 or +01:00)")
