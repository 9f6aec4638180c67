"""The command line end to end: simulate -> analyze -> evaluate, errors, help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from spikes.cli import build_parser, main


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("sim")
    reports, labels = folder / "reports.csv.gz", folder / "labels.csv"
    code = main(["simulate", "-o", str(reports), "--labels-out", str(labels),
                 "--products", "8", "--days", "14", "--seed", "5"])
    assert code == 0
    return reports, labels


def test_analyze_finds_the_simulated_outages(simulated: tuple[Path, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    reports, labels = simulated
    out = tmp_path / "incidents.csv"
    assert main(["analyze", str(reports), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "8 products" in printed and "wrote" in printed
    incidents = pd.read_csv(out)
    assert {"product", "onset", "peak", "end", "severity", "event_id"} <= set(incidents.columns)
    assert incidents["onset"].str.endswith("+00:00").all()

    assert main(["evaluate", "--incidents", str(out), "--labels", str(labels),
                 "--data", str(reports), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_labels"] > 5
    # End-to-end quality on simulated data with known outages.
    assert result["recall"] >= 0.8
    assert result["precision"] >= 0.8
    assert result["delay_median_min"] <= 5.0
    assert result["false_alarms_per_product_week"] <= 0.5


def test_config_file_changes_detection(simulated: tuple[Path, Path], tmp_path: Path) -> None:
    reports, _ = simulated
    strict = tmp_path / "strict.toml"
    strict.write_text("[detection]\nmin_ratio = 50.0\n")
    out_default, out_strict = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["analyze", str(reports), "-o", str(out_default)]) == 0
    assert main(["analyze", str(reports), "-o", str(out_strict), "--config", str(strict)]) == 0
    assert len(pd.read_csv(out_strict)) < len(pd.read_csv(out_default))


def test_settings_for_a_product_not_in_the_data_are_named(simulated: tuple[Path, Path],
                                                          tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    # Names match exactly: "service 01" is no product of the data ("Service 01" is), and
    # its settings would apply to nothing without a word.
    reports, _ = simulated
    config = tmp_path / "spikes.toml"
    config.write_text('[products."service 01"]\nmin_ratio = 50.0\n\n'
                      '[products."Service 02"]\nmin_ratio = 50.0\n')
    assert main(["analyze", str(reports), "-o", str(tmp_path / "a.csv"), "--config",
                 str(config)]) == 0
    err = capsys.readouterr().err
    assert ("1 product with settings of its own not in the data (names match exactly), "
            "its settings are not used") in err
    assert "'service 01'" in err and "'Service 02'" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analyze", "missing.csv"], "missing.csv"),
        (["analyze", "{data}", "--bucket", "5 parsecs"], "5 parsecs"),
        (["analyze", "{data}", "--config", "nope.toml"], "nope.toml"),
        (["evaluate", "--incidents", "nope.csv", "--labels", "{data}"], "nope.csv"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(simulated: tuple[Path, Path], argv: list[str],
                                          message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.replace("{data}", str(simulated[0])) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_help_of_every_command_is_complete(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # noqa: SLF001
    assert {"analyze", "evaluate", "simulate"} <= set(commands)
    for name, sub in commands.items():
        text = sub.format_help()
        assert sub.description, name
        for action in sub._actions:  # noqa: SLF001
            assert action.help, f"{name}: {action.dest} has no help"
            shown = action.option_strings or [action.metavar or action.dest]
            assert all(o in text for o in shown), f"{name}: {action.dest}"


def test_python_dash_m_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "spikes", "--version"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("spikes ")


def test_bad_jobs_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["analyze", "x.csv", "--jobs", "-1"])
    assert stop.value.code == 2
    assert "argument --jobs: expected a whole number >= 0, got '-1'" in capsys.readouterr().err


def test_jobs_do_not_change_the_result(tmp_path: Path) -> None:
    """Incidents of many products in worker processes = in one process."""
    from spikes.config import DetectionConfig
    from spikes.detect.pipeline import MIN_PRODUCTS_PER_JOB, analyze, find_incidents, score_reports
    from spikes.evaluation.simulate import simulate
    from spikes.model import ReportData

    # One more than two workers need, so that the group without the override still splits.
    sim = simulate(products=2 * MIN_PRODUCTS_PER_JOB + 1, days=4, bucket="15min", seed=5)
    wide = sim.counts()
    data = ReportData(counts=wide, bucket=pd.Timedelta("15min"))
    scored = score_reports(data)
    one = find_incidents(scored, jobs=1)
    two = find_incidents(scored, jobs=2)
    assert len(one) > 10
    pd.testing.assert_frame_equal(one, two)
    assert analyze(data, jobs=2).events.equals(analyze(data, jobs=1).events)
    # Scores in threads, also with a product scored apart (its own cusum_ratio).
    config = DetectionConfig(overrides={str(wide.columns[3]): {"cusum_ratio": 2.0}})
    serial, threaded = score_reports(data, config), score_reports(data, config, jobs=2)
    for name in ("expected", "normal", "dispersion", "inflation"):
        a, b = getattr(serial.baseline, name), getattr(threaded.baseline, name)
        assert a.equals(b), name
    for name, frame in serial.scores.items():
        pd.testing.assert_frame_equal(frame, threaded.scores[name])
    assert threaded.detectors[str(wide.columns[3])]["cusum"].ratio == 2.0


def test_summary_lists_the_newest_incidents_only() -> None:
    from spikes.cli import summary_table
    from spikes.detect.pipeline import analyze
    from spikes.io.buckets import load_reports

    analysis = analyze(load_reports(Path(__file__).parents[1] / "data" / "reports.csv.gz"))
    n = len(analysis.incidents)
    assert n > 3
    text = summary_table(analysis, rows=2)
    # After the table, the reasons of the newest 5 incidents.
    text, reasons = text.split("\nwhy (the newest 5; every incident's is in the why column "
                               "of -o):\n")
    assert reasons.splitlines() == [f"- {w}" for w in analysis.incidents["why"].tail(5)]
    lines = text.splitlines()
    assert lines[-1] == (f"({n - 2} earlier incidents not shown: the incidents CSV of -o "
                         f"has them all)")
    newest = analysis.incidents["onset"].iloc[-1].strftime("%Y-%m-%d %H:%M")
    assert newest in lines[-2]
    # head, the mode, the weekly rhythm's hint, the outage still going on at the end,
    # column names, 2 incidents, the note
    assert len(lines) == 1 + 1 + 1 + 1 + 1 + 2 + 1
    assert lines[1].startswith("live detection: each incident raised from the data up to")
    assert lines[2].startswith("weekly rhythm in another time zone than the baseline's days")
    ongoing = analysis.incidents[analysis.incidents["ongoing"]]
    assert list(ongoing["product"]) == ["PlayStation Network"]
    assert lines[3] == ("outage ongoing at the end of the data: PlayStation Network (since "
                        f"{ongoing['onset'].iloc[0]:%Y-%m-%d %H:%M} UTC)")
    assert "not shown" not in summary_table(analysis)


def test_summary_counts_in_words_and_names_ignored_columns(tmp_path: Path) -> None:
    from spikes.cli import summary_table
    from spikes.detect.pipeline import analyze
    from spikes.io.buckets import load_reports

    rows = [f"2024-01-01T{h:02d}:{m:02d}:00Z,{3 + m % 2},7" for h in range(6)
            for m in range(0, 60, 5)]
    path = tmp_path / "one.csv"
    path.write_text("timestamp,reports,baseline\n" + "\n".join(rows) + "\n")
    head = summary_table(analyze(load_reports(path))).splitlines()
    assert head[0].startswith("1 product, 72 buckets of 5 min (")
    assert head[0].endswith(", 0 incidents in 0 events")
    assert head[2] == "ignored columns (no role in the analysis): 'one.csv': baseline"


def test_summary_names_a_product_whose_week_follows_another_time_zone() -> None:
    # A workday product of Japan (its weekends at 0.4x in Tokyo time): the summary says
    # so, with the setting; once its utc_offset is set, or with under two weeks of data
    # (too few weekends to tell), it says nothing.
    from spikes.cli.analyze import week_hint
    from spikes.config import DetectionConfig
    from spikes.detect.pipeline import analyze
    from tests.conftest import as_data
    from tests.test_baseline import workday_product

    counts = workday_product(0, 9, days=21).rename(columns={"app": "LINE"})
    hint = week_hint(analyze(as_data(counts)))
    assert hint is not None and "LINE +9h (weekends at 0.4" in hint
    tokyo = DetectionConfig(overrides={"LINE": {"utc_offset": "+9h"}})
    assert week_hint(analyze(as_data(counts), tokyo)) is None
    # Or its zone (Tokyo keeps no summer time: its days at +9h all the same).
    tokyo = DetectionConfig(overrides={"LINE": {"timezone": "Asia/Tokyo"}})
    assert week_hint(analyze(as_data(counts), tokyo)) is None
    assert week_hint(analyze(as_data(counts.iloc[: 288 * 13]))) is None


def test_a_negative_seed_and_a_bad_zone_are_named(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # --seed -1 raised numpy's ValueError; a bad --tz with --calendar was blamed on the
    # calendar's first row ("cannot be read in time zone").
    with pytest.raises(SystemExit) as out:
        main(["simulate", "-o", str(tmp_path / "r.csv"), "--labels-out",
              str(tmp_path / "l.csv"), "--seed", "-1"])
    assert out.value.code == 2
    assert "--seed: expected a whole number >= 0, got -1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as out:  # tune's failed after all its work was done
        main(["tune", str(tmp_path / "r.csv"), "--labels", str(tmp_path / "l.csv"),
              "--seed", "-1"])
    assert out.value.code == 2
    assert "--seed: expected a whole number >= 0, got -1" in capsys.readouterr().err
    calendar = Path(__file__).resolve().parents[1] / "data" / "calendar_sample.csv"
    sample = Path(__file__).resolve().parents[1] / "data" / "reports.csv.gz"
    assert main(["analyze", str(sample), "--tz", "Mars/Olympus", "--calendar",
                 str(calendar)]) == 2
    err = capsys.readouterr().err
    assert "unknown time zone 'Mars/Olympus'" in err and "calendar" not in err


def _evaluate_notes(simulated: tuple[Path, Path], labels: pd.DataFrame, tmp_path: Path,
                    capsys: pytest.CaptureFixture[str]) -> str:
    """What ``evaluate --data`` says on stderr of `labels` against the incidents of the
    simulated reports."""
    reports = simulated[0]
    out, path = tmp_path / "incidents.csv", tmp_path / "labels.csv"
    assert main(["analyze", str(reports), "-o", str(out)]) == 0
    labels.to_csv(path, index=False)
    capsys.readouterr()
    assert main(["evaluate", "--incidents", str(out), "--labels", str(path),
                 "--data", str(reports)]) == 0
    return capsys.readouterr().err


def test_labels_of_products_the_data_lack_are_named(simulated: tuple[Path, Path],
                                                    tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # A label for "service 01" (the data hold "Service 01") counted as missed unsaid.
    lab = pd.read_csv(simulated[1])
    lab.loc[0, "product"] = str(lab.loc[0, "product"]).lower()
    err = _evaluate_notes(simulated, lab, tmp_path, capsys)
    assert f"names products the data do not hold: {lab.loc[0, 'product']!r}" in err
    assert "their 1 label(s) count as missed" in err
    assert "outside the data's time" not in err


def test_labels_outside_the_data_s_time_are_named(simulated: tuple[Path, Path],
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # A label a week before the data (a label file of another period) counted as missed
    # unsaid, where explain called it "not in the data" and tune left it out.
    lab = pd.read_csv(simulated[1])
    early = lab.iloc[:1].copy()
    for column in ("onset", "end"):
        early[column] = (pd.to_datetime(early[column]) - pd.Timedelta(days=30)).map(
            lambda t: t.isoformat())
    err = _evaluate_notes(simulated, pd.concat([lab, early]), tmp_path, capsys)
    assert "holds 1 label(s) outside the data's time (1 before " in err
    assert "UTC): they count as missed" in err


def test_a_file_given_twice_is_refused(simulated: tuple[Path, Path],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # Its reports were counted twice: every count doubled, false outages.
    reports, _ = simulated
    assert main(["analyze", str(reports), str(reports)]) != 0
    assert "is given twice" in capsys.readouterr().err


# --- found by a bug hunt of the batch tools (each failed before) --------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analyze", "{data}", "-o", "{data}"],
         "-o {data} is a file INPUT reads ({data}): writing there would replace it"),
        (["analyze", "{tmp}/*.gz", "-o", "{data}"],
         "-o {data} is a file INPUT reads ({tmp}/*.gz)"),
        (["analyze", "{tmp}", "-o", "{labels}"], "-o {labels} is a file INPUT reads ({tmp})"),
        (["analyze", "{data}", "-o", "{tmp}/out.csv", "--events-output", "{tmp}/out.csv"],
         "-o and --events-output name one file ({tmp}/out.csv): the second would overwrite"),
        (["explain", "{data}", "--labels", "{labels}", "-o", "{labels}"],
         "-o {labels} is a file --labels reads ({labels})"),
        (["tune", "{data}", "--labels", "{labels}", "-o", "{labels}"],
         "-o {labels} is a file --labels reads ({labels})"),
    ],
)
def test_an_output_that_would_replace_an_input_is_refused(simulated, tmp_path, capsys, argv,
                                                           message):
    # `analyze reports.csv.gz -o reports.csv.gz` replaced 1.5 MB of reports by the
    # incidents table (exit 0); `explain --labels labels.csv -o labels.csv` emptied the
    # labels; -o and --events-output on one file kept only the events.
    import shutil

    from spikes.cli import main

    data = tmp_path / "reports.csv.gz"
    labels = tmp_path / "labels.csv"
    shutil.copy(simulated[0], data)
    shutil.copy(simulated[1], labels)
    before = data.read_bytes(), labels.read_bytes()
    fill = {"data": str(data), "labels": str(labels), "tmp": str(tmp_path)}
    assert main([a.format(**fill) for a in argv]) == 2
    assert message.format(**fill) in capsys.readouterr().err
    assert (data.read_bytes(), labels.read_bytes()) == before
    assert not (tmp_path / "out.csv").exists()


def test_an_outage_open_when_its_product_s_feed_stopped_is_said_so() -> None:
    # A count feed that stopped during an outage on day 8 (the data run to day 10) was
    # "outage ongoing at the end of the data", as if it were going on now.
    from spikes.cli import summary_table
    from spikes.detect.pipeline import analyze
    from tests.conftest import as_data, diurnal_counts, with_outage

    day = 288
    counts = with_outage(diurnal_counts(days=10, level=20.0, seed=4, products=2), "p0",
                         8 * day + 150, 40, 8.0)
    counts.iloc[8 * day + 170:, 0] = float("nan")  # p0's feed stops mid-outage
    text = summary_table(analyze(as_data(counts)))
    stop = counts.index[8 * day + 169]
    assert f"; its data end at {stop:%Y-%m-%d %H:%M} UTC: state unknown since)" in text


def test_labels_inside_an_hour_bucket_count_from_its_start(simulated: tuple[Path, Path],
                                                            tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    # At hourly buckets an outage labelled 14:20 was found by the incident of the 14:00
    # bucket, which counted as a false alarm and the label as missed (onset 20 min early).
    reports, labels = simulated
    out = tmp_path / "incidents.csv"
    assert main(["analyze", str(reports), "--bucket", "1h", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--incidents", str(out), "--labels", str(labels), "--json"]) == 0
    loose = json.loads(capsys.readouterr().out)
    assert main(["evaluate", "--incidents", str(out), "--labels", str(labels), "--json",
                 "--data", str(reports), "--bucket", "1h"]) == 0
    captured = capsys.readouterr()
    on_grid = json.loads(captured.out)
    assert "label onset(s) lie inside a 1h bucket of the data and count from that " \
           "bucket's start" in captured.err
    assert on_grid["tp"] > loose["tp"] and on_grid["fp"] < loose["fp"]


@pytest.mark.parametrize(("flags", "said"), [
    (["--min-recall", "2"], "--min-recall must be a fraction in [0, 1]"),
    (["--max-false-alarms-per-week", "-1"], "--max-false-alarms-per-week must be a number"),
    (["--folds", "0"], "--folds: 0 must be a whole number >= 1"),
])
def test_tune_names_a_bad_flag_before_reading_the_data(flags, said, capsys) -> None:
    # It named the Python parameter (min_recall), after the data had been read.
    root = Path(__file__).resolve().parents[1] / "data"
    assert main(["tune", str(root / "reports.csv.gz"), "--labels", str(root / "labels.csv"),
                 *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert said in err and len(err.splitlines()) == 1, err
