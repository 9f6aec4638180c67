"""The ``min_duration`` setting ("page me only for outages that last an hour") and its place
in the tuning search: exact for the defaults, acting in the live and the retrospective
path, causal, and found by the search when the labels count only lasting outages."""

from __future__ import annotations

import pandas as pd
import pytest

from spikes.config import DetectionConfig, load_config
from spikes.detect.incidents import min_duration_buckets
from spikes.detect.pipeline import analyze, find_incidents, score_reports
from spikes.errors import SpikesInputError
from spikes.evaluation.simulate import simulate
from spikes.evaluation.tune.space import DURATION_GRID, SEARCH_SPACE, tuned_settings, typed
from tests.conftest import as_data, diurnal_counts, sim_data, with_outage

KEY = ["product", "onset", "alerted_at"]
DAY = 288  # 5-minute buckets per day
SHORT = (2 * DAY + 130, 6)  # 30 minutes at 8x
LONG = (3 * DAY + 140, 24)  # 2 hours at 8x


@pytest.fixture(scope="module")
def two_outages() -> pd.DataFrame:
    """Four days of one product with a 30-minute and a 2-hour outage (both 8x)."""
    counts = diurnal_counts(days=4, level=20.0, seed=11)
    counts = with_outage(counts, "p0", SHORT[0], SHORT[1], ratio=8.0, seed=2)
    return with_outage(counts, "p0", LONG[0], LONG[1], ratio=8.0, seed=3)


def _incidents(counts: pd.DataFrame, **settings: object) -> pd.DataFrame:
    config = DetectionConfig(**settings)
    return find_incidents(score_reports(as_data(counts), config), config)


# --- the setting ------------------------------------------------------------------------
@pytest.mark.parametrize("value, bucket, expected", [
    ("0min", "5min", 0), ("5min", "5min", 1), ("1h", "5min", 12), ("1h", "25min", 3),
    ("61min", "5min", 13), ("1h", "1h", 1),
])
def test_min_duration_in_buckets_rounds_up(value, bucket, expected) -> None:
    config = DetectionConfig(min_duration=value)
    assert min_duration_buckets(config, pd.Timedelta(bucket)) == expected


def test_the_default_is_no_minimum_and_bad_values_are_named() -> None:
    assert DetectionConfig().min_duration == "0min"
    with pytest.raises(SpikesInputError, match="min_duration = 'soon' is not a duration"):
        DetectionConfig(min_duration="soon")
    with pytest.raises(SpikesInputError, match="min_duration must not be negative"):
        DetectionConfig(min_duration="-5min")


def test_min_duration_round_trips_through_toml(tmp_path) -> None:
    config = DetectionConfig(min_duration="45min",
                             overrides={"Slow Service": {"min_duration": "2h"}})
    path = tmp_path / "tuned.toml"
    path.write_text(config.to_toml(), encoding="utf-8")
    again = load_config(path)
    assert again == config
    assert again.for_product("Slow Service").min_duration == "2h"
    path.write_text('[detection]\nmin_duration = 60\n', encoding="utf-8")
    with pytest.raises(SpikesInputError, match="min_duration = 60 has no unit"):
        load_config(path)


@pytest.mark.parametrize("retrospective", [False, True])
def test_a_minimum_of_one_bucket_changes_nothing(retrospective) -> None:
    # Every incident spans at least one bucket: the results are those of the defaults.
    sim = simulate(products=8, days=8, bucket="5min", seed=5, outage_rate_per_week=3.0)
    mode = {"mode": "retrospective"} if retrospective else {}
    base = analyze(sim_data(sim), DetectionConfig(**mode)).incidents
    assert len(base) > 5
    for value in ("0min", "5min"):
        same = analyze(sim_data(sim), DetectionConfig(min_duration=value, **mode)).incidents
        pd.testing.assert_frame_equal(same, base)


