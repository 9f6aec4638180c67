"""Tests of spikes.evaluation.tune: search, time split, Pareto front, TOML round trip, CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.cli import main
from spikes.config import DetectionConfig, load_config
from spikes.errors import SpikesInputError
from spikes.evaluation.simulate import simulate, write_simulation
from spikes.evaluation.tune import (
    SEARCH_SPACE,
    Param,
    TimeSplit,
    evaluate_config,
    format_pareto,
    format_summary,
    pareto_front,
    slice_product_weeks,
    time_split,
    tune,
    tuned_toml,
)
from spikes.model import ReportData
from tests.conftest import as_data, diurnal_counts, with_outage

BUDGET = 8


def _data(sim) -> ReportData:  # noqa: ANN001
    counts = sim.reports.pivot(index="timestamp", columns="product", values="reports")
    counts.index = pd.DatetimeIndex(counts.index)
    return ReportData(counts=counts.astype(float), bucket=sim.bucket)


@pytest.fixture(scope="module")
def small_sim():
    """Low volume, where the defaults leave room: 5 products, 10 days, seeded."""
    return simulate(products=5, days=10, seed=3, volume="low", outage_rate_per_week=2.0)


@pytest.fixture(scope="module")
def small_result(small_sim):
    return tune(_data(small_sim), small_sim.labels, budget=BUDGET, seed=0)


# --- search ----------------------------------------------------------------------------
def test_search_is_at_least_as_good_as_defaults_on_train(small_result) -> None:
    r = small_result
    assert 1 < len(r.trials) <= BUDGET
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
    again = tune(_data(small_sim), small_sim.labels, budget=BUDGET, seed=0)
    cols = [p.name for p in SEARCH_SPACE] + ["train_f1", "val_f1"]
    pd.testing.assert_frame_equal(again.trials[cols], small_result.trials[cols])


def test_constraint_makes_trials_infeasible(small_sim) -> None:
    r = tune(_data(small_sim), small_sim.labels, budget=4, seed=1,
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
        tune(_data(small_sim), small_sim.labels, **kwargs)


def test_labels_of_other_data_raise(small_sim) -> None:
    labels = small_sim.labels.assign(product="Nothing")
    with pytest.raises(SpikesInputError, match="none of the 5 products"):
        tune(_data(small_sim), labels, budget=2)


def test_ctrl_c_keeps_best_so_far(small_sim) -> None:
    def stop(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    r = tune(_data(small_sim), small_sim.labels, budget=BUDGET, seed=0, callback=stop)
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
    from spikes.evaluation.tune import gain_is_noise

    base = {"objective": base_f1, "train_n_labels": n_labels, "feasible": feasible}
    best = {"objective": best_f1, "train_n_labels": n_labels, "feasible": True}
    assert gain_is_noise(best, base) is noise


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


# --- split -----------------------------------------------------------------------------
def test_time_split_on_bucket_grid() -> None:
    idx = pd.date_range("2026-01-05", periods=14 * 288, freq="5min", tz="UTC")
    s = time_split(idx, pd.Timedelta("5min"), 0.5)
    assert s == TimeSplit(start=idx[0], split=pd.Timestamp("2026-01-12", tz="UTC"),
                          end=pd.Timestamp("2026-01-19", tz="UTC"))
    s = time_split(idx, pd.Timedelta("5min"), 0.3333)
    assert (s.split - s.start) % pd.Timedelta("5min") == pd.Timedelta(0)
    assert s.which(pd.Series([s.split - pd.Timedelta("1s"), s.split])).tolist() == [True, False]


def test_slice_product_weeks_counts_each_product_in_its_slice() -> None:
    counts = diurnal_counts(days=14, products=2, seed=1)
    counts.iloc[-2 * 288:, 1] = np.nan  # p1 stops two days early
    bucket = pd.Timedelta("5min")
    mid = counts.index[0] + pd.Timedelta(days=7)
    end = counts.index[-1] + bucket
    assert slice_product_weeks(counts, bucket, counts.index[0], mid) == pytest.approx(2.0)
    assert slice_product_weeks(counts, bucket, mid, end) == pytest.approx(1 + 5 / 7)
    assert slice_product_weeks(counts, bucket, end, end + bucket) == 0.0


def test_incidents_and_labels_go_to_the_slice_of_their_onset() -> None:
    counts = diurnal_counts(days=14, products=2, seed=5, level=40)
    counts = with_outage(counts, "p0", start=3 * 288 + 150, length=12, ratio=8.0)
    counts = with_outage(counts, "p0", start=10 * 288 + 150, length=12, ratio=8.0)
    counts = with_outage(counts, "p1", start=11 * 288 + 150, length=12, ratio=8.0)
    t = counts.index
    labels = pd.DataFrame({
        "product": ["p0", "p0", "p1"],
        "onset": [t[3 * 288 + 150], t[10 * 288 + 150], t[11 * 288 + 150]],
        "end": [t[3 * 288 + 161], t[10 * 288 + 161], t[11 * 288 + 161]],
    })
    scores, split = evaluate_config(as_data(counts), labels, DetectionConfig(), 0.5)
    assert split.split == t[0] + pd.Timedelta(days=7)
    assert (scores.train.n_labels, scores.validation.n_labels) == (1, 2)
    assert (scores.train.tp, scores.validation.tp) == (1, 2)
    assert scores.train.product_weeks == pytest.approx(2.0)
    assert scores.validation.product_weeks == pytest.approx(2.0)
    # Every detected incident is counted in exactly one slice.
    assert scores.train.n_incidents + scores.validation.n_incidents >= 3
    assert set(scores.train.incident_status["onset"]).isdisjoint(
        scores.validation.incident_status["onset"])
    assert (scores.train.incident_status["onset"] < split.split).all()
    assert (scores.validation.incident_status["onset"] >= split.split).all()


def test_no_label_in_training_slice_raises(small_sim) -> None:
    late = small_sim.labels[small_sim.labels["onset"] > "2026-01-11"]
    with pytest.raises(SpikesInputError, match="training slice"):
        tune(_data(small_sim), late, budget=2, split=0.3)


# --- Pareto front ----------------------------------------------------------------------
def test_pareto_front_keeps_non_dominated_feasible_trials() -> None:
    base = {"phase": "random", "false_alarms_per_week": 0.1, "min_ratio": 2.0,
            "min_buckets": 2, "min_excess_reports": 5.0, "merge_gap": "1h",
            "cusum_ratio": 3.0, "val_recall": 0.5}
    rows = [
        # trial, recall, fp, delay, feasible
        (0, 0.5, 1, 5.0, True),
        (1, 0.8, 2, 5.0, True),   # more recall, more FP: on the front
        (2, 0.5, 2, 5.0, True),   # dominated by 0
        (3, 0.8, 2, 0.0, True),   # dominates 1 (earlier onsets)
        (4, 1.0, 0, 0.0, False),  # infeasible: ignored
        (5, 0.5, 1, 5.0, True),   # same outcome as 0: one row
    ]
    trials = pd.DataFrame([{
        **base, "trial": t, "train_recall": r, "train_tp": int(r * 10), "train_fp": fp,
        "train_false_alarms_per_product_week": fp / 10, "train_delay_median_min": d,
        "train_f1": r, "objective": r, "feasible": f} for t, r, fp, d, f in rows])
    front = pareto_front(trials)
    assert front["trial"].tolist() == [0, 3]


def test_reports_format(small_result) -> None:
    text = format_pareto(small_result)
    assert "Pareto front" in text and "\n*" in text
    summary = format_summary(small_result)
    assert "defaults validation" in summary and "tuned train" in summary


# --- TOML ------------------------------------------------------------------------------
def test_toml_round_trip_with_header(small_result, tmp_path: Path) -> None:
    text = tuned_toml(small_result, ["reports.csv"], "labels.csv")
    path = tmp_path / "tuned.toml"
    path.write_text(text)
    assert load_config(path) == small_result.config
    header = [line for line in text.splitlines() if line.startswith("#")]
    joined = "\n".join(header)
    for needle in ("spikes tune", "reports.csv", "labels.csv", "objective: f1",
                   f"budget {BUDGET} trials", "seed 0", "defaults validation",
                   "tuned    validation", small_result.split.split.strftime("%Y-%m-%d")):
        assert needle in joined
    other = small_result.config_of(int(small_result.trials["trial"].iloc[-1]))
    path.write_text(tuned_toml(small_result, config=other))
    assert load_config(path) == other


def test_toml_round_trip_with_overrides(small_result, tmp_path: Path) -> None:
    import dataclasses

    config = dataclasses.replace(small_result.config, overrides={
        'Service "01"': {"min_ratio": 3.5, "min_excess_reports": 20.0}})
    path = tmp_path / "tuned.toml"
    path.write_text(tuned_toml(small_result, config=config))
    assert load_config(path) == config


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


# --- command line ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim_files(tmp_path_factory, small_sim) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("sim")
    reports, labels = folder / "reports.csv", folder / "labels.csv"
    write_simulation(small_sim, reports, labels)
    return reports, labels


def test_cli_tune_writes_a_config_that_analyze_accepts(sim_files, tmp_path, capsys) -> None:
    reports, labels = sim_files
    out = tmp_path / "tuned.toml"
    code = main(["tune", str(reports), "--labels", str(labels), "-o", str(out),
                 "--budget", "4", "--seed", "2"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Pareto front" in printed and "wrote the chosen settings" in printed
    assert out.read_text().startswith("# Tuned by `spikes tune`")
    assert main(["analyze", str(reports), "--config", str(out)]) == 0


def test_cli_tune_bad_labels_is_one_line_exit_2(sim_files, tmp_path, capsys) -> None:
    reports, _ = sim_files
    bad = tmp_path / "labels.csv"
    bad.write_text("product,onset\nA,2026-01-05T00:00\n")
    code = main(["tune", str(reports), "--labels", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("spikes tune: error:")
    assert "missing column 'end'" in err
