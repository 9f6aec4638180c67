"""Detectors: the shared interface, count-noise scoring, CUSUM, ruptures onset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.config import DetectionConfig
from spikes.detect.baseline import fit_baseline
from spikes.detect.detectors import (
    CostSeasonalPoisson,
    CountTailDetector,
    CusumDetector,
    Detector,
    SteepCusumDetector,
    locate_onset,
    onset_bounds,
)
from spikes.detect.noise import log_likelihood_ratio, upper_tail_surprise
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
    llr = llr / base.inflation["p0"]  # evidence discounted for autocorrelated noise
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


#: One product at 0.06 reports a minute (suite B's "Service 25", 2026-01-11 07:49-09:56):
#: 26 quiet minutes, then 57 minutes at the usual volume, then the outage from minute 83
#: (the simulator's labelled onset) up to the alarm.
LEAD_IN_THEN_OUTAGE = ("00000000000000000000000000100100100000000000000000000000000010000001"
                       "000100010000000000100001100030001000000100010100010000310103")


def test_onset_bounds_take_a_lead_in_at_the_usual_volume_off_the_latest_start() -> None:
    # The penalty keeps the lead-in and the outage's first half hour in one segment at
    # this volume. The earliest start (locate_onset's) only takes the quiet head off,
    # 57 minutes before the outage; splitting on while the head cut off is not
    # elevated and the rest still is reaches the outage's own start.
    y = np.array([float(c) for c in LEAD_IN_THEN_OUTAGE])
    mu = np.full(len(y), 0.062)
    earliest, latest = onset_bounds(y, mu, 0, len(y) - 1, min_ratio=2.0, dispersion=1.3)
    assert earliest == locate_onset(y, mu, 0, len(y) - 1, min_ratio=2.0, dispersion=1.3)
    assert earliest < 83 - 10  # more than the 10 minutes the matching allows early
    assert 83 - 10 <= latest <= 83 + 10
    # The rest from the latest start still stands min_ratio over the baseline.
    assert y[latest:].sum() >= 2.0 * mu[latest:].sum()


@pytest.mark.parametrize("seed", range(6))
def test_onset_bounds_are_ordered_and_agree_where_the_rise_is_clear(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mu = np.full(80, 3.0)
    y = rng.poisson(mu * np.where(np.arange(80) >= 40, 6.0, 1.0)).astype(float)
    earliest, latest = onset_bounds(y, mu, 0, 79)
    assert earliest <= latest
    assert abs(earliest - 40) <= 1 and abs(latest - 40) <= 1


def test_cost_is_a_ruptures_cost() -> None:
    import ruptures as rpt

    cost = CostSeasonalPoisson().fit(np.column_stack([[1.0, 1, 9, 9], [1.0, 1, 1, 1]]))
    assert cost.error(0, 2) == 0.0
    assert cost.error(0, 4) > cost.error(0, 2) + cost.error(2, 4)
    assert isinstance(cost, rpt.base.BaseCost)
    assert cost.rate(2, 4) == pytest.approx(9.0)


def test_cusum_splits_two_outages_inside_one_excursion() -> None:
    # After a huge outage the statistic drains slowly at low volume; a second outage a
    # few hours later must still be its own candidate, starting at its own rise.
    scores = np.concatenate([np.linspace(0, 500, 20), np.linspace(500, 440, 60),
                             np.linspace(440, 520, 10)])
    found = CusumDetector().candidates(scores, threshold=10.0)
    assert [(c.start, c.stop) for c in found] == [(1, 19), (80, 89)]
    assert found[1].strength == pytest.approx(80.0)


def test_calibration_raises_threshold_only_for_bursty_history() -> None:
    from spikes.detect.detectors.base import calibrated_threshold

    rng = np.random.default_rng(0)
    # Excursion maxima of a well-calibrated CUSUM: excess over 1 ~ Exp(1).
    calm = 1.0 + rng.exponential(1.0, 400)
    bursty = 1.0 + rng.exponential(8.0, 400)
    h_calm = calibrated_threshold(calm, weeks=3, false_alarms_per_week=0.1, low=1.0)
    h_bursty = calibrated_threshold(bursty, weeks=3, false_alarms_per_week=0.1, low=1.0)
    # Calm history (decay at the model's rate): close to the model's own bound.
    assert h_calm == pytest.approx(1 + np.log(400 / 0.3), rel=0.2)
    assert h_bursty > 5 * h_calm
    # Real outages in the top (1 %) hardly move it.
    spiked = np.concatenate([calm, [300.0, 500.0, 800.0, 900.0]])
    assert calibrated_threshold(spiked, 3, 0.1, low=1.0) == pytest.approx(h_calm, rel=0.15)
    assert calibrated_threshold(calm[:9], 3, 0.1, low=1.0) is None


def test_a_short_history_raises_a_threshold_only_as_far_as_it_proves() -> None:
    from spikes.detect.detectors.base import calibrated_threshold, short_history_decay

    # 12 excursions: the first weeks of an hourly series. Calm ones keep the model's
    # decay (the level is where 12 model excursions would meet the budget).
    for seed in range(20):
        calm = 1.0 + np.random.default_rng(seed).exponential(1.0, 12)
        assert calibrated_threshold(calm, 3, 0.1, low=1.0) == pytest.approx(
            1.0 + np.log(12 / 0.3))
    # Ten times burstier than the model: raised, though by less than the point estimate
    # (an upper bound of the decay, about three times the estimate with 9 uncensored).
    bursty = 1.0 + np.random.default_rng(5).exponential(10.0, 12)
    h = calibrated_threshold(bursty, 3, 0.1, low=1.0)
    assert h > 2 * (1.0 + np.log(12 / 0.3))
    assert 1.0 / 10.0 < short_history_decay(bursty, 1.0) < 1.0


def test_calibration_reads_tail_scores_in_their_own_units() -> None:
    """-log10 p scores of calm noise decay as 10**-h, not exp(-h): calibrating them at
    Wald's nats rate would raise every product's tail threshold (a past bug)."""
    from spikes.detect.detectors.base import calibrated_threshold
    from spikes.detect.detectors.tail import CountTailDetector

    rng = np.random.default_rng(1)
    # Excursion maxima of -log10 p of calm noise: excess over 1 ~ Exp(ln 10).
    calm = 1.0 + rng.exponential(1.0 / np.log(10.0), 400)
    decay = CountTailDetector.excursion_decay
    assert decay == pytest.approx(np.log(10.0))
    h = calibrated_threshold(calm, weeks=3, false_alarms_per_week=0.1, low=1.0,
                             model_decay=decay)
    # The level calm noise exceeds 0.3 times in 400 excursions: 1 + log10(400 / 0.3).
    assert h == pytest.approx(1 + np.log10(400 / 0.3), rel=0.2)
    nats = calibrated_threshold(calm, weeks=3, false_alarms_per_week=0.1, low=1.0)
    assert nats > 1.8 * h
    # Burstier than the model: raised above it.
    bursty = 1.0 + rng.exponential(1.0, 400)
    assert calibrated_threshold(bursty, 3, 0.1, low=1.0, model_decay=decay) > 1.8 * h


def test_a_power_law_tail_is_extrapolated_as_one() -> None:
    """Real bursts have power-law maxima: an exponential fit of their bulk puts the
    threshold where the budget is exceeded many times over; the generalized Pareto
    extrapolation keeps it."""
    from scipy.stats import genpareto

    from spikes.detect.detectors.base import calibrated_threshold, heavy_tail_threshold

    tail = genpareto(0.5, loc=1.0, scale=1.0)
    maxima = tail.rvs(size=1000, random_state=np.random.default_rng(2))
    weeks, budget = 8.0, 0.1
    h = calibrated_threshold(maxima, weeks, budget, low=1.0)
    allowed = budget * weeks / len(maxima)  # share of excursions that may exceed h
    # Exceeded a few times as often as the budget allows (the censored top shortens the
    # tail: 2.4x; 3.3x with the slope at its lower confidence bound, as before), not an
    # order of magnitude more as with the exponential extrapolation.
    assert allowed / 10 < tail.sf(h) <= 3 * allowed
    exponential_only = 1.0 + np.log(len(maxima) / (budget * weeks)) / (
        np.log(len(maxima) / max((maxima >= 1 + np.log(100)).sum(), 1)) / np.log(100))
    assert tail.sf(exponential_only) > 10 * allowed
    assert heavy_tail_threshold(maxima, 1.0, budget * weeks, weeks=weeks) == pytest.approx(h)
    # Without the heavy-tail step (hindsight): the exponential extrapolation alone.
    assert calibrated_threshold(maxima, weeks, budget, low=1.0, heavy_tail=False) < h / 2


def test_a_mixture_of_exponentials_under_the_models_bound_is_not_heavy() -> None:
    """A chart whose drift changes over the day (a CUSUM at one-minute buckets drains
    slowly at night) makes maxima that mix exponentials of several scales: heavier than
    their bulk, yet each under Wald's bound. That is no heavy tail of the traffic; the
    first test alone took it for one and raised the threshold above the model's."""
    from spikes.detect.detectors.base import calibrated_threshold, heavy_tail_threshold

    weeks, budget = 8.0, 0.1
    for seed in range(5):
        rng = np.random.default_rng(seed)
        scale = rng.choice([0.1, 0.25, 1.0], size=2000, p=[0.6, 0.3, 0.1])
        maxima = 1.0 + rng.exponential(scale)
        assert heavy_tail_threshold(maxima, 1.0, budget * weeks, weeks=weeks) is None
        # The threshold is the exponential extrapolation's, at the model's decay: the
        # level the noise model itself gives for this history.
        model = 1.0 + np.log(len(maxima) / (budget * weeks))
        assert calibrated_threshold(maxima, weeks, budget, low=1.0) == pytest.approx(model)
        # The same mixture four times as wide (scales up to 4: bursts the noise model
        # does not explain) is a heavy tail, and raises the threshold above the model's.
        wide = 1.0 + 4.0 * (maxima - 1.0)
        heavy = heavy_tail_threshold(wide, 1.0, budget * weeks, weeks=weeks)
        assert heavy is not None and heavy > 3 * model


