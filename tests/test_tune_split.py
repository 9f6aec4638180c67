"""Tests of spikes.evaluation.tune.split and .evaluator: the time split, product-weeks per
slice and the figures of a configuration on each slice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.config import DetectionConfig
from spikes.evaluation.tune.evaluator import evaluate_config, slice_product_weeks
from spikes.evaluation.tune.split import TimeSplit, time_split
from tests.conftest import as_data, diurnal_counts, with_outage


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


# --- forward-chaining folds --------------------------------------------------------------
@pytest.mark.parametrize("days, n_folds", [(14, 3), (10, 1), (28, 5)])
def test_folds_are_in_time_order_and_never_validate_on_earlier_data(days, n_folds) -> None:
    from spikes.evaluation.tune.split import forward_folds

    idx = pd.date_range("2026-01-05", periods=days * 288, freq="5min", tz="UTC")
    folds = forward_folds(idx, pd.Timedelta("5min"), n_folds)
    assert folds.n_folds == n_folds and len(folds.edges) == n_folds + 2
    assert folds.start == idx[0] and folds.end == idx[-1] + pd.Timedelta("5min")
    assert all(a < b for a, b in zip(folds.edges, folds.edges[1:], strict=False))
    for k in range(n_folds):
        train, val = folds.train_span(k), folds.validation_span(k)
        assert train[0] == folds.start and train[1] == val[0]  # the past, then the next
        assert val[0] > train[0] and val[1] <= folds.end
        if k:
            assert folds.train_span(k)[1] > folds.train_span(k - 1)[1]  # training grows
            assert val[0] == folds.validation_span(k - 1)[1]
    blocks = folds.block_of(pd.Series([idx[0], folds.edges[1], idx[-1]]))
    assert blocks.tolist() == [0, 1, n_folds]


def test_folds_need_enough_buckets() -> None:
    from spikes.errors import SpikesInputError
    from spikes.evaluation.tune.split import forward_folds

    idx = pd.date_range("2026-01-05", periods=3, freq="5min", tz="UTC")
    with pytest.raises(SpikesInputError, match="fewer --folds"):
        forward_folds(idx, pd.Timedelta("5min"), 3)
    with pytest.raises(SpikesInputError, match="folds"):
        forward_folds(idx, pd.Timedelta("5min"), 0)
