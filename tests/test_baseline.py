"""Seasonal baseline: shape, robustness to outages, fallbacks, dispersion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.detect.baseline import fit_baseline
from tests.conftest import BUCKET, diurnal_counts, with_outage


def test_baseline_follows_time_of_day(quiet_counts: pd.DataFrame) -> None:
    base = fit_baseline(quiet_counts, BUCKET)
    night = base.expected.between_time("00:00", "01:00")["p0"].mean()
    noon = base.expected.between_time("11:30", "12:30")["p0"].mean()
    assert base.method == "weekly"
    assert noon > 3 * night
    # Within 10 % of the true mean of the simulation at noon (20 * 1.0).
    assert noon == pytest.approx(20.0, rel=0.1)


def test_outage_does_not_leak_into_baseline() -> None:
    clean = diurnal_counts(days=10, seed=5)
    start = 288 * 6 + 144  # day 6, noon
    broken = with_outage(clean, "p0", start, 24, ratio=20.0)
    base_clean = fit_baseline(clean, BUCKET).expected["p0"]
    base_broken = fit_baseline(broken, BUCKET).expected["p0"]
    # Its own day is left out and other days mask it: the baseline barely moves.
    same_time_other_day = slice(start - 288, start - 288 + 24)
    assert np.allclose(base_broken.iloc[start : start + 24], base_clean.iloc[start : start + 24],
                       rtol=0.15)
    assert np.allclose(base_broken.iloc[same_time_other_day],
                       base_clean.iloc[same_time_other_day], rtol=0.15)


@pytest.mark.parametrize(
    ("days", "method"),
    [(0.5, "rolling"), (1.5, "rolling"), (3, "daily"), (13, "daily"), (14, "weekly")],
)
def test_method_by_history_length(days: float, method: str) -> None:
    counts = diurnal_counts(days=15).iloc[: int(288 * days)]
    base = fit_baseline(counts, BUCKET)
    assert base.method == method
    assert np.isfinite(base.expected.to_numpy()).all()


def test_weekend_gets_its_own_baseline() -> None:
    counts = diurnal_counts(days=21, seed=2)
    weekend = counts.index.day_of_week >= 5
    counts.loc[weekend] = counts.loc[weekend] * 3
    base = fit_baseline(counts, BUCKET).expected["p0"]
    ratio = base[weekend].mean() / base[~weekend].mean()
    assert ratio == pytest.approx(3.0, rel=0.15)


def test_missing_buckets_are_ignored_not_zero(quiet_counts: pd.DataFrame) -> None:
    holed = quiet_counts.copy()
    holed.iloc[288 * 3 : 288 * 5] = np.nan
    base = fit_baseline(holed, BUCKET).expected
    full = fit_baseline(quiet_counts, BUCKET).expected
    assert not base.isna().any().any()
    assert np.allclose(base.iloc[288 * 3 : 288 * 5], full.iloc[288 * 3 : 288 * 5], rtol=0.15)


def test_dispersion_tracks_noise() -> None:
    calm = fit_baseline(diurnal_counts(days=14, dispersion=0.001, seed=1), BUCKET)
    bursty = fit_baseline(diurnal_counts(days=14, dispersion=0.3, seed=1), BUCKET)
    assert calm.dispersion["p0"] < 0.03
    assert bursty.dispersion["p0"] == pytest.approx(0.3, rel=0.35)


def test_band_contains_most_normal_counts(quiet_counts: pd.DataFrame) -> None:
    base = fit_baseline(quiet_counts, BUCKET)
    lower, upper = base.band(0.95)
    inside = (quiet_counts >= lower) & (quiet_counts <= upper)
    assert inside.to_numpy().mean() > 0.9


@pytest.mark.parametrize(("start", "length"), [(264, 24), (126, 36), (0, 24)])
def test_short_history_masks_an_outage_of_hours(start: int, length: int) -> None:
    # One day of Poisson(20) (rolling baseline) with 2 or 3 hours at five times the level,
    # at the end, in the middle and at the start: far more than the 2 % of buckets that
    # a trimmed first dispersion estimate would leave out.
    index = pd.date_range("2026-01-05", periods=288, freq="5min", tz="UTC")
    rng = np.random.default_rng(0)
    clean = pd.DataFrame({"p0": rng.poisson(20.0, len(index)).astype(float)}, index=index)
    base = fit_baseline(with_outage(clean, "p0", start, length, ratio=5.0), BUCKET)
    outage = slice(start, start + length)
    assert base.method == "rolling"
    assert not base.normal["p0"].iloc[outage].any()
    assert np.allclose(base.expected["p0"].iloc[outage], 20.0, rtol=0.25)
    assert base.dispersion["p0"] < 0.02


def test_dispersion_tracks_noise_in_a_short_history() -> None:
    calm = fit_baseline(diurnal_counts(days=2, dispersion=0.001, seed=1).iloc[:432], BUCKET)
    bursty = fit_baseline(diurnal_counts(days=2, dispersion=0.3, seed=1).iloc[:432], BUCKET)
    assert calm.method == bursty.method == "rolling"
    assert calm.dispersion["p0"] < 0.03
    assert bursty.dispersion["p0"] == pytest.approx(0.3, rel=0.35)
    # Only the upper tail of the noise is masked, not whole stretches of it.
    assert bursty.normal["p0"].mean() > 0.9


def _tripled(seed: int = 1) -> tuple[pd.DataFrame, list[int]]:
    """20 days whose level triples for good on day 11, with a 2-hour outage at 3x on
    day 6 and on day 16."""
    counts = diurnal_counts(days=20, level=20.0, seed=seed)
    shift = 10 * 288 + 100
    counts = with_outage(counts, "p0", shift, len(counts) - shift, 3.0, seed=seed)
    outages = [5 * 288 + 150, 15 * 288 + 150]
    for k, start in enumerate(outages):
        counts = with_outage(counts, "p0", start, 24, 3.0, seed=seed + 1 + k)
    return counts, outages


def test_the_retrospective_baseline_takes_each_level_regime_apart():
    # Pools of two weeks either side would mix the two levels (about twice the first
    # before the change, two thirds of the second after it) and hide both outages.
    counts, _ = _tripled()
    expected = fit_baseline(counts, BUCKET).expected["p0"]
    ratio = counts["p0"].rolling(288).sum() / expected.rolling(288).sum()
    assert ratio.iloc[[4 * 288 + 287, 9 * 288 + 287, 13 * 288 + 287, 19 * 288 + 287]].between(
        0.85, 1.15).all()


@pytest.mark.parametrize("regimes", [True, False])
def test_retrospective_outages_on_both_sides_of_a_lasting_change(monkeypatch, regimes):
    from spikes.config import DetectionConfig
    from spikes.detect import baseline
    from spikes.detect.pipeline import analyze
    from tests.conftest import as_data

    if not regimes:  # the counterfactual: one regime, pools mixing the two levels
        monkeypatch.setattr(baseline, "_regime_levels", lambda reports, expected: None)
    counts, outages = _tripled()
    onsets = analyze(as_data(counts), DetectionConfig(mode="retrospective")).incidents["onset"]
    found = [bool(((onsets >= counts.index[s - 2]) & (onsets <= counts.index[s + 2])).any())
             for s in outages]
    assert found == ([True, True] if regimes else [False, False])


def workday_product(seed: int, utc_offset_hours: int, days: int = 28,
                    weekend: float = 0.4) -> pd.DataFrame:
    """Seeded 5-minute counts of a workday product whose users live `utc_offset_hours`
    from UTC: a daily cycle in their local time, and weekends (their Saturday and
    Sunday) at `weekend` times the weekdays' level."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=288 * days, freq="5min", tz="UTC")
    local = index + pd.Timedelta(hours=utc_offset_hours)
    hours = (local.hour + local.minute / 60).to_numpy()
    rate = 20.0 * (0.25 + 0.75 * np.sin(np.pi * hours / 24) ** 2)
    rate = rate * np.where(local.day_of_week >= 5, weekend, 1.0)
    noisy = rate * rng.gamma(20, 1 / 20, len(index))
    return pd.DataFrame({"app": rng.poisson(noisy).astype(float)}, index=index)