def test_an_exponential_tail_with_outages_on_top_is_not_heavy() -> None:
    from spikes.detect.detectors.base import calibrated_threshold, heavy_tail_threshold

    rng = np.random.default_rng(3)
    for seed in range(20):  # the test holds at 3 standard errors, seed after seed
        calm = 1.0 + np.random.default_rng(seed).exponential(1.0, 500)
        assert heavy_tail_threshold(calm, 1.0, 0.8, weeks=1.0) is None
    # Past outages far above the noise are censored, not read as a heavy tail: ten (here,
    # a week of history), and in a long history a share of the excursions (1/32) or three
    # a week, whichever is more.
    spiked = np.concatenate([1.0 + rng.exponential(1.0, 500), rng.uniform(50, 900, 10)])
    assert heavy_tail_threshold(spiked, 1.0, 0.8, weeks=1.0) is None
    # Half a year of 5-minute -log10 p excursions (about 150 a week) with two outage
    # excursions a week: the threshold rises gracefully, not to blindness (censoring a
    # fixed ten gave 215 here).
    decay = np.log(10.0)
    calm = 1.0 + rng.exponential(1.0 / decay, 3900)
    quiet = calibrated_threshold(calm, 26, 0.1, low=1.0, model_decay=decay)
    with_outages = np.concatenate([calm, rng.uniform(20, 300, 78)])
    assert calibrated_threshold(with_outages, 26, 0.1, low=1.0, model_decay=decay) < 2 * quiet
    # Too short a history for the test: heavy or not, no verdict.
    assert heavy_tail_threshold(np.concatenate([spiked[:60], spiked[-10:]]), 1.0, 0.8,
                                weeks=1.0) is None


