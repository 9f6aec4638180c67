"""The per-fold figures of `spikes tune` count as its search does (per unit, after one
matching over the whole series)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.pipeline import score_reports
from spikes.evaluation.evaluate import validate_labels
from spikes.evaluation.simulate import simulate
from spikes.evaluation.tune.results import fold_table
from spikes.evaluation.tune.split import forward_folds
from spikes.evaluation.tune.tallies import TrialSet
from tests.conftest import sim_data


def test_an_outage_labelled_before_a_block_edge_and_raised_after_it_counts_once() -> None:
    # The fold table matched labels and incidents block by block: an outage labelled at
    # 23:55 before a block edge and raised at 00:10 after it was a miss of the first
    # block and a false alarm of the second, while the search (and its decision line)
    # counted a true positive of the first block: two figures for one setting.
    sim = simulate(products=2, days=8, seed=3, outage_rate_per_week=0.0)
    data = sim_data(sim)
    folds = forward_folds(data.counts.index, data.bucket, 3)
    edge = folds.edges[1]
    product = str(data.counts.columns[0])
    labels = validate_labels(pd.DataFrame({
        "product": [product, product],
        "onset": [edge - pd.Timedelta("5min"), edge + pd.Timedelta("6h")],
        "end": [edge + pd.Timedelta("1h"), edge + pd.Timedelta("7h")]}))
    incidents = pd.DataFrame({
        "product": [product, product, product],
        # the first label's match, after the edge; a duplicate of it; a false alarm
        "onset": pd.DatetimeIndex([edge + pd.Timedelta("10min"),
                                   edge + pd.Timedelta("40min"),
                                   edge + pd.Timedelta("3h")]),
        "alerted_at": pd.DatetimeIndex([edge + pd.Timedelta("20min"),
                                        edge + pd.Timedelta("50min"),
                                        edge + pd.Timedelta("3h10min")])})
    ts = TrialSet(score_reports(data, DetectionConfig()), labels, folds)

    first = ts.evaluation(incidents, folds.edges[0], edge)
    assert (first.tp, first.fp, first.fn) == (1, 0, 0)
    assert first.delay_median_min == 15.0
    second = ts.evaluation(incidents, edge, folds.edges[2])
    assert (second.tp, second.fp, second.fn) == (0, 2, 1)  # the duplicate, the false alarm
    assert second.duplicates == 0  # its label is not of this block
    whole = ts.evaluation(incidents, folds.start, folds.end)
    assert (whole.tp, whole.fp, whole.fn, whole.duplicates) == (1, 2, 1, 1)
    # Per block, the figures add up to the whole series' as the search's units do.
    assert first.tp + second.tp == whole.tp and first.fp + second.fp == whole.fp

    # The pooled figure of several folds' choices takes each fold's selection as it is.
    chosen = ts.counted(incidents, edge, folds.edges[2])
    assert chosen["onset"].tolist() == incidents["onset"].iloc[1:].tolist()
    pooled = ts.evaluation(chosen, edge, folds.edges[2], selected=True)
    assert (pooled.tp, pooled.fp) == (second.tp, second.fp)


def test_without_labels_every_incident_is_a_false_alarm_of_its_block() -> None:
    # counted() indexed the labels' flags with each incident's: IndexError without labels.
    sim = simulate(products=1, days=8, seed=3, outage_rate_per_week=0.0)
    data = sim_data(sim)
    folds = forward_folds(data.counts.index, data.bucket, 3)
    product = str(data.counts.columns[0])
    none = validate_labels(pd.DataFrame({"product": [], "onset": [], "end": []}))
    onset = folds.edges[1] + pd.Timedelta("1h")
    incidents = pd.DataFrame({"product": [product], "onset": pd.DatetimeIndex([onset]),
                              "alerted_at": pd.DatetimeIndex([onset])})
    ts = TrialSet(score_reports(data, DetectionConfig()), none, folds)
    assert len(ts.counted(incidents, folds.edges[1], folds.edges[2])) == 1
    assert ts.counted(incidents, folds.edges[0], folds.edges[1]).empty
    assert ts.evaluation(incidents, folds.edges[1], folds.edges[2]).fp == 1


def _one_incident_finding_two_labels_across(edge: int
                                            ) -> tuple[TrialSet, pd.DataFrame, pd.Timestamp]:
    """One product, two labels overlapping across ``folds.edges[edge]`` and one incident
    (10 minutes after the edge) that finds both: the search, the incidents, the edge."""
    sim = simulate(products=1, days=8, seed=3, outage_rate_per_week=0.0)
    data = sim_data(sim)
    folds = forward_folds(data.counts.index, data.bucket, 3)
    at = folds.edges[edge]
    product = str(data.counts.columns[0])
    labels = validate_labels(pd.DataFrame({
        "product": [product, product],
        "onset": [at - pd.Timedelta("20min"), at + pd.Timedelta("5min")],
        "end": [at + pd.Timedelta("30min"), at + pd.Timedelta("1h")]}))
    onset = at + pd.Timedelta("10min")
    incidents = pd.DataFrame({"product": [product], "onset": pd.DatetimeIndex([onset]),
                              "alerted_at": pd.DatetimeIndex([onset + pd.Timedelta("10min")])})
    return TrialSet(score_reports(data, DetectionConfig()), labels, folds), incidents, at


def test_one_incident_that_finds_overlapping_labels_across_an_edge_counts_in_both_blocks(
) -> None:
    # Two labels of one product overlap across a block edge and one incident finds both.
    # The search counts a hit in each block (its units are the labels' blocks); the fold
    # table kept the incident in its first label's block only: (1, 0) against (1, 1).
    ts, incidents, edge = _one_incident_finding_two_labels_across(1)
    folds = ts.folds

    first = ts.evaluation(incidents, folds.edges[0], edge)
    second = ts.evaluation(incidents, edge, folds.edges[2])
    assert (first.tp, first.fp, first.fn) == (1, 0, 0)
    assert (second.tp, second.fp, second.fn) == (1, 0, 0)
    whole = ts.evaluation(incidents, folds.start, folds.end)
    assert (whole.tp, whole.fp) == (2, 0)
    assert first.tp + second.tp == whole.tp


def test_the_pooled_validation_counts_an_incident_two_folds_select_once() -> None:
    # The incident that finds two overlapping labels across the edge between two folds'
    # validation blocks counts in both folds; the pooled row joined the folds' selections
    # and counted its second copy as a duplicate (a false alarm of settings equal to the
    # defaults, whose pooled row had none).
    # (edges[2]: between the validation blocks of the first two folds)
    ts, incidents, _ = _one_incident_finding_two_labels_across(2)
    ts.incidents = lambda config: incidents  # type: ignore[method-assign] # every setting
    config = DetectionConfig()
    choices = [SimpleNamespace(trial=0)] * ts.folds.n_folds
    _, defaults, tuned = fold_table(ts, config, [config] * ts.folds.n_folds, config, choices)
    assert (defaults.validation.tp, defaults.validation.fp) == (2, 0)
    assert (tuned.validation.tp, tuned.validation.fp) == (2, 0)
