"""``--display-tz`` of ``spikes evaluate``, ``spikes tune`` and ``spikes simulate``: the
times they print for people (evaluate's note on labels outside the data, tune's folds
and messages, simulate's span and note) are in the display zone, each with its zone,
as analyze and explain print them; the files they write keep UTC. The option, the
environment's default and their messages are those of analyze (spikes.cli.display)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spikes.cli import main
from spikes.evaluation.tune.split import forward_folds


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Four days of two products from 2026-03-27 (Berlin goes to summer time on the
    29th), with their labels."""
    folder = tmp_path_factory.mktemp("zone")
    reports, labels = folder / "reports.csv", folder / "labels.csv"
    assert main(["simulate", "-o", str(reports), "--labels-out", str(labels), "--products",
                 "2", "--days", "4", "--start", "2026-03-27", "--outages-per-week", "7",
                 "--seed", "4"]) == 0
    return reports, labels


def _run(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> tuple[str, str]:
    assert main(list(args)) == code
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_simulate_prints_its_span_in_the_display_zone(tmp_path, capsys) -> None:
    reports, labels = tmp_path / "r.csv", tmp_path / "l.csv"
    common = ["simulate", "-o", str(reports), "--labels-out", str(labels), "--products",
              "1", "--days", "2", "--bucket", "1h", "--start", "2026-03-28T23:30"]
    out, err = _run(capsys, *common, "--display-tz", "europe/berlin")
    # The buckets written span the change to summer time; the first is moved onto the grid.
    assert "(buckets 2026-03-29 00:00 CET to 2026-03-31 00:00 CEST)" in out
    assert ("--start 2026-03-28T23:30 moved to 2026-03-28T23:00:00+00:00 "
            "(2026-03-29 00:00 CET), the start") in err
    written = reports.read_bytes()
    # The file keeps UTC, and --start is read as UTC whatever the display zone.
    assert pd.read_csv(reports)["timestamp"].iloc[0] == "2026-03-28T23:00:00+00:00"
    out, err = _run(capsys, *common)
    assert "(buckets 2026-03-28 23:00 UTC to 2026-03-30 22:00 UTC)" in out
    assert "moved to 2026-03-28T23:00:00+00:00, the start" in err
    assert reports.read_bytes() == written


def test_evaluate_names_labels_outside_the_data_in_the_display_zone(simulated, tmp_path,
                                                                      capsys,
                                                                      monkeypatch) -> None:
    reports, labels = simulated
    incidents = tmp_path / "incidents.csv"
    early = tmp_path / "labels.csv"
    frame = pd.read_csv(labels)
    frame.loc[0, ["onset", "end"]] = ["2026-02-01T00:00:00+00:00", "2026-02-01T01:00:00+00:00"]
    frame.to_csv(early, index=False)
    _run(capsys, "analyze", str(reports), "-o", str(incidents), "--jobs", "1")
    command = ["evaluate", "--incidents", str(incidents), "--labels", str(early),
               "--data", str(reports)]
    _, err = _run(capsys, *command, "--display-tz", "Europe/Berlin")
    assert "outside the data's time (1 before 2026-03-27 01:00 CET): they count" in err
    _, err = _run(capsys, *command)
    assert "outside the data's time (1 before 2026-03-27 00:00 UTC): they count" in err
    monkeypatch.setenv("SPIKES_DISPLAY_TZ", "Asia/Tokyo")
    _, err = _run(capsys, *command)
    assert "(1 before 2026-03-27 09:00 JST)" in err


def test_tune_prints_its_folds_in_the_display_zone(simulated, capsys) -> None:
    reports, labels = simulated
    out, _ = _run(capsys, "tune", str(reports), "--labels", str(labels), "--budget", "1",
                  "--folds", "1", "--display-tz", "Europe/Berlin")
    assert ("1 forward-chaining folds over 2026-03-27 01:00 CET to 2026-03-31 02:00 CEST, "
            "validation from 2026-03-29 01:00 CET (each fold") in out.splitlines()[0]
    # The TOML printed (a file's text) keeps UTC.
    assert "# folds: 1 forward-chaining folds over 2026-03-27 00:00 UTC to" in out


def test_tune_says_labels_in_the_first_block_in_the_display_zone(simulated, tmp_path,
                                                                  capsys) -> None:
    reports, labels = simulated
    first = tmp_path / "labels.csv"
    pd.DataFrame({"product": ["Service 01"], "onset": ["2026-03-27T10:00:00Z"],
                  "end": ["2026-03-27T11:00:00Z"]}).to_csv(first, index=False)
    _, err = _run(capsys, "tune", str(reports), "--labels", str(first), "--budget", "1",
                  "--display-tz", "Asia/Kolkata", code=2)
    assert err.count("\n") == 1
    assert "validation from 2026-03-28 05:30 IST" in err
    assert "all 1 fall before 2026-03-28 05:30 IST, in the first block" in err


def test_the_folds_describe_themselves_in_a_zone() -> None:
    index = pd.date_range("2026-03-28", periods=2 * 24, freq="1h", tz="UTC")
    folds = forward_folds(index, pd.Timedelta("1h"), 1)
    assert folds.describe("Europe/Berlin") == (
        "1 forward-chaining folds over 2026-03-28 01:00 CET to 2026-03-30 02:00 CEST, "
        "validation from 2026-03-29 01:00 CET (each fold trains on all earlier blocks)")
    assert folds.describe().startswith(
        "1 forward-chaining folds over 2026-03-28 00:00 UTC to 2026-03-30 00:00 UTC, ")


@pytest.mark.parametrize("command", [
    ["evaluate", "--incidents", "i.csv", "--labels", "l.csv"],
    ["tune", "r.csv", "--labels", "l.csv"],
    ["simulate", "-o", "r.csv", "--labels-out", "l.csv"],
])
def test_an_unknown_zone_is_one_line_naming_the_option(command, tmp_path, capsys,
                                                       monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _, err = _run(capsys, *command, "--display-tz", "CST", code=2)
    assert err.count("\n") == 1
    assert err.startswith(f"spikes {command[0]}: error: --display-tz: unknown time zone "
                          "'CST': it stands for US Central")
    monkeypatch.setenv("SPIKES_DISPLAY_TZ", "Mars/Base")
    _, err = _run(capsys, *command, code=2)
    assert err.count("\n") == 1
    assert err.startswith(f"spikes {command[0]}: error: SPIKES_DISPLAY_TZ (the environment's "
                          "default for --display-tz): unknown time zone 'Mars/Base'")
    assert not (tmp_path / "r.csv").exists()
