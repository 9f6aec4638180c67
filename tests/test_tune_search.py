"""Tests of spikes.evaluation.tune.search and .space: the search, the searched settings,
per-product groups; and the package's re-exports."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import spikes.evaluation.tune as tune_package
from spikes.config import DetectionConfig, load_config
from spikes.errors import SpikesInputError
from spikes.evaluation.tune.report import tuned_toml
from spikes.evaluation.tune.search import tune
from spikes.evaluation.tune.space import SEARCH_SPACE, Param
from tests.conftest import TUNE_BUDGET, as_data, diurnal_counts, sim_data, with_outage


def test_the_package_gives_every_name_of_its_modules() -> None:
    from spikes.evaluation.tune import evaluator, report, results, search, space, split

    for name in tune_package.__all__:
        assert getattr(tune_package, name) is not None, name
    assert tune_package.tune is search.tune
    assert tune_package.Param is space.Param
    assert tune_package.TimeSplit is split.TimeSplit
    assert tune_package.evaluate_config is evaluator.evaluate_config
    assert tune_package.TuningResult is results.TuningResult
    assert tune_package.tuned_toml is report.tuned_toml


# --- search ----------------------------------------------------------------------------
def test_search_is_at_least_as_good_as_defaults_on_train(small_result) -> None:
    r = small_result
    assert 1 < len(r.trials) <= TUNE_BUDGET
    assert r.trials["phase"].iloc[0] == "base"
    assert r.config_of(0) == DetectionConfig()
    base = r.trials.iloc[0]
    assert r.tuned.train.f1 >= r.defaults.train.f1
    assert r.tuned.train.f1 == pytest.approx(r.trials["objective"].max())
    assert math.isclose(base["train_f1"], r.defaults.train.f1)
    assert r.pareto["chosen"].sum() == 1
    assert int(r.pareto.loc[r.pareto["chosen"], "trial"].iloc[0]) == r.chosen
    assert not r.interrupted


def test_search_is_seeded(small_sim, small_result) -> None:
    again = tune(sim_data(small_sim), small_sim.labels, budget=TUNE_BUDGET, seed=0)
    cols = [p.name for p in SEARCH_SPACE] + ["train_f1", "val_f1"]
    pd.testing.assert_frame_equal(again.trials[cols], small_result.trials[cols])


def test_constraint_makes_trials_infeasible(small_sim) -> None:
    r = tune(sim_data(small_sim), small_sim.labels, budget=4, seed=1,
             objective="recall_at_fa", max_false_alarms_per_week=0.0)
    rates = r.trials["train_false_alarms_per_product_week"]
    assert (r.trials["feasible"] == (rates <= 0.0)).all()
    if r.trials["feasible"].any():
        assert r.tuned.train.false_alarms_per_product_week == 0.0
    else:
        assert any("no trial keeps" in n for n in r.notes)


@pytest.mark.parametrize("kwargs, message", [
    ({"objective": "auc"}, "objective"),
    ({"objective": "recall_at_fa"}, "needs a limit"),
    ({"budget": 0}, "budget"),
    ({"split": 1.0}, "split"),
    ({"max_false_alarms_per_week": -1.0}, "max_false_alarms_per_week"),
])
def test_bad_settings_raise(small_sim, kwargs, message) -> None:
    with pytest.raises(SpikesInputError, match=message):
        tune(sim_data(small_sim), small_sim.labels, **kwargs)


def test_labels_of_other_data_raise(small_sim) -> None:
    labels = small_sim.labels.assign(product="Nothing")
    with pytest.raises(SpikesInputError, match="none of the 5 products"):
        tune(sim_data(small_sim), labels, budget=2)


def test_ctrl_c_keeps_best_so_far(small_sim) -> None:
    def stop(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    r = tune(sim_data(small_sim), small_sim.labels, budget=TUNE_BUDGET, seed=0, callback=stop)
    assert r.interrupted and len(r.trials) == 3
    # The best so far, unless it beats the base by less than one label's worth.
    best, base = r.trials["objective"].max(), r.trials["objective"].iloc[0]
    expected = best if best - base >= 1 / r.defaults.train.n_labels else base
    assert r.tuned.train.f1 == pytest.approx(expected)
    assert any("interrupted" in n for n in r.notes)


@pytest.mark.parametrize("base_f1, best_f1, n_labels, feasible, noise", [
    (0.80, 0.81, 40, True, True),     # +0.01 < 1/40
    (0.80, 0.83, 40, True, False),    # +0.03 >= 1/40
    (0.80, 0.85, 10, True, True),     # +0.05 < 1/10
    (0.80, 0.81, 40, False, False),   # an infeasible base is no reference
])
def test_gain_smaller_than_one_label_is_noise(base_f1, best_f1, n_labels, feasible,
                                              noise) -> None:
    from spikes.evaluation.tune.search import gain_is_noise

    base = {"objective": base_f1, "train_n_labels": n_labels, "feasible": feasible}
    best = {"objective": best_f1, "train_n_labels": n_labels, "feasible": True}
    assert gain_is_noise(best, base) is noise


# --- the searched settings -------------------------------------------------------------
@pytest.mark.parametrize("param, value, direction, expected", [
    (Param("min_buckets", 1, 4, "int"), 2, 1, 3),
    (Param("min_buckets", 1, 4, "int"), 4, 1, 4),
    (Param("cusum_ratio", 1.5, 5, "grid", (1.5, 2.0, 3.0)), 2.0, -1, 1.5),
    (Param("merge_gap", 15, 180, "minutes"), "15min", -1, "15min"),
])
def test_param_steps_stay_in_range(param, value, direction, expected) -> None:
    assert param.step(value, direction, 1.0) == expected


@pytest.mark.parametrize("param", SEARCH_SPACE)
def test_samples_lie_in_range(param) -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        value = param.sample(rng)
        number = pd.Timedelta(value) / pd.Timedelta("1min") if isinstance(value, str) else value
        assert param.low <= number <= param.high + 1e-9
        DetectionConfig(**{param.name: value})  # a valid setting


# --- labels and per-product groups -----------------------------------------------------
def test_no_label_in_training_slice_raises(small_sim) -> None:
    late = small_sim.labels[small_sim.labels["onset"] > "2026-01-11"]
    with pytest.raises(SpikesInputError, match="training slice"):
        tune(sim_data(small_sim), late, budget=2, split=0.3)


def test_per_product_groups_outlying_volume(tmp_path: Path) -> None:
    counts = diurnal_counts(days=12, products=4, seed=2, level=30)
    counts["big"] = diurnal_counts(days=12, products=1, seed=9, level=3000)["p0"]
    t = counts.index
    rows = []
    for k, day in enumerate((1, 2, 3, 4, 5, 8, 9)):
        start = day * 288 + 100 + 7 * k
        counts = with_outage(counts, "big", start=start, length=10, ratio=1.6, seed=k)
        rows.append(("big", t[start], t[start + 9]))
    labels = pd.DataFrame(rows, columns=["product", "onset", "end"])
    r = tune(as_data(counts), labels, budget=3, seed=0, per_product=True)
    if r.groups:
        assert r.groups == {"high volume": ["big"]}
        assert set(r.config.overrides) == {"big"}
        assert r.tuned.train.f1 > r.trials["objective"].max()
    path = tmp_path / "tuned.toml"
    path.write_text(tuned_toml(r))
    assert load_config(path) == r.config
