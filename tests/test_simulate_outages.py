"""Tests of spikes.evaluation.simulate.outages: outage shapes, sizes, cascades and the
distractors (blips, level shifts)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.evaluation.simulate import simulate
from spikes.evaluation.simulate.audience import time_index
from spikes.evaluation.simulate.outages import Outage, outage_profile, random_outages


def test_random_outages_are_sorted_numbered_and_apart() -> None:
    index = time_index(start="2026-01-05", days=14, bucket="5min")
    products = [f"p{i}" for i in range(6)]
    outages = random_outages(index, products, rng=np.random.default_rng(4), rate_per_week=3.0)
    assert len(outages) > 10
    # Event ids are numbered 1, 2, ... by the onset of their first mover.
    first = pd.DataFrame([(o.event, o.onset) for o in outages], columns=["event", "onset"]
                         ).groupby("event")["onset"].min()
    assert first.index.tolist() == list(range(1, len(first) + 1))
    assert first.is_monotonic_increasing
    assert [o.event for o in outages] == sorted(o.event for o in outages)
    bucket = pd.Timedelta("5min")
    for name in products:
        own = [o for o in outages if o.product == name]
        for a, b in zip(own, own[1:], strict=False):
            assert a.onset + len(outage_profile(a, bucket)) * bucket <= b.onset


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


def test_peak_ratio_sets_the_outage_sizes():
    s = simulate(products=6, days=14, seed=3, peak_ratio=(1.6, 2.4), outage_rate_per_week=3.0)
    assert len(s.labels) > 5
    # The label's ratio is the realised peak (an aftershock can add to it).
    assert s.labels["ratio"].between(1.6, 2.4).mean() > 0.8
    assert s.labels["ratio"].max() < 3.5
    with pytest.raises(SpikesInputError, match="peak_ratio"):
        simulate(products=2, days=2, peak_ratio=(0.5, 2.0))
