"""The baseline's days: where they begin, and the week a product's data show."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.detect.days import CLEAR_WEEKEND, weekly_offsets
from tests.test_baseline import workday_product


@pytest.mark.parametrize(("hours", "seed"), [(-8, 0), (-5, 1), (0, 2), (1, 3), (9, 4)])
def test_the_week_of_a_workday_product_shows_its_time_zone(hours: int, seed: int) -> None:
    counts = workday_product(seed, hours, days=21)
    fit = weekly_offsets(counts, pd.Timedelta("5min")).iloc[0]
    assert abs(fit["utc_offset"] - hours) <= 1
    assert bool(fit["clear"]) and fit["weekend_level"] < CLEAR_WEEKEND[0]


def test_a_product_without_a_weekly_rhythm_has_no_clear_week() -> None:
    flat = workday_product(5, 9, days=21, weekend=1.0)
    assert not weekly_offsets(flat, pd.Timedelta("5min"))["clear"].any()


def test_too_little_data_or_long_buckets_tell_nothing() -> None:
    counts = workday_product(6, 9, days=13)
    assert weekly_offsets(counts, pd.Timedelta("5min")).empty
    daily = counts.resample("1D").sum()
    assert weekly_offsets(daily, pd.Timedelta("1D")).empty
    # A product with two weeks of data is read, one with less is left out.
    two = workday_product(7, 9, days=15)
    two["late"] = np.where(np.arange(len(two)) < 288 * 5, np.nan, two["app"])
    assert list(weekly_offsets(two, pd.Timedelta("5min"))["product"]) == ["app"]


def test_the_examples_of_the_days_hold() -> None:
    import doctest

    from spikes import config
    from spikes.detect import days

    for module in (days, config):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
