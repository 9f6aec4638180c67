"""After a lasting fall, the days before it are pooled at its level.

A fall to under half the usual reports is taken as the product's level once it has
lasted three days of its kind (:func:`spikes.detect.trailing_level.keep_low`); the days
before it are then pooled at its level (:func:`spikes.detect.trailing_adopted.rebase_fall`),
as they are after a lasting rise. Without it the pools of the next two weeks mixed both
levels and the level factor lagged: after a fall to a third, the next Sunday's baseline
stood at 1.6 times its reports and the two weekdays after it at 0.6, and outages at 2.2
times the new level went unseen for up to three weeks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.detect import trailing, trailing_watch
from spikes.detect.pipeline import analyze
from tests.conftest import as_data
from tests.test_level_rebase import DAY, _daily_ratio, _onset_days, _sinusoid, _stepped
from tests.test_stream import _check_stream


def _ratio_by_day(counts: pd.DataFrame) -> pd.Series:
    """Each day's reports over its baseline."""
    expected = analyze(as_data(counts)).baseline.expected["app"]
    day = np.arange(len(counts)) // DAY
    return counts["app"].groupby(day).sum() / expected.groupby(day).sum()


def test_the_baseline_follows_a_fall_from_the_day_after_it_is_confirmed():
    # A fall to a third on a Thursday (day 10) is confirmed on Monday (the third
    # weekday); from Tuesday on every day's baseline holds its reports within a tenth.
    # Before: the next Sunday at 0.6 of its baseline, Monday and Tuesday at 1.6.
    ratio = _ratio_by_day(_stepped(0, factor=1 / 3, step_day=10, days=42))
    assert ratio.loc[15:41].between(0.9, 1.1).all()


def test_without_the_rebase_the_baseline_lags_the_fall(monkeypatch):
    # The counterfactual: the level factor alone.
    monkeypatch.setattr(trailing, "fall_to_level",
                        lambda fit, state, *args: np.zeros(state.p, dtype=bool))
    ratio = _ratio_by_day(_stepped(0, factor=1 / 3, step_day=10, days=42))
    assert not ratio.loc[15:41].between(0.9, 1.1).all()


FALL_OUTAGES = ((16, 14), (18, 11), (22, 15), (24, 16))  # Wed, Fri, Tue, Thu


@pytest.mark.parametrize("seed", [1, 3, 6])
def test_outages_after_a_fall_are_found(seed):
    # Before: 3 of the four found on each (the baseline at up to 1.6 times the reports,
    # or 0.6); on seeds 0-7, 21 of 32 before, 29 after (seed 2: a chance run of two
    # zeros at night, a dead run against the baseline before the fall, kept the fall
    # from being taken until Thursday; see trailing_level.dead_runs).
    counts = _stepped(seed, factor=1 / 3, step_day=10, days=30, outages=FALL_OUTAGES)
    days = _onset_days(analyze(as_data(counts)).incidents, counts)
    assert set(days) >= {d for d, _ in FALL_OUTAGES}
    assert set(days) <= {d for d, _ in FALL_OUTAGES}


