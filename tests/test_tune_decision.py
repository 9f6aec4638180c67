"""Tests of spikes.evaluation.tune.decision: objectives on counts and the adopt rule."""

from __future__ import annotations

import numpy as np
import pytest

from spikes.evaluation.tune.decision import Goal, decide, utility


def _units(n_units: int, labels: int = 2) -> tuple[np.ndarray, np.ndarray]:
    return np.full(n_units, float(labels)), np.full(n_units, 1.0)


def test_noise_gain_keeps_the_base() -> None:
    rng = np.random.default_rng(0)
    n, weeks = _units(40)
    base_tp = rng.binomial(2, 0.8, 40).astype(float)
    base_fp = rng.poisson(0.2, 40).astype(float)
    tuned_tp = base_tp.copy()
    tuned_tp[3] = min(tuned_tp[3] + 1, 2)  # one label more ...
    tuned_fp = base_fp.copy()
    tuned_fp[7] += 1  # ... and one false alarm more: noise
    d = decide(Goal(), (base_tp, base_fp), (tuned_tp, tuned_fp), n, weeks, seed=1)
    assert not d.adopted
    assert d.low <= 0 and d.reason.startswith("kept the base settings")
    assert f"{d.base:.3f}" in d.reason and f"{d.tuned:.3f}" in d.reason


def test_clear_gain_is_adopted() -> None:
    n, weeks = _units(40)
    base_tp, base_fp = np.full(40, 1.0), np.full(40, 1.0)  # half the labels, many FA
    tuned_tp, tuned_fp = np.full(40, 2.0), np.zeros(40)
    d = decide(Goal(), (base_tp, base_fp), (tuned_tp, tuned_fp), n, weeks, seed=1)
    assert d.adopted and d.low > 0 and d.gain >= d.margin
    assert d.reason.startswith("adopted the tuned settings")


def test_gain_under_one_label_is_kept_even_if_the_interval_is_positive() -> None:
    n, weeks = _units(200, labels=5)
    base_tp, base_fp = np.full(200, 5.0), np.zeros(200)
    base_fp[0] = 1.0  # one false alarm in 1,000 labels
    tuned_tp, tuned_fp = base_tp.copy(), np.zeros(200)
    d = decide(Goal(), (base_tp, base_fp), (tuned_tp, tuned_fp), n, weeks, seed=1)
    assert 0 < d.gain < d.margin
    assert not d.adopted and "one label's worth" in d.reason


def test_force_adopts_and_says_so() -> None:
    n, weeks = _units(10)
    same = (np.full(10, 2.0), np.zeros(10))
    d = decide(Goal(), same, same, n, weeks, forced=True)
    assert d.adopted and "--force" in d.reason


@pytest.mark.parametrize("goal, tp, fp, better_tp, better_fp", [
    (Goal("f1"), 5, 5, 8, 2),
    (Goal("recall_at_fa", max_false_alarms_per_week=0.5), 9, 9, 8, 1),  # within the limit
    (Goal("fa_at_recall", min_recall=0.7), 6, 0, 8, 3),  # recall reached first
    (Goal("fa_at_recall", min_recall=0.7), 8, 5, 8, 2),  # then fewer false alarms
])
def test_objectives_order_outcomes(goal, tp, fp, better_tp, better_fp) -> None:
    n, weeks = 10.0, 10.0
    assert utility(goal, better_tp, better_fp, n, weeks) > utility(goal, tp, fp, n, weeks)


def test_a_score_with_penalties_is_named_and_shown_with_its_figures() -> None:
    # The line said "validation recall_at_fa -0.153" (a recall less a penalty) and "one
    # label's worth" of a false-alarm objective: neither readable as what it named.
    n, weeks = _units(20)
    base, tuned = (np.full(20, 1.0), np.full(20, 1.0)), (np.full(20, 2.0), np.full(20, 1.0))
    d = decide(Goal("recall_at_fa", max_false_alarms_per_week=0.1), base, tuned, n, weeks)
    assert ("validation recall_at_fa score (recall, less the false alarms per product-week "
            "over 0.1 in units of that limit)") in d.reason
    assert "tuned recall 1.000, precision 0.667, 1.000 FA/pw" in d.reason
    assert "base recall 0.500, precision 0.500, 1.000 FA/pw" in d.reason
    assert f"{d.tuned:.3f} tuned" in d.reason and d.tuned < 0  # the penalised score
    d = decide(Goal("fa_at_recall", min_recall=0.9), base, tuned, n, weeks)
    assert "one false alarm's worth" in d.reason and "one label's worth" not in d.reason
    assert "less 10 per unit of recall under 0.9" in d.reason
    d = decide(Goal("f1"), base, tuned, n, weeks)  # a plain F1 is what it says
    assert "validation f1 " in d.reason and "FA/pw" not in d.reason
