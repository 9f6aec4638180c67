"""Scores in forked worker processes, handed back through shared blocks
(:mod:`spikes.detect.parallel_scores`): the same frames as in one process, not copied."""

from __future__ import annotations

import dataclasses
import mmap
import os
import signal
import sys

import numpy as np
import pandas as pd
import pytest

from spikes.config import DetectionConfig
from spikes.detect import parallel_scores, pipeline
from spikes.detect.pipeline import score_reports
from spikes.errors import SpikesRunError
from spikes.evaluation.simulate import simulate
from spikes.model import ReportData

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="forked workers (Linux only)")

#: Products per worker from which scores go to processes in these tests (50 by default).
FEW = 6


@pytest.fixture(scope="module")
def data() -> ReportData:
    sim = simulate(products=30, days=4, bucket="15min", seed=5)
    return ReportData(counts=sim.counts(), bucket=pd.Timedelta("15min"))


@pytest.fixture
def few(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "MIN_PRODUCTS_PER_JOB", FEW)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Calls of the process path (so that a test cannot pass on the threads')."""
    calls: list[int] = []
    real = pipeline.score_in_processes

    def spy(*args, **kwargs):
        calls.append(len(args[1]))
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "score_in_processes", spy)
    return calls


def _assert_same(a: pipeline.Scored, b: pipeline.Scored) -> None:
    for field in dataclasses.fields(a.baseline):
        x, y = getattr(a.baseline, field.name), getattr(b.baseline, field.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        elif isinstance(x, pd.Series):
            pd.testing.assert_series_equal(x, y, check_exact=True)
        else:
            assert x == y, field.name
    assert list(a.scores) == list(b.scores)
    for name, frame in a.scores.items():
        pd.testing.assert_frame_equal(frame, b.scores[name], check_exact=True)
    assert a.detectors.keys() == b.detectors.keys()
    for product, detectors in a.detectors.items():
        assert [vars(d) for d in detectors.values()] == [
            vars(d) for d in b.detectors[product].values()]


def _in_shared_block(frame: pd.DataFrame) -> bool:
    """Whether `frame`'s values are a view of a shared block (not a copy of one)."""
    values = frame.to_numpy()
    base = values
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None) if not isinstance(base, memoryview) else base.obj
    return base is not None and np.shares_memory(values, frame.to_numpy())


@pytest.mark.parametrize("mode", ["causal", "retrospective"])
def test_scores_in_processes_are_those_of_one_process(data, few, counted, mode):
    config = DetectionConfig(mode=mode)
    one, two = score_reports(data, config), score_reports(data, config, jobs=2)
    assert counted == [2]
    _assert_same(one, two)
    assert (two.baseline.dispersion_path is None) == (mode == "retrospective")
    # The whole frames are the shared blocks, wrapped without a copy.
    for frame in [two.baseline.expected, two.baseline.normal, *two.scores.values()]:
        assert _in_shared_block(frame)
        assert frame.to_numpy().flags.f_contiguous


def test_groups_of_own_settings_score_in_processes_as_in_one_process(data, few, counted,
                                                                 monkeypatch):
    products = [str(c) for c in data.counts.columns]
    overrides = {p: {"cusum_ratio": 2.0} for p in products[::2]}
    overrides[products[3]] = {"utc_offset": "+9h"}
    config = DetectionConfig(overrides=overrides)
    two = score_reports(data, config, jobs=2)
    assert counted == [5]  # the two groups of 15 and 14 products in two pieces, and one
    _assert_same(score_reports(data, config), two)
    monkeypatch.setattr(pipeline, "processes_available", lambda: False)
    _assert_same(score_reports(data, config, jobs=2), two)
    assert two.detectors[products[0]]["cusum"].ratio == 2.0
    # Columns of a group are not consecutive: the blocks still hold every product's.
    assert _in_shared_block(two.scores["cusum"])


def test_analysis_with_jobs_is_that_of_one_process(data, few, counted):
    one, two = pipeline.analyze(data), pipeline.analyze(data, jobs=2)
    assert counted == [2]
    assert len(one.incidents) > 3
    pd.testing.assert_frame_equal(one.incidents, two.incidents, check_exact=True)
    pd.testing.assert_frame_equal(one.events, two.events, check_exact=True)
    # The scores of an analysis rethreshold as those of one process do.
    config = DetectionConfig(false_alarms_per_week=1.0, min_ratio=1.5)
    pd.testing.assert_frame_equal(pipeline.rethreshold(one.scored, config).incidents,
                                  pipeline.rethreshold(two.scored, config).incidents,
                                  check_exact=True)


def test_a_frame_without_its_block_comes_back_by_pipe(data, few, monkeypatch):
    # A frame of another type than its block's is sent back as it is, and joined.
    frames = dict(parallel_scores.BASELINE_FRAMES, expected=np.float32)
    monkeypatch.setattr(parallel_scores, "BASELINE_FRAMES", frames)
    one, two = score_reports(data), score_reports(data, jobs=2)
    _assert_same(one, two)
    assert not _in_shared_block(two.baseline.expected)
    assert _in_shared_block(two.baseline.normal)


def test_a_killed_scoring_worker_stops_the_run(data, few, monkeypatch):
    parent = os.getpid()
    fit = pipeline.fit_trailing_baseline

    def die_in_a_worker(*args, **kwargs):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer does
        return fit(*args, **kwargs)

    monkeypatch.setattr(pipeline, "fit_trailing_baseline", die_in_a_worker)
    with pytest.raises(SpikesRunError, match="a worker process of the 2 died"):
        score_reports(data, jobs=2)


def test_an_error_in_a_worker_is_raised_as_it_is(data, few, monkeypatch):
    def fail(*args, **kwargs):
        raise ValueError("no fit")

    monkeypatch.setattr(pipeline, "fit_trailing_baseline", fail)
    with pytest.raises(ValueError, match="no fit"):
        score_reports(data, jobs=2)
