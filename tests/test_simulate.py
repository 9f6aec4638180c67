"""Tests of spikes.evaluation.simulate and of the bundled sample in data/."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.evaluation.simulate import (
    LABEL_COLUMNS,
    Outage,
    outage_profile,
    simulate,
    write_simulation,
)

DATA = Path(__file__).resolve().parent.parent / "data"
MS365 = ["Outlook", "Exchange Online", "Microsoft Store", "Microsoft Defender",
         "Microsoft Purview"]


@pytest.fixture(scope="module")
def sim():
    return simulate(products=8, days=14, seed=7, outage_rate_per_week=2.0)


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


def test_labels_inside_data_and_at_least_two_buckets(sim):
    index = sim.expected.index
    labels = sim.labels
    assert labels["onset"].isin(index).all() and labels["end"].isin(index).all()
    assert (labels["onset"] < labels["end"]).all()
    assert ((labels["end"] - labels["onset"]) / sim.bucket >= 1).all()
    assert (labels["ratio"] >= 2.5 - 1e-9).all() and (labels["ratio"] <= 50 + 1e-9).all()


def test_onset_is_first_excess_bucket_and_end_follows_the_rule(sim):
    for row in sim.labels.itertuples():
        rel = (sim.excess[row.product] / sim.expected[row.product]).to_numpy()
        onset, end = sim.expected.index.get_indexer([row.onset, row.end])
        assert rel[onset] > 0 and (onset == 0 or rel[onset - 1] == 0)
        assert rel[end] >= 0.5
        run = rel[end + 1:]
        run = run[: np.argmax(run == 0)] if (run == 0).any() else run
        assert (run < 0.5).all()


def test_snr_and_ratio_match_expected(sim):
    for row in sim.labels.itertuples():
        span = slice(row.onset, row.end)
        excess = sim.excess.loc[span, row.product]
        base = sim.expected.loc[span, row.product]
        assert row.snr == pytest.approx(excess.sum() / np.sqrt(base.sum() + 1))
        assert row.ratio == pytest.approx(((base + excess) / base).max())


def test_mild_ratios_between_2_5_and_4():
    labels = simulate(products=10, days=14, seed=2, mild=True,
                      outage_rate_per_week=3.0).labels
    assert len(labels) > 10
    assert labels["ratio"].between(2.5, 4.0).all()


def test_blips_are_single_buckets_away_from_outages(sim):
    blips = sim.distractors[sim.distractors["kind"] == "blip"]
    assert len(blips) > 0
    assert (blips["start"] == blips["end"]).all()
    for row in blips.itertuples():
        assert sim.excess.loc[row.start, row.product] == 0
    counts = sim.reports.set_index(["timestamp", "product"])["reports"]
    spikes = [counts[(r.start, r.product)] / sim.expected.loc[r.start, r.product]
              for r in blips.itertuples()]
    assert np.median(spikes) > 3


def test_level_shifts_last_a_day_at_about_1_5():
    s = simulate(products=6, days=14, seed=5, level_shifts=True)
    shifts = s.distractors[s.distractors["kind"] == "level_shift"]
    assert len(shifts) > 0
    assert ((shifts["end"] - shifts["start"]) == pd.Timedelta("1D") - s.bucket).all()


def test_cascades_share_an_event_id_with_close_onsets():
    labels = simulate(products=20, days=21, seed=1).labels
    sizes = labels.groupby("event")["product"].nunique()
    assert (sizes >= 2).any() and sizes.max() <= 5
    for _, group in labels.groupby("event"):
        spread = group["onset"].max() - group["onset"].min()
        assert spread <= pd.Timedelta("10min")
        if len(group) > 1:
            assert group["onset"].value_counts()[group["onset"].min()] == 1  # first mover
    singles = labels[labels["event"].map(sizes) == 1]
    assert singles["event"].is_unique


def test_no_cascades_when_disabled():
    labels = simulate(products=20, days=21, seed=1, cascades=False).labels
    assert labels["event"].is_unique


def test_events_match_counts_per_bucket():
    kwargs = dict(products=5, days=4, seed=11)
    counts = simulate(**kwargs).reports
    events = simulate(**kwargs, as_events=True).reports
    assert list(events.columns) == ["timestamp", "product", "region", "category"]
    assert events["timestamp"].is_monotonic_increasing
    assert (events["timestamp"].dt.second != 0).any()
    per_bucket = events.groupby([events["timestamp"].dt.floor("5min"), "product"]).size()
    table = counts.set_index(["timestamp", "product"])["reports"]
    per_bucket = per_bucket.reindex(table.index, fill_value=0)
    assert (per_bucket.to_numpy() == table.to_numpy()).all()


def test_missing_rate_removes_rows():
    full = simulate(products=5, days=7, seed=2)
    holes = simulate(products=5, days=7, seed=2, missing_rate=0.2)
    assert len(holes.reports) == pytest.approx(0.8 * len(full.reports), rel=0.05)
    merged = holes.reports.merge(full.reports, on=["timestamp", "product"])
    assert len(merged) == len(holes.reports)
    assert (merged["reports_x"] == merged["reports_y"]).all()


def test_low_volume_is_under_one_report_per_minute_at_night():
    s = simulate(products=10, days=7, bucket="1min", volume="low", seed=4, blips=False,
                 outage_rate_per_week=0.0)
    wide = s.reports.pivot(index="timestamp", columns="product", values="reports")
    night = s.expected.le(s.expected.quantile(0.25))
    assert (wide[night].mean() < 1).all()


def test_volumes_are_ordered_and_spread():
    peaks = {v: simulate(products=20, days=7, seed=0, volume=v).expected.max()
             for v in ("low", "mid", "high")}
    assert peaks["low"].median() < peaks["mid"].median() < peaks["high"].median()
    assert 10 <= peaks["mid"].median() <= 100  # tens per 5 minutes at the peak
    assert 100 <= peaks["high"].median() <= 1000  # hundreds
    assert peaks["mid"].max() / peaks["mid"].min() > 5


def test_counts_are_overdispersed():
    s = simulate(products=6, days=14, seed=9, blips=False, outage_rate_per_week=0.0,
                 volume="high")
    wide = s.reports.pivot(index="timestamp", columns="product", values="reports")
    resid = wide - s.expected
    assert ((resid**2).mean() / s.expected.mean() > 1.5).all()


def test_outage_profile_shapes():
    bucket = pd.Timedelta("5min")
    onset = pd.Timestamp("2026-01-05", tz="UTC")
    sharp = outage_profile(Outage(product="A", onset=onset, ratio=11.0,
                                  duration=pd.Timedelta("1h")), bucket)
    assert sharp[0] == pytest.approx(10.0) and (np.diff(sharp) < 0).all()
    ramp = outage_profile(Outage(product="A", onset=onset, ratio=11.0, rise=pd.Timedelta(
        "20min"), hold=pd.Timedelta("30min"), duration=pd.Timedelta("50min")), bucket)
    assert ramp[0] < ramp[3] == pytest.approx(10.0)
    surge = outage_profile(Outage(product="A", onset=onset, ratio=5.0, hold=pd.Timedelta(
        "30min"), duration=pd.Timedelta("30min"), aftershock=0.5), bucket)
    assert surge.max() == pytest.approx(4.0)
    assert (np.diff(surge[6:]) > 0).any()  # a second rise after the main part


def test_bad_arguments_raise():
    with pytest.raises(SpikesInputError, match="volume"):
        simulate(volume="huge")
    with pytest.raises(SpikesInputError, match="missing_rate"):
        simulate(missing_rate=1.5)
    with pytest.raises(SpikesInputError, match="bucket"):
        simulate(days=0.001)


def test_write_simulation_iso_timestamps(tmp_path):
    s = simulate(products=2, days=2, seed=1, outage_rate_per_week=7.0)
    write_simulation(s, tmp_path / "r.csv.gz", tmp_path / "l.csv")
    with gzip.open(tmp_path / "r.csv.gz", "rt") as f:
        f.readline()
        assert f.readline().startswith("2026-01-05T00:00:00+00:00,")
    back = pd.read_csv(tmp_path / "r.csv.gz")
    assert len(back) == len(s.reports)
    labels = pd.read_csv(tmp_path / "l.csv")
    assert list(labels.columns) == LABEL_COLUMNS
    if len(labels):
        assert labels["onset"].str.endswith("+00:00").all()


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


def test_peak_ratio_sets_the_outage_sizes():
    s = simulate(products=6, days=14, seed=3, peak_ratio=(1.6, 2.4), outage_rate_per_week=3.0)
    assert len(s.labels) > 5
    # The label's ratio is the realised peak (an aftershock can add to it).
    assert s.labels["ratio"].between(1.6, 2.4).mean() > 0.8
    assert s.labels["ratio"].max() < 3.5
    with pytest.raises(SpikesInputError, match="peak_ratio"):
        simulate(products=2, days=2, peak_ratio=(0.5, 2.0))


@pytest.mark.parametrize("as_events", [False, True])
def test_counts_are_what_the_reader_reads_back(tmp_path: Path, as_events: bool) -> None:
    from spikes.io.buckets import load_reports

    sim = simulate(products=3, days=3, seed=1, missing_rate=0.02, as_events=as_events)
    write_simulation(sim, tmp_path / "r.csv", tmp_path / "l.csv")
    read = load_reports(tmp_path / "r.csv", bucket="5min").counts
    counts = sim.counts()
    assert counts.shape == sim.expected.shape
    if not as_events:
        assert counts.isna().to_numpy().sum() > 0  # missing rows stay missing
    read = read.reindex(index=counts.index, columns=counts.columns)
    np.testing.assert_array_equal(read.to_numpy(), counts.to_numpy())
