"""Tests of spikes.evaluation.simulate.audience: the time grid, the audience and the
expected rates (volumes, daily profile)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.evaluation.simulate import simulate
from spikes.evaluation.simulate.audience import (
    REGIONS,
    expected_rates,
    random_audience,
    random_levels,
    time_index,
)


def test_time_index_is_a_regular_utc_grid() -> None:
    index = time_index(start="2026-01-05 01:00+01:00", days=1, bucket="5min")
    assert len(index) == 288 and index.name == "timestamp"
    assert str(index.tz) == "UTC" and index[0] == pd.Timestamp("2026-01-05", tz="UTC")
    assert ((index[1:] - index[:-1]) == pd.Timedelta("5min")).all()
    with pytest.raises(SpikesInputError, match="fewer than two buckets"):
        time_index(start="2026-01-05", days=0.001, bucket="5min")
    with pytest.raises(SpikesInputError, match="bad start"):
        time_index(start="not a date", days=1, bucket="5min")


def test_audience_mixes_sum_to_one_and_keep_the_home_region() -> None:
    rng = np.random.default_rng(0)
    audience = random_audience(["a", "b", "c"], rng=rng, home={"a": "Asia"})
    assert list(audience.regions.columns) == list(REGIONS)
    assert np.allclose(audience.regions.sum(axis=1), 1.0)
    assert np.allclose(audience.categories.sum(axis=1), 1.0)
    assert audience.regions.loc["a"].idxmax() == "Asia"


def test_expected_rates_follow_the_levels() -> None:
    rng = np.random.default_rng(1)
    index = time_index(start="2026-01-05", days=28, bucket="1h")
    audience = random_audience(["small", "big"], rng=rng)
    rates = expected_rates(index, audience, [10.0, 100.0], rng=rng)
    assert rates.shape == (len(index), 2) and (rates.to_numpy() > 0).all()
    # Reports per hour: the daily profile has mean 1; weekends and the trend move the mean
    # a little.
    assert rates.mean().to_numpy() == pytest.approx([10.0, 100.0], rel=0.25)
    assert (rates.max() / rates.min() > 2).all()  # a night trough and a day peak
    levels = random_levels(1000, volume="low", rng=rng)
    assert 2.0 <= levels.min() and levels.max() <= 40.0


def test_low_volume_is_under_one_report_per_minute_at_night():
    s = simulate(products=10, days=7, bucket="1min", volume="low", seed=4, blips=False,
                 outage_rate_per_week=0.0)
    wide = s.reports.pivot(index="timestamp", columns="product", values="reports")
    night = s.expected.le(s.expected.quantile(0.25))
    assert (wide[night].mean() < 1).all()


def test_volumes_are_ordered_and_spread():
    peaks = {v: simulate(products=20, days=7, seed=0, volume=v).expected.max()
             for v in ("low", "mid", "high")}
    assert peaks["low"].median() < peaks["mid"].median() < peaks["high"].median()
    assert 10 <= peaks["mid"].median() <= 100  # tens per 5 minutes at the peak
    assert 100 <= peaks["high"].median() <= 1000  # hundreds
    assert peaks["mid"].max() / peaks["mid"].min() > 5
