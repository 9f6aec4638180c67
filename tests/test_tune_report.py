"""Tests of spikes.evaluation.tune.results and .report: the Pareto front, the text reports,
the TOML round trip; and ``spikes tune`` on the command line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from spikes.cli import main
from spikes.config import DetectionConfig, load_config
from spikes.evaluation.simulate import write_simulation
from spikes.evaluation.tune.report import format_pareto, format_summary, tuned_toml
from spikes.evaluation.tune.results import pareto_front
from tests.conftest import TUNE_BUDGET


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
        **base, "trial": t, "all_recall": r, "all_tp": int(r * 10), "all_fp": fp,
        "all_false_alarms_per_product_week": fp / 10, "all_alert_delay_median_min": d,
        "all_delay_median_min": d, "all_f1": r, "objective": r, "feasible": f,
        "distance": 0.1 * t} for t, r, fp, d, f in rows])
    front = pareto_front(trials)
    assert front["trial"].tolist() == [0, 3]


def test_reports_format(small_result) -> None:
    text = format_pareto(small_result)
    assert "Trade-off" in text and "\n*" in text
    assert " last " in text.splitlines()[1]  # min_duration, beside min_buckets
    assert " 0min " in text
    summary = format_summary(small_result)
    assert summary.splitlines()[0] == small_result.decision.reason
    assert "defaults validation" in summary and "tuned validation" in summary
    for fold in ("1", "2", "3"):
        assert any(line.startswith(fold + " ") for line in summary.splitlines())
    # With a base of the caller's (tune --config), its rows were headed "defaults".
    based = dataclasses.replace(small_result, base=DetectionConfig(min_ratio=3.0))
    assert "base validation" in format_summary(based)
    assert "defaults validation" not in format_summary(based)


# --- TOML ------------------------------------------------------------------------------
def test_toml_round_trip_with_header(small_result, tmp_path: Path) -> None:
    text = tuned_toml(small_result, ["reports.csv"], "labels.csv")
    path = tmp_path / "tuned.toml"
    path.write_text(text)
    assert load_config(path) == small_result.config
    header = [line for line in text.splitlines() if line.startswith("#")]
    joined = "\n".join(header)
    for needle in ("spikes tune", "reports.csv", "labels.csv", "objective: f1",
                   f"budget {TUNE_BUDGET})", "seed 0", "decision: ", "fold 1", "fold 3",
                   small_result.decision.reason, small_result.folds.edges[1].strftime("%Y-%m-%d"),
                   # The folds' figures are out-of-sample, not those of the file's settings.
                   "each fold's own choice", "out-of-sample"):
        assert needle in " ".join(joined.replace("#", " ").split()), needle
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
                 "--budget", "12", "--seed", "2"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Trade-off" in printed and "wrote the " in printed
    # The decision, in one line with the numbers, last.
    last = printed.strip().splitlines()[-1]
    assert last.startswith(("kept the base settings", "adopted the tuned settings"))
    assert "validation f1" in last and "90% interval" in last
    assert out.read_text().startswith("# Tuned by `spikes tune`")
    assert main(["analyze", str(reports), "--config", str(out)]) == 0


def test_cli_tune_keeps_the_defaults_when_the_gain_is_noise(sim_files, tmp_path,
                                                            capsys) -> None:
    from spikes.config import DetectionConfig

    reports, labels = sim_files
    out = tmp_path / "tuned.toml"
    assert main(["tune", str(reports), "--labels", str(labels), "-o", str(out),
                 "--budget", "60"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("kept the base settings")
    assert load_config(out) == DetectionConfig()


def test_cli_tune_force_writes_the_best_trial(sim_files, tmp_path, capsys) -> None:
    reports, labels = sim_files
    out = tmp_path / "tuned.toml"
    assert main(["tune", str(reports), "--labels", str(labels), "-o", str(out),
                 "--budget", "60", "--force"]) == 0
    printed = capsys.readouterr().out
    text = out.read_text()
    last = printed.strip().splitlines()[-1]
    if last.startswith("kept the base settings, no other"):
        # No trial beat the base: the best trial, written by --force, is the base.
        assert "these settings: the base settings" in text
    else:
        assert "these settings: the tuned ones" in text
        assert "--force" in last or last.startswith("adopted")


@pytest.mark.parametrize("flags, objective", [
    (["--max-false-alarms-per-week", "0.2"], "recall_at_fa"),
    (["--min-recall", "0.6"], "fa_at_recall"),
])
def test_cli_limits_choose_the_objective(sim_files, tmp_path, capsys, flags, objective) -> None:
    reports, labels = sim_files
    out = tmp_path / "tuned.toml"
    assert main(["tune", str(reports), "--labels", str(labels), "-o", str(out),
                 "--budget", "12", *flags]) == 0
    assert f"validation {objective}" in capsys.readouterr().out
    assert f"objective: {objective}" in out.read_text()


def test_cli_tune_bad_labels_is_one_line_exit_2(sim_files, tmp_path, capsys) -> None:
    reports, _ = sim_files
    bad = tmp_path / "labels.csv"
    bad.write_text("product,onset\nA,2026-01-05T00:00\n")
    code = main(["tune", str(reports), "--labels", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("spikes tune: error:")
    assert "missing column 'end'" in err
