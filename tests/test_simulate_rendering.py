"""Tests of spikes.evaluation.simulate.rendering and .files: labels, counts and events
drawn for the planned outages, and the CSV files."""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.evaluation.simulate import simulate
from spikes.evaluation.simulate.audience import expected_rates, random_audience, time_index
from spikes.evaluation.simulate.files import write_simulation
from spikes.evaluation.simulate.outages import Outage
from spikes.evaluation.simulate.rendering import LABEL_COLUMNS, render


def test_render_rejects_overlaps_unknown_products_and_outages_outside() -> None:
    rng = np.random.default_rng(0)
    index = time_index(start="2026-01-05", days=1, bucket="5min")
    audience = random_audience(["A"], rng=rng)
    expected = expected_rates(index, audience, [100.0], rng=rng)
    outage = Outage(product="A", onset=index[10], ratio=5.0, duration=pd.Timedelta("30min"))
    assert len(render(expected, audience, [outage], rng=rng).labels) == 1
    with pytest.raises(SpikesInputError, match="overlap"):
        render(expected, audience, [outage, replace(outage, onset=index[12])], rng=rng)
    with pytest.raises(SpikesInputError, match="unknown product"):
        render(expected, audience, [replace(outage, product="B")], rng=rng)
    with pytest.raises(SpikesInputError, match="outside the data"):
        render(expected, audience, [replace(outage, onset=index[-1] + pd.Timedelta("1h"))],
               rng=rng)


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


def test_counts_are_overdispersed():
    s = simulate(products=6, days=14, seed=9, blips=False, outage_rate_per_week=0.0,
                 volume="high")
    wide = s.reports.pivot(index="timestamp", columns="product", values="reports")
    resid = wide - s.expected
    assert ((resid**2).mean() / s.expected.mean() > 1.5).all()


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
