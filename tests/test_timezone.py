"""The ``timezone`` setting: a product's baseline follows its zone's daylight saving time.

An office product of Europe/Berlin (reports from 2 at night to 60 a bucket within three
morning hours, weekends at 0.3x) is drawn on local time from 2 March to 12 April 2026;
its clocks go forward on 29 March. Its baseline pools the same UTC time of day without
the setting (an hour off its morning ramp for a week), the same local time with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.config import DetectionConfig, load_config
from spikes.detect.pipeline import analyze
from spikes.errors import SpikesInputError
from tests.conftest import as_data, with_outage

ZONE = "Europe/Berlin"
CHANGE = pd.Timestamp("2026-03-29", tz=ZONE)
WEEK = pd.Timedelta(days=7)


def berlin() -> DetectionConfig:
    """The office product on Berlin's clock."""
    return DetectionConfig(overrides={"office": {"timezone": ZONE}})


def office(seed: int = 0, start: str = "2026-03-02", end: str = "2026-04-12 23:55",
           zone: str = ZONE) -> pd.DataFrame:
    """5-minute counts of an office product on the clock of `zone` (as bench_dst.py)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, end, freq="5min", tz="UTC")
    local = index.tz_convert(zone)
    hours = (local.hour + local.minute / 60).to_numpy()
    weekend = local.day_of_week.to_numpy() >= 5
    rate = 2 + 60 * np.clip((hours - 6) / 3, 0, 1) * np.clip((19 - hours) / 3, 0, 1)
    return pd.DataFrame({"office": rng.poisson(rate * np.where(weekend, 0.3, 1.0))},
                        index=index).astype(float)


def _onsets(counts: pd.DataFrame, config: DetectionConfig | None = None) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(analyze(as_data(counts), config).incidents["onset"])


def _in_week(onsets: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return onsets[(onsets >= CHANGE) & (onsets < CHANGE + WEEK)]


@pytest.mark.parametrize("seed", [0, 1])
def test_the_week_after_the_change_is_quiet_with_the_zone(seed):
    counts = office(seed)
    assert len(_in_week(_onsets(counts, berlin()))) == 0
    # Counterfactual: the same UTC time of day, an hour off the morning ramp, raises
    # nearly every day of that week.
    assert len(_in_week(_onsets(counts))) >= 4


def test_a_real_outage_in_that_week_is_raised_at_its_onset():
    counts = office(0)
    onset = pd.Timestamp("2026-03-31 10:00", tz=ZONE)  # a Tuesday, 3x for two hours
    counts = with_outage(counts, "office", counts.index.get_loc(onset), 24, 3.0)
    found = _in_week(_onsets(counts, berlin()))
    assert len(found) == 1
    assert abs(found[0] - onset) <= pd.Timedelta("10min")


def test_the_stream_equals_the_batch_across_the_change():
    from tests.test_stream import _check_stream

    counts = pd.concat([office(3, "2026-03-19", "2026-04-03 23:55"),
                        office(4, "2026-03-19", "2026-04-03 23:55", "America/New_York")
                        .rename(columns={"office": "newyork"})], axis=1)
    counts = with_outage(counts, "office", counts.index.get_loc(
        pd.Timestamp("2026-03-31 11:00", tz=ZONE)), 24, 4.0)
    config = DetectionConfig(weekly_min_days=7, overrides={
        "office": {"timezone": ZONE}, "newyork": {"timezone": "America/New_York"}})
    day = 288
    found = _check_stream(counts, [10 * day + 100, 12 * day + 170, len(counts)],
                          [97, 1, 288], config)
    assert found >= 1


def test_the_stream_equals_the_batch_at_two_hour_buckets():
    # A one-hour change is half a bucket: the pooled days blend the two buckets around
    # the clock time.
    from tests.test_stream import _check_stream

    counts = office(7, "2026-03-12", "2026-04-05 23:55").resample("2h").sum()
    counts = with_outage(counts, "office", counts.index.get_loc(
        pd.Timestamp("2026-03-31 08:00", tz="UTC")), 2, 4.0)
    config = DetectionConfig(timezone=ZONE)
    found = _check_stream(counts, [17 * 12 + 5, 19 * 12 + 7, len(counts)], [5, 1, 12],
                          config)
    assert found >= 1
    bucket = pd.Timedelta("2h")
    onsets = pd.DatetimeIndex(analyze(as_data(counts, bucket), config).incidents["onset"])
    assert list(_in_week(onsets)) == [pd.Timestamp("2026-03-31 08:00", tz="UTC")]
    onsets = pd.DatetimeIndex(analyze(as_data(counts, bucket)).incidents["onset"])
    assert len(_in_week(onsets)) >= 3  # counterfactual: without the zone


def test_incidents_raised_before_a_cut_do_not_depend_on_later_data():
    counts = office(2, "2026-03-12", "2026-04-05 23:55")
    counts = with_outage(counts, "office", counts.index.get_loc(
        pd.Timestamp("2026-03-30 14:00", tz=ZONE)), 24, 3.0)
    key = ["product", "onset", "alerted_at"]

    def raised(part: pd.DataFrame) -> pd.DataFrame:
        return analyze(as_data(part), berlin()).incidents[key]

    whole = raised(counts)
    for cut in ("2026-03-29 06:00", "2026-03-30 15:00", "2026-04-01 08:00"):
        stop = counts.index.get_loc(pd.Timestamp(cut, tz=ZONE))
        end = counts.index[stop - 1] + pd.Timedelta("5min")
        before = whole[whole["alerted_at"] <= end].reset_index(drop=True)
        pd.testing.assert_frame_equal(before, raised(counts.iloc[:stop]).reset_index(drop=True))
    assert len(whole[whole["alerted_at"] <= end]) >= 1


def test_the_zone_moves_the_days_to_its_standard_midnight():
    # Without the change in its data, a zone gives what its winter offset gives.
    counts = office(5, "2026-01-05", "2026-01-30 23:55")
    counts = with_outage(counts, "office", 20 * 288 + 100, 18, 4.0)
    zone = analyze(as_data(counts), berlin()).incidents
    fixed = analyze(as_data(counts), DetectionConfig(
        overrides={"office": {"utc_offset": "+1h"}})).incidents
    assert len(zone) >= 1
    # The same incidents; the reasons name the zone's clock (CET) where the offset's
    # name the offset.
    assert zone["why"].str.contains(" CET ").all() or zone["why"].str.contains("first day").any()
    same = fixed["why"].str.replace("UTC+01:00", "CET", regex=False)
    pd.testing.assert_frame_equal(zone, fixed.assign(why=same))



def test_a_zone_at_offset_zero_still_names_its_clock():
    # London in winter runs at UTC's offset: its reasons say GMT, as they say BST in
    # summer (they fell back to the bare UTC time, the zone's name dropped).
    counts = office(5, "2026-01-05", "2026-01-30 23:55", zone="Europe/London")
    counts = with_outage(counts, "office", 20 * 288 + 100, 18, 4.0)
    why = analyze(as_data(counts), DetectionConfig(timezone="Europe/London")).incidents["why"]
    outage = why[why.str.contains("usual on a")]
    assert len(outage) >= 1
    assert outage.str.contains(r"usual on a \w+ at \d\d:\d\d GMT \(\d\d:\d\d UTC\)").all()

def test_retrospective_mode_pools_the_same_local_time_too():
    counts = office(6, "2026-03-16", "2026-04-12 23:55")
    around = pd.Timestamp("2026-03-22", tz=ZONE)  # the weeks before and after the change

    def onsets(**values: str) -> pd.DatetimeIndex:
        found = pd.DatetimeIndex(analyze(as_data(counts), DetectionConfig(
            mode="retrospective", **values)).incidents["onset"])
        return found[(found >= around) & (found < around + 2 * WEEK)]

    assert len(onsets(timezone=ZONE)) == 0
    assert len(onsets()) >= 3  # counterfactual: the same UTC time of day



def test_summer_days_pooled_in_hindsight_stay_on_their_clock_at_two_hour_buckets():
    # A series wholly in summer, at 2-hour buckets (the 1-hour change is half a bucket):
    # no day moves, so the retrospective baseline is that of the zone's standard offset
    # (days at its midnight) bucket for bucket. Moved to the standard clock and back by
    # half a bucket each way, every bucket was a blend of its neighbours: the one before
    # the morning ramp expected three times its reports.
    counts = office(8, "2026-06-01", "2026-06-28 23:55").resample("2h").sum()
    data = as_data(counts, pd.Timedelta("2h"))
    zone = analyze(data, DetectionConfig(mode="retrospective", timezone=ZONE))
    fixed = analyze(data, DetectionConfig(mode="retrospective", utc_offset="+1h"))
    pd.testing.assert_frame_equal(zone.baseline.expected, fixed.baseline.expected)

@pytest.mark.parametrize(("kwargs", "words"), [
    ({"timezone": "Europe/Berln"},
     ["timezone = 'Europe/Berln'", "unknown time zone", "did you mean Europe/Berlin?"]),
    ({"timezone": "CST"}, ["timezone = 'CST'", "stands for"]),
    ({"timezone": 5}, ["timezone = 5 is not a time zone", "Europe/Berlin"]),
    ({"overrides": {"Teams": {"timezone": "Mars/Olympus"}}},
     ["products.'Teams'", "timezone = 'Mars/Olympus'", "expected an IANA name"]),
])
def test_a_bad_zone_is_a_clear_error(kwargs, words):
    with pytest.raises(SpikesInputError) as error:
        DetectionConfig(**kwargs)
    for word in words:
        assert word in str(error.value)


def test_zone_names_are_spelt_as_spikes_spells_them():
    assert DetectionConfig(timezone="europe/berlin").timezone == "Europe/Berlin"
    assert DetectionConfig(timezone="Etc/Zulu").timezone == "UTC"


def test_a_zone_in_a_settings_file(tmp_path: Path):
    path = tmp_path / "spikes.toml"
    path.write_text('[detection]\ntimezone = 3\n')
    with pytest.raises(SpikesInputError, match="timezone = 3 is not a time zone"):
        load_config(path)
    path.write_text('[detection]\nutc_offset = "-5h"\n\n[products."Teams"]\n'
                    'timezone = "Europe/Berlin"\n')
    config = load_config(path)
    assert load_config(path) == DetectionConfig.from_dict(config.to_dict())
    path.write_text(config.to_toml())
    assert load_config(path) == config


def test_zone_and_offset_in_the_same_table_are_refused():
    with pytest.raises(SpikesInputError, match=r"timezone = 'Europe/Berlin' and "
                       r"utc_offset = '\+1h' are both set"):
        DetectionConfig(timezone=ZONE, utc_offset="+1h")
    with pytest.raises(SpikesInputError, match=r"products.'Teams'.*timezone = "
                       r"'Europe/Berlin' and utc_offset = '-5h' are both set"):
        DetectionConfig(overrides={"Teams": {"timezone": ZONE, "utc_offset": "-5h"}})
    # An offset of 0 is no offset.
    assert DetectionConfig(timezone=ZONE, utc_offset="0h").timezone == ZONE


def test_a_product_s_own_zone_or_offset_replaces_the_global_one():
    config = DetectionConfig(utc_offset="-5h", overrides={"Teams": {"timezone": ZONE}})
    assert (config.for_product("Teams").timezone, config.for_product("Teams").utc_offset) \
        == (ZONE, "0h")
    assert (config.for_product("Zoom").timezone, config.for_product("Zoom").utc_offset) \
        == (None, "-5h")
    config = DetectionConfig(timezone=ZONE, overrides={"Teams": {"utc_offset": "+9h"}})
    assert (config.for_product("Teams").timezone, config.for_product("Teams").utc_offset) \
        == (None, "+9h")
    assert config.for_product("Zoom").timezone == ZONE