def _weekdays_fall(seed: int, days: int, first: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A sinusoidal day (no weekly rhythm) whose weekdays fall to a third from `first`:
    the counts and their true means."""
    counts, mean = _sinusoid(seed, days, 99, 1.0)
    weekday = (counts.index.day_of_week < 5) & (np.arange(len(counts)) >= first * DAY)
    mean = np.where(weekday, mean / 3, mean)
    return pd.DataFrame({"app": np.random.default_rng(seed).poisson(mean).astype(float)},
                        index=counts.index), mean


def test_a_fall_on_weekdays_alone_leaves_the_weekends_at_their_level():
    # Weekdays fall to a third from a Wednesday (day 23), weekends do not: the rebase
    # scales the days of both kinds (the fall stood on weekdays only), and the first
    # weekend day after it, at three times that baseline, puts the weekends back at
    # their own level.
    counts, mean = _weekdays_fall(5, 42, 23)
    assert _daily_ratio(counts, mean).loc[29:41].between(0.9, 1.1).all()


def _holiday_week(seed: int, first: int, last: int, days: int = 35
                  ) -> tuple[pd.DataFrame, np.ndarray]:
    """A sinusoidal day (no weekly rhythm) at a third from `first` to `last`: the counts
    and their true means."""
    counts, mean = _sinusoid(seed, days, 99, 1.0)
    day = np.arange(len(counts)) // DAY
    mean = np.where((day >= first) & (day <= last), mean / 3, mean)
    return pd.DataFrame({"app": np.random.default_rng(seed).poisson(mean).astype(float)},
                        index=counts.index), mean


@pytest.mark.parametrize("first, last", [(16, 18), (15, 18)])
def test_a_fall_that_ends_is_taken_back_on_the_day_back(first, last):
    # Wednesday (or Tuesday) to Friday at a third, taken as the level on its third day;
    # back on Monday. By noon the median of that day's buckets shows the return: the
    # fall is taken back and the rest of the day runs on the pools at the level before
    # it; the morning runs on the fall's level (two thirds of the truth over the day),
    # but its stretch, under twice the level before the fall, is held until noon and
    # dropped as the fall's end (tests/test_fall_return.py). The first weekend day,
    # whose days were scaled with the fall's until it judges them at its end, stands at
    # three times its baseline all day: held as the kind's own level, dropped when the
    # day puts the weekends back (raised all day before stop 53). From Tuesday on,
    # every day's baseline within a tenth of the truth.
    counts, mean = _holiday_week(6, first, last)
    assert _onset_days(analyze(as_data(counts)).incidents, counts) == []
    ratio = _daily_ratio(counts, mean)
    assert ratio.loc[21] > 0.6
    assert ratio.loc[22:34].between(0.9, 1.1).all()


def _judging_day_outage(seed: int, hour: int) -> pd.DataFrame:
    """Counts of :func:`_stepped`'s fall to a third on a Thursday (day 10), with an
    outage of 4 times for six hours from `hour` on the Wednesday after (day 16, a day
    that judges the fall) and one of 2.2 times for an hour at 15:00 that day and at
    14:00 the next."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=24 * DAY, freq="5min", tz="UTC")
    clock = (index.hour + index.minute / 60).to_numpy()
    time = np.arange(len(index)) / DAY
    rate = 40 * (0.3 + 0.7 * np.exp(-(((clock - 14) / 4) ** 2)))
    rate = rate * np.where(index.day_of_week >= 5, 0.6, 1.0)
    rate = rate * np.where(time >= 10.25, 1 / 3, 1.0)
    for start, hours, ratio in ((16 + hour / 24, 6, 4.0), (16 + 15 / 24, 1, 2.2),
                                (17 + 14 / 24, 1, 2.2)):
        rate = np.where((time >= start) & (time < start + hours / 24), ratio * rate, rate)
    return pd.DataFrame({"app": rng.poisson(rate).astype(float)}, index=index)


@pytest.mark.parametrize("seed, hour", [(0, 0), (3, 4)])
def test_a_morning_outage_on_a_judging_day_does_not_end_the_fall(seed, hour):
    # Found by a review: six hours of outage from midnight (or 04:00) hold the median
    # of the day's buckets over the midpoint at noon, and the fall was taken back (the
    # afternoon and the next day ran on pools at three times the level: their outages
    # missed). A return lasts up to the judgement: its last hour stands over the
    # midpoint too; this outage's is over. All three outages are found (before: the
    # first alone; on seeds 0-7, 9 of 24 at midnight and 11 of 24 at 04:00, after 20
    # and 20; seed 2's fall is never taken, a chance run of two zeros at night).
    counts = _judging_day_outage(seed, hour)
    assert _onset_days(analyze(as_data(counts)).incidents, counts) == [16, 16, 17]


def test_without_the_watch_the_fall_s_pools_stay(monkeypatch):
    # The counterfactual: the Monday back ran at a third of its reports all day, the
    # next days' baselines below them.
    monkeypatch.setattr(trailing_watch, "_judge_falls", lambda *args: None)
    counts, mean = _holiday_week(6, 15, 18)
    assert not _daily_ratio(counts, mean).loc[21:34].between(0.9, 1.1).all()


def test_a_product_s_fall_does_not_depend_on_the_others_in_the_frame():
    # Found by a review: the kinds put back after a fall were kept under one date for
    # every product, so another product's fall prolonged them (a Saturday at three
    # times its reports, a Monday at a third).
    a = _stepped(3, factor=1 / 3, step_day=10, days=40)
    b = _stepped(4, factor=1 / 3, step_day=24, days=40)
    alone = analyze(as_data(a)).baseline.expected["app"]
    both = pd.concat([a, b.rename(columns={"app": "other"})], axis=1)
    together = analyze(as_data(both)).baseline.expected["app"]
    pd.testing.assert_series_equal(alone, together)


def test_a_fall_on_weekdays_before_the_kinds_are_pooled_apart_is_not_rebased():
    # Found by a review: weekdays at a third from day 9, taken on day 11; the pools hold
    # both kinds and no day judges the weekends: rebased, Saturday ran at three times
    # its reports. Now only a fall both kinds showed is rebased there.
    counts, mean = _weekdays_fall(7, 21, 9)
    assert _daily_ratio(counts, mean).loc[12:13].min() > 0.6


def test_the_stream_rebases_a_fall_as_the_batch_does():
    counts = _stepped(1, factor=1 / 3, step_day=10, days=24, outages=((18, 14),))
    cuts = [14 * DAY + 7 * 12, 15 * DAY, 17 * DAY + 3, len(counts)]
    assert _check_stream(counts, cuts, [DAY // 2, 7]) >= 1


def test_the_stream_takes_a_fall_back_as_the_batch_does():
    # Cuts in the first hour of the day back and around its noon, where the fall is
    # taken back; an outage (three times the reports) at 14:00 that day.
    counts, _ = _holiday_week(6, 15, 18, days=24)
    counts.iloc[21 * DAY + 168 : 21 * DAY + 180] *= 3
    cuts = [21 * DAY + 13, 21 * DAY + 143, 21 * DAY + 145, 22 * DAY, len(counts)]
    assert _check_stream(counts, cuts, [DAY // 2, 7]) == 1
