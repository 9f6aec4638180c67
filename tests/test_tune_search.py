"""Tests of spikes.evaluation.tune.search and .space: the procedure, the adopt rule on
data, the objectives, ``force``, per-product thresholds; and the package's re-exports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import spikes.evaluation.tune as tune_package
from spikes.config import DetectionConfig
from spikes.errors import SpikesInputError
from spikes.evaluation.tune.search import tune
from spikes.evaluation.tune.space import SEARCH_SPACE, Param, distance, tuned_settings
from tests.conftest import TUNE_BUDGET, sim_data


def test_the_package_gives_every_name_of_its_modules() -> None:
    from spikes.evaluation.tune import decision, evaluator, report, results, search, space, split

    for name in tune_package.__all__:
        assert getattr(tune_package, name) is not None, name
    assert tune_package.tune is search.tune
    assert tune_package.Param is space.Param
    assert tune_package.Folds is split.Folds
    assert tune_package.evaluate_config is evaluator.evaluate_config
    assert tune_package.TuningResult is results.TuningResult
    assert tune_package.tuned_toml is report.tuned_toml
    assert tune_package.decide is decision.decide


@pytest.fixture(scope="module")
def major_only():
    """Labels of another definition than the defaults': only outages of peak >= 10x, so
    that the defaults' smaller incidents count as false alarms."""
    from spikes.evaluation.simulate import simulate

    sim = simulate(products=8, days=14, seed=4, outage_rate_per_week=4.5)
    return sim_data(sim), sim.labels[sim.labels["ratio"] >= 10.0].reset_index(drop=True)


@pytest.fixture(scope="module")
def major_result(major_only):
    data, labels = major_only
    return tune(data, labels, budget=60, seed=0)


# --- the procedure and the decision ------------------------------------------------------
def test_result_reports_folds_and_a_decision(small_result) -> None:
    r = small_result
    assert 1 < len(r.trials) <= TUNE_BUDGET
    assert r.trials["phase"].iloc[0] == "base"
    assert r.config_of(0) == DetectionConfig()
    assert r.folds.n_folds == 3
    folds = r.fold_scores[r.fold_scores["fold"] != "all"]
    assert sorted(set(folds["fold"])) == ["1", "2", "3"]
    assert set(folds["slice"]) == {"train", "validation"}
    # every fold validates on the block right after its training blocks
    for row in folds[folds["slice"] == "validation"].to_dict("records"):
        train = folds[(folds["fold"] == row["fold"]) & (folds["slice"] == "train")].iloc[0]
        assert row["from"] == train["to"] and row["to"] > row["from"]
    assert r.decision is not None and r.decision.reason
    assert (r.config == r.best_config) if r.adopted else (r.config == r.base)
    assert "alert delay median (min)" in r.fold_scores


def test_defaults_kept_when_the_labels_follow_them(small_sim, small_result) -> None:
    # Simulated labels follow the defaults' definition: any gain is within noise.
    r = tune(sim_data(small_sim), small_sim.labels, budget=60, seed=0)
    assert not r.adopted and r.config == DetectionConfig()
    assert r.decision.reason.startswith("kept the base settings")
    assert r.decision.low <= 0 or r.decision.gain < r.decision.margin


def test_adopted_when_the_labels_follow_another_definition(major_result) -> None:
    r = major_result
    assert r.adopted, r.decision.reason
    assert r.decision.low > 0 and r.decision.gain >= r.decision.margin
    assert r.config == r.best_config != DetectionConfig()
    # Better on validation by more than one label's worth (the decision's unit), and by
    # precision: the defaults' smaller incidents were the false alarms.
    assert r.tuned.validation.f1 > r.defaults.validation.f1 + r.decision.margin
    assert r.tuned.validation.precision > r.defaults.validation.precision
    # fewer small incidents: a higher ratio or a rarer threshold
    assert (r.config.min_ratio > 2.0 or r.config.false_alarms_per_week < 0.1
            or r.config.min_excess_reports > 5.0)


def test_search_is_deterministic(small_sim, small_result) -> None:
    again = tune(sim_data(small_sim), small_sim.labels, budget=TUNE_BUDGET, seed=0)
    cols = [p.name for p in SEARCH_SPACE] + ["all_f1", "val_f1"]
    pd.testing.assert_frame_equal(again.trials[cols], small_result.trials[cols])
    assert again.decision == small_result.decision


