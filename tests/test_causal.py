"""Live (causal) detection: nothing decided at time t uses data after t.

The property of EVALUATION.md's live rules: for any cut time T, the incidents raised
before T (product, onset, alerted_at) are the same whether the data end at T or go on.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikes.config import DetectionConfig
from spikes.detect import trailing, trailing_level, trailing_recurring, trailing_windows
from spikes.detect.days import day_grid
from spikes.detect.pipeline import analyze, score_reports
from spikes.detect.trailing import fit_trailing_baseline
from spikes.evaluation.evaluate import evaluate
from spikes.evaluation.simulate import simulate
from tests.conftest import as_data, diurnal_counts, with_outage

FAST = settings(max_examples=25, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
KEY = ["product", "onset", "alerted_at"]


def _two_products(draw: st.DrawFn, index: pd.DatetimeIndex, levels: list[float],
                  outages: int, longest: int, largest: float) -> pd.DataFrame:
    """Counts of two products on `index`: a daily cycle at a drawn level of `levels`,
    overdispersed noise and up to `outages` outages of up to `longest` buckets and
    `largest` times the usual."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    hour = index.hour.to_numpy() + index.minute.to_numpy() / 60
    columns = {}
    for name in ("A", "B"):
        level = draw(st.sampled_from(levels))
        rate = level * (1.2 + np.sin((hour - 8) / 24 * 2 * np.pi))
        rate = rate * rng.gamma(20, 1 / 20, len(index))
        for _ in range(draw(st.integers(0, outages))):
            start = draw(st.integers(0, len(index) - 1))
            length = draw(st.integers(1, longest))
            rate[start : start + length] *= draw(st.floats(1.5, largest))
        columns[name] = rng.poisson(rate).astype(float)
    return pd.DataFrame(columns, index=index)


@st.composite
def series(draw: st.DrawFn) -> pd.DataFrame:
    """Two products, 2.5-4 days of 5-minute counts with a daily cycle, overdispersed
    noise and a few outages of random size, length and place."""
    days = draw(st.floats(2.5, 4.0))
    index = pd.date_range("2026-01-05", periods=int(days * 288), freq="5min", tz="UTC")
    return _two_products(draw, index, [0.5, 3.0, 20.0, 200.0], 3, 48, 30.0)


@st.composite
def hourly_series(draw: st.DrawFn) -> pd.DataFrame:
    """Two products, 5-9 days of hourly counts with a daily cycle, overdispersed noise,
    one-hour blips and outages of one to six hours (the hourly rules: no pause of an
    hour in a pending stretch, the onset at the first hour at min_ratio)."""
    days = draw(st.integers(5, 9))
    index = pd.date_range("2026-01-05", periods=days * 24, freq="1h", tz="UTC")
    return _two_products(draw, index, [0.3, 4.0, 60.0, 3000.0], 4, 6, 12.0)


def _raised(counts: pd.DataFrame, until: pd.Timestamp | None = None) -> pd.DataFrame:
    incidents = analyze(as_data(counts, counts.index[1] - counts.index[0])).incidents
    if until is not None:
        incidents = incidents[incidents["alerted_at"] <= until]
    return incidents[KEY].sort_values(KEY).reset_index(drop=True)


@FAST
@given(counts=series(), cut=st.floats(0.3, 1.0))
def test_incidents_raised_before_a_cut_do_not_depend_on_later_data(counts, cut):
    stop = max(2, int(len(counts) * cut))
    bucket = counts.index[1] - counts.index[0]
    end_of_cut = counts.index[stop - 1] + bucket
    whole = _raised(counts, until=end_of_cut)
    truncated = _raised(counts.iloc[:stop])
    pd.testing.assert_frame_equal(whole, truncated)


@FAST
@given(counts=hourly_series(), cut=st.floats(0.3, 1.0))
def test_at_hourly_buckets_incidents_raised_before_a_cut_do_not_depend_on_later_data(
        counts, cut):
    stop = max(2, int(len(counts) * cut))
    end_of_cut = counts.index[stop - 1] + pd.Timedelta("1h")
    whole = _raised(counts, until=end_of_cut)
    truncated = _raised(counts.iloc[:stop])
    pd.testing.assert_frame_equal(whole, truncated)


def test_every_live_incident_is_alerted_at_or_after_its_onset():
    sim = simulate(products=8, days=6, bucket="5min", seed=3)
    incidents = analyze(as_data(sim.counts())).incidents
    assert len(incidents) > 0
    bucket = pd.Timedelta("5min")
    assert (incidents["alerted_at"] >= incidents["onset"] + bucket).all()
    assert incidents["alerted_at"].notna().all()


@pytest.mark.parametrize("stop_days", [1.5, 3.2])
def test_the_trailing_baseline_of_a_prefix_is_the_prefix_of_the_baseline(stop_days):
    sim = simulate(products=4, days=5, bucket="5min", seed=5)
    counts = sim.counts()
    stop = int(stop_days * 288)
    full = fit_trailing_baseline(counts, pd.Timedelta("5min"))
    part = fit_trailing_baseline(counts.iloc[:stop], pd.Timedelta("5min"))
    for name in ("expected", "dispersion_path", "inflation_path"):
        pd.testing.assert_frame_equal(getattr(part, name), getattr(full, name).iloc[:stop])


@pytest.mark.parametrize("hours", [2.5, 11.0])
def test_an_outage_in_the_history_does_not_raise_the_baseline_after_it(hours):
    index = pd.date_range("2026-01-05", periods=288 * 5, freq="5min", tz="UTC")
    rng = np.random.default_rng(1)
    counts = pd.DataFrame({"A": rng.poisson(20, len(index)).astype(float)}, index=index)
    length = int(hours * 12)
    counts.iloc[2 * 288 + 50 : 2 * 288 + 50 + length, 0] = 400.0  # day 3, under half of it
    base = fit_trailing_baseline(counts, pd.Timedelta("5min")).expected["A"]
    # The same time of day on days 4 and 5: still about 20, not pulled up by the outage.
    later = base.iloc[3 * 288 + 50 : 3 * 288 + 50 + length]
    assert later.between(15, 25).all()


def test_a_few_high_buckets_between_feed_gaps_are_no_new_level():
    # Day 4 has data for two hours only, far above the usual: most of the day is not
    # high but missing, so it proves no new level and stays masked.
    index = pd.date_range("2026-01-05", periods=288 * 5, freq="5min", tz="UTC")
    rng = np.random.default_rng(2)
    counts = pd.DataFrame({"A": rng.poisson(20, len(index)).astype(float)}, index=index)
    counts.iloc[3 * 288 : 4 * 288, 0] = np.nan
    counts.iloc[3 * 288 + 100 : 3 * 288 + 124, 0] = 400.0
    base = fit_trailing_baseline(counts, pd.Timedelta("5min")).expected["A"]
    assert base.iloc[4 * 288 + 100 : 4 * 288 + 124].between(15, 25).all()


def _lasting_rise(seed: int) -> tuple[pd.DataFrame, int]:
    """12 days of counts whose level triples for good on day 9 (a Tuesday) at 08:20."""
    counts = diurnal_counts(days=12, level=20.0, seed=seed)
    shift = 8 * 288 + 100
    return with_outage(counts, "p0", shift, len(counts) - shift, 3.0, seed=seed), shift


@pytest.mark.parametrize("seed", range(4))
def test_a_day_high_for_most_of_its_buckets_is_a_new_level_and_the_incident_ends(seed):
    counts, shift = _lasting_rise(seed)
    incidents = analyze(as_data(counts)).incidents
    assert len(incidents) == 1
    onset, end = incidents.iloc[0][["onset", "end"]]
    assert abs(onset - counts.index[shift]) <= pd.Timedelta("15min")
    # Raised at once, over within two days: the baseline takes the day of the rise.
    assert end < counts.index[shift] + pd.Timedelta(days=2)
    # Two days later the baseline holds the new level (the level factor runs up to
    # about a fifth ahead while the pools catch up: it measures the recent days against the
    # pools they had).
    expected = fit_trailing_baseline(counts, pd.Timedelta("5min")).expected["p0"]
    before, after = expected.iloc[7 * 288 : 8 * 288].sum(), expected.iloc[11 * 288 :].sum()
    assert 2.7 < after / before < 3.8


def test_without_the_new_level_rule_a_lasting_rise_stays_an_outage_to_the_end(monkeypatch):
    # The counterfactual of the test above: the day of the rise masked like an outage
    # keeps every later baseline at the old level.
    monkeypatch.setattr(trailing, "_new_level",
                        lambda high: np.zeros(high.shape[1], dtype=bool))
    # (Nor learned as a time of day masked on each latest day: with_recurring.)
    monkeypatch.setattr(trailing._SeasonalFit, "_with_recurring",
                        lambda self, *args: args[-3:])
    counts, shift = _lasting_rise(0)
    incidents = analyze(as_data(counts)).incidents
    assert len(incidents) == 1
    # Still elevated in the data's last half hour: an outage of four days and more.
    assert incidents.iloc[0]["end"] >= counts.index[-1] - pd.Timedelta("30min")


