"""A rush on one day of the week becomes that weekday's usual level.

The pools of the live baseline are weekdays or weekend days, not days of the week: a
Monday-morning rush of an office product (or a game's Friday evening) was masked as an
outage on its first weeks and raised every week for good. Seen at agreeing levels on
that weekday of the last two weeks, twice the other days' level or more, it is taken
from those days (:func:`spikes.detect.trailing_recurring._with_weekly`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.config import DetectionConfig
from spikes.detect import trailing_recurring
from spikes.detect.pipeline import analyze
from tests.conftest import as_data
from tests.test_stream import _check_stream

DAY = 288  # five-minute buckets


def _weekly_rush(seed: int, weekday: int, hours: tuple[int, int], factor: float,
                 weeks: int = 6, level: float = 40.0,
                 outages: tuple[tuple[str, float], ...] = (), from_day: int = 0,
                 freq: str = "5min") -> pd.DataFrame:
    """`weeks` weeks of counts in buckets of `freq` from a Monday (a daily cycle of about
    `level` per 5 minutes at 14:00), `factor` times as high on `weekday` (0 = Monday)
    between `hours` from day `from_day` on, and an hour at the given factor from each of
    `outages` (UTC start times)."""
    rng = np.random.default_rng(seed)
    per_day = pd.Timedelta("1D") // pd.Timedelta(freq)
    index = pd.date_range("2026-01-05", periods=weeks * 7 * per_day, freq=freq, tz="UTC")
    clock = (index.hour + index.minute / 60).to_numpy()
    level = level * (pd.Timedelta(freq) / pd.Timedelta("5min"))
    rate = level * (0.3 + 0.7 * np.exp(-(((clock - 14) / 4) ** 2)))
    rush = (index.day_of_week == weekday) & (clock >= hours[0]) & (clock < hours[1])
    rush &= np.arange(len(index)) >= from_day * per_day
    rate = np.where(rush, factor * rate, rate)
    for start, times in outages:
        at = (index >= pd.Timestamp(start, tz="UTC")) & (
            index < pd.Timestamp(start, tz="UTC") + pd.Timedelta("1h"))
        rate = np.where(at, times * rate, rate)
    return pd.DataFrame({"app": rng.poisson(rate).astype(float)}, index=index)


def _rush_days(incidents: pd.DataFrame, counts: pd.DataFrame) -> list[int]:
    return sorted(((incidents["onset"] - counts.index[0]) // pd.Timedelta("1D")).tolist())


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_a_monday_morning_rush_is_raised_on_its_first_weeks_only(seed):
    # Before: an incident every Monday from 08:00 to 11:00 for six weeks (days 7, 14, 21,
    # 28, 35). The Mondays of the last two weeks agree at 2.5 times the other weekdays:
    # from the third Monday on, the rush is the usual level of a Monday morning.
    counts = _weekly_rush(seed, 0, (8, 11), 2.5)
    analysis = analyze(as_data(counts))
    days = _rush_days(analysis.incidents, counts)
    assert days and set(days) <= {0, 7, 14}
    expected = analysis.baseline.expected["app"]
    later = (counts.index >= counts.index[21 * DAY]) & (counts.index.day_of_week == 0) & (
        counts.index.hour >= 8) & (counts.index.hour < 11)
    # The baseline of the later rushes stands at the rush, not at the other weekdays'.
    assert (counts["app"][later].sum() / expected[later].sum()) == pytest.approx(1.0, abs=0.2)


def test_a_friday_evening_rush_is_learned_too():
    counts = _weekly_rush(2, 4, (18, 22), 3.0)
    days = _rush_days(analyze(as_data(counts)).incidents, counts)
    assert days == [4, 11]


def test_without_the_weekly_rule_the_rush_is_raised_every_week(monkeypatch):
    # The counterfactual: the pool of weekdays keeps the other weekdays' level there.
    # (Its last three arguments: the window's values, weights and warm-up-free weights.)
    monkeypatch.setattr(trailing_recurring, "_with_weekly", lambda *args: args[-3:])
    counts = _weekly_rush(0, 0, (8, 11), 2.5)
    days = _rush_days(analyze(as_data(counts)).incidents, counts)
    assert [d for d in days if d >= 21] == [21, 28, 35]


def test_an_outage_in_the_rush_or_on_another_monday_hour_is_still_raised():
    # The rush learned is a Monday's usual level, no blind spot: a 3x outage on top of
    # it, and one on a Monday afternoon, are raised at their onsets.
    outages = (("2026-01-26 09:00", 3.0), ("2026-02-02 15:00", 3.0))
    counts = _weekly_rush(0, 0, (8, 11), 2.5, outages=outages)
    incidents = analyze(as_data(counts)).incidents
    later = incidents[incidents["onset"] >= counts.index[21 * DAY]]
    assert later["onset"].tolist() == [pd.Timestamp(t, tz="UTC") for t, _ in outages]
    assert (later["alerted_at"] - later["onset"] <= pd.Timedelta("15min")).all()


def test_outages_at_one_time_of_two_mondays_that_disagree_are_no_rush():
    # Two Monday outages at 14:00, 8x and 3x: their levels disagree, so the third
    # Monday's 3x outage at that time is raised as well.
    outages = (("2026-01-19 14:00", 8.0), ("2026-01-26 14:00", 3.0),
               ("2026-02-02 14:00", 3.0))
    counts = _weekly_rush(4, 0, (8, 11), 1.0, outages=outages)
    incidents = analyze(as_data(counts)).incidents
    assert incidents["onset"].tolist() == [pd.Timestamp(t, tz="UTC") for t, _ in outages]


def test_a_rush_too_small_for_its_own_buckets_is_not_learned():
    # Under 50 reports in a bucket of the rush over the two Mondays (about 8 a bucket on
    # each), each time of day is too uncertain to stand alone: the rush is still raised
    # week after week (a known limit).
    counts = _weekly_rush(50, 0, (8, 11), 3.0, level=6.0)
    days = _rush_days(analyze(as_data(counts)).incidents, counts)
    assert len([d for d in days if d >= 21 and d % 7 == 0]) >= 2


def test_the_stream_learns_the_rush_as_the_batch_does():
    counts = _weekly_rush(1, 0, (8, 11), 2.5, weeks=4)
    cuts = [14 * DAY + 9 * 12, 21 * DAY + 9 * 12, len(counts)]
    assert _check_stream(counts, cuts, [DAY // 2, 7]) >= 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_holiday_on_the_rush_s_weekday_does_not_unlearn_it(seed):
    # A Monday at 0.3 of its reports (a low day) disagreed with the rush for the two
    # weeks it stayed among the pool's Mondays: raised on days 35 and 42. Left out as
    # low, the other Monday carries the rush.
    counts = _weekly_rush(seed, 0, (8, 11), 3.0, weeks=7)
    counts.iloc[28 * DAY : 29 * DAY] = np.round(counts.iloc[28 * DAY : 29 * DAY] * 0.3)
    assert set(_rush_days(analyze(as_data(counts)).incidents, counts)) <= {0, 7}


@pytest.mark.parametrize("seed", [0, 1])
def test_a_longer_pool_learns_a_new_rush_from_its_latest_two_weeks(seed):
    # With `baseline_days = 28` the pool holds four Mondays; all four had to agree, so a
    # rush that began on day 28 was raised on its first four Mondays.
    counts = _weekly_rush(seed, 0, (8, 11), 2.5, weeks=9, from_day=28)
    settings = DetectionConfig(baseline_days=28, weekly_min_days=28)
    assert _rush_days(analyze(as_data(counts), settings).incidents, counts) == [28, 35]


def test_two_outages_at_one_monday_time_that_agree_teach_that_level():
    # A known limit, pinned: outages of 4x and 3x at Monday 14:00 two weeks running
    # agree within 2x, so the third Monday's 3.5x outage there is that Monday's level.
    outages = (("2026-01-19 14:00", 4.0), ("2026-01-26 14:00", 3.0),
               ("2026-02-02 14:00", 3.5))
    counts = _weekly_rush(4, 0, (8, 11), 1.0, outages=outages)
    onsets = analyze(as_data(counts)).incidents["onset"].tolist()
    assert onsets == [pd.Timestamp(t, tz="UTC") for t, _ in outages[:2]]


@pytest.mark.parametrize("freq", ["15min", "1h"])
def test_the_rush_is_learned_at_longer_buckets_too(freq):
    # Each time of day's own buckets are a quarter or a whole hour there; the window of
    # an hourly pool is the time of day alone.
    counts = _weekly_rush(2, 0, (8, 11), 2.5, freq=freq)
    assert _rush_days(analyze(as_data(counts, pd.Timedelta(freq))).incidents, counts) == [7]
