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


# ----------------------------------------------------------- the review's cases (stop 48)


def _rows(whole: dict, part: str) -> list[int]:
    return whole[part]


def _total(rows: list[int], offset: int) -> int:
    return sum(rows) + offset


def test_map_parts_from_two_threads_at_once_keep_their_own_data() -> None:
    """Each pool's workers get their own run (by the pool's initializer), not one module
    variable two runs at once overwrite: two threads, each its own data, many times (the
    module variable of stop 47 got 6 of 40 such runs wrong or failing)."""
    import threading

    from spikes.engine.base import LocalEngine

    def run(seed: int, out: list) -> None:
        whole = {f"p{i}": list(range(seed, seed + 10 * i)) for i in range(4)}
        want = [_total(whole[p], seed) for p in whole]
        for _ in range(8):
            got = LocalEngine(jobs=2).map_parts(_total, whole, list(whole), select=_rows,
                                                args=(seed,))
            out.append(got == want)

    results: list[bool] = []
    threads = [threading.Thread(target=run, args=(seed, results)) for seed in (1, 1000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 16


def _in_daemon(queue) -> None:  # noqa: ANN001 - a multiprocessing queue
    from spikes.detect.parallel_scores import processes_available
    from spikes.engine.base import LocalEngine, can_fork

    whole = {"a": [1, 2], "b": [3]}
    got = LocalEngine(jobs=2).map_parts(_total, whole, ["a", "b"], select=_rows, args=(0,))
    queue.put((can_fork(), processes_available(), got))


def test_a_daemon_process_runs_its_parts_itself() -> None:
    """A daemon process (a multiprocessing or Dask worker) may not have children: the
    engine runs the parts in it and the scores go to threads, instead of failing."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_daemon, args=(queue,), daemon=True)
    child.start()
    forks, processes, got = queue.get(timeout=60)
    child.join(timeout=60)
    assert (forks, processes, got) == (False, False, [3, 3])


def test_scores_beside_another_engine_stay_in_threads(
        data: ReportData, few: None, counted: list[int]) -> None:
    """`analyze` with an engine other than the local one (a Dask client's threads run
    beside it) scores in threads, not in forked children; the result is the same."""
    from spikes.engine.base import Engine

    class InProcess(Engine):
        def map(self, fn, items, *, sizes=None, progress=False, desc="products"):
            return [fn(*item) for item in items]

    one = pipeline.analyze(data)
    other = pipeline.analyze(data, jobs=2, engine=InProcess())
    assert counted == []
    pd.testing.assert_frame_equal(one.incidents, other.incidents, check_exact=True)
    _assert_same(one.scored, other.scored)
    pipeline.analyze(data, jobs=2, engine="local")
    assert counted == [2]


def test_parts_with_other_scores_are_refused(data: ReportData) -> None:
    """Joining parts whose detectors differ would drop a score: refused, never silent."""
    whole = score_reports(data)
    halves = [data.counts.columns[:15], data.counts.columns[15:]]
    parts = [(whole.baseline, {n: s[list(c)] for n, s in whole.scores.items()})
             for c in halves]
    del parts[1][1]["cusum"]
    with pytest.raises(ValueError, match="cusum"):
        parallel_scores.concat_parts(parts, data.counts.columns)