# --- live: raised once it has lasted, short ones dropped --------------------------------
def test_live_waits_for_the_minimum_and_drops_shorter_outages(two_outages) -> None:
    index = two_outages.index
    default = _incidents(two_outages)
    hour = _incidents(two_outages, min_duration="1h")
    assert len(default) == 2, default
    short_onset, long_onset = default["onset"].iloc[0], default["onset"].iloc[1]
    assert abs(short_onset - index[SHORT[0]]) <= pd.Timedelta("10min")
    assert abs(long_onset - index[LONG[0]]) <= pd.Timedelta("10min")
    # the short outage is dropped, the long one keeps its onset and is raised an hour in
    assert hour["onset"].tolist() == [long_onset]
    row = hour.iloc[0]
    assert row["alerted_at"] >= row["onset"] + pd.Timedelta("1h")
    assert row["alerted_at"] <= row["onset"] + pd.Timedelta("1h") + pd.Timedelta("15min")
    assert default["alerted_at"].iloc[1] < row["alerted_at"]
    assert row["end"] == default["end"].iloc[1]


def test_live_with_a_minimum_stays_causal(two_outages) -> None:
    # For every cut T, the incidents raised by T are the same whether the data stop at T.
    config = DetectionConfig(min_duration="45min")
    whole = find_incidents(score_reports(as_data(two_outages), config), config)
    bucket = pd.Timedelta("5min")
    for stop in range(LONG[0] + 4, LONG[0] + 30, 3):
        cut = two_outages.iloc[:stop]
        end = cut.index[-1] + bucket
        raised = find_incidents(score_reports(as_data(cut), config), config)
        expected = whole[whole["alerted_at"] <= end][KEY].reset_index(drop=True)
        got = raised[raised["alerted_at"] <= end][KEY].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, obj=f"cut {end}")


def test_retrospective_drops_incidents_shorter_than_the_minimum(two_outages) -> None:
    default = _incidents(two_outages, mode="retrospective")
    hour = _incidents(two_outages, mode="retrospective", min_duration="1h")
    assert len(default) == 2
    lasting = default[default["end"] - default["onset"] + pd.Timedelta("5min")
                      >= pd.Timedelta("1h")]
    assert len(lasting) == 1
    # the same incident (its event is numbered anew: the short one made an event too)
    pd.testing.assert_frame_equal(hour.drop(columns="event_id").reset_index(drop=True),
                                  lasting.drop(columns="event_id").reset_index(drop=True))


# --- the search -------------------------------------------------------------------------
def test_min_duration_is_searched_on_its_grid() -> None:
    names = [p.name for p in SEARCH_SPACE]
    assert "min_duration" in names
    assert names.index("min_duration") == names.index("min_buckets") + 1
    assert typed("min_duration", 60.0) == "60min" and typed("min_duration", "1h") == "1h"
    assert DURATION_GRID[0] == 0.0
    assert "min_duration" not in tuned_settings(49)
    assert "min_duration" in tuned_settings(50)


def test_the_search_finds_the_minimum_duration_of_the_labels() -> None:
    """Labels of another definition: only outages over an hour. The coordinate search over
    ``min_duration`` (alone, to keep the test fast) moves it up from 0 and the score rises."""
    from spikes.evaluation.evaluate import validate_labels
    from spikes.evaluation.tune.decision import Goal
    from spikes.evaluation.tune.search import _Search
    from spikes.evaluation.tune.split import forward_folds
    from spikes.evaluation.tune.tallies import TrialSet

    sim = simulate(products=6, days=10, seed=8, outage_rate_per_week=4.0)
    labels = sim.labels[sim.labels["end"] - sim.labels["onset"] >= pd.Timedelta("1h")]
    assert len(labels) >= 20
    data = sim_data(sim)
    base = DetectionConfig()
    ts = TrialSet(score_reports(data, base), validate_labels(labels.reset_index(drop=True)),
                  forward_folds(data.counts.index, data.bucket, 3))

    class _Bar:
        def update(self, _: int) -> None:
            pass

    search = _Search(ts, base, Goal("f1"), budget=100, bar=_Bar(), callback=None)
    search.run(search.base_params, "base")
    mask = ts.mask(range(4))
    best = search._coordinate(0, mask, search.base_params,
                              [p for p in SEARCH_SPACE if p.name == "min_duration"])
    chosen = search.params[best]["min_duration"]
    assert pd.Timedelta(chosen) >= pd.Timedelta("45min"), chosen
    assert search.value(best, mask) >= search.value(0, mask) + 0.1
    # the trial is the base with only min_duration moved
    assert {k: v for k, v in search.params[best].items() if k != "min_duration"} == {
        k: v for k, v in search.base_params.items() if k != "min_duration"}
