"""The rises of a cumulative chart from its running trough (spikes.detect.detectors.rises):
what a live CUSUM alarm reads, and the history its threshold is calibrated on."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from spikes.config import DetectionConfig
from spikes.detect.detectors.base import runs
from spikes.detect.detectors.cusum import CusumDetector
from spikes.detect.detectors.rises import RiseTracker, chart_rises
from spikes.detect.detectors.tail import CountTailDetector
from spikes.detect.live_thresholds import threshold_paths

FIVE = pd.Timedelta("5min")


def _tracked(charts: np.ndarray, floor: float,
             reversal: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """chart_rises of each column of `charts`, stepped row by row through a tracker
    (a rise still going on at the end counts, as the batch counts it)."""
    tracker = RiseTracker(floor=floor)
    tracker.extend(charts.shape[1])
    heights: list[list[float]] = [[] for _ in range(charts.shape[1])]
    ends: list[list[int]] = [[] for _ in range(charts.shape[1])]
    for row, values in enumerate(charts):
        which, height = tracker.step(values, reversal)
        for j, h in zip(which.tolist(), height.tolist(), strict=True):
            heights[j].append(h)
            ends[j].append(row - 1)
    for j in np.flatnonzero(tracker.inside):
        heights[j].append(float(tracker.peak[j]))
        ends[j].append(len(charts) - 1)
    return [(np.asarray(h), np.asarray(e, dtype=np.int64)) for h, e in zip(heights, ends,
                                                                           strict=True)]


def _chart(steps: list[float]) -> np.ndarray:
    """A CUSUM chart of the increments `steps`: max(0, S + step) from 0."""
    out, s = [], 0.0
    for step in steps:
        s = max(0.0, s + step)
        out.append(s)
    return np.asarray(out)


def _walked(chart: np.ndarray, floor: float, reversal: float) -> tuple[list, list]:
    """The rises as the module's docstring states them, walked over the whole series
    (no fast path): the reference both implementations are held to."""
    found: list[tuple[float, int]] = []
    trough = 0.0
    going: tuple[float, float] | None = None  # (height, chart at that height) of a rise
    for i, v in enumerate(np.nan_to_num(chart).tolist()):
        trough = min(trough, v)
        if going is None:
            going = (v - trough, v) if v - trough > floor else None
            continue
        if v - trough > going[0]:
            going = (v - trough, v)
        height, top = going
        if v - trough <= floor:  # back within the floor of the trough
            found.append((height, i - 1))
            going = None
        elif height >= reversal and top - v >= reversal:  # fell by the reversal
            found.append((height, i - 1))
            going, trough = None, v
    if going is not None:
        found.append((going[0], len(chart) - 1))
    return [h for h, _ in found], [e for _, e in found]


# Increments: any float, or whole and half nats (charts that land exactly on the floor,
# on 0 and on the reversal), or a missing bucket (NaN counts as 0).
step = st.one_of(st.floats(-6.0, 6.0, allow_nan=False),
                 st.sampled_from([-20.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 5.0]))
increments = st.lists(step, min_size=1, max_size=300)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(increments, min_size=1, max_size=4), st.sampled_from([2.0, 3.0, 5.0, 7.43]),
       st.lists(st.integers(0, 299), max_size=5))
def test_the_batch_and_the_stream_find_the_rises_the_walk_states(columns, reversal, gaps):
    # One implementation per driver: chart_rises on a whole series (with its fast path)
    # and the stream's tracker, many products a bucket at a time, give each product the
    # rises of the plain walk, heights and positions.
    n = max(len(c) for c in columns)
    charts = np.column_stack([np.pad(_chart(c), (0, n - len(c))) for c in columns])
    charts[[g for g in gaps if g < n], 0] = np.nan
    reversals = np.full(charts.shape[1], reversal)
    for j, (height, end) in enumerate(_tracked(charts, 1.0, reversals)):
        want_height, want_end = _walked(charts[:, j], 1.0, reversal)
        batch_height, batch_end = chart_rises(charts[:, j], 1.0, reversal)
        np.testing.assert_allclose(batch_height, want_height)
        np.testing.assert_array_equal(batch_end, np.asarray(want_end, dtype=np.int64))
        np.testing.assert_allclose(height, want_height)
        np.testing.assert_array_equal(end, np.asarray(want_end, dtype=np.int64))


@settings(max_examples=100, deadline=None, derandomize=True)
@given(increments)
def test_without_a_reversal_the_rises_are_the_excursions_of_the_level(steps):
    chart = _chart(steps)
    height, end = chart_rises(chart, 1.0, np.inf)
    starts, stops = runs(chart > 1.0)
    np.testing.assert_array_equal(end, stops)
    np.testing.assert_allclose(height, [chart[a : b + 1].max() for a, b in
                                        zip(starts, stops, strict=True)])


def test_the_rises_on_a_chart_that_drains_after_a_burst_are_counted_one_by_one():
    # A burst takes the chart to 100 nats; it drains at 0.4 a bucket, and every 40
    # buckets a rise of 15 nats comes and goes on the way down. The chart's level
    # never falls under its floor: one excursion, of 100. The alarm reads each rise
    # from its trough, and so does the calibration.
    steps = [100.0] + ([-0.4] * 30 + [5.0] * 3 + [-5.0] * 3 + [-0.4] * 4) * 6 + [-2.0] * 60
    chart = _chart(steps)
    assert len(runs(chart > 1.0)[0]) == 1
    height, end = chart_rises(chart, 1.0, 10.0)
    assert height[0] == 100.0
    np.testing.assert_allclose(height[1:], 15.0)
    assert len(height) == 7
    # Each is over once the chart has fallen 10 nats from its peak: the burst's 25
    # buckets of draining after it, the others two buckets after their peak (at
    # 33 + 40 k); the position given is the bucket before.
    assert end.tolist() == [24] + [34 + 40 * k for k in range(6)]


def test_a_rise_under_the_reversal_does_not_restart_the_trough():
    # 0 -> 8 -> 3 -> 9: with a reversal of 10 the fall by 5 ends nothing; the chart is
    # one rise of 9 from 0 (the alarm, at a threshold of 10, never fires).
    chart = np.array([0.0, 8.0, 3.0, 9.0, 0.0])
    height, end = chart_rises(chart, 1.0, 10.0)
    assert height.tolist() == [9.0] and end.tolist() == [3]


def test_the_live_cusum_calibration_sees_the_rises_its_alarm_reads():
    # A product whose news burst leaves its CUSUM high for days, with a rise above
    # the configured threshold every few hours on the way down: calibrated on its
    # level's excursions (one, the burst's) the threshold stays the configured one and
    # the alarm would fire on every rise; calibrated on the rises, it is raised.
    config = DetectionConfig()
    bucket = FIVE
    cusum = CusumDetector(ratio=config.cusum_ratio)
    tail = CountTailDetector()
    configured = cusum.default_threshold(config, bucket)
    per_day = 288
    rng = np.random.default_rng(3)
    steps = [-0.02] * (3 * per_day) + [4000.0]
    for _ in range(14 * per_day // 48):
        height = configured * rng.uniform(1.2, 2.5)
        steps += [height / 4] * 4 + [-height / 4] * 4 + [-0.1] * 40
    chart = _chart(steps)
    assert chart[-1] > 1.0  # still draining at the end: one excursion of the level
    n = len(chart)
    day_starts = np.arange(0, n, per_day)
    scores = {"cusum": chart, "tail": np.zeros(n)}
    live = threshold_paths({"cusum": cusum, "tail": tail}, scores, config, bucket,
                           day_starts, history_from=2 * per_day)
    assert live["cusum"][-1] > 1.5 * configured
    level = chart_rises(chart, cusum.excursion_floor, np.inf)[0]
    assert len(level) == 1  # what the level's excursions would have given it to fit
