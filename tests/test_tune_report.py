"""Tests of spikes.evaluation.tune.results and .report: the Pareto front, the text reports,
the TOML round trip; and ``spikes tune`` on the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spikes.cli import main
from spikes.config import load_config
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
                   f"budget {TUNE_BUDGET} trials", "seed 0", "defaults validation",
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