def _weekday_step(seed: int) -> tuple[pd.DataFrame, int]:
    """22 days of Poisson counts from Monday 2026-01-05 (weekends at 0.6 of the weekdays;
    weekdays and weekends pooled apart from day 14 on) whose level doubles for good on
    day 16 (Wednesday 2026-01-21), with a 2-hour outage at 4x from 14:00 on day 19 (the
    Saturday after)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=22 * 288, freq="5min", tz="UTC")
    hours = (index.hour + index.minute / 60).to_numpy()
    day = np.arange(len(index)) // 288
    rate = 40.0 * (0.3 + 0.7 * np.exp(-(((hours - 14) / 4) ** 2)))
    rate *= np.where(index.day_of_week.to_numpy() >= 5, 0.6, 1.0) * np.where(day >= 16, 2, 1)
    outage = 19 * 288 + 14 * 12
    rate[outage : outage + 24] *= 4.0
    return pd.DataFrame({"p0": rng.poisson(rate).astype(float)}, index=index), outage


@pytest.mark.parametrize("seed", range(4))
def test_a_weekend_takes_the_level_the_weekdays_before_it_moved_to(seed):
    counts, outage = _weekday_step(seed)
    expected = fit_trailing_baseline(counts, pd.Timedelta("5min")).expected["p0"]
    # The Saturday after the rise expects about twice the Saturday before it, although
    # every weekend day in its pool ran at the old level.
    saturday = expected.iloc[19 * 288 : 20 * 288].sum() / expected.iloc[12 * 288 : 13 * 288].sum()
    assert 1.6 < saturday < 2.5
    incidents = analyze(as_data(counts)).incidents
    on_saturday = incidents[(incidents["end"] >= counts.index[19 * 288])
                            & (incidents["onset"] < counts.index[20 * 288])]
    # No incident of the whole day: the afternoon's outage alone, from its onset.
    assert len(on_saturday) == 1
    assert abs(on_saturday.iloc[0]["onset"] - counts.index[outage]) <= pd.Timedelta("15min")


def test_a_weekend_levelled_on_weekend_days_alone_meets_the_old_level(monkeypatch):
    # The counterfactual: the level factor of a day pooled apart from the last days of
    # its kind only. The Saturday's level is that of the weekend a week before: an
    # incident from its first hour that swallows the afternoon's outage. (Without the
    # rebase of the days before a level that held, stop 51, which pools that weekend at
    # the new level too: test_level_rebase.py.)
    monkeypatch.setattr(trailing._SeasonalFit, "rebase",
                        lambda self, state, *args: np.zeros(state.p, dtype=bool))
    level_factor = trailing.level_factor
    monkeypatch.setattr(trailing, "level_factor", lambda fit, state, history, day: level_factor(
        fit, state, [d for d in history if fit.weekend(d) == fit.weekend(day)], day))
    counts, outage = _weekday_step(0)
    incidents = analyze(as_data(counts)).incidents
    saturday = incidents[(incidents["onset"] >= counts.index[19 * 288])
                         & (incidents["onset"] < counts.index[20 * 288])]
    assert len(saturday) == 1
    assert saturday.iloc[0]["onset"] < counts.index[19 * 288 + 2 * 12]
    assert saturday.iloc[0]["end"] > counts.index[outage + 24]


def _day_long_outage(seed: int) -> pd.DataFrame:
    """14 days of counts with an outage at 4x from 04:00 to 21:00 on day 8 (a Tuesday:
    more than half of it, so it passes for a new level that day) and a 2-hour outage at
    3x from 10:00 on day 10 (the Thursday)."""
    counts = diurnal_counts(days=14, level=20.0, seed=seed)
    counts = with_outage(counts, "p0", 8 * 288 + 4 * 12, 17 * 12, 4.0, seed=seed)
    return with_outage(counts, "p0", 10 * 288 + 10 * 12, 24, 3.0, seed=seed + 10)


@pytest.mark.parametrize("seed", range(4))
def test_a_new_level_that_falls_back_the_next_day_was_an_outage_and_is_taken_back(seed):
    counts = _day_long_outage(seed)
    base = fit_trailing_baseline(counts, pd.Timedelta("5min"))
    expected, dispersion = base.expected["p0"], base.dispersion_path["p0"]
    # Day 9 falls back to the old level: from day 10 the baseline is the old one again,
    # and the dispersion is what it was before the outage.
    usual = expected.iloc[7 * 288 : 8 * 288].sum()
    assert 0.9 < expected.iloc[10 * 288 : 11 * 288].sum() / usual < 1.1
    assert dispersion.iloc[11 * 288] < 1.5 * dispersion.iloc[8 * 288]
    # Day 8 is masked as the outage it was (the buckets of its outage are not normal).
    assert not base.normal["p0"].iloc[8 * 288 + 5 * 12 : 8 * 288 + 20 * 12].any()
    incidents = analyze(as_data(counts)).incidents
    outage = counts.index[10 * 288 + 10 * 12]
    assert (abs(incidents["onset"] - outage) <= pd.Timedelta("15min")).any()


def test_without_taking_the_level_back_the_outage_two_days_later_is_missed(monkeypatch):
    # The counterfactual: the day-long outage stays the level, so the baseline of the
    # days after it runs at about 2.5 times the usual and the dispersion grows sixfold.
    # (The day that falls back is also a low day against the level taken, left out of
    # the later level factors: that rule is disabled too.)
    monkeypatch.setattr(trailing._SeasonalFit, "fall_back",
                        lambda self, state, *args, **kwargs: (np.zeros(state.p, dtype=bool),
                                                              np.zeros(state.p, dtype=bool)))
    monkeypatch.setattr(trailing, "level_watch", lambda *args: None)
    monkeypatch.setattr(trailing_level, "LOW_DAY_FACTOR", np.inf)
    counts = _day_long_outage(0)
    base = fit_trailing_baseline(counts, pd.Timedelta("5min"))
    expected, dispersion = base.expected["p0"], base.dispersion_path["p0"]
    assert expected.iloc[10 * 288 : 11 * 288].sum() > 2 * expected.iloc[7 * 288 : 8 * 288].sum()
    assert dispersion.iloc[11 * 288] > 3 * dispersion.iloc[8 * 288]
    incidents = analyze(as_data(counts)).incidents
    outage = counts.index[10 * 288 + 10 * 12]
    assert not (abs(incidents["onset"] - outage) <= pd.Timedelta("1h")).any()


def _dip_on_the_warm_up_day(seed: int) -> tuple[pd.DataFrame, float]:
    """Twelve days of hourly counts (about 300 an hour at 13:00) whose warm-up day runs
    at 30 % at 13:00, and a fivefold burst at 13:00 the day after (masked as an outage);
    and the usual rate at 13:00."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=24 * 12, freq="1h", tz="UTC")
    usual = 300 * (0.4 + 0.6 * np.sin(np.pi * index.hour.to_numpy() / 24) ** 2)
    rate = usual * rng.gamma(50, 1 / 50, len(index))
    rate[13] *= 0.3
    rate[24 + 13] *= 5.0
    return pd.DataFrame({"p0": rng.poisson(rate).astype(float)}, index=index), usual[13]