def _reports_over_baseline(counts: pd.DataFrame, expected: pd.DataFrame,
                           when: np.ndarray) -> float:
    return float(counts["app"][when].sum() / expected["app"][when].sum())


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("mode", ["causal", "retrospective"])
def test_a_product_in_tokyo_has_its_weekend_in_tokyo_time(seed: int, mode: str) -> None:
    # Tokyo's Monday begins on Sunday at 15:00 UTC, its Saturday on Friday at 15:00 UTC.
    # With UTC days, the baseline keeps Sunday's weekend level into Tokyo's Monday
    # (reports at over twice the baseline: false alarms every week) and Friday's weekday
    # level into its Saturday. With the product's utc_offset, its days are Tokyo's.
    from spikes.config import DetectionConfig
    from spikes.detect.pipeline import analyze
    from tests.conftest import as_data

    counts = workday_product(seed, 9)
    index = counts.index
    later = index >= index[0] + pd.Timedelta(days=14)  # weekdays and weekends apart
    monday = later & (index.day_of_week == 6) & (index.hour >= 16)
    saturday = later & (index.day_of_week == 4) & (index.hour >= 16)
    for offset, want in (("0h", False), ("+9h", True)):
        analysis = analyze(as_data(counts), DetectionConfig(utc_offset=offset, mode=mode))
        expected = analysis.scored.baseline.expected
        on_monday = _reports_over_baseline(counts, expected, monday)
        on_saturday = _reports_over_baseline(counts, expected, saturday)
        sunday_alarms = analysis.incidents["onset"].dt.day_of_week.eq(6).sum()
        if want:  # measured: 0.96-1.04 and 0.98-1.11
            assert 0.85 <= on_monday <= 1.15 and 0.85 <= on_saturday <= 1.15
            assert sunday_alarms == 0
        else:  # measured: 1.71-2.33 and 0.44-0.48, with 1-2 alarms
            assert on_monday > 1.5 and on_saturday < 0.6
            assert sunday_alarms >= 1
