"""Tests of spikes.evaluation.simulate as a whole (:func:`simulate`, the package's names)
and of the bundled sample in data/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import spikes.evaluation.simulate as simulate_package
from spikes.errors import SpikesInputError
from spikes.evaluation.simulate import LABEL_COLUMNS, simulate

DATA = Path(__file__).resolve().parent.parent / "data"
MS365 = ["Outlook", "Exchange Online", "Microsoft Store", "Microsoft Defender",
         "Microsoft Purview"]


def test_the_package_gives_every_name_of_its_modules() -> None:
    from spikes.evaluation.simulate import audience, files, outages, rendering

    for name in simulate_package.__all__:
        assert getattr(simulate_package, name) is not None, name
    assert simulate_package.time_index is audience.time_index
    assert simulate_package.Outage is outages.Outage
    assert simulate_package.render is rendering.render
    assert simulate_package.write_simulation is files.write_simulation


def test_same_seed_same_data():
    a = simulate(products=4, days=5, seed=3)
    b = simulate(products=4, days=5, seed=3)
    c = simulate(products=4, days=5, seed=4)
    pd.testing.assert_frame_equal(a.reports, b.reports)
    pd.testing.assert_frame_equal(a.labels, b.labels)
    pd.testing.assert_frame_equal(a.distractors, b.distractors)
    assert not a.reports["reports"].equals(c.reports["reports"])


def test_shapes_and_columns(sim):
    assert list(sim.reports.columns) == ["timestamp", "product", "reports"]
    assert list(sim.labels.columns) == LABEL_COLUMNS
    assert list(sim.distractors.columns) == ["product", "start", "end", "kind"]
    assert sim.bucket == pd.Timedelta("5min")
    assert sim.expected.shape == (14 * 288, 8)
    assert sim.excess.shape == sim.expected.shape
    assert len(sim.reports) == sim.expected.size
    assert str(sim.reports["timestamp"].dt.tz) == "UTC"
    assert sim.reports["reports"].dtype == np.int64
    assert (sim.reports["reports"] >= 0).all()
    assert (sim.expected.to_numpy() > 0).all()
    assert len(sim.labels) > 5


def test_noise_parameters_are_exposed(sim):
    # The count noise's per-product parameters, as drawn (read-only: the same draws).
    assert list(sim.noise.columns) == ["log_sd", "gamma_shape"]
    assert list(sim.noise.index) == list(sim.expected.columns)
    assert sim.noise["log_sd"].between(0.05, 0.2).all()
    assert sim.noise["gamma_shape"].between(10.0, 60.0).all()


def test_bad_arguments_raise():
    with pytest.raises(SpikesInputError, match="volume"):
        simulate(volume="huge")
    with pytest.raises(SpikesInputError, match="missing_rate"):
        simulate(missing_rate=1.5)
    with pytest.raises(SpikesInputError, match="bucket"):
        simulate(days=0.001)
    # A name alone was its letters as products; text or None as a number, a bare TypeError.
    with pytest.raises(SpikesInputError, match=r"a count or a list .* \(one product: \['AB'\]\)"):
        simulate(products="AB")
    with pytest.raises(SpikesInputError, match="products must be a count or a list"):
        simulate(products=None)
    with pytest.raises(SpikesInputError, match="days must be a number, got '3'"):
        simulate(days="3")
    with pytest.raises(SpikesInputError, match="outage_rate_per_week must be a number"):
        simulate(outage_rate_per_week=None)
    with pytest.raises(SpikesInputError, match="seed must be a whole number >= 0, got 1.5"):
        simulate(seed=1.5)
    assert list(simulate(products=("A",), days=2, seed=np.int64(3)).expected.columns) == ["A"]


# --- the bundled sample ---------------------------------------------------------------
@pytest.fixture(scope="module")
def sample():
    reports = pd.read_csv(DATA / "reports.csv.gz")
    labels = pd.read_csv(DATA / "labels.csv")
    for frame, cols in ((reports, ["timestamp"]), (labels, ["onset", "end"])):
        for col in cols:
            assert frame[col].str.endswith("+00:00").all()
            frame[col] = pd.to_datetime(frame[col], utc=True)
    return reports, labels


def test_sample_files_exist_and_are_small():
    for name in ("reports.csv.gz", "labels.csv", "README.md", "make_sample.py"):
        assert (DATA / name).is_file()
    assert (DATA / "reports.csv.gz").stat().st_size < 4_000_000


def test_sample_shape(sample):
    reports, labels = sample
    assert list(reports.columns) == ["timestamp", "product", "region", "category"]
    assert list(labels.columns) == ["product", "onset", "end", "event"]
    assert reports["product"].nunique() >= 12
    span = reports["timestamp"].max() - reports["timestamp"].min()
    assert span >= pd.Timedelta(days=14)
    assert len(reports) <= 550_000
    assert set(labels["product"]) <= set(reports["product"])


def test_sample_microsoft_365_event(sample):
    reports, labels = sample
    ms = labels[labels["product"].isin(MS365)]
    assert set(ms["product"]) == set(MS365)
    assert ms["event"].nunique() == 1
    assert (ms["onset"].dt.strftime("%Y-%m-%d") == "2026-01-22").all()
    assert ms["onset"].max() - ms["onset"].min() <= pd.Timedelta("15min")
    assert ms.sort_values("onset")["product"].iloc[0] == "Outlook"
    outlook = reports[(reports["product"] == "Outlook")]
    per5 = outlook.groupby(outlook["timestamp"].dt.floor("5min")).size()
    assert per5.max() > 500
    during = reports[reports["product"].isin(["Outlook", "Exchange Online"])
                     & reports["timestamp"].between(ms["onset"].min(),
                                                    ms["onset"].min() + pd.Timedelta("2h"))]
    assert during["category"].value_counts(normalize=True).idxmax().endswith("(451 4.3.2)")
    north = during["region"].isin(["US-East", "US-West", "Canada"]).mean()
    assert north > 0.8


def test_sample_has_one_outage_ongoing_at_the_end(sample):
    reports, labels = sample
    last = reports["timestamp"].max().floor("5min")
    assert (labels["end"] == last).sum() == 1
    assert len(labels) >= 10


@pytest.mark.parametrize(("bucket", "start"), [("7min", "2026-01-05"),
                                               ("5min", "2026-01-05T13:37"),
                                               ("15min", "2026-01-05T13:37+05:00")])
def test_a_grid_not_aligned_to_the_epoch_holds_its_outages(tmp_path, bucket, start):
    # 7-minute buckets or a start at 13:37 said an outage "is outside the data" (its
    # bucket was found by the epoch, not by the grid).
    from spikes.evaluation.simulate import write_simulation

    sim = simulate(products=3, days=4, bucket=bucket, start=start, seed=2,
                   outage_rate_per_week=7.0)
    assert len(sim.labels) > 0
    index = pd.DatetimeIndex(sim.reports["timestamp"].unique()).sort_values()
    first = pd.Timestamp(start)
    assert index[0] == (first.tz_localize("UTC") if first.tzinfo is None else first)
    assert set(pd.DatetimeIndex(sim.labels["onset"])) <= set(index)
    write_simulation(sim, tmp_path / "r.csv", tmp_path / "l.csv")
    assert len(pd.read_csv(tmp_path / "l.csv")) == len(sim.labels)


def test_a_simulation_without_outages_writes_an_empty_labels_file(tmp_path):
    from spikes.evaluation.simulate import write_simulation

    sim = simulate(products=1, days=1, seed=0, outage_rate_per_week=0.0)
    assert sim.labels.empty
    write_simulation(sim, tmp_path / "r.csv", tmp_path / "l.csv")  # was a TypeError
    assert list(pd.read_csv(tmp_path / "l.csv").columns) == list(LABEL_COLUMNS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bucket", "NaT"], "--bucket 'NaT' is not a duration of whole seconds"),
        (["--bucket", "5"], "--bucket '5' is not a duration"),  # 5 ns: asked for 880 TiB
        (["--bucket", "500ms"], "whole seconds, at least 1s"),  # wrote repeated seconds
        (["--peak-ratio", "2", "inf"], "1 < low <= high <= 1e+06"),
        (["--outages-per-week", "inf"], "outage_rate_per_week must be in [0, 40]"),
        (["--outages-per-week", "1e9"], "outage_rate_per_week must be in [0, 40]"),  # spun
        (["--days", "inf"], "days must be at most 36500"),
        (["--products", "100000", "--days", "3650"], "GiB, more than the"),  # ran out
    ],
)
def test_arguments_out_of_reach_are_one_line(tmp_path, capsys, args, message):
    # Each was a traceback (NaN to integer, numpy's allocation error, "lam value too
    # large", OutOfBoundsTimedelta), ran out of memory, or never ended.
    from spikes.cli import main

    code = main(["simulate", "-o", str(tmp_path / "r.csv"), "--labels-out",
                 str(tmp_path / "l.csv"), "--products", "2", "--days", "2", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r.csv").exists()


def test_the_memory_a_simulation_needs_is_checked_before_it_is_taken(monkeypatch):
    from spikes.evaluation import simulate as package

    monkeypatch.setattr(package, "available_memory", lambda: 100 * package.BYTES_PER_ROW)
    with pytest.raises(SpikesInputError, match=r"576 cells \(bucket x product\) need"):
        simulate(products=2, days=1)  # 2 x 288 buckets
    monkeypatch.setattr(package, "available_memory", lambda: 1000 * package.BYTES_PER_ROW)
    assert len(simulate(products=2, days=1, seed=1).reports) == 576
    with pytest.raises(SpikesInputError, match="report events need"):
        simulate(products=2, days=1, seed=1, as_events=True)
    monkeypatch.setattr(package, "available_memory", lambda: None)  # not Linux: no check
    assert len(simulate(products=2, days=1, seed=1).reports) == 576


@pytest.mark.parametrize(
    ("output", "labels", "message"),
    [
        ("x.parquet", "l.csv", "x.parquet: written as CSV text, not Parquet"),
        ("x.xlsx", "l.csv", "not an Excel workbook"),
        ("same.csv", "same.csv", "same.csv: the reports and the labels need two files"),
        ("folder", "l.csv", "folder: cannot write, it is a folder"),
        ("nowhere/r.csv", "l.csv", "folder nowhere does not exist"),
    ],
)
def test_output_files_that_cannot_hold_the_simulation_are_refused(tmp_path, capsys,
                                                                  monkeypatch, output,
                                                                  labels, message):
    # A .parquet name got CSV text (then `analyze` said "not a readable Parquet file"),
    # the labels overwrote the reports, a folder or missing folder was a traceback.
    from spikes.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    assert main(["simulate", "-o", output, "--labels-out", labels, "--products", "1",
                 "--days", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_a_start_off_the_readers_grid_is_moved_onto_it(tmp_path, capsys):
    # Labels at 03:17 with hourly buckets: the reader floors the reports to 03:00 and
    # every incident started 17 minutes before its label (all false alarms and misses).
    from spikes.cli import main

    reports, labels = tmp_path / "r.csv", tmp_path / "l.csv"
    assert main(["simulate", "-o", str(reports), "--labels-out", str(labels), "--products",
                 "3", "--days", "4", "--bucket", "1h", "--start", "2026-01-05T03:17",
                 "--outages-per-week", "7", "--seed", "2"]) == 0
    err = capsys.readouterr().err
    assert "--start 2026-01-05T03:17 moved to 2026-01-05T03:00:00+00:00" in err
    written = pd.read_csv(reports)
    assert written["timestamp"].iloc[0] == "2026-01-05T03:00:00+00:00"
    onsets = pd.to_datetime(pd.read_csv(labels)["onset"], utc=True)
    assert len(onsets) and (onsets == onsets.dt.floor("1h")).all()
    assert main(["simulate", "-o", str(reports), "--labels-out", str(labels), "--products",
                 "1", "--days", "1", "--bucket", "7min"]) == 0
    err = capsys.readouterr().err
    assert "moved to 2026-01-04T23:54:00+00:00" in err
    assert "7min buckets do not divide a day" in err and "--retrospective" in err


def test_outages_that_do_not_fit_are_noted(tmp_path, capsys):
    from spikes.cli import main

    assert main(["simulate", "-o", str(tmp_path / "r.csv"), "--labels-out",
                 str(tmp_path / "l.csv"), "--products", "2", "--days", "7",
                 "--outages-per-week", "30"]) == 0
    err = capsys.readouterr().err
    written = len(pd.read_csv(tmp_path / "l.csv"))
    assert written < 48 and f"note: {written} outages fitted of about 60 asked for" in err
