"""Times as the command line prints them (``2026-01-22 20:05 CET``) read back in the
display zone (spikes.io.printed_times): pasted into ``explain --window`` they were "not
a time"."""

from __future__ import annotations

import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.io.printed_times import split_zone_label, time_with_label
from spikes.io.zones import when


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Sydney",
                                  "Asia/Kolkata", "Europe/London"])
def test_every_printed_time_reads_back_as_itself(zone: str) -> None:
    # Every 10 minutes over each change of the clocks of 2026, both passes of the hour
    # the clocks go back included (told apart by their abbreviation only).
    days = pd.date_range("2026-01-01", "2027-01-01", freq="D", tz="UTC")
    offsets = days.tz_convert(zone).map(lambda t: t.utcoffset())
    changes = days[1:][offsets[1:] != offsets[:-1]]
    for day in changes:
        for stamp in pd.date_range(day - pd.Timedelta("1D"), day + pd.Timedelta("1D"),
                                   freq="10min"):
            printed = when(stamp, zone)
            labelled = split_zone_label(printed)
            if labelled is None:  # London's GMT, read by pandas as an offset
                assert printed.endswith(" GMT") and pd.Timestamp(printed) == stamp
                continue
            text, label = labelled
            assert time_with_label(pd.Timestamp(text), label, zone, "x") == stamp


def test_only_a_word_of_a_zone_after_a_time_is_split() -> None:
    assert split_zone_label("2026-01-22 20:05 cet") == ("2026-01-22 20:05", "cet")
    for text in ("1/22/2026 7:05 PM", "2026-01-22 20:05 UTC", "2026-01-22T20:05Z",
                 "2026-01-22 20:05", "Jan 22 2026", "soon", None):
        assert split_zone_label(text) is None, text


def test_the_other_pass_of_the_hour_is_named_where_the_label_fits_neither() -> None:
    with pytest.raises(SpikesInputError) as raised:
        time_with_label(pd.Timestamp("2026-10-25 02:30"), "EST", "Europe/Berlin", "x '...'")
    assert str(raised.value) == (
        "x '...': EST is not the abbreviation of Europe/Berlin at that time (CEST, +02:00 "
        "or CET, +01:00), the zone times are printed and read in; EST is UTC-05:00: write "
        "2026-10-25T02:30-05:00 for that time, or give the --display-tz of the zone it was "
        "printed in")
