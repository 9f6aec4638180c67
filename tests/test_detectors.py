"""Detectors: the shared interface, count-noise scoring, CUSUM, ruptures onset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.baseline import fit_baseline
from spikes.config import DetectionConfig
from spikes.detectors import (
    CostSeasonalPoisson,
    CountTailDetector,
    CusumDetector,
    Detector,
    locate_onset,
)
from spikes.noise import log_likelihood_ratio, upper_tail_surprise
from tests.conftest import BUCKET, diurnal_counts, with_outage


def test_same_jump_judged_by_its_own_noise() -> None:
    # 0.3 -> 4 reports is far more surprising than 300 -> 400 under Poisson noise...
    small = upper_tail_surprise(np.array([4.0]), np.array([0.3]), np.array([0.0]))[0]
    large = upper_tail_surprise(np.array([400.0]), np.array([300.0]), np.array([0.0]))[0]
    assert small > 3 and large > 3
    # ...but with 30 % multiplicative noise the large one is unremarkable.
    noisy = upper_tail_surprise(np.array([400.0]), np.array([300.0]), np.array([0.09]))[0]
    assert noisy < 1.0


def test_surprise_matches_scipy_tail() -> None:
    from scipy import stats

    got = upper_tail_surprise(np.array([12.0]), np.array([4.0]), np.array([0.0]))[0]
    assert got == pytest.approx(-np.log10(stats.poisson.sf(11, 4.0)), rel=1e-6)
    got_nb = upper_tail_surprise(np.array([30.0]), np.array([10.0]), np.array([0.2]))[0]
    n = 5.0
    assert got_nb == pytest.approx(-np.log10(stats.nbinom.sf(29, n, n / (n + 10.0))), rel=1e-6)


def test_llr_poisson_limit_and_missing() -> None:
    y = np.array([6.0, np.nan])
    mu = np.array([2.0, 2.0])
    got = log_likelihood_ratio(y, mu, np.array([0.0]), 3.0)
    assert got[0] == pytest.approx(6 * np.log(3) - 2 * 2.0)
    assert got[1] == 0.0
    tiny = log_likelihood_ratio(y[:1], mu[:1], np.array([1e-5]), 3.0)[0]
    assert tiny == pytest.approx(got[0], rel=1e-3)


@pytest.mark.parametrize("detector", [CountTailDetector(), CusumDetector(ratio=3.0)])
def test_detectors_share_the_interface(detector: Detector) -> None:
    counts = with_outage(diurnal_counts(days=7, seed=4), "p0", 288 * 5 + 120, 12, ratio=8.0)
    base = fit_baseline(counts, BUCKET)
    scores = detector.score(counts, base)
    assert scores.shape == counts.shape and (scores.index == counts.index).all()
    threshold = detector.default_threshold(DetectionConfig(), BUCKET)
    found = detector.candidates(scores["p0"].to_numpy(), threshold)
    assert any(c.start <= 288 * 5 + 122 and c.stop >= 288 * 5 + 120 for c in found)
    assert all(c.start <= c.alarm <= c.stop for c in found)
    assert "ratio" in repr(detector) or detector.get_params() == {"max_gap": 1}


def test_cusum_equals_page_recursion() -> None:
    counts = diurnal_counts(days=3, seed=9)
    base = fit_baseline(counts, BUCKET)
    det = CusumDetector(ratio=2.5)
    got = det.score(counts, base)["p0"].to_numpy()
    llr = log_likelihood_ratio(counts["p0"].to_numpy(), base.expected["p0"].to_numpy(),
                               np.array([base.dispersion["p0"]]), 2.5)
    s, expected = 0.0, []
    for x in llr:
        s = max(0.0, s + x)
        expected.append(s)
    assert np.allclose(got, expected)


def test_cusum_finds_mild_long_rise_that_tail_misses() -> None:
    counts = diurnal_counts(days=7, level=30, seed=11)
    start = 288 * 5 + 100
    counts = with_outage(counts, "p0", start, 36, ratio=2.5)
    base = fit_baseline(counts, BUCKET)
    cfg = DetectionConfig()
    cusum = CusumDetector(ratio=3.0)
    found = cusum.candidates(cusum.score(counts, base)["p0"].to_numpy(), cfg.cusum_h(BUCKET))
    assert any(abs(c.start - start) <= 3 for c in found)


def test_quiet_series_raises_no_candidate(quiet_counts: pd.DataFrame) -> None:
    base = fit_baseline(quiet_counts, BUCKET)
    cfg = DetectionConfig()
    for det in (CountTailDetector(), CusumDetector()):
        scores = det.score(quiet_counts, base)
        for col in scores:
            assert det.candidates(scores[col].to_numpy(), det.default_threshold(cfg, BUCKET)) \
                == []


@pytest.mark.parametrize("true_onset", [20, 25, 31])
def test_locate_onset_against_seasonal_rate(true_onset: int) -> None:
    # A steep diurnal ramp that a plain mean-shift cost would cut; the seasonal cost
    # only sees the 4x rise at the true onset.
    rng = np.random.default_rng(true_onset)
    mu = np.linspace(2, 40, 50)
    y = rng.poisson(mu * np.where(np.arange(50) >= true_onset, 4.0, 1.0)).astype(float)
    got = locate_onset(y, mu, 0, 49)
    assert got is not None and abs(got - true_onset) <= 1


def test_cost_is_a_ruptures_cost() -> None:
    import ruptures as rpt

    cost = CostSeasonalPoisson().fit(np.column_stack([[1.0, 1, 9, 9], [1.0, 1, 1, 1]]))
    assert cost.error(0, 2) == 0.0
    assert cost.error(0, 4) > cost.error(0, 2) + cost.error(2, 4)
    assert isinstance(cost, rpt.base.BaseCost)
    assert cost.rate(2, 4) == pytest.approx(9.0)