def _one_pm(seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Baseline and normal flags at 13:00 on days 2-11 of :func:`_dip_on_the_warm_up_day`."""
    counts, usual = _dip_on_the_warm_up_day(seed)
    base = fit_trailing_baseline(counts, pd.Timedelta("1h"))
    at = [day * 24 + 13 for day in range(2, 12)]
    return (base.expected["p0"].to_numpy()[at], base.normal["p0"].to_numpy()[at], usual)


@pytest.mark.parametrize("seed", range(5))
def test_a_slot_resting_on_the_warm_up_day_alone_masks_nothing_on_its_own(seed):
    # From day 2 the 13:00 pool holds the warm-up day's dip alone (day 1's burst is
    # masked), so every later 13:00 stood far above it. Such a bucket is masked only
    # where it also stands out from the hours before it; the ordinary 13:00s are pooled
    # and the baseline returns to the usual rate within days.
    expected, normal, usual = _one_pm(seed)
    assert expected[4:].mean() > 0.5 * usual
    assert normal.mean() >= 0.5


def test_when_the_warm_up_day_alone_can_mask_the_slot_stays_locked(monkeypatch):
    # The counterfactual: every later 13:00 is masked against the dip, never pooled, and
    # the baseline stays at the dip for as long as the warm-up day is pooled.
    original = trailing._SeasonalFit._pooled

    def without_the_rule(self, *args, **kwargs):
        mean, later = original(self, *args, **kwargs)
        return mean, np.full_like(later, len(args[3]))

    monkeypatch.setattr(trailing._SeasonalFit, "_pooled", without_the_rule)
    # (Nor learned as a time of day masked on each latest day: with_recurring.)
    monkeypatch.setattr(trailing._SeasonalFit, "_with_recurring",
                        lambda self, *args: args[-3:])
    for seed in range(5):
        expected, normal, usual = _one_pm(seed)
        assert expected.mean() < 0.45 * usual
        assert not normal.any()


def _quiet_warm_up_day(seed: int) -> tuple[pd.DataFrame, int]:
    """9 days of counts whose first day (the warm-up) runs at half the level of the
    others, and an outage at 2.6x for 90 minutes from 14:00 on day 7."""
    counts = diurnal_counts(days=9, level=30.0, seed=seed)
    counts.iloc[:288] = np.round(counts.iloc[:288] * 0.5)
    start = 7 * 288 + 14 * 12
    return with_outage(counts, "p0", start, 18, 2.6, seed=seed + 20), start


def _raised_in_time(counts: pd.DataFrame, start: int) -> bool:
    """Whether an incident matching the outage at `start` is raised before it ends."""
    incidents = analyze(as_data(counts)).incidents
    begin, stop = counts.index[start], counts.index[start + 18]
    match = incidents[(incidents["onset"] >= begin - pd.Timedelta("10min"))
                      & (incidents["onset"] < stop)]
    return bool((match["alerted_at"] <= stop).any())


@pytest.mark.parametrize("seed", range(6))
def test_the_day_after_the_warm_up_is_no_calibration_history(seed):
    # The baseline of the day after the warm-up rests on the warm-up day alone, here at
    # half the level: its many excursions measure that error, not the product's noise.
    # Left out of the calibration, they do not raise the thresholds of the days after,
    # and the outage of day 7 is raised while it lasts.
    counts, start = _quiet_warm_up_day(seed)
    assert _raised_in_time(counts, start)


def test_with_the_day_after_the_warm_up_as_calibration_history_outages_are_missed(
        monkeypatch):
    # The counterfactual: calibrated from the end of the warm-up, the thresholds rise
    # with that day's excursions, and the outage is not raised in time in half the seeds.
    from spikes.detect import causal, pipeline

    monkeypatch.setattr(pipeline, "calibration_start",
                        lambda first_seen, bucket: first_seen + causal.warmup_buckets(bucket))
    missed = sum(not _raised_in_time(*_quiet_warm_up_day(seed)) for seed in range(6))
    assert missed >= 3


def test_evaluate_reports_the_alert_delay():
    sim = simulate(products=10, days=8, bucket="5min", seed=11)
    analysis = analyze(as_data(sim.counts()))
    ev = evaluate(analysis.incidents, sim.labels[["product", "onset", "end"]])
    assert ev.tp > 0
    assert ev.alert_delay_median_min >= ev.delay_median_min
    assert ev.alert_delay_median_min >= 5.0  # raised at the end of a bucket at the soonest
    retro = analyze(as_data(sim.counts()), DetectionConfig(mode="retrospective"))
    assert np.isnan(evaluate(retro.incidents, sim.labels[["product", "onset", "end"]])
                    .alert_delay_median_min)


def test_evaluate_reads_incident_files_of_both_modes(tmp_path):
    from spikes.cli import main

    sim = simulate(products=4, days=6, bucket="5min", seed=2)
    counts = sim.counts()
    reports = tmp_path / "reports.csv"
    counts.rename_axis("timestamp").to_csv(reports)
    labels = tmp_path / "labels.csv"
    sim.labels[["product", "onset", "end"]].to_csv(labels, index=False)
    for extra, has_alerts in (([], True), (["--retrospective"], False)):
        out = tmp_path / f"incidents{len(extra)}.csv"
        assert main(["analyze", str(reports), "-o", str(out), *extra]) == 0
        written = pd.read_csv(out)
        assert written["alerted_at"].notna().all() == has_alerts
        assert main(["evaluate", "--incidents", str(out), "--labels", str(labels)]) == 0
        ev = evaluate(out, labels)
        assert np.isnan(ev.alert_delay_median_min) != has_alerts


def test_a_product_that_starts_later_learns_its_first_day_too():
    index = pd.date_range("2026-01-05", periods=288 * 5, freq="5min", tz="UTC")
    rng = np.random.default_rng(4)
    counts = pd.DataFrame({"early": rng.poisson(20, len(index)).astype(float),
                           "late": rng.poisson(20, len(index)).astype(float)}, index=index)
    counts.iloc[: 2 * 288 + 100, 1] = np.nan  # "late" starts on day 3 at 08:20
    scored = score_reports(as_data(counts))
    learning = scored.baseline.learning["late"]
    first = 2 * 288 + 100
    # No time-of-day history before one day of its own data has passed.
    assert learning.iloc[first : first + 188].all()
    assert not learning.iloc[first + 288 :].any()
    assert (scored.scores["cusum"]["late"].iloc[: first + 188] == 0).all()
    # Its first day has the cold start, as the data's first day has: the per-bucket tail
    # detector scores it once COLD_MIN_BUCKETS normal buckets of its own precede.
    from spikes.detect.trailing import COLD_MIN_BUCKETS

    cold = scored.baseline.cold["late"]
    # The first bucket has no baseline (nothing before it) and the mask takes a high
    # bucket with its neighbours: the normal buckets come a few at a time.
    on = int(np.flatnonzero(cold.to_numpy())[0])
    assert first + COLD_MIN_BUCKETS < on <= first + COLD_MIN_BUCKETS + 6
    assert cold.iloc[on : first + 188].all()
    assert not cold.iloc[first + 188 :].any()
    assert (scored.scores["tail"]["late"].iloc[: first + COLD_MIN_BUCKETS] == 0).all()


def test_an_incident_is_over_only_after_merge_gap_quiet_buckets_at_every_cut():
    # A long outage whose shoulder is not elevated against its own local level, then one
    # high bucket: at every cut inside the gap, no second incident is raised that the
    # whole run would merge into the first.
    bucket = pd.Timedelta("5min")
    rng = np.random.default_rng(2)
    n, day = 288 * 4, 288 * 3
    y = rng.poisson(2.0, n).astype(float)
    y[day + 108 : day + 144] = 4    # 09:00-12:00 at 2x raises the local level
    y[day + 144 : day + 192] = 16   # 12:00-16:00 the outage
    y[day + 192 : day + 202] = 6    # 16:00-16:50 a shoulder at 3x
    y[day + 202] = 16               # 16:50 one clearly high bucket
    counts = pd.DataFrame({"p": y}, index=pd.date_range("2026-01-05", periods=n,
                                                         freq=bucket, tz="UTC"))
    whole = _raised(counts)
    for stop in range(day + 192, day + 216):
        end_of_cut = counts.index[stop - 1] + bucket
        pd.testing.assert_frame_equal(_raised(counts, until=end_of_cut),
                                      _raised(counts.iloc[:stop]), obj=f"cut {end_of_cut}")
    assert len(whole) >= 1


def test_an_outage_on_a_late_products_first_day_is_masked_like_day_zeros():
    bucket = pd.Timedelta("5min")
    rng = np.random.default_rng(0)
    index = pd.date_range("2026-01-05", periods=288 * 5, freq=bucket, tz="UTC")
    counts = pd.DataFrame(rng.poisson(20, (len(index), 2)).astype(float), index=index,
                          columns=["from_day0", "from_day2"])
    counts.iloc[: 2 * 288, 1] = np.nan  # the second product starts on day 2
    for j, first_day in ((0, 0), (1, 2)):
        start = first_day * 288 + 120  # 10:00-12:00 of its first day: 10x
        counts.iloc[start : start + 24, j] = 200.0
        nxt = start + 288  # the same hours the next day: 4x (above cusum_ratio times the
        counts.iloc[nxt : nxt + 24, j] = rng.poisson(80, 24).astype(float)  # hours before)
    analysis = analyze(as_data(counts))
    for j, first_day in ((0, 0), (1, 2)):
        nxt = (first_day + 1) * 288 + 120
        assert analysis.baseline.expected.iloc[nxt : nxt + 24, j].mean() < 30
    # A product's first day has the cold start: the tenfold hours are raised there, for
    # the product that starts with the data and for the one that starts later. The
    # fourfold hours of the next day are raised for both.
    onsets = analysis.incidents.groupby("product")["onset"].apply(list).to_dict()
    assert onsets == {"from_day0": [index[120], index[288 + 120]],
                      "from_day2": [index[2 * 288 + 120], index[3 * 288 + 120]]}


def test_a_first_day_above_the_warm_up_day_is_no_outage_but_a_jump_is(monkeypatch):
    # The warm-up day's night runs at 40 % of the nights after it (the data start on a
    # quiet night): the next night, the baseline, resting on that one day, is far too
    # low, and a stretch is raised only where it also stands out from the hours before it.
    from spikes.detect import causal


    counts = diurnal_counts(days=4, level=40.0, seed=5)
    counts.iloc[:72] = np.round(counts.iloc[:72] * 0.4)  # 00:00-06:00 of the first day
    # back to its level by 09:00, gradually (a jump would be an outage to the cold start)
    counts.iloc[72:108] = np.round(counts.iloc[72:108].mul(np.linspace(0.4, 1.0, 36), axis=0))
    jump = counts.copy()
    night = 288 + 36  # 03:00 the next night: eight times the level for an hour
    jump.iloc[night : night + 12] *= 8
    # The nights after the warm-up (days 1 and 2). On day 3 the pools still hold the
    # warm-up day's quiet night at a third of their weight, and the calibration no longer
    # counts the day after the warm-up as history (calibration_start): a 2.3x stretch
    # there is raised (a cost of that rule, stated in the README).
    later = counts.index[3 * 288]
    quiet = analyze(as_data(counts)).incidents
    assert quiet[quiet["onset"] < later].empty
    raised = analyze(as_data(jump)).incidents
    raised = raised[raised["onset"] < later]
    assert len(raised) == 1
    # Raised within minutes of the jump (its onset is placed against the same too-low
    # baseline, so the change-point search may put it earlier in the night).
    alerted = raised["alerted_at"].iloc[0]
    assert counts.index[night] < alerted <= counts.index[night] + pd.Timedelta("15min")
    # Without the rule (a day after the warm-up like any other), the higher day is called
    # an outage.
    monkeypatch.setattr(causal, "UNPROVEN", pd.Timedelta(0))
    monkeypatch.setattr(causal, "first_days_of_kind", lambda *args: ())  # a weekday
    assert not analyze(as_data(counts)).incidents.empty



def test_the_day_after_the_warm_up_raises_only_a_jump_of_cusum_ratio_over_the_hours_before(
        monkeypatch):
    # The day after the warm-up judges a stretch against the raw mean count of the three
    # hours before it, which does not follow the daily cycle: the bar is the cold
    # start's, cusum_ratio (3), not min_ratio (2). An hour at 2.3 times the level that
    # day is not raised; judged as a later day is (UNPROVEN 0), it is.
    from spikes.detect import causal

    for seed in range(6):
        counts = diurnal_counts(days=4, level=40.0, seed=seed)
        mild = with_outage(counts, "p0", 288 + 144, 12, 2.3)  # 12:00-13:00 of day 1
        assert analyze(as_data(mild)).incidents.empty
        with monkeypatch.context() as patch:
            patch.setattr(causal, "UNPROVEN", pd.Timedelta(0))
            # (that Tuesday is also the first weekday after the warm-up)
            patch.setattr(causal, "first_days_of_kind", lambda *args: ())
            onsets = analyze(as_data(mild)).incidents["onset"]
        assert len(onsets) == 1
        assert counts.index[288 + 144] <= onsets.iloc[0] <= counts.index[288 + 146]

@pytest.mark.parametrize("seed", range(6))
def test_the_first_day_of_its_kind_raises_only_a_jump_of_cusum_ratio(monkeypatch, seed):
    # Data from a Monday: the first Saturday is the first weekend day after the warm-up,
    # whose level factor rests on no day of its kind, and is judged as the day after
    # the warm-up. An hour at 2.3 times the level there is not raised (it is with the
    # rule off); on the next Saturday the rule no longer applies.
    from spikes.detect import causal

    counts = diurnal_counts(days=13, level=40.0, seed=seed, dispersion=0.01)
    assert counts.index[5 * 288].day_name() == "Saturday"
    mild = with_outage(counts, "p0", 5 * 288 + 144, 12, 2.3)  # 12:00-13:00, 1st Saturday
    mild = with_outage(mild, "p0", 12 * 288 + 144, 12, 2.3, seed=2)  # the 2nd Saturday
    first, second = counts.index[5 * 288 : 6 * 288], counts.index[12 * 288 :]
    onsets = analyze(as_data(mild)).incidents["onset"]
    with monkeypatch.context() as patch:
        patch.setattr(causal, "first_days_of_kind", lambda *args: ())
        without = analyze(as_data(mild)).incidents["onset"]
    assert not onsets.isin(first).any()
    assert without.isin(first).sum() == 1
    assert list(onsets[onsets.isin(second)]) == list(without[without.isin(second)])


@pytest.mark.parametrize("seed", range(4))
def test_the_first_days_of_a_kind_pooled_apart_hold_the_weekly_rhythm_once(monkeypatch, seed):
    # Weekends at half the weekdays' reports, data from a Monday: from day 14 (the third
    # Monday) weekdays and weekends are pooled apart, and a day's level factor rests on
    # the last two days of either kind, each over the pool of its own kind. The first
    # weekdays so pooled (days 14 and 15) take it from the weekend before the split, so
    # those weekend days must keep their reports over pools of their kind too: against
    # the pools of both kinds they ran at about 0.58 of them, the factor took the weekly
    # rhythm a second time and the Monday's baseline ran at about 0.55 of its reports
    # (measured on the simulated suites, when the factor rested on days of the same
    # kind: 12-18 % under the true rate on the third Saturday).
    counts = diurnal_counts(days=21, level=40.0, seed=seed, dispersion=0.01)
    weekend = counts.index.day_of_week >= 5
    rng = np.random.default_rng(seed)
    counts.loc[weekend, "p0"] = rng.binomial(counts.loc[weekend, "p0"].astype(int), 0.5)
    assert counts.index[14 * 288].day_name() == "Monday"

    def over_baseline(base: pd.Series, first: int, last: int) -> float:
        days = counts.index[first * 288 : (last + 1) * 288]
        return float(counts["p0"].loc[days].sum() / base.loc[days].sum())

    bucket = pd.Timedelta("5min")
    base = fit_trailing_baseline(counts, bucket).expected["p0"]
    for day in range(14, 21):  # the weekdays and the first weekend pooled apart
        assert 0.93 <= over_baseline(base, day, day) <= 1.07
    with monkeypatch.context() as patch:
        patch.setattr(trailing._SeasonalFit, "before_kinds_apart", lambda self, day: False)
        twice = fit_trailing_baseline(counts, bucket).expected["p0"]
    assert over_baseline(twice, 14, 15) > 1.4
    # From day 16 on the last two days were pooled apart themselves: the same as before.
    assert over_baseline(twice, 16, 20) == pytest.approx(over_baseline(base, 16, 20),
                                                         rel=0.05)


def _surge_then_outage(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six days of 5-minute counts (and the same without changes): day 3 runs at 8 times
    the usual all day (a news day, or an outage of the whole day: taken as a new level at
    its end), the usual again on day 4, with an outage at 4x from 10:00 to 11:00."""
    counts = diurnal_counts(days=6, level=40.0, seed=seed, dispersion=0.01)
    surge = with_outage(counts, "p0", 3 * 288, 288, 8.0, seed=seed + 10)
    return counts, with_outage(surge, "p0", 4 * 288 + 120, 12, 4.0, seed=seed + 20)


@pytest.mark.parametrize("seed", range(4))
def test_a_new_level_that_falls_back_is_taken_back_during_the_next_day(monkeypatch, seed):
    # The day after the surge runs at the usual level: from its first hour its reports
    # stand far under the midpoint of the two levels, so the surge is taken back then and
    # the outage at 10:00 is raised. Judged only at the day's end (the watch off), the
    # day ran on a baseline about 12 times its rate and the outage was missed.
    counts, data = _surge_then_outage(seed)
    day4 = counts.index[4 * 288 : 5 * 288]
    afternoon = day4[144:]
    rate = counts["p0"].loc[afternoon].sum()

    def raised_on_day4(incidents: pd.DataFrame) -> pd.Series:
        return incidents["onset"][incidents["onset"].between(day4[0], day4[-1])]

    bucket = pd.Timedelta("5min")
    onsets = raised_on_day4(analyze(as_data(data)).incidents)
    assert list(onsets) == [day4[120]]
    base = fit_trailing_baseline(data, bucket).expected["p0"]
    assert 0.8 <= base.loc[afternoon].sum() / rate <= 1.25
    with monkeypatch.context() as patch:
        patch.setattr(trailing, "level_watch", lambda *args: None)
        assert raised_on_day4(analyze(as_data(data)).incidents).empty
        late = fit_trailing_baseline(data, bucket).expected["p0"]
    assert late.loc[afternoon].sum() / rate > 5.0


@pytest.mark.parametrize("seed", range(3))
def test_a_new_level_that_holds_is_not_taken_back_during_the_day(monkeypatch, seed):
    # A lasting rise: three times the reports from day 3 on. The next day runs at the
    # new level, so the watch never takes it back: baseline and incidents are those of
    # the judgement at the day's end alone, and the baseline follows the new level.
    risen = _held_rise(seed)
    day4 = risen.index[4 * 288 : 5 * 288]
    base = _as_without_the_watch(monkeypatch, risen)
    assert 0.8 <= risen["p0"].loc[day4].sum() / base.loc[day4].sum() <= 1.25


def _as_without_the_watch(monkeypatch: pytest.MonkeyPatch, counts: pd.DataFrame
                          ) -> pd.Series:
    """Assert that the baseline of `counts` and its incidents are those of the judgement
    of a new level at the day's end alone (the watch off); return the baseline."""
    bucket = pd.Timedelta("5min")
    base = fit_trailing_baseline(counts, bucket).expected["p0"]
    incidents = analyze(as_data(counts)).incidents
    with monkeypatch.context() as patch:
        patch.setattr(trailing, "level_watch", lambda *args: None)
        pd.testing.assert_series_equal(fit_trailing_baseline(counts, bucket).expected["p0"],
                                       base)
        pd.testing.assert_frame_equal(analyze(as_data(counts)).incidents, incidents)
    return base


def _held_rise(seed: int, daytime: bool = False, stall: bool = False) -> pd.DataFrame:
    """Six days of 5-minute counts that rise for good on day 3: three times the reports
    all day, or (`daytime`) four times from 07:00 to 21:00 only; with `stall`, day 4's
    first hour has no reports (a stalled feed)."""
    counts = diurnal_counts(days=6, level=40.0, seed=seed, dispersion=0.01)
    rng = np.random.default_rng(seed)
    hour = counts.index.hour
    rise = counts.index >= counts.index[3 * 288]
    if daytime:
        rise &= (hour >= 7) & (hour < 21)
    risen = counts.copy()
    risen.loc[rise, "p0"] = rng.poisson(counts.loc[rise, "p0"].to_numpy()
                                        * (4.0 if daytime else 3.0))
    if stall:
        risen.iloc[4 * 288 : 4 * 288 + 12, 0] = 0.0
    return risen


@pytest.mark.parametrize(("daytime", "stall"), [(True, False), (False, True)])
@pytest.mark.parametrize("seed", range(2))
def test_a_level_that_holds_in_part_of_the_day_or_behind_a_stall_is_kept(monkeypatch, seed,
                                                                         daytime, stall):
    # A rise of the daytime only lifts the whole next day's baseline through the level
    # factor, so its night runs under the midpoint: only the times of day at which the
    # new level stood high judge it. Reports far under even the old level (an hour of a
    # stalled feed) are no fall back either. Both are kept as at the day's end alone.
    risen = _held_rise(seed, daytime=daytime, stall=stall)
    base = _as_without_the_watch(monkeypatch, risen)
    day4 = risen.index[4 * 288 : 5 * 288]
    assert 0.8 <= risen["p0"].loc[day4].sum() / base.loc[day4].sum() <= 1.25


def test_the_day_a_level_falls_back_keeps_its_residuals_out_of_the_noise():
    # The day after the surge ran on the surge's baseline until the level was taken
    # back: its residuals are the error of that baseline, not noise, and the dispersion
    # after it stays near the one before the surge.
    counts, data = _surge_then_outage(0)
    dispersion = fit_trailing_baseline(data, pd.Timedelta("5min")).dispersion_path["p0"]
    assert dispersion.iloc[5 * 288] < 3 * dispersion.iloc[3 * 288]


def _walk_one(y: np.ndarray, inflation: float, bucket: str = "5min",
              level: float = 20.0, settings: DetectionConfig | None = None
              ) -> list[dict[str, object]]:
    """Incidents a live walk raises on counts `y` against a flat baseline of `level` a
    bucket, scored by the per-bucket tail detector at its default threshold (under
    `settings`, the defaults when None)."""
    from spikes.detect.causal import live_incident_rows
    from spikes.detect.detectors.tail import CountTailDetector
    from spikes.detect.noise import upper_tail_surprise
    from spikes.detect.pipeline import for_bucket

    index = pd.date_range("2026-01-05", periods=len(y), freq=bucket, tz="UTC")
    mu, alpha = np.full(len(y), level), np.full(len(y), 0.05)
    config = for_bucket(settings or DetectionConfig(), pd.Timedelta(bucket))
    detector = CountTailDetector()
    tail = upper_tail_surprise(y, mu, alpha)
    threshold = np.full(len(y), detector.default_threshold(config, pd.Timedelta(bucket)))
    return live_incident_rows("p", y, mu, index, {"tail": tail}, {"tail": threshold},
                              {"tail": detector}, tail, config, alpha,
                              np.full(len(y), inflation))


def _blip_then_outage() -> np.ndarray:
    """Four days of hourly counts at 50 an hour (the baseline); on the fourth, three
    hours at 58, a 2.2x blip at 20:00 (under min_ratio times those hours: not an
    incident on its own), an ordinary hour, and an outage at 4x from 22:00 to 00:59."""
    y = np.full(4 * 24, 50.0)
    y[3 * 24 + 17 : 3 * 24 + 20] = 58.0
    y[3 * 24 + 20] = 110.0
    y[3 * 24 + 22 : 3 * 24 + 25] = 200.0
    return y


def test_an_hour_without_evidence_ends_a_pending_stretch_at_hourly_buckets():
    # The blip alarms, and its stretch waits for more evidence. The ordinary hour after
    # it is a pause longer than PENDING_QUIET: the stretch ends there, and the outage
    # is raised with its own onset (an onset two hours early would miss its window).
    onsets = [r["onset"] for r in _walk_one(_blip_then_outage(), 1.0, "1h", 50.0)]
    assert onsets == [pd.Timestamp("2026-01-08 22:00", tz="UTC")]


def test_with_an_hour_of_patience_the_blip_becomes_the_outages_onset(monkeypatch):
    # The counterfactual: a quiet bucket allowed at hourly buckets too, the blip's
    # stretch goes on into the outage and keeps the blip's onset.
    from spikes.detect import causal

    monkeypatch.setattr(causal, "quiet_buckets", lambda bucket: 1)
    onsets = [r["onset"] for r in _walk_one(_blip_then_outage(), 1.0, "1h", 50.0)]
    assert onsets == [pd.Timestamp("2026-01-08 20:00", tz="UTC")]


#: Reports per 5 minutes of a quiet product's outage (about 0.07 usual): 21 reports over
#: 90 minutes, with a 4-report bucket at 13:25 that alarms alone.
QUIET_OUTAGE = [1, 0, 2, 0, 0, 4, 0, 0, 1, 1, 0, 0, 1, 2, 2, 1, 0, 1]


def _quiet_outage(seed: int) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Nine days of a quiet product (Poisson 0.06 a bucket) and :data:`QUIET_OUTAGE` from
    13:00 on day 8, after a quiet hour."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=288 * 9, freq="5min", tz="UTC")
    y = rng.poisson(0.06, len(index)).astype(float)
    start = 8 * 288 + 13 * 12
    y[start - 12 : start] = 0
    y[start : start + len(QUIET_OUTAGE)] = QUIET_OUTAGE
    return pd.DataFrame({"p0": y}, index=index), index[start]


def _quiet_outage_raised(seed: int) -> bool:
    counts, onset = _quiet_outage(seed)
    incidents = analyze(as_data(counts)).incidents
    return bool((incidents["onset"] == onset).any())


def test_a_dropped_stretch_keeps_the_evidence_a_cusum_gathered_below_its_threshold():
    # The 4-report bucket alarms the tail detector; its stretch is too small (under
    # min_excess_reports) and is dropped. The CUSUM, gathering the outage's evidence
    # from 13:00 without having reached its threshold, keeps its trough and raises the
    # outage with that onset once it does.
    assert sum(_quiet_outage_raised(seed) for seed in range(8)) >= 4


def test_when_a_dropped_stretch_restarts_every_cusum_the_quiet_outage_is_lost(monkeypatch):
    # The counterfactual: every cumulative score restarts from where the dropped stretch
    # ended, and the evidence of the outage's first 45 minutes is lost.
    from spikes.detect import causal

    monkeypatch.setattr(causal.LiveWalk, "alarming", lambda self, state, at: set(self.detectors))
    assert not any(_quiet_outage_raised(seed) for seed in range(8))


def _improbable_lead_hour() -> np.ndarray:
    """Four days of hourly counts at 4,000 an hour (the baseline); on the fourth, an hour
    at 1.95x from 04:00 (improbable at that volume: the tail detector alarms) and the
    outage's hour at 7x from 05:00."""
    y = np.full(4 * 24, 4000.0)
    y[3 * 24 + 4] = 1.95 * 4000
    y[3 * 24 + 5] = 7 * 4000
    return y


def test_an_alarm_under_min_ratio_is_not_the_onset_of_the_rise_after_it():
    # The lead hour alarms but is under min_ratio, so the change-point search up to the
    # alarm finds no segment of the rise; the onset is the first hour at min_ratio, the
    # outage's own (an onset an hour early would miss its window at hourly buckets).
    raised = _walk_one(_improbable_lead_hour(), 1.0, "1h", 4000.0)
    assert [(r["onset"], r["alerted_at"]) for r in raised] == [
        (pd.Timestamp("2026-01-08 05:00", tz="UTC"), pd.Timestamp("2026-01-08 06:00", tz="UTC"))]


def test_without_the_ratio_rule_the_alarm_hour_is_the_onset(monkeypatch):
    from spikes.detect import causal

    monkeypatch.setattr(causal, "_first_at_ratio", lambda *args: None)
    raised = _walk_one(_improbable_lead_hour(), 1.0, "1h", 4000.0)
    assert [r["onset"] for r in raised] == [pd.Timestamp("2026-01-08 04:00", tz="UTC")]


def test_a_rise_that_only_continues_the_level_of_the_hours_before_is_no_outage():
    # A bursty product (its hours wander: variance inflation 20) runs at 1.8 times its
    # baseline from 09:00 on the fourth day; at noon it rises to 3 times the baseline for
    # an hour, 1.67 times the level it already ran at. The level before the onset, as
    # the size tests take it (less two standard deviations of that noise), is only 1.33
    # times the baseline, and the stretch passes them; it must also run min_ratio times
    # what the hours before ran at, and does not. The same hour after ordinary hours is a
    # jump and is raised.
    day, hour = 288, 12
    busy = np.full(4 * day, 20.0)
    noon = 3 * day + 12 * hour
    busy[noon - 3 * hour : noon] = 36.0
    busy[noon : noon + hour] = 60.0
    jump = np.full(4 * day, 20.0)
    jump[noon : noon + hour] = 60.0
    assert _walk_one(busy, inflation=20.0) == []
    raised = _walk_one(jump, inflation=20.0)
    assert [r["onset"] for r in raised] == [pd.Timestamp("2026-01-08 12:00", tz="UTC")]
    # Where the noise is small (no inflation), the size tests' own level already says so.
    assert _walk_one(busy, inflation=1.0) == []


def test_the_cold_start_raises_a_jump_on_the_first_day_but_not_the_morning_rise(monkeypatch):
    # On the data's first day there is no time-of-day history: the per-bucket tail
    # detector scores each bucket against the trailing mean of the day so far, with the
    # dispersion of its earlier buckets. A sixfold hour at 10:00 is raised within minutes;
    # the daily cycle (a fourfold rise from the night to the afternoon) is not.
    from spikes.detect import causal


    for seed in range(10):
        counts = diurnal_counts(days=3, level=40.0, seed=seed)
        assert analyze(as_data(counts)).incidents.empty
        jump = counts.copy()
        jump.iloc[120:132] *= 6  # 10:00-11:00 of the first day
        raised = analyze(as_data(jump)).incidents
        assert len(raised) == 1
        onset, alerted = raised["onset"].iloc[0], raised["alerted_at"].iloc[0]
        assert counts.index[120] <= onset <= counts.index[121]
        assert alerted <= counts.index[120] + pd.Timedelta("15min")
        assert "in the hours before (its first day of data)" in raised["why"].iloc[0]
    # A daily step (office hours at 2.6 times the night, from 07:00) runs above the
    # trailing mean of the night: not raised on the first day; judged as a later day is
    # (min_ratio instead of cusum_ratio times the cold start's baseline and the mean of
    # the hours before), it is.
    index = counts.index
    office = np.where((index.hour >= 7) & (index.hour < 19), 26.0, 10.0)
    steps = [pd.DataFrame({"p0": np.random.default_rng(seed).poisson(office).astype(float)},
                          index=index) for seed in (3, 4)]
    for step in steps:
        assert analyze(as_data(step)).incidents.empty
    monkeypatch.setattr(causal, "cold_config",
                        lambda config: dataclasses.replace(config, cusum_ratio=config.min_ratio))
    for step in steps:
        onsets = analyze(as_data(step)).incidents["onset"]
        assert list(onsets) == [index[84]]  # 07:00 of the first day


def test_an_outage_in_the_first_hour_of_data_is_raised(monkeypatch):
    # Eightfold from 00:45, after 45 minutes of data: the cold start scores the buckets
    # once two normal ones precede them, against the upper bound of the dispersion they
    # show, and the outage is raised within 20 minutes. Waiting for 12 normal buckets
    # (the rule before), the outage's own buckets never count as normal and it is not.
    from spikes.detect import trailing

    outages = []
    for seed in (0, 1):
        counts = diurnal_counts(days=3, level=40.0, seed=seed)
        counts.iloc[9:33] *= 8
        outages.append(counts)
        raised = analyze(as_data(counts)).incidents
        assert list(raised["onset"]) == [counts.index[9]]
        assert raised["alerted_at"].iloc[0] <= counts.index[9] + pd.Timedelta("20min")
    monkeypatch.setattr(trailing, "COLD_MIN_BUCKETS", 12)
    for counts in outages:
        assert analyze(as_data(counts)).incidents.empty


def test_the_cold_start_rests_on_the_buckets_before_and_measures_their_dispersion():
    # The first day's baseline and dispersion at a bucket come from the buckets before
    # it: the values of a prefix of the day are those of the whole day. The dispersion
    # is the upper 95 % bound of what the buckets so far show: after a few buckets far
    # above the truth (alpha 0.05 at about 40 a bucket), by the end of the day within a
    # factor of 2.5 of it (the trailing mean's drift across the daily cycle and the
    # bound both make it err high). Buckets are scored once COLD_MIN_BUCKETS normal ones
    # precede them.
    from spikes.detect.trailing import COLD_MIN_BUCKETS

    counts = diurnal_counts(days=2, level=80.0, seed=2, dispersion=0.05)
    whole = fit_trailing_baseline(counts, pd.Timedelta("5min"))
    cold = whole.cold["p0"].to_numpy()
    assert not cold[:COLD_MIN_BUCKETS].any() and cold[COLD_MIN_BUCKETS + 2 : 288].all()
    assert not cold[288:].any()  # only the first day
    alpha = whole.dispersion_path["p0"].to_numpy()
    first = int(np.flatnonzero(cold)[0])
    assert 0.05 < alpha[287] < 0.125
    assert alpha[first] > 4 * alpha[287]
    part = fit_trailing_baseline(counts.iloc[:150], pd.Timedelta("5min"))
    for frame in ("expected", "dispersion_path", "cold"):
        np.testing.assert_array_equal(getattr(part, frame)["p0"].to_numpy(),
                                      getattr(whole, frame)["p0"].to_numpy()[:150])


def test_the_rest_of_the_warm_up_after_midnight_raises_nothing():
    # A product whose data start at 10:00: the cold start scores the rest of that day and
    # raises its jump at 15:00. From midnight until 24 hours of its data have passed, the
    # seasonal baseline has no earlier day at that time of day: a fivefold hour at 05:00
    # is not raised there; the same hour at 14:00, after the warm-up, is. Its days count
    # from its own first data: the same incidents as from its data alone, and beside a
    # product whose data start days earlier.
    counts = diurnal_counts(days=4, level=40.0, seed=1)
    counts.iloc[: 288 + 120] = np.nan
    for start in (288 + 180, 576 + 60, 576 + 168):
        counts.iloc[start : start + 12] *= 5
    incidents = analyze(as_data(counts)).incidents
    assert [counts.index.get_loc(t) for t in incidents["onset"]] == [288 + 180, 576 + 168]
    alone = analyze(as_data(counts.iloc[288 + 120 :])).incidents
    pd.testing.assert_frame_equal(alone, incidents)
    name = counts.columns[0]
    beside = counts.assign(early=diurnal_counts(days=4, level=40.0, seed=2).iloc[:, 0])
    together = analyze(as_data(beside)).incidents
    pd.testing.assert_frame_equal(
        together[together["product"] == name].drop(columns="event_id").reset_index(drop=True),
        incidents.drop(columns="event_id"), check_dtype=False)


def test_a_product_that_starts_later_keeps_its_first_weekend():
    # Days were counted from the first row of the frame: a product starting 9 days after
    # another pooled weekdays and weekends apart from its 5th day, before it had any
    # weekend, and its first Saturday had no baseline (an outage there was lost; found
    # when it was analysed alone).
    early = diurnal_counts(days=17, level=30.0, seed=9, start="2025-12-27").iloc[:, 0]
    late = diurnal_counts(days=17, level=30.0, seed=5, start="2025-12-27").iloc[:, 0].copy()
    late.iloc[: 9 * 288] = np.nan  # from Monday 2026-01-05: its 6th day is a Saturday,
    saturday = 14 * 288 + 12 * 12  # the frame's 15th: Saturday 2026-01-10, 12:00
    late.iloc[saturday : saturday + 24] *= 5
    frame = pd.DataFrame({"early": early, "late": late})
    together = analyze(as_data(frame))
    alone = analyze(as_data(frame[["late"]].iloc[9 * 288 :])).incidents
    assert frame.index[saturday] in set(alone["onset"])
    assert frame.index[saturday] in set(together.incidents.loc[
        together.incidents["product"] == "late", "onset"])
    assert not together.baseline.learning["late"].loc["2026-01-10"].any()


def _walk_with_late_cusum(cusum_threshold: float = 14.2) -> list[dict[str, object]]:
    """The live walk over a hand-made quiet minute series (0.1 reports a minute): a slow
    build-up from 12:01 (1, 1, 2, 2 reports), a 9-report minute at 12:14 and single
    reports after it. The tail detector (threshold 4) alarms on the 9 at 12:14; the
    CUSUM (threshold 14.2) crosses only at 12:22, while the tail's stretch is pending
    (at 12 it crosses on the 9 as well: a tie)."""
    from spikes.detect.causal import live_incident_rows
    from spikes.detect.detectors import CountTailDetector, CusumDetector
    from spikes.detect.noise import log_likelihood_ratio, upper_tail_surprise

    index = pd.date_range("2026-01-05", periods=3 * 1440, freq="1min", tz="UTC")
    n = len(index)
    y, mu, zero = np.zeros(n), np.full(n, 0.1), np.zeros(n)
    start = 2 * 1440 + 12 * 60
    for minute, reports in {1: 1, 2: 1, 6: 2, 10: 2, 14: 9, 20: 1, 22: 1, 24: 1}.items():
        y[start + minute] = reports
    tail = upper_tail_surprise(y, mu, zero)
    cusum = np.cumsum(log_likelihood_ratio(y, mu, zero, 3.0))
    cusum -= np.minimum(np.minimum.accumulate(cusum), 0.0)
    assert cusum[start + 13] < 12.0 <= cusum[start + 14] < 14.2 <= cusum[start + 22]
    assert tail[start + 14] >= 4.0
    scores = {"tail": tail, "cusum": cusum}
    thresholds = {"tail": np.full(n, 4.0), "cusum": np.full(n, cusum_threshold)}
    detectors = {"tail": CountTailDetector(), "cusum": CusumDetector(ratio=3.0)}
    return live_incident_rows("p0", y, mu, index, scores, thresholds, detectors, tail,
                              DetectionConfig(), zero, np.ones(n))


def test_a_cusum_alarm_inside_a_pending_stretch_is_judged_with_its_own_onset():
    # The tail's stretch from 12:14 is a blip and single reports: it never passes the
    # sustained-core test and is dropped. The CUSUM's alarm at 12:22 falls inside it;
    # its stretch, from the start of its rise at 12:01, carries the build-up as well and
    # is raised, judged beside the tail's (from data up to 12:22 only).
    rows = _walk_with_late_cusum()
    assert [(str(r["onset"]), str(r["alerted_at"])) for r in rows] == [
        ("2026-01-07 12:01:00+00:00", "2026-01-07 12:23:00+00:00")]


def test_without_rival_stretches_the_cusum_alarm_inside_a_dropped_stretch_is_lost(
        monkeypatch):
    # The counterfactual: only the first alarm's stretch is judged; the search resumes
    # after it was dropped, where the single reports no longer make a stretch.
    from spikes.detect import pending

    monkeypatch.setattr(pending.Rivals, "at", lambda self, u: [])
    assert _walk_with_late_cusum() == []


def test_a_cusum_alarming_on_the_same_bucket_from_an_earlier_rise_is_judged_too():
    # A tie: the CUSUM crosses on the 9 at 12:14 as the tail does. The first stretch
    # takes the tail's onset (12:14) and fails; the CUSUM's, from the start of its rise
    # at 12:01, is judged beside it and raised once its reports without the 5 minutes
    # with the most of them (12:10-12:14, the blip's worth at 1-minute buckets:
    # blip_grain) are improbably many, at 12:22 (before that rule: at once, 12:14).
    rows = _walk_with_late_cusum(cusum_threshold=12.0)
    assert [(str(r["onset"]), str(r["alerted_at"])) for r in rows] == [
        ("2026-01-07 12:01:00+00:00", "2026-01-07 12:23:00+00:00")]


def test_without_tie_stretches_the_cusum_build_up_under_a_blip_is_lost(monkeypatch):
    # The counterfactual: only the tail's stretch from 12:14 is judged; the CUSUM alarmed
    # on it, so its evidence is consumed when the stretch is dropped.
    from spikes.detect import causal

    monkeypatch.setattr(causal.LiveWalk, "_ties", lambda *args: [])
    assert _walk_with_late_cusum(cusum_threshold=12.0) == []


def _quiet_steep_outage(seed: int, steep_ratio: float) -> bool:
    """Whether a 15-fold outage of a quiet product (0.05 reports a bucket: about 6
    reports over 40 minutes) is raised within its span."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=288 * 9, freq="5min", tz="UTC")
    y = rng.poisson(0.05, len(index)).astype(float)
    start = 8 * 288 + 13 * 12
    y[start : start + 8] = rng.poisson(0.05 * 15, 8)
    config = DetectionConfig(steep_ratio=steep_ratio)
    incidents = analyze(as_data(pd.DataFrame({"p0": y}, index=index)), config).incidents
    onset = index[start]
    near = incidents["onset"].between(onset - pd.Timedelta("15min"), onset + pd.Timedelta("40min"))
    return bool(near.any())


def test_the_steep_chart_raises_quiet_outages_the_threefold_cusum_misses():
    # Measured: 6 of 12 seeds with the chart (steep_ratio = 10, the default), 1 without.
    assert sum(_quiet_steep_outage(seed, 10.0) for seed in range(12)) >= 5
    assert sum(_quiet_steep_outage(seed, 0.0) for seed in range(12)) <= 2


def _after_a_silent_first_day(reports: dict[int, float]) -> pd.DataFrame:
    """Incidents of a product whose first day (hourly) has no report, with `reports` at
    those hours of the second day."""
    index = pd.date_range("2024-04-01", periods=24 * 4, freq="1h", tz="UTC")
    y = np.zeros(len(index))
    for hour, count in reports.items():
        y[24 + hour] = count
    counts = pd.DataFrame({"p0": y}, index=index)
    return analyze(as_data(counts, pd.Timedelta("1h"))).incidents


def test_single_reports_after_a_silent_first_day_are_no_outage():
    # Five single reports over 17 hours of the second day: against a baseline of 0 the
    # steep chart crosses, but the three hours before each count as holding one report,
    # and the stretch is not three times that. A burst of 24 reports in three hours is.
    assert _after_a_silent_first_day({4: 1, 7: 1, 15: 1, 19: 1, 20: 1}).empty
    burst = _after_a_silent_first_day({10: 8, 11: 9, 12: 7})
    assert [str(t) for t in burst["onset"]] == ["2024-04-02 10:00:00+00:00"]


def test_without_the_floor_the_silent_first_day_makes_single_reports_an_outage(monkeypatch):
    # The counterfactual: hours without a report are a rate of 0.
    from spikes.detect import causal

    real = causal.LiveWalk.before

    def raw(self, onset, previous, reach, cold=False):
        got = real(self, onset, previous, reach, cold)
        if got.mean is None:
            return got
        lo = max(onset - reach, 0)
        window = self.y[lo:onset]
        return causal.Before(None, float(np.nanmean(window)) if len(window) else None)

    monkeypatch.setattr(causal.LiveWalk, "before", raw)
    incidents = _after_a_silent_first_day({4: 1, 7: 1, 15: 1, 19: 1, 20: 1})
    assert [str(t) for t in incidents["onset"]] == ["2024-04-02 03:00:00+00:00"]


def test_at_one_minute_buckets_a_burst_of_minutes_is_a_blip(monkeypatch):
    # A three-minute burst at 10x is what a one-bucket blip is at 5 minutes: at 1-minute
    # buckets the sustained test sets aside the 5 consecutive minutes with the most
    # reports (min_buckets counts 5-minute runs: blip_grain), and nothing is left of it:
    # it is not raised. A 30-minute outage at 4x on the same day is. With min_buckets
    # counted in 1-minute buckets (the rule before: only the largest minute set aside)
    # the burst is raised too.
    from spikes.detect import incidents

    bucket = pd.Timedelta("1min")
    burst, outage = 3 * 1440 + 10 * 60, 3 * 1440 + 16 * 60

    def near(onsets: pd.Series, at: int) -> int:
        """Incidents whose onset is within 2 minutes of position `at`."""
        return int((abs(onsets - counts.index[at]) <= 2 * bucket).sum())

    cases = []
    for seed in (0, 1, 2):
        counts = with_outage(diurnal_counts(days=4, level=3.0, seed=seed, bucket="1min"),
                             "p0", burst, 3, 10.0, seed=seed)
        counts = with_outage(counts, "p0", outage, 30, 4.0, seed=seed)
        cases.append(counts)
        onsets = analyze(as_data(counts, bucket)).incidents["onset"]
        assert near(onsets, burst) == 0 and near(onsets, outage) == 1
    monkeypatch.setattr(incidents, "BLIP_GRAIN", bucket)
    for counts in cases:
        onsets = analyze(as_data(counts, bucket)).incidents["onset"]
        assert near(onsets, burst) == 1 and near(onsets, outage) == 1


def _busy_evenings(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """12 days of hourly counts (about 1,000 an hour) whose evenings, 19:00-22:00, run
    four times busier every day, the warm-up day included; and the true rate."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=12 * 24, freq="1h", tz="UTC")
    hour = index.hour.to_numpy()
    rate = 1000.0 * (1 + 0.3 * np.sin((hour - 8) / 24 * 2 * np.pi))
    rate = np.where((hour >= 19) & (hour <= 22), 4.0 * rate, rate)
    counts = rng.poisson(rate * rng.gamma(50, 1 / 50, len(index))).astype(float)
    return pd.DataFrame({"p0": counts}, index=index), rate


def _evenings_from_day_3(counts: pd.DataFrame) -> np.ndarray:
    hour = counts.index.hour
    return (hour >= 19) & (hour <= 22) & (np.arange(len(counts)) >= 3 * 24)


@pytest.mark.parametrize("seed", range(1, 5))
def test_a_time_of_day_masked_on_every_pooled_day_is_its_usual_level(seed):
    # The warm-up day's fit masks the evening rise, and the next day's evening stood far
    # above a baseline taken from the afternoon. An evening masked on every pooled day
    # is pooled unmasked: from day 3 the baseline follows the busy evenings, and no
    # evening after day 1 is an outage.
    counts, rate = _busy_evenings(seed)
    evenings = _evenings_from_day_3(counts)
    base = fit_trailing_baseline(counts, pd.Timedelta("1h"))
    ratio = base.expected["p0"].to_numpy()[evenings] / rate[evenings]
    assert ratio.min() > 0.6 and ratio.max() < 1.4
    incidents = analyze(as_data(counts, pd.Timedelta("1h"))).incidents
    assert (incidents["onset"] < counts.index[2 * 24]).all()


def test_without_unmasking_the_evenings_stay_masked_and_alarm_every_day(monkeypatch):
    # The counterfactual: each evening's baseline comes from the hours around it, masks
    # the evening again, and the mask holds for good: an incident every evening.
    monkeypatch.setattr(trailing._SeasonalFit, "_unmask_stuck",
                        lambda self, *args: args[-3:])
    monkeypatch.setattr(trailing._SeasonalFit, "_with_recurring",
                        lambda self, *args: args[-3:])
    for seed in range(1, 5):
        counts, rate = _busy_evenings(seed)
        evenings = _evenings_from_day_3(counts)
        base = fit_trailing_baseline(counts, pd.Timedelta("1h"))
        assert (base.expected["p0"].to_numpy()[evenings] < 0.5 * rate[evenings]).all()
        incidents = analyze(as_data(counts, pd.Timedelta("1h"))).incidents
        # Every evening from day 2 on but the last (day 10), which the CUSUM's
        # calibration (each evening a rise of its own) may have raised the threshold
        # over after a week of them.
        alarmed = set(incidents["onset"].dt.normalize())
        evening_days = counts.index[2 * 24 : 10 * 24 : 24]
        assert set(evening_days) <= alarmed, sorted(set(evening_days) - alarmed)


#: Hourly reports of a product with a tenfold daily cycle (a steep evening rise).
STEEP_DAY = np.array([25176, 21915, 19002, 16605, 14847, 13247, 11409, 9447, 8104, 7130,
                      6530, 6582, 6283, 5338, 4174, 3178, 2563, 2466, 2995, 4318, 7271,
                      12718, 19163, 22680]) / 2


def _steep_cycle(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Four days of hourly counts on :data:`STEEP_DAY`, and the true rate."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=4 * 24, freq="1h", tz="UTC")
    rate = STEEP_DAY[index.hour.to_numpy()]
    counts = rng.poisson(rate * rng.gamma(50, 1 / 50, len(index))).astype(float)
    return pd.DataFrame({"p0": counts}, index=index), rate


STEEP_SEEDS = [3, 5, 9, 10, 11]


@pytest.mark.parametrize("seed", STEEP_SEEDS)
def test_a_warm_up_day_its_fit_mostly_masks_is_pooled_whole(seed):
    # The centred fit of the warm-up day cannot follow a tenfold cycle at hourly buckets
    # and masks most of the day. Pooled whole, the day gives the next day a baseline
    # near the true rate at every hour.
    counts, rate = _steep_cycle(seed)
    base = fit_trailing_baseline(counts, pd.Timedelta("1h"))
    assert base.normal["p0"].iloc[:24].all()
    ratio = base.expected["p0"].to_numpy()[24:48] / rate[24:48]
    assert ratio.min() > 0.6 and ratio.max() < 1.4


def test_with_its_masks_the_warm_up_day_leaves_the_next_day_at_its_trough(monkeypatch):
    # The counterfactual: the few buckets the fit kept are the trough of the day, and the
    # next day's baseline at some hours is a ninth of the rate.
    monkeypatch.setattr(trailing, "_unless_mostly_masked", lambda keep, observed: keep)
    for seed in STEEP_SEEDS:
        counts, rate = _steep_cycle(seed)
        base = fit_trailing_baseline(counts, pd.Timedelta("1h"))
        assert base.normal["p0"].iloc[:24].mean() < 0.5
        assert (base.expected["p0"].to_numpy()[24:48] / rate[24:48]).min() < 0.5


def _recurring_spikes(seed: int) -> pd.DataFrame:
    """10 days of hourly counts (about 200 an hour) with crash spikes at 11:00 on days
    0-3 of 5x, 20x, 60x and 5x: outages that recur at one hour but vary in size."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=10 * 24, freq="1h", tz="UTC")
    hour = index.hour.to_numpy()
    rate = 200.0 * (1 + 0.3 * np.sin((hour - 8) / 24 * 2 * np.pi))
    for day, factor in ((0, 5.0), (1, 20.0), (2, 60.0), (3, 5.0)):
        rate[day * 24 + 11] *= factor
    counts = rng.poisson(rate * rng.gamma(50, 1 / 50, len(index))).astype(float)
    return pd.DataFrame({"p0": counts}, index=index)


def _spike_hours(counts: pd.DataFrame) -> list[str]:
    incidents = analyze(as_data(counts, pd.Timedelta("1h"))).incidents
    return sorted(incidents["onset"].dt.strftime("%d %H"))


@pytest.mark.parametrize("seed", range(3))
def test_spikes_that_recur_at_one_hour_but_disagree_in_size_stay_masked(seed):
    # 11:00 is masked on each of the first three days, but at 5x, 20x and 60x: no usual
    # level. It stays masked, and the fourth day's 5x spike is raised too.
    assert _spike_hours(_recurring_spikes(seed)) == ["05 11", "06 11", "07 11", "08 11"]


def test_without_the_agreement_the_recurring_spikes_become_the_usual_level(monkeypatch):
    # The counterfactual: pooled unmasked, the three spikes put the baseline of the fourth
    # day's 11:00 at about 28 times the usual, and its spike is missed.
    monkeypatch.setattr(trailing_recurring, "STUCK_AGREEMENT", np.inf)
    for seed in range(3):
        assert _spike_hours(_recurring_spikes(seed)) == ["05 11", "06 11", "07 11"]


def _outage_the_day_after_the_warm_up(seed: int) -> tuple[pd.DataFrame, np.ndarray, slice]:
    """Five days of 5-minute counts (about 30 a bucket): on the day after the warm-up, a
    six-hour outage from 09:30 that falls from 20x to 2x; on day 3, an hour at 3x from
    11:00. Returns the counts, the true rate and the outage's time of day on day 2."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=5 * 288, freq="5min", tz="UTC")
    hour = index.hour.to_numpy() + index.minute.to_numpy() / 60
    rate = 30.0 * (1 + 0.5 * np.sin((hour - 8) / 24 * 2 * np.pi))
    start, length = 288 + 114, 72
    factor = np.ones(len(index))
    factor[start : start + length] = 20.0 ** np.linspace(1, 0.25, length)
    factor[3 * 288 + 132 : 3 * 288 + 144] = 3.0
    counts = rng.poisson(rate * factor).astype(float)
    return (pd.DataFrame({"p0": counts}, index=index), rate,
            slice(start + 288, start + 288 + length))


def _baseline_ratio_dispersion_onsets(seed: int) -> tuple[np.ndarray, float, list[str]]:
    counts, rate, later = _outage_the_day_after_the_warm_up(seed)
    base = fit_trailing_baseline(counts, pd.Timedelta("5min"))
    ratio = base.expected["p0"].to_numpy()[later] / rate[later]
    dispersion = float(base.dispersion_path["p0"].to_numpy()[2 * 288 :].max())
    incidents = analyze(as_data(counts, pd.Timedelta("5min"))).incidents
    return ratio, dispersion, sorted(incidents["onset"].dt.strftime("%d %H:%M"))


@pytest.mark.parametrize("seed", range(4))
def test_an_outage_the_day_after_the_warm_up_is_masked_to_its_end(seed):
    # With one earlier day, a bucket is masked only where it also stands out from the
    # normal hours before it: the outage's own first hours are no reference for its
    # later ones. The next day's baseline at those hours stays near the rate, the
    # dispersion near the noise's (Poisson), and the 3x hour of day 3 is raised.
    ratio, dispersion, onsets = _baseline_ratio_dispersion_onsets(seed)
    assert ratio.min() > 0.7 and ratio.max() < 1.4
    assert dispersion < 0.05
    assert onsets == ["06 09:30", "08 11:00"]


def _high_over_every_bucket_before(seg, prior_normal, candidate, alpha, window,
                                   day_normal=None):
    """The reference of the counterfactual: every observed bucket before, flagged or not
    (of the day's, those in `day_normal` where given)."""
    seen = ~np.isnan(seg)
    if day_normal is not None:
        seen[len(prior_normal) :] &= day_normal
    recent = trailing_windows._trailing_mean(np.where(seen, seg, 0.0), seen.astype(float),
                                             window)
    start = len(prior_normal)
    return trailing_windows._high(seg[start:], recent[start:], alpha)


def test_against_all_the_hours_before_the_outages_later_hours_are_pooled(monkeypatch):
    # The counterfactual (the reference is every bucket before, the outage's included):
    # its later hours stand out from nothing and are pooled. The next day's baseline
    # there runs at several times the rate (measured 5-6x), the dispersion at over 1 for
    # days (measured 1.1-1.6), and the 3x hour of day 3 is missed.
    monkeypatch.setattr(trailing, "_high_over_normal_before", _high_over_every_bucket_before)
    for seed in range(4):
        ratio, dispersion, onsets = _baseline_ratio_dispersion_onsets(seed)
        assert ratio.max() > 3.0
        assert dispersion > 0.5
        assert onsets == ["06 09:30"]


def _outage_on_the_warm_up_day(seed: int, start: int = 12, stop: int = 84
                               ) -> tuple[pd.DataFrame, np.ndarray]:
    """Six days of 5-minute counts (about 15 a bucket) whose first day has an outage at
    15x over its buckets `start` to `stop` (by default 01:00 to 07:00, longer than the
    warm-up day's centred fit masks); and the true rate."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=6 * 288, freq="5min", tz="UTC")
    hour = index.hour.to_numpy() + index.minute.to_numpy() / 60
    rate = 15.0 * (1 + 0.3 * np.sin((hour - 8) / 24 * 2 * np.pi))
    factor = np.ones(len(index))
    factor[start:stop] = 15.0
    counts = rng.poisson(rate * factor).astype(float)
    return pd.DataFrame({"p0": counts}, index=index), rate


def _outage_from_the_first_bucket(seed: int) -> tuple[np.ndarray, float, list[str]]:
    """Day 3's baseline over the rate after the outage's hours, the share of the
    outage's buckets left normal, and the onsets, when the warm-up's outage runs from
    the data's first bucket to 06:00: no normal hour precedes it, so the warm-up cannot
    be judged, and only the level sums keep its error out."""
    counts, rate = _outage_on_the_warm_up_day(seed, 0, 72)
    base = fit_trailing_baseline(counts, pd.Timedelta("5min"))
    after = slice(2 * 288 + 72, 3 * 288)
    ratio = base.expected["p0"].to_numpy()[after] / rate[after]
    left = float(base.normal["p0"].iloc[:72].mean())
    incidents = analyze(as_data(counts, pd.Timedelta("5min"))).incidents
    return ratio, left, sorted(incidents["onset"].dt.strftime("%d %H:%M"))


@pytest.mark.parametrize("seed", range(4))
def test_an_unmasked_warm_up_outage_does_not_set_the_level_of_the_days_after(seed):
    # The next day stands far under the warm-up's outage hours, which its centred fit
    # partly kept (and which nothing can judge: they start with the data): those
    # buckets are the baseline's error, not the day's level. Day 3's baseline after
    # those hours stays near the rate, and nothing is raised.
    ratio, left, onsets = _outage_from_the_first_bucket(seed)
    assert left > 0.3  # the outage's buckets the fit kept stay pooled
    assert ratio.min() > 0.7 and ratio.max() < 1.4
    assert onsets == []


def test_with_the_warm_up_outage_in_the_level_the_days_after_run_low(monkeypatch):
    # The counterfactual: the day's reports over a baseline that holds the outage's
    # hours set its level factor at about a third, day 3's baseline runs at a quarter to
    # under a half of the rate (measured 0.26-0.41), and false alarms follow.
    monkeypatch.setattr(trailing, "WARM_UP_ERROR_FACTOR", np.inf)
    alarms = 0
    for seed in range(4):
        ratio, _, onsets = _outage_from_the_first_bucket(seed)
        assert ratio.max() < 0.5
        alarms += len(onsets)
    assert alarms >= 3


def _outage_hours_on_day_3(seed: int) -> tuple[float, np.ndarray, float]:
    """Share of the warm-up outage's buckets left normal, day 3's baseline over the rate
    at the outage's hours, and the largest dispersion from day 3 on."""
    counts, rate = _outage_on_the_warm_up_day(seed)
    base = fit_trailing_baseline(counts, pd.Timedelta("5min"))
    hours = slice(2 * 288 + 12, 2 * 288 + 84)
    ratio = base.expected["p0"].to_numpy()[hours] / rate[hours]
    dispersion = float(base.dispersion_path["p0"].to_numpy()[2 * 288 :].max())
    return float(base.normal["p0"].iloc[12:84].mean()), ratio, dispersion


@pytest.mark.parametrize("seed", range(4))
def test_the_day_after_the_warm_up_judges_its_unmasked_outage(seed):
    # The next day stands far under the warm-up's outage hours, and those stood out from
    # the warm-up's normal hours before them: they are masked from then on, day 3's
    # baseline at those hours is near the rate, and the dispersion near the Poisson's.
    left, ratio, dispersion = _outage_hours_on_day_3(seed)
    assert left == 0.0
    assert ratio.min() > 0.7 and ratio.max() < 1.4
    assert dispersion < 0.05


def test_without_the_judgement_the_warm_up_outage_stays_in_the_pools(monkeypatch):
    # The counterfactual: most of the outage's buckets stay pooled (measured 0.2-0.7 of
    # them), day 3's baseline at those hours runs at about 8x the rate, and the
    # dispersion at about 0.65 (the pools' error taken for noise).
    monkeypatch.setattr(trailing._SeasonalFit, "_judge_warm_up",
                        lambda self, state, *args: np.zeros(state.p, dtype=bool))
    for seed in range(4):
        left, ratio, dispersion = _outage_hours_on_day_3(seed)
        assert left > 0.1
        assert ratio.max() > 4.0
        assert dispersion > 0.3


def _lead_then_outage() -> np.ndarray:
    """Four days of 5-minute counts at 20 a bucket (the baseline); from noon on the
    fourth, 20 minutes at 2.1x (under the tail detector's threshold: its alarm comes at
    12:20), then 3x until 14:00."""
    y = np.full(4 * 288, 20.0)
    noon = 3 * 288 + 144
    y[noon : noon + 4] = [41.0, 42.0, 43.0, 44.0]
    y[noon + 4 : noon + 24] = 80.0
    return y


def _reported_later(causal, by: int):
    """onset_bounds made to report a start `by` buckets after the earliest (never after
    the alarm, as the search's own latest start)."""
    found = causal.onset_bounds

    def later(y, mu, lo, peak, **kwargs):
        bounds = found(y, mu, lo, peak, **kwargs)
        return None if bounds is None else (bounds[0], min(bounds[0] + by, peak))

    return later


def test_a_stretch_is_judged_from_its_earliest_start_and_reports_its_latest(monkeypatch):
    # The incident takes the latest start as its onset, and is raised when it was (its
    # tests ran from the earliest).
    from spikes.detect import causal

    as_found = _walk_one(_lead_then_outage(), 1.0)
    assert [(r["onset"], r["alerted_at"]) for r in as_found] == [
        (pd.Timestamp("2026-01-08 12:00", tz="UTC"), pd.Timestamp("2026-01-08 12:30", tz="UTC"))]
    monkeypatch.setattr(causal, "onset_bounds", _reported_later(causal, 3))
    reported = _walk_one(_lead_then_outage(), 1.0)
    assert [(r["onset"], r["alerted_at"]) for r in reported] == [
        (pd.Timestamp("2026-01-08 12:15", tz="UTC"), pd.Timestamp("2026-01-08 12:30", tz="UTC"))]


def test_min_duration_counts_from_the_onset_an_incident_reports(monkeypatch):
    # "Page me only for outages of 30 minutes": with the onset reported 15 minutes after
    # the earliest start, the alert comes 30 minutes after that onset, not after the
    # earliest start (which would page for an outage of 15 minutes as reported).
    from spikes.detect import causal

    settings = DetectionConfig(min_duration="30min")
    as_found = _walk_one(_lead_then_outage(), 1.0, settings=settings)
    assert [(r["onset"], r["alerted_at"]) for r in as_found] == [
        (pd.Timestamp("2026-01-08 12:00", tz="UTC"), pd.Timestamp("2026-01-08 12:30", tz="UTC"))]
    monkeypatch.setattr(causal, "onset_bounds", _reported_later(causal, 3))
    reported = _walk_one(_lead_then_outage(), 1.0, settings=settings)
    assert [(r["onset"], r["alerted_at"]) for r in reported] == [
        (pd.Timestamp("2026-01-08 12:15", tz="UTC"), pd.Timestamp("2026-01-08 12:45", tz="UTC"))]


def _daily_failures(seed: int = 0) -> tuple[pd.DataFrame, int]:
    """Three weeks of a product (about 2 reports per 5 minutes at its daily peak) with a
    1-hour outage at 30x about every 20 hours from its third day, then a 2-hour outage at
    20x on day 22 at 14:00 (its start row returned)."""
    day = 288
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=22 * day, freq="5min", tz="UTC")
    hours = (index.hour + index.minute / 60).to_numpy()
    rate = 2.0 * (0.25 + 0.75 * np.sin(np.pi * hours / 24) ** 2)
    rate = rate * rng.gamma(20, 1 / 20, len(index))
    at = 2 * day
    while at < 20 * day:
        start = at + int(rng.integers(-4, 5)) * 12
        rate[start : start + 12] *= 30
        at += 20 * 12
    last = 21 * day + 14 * 12
    rate[last : last + 24] *= 20
    return pd.DataFrame({"app": rng.poisson(rate).astype(float)}, index=index), last


def test_a_product_that_fails_daily_keeps_its_thresholds_and_its_alerts():
    # Past outages beyond those the heavy-tail fit censors by count (3 a week) passed for
    # a heavy tail of the noise: the tail threshold rose overnight from about 5 to 230
    # (-log10 p), the CUSUM's to 640 nats, and the 20x outage was raised after 85 min
    # (clear 40x outages of the simulator were never raised). Outages set apart from the
    # noise by a gap are censored however many they are.
    from spikes.detect.explain import replay

    counts, last = _daily_failures()
    analysis = analyze(as_data(counts))
    incidents = analysis.incidents
    assert len(incidents) >= 20  # the daily outages are raised too
    final = incidents[incidents["onset"] >= counts.index[last] - pd.Timedelta("1h")]
    assert len(final) == 1
    assert final["alerted_at"].iloc[0] - counts.index[last] <= pd.Timedelta("15min")
    thresholds = replay(analysis, "app").arguments["thresholds"]
    assert float(thresholds["tail"][21 * 288]) < 40.0


def _daily_peak(minutes: int, seed: int = 1) -> pd.DataFrame:
    """Three weeks of 5-minute counts (about 20 at 14:00) with a peak at three times the
    usual from 14:00 for `minutes` every day."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=288 * 21, freq="5min", tz="UTC")
    hours = (index.hour + index.minute / 60).to_numpy()
    rate = 20 * (0.4 + 0.6 * np.sin(np.pi * hours / 24) ** 2)
    rate[(index.hour == 14) & (index.minute < minutes)] *= 3
    return pd.DataFrame({"a": rng.poisson(rate).astype(float)}, index=index)


@pytest.mark.parametrize("minutes", [10, 15, 30])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_peak_at_the_same_time_every_day_becomes_the_usual_level(minutes, seed):
    # Masked as an outage on its first days, the peak took its baseline from the normal
    # buckets around it: it stood out again the next day, an incident at 14:00 every
    # day for three weeks. Seen on three days at levels that agree and far from its
    # window's, that time of day is pooled alone: from the fourth day on, no incident.
    counts = _daily_peak(minutes, seed)
    incidents = analyze(as_data(counts)).incidents
    assert len(incidents) >= 1
    assert (incidents["onset"] < counts.index[3 * 288]).all()
    base = fit_trailing_baseline(counts, pd.Timedelta("5min"))
    peak = (counts.index.hour == 14) & (counts.index.minute < minutes)
    later = peak & (np.arange(len(counts)) >= 7 * 288)
    usual = 20 * (0.4 + 0.6 * np.sin(np.pi * 14 / 24) ** 2)  # at 14:00 without the peak
    assert base.expected["a"].to_numpy()[later].mean() > 0.8 * 3 * usual


def test_without_the_recurring_times_of_day_a_daily_peak_alarms_every_day(monkeypatch):
    # The counterfactual: the recurring time of day keeps its window's baseline.
    monkeypatch.setattr(trailing._SeasonalFit, "_with_recurring",
                        lambda self, *args: args[-3:])
    counts = _daily_peak(15)
    incidents = analyze(as_data(counts)).incidents
    assert (incidents["onset"] >= counts.index[3 * 288]).sum() >= 10


def _daily_counts(outage_days: tuple[int, ...], factor: float = 7.0) -> pd.DataFrame:
    """Sixty days of daily counts (500 on weekdays, 300 on weekends) with the days
    `outage_days` at `factor` times."""
    rng = np.random.default_rng(3)
    index = pd.date_range("2026-01-05", periods=60, freq="1D", tz="UTC")
    rate = np.where(index.day_of_week >= 5, 300.0, 500.0)
    rate[list(outage_days)] *= factor
    return pd.DataFrame({"a": rng.poisson(rate).astype(float)}, index=index)


def test_a_one_day_outage_in_daily_counts_leaves_the_next_days_baseline_alone():
    # A day of one bucket high "for most of it" was taken as a new level at once: the
    # next day's baseline stood at the outage's level (2992 against 500), and an outage
    # that day would have gone unseen. A new level shows on two days running.
    counts = _daily_counts((38,))  # a Thursday
    analysis = analyze(as_data(counts, pd.Timedelta("1D")))
    expected = analysis.baseline.expected["a"]
    assert 400 < expected.iloc[39] < 600
    assert analysis.incidents["onset"].tolist() == [counts.index[38]]
    # The next day failing too is then seen: an outage of two days is one incident.
    again = analyze(as_data(_daily_counts((38, 39)), pd.Timedelta("1D"))).incidents
    assert again["onset"].tolist() == [counts.index[38]]
    assert again["end"].iloc[0] >= counts.index[39]
    # A lasting shift is still learned: from the fifth day on, no incident.
    shift = _daily_counts(tuple(range(38, 60)), factor=2.0)
    incidents = analyze(as_data(shift, pd.Timedelta("1D"))).incidents
    assert len(incidents) == 1 and incidents["end"].iloc[0] <= shift.index[42]


def _peak_from(day: int, seed: int) -> pd.DataFrame:
    """Five weeks of 5-minute counts with a peak at three times the usual from 19:00 to
    21:00 every day from `day` on (a feature that begins, or moves there with a change
    of the clocks)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=288 * 35, freq="5min", tz="UTC")
    hours = (index.hour + index.minute / 60).to_numpy()
    rate = 20 * (0.4 + 0.6 * np.sin(np.pi * hours / 24) ** 2)
    rate[(index.hour >= 19) & (index.hour < 21) & (np.arange(len(index)) >= day * 288)] *= 3
    return pd.DataFrame({"a": rng.poisson(rate).astype(float)}, index=index)


