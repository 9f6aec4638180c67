"""With hindsight (``mode = "retrospective"``), a time of day that recurs is its usual
level, as in the live fit: a daily peak of a few buckets, a rush on one day of the week.

The retrospective baseline pools a time of day with its neighbours on the days around it
and masks what stands far above that pool: a 15-minute daily peak, diluted in its window,
was masked on every day and raised every day (21 incidents in 21 days), a Monday rush
every Monday. :func:`spikes.detect.hindsight_recurring.with_recurring` takes such a time
of day from the pool's days that agree there, where they are most of the pool.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.config import DetectionConfig
from spikes.detect import baseline
from spikes.detect.hindsight_recurring import with_recurring
from spikes.detect.pipeline import analyze
from tests.conftest import as_data
from tests.test_weekly_rush import _rush_days, _weekly_rush

HINDSIGHT = DetectionConfig(mode="retrospective")
DAY = 288  # five-minute buckets


def _series(seed: int, days: int = 28, level: float = 40.0, peak: float = 3.0,
            outages: tuple[tuple[int, float, float, float], ...] = (),
            step: tuple[int, float] | None = None) -> pd.DataFrame:
    """`days` days of five-minute counts from a Monday (a daily cycle of about `level`
    at 14:00) with a 15-minute peak at `peak` times the level at 09:00 every day, an
    outage per `outages` (day, hour, hours, factor) and a lasting change of level
    (`step`: from day, factor)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=days * DAY, freq="5min", tz="UTC")
    clock = (index.hour + index.minute / 60).to_numpy()
    time = np.arange(len(index)) / DAY  # days since the start
    rate = level * (0.3 + 0.7 * np.exp(-(((clock - 14) / 4) ** 2)))
    rate = np.where((clock >= 9) & (clock < 9.25), peak * rate, rate)
    for day, hour, hours, factor in outages:
        start = day + hour / 24
        rate = np.where((time >= start) & (time < start + hours / 24), factor * rate, rate)
    if step is not None:
        rate = np.where(time >= step[0], step[1] * rate, rate)
    return pd.DataFrame({"app": rng.poisson(rate).astype(float)}, index=index)


def _days(counts: pd.DataFrame) -> list[int]:
    return _rush_days(analyze(as_data(counts), HINDSIGHT).incidents, counts)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_daily_peak_is_no_incident_with_hindsight(seed):
    # Before: an incident at 09:00 on almost every day (21 to 26 of 28).
    counts = _series(seed)
    analysis = analyze(as_data(counts), HINDSIGHT)
    assert analysis.incidents.empty
    peak = (counts.index.hour == 9) & (counts.index.minute < 15)
    expected = analysis.baseline.expected["app"]
    assert counts["app"][peak].sum() / expected[peak].sum() == pytest.approx(1.0, abs=0.1)


def test_without_the_rule_the_daily_peak_is_raised_every_day(monkeypatch):
    # The counterfactual: the window's mean keeps the peak out, masked on every day.
    monkeypatch.setattr(baseline, "_with_recurring", lambda y, normal, mean, *rest: mean)
    assert len(_days(_series(0))) >= 20


@pytest.mark.parametrize("seed", [0, 1])
def test_an_outage_on_top_of_the_daily_peak_is_raised_at_its_onset(seed):
    # Its level (nine times the usual) disagrees with the other days' peak: it neither
    # keeps the peak out of the pool nor enters it.
    counts = _series(seed, outages=((12, 9, 1, 3.0),))
    incidents = analyze(as_data(counts), HINDSIGHT).incidents
    assert len(incidents) == 1
    onset = incidents["onset"].iloc[0]
    assert abs(onset - counts.index[12 * DAY + 9 * 12]) <= pd.Timedelta("15min")


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("days", [(8, 16, 24), (7, 14, 21)])
def test_outages_at_one_time_on_a_few_days_stay_outages(seed, days):
    # Alike (3x at 13:00 on three days of 35) but a minority of the pool: never the
    # usual level, however alike (unlike the live fit's, whose pool is the past). On
    # three Mondays of five, too: to each of them, two of the four other Mondays.
    counts = _series(seed, days=35, peak=1.0, outages=tuple((d, 13, 1, 3.0) for d in days))
    assert _days(counts) == list(days)


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_a_monday_rush_is_no_incident_with_hindsight(seed):
    # Before: an incident every Monday (days 0, 7, ..., 35).
    assert _days(_weekly_rush(seed, 0, (8, 11), 2.5)) == []


def test_a_saturday_evening_rush_is_no_incident_with_hindsight():
    # The weekend pool holds as many Sundays as Saturdays: split between two levels, it
    # has no usual one; the Saturdays among themselves have.
    assert _days(_weekly_rush(2, 5, (19, 23), 3.0, weeks=5)) == []


def test_an_outage_on_a_rush_product_is_raised():
    counts = _weekly_rush(0, 0, (8, 11), 2.5, outages=(("2026-01-26 14:00", 3.0),))
    assert _days(counts) == [21]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_sunday_before_a_lasting_step_keeps_its_own_level(seed):
    # Reports triple for good on day 14: the Sundays after it stand at three times the
    # one before and its Saturdays, but at their regime's level they agree with it, so
    # the outage of day 6 (a Sunday) is not hidden under the later Sundays' level.
    counts = _series(seed, days=35, level=20.0, peak=1.0, step=(14, 3.0),
                     outages=((6, 16, 2, 3.0), (20, 10, 2, 3.0)))
    assert _days(counts) == [6, 20]


def test_a_pool_split_between_two_levels_learns_nothing():
    # Ten days, a time of day masked on all of them: five at 30 reports, five at 90.
    level = np.full((10, 4, 1), 30.0)
    level[::2, 1] = 90.0
    masked = np.zeros(level.shape, dtype=bool)
    masked[:, 1] = True
    expected = np.full(level.shape, 30.0)
    out = with_recurring(level, masked, expected, [(np.arange(10), 7)], np.arange(10) % 7, 2)
    np.testing.assert_array_equal(out, expected)
    # Six at 90 of ten: most of each day's pool (of nine) on the odd days, and the
    # usual level at that time for every day.
    level[1, 1] = 90.0
    out = with_recurring(level, masked, expected, [(np.arange(10), 7)], np.arange(10) % 7, 2)
    assert np.all(out[:, 1] == 90.0)
    np.testing.assert_array_equal(out[:, [0, 2, 3]], expected[:, [0, 2, 3]])


def test_a_time_of_day_masked_no_more_often_than_chance_does_not_recur():
    # A bursty product: a tenth of its buckets masked, spread over the day. A time of
    # day at 90 on every day (far above the window's 30) but masked on two days of ten,
    # as often as any other, is not learned; masked on every day, it is.
    rng = np.random.default_rng(0)
    masked = rng.random((10, 96, 1)) < 0.1
    masked[:, 40] = False
    masked[[2, 7], 40] = True
    level = np.full(masked.shape, 30.0)
    level[:, 40] = 90.0
    expected = np.full(masked.shape, 30.0)
    calendar = ([(np.arange(10), 7)], np.arange(10) % 7, 2)
    np.testing.assert_array_equal(with_recurring(level, masked, expected, *calendar)[:, 40],
                                  expected[:, 40])
    masked[:, 40] = True
    assert np.all(with_recurring(level, masked, expected, *calendar)[:, 40] == 90.0)