def test_a_long_history_of_weekly_outages_does_not_deafen_a_slow_detector(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from spikes.detect.detectors import base
    from spikes.detect.detectors.base import calibrated_threshold

    # Half a year of a 5-minute CUSUM (about 40 excursions a week, maxima decaying as
    # Wald's bound says) on a product that fails about once a week, two excursions each:
    # 52 outage excursions, more than the share of 1/32 (34) would censor.
    rng = np.random.default_rng(11)
    weeks = 26
    noise = 1.0 + rng.exponential(1.0, 40 * weeks)
    outages = rng.uniform(30, 300, 2 * weeks)
    history = np.concatenate([noise, outages])
    model = 1.0 + np.log(len(noise) / (0.1 * weeks))  # the noise's own level
    got = calibrated_threshold(history, weeks, 0.1, low=1.0)
    # The outages still slow the exponential fit's decay (12.1 against 7.0), but every
    # one of them stays far above the threshold.
    assert got < 2 * model
    assert (outages > 2 * got).all()
    # Without the count of three a week, the gap between the noise and the outages
    # still sets them apart (separated_count): every one stays above the threshold ...
    monkeypatch.setattr(base, "OUTAGE_EXCURSIONS_PER_WEEK", 0.0)
    apart = calibrated_threshold(history, weeks, 0.1, low=1.0)
    assert apart < 4 * model and (outages > apart).all()
    # ... and censoring by the share alone read the outages as a heavy tail: the
    # threshold rose above half of them (144).
    monkeypatch.setattr(base, "separated_count", lambda upper, low: 0)
    deaf = calibrated_threshold(history, weeks, 0.1, low=1.0)
    assert deaf > 10 * model
    assert (outages < deaf).mean() > 0.3


def test_a_detector_without_excursions_borrows_the_others_burstiness() -> None:
    from spikes.config import DetectionConfig
    from spikes.detect.detectors.base import product_thresholds

    bucket = pd.Timedelta("1h")
    detectors = {"tail": CountTailDetector(), "cusum": CusumDetector()}
    rng = np.random.default_rng(4)
    bursty_tail = 1.0 + rng.exponential(1.0, 200)  # -log10 p decaying at e, not 10
    few = np.array([3.0, 12.0, 5.0])  # an hourly CUSUM's month: too few to calibrate
    config = DetectionConfig()
    base_tail, base_cusum = config.tail_h(bucket), config.cusum_h(bucket)
    got = product_thresholds(detectors, {"tail": bursty_tail, "cusum": few}, 4.0, config,
                             bucket)
    assert got["tail"] > 1.5 * base_tail
    factor = (got["tail"] - 1.0) / (base_tail - 1.0)
    assert got["cusum"] == pytest.approx(1.0 + factor * (base_cusum - 1.0))
    # Its own short-history fit (10 to 29 excursions, an upper bound near the model's)
    # does not undo the borrowing, nor does a longer history whose upper quartile holds
    # too few excursions beyond the 12 censored as possible outages of 4 weeks (60: 15
    # <= 24); once it can show a heavy tail (100: 25 > 24), its own fit decides.
    calm_cusum = 1.0 + rng.exponential(1.0, 100)
    for m in (10, 29, 60, 99):
        short = product_thresholds(detectors, {"tail": bursty_tail, "cusum": calm_cusum[:m]},
                                   4.0, config, bucket)
        assert short["cusum"] == pytest.approx(got["cusum"])
    own = product_thresholds(detectors, {"tail": bursty_tail, "cusum": calm_cusum}, 4.0,
                             config, bucket)
    assert own["cusum"] < 1.5 * base_cusum
    # In hindsight (retrospective mode) each detector is calibrated on its own.
    retro = product_thresholds(detectors, {"tail": bursty_tail, "cusum": few}, 4.0, config,
                               bucket, hindsight=True)
    assert retro == {"tail": got["tail"], "cusum": base_cusum}
    # Calm tail scores: nothing to borrow.
    calm = 1.0 - np.log(1.0 - (np.arange(60) + 0.5) / 60) / np.log(10.0)  # its quantiles
    same = product_thresholds(detectors, {"tail": calm, "cusum": few}, 4.0, config, bucket)
    assert same == {"tail": base_tail, "cusum": base_cusum}
    # An explicit threshold is kept; no calibration at all when it is switched off.
    fixed = DetectionConfig(cusum_threshold=9.0)
    assert product_thresholds(detectors, {"tail": bursty_tail, "cusum": few}, 4.0, fixed,
                              bucket)["cusum"] == 9.0
    off = DetectionConfig(calibrate=False)
    assert product_thresholds(detectors, {"tail": bursty_tail, "cusum": few}, 4.0, off,
                              bucket) == {"tail": base_tail, "cusum": base_cusum}


def test_inflation_measures_autocorrelated_noise() -> None:
    rng = np.random.default_rng(7)
    index = pd.date_range("2026-01-05", periods=288 * 14, freq="5min", tz="UTC")
    independent = rng.poisson(30.0, len(index)).astype(float)
    # A rate wobble that persists for hours: the same NB variance per bucket, but hourly
    # sums vary far more than independent buckets would.
    slow = np.repeat(rng.gamma(20, 1 / 20, len(index) // 24 + 1), 24)[: len(index)]
    persistent = rng.poisson(30.0 * slow).astype(float)
    counts = pd.DataFrame({"iid": independent, "slow": persistent}, index=index)
    base = fit_baseline(counts, BUCKET)
    assert base.inflation["iid"] == pytest.approx(1.0, abs=0.3)
    assert base.inflation["slow"] > 3.0


@pytest.mark.parametrize("bad", [np.inf, -1.0])
def test_pipeline_refuses_impossible_counts(bad: float) -> None:
    from spikes.detect.pipeline import analyze
    from spikes.errors import SpikesInputError
    from tests.conftest import as_data

    counts = diurnal_counts(days=3)
    counts.iloc[5, 0] = bad
    with pytest.raises(SpikesInputError, match="expected a finite count >= 0"):
        analyze(as_data(counts))


@pytest.mark.parametrize(("total", "base", "alpha"),
                         [(12, 4.0, 0.0), (30, 10.0, 0.2), (2, 0.2, 0.0), (3, 0.001, 0.5)])
def test_scalar_and_array_tails_agree(total: int, base: float, alpha: float) -> None:
    from spikes.detect.noise import total_surprise

    array = upper_tail_surprise(np.array([float(total)]), np.array([base]), np.array([alpha]),
                                prefilter_z=-np.inf)[0]
    assert total_surprise(total, base, alpha) == pytest.approx(array, rel=1e-9)
    assert total_surprise(0, base, alpha) == 0.0


def test_score_overrides_keep_every_products_noise_model() -> None:
    from spikes.config import DetectionConfig
    from spikes.detect.pipeline import score_reports
    from tests.conftest import as_data

    counts = diurnal_counts(days=7, products=2)
    scored = score_reports(as_data(counts),
                           DetectionConfig(overrides={"p1": {"cusum_ratio": 2.0}}))
    assert scored.detectors["p1"]["cusum"].ratio == 2.0
    assert scored.detectors["p0"]["cusum"].ratio == 3.0
    assert list(scored.baseline.inflation.index) == ["p0", "p1"]
    assert scored.baseline.inflation.notna().all()


def test_seasonal_binseg_matches_ruptures_binseg() -> None:
    """The vectorised split search gives ruptures' own Binseg breakpoints."""
    import ruptures as rpt

    from spikes.detect.detectors.onset import CostSeasonalPoisson, SeasonalBinseg

    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(2, 50))
        mu = rng.uniform(0.05, 50.0, n)
        jump = np.where(np.arange(n) >= rng.integers(0, n), rng.uniform(1.0, 10.0), 1.0)
        y = rng.poisson(mu * jump).astype(float)
        if rng.random() < 0.2:
            y[rng.integers(0, n)] = np.nan
        signal = np.column_stack([y, mu])
        pen = float(rng.uniform(1.0, 20.0))
        reference = rpt.Binseg(custom_cost=CostSeasonalPoisson(), min_size=1, jump=1)
        assert SeasonalBinseg().fit(signal).predict(pen=pen) == \
            reference.fit(signal).predict(pen=pen)


def test_split_search_is_the_same_above_the_tabulated_length() -> None:
    """Long signals search splits without the table of segment costs: same result."""
    from spikes.detect.detectors.onset import CostSeasonalPoisson

    rng = np.random.default_rng(4)
    n = CostSeasonalPoisson.TABLE_SAMPLES + 88
    mu = rng.uniform(0.05, 50.0, n)
    y = rng.poisson(mu * np.where(np.arange(n) > 300, 3.0, 1.0)).astype(float)
    signal = np.column_stack([y, mu])
    long_cost = CostSeasonalPoisson().fit(signal)
    for start, end in [(0, n), (10, n - 5), (250, 400), (0, 2)]:
        short_cost = CostSeasonalPoisson().fit(signal[start:end])
        split, gain = long_cost.best_split(start, end)
        short_split, short_gain = short_cost.best_split(0, end - start)
        assert split == start + short_split
        assert gain == pytest.approx(short_gain, rel=1e-9)
        gains = [long_cost.error(start, end) - long_cost.error(start, s) - long_cost.error(s, end)
                 for s in range(start + 1, end)]
        assert gain == pytest.approx(max(gains), rel=1e-9)
    assert long_cost._table is None  # never tabulated


def _flat(level: float, rise: float, start: int, length: int, n: int = 288 * 3) -> tuple:
    """Counts at exactly `level` a bucket but `level * rise` over ``[start, start +
    length)``, with a flat baseline at `level` (no noise: the charts' arithmetic only)."""
    mu = np.full((n, 1), level)
    y = mu.copy()
    y[start : start + length] *= rise
    return y, mu, np.zeros((n, 1))


def test_the_steep_chart_proves_a_tenfold_rise_of_a_quiet_product_sooner() -> None:
    # 0.1 reports a bucket, then 1 a bucket: each report is worth ln 10 nats to the steep
    # chart against ln 3 to the threefold CUSUM, so it crosses its threshold (the
    # CUSUM's plus ln 2) first, though it asks for more.
    y, mu, alpha = _flat(0.1, 10.0, 288, 40)
    cfg = DetectionConfig()
    steep, cusum = SteepCusumDetector(ratio=10.0), CusumDetector(ratio=3.0)
    h = cfg.cusum_h(BUCKET)
    assert steep.default_threshold(cfg, BUCKET) == pytest.approx(h + np.log(2.0))

    def crossing(det: CusumDetector, threshold: float) -> int:
        s = np.cumsum(det.evidence(y, mu, alpha)[:, 0])
        s -= np.minimum(np.minimum.accumulate(s), 0.0)
        return int(np.argmax(s >= threshold))

    first_steep = crossing(steep, steep.default_threshold(cfg, BUCKET))
    first_cusum = crossing(cusum, h)
    assert 288 < first_steep < first_cusum


def test_the_steep_chart_gathers_nothing_where_a_bucket_expects_a_report() -> None:
    # At 5 reports a bucket a tenfold rise is improbable in its first bucket (the tail
    # detector's case): the steep chart only drains there.
    y, mu, alpha = _flat(5.0, 10.0, 288, 40)
    evidence = SteepCusumDetector(ratio=10.0).evidence(y, mu, alpha)
    assert (evidence <= 0).all()
    assert (CusumDetector(ratio=10.0).evidence(y, mu, alpha)[288:328] > 0).all()


def test_the_steep_chart_is_off_at_or_below_the_cusum_ratio() -> None:
    counts = diurnal_counts(days=3, seed=2)
    base = fit_baseline(counts, BUCKET)
    off = SteepCusumDetector.for_config(DetectionConfig(steep_ratio=0))
    assert off.off and (off.score(counts, base).to_numpy() == 0).all()
    assert off.default_threshold(DetectionConfig(), BUCKET) == np.inf
    assert SteepCusumDetector.for_config(DetectionConfig(steep_ratio=3.0)).off
    assert not SteepCusumDetector.for_config(DetectionConfig()).off


# --- found by a hunt of the library's API (each failed before) ---------------------------
def test_scores_refuse_counts_that_are_not_their_baselines() -> None:
    # Scored by position: swapped columns scored each product against the other's.
    from spikes.errors import SpikesInputError

    counts = diurnal_counts(days=3, products=2)
    baseline = fit_baseline(counts, BUCKET)
    for detector in (CountTailDetector(), CusumDetector(), SteepCusumDetector()):
        assert detector.score(counts, baseline).shape == counts.shape
        with pytest.raises(SpikesInputError, match="in another order"):
            detector.score(counts[counts.columns[::-1]], baseline)
        with pytest.raises(SpikesInputError, match="not the same"):
            detector.score(counts[counts.columns[:1]], baseline)
        with pytest.raises(SpikesInputError, match="buckets"):
            detector.score(counts.iloc[:100], baseline)


@pytest.mark.parametrize("ratio", [0.5, 1, 0, -1.0, "3", None, True])
def test_a_chart_looks_for_a_rise(ratio) -> None:
    from spikes.errors import SpikesInputError

    with pytest.raises(SpikesInputError, match="ratio must be a number above 1"):
        CusumDetector(ratio=ratio)


def test_detectors_rebuild_from_their_parameters() -> None:
    for detector in (CusumDetector(ratio=2.5), SteepCusumDetector(ratio=12),
                     SteepCusumDetector(ratio=None), CountTailDetector()):
        clone = type(detector)(**detector.get_params())
        assert clone.get_params() == detector.get_params()
        assert getattr(clone, "off", False) == getattr(detector, "off", False)