@pytest.mark.parametrize("seed", [0, 2])
def test_a_peak_that_begins_later_is_learned_from_its_own_days(seed):
    # Its older pooled days disagree with it, so the rule of the whole pool learned it
    # only once they had left the pool: an incident every evening for 14 days. Masked on
    # its first three days at agreeing levels, it is taken from the days since.
    counts = _peak_from(8, seed)
    incidents = analyze(as_data(counts)).incidents
    days = sorted(((incidents["onset"] - counts.index[0]).dt.days).tolist())
    assert days == [8, 9, 10]


def test_without_the_run_of_latest_days_a_new_peak_is_paged_for_two_weeks(monkeypatch):
    monkeypatch.setattr(trailing_recurring, "_with_new_peaks",
                        lambda state, days, values, weights, not_warm_up, candidate:
                        (values, weights, not_warm_up))
    counts = _peak_from(8, 0)
    incidents = analyze(as_data(counts)).incidents
    assert len(incidents) >= 12


def _cycle(seed: int, weeks: int = 4, level: float = 10.0
           ) -> tuple[pd.DatetimeIndex, np.ndarray, np.random.Generator]:
    """Five-minute index from a Monday, a daily cycle of `level` reports on average, and
    the generator that draws the counts (gamma-Poisson)."""
    index = pd.date_range("2024-03-04", periods=weeks * 7 * 288, freq="5min", tz="UTC")
    hours = (index.hour + index.minute / 60).to_numpy()
    return index, level * (1 + 0.6 * np.cos(2 * np.pi * (hours - 15) / 24)), \
        np.random.default_rng(seed)