def test_force_writes_the_best_trial(major_only, small_sim) -> None:
    data, labels = major_only
    # Half the labels: a search whose best trial the rule alone would not adopt (its
    # gain is under a label's worth); force writes it, and says so.
    r = tune(data, labels.iloc[: len(labels) // 2], budget=30, seed=0, force=True)
    assert r.config == r.best_config
    assert r.best_config != r.base
    assert r.adopted and "--force" in r.decision.reason
    assert "not shown to help" in r.decision.reason


# --- objectives ------------------------------------------------------------------------
def test_objective_recall_at_fa_keeps_false_alarms_within_the_limit(major_only) -> None:
    data, labels = major_only
    r = tune(data, labels, budget=60, objective="recall_at_fa", max_false_alarms_per_week=0.2)
    chosen = r.trials[r.trials["trial"] == r.chosen].iloc[0]
    feasible = r.trials[r.trials["feasible"]]
    # The limit binds: the base breaks it, other settings meet it, and some that break it
    # find more (the choice is not the best recall whatever its false alarms).
    assert r.chosen != 0 and len(feasible) and not r.trials.iloc[0]["feasible"]
    assert (r.trials.loc[~r.trials["feasible"].astype(bool), "all_recall"]
            > chosen["all_recall"]).any()
    if r.chosen != 0 and len(feasible):
        assert chosen["all_false_alarms_per_product_week"] <= 0.2 + 1e-9
    assert "recall_at_fa" in r.decision.reason


def test_objective_fa_at_recall_reaches_the_recall(small_sim) -> None:
    r = tune(sim_data(small_sim), small_sim.labels, budget=60, objective="fa_at_recall",
             min_recall=0.5)
    chosen = r.trials[r.trials["trial"] == r.chosen].iloc[0]
    base = r.trials.iloc[0]
    if base["all_recall"] >= 0.5:
        assert chosen["all_recall"] >= 0.5
        assert chosen["all_fp"] <= base["all_fp"]
    assert "fa_at_recall" in r.decision.reason


def test_objective_f1_never_chooses_worse_than_base_on_all_blocks(small_result) -> None:
    t = small_result.trials
    chosen = t[t["trial"] == small_result.chosen].iloc[0]
    assert chosen["objective"] >= t.iloc[0]["objective"]


@pytest.mark.parametrize("kwargs, message", [
    ({"objective": "auc"}, "objective"),
    ({"objective": "recall_at_fa"}, "needs a limit"),
    ({"objective": "fa_at_recall"}, "needs a minimum"),
    ({"budget": 0}, "budget"),
    ({"folds": 0}, "folds"),
    ({"min_recall": 1.5}, "min_recall"),
    ({"max_false_alarms_per_week": -1.0}, "max_false_alarms_per_week"),
    ({"early_allowance": "soon"}, "early_allowance: 'soon' is not a duration"),
    ({"early_allowance": "-5min"}, "early_allowance: '-5min' must be a duration >= 0"),
])
def test_bad_settings_raise(small_sim, kwargs, message) -> None:
    with pytest.raises(SpikesInputError, match=message):
        tune(sim_data(small_sim), small_sim.labels, **kwargs)


def test_labels_in_the_training_block_only_raise(small_sim) -> None:
    # Every label in the first block, which only trains: tune decided on no validation
    # label at all ("kept the base settings ... 0 validation labels") and said nothing.
    data = sim_data(small_sim)
    first = data.counts.index[0] + (data.counts.index[-1] - data.counts.index[0]) / 5
    early = small_sim.labels[pd.to_datetime(small_sim.labels["onset"], utc=True) < first]
    assert len(early)
    with pytest.raises(SpikesInputError, match="no labelled outage starts in a validation"):
        tune(data, early, budget=2)


def test_labels_of_other_data_raise(small_sim) -> None:
    labels = small_sim.labels.assign(product="Nothing")
    with pytest.raises(SpikesInputError, match="none of the 5 products"):
        tune(sim_data(small_sim), labels, budget=2)


def test_ctrl_c_completes_with_the_trials_so_far(small_sim) -> None:
    def stop(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    r = tune(sim_data(small_sim), small_sim.labels, budget=TUNE_BUDGET, seed=0, callback=stop)
    assert r.interrupted and len(r.trials) == 3
    assert any("interrupted" in n for n in r.notes)
    assert r.decision is not None


# --- the searched settings ---------------------------------------------------------------
@pytest.mark.parametrize("n_labels, expected", [
    (0, ("false_alarms_per_week", "min_ratio")),
    (19, ("false_alarms_per_week", "min_ratio")),
    (30, ("false_alarms_per_week", "min_ratio", "min_excess_reports")),
    (500, tuple(p.name for p in SEARCH_SPACE)),
])
def test_fewer_settings_with_fewer_labels(n_labels, expected) -> None:
    assert tuned_settings(n_labels) == expected


def test_few_labels_tune_only_the_thresholds(small_result) -> None:
    coordinate = small_result.trials[small_result.trials["phase"] == "coordinate"]
    base = small_result.trials.iloc[0]
    n = small_result.defaults.train.n_labels
    untouched = [p.name for p in SEARCH_SPACE if p.name not in tuned_settings(n)]
    for name in untouched:
        assert (small_result.trials[name].astype(str) == str(base[name])).all(), name
    assert set(small_result.trials["phase"]) <= {"base", "grid", "coordinate"}
    assert len(coordinate) <= len(small_result.trials)


def test_distance_is_zero_at_the_base_and_grows() -> None:
    base = {p.name: p.grid[1] for p in SEARCH_SPACE}
    assert distance(base, base) == 0
    near = {**base, "min_ratio": 2.5}
    far = {**base, "min_ratio": 10.0}
    assert 0 < distance(near, base) < distance(far, base)


@pytest.mark.parametrize("param, value, direction, expected", [
    (Param("min_buckets", 1, 4, "grid", (1.0, 2.0, 3.0, 4.0)), 2, 1, 3.0),
    (Param("cusum_ratio", 1.5, 5, "grid", (1.5, 2.0, 3.0)), 2.0, -1, 1.5),
])
def test_param_steps_stay_on_the_grid(param, value, direction, expected) -> None:
    assert param.step(value, direction, 1.0) == expected


@pytest.mark.parametrize("param", SEARCH_SPACE)
def test_grid_values_are_valid_settings(param) -> None:
    from spikes.evaluation.tune.space import typed

    rng = np.random.default_rng(0)
    for _ in range(10):
        value = typed(param.name, param.sample(rng))
        DetectionConfig(**{param.name: value})


# --- per-product thresholds ----------------------------------------------------------------
def test_per_product_only_for_products_with_enough_labels() -> None:
    from spikes.evaluation.simulate import simulate
    from spikes.evaluation.tune.search import PRODUCT_MIN_LABELS

    # Four products over ten days: two labelled with every outage, two with the major
    # ones only (10x or more), which fewer settings suit. Searched near a base of
    # min_ratio 4 (10 trials): "Service 03" (28 labels) and "Service 04" (31) have
    # labels enough for thresholds of their own, "Service 02" (15) not; only "Service
    # 03" beats the shared settings on its own labels by a label's worth.
    sim = simulate(products=4, days=10, seed=10, outage_rate_per_week=25.0)
    labels = sim.labels
    major_only = labels["product"].isin(["Service 01", "Service 02"])
    labels = labels[~major_only | (labels["ratio"] >= 10.0)].reset_index(drop=True)
    counts = labels["product"].value_counts()
    assert counts["Service 03"] >= PRODUCT_MIN_LABELS > counts["Service 02"]
    r = tune(sim_data(sim), labels, base=DetectionConfig(min_ratio=4.0), budget=10, seed=0,
             per_product=True)
    assert set(r.groups) == {"Service 03"}
    assert set(r.best_config.overrides) == {"Service 03"}
    own = r.best_config.overrides["Service 03"]
    assert set(own) == {"false_alarms_per_week", "min_ratio"}
    assert (own["false_alarms_per_week"], own["min_ratio"]) != (
        r.best_config.false_alarms_per_week, r.best_config.min_ratio)
    # It says what it did (it said nothing, even where no product had labels enough).
    able = int((counts >= PRODUCT_MIN_LABELS).sum())
    [note] = [n for n in r.notes if n.startswith("per product: ")]
    assert note == (f"per product: {able} product(s) with {PRODUCT_MIN_LABELS} labels or "
                    "more; 'Service 03' got thresholds of their own")


def test_per_product_says_when_no_product_has_labels_enough(small_sim) -> None:
    from spikes.evaluation.tune.search import PRODUCT_MIN_LABELS

    labels = small_sim.labels
    assert labels["product"].value_counts().max() < PRODUCT_MIN_LABELS
    r = tune(sim_data(small_sim), labels, budget=TUNE_BUDGET, seed=0, per_product=True)
    assert r.groups == {} and not r.best_config.overrides
    [note] = [n for n in r.notes if n.startswith("per product: ")]
    assert f"no product has {PRODUCT_MIN_LABELS} labels of its own" in note


# --- matching and budget ------------------------------------------------------------------
def test_early_allowance_reaches_the_matching(small_sim) -> None:
    # Labels 5 minutes after each incident of the defaults: every incident is 5 minutes
    # early, a match with the default 10-minute allowance, none with 0 (window labels).
    from spikes.detect.pipeline import find_incidents, score_reports
    from spikes.evaluation.evaluate import validate_labels
    from spikes.evaluation.tune.split import forward_folds
    from spikes.evaluation.tune.tallies import TrialSet

    data = sim_data(small_sim)
    scored = score_reports(data, DetectionConfig())
    found = find_incidents(scored, DetectionConfig())
    assert len(found) >= 5
    later = validate_labels(pd.DataFrame({
        "product": found["product"], "onset": found["onset"] + pd.Timedelta("5min"),
        "end": found["onset"] + pd.Timedelta("35min")}))
    folds = forward_folds(data.counts.index, data.bucket, 3)
    lenient = TrialSet(scored, later, folds).tally(DetectionConfig())
    strict = TrialSet(scored, later, folds, pd.Timedelta(0)).tally(DetectionConfig())
    assert lenient.tp.sum() == len(found) and lenient.fp.sum() == 0
    assert strict.tp.sum() == 0 and strict.fp.sum() == len(found)
    r = tune(data, later, budget=2, seed=0, early_allowance="0min")
    assert r.trials["all_tp"].iloc[0] == 0


def test_the_budget_never_cuts_the_search_whose_settings_are_written(monkeypatch) -> None:
    """The search on all blocks runs first: a budget of just the trials it needs still
    writes its settings (the fold, which searches from a choice of its own, is the one
    cut short)."""
    from spikes.detect.pipeline import score_reports
    from spikes.evaluation.evaluate import validate_labels
    from spikes.evaluation.simulate import simulate
    from spikes.evaluation.tune.decision import Goal
    from spikes.evaluation.tune.search import _Search
    from spikes.evaluation.tune.split import forward_folds
    from spikes.evaluation.tune.tallies import Tally, TrialSet

    # A week of three products, one fold: in the first block (the fold's training) only
    # outages of 45 minutes or more are labelled, in the second every one. The fold
    # then starts its coordinate search from a grid point of its own, and the search on
    # all blocks ends beyond the grid (49 labels: 4 tuned settings). Searched first, the
    # fold used up the budget on its own trials and the settings written were a grid
    # point (with every outage labelled, this test's former data, the folds ran the
    # trials the final search needed, and the wrong order passed as well).
    sim = simulate(products=3, days=7, seed=4, outage_rate_per_week=24.0)
    data = sim_data(sim)
    folds = forward_folds(data.counts.index, data.bucket, 1)
    labels = sim.labels
    lasting = labels["end"] - labels["onset"] >= pd.Timedelta("45min")
    labels = validate_labels(labels[lasting | (labels["onset"] >= folds.edges[1])])
    names = tuned_settings(len(labels))
    assert len(names) >= 3  # a coordinate search beyond the grid
    ts = TrialSet(score_reports(data, DetectionConfig()), labels, folds)
    # Both searches below score the same trials on the same data and labels: each
    # trial's tally is computed once (what is tested is the order of the searches and
    # the budget, not the tallies), which halves the test's time.
    tallies: dict[str, Tally] = {}
    tally = TrialSet.tally

    def once(self: TrialSet, config: DetectionConfig) -> Tally:
        key = config.to_toml()
        if key not in tallies:
            tallies[key] = tally(self, config)
        return tallies[key]

    monkeypatch.setattr(TrialSet, "tally", once)

    class _Bar:
        def update(self, _: int) -> None:
            pass

    alone = _Search(ts, DetectionConfig(), Goal("f1"), 10_000, _Bar(), None)
    alone.run(alone.base_params, "base")
    final = alone.choose(range(2), names, per_product=False)
    assert alone.phases[final.trial] == "coordinate"  # settings off the grid
    written = alone.config(final)
    needed = len(alone.params)
    tight = tune(data, labels, budget=needed, seed=0, folds=1)
    assert len(tight.trials) == needed
    assert any("budget" in note for note in tight.notes)
    assert tight.best_config == written


def test_labels_the_search_cannot_score_are_said_to_be_left_out(small_sim) -> None:
    # A label of a product not in the data: no setting can find it, and the search's
    # scores leave it out; the note says so (it said "count as missed", and the tables
    # then showed a recall that had not counted it).
    labels = small_sim.labels
    ghost = labels.iloc[[0]].assign(product="Ghost")
    r = tune(sim_data(small_sim), pd.concat([labels, ghost], ignore_index=True), budget=2,
             seed=0)
    assert ("1 label(s) of products not in the data ('Ghost') are left out of the scores"
            in r.notes)


def test_blocks_under_a_day_are_noted(small_sim) -> None:
    # --folds 500 on two weeks ran 40-minute blocks without a word.
    data = sim_data(small_sim)
    days = (data.counts.index[-1] - data.counts.index[0]) / pd.Timedelta(days=1)
    folds = int(days) + 1  # blocks just under a day (each fold's search costs the same)
    r = tune(data, small_sim.labels, budget=2, seed=0, folds=folds)
    assert any("under a day" in note and "fewer --folds" in note for note in r.notes)
    r = tune(data, small_sim.labels, budget=2, seed=0, folds=3)
    assert not any("under a day" in note for note in r.notes)


def test_folds_that_validate_on_no_label_are_noted(small_sim) -> None:
    # --folds 1000 was accepted and printed folds with 0 labels, their "validation"
    # figures measuring false alarms only, unsaid.
    data = sim_data(small_sim)
    labels = small_sim.labels[small_sim.labels["onset"] < data.counts.index[0]
                              + pd.Timedelta(days=7)]  # none in the last three days
    r = tune(data, labels, budget=2, seed=0, folds=4)
    assert any(note.endswith("folds validate on a block without a label: they measure false "
                             "alarms only; give fewer --folds") for note in r.notes)
    r = tune(data, small_sim.labels, budget=2, seed=0, folds=1)
    assert not any("without a label" in note for note in r.notes)


def test_every_limit_given_is_said_with_the_objective():
    # --min-recall 0.5 --max-false-alarms-per-week 0: the FA limit was left out of the
    # objective's words (it is a hard limit of the choice all the same).
    from spikes.evaluation.tune.decision import Goal

    assert Goal("fa_at_recall", 0.0, 0.5).describe() == \
        "fewest false alarms with at most 0 FA/pw and recall >= 0.5"
    assert Goal("recall_at_fa", 0.2).describe() == "best recall with at most 0.2 FA/pw"
    assert Goal("f1").describe() == "best F1"
    assert Goal("f2", None, 0.8).describe() == "best F2 with recall >= 0.8"


# --- found by a hunt of the evaluation tools (each failed before) ------------------------
def test_a_limit_no_setting_meets_is_said(small_sim) -> None:
    # The choice broke --min-recall 0.99 and nothing said so.
    result = tune(sim_data(small_sim), small_sim.labels, budget=TUNE_BUDGET, seed=0,
                  min_recall=0.99)
    assert any("no setting tried met recall >= 0.99" in n for n in result.notes)


def test_a_retrospective_base_says_its_figures_are_not_out_of_sample(small_sim) -> None:
    result = tune(sim_data(small_sim), small_sim.labels, budget=2, seed=0,
                  base=DetectionConfig(mode="retrospective"))
    assert result.notes[0].startswith("retrospective base settings: detection with hindsight")


def test_no_label_in_a_validation_block_says_why_labels_were_left_out(small_sim) -> None:
    # "all 3 fall before ..." hid 30 labels of a misspelt product.
    labels = small_sim.labels.copy()
    first = labels["onset"] < labels["onset"].min() + pd.Timedelta("1D")
    labels.loc[~first, "product"] = labels.loc[~first, "product"].str.lower()
    with pytest.raises(SpikesInputError, match="left out of the scores"):
        tune(sim_data(small_sim), labels, budget=2, seed=0)