def _draw(rng: np.random.Generator, rate: np.ndarray) -> np.ndarray:
    return rng.poisson(rng.gamma(50, 1 / 50, len(rate)) * rate).astype(float)


def _with_hour_outages(index: pd.DatetimeIndex, rate: np.ndarray,
                       onsets: list[str]) -> tuple[np.ndarray, list[pd.Timestamp]]:
    """`rate` three times as high for an hour from each of `onsets`."""
    rate = rate.copy()
    starts = [pd.Timestamp(t, tz="UTC") for t in onsets]
    for start in starts:
        rate[(index >= start) & (index < start + pd.Timedelta("1h"))] *= 3
    return rate, starts


def _found(incidents: pd.DataFrame, starts: list[pd.Timestamp]) -> list[bool]:
    """Per outage start, whether an incident began in its matching window (from 10
    minutes before it to its end, as EVALUATION.md matches)."""
    onsets = pd.DatetimeIndex(incidents["onset"])
    return [bool(((onsets >= s - pd.Timedelta("10min")) & (onsets < s + pd.Timedelta("1h"))
                  ).any()) for s in starts]


def test_a_feed_that_sent_zeros_for_a_day_and_a_half_leaves_the_days_after_alone(
        monkeypatch):
    # Zeros (not NaN) for 36 hours were pooled and taken into the level factor as the
    # product's level: once the feed came back, the next day ran on a baseline at the
    # factor's floor (a whole-day critical incident) and an outage two days later was
    # missed. A day far under its baseline is now no data for the later days' level and
    # noise.
    index, rate, rng = _cycle(0)
    rate, starts = _with_hour_outages(index, rate, ["2024-03-22 14:00", "2024-03-26 10:00",
                                                    "2024-03-28 03:00"])
    y = _draw(rng, rate)
    dead = pd.Timestamp("2024-03-19 08:00", tz="UTC")
    y[(index >= dead) & (index < dead + pd.Timedelta("36h"))] = 0.0
    counts = pd.DataFrame({"a": y}, index=index)
    incidents = analyze(as_data(counts)).incidents
    assert _found(incidents, starts) == [True, True, True]
    assert len(incidents) == 3
    monkeypatch.setattr(trailing_level, "LOW_DAY_FACTOR", np.inf)  # no day is low
    before = analyze(as_data(counts)).incidents
    assert len(before) > 3 or not all(_found(before, starts))


@pytest.mark.parametrize("seed", [1, 2])
def test_a_quiet_holiday_leaves_the_days_after_it_alone(seed, monkeypatch):
    # A long weekend (Friday and Saturday) at 0.3 of the usual reports was pooled and set
    # the level factor of the Sunday after it (its last two days): the Sunday ran on
    # about half its reports, a false incident from its first hour. (A single quiet
    # Saturday once did the same to the next Saturday, when a weekend's level factor
    # rested on the weekend days before it; now the weekdays before it set it.)
    index, rate, rng = _cycle(seed, weeks=5)
    day = np.asarray((index - index[0]) // pd.Timedelta("1D"))
    rate = rate * np.where((day == 18) | (day == 19), 0.3, 1.0)
    assert index[18 * 288].day_name() == "Friday"
    counts = pd.DataFrame({"a": _draw(rng, rate)}, index=index)
    assert analyze(as_data(counts)).incidents.empty
    monkeypatch.setattr(trailing_level, "LOW_DAY_FACTOR", np.inf)
    sunday = index[20 * 288]
    onsets = analyze(as_data(counts)).incidents["onset"]
    assert ((onsets >= sunday) & (onsets < sunday + pd.Timedelta("1h"))).any()


def test_a_lasting_fall_becomes_the_level_from_its_third_day(monkeypatch):
    # Reports fall to 0.4 of the usual for good: the first two days of each kind are
    # left out as low, the third takes them back as the level, and outages of 3x the
    # new level are raised from the days just after the fall on.
    index, rate, rng = _cycle(3, weeks=5, level=20.0)
    rate = rate * np.where(index >= pd.Timestamp("2024-03-19", tz="UTC"), 0.4, 1.0)
    rate, starts = _with_hour_outages(index, rate, [
        "2024-03-22 14:00", "2024-03-26 10:00", "2024-03-28 16:00", "2024-04-02 11:00",
        "2024-04-04 15:00"])
    counts = pd.DataFrame({"a": _draw(rng, rate)}, index=index)
    incidents = analyze(as_data(counts)).incidents
    assert _found(incidents, starts) == [True] * 5 and len(incidents) == 5
    # Without taking the run back (nor pooling the days before it at its level), the
    # level factor rests on the days before the fall and the first outage after it is
    # missed.
    monkeypatch.setattr(trailing, "keep_low", lambda *args, **kwargs: None)
    monkeypatch.setattr(trailing, "fall_to_level",
                        lambda fit, state, *args: np.zeros(state.p, dtype=bool))
    assert not all(_found(analyze(as_data(counts)).incidents, starts))


@pytest.mark.parametrize("hours", [66, 120])
def test_a_feed_dead_for_days_is_no_level_and_no_pool(hours, monkeypatch):
    # Zeros from a Tuesday's midnight for 66 hours (the recovery day partly filled, so
    # low but with reports) or five days: their zero days were taken as a lasting fall,
    # or pooled, and the days after the recovery ran on a baseline at a fraction of the
    # reports (whole-day critical incidents). A day with a run of zeros where reports
    # were expected is no level, and that run is no data for the pools.
    index, rate, rng = _cycle(1, weeks=5)
    y = _draw(rng, rate)
    dead = pd.Timestamp("2024-03-19", tz="UTC")
    y[(index >= dead) & (index < dead + pd.Timedelta(hours=hours))] = 0.0
    counts = pd.DataFrame({"a": y}, index=index)
    assert analyze(as_data(counts)).incidents.empty
    monkeypatch.setattr(trailing_level, "LOW_DAY_FACTOR", np.inf)
    with np.errstate(invalid="ignore"):  # inf x 0 reports is NaN: no day low, as meant
        assert not analyze(as_data(counts)).incidents.empty


def _office(seed: int, days: int = 14) -> pd.DataFrame:
    """Five-minute counts of an office product from a Monday: busy working hours, quiet
    nights, and weekends quiet in working hours only (the nights as on weekdays)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-02-02", periods=days * 288, freq="5min", tz="UTC")
    hours = (index.hour + index.minute / 60).to_numpy()
    work = np.exp(-0.5 * ((hours - 10.5) / 1.6) ** 2) + np.exp(-0.5 * ((hours - 15) / 1.8) ** 2)
    weekend = np.asarray(index.day_of_week >= 5)
    rate = 8.0 + 150.0 * work * np.where(weekend, 0.25, 1.0)
    return pd.DataFrame({"a": rng.poisson(rng.gamma(30, 1 / 30, len(rate)) * rate)
                         .astype(float)}, index=index)


@pytest.mark.parametrize("seed", [0, 1])
def test_an_office_weekend_is_quiet_in_working_hours_not_at_night(seed, monkeypatch):
    # Before weekdays and weekends are pooled apart, a weekend day's baseline was the
    # mixed pool times one level factor (about a third): its unchanged nights ran at a
    # third of their reports, a false outage on the second weekend's nights. Once two
    # weekend days show it, the weekend is fitted as a + b x its pool.
    counts = _office(seed)
    second_weekend = counts.index[12 * 288]
    incidents = analyze(as_data(counts)).incidents
    assert not (incidents["onset"] >= second_weekend).any()
    monkeypatch.setattr(trailing_level, "SHAPE_FACTOR", np.inf)
    before = analyze(as_data(counts)).incidents
    assert (before["onset"] >= second_weekend).any()


def _with_outage_at(counts: pd.DataFrame, when: str, factor: float = 4.0,
                    seed: int = 0) -> pd.DataFrame:
    """`counts` with an hour at `factor` times its reports from `when` (UTC)."""
    out = counts.copy()
    start = pd.Timestamp(when, tz="UTC")
    hour = (out.index >= start) & (out.index < start + pd.Timedelta("1h"))
    out.loc[hour, "a"] = np.random.default_rng(seed + 50).poisson(out.loc[hour, "a"] * factor)
    return out


def _first_week_onsets(counts: pd.DataFrame) -> list[str]:
    incidents = analyze(as_data(counts)).incidents
    week = incidents["onset"] < counts.index[0] + pd.Timedelta(days=7)
    return incidents.loc[week, "onset"].dt.strftime("%a %H:%M").tolist()


def _judged_as_any_day(self, at: int) -> bool:
    """`LiveWalk.unproven` without the weekend whose shape is unknown."""
    return at < self.unproven_until or (
        day_grid(self.index[at], self.bucket, self.utc_offset)[0] in self.first_of_kind)


@pytest.mark.parametrize("seed", [0, 1])
def test_an_office_product_raises_nothing_in_its_first_week(seed, monkeypatch):
    # Its first day has no time-of-day history: its reports rise tenfold from 06:00 to
    # 09:00, a rise that climbed over three times the hours it started from. Its first
    # Sunday has one weekend day before it, too few to fit the weekend's shape: one
    # factor (about a third) put its unchanged nights and evening at a third of their
    # reports. Measured over 6 seeds, before: a false incident on the Monday morning in
    # 6, on the Sunday in 6 (twice in 5); now none.
    from spikes.detect import causal, judging

    counts = _office(seed)
    assert _first_week_onsets(counts) == []
    # Counterfactuals: a cold-start stretch need not hold a jump; the first Sunday is
    # judged as any day.
    with monkeypatch.context() as patch:
        patch.setattr(causal, "first_jump", lambda y, onset, *args: onset)
        patch.setattr(judging, "first_jump", lambda y, onset, *args: onset)
        assert [t for t in _first_week_onsets(counts) if t.startswith("Mon")]
    with monkeypatch.context() as patch:
        patch.setattr(causal.LiveWalk, "unproven", _judged_as_any_day)
        assert [t for t in _first_week_onsets(counts) if t.startswith("Sun")]


@pytest.mark.parametrize("seed", [0, 1])
def test_outages_of_an_office_product_in_its_first_week_are_raised(seed):
    # An hour at 4x on its first morning, during the morning's rise: the stretch opened
    # on the rise holds the outage's jump, and reports the jump's start (before: the
    # rise's start, 07:15-07:35, a false alarm and a miss, in 6 of 6 seeds). An hour at
    # 4x on the first Sunday's afternoon: raised (6 of 6 seeds, as before).
    counts = _office(seed)
    for when in ("2026-02-02 10:00", "2026-02-08 14:00"):
        start = pd.Timestamp(when, tz="UTC")
        incidents = analyze(as_data(_with_outage_at(counts, when, seed=seed))).incidents
        assert len(incidents) == 1, (when, incidents)
        assert abs(incidents["onset"].iloc[0] - start) <= pd.Timedelta("10min")
