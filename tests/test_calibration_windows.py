"""The calibration of many windows of one history at once (spikes.detect.detectors.windows)
and a live run's threshold paths built on it give the very floats of the per-window and
per-midnight functions they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikes.config import WEEK, DetectionConfig
from spikes.detect.detectors import windows
from spikes.detect.detectors.base import calibrated_threshold, product_thresholds, tail_testable
from spikes.detect.detectors.cusum import CusumDetector
from spikes.detect.detectors.tail import CountTailDetector
from spikes.detect.live_thresholds import calibration_buckets, threshold_paths

FIVE = pd.Timedelta("5min")


def _maxima(rng: np.random.Generator, n: int, low: float) -> np.ndarray:
    """Excursion maxima above `low`: an exponential bulk, a power-law share and a few
    outages, some rounded so that ties occur."""
    bulk = rng.exponential(rng.uniform(0.3, 3.0), n)
    heavy = rng.pareto(rng.uniform(0.8, 4.0), n)
    values = np.where(rng.random(n) < rng.uniform(0, 0.6), heavy, bulk)
    values[rng.random(n) < 0.02] += rng.uniform(20, 200)
    values = np.where(rng.random(n) < 0.3, np.round(values, 1), values)
    return low + values


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 1500),
       windows_count=st.integers(1, 40), decay=st.sampled_from([1.0, float(np.log(10.0))]),
       low=st.sampled_from([1.0, 2.5]), rate=st.sampled_from([0.05, 0.1, 1.0]))
def test_window_thresholds_equal_calibrated_threshold_window_by_window(
        seed: int, n: int, windows_count: int, decay: float, low: float,
        rate: float) -> None:
    rng = np.random.default_rng(seed)
    maxima = _maxima(rng, n, low)
    hi = np.sort(rng.integers(0, n + 1, windows_count))
    lo = np.where(rng.random(windows_count) < 0.5, 0, (hi * rng.random(windows_count)).astype(int))
    weeks = np.where(rng.random(windows_count) < 0.1, 0.0, rng.uniform(0.1, 30.0, windows_count))
    got = windows.window_thresholds(maxima, lo, hi, weeks, rate, low=low, model_decay=decay)
    expected = [calibrated_threshold(maxima[a:b], w, rate, low=low, model_decay=decay)
                for a, b, w in zip(lo.tolist(), hi.tolist(), weeks.tolist(), strict=True)]
    assert got == expected  # exact: None where None, the same floats elsewhere


def test_window_thresholds_taken_in_passes_are_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    maxima = _maxima(rng, 3000, 1.0)
    hi = np.arange(100, 3001, 100)
    lo = np.maximum(hi - 1200, 0)
    weeks = hi / 150.0
    whole = windows.window_thresholds(maxima, lo, hi, weeks, 0.1, low=1.0)
    monkeypatch.setattr(windows, "PASS_CELLS", 25_000)
    passes = windows._passes(lo, hi)
    assert len(passes) > 1
    assert all((part.stop - part.start) * (hi[part].max() - lo[part].min()) <= 25_000
               for part in passes if part.stop - part.start > 1)
    assert windows.window_thresholds(maxima, lo, hi, weeks, 0.1, low=1.0) == whole
    assert any(value is not None for value in whole)


@settings(max_examples=60, deadline=None)
@given(n=st.lists(st.integers(0, 5000), min_size=1, max_size=30),
       weeks=st.lists(st.floats(0.0, 60.0), min_size=30, max_size=30))
def test_tail_testables_equal_tail_testable(n: list[int], weeks: list[float]) -> None:
    spans = weeks[: len(n)]
    got = windows.tail_testables(np.array(n), np.array(spans)).tolist()
    assert got == [tail_testable(m, w) for m, w in zip(n, spans, strict=True)]


def _per_midnight(detectors: dict, scores: dict[str, np.ndarray], config: DetectionConfig,
                  day_starts: np.ndarray, history_from: int) -> dict[str, np.ndarray]:
    """Threshold paths one midnight at a time with product_thresholds, as they were
    computed before the windows' calibration."""
    n = len(next(iter(scores.values())))
    base = {name: det.default_threshold(config, FIVE) for name, det in detectors.items()}
    out = {name: np.full(n, value) for name, value in base.items()}
    position = np.arange(n)
    excursions = {name: det.excursions(np.where(position >= history_from, scores[name], 0.0),
                                       reversal=base[name])
                  for name, det in detectors.items()}
    counted = np.concatenate([[0], np.cumsum(position >= history_from)])
    bounds = [*day_starts[day_starts > 0].tolist(), n]
    for first, stop in zip(bounds[:-1], bounds[1:], strict=True):
        since = max(first - calibration_buckets(FIVE), 0)
        done = {name: maxima[(stops >= since) & (stops < first)]
                for name, (maxima, stops) in excursions.items()}
        weeks = float((counted[first] - counted[since]) * (FIVE / WEEK))
        for name, value in product_thresholds(detectors, done, weeks, config, FIVE,
                                              base=base).items():
            out[name][first:stop] = value
    return out


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), days=st.integers(1, 30),
       fixed=st.sampled_from([None, "tail", "cusum", "both"]))
def test_threshold_paths_equal_product_thresholds_midnight_by_midnight(
        seed: int, days: int, fixed: str | None) -> None:
    rng = np.random.default_rng(seed)
    per_day = 288
    n = days * per_day
    tail = np.where(rng.random(n) < 0.3, rng.exponential(rng.uniform(0.5, 2.5), n), 0.0)
    tail[rng.random(n) < 0.005] = rng.uniform(5, 60)
    steps = rng.normal(-0.3, rng.uniform(0.5, 2.0), n)
    steps[rng.random(n) < 0.002] += rng.uniform(5, 40)
    chart = np.zeros(n)
    for i in range(1, n):
        chart[i] = max(0.0, chart[i - 1] + steps[i])
    chart[rng.random(n) < 0.01] = np.nan
    scores = {"tail": tail, "cusum": chart}
    detectors = {"tail": CountTailDetector(), "cusum": CusumDetector()}
    overrides = {"tail": {"tail_threshold": 7.0}, "cusum": {"cusum_threshold": 9.0},
                 "both": {"tail_threshold": 7.0, "cusum_threshold": 9.0}}
    config = DetectionConfig(**overrides.get(fixed, {}))
    day_starts = np.arange(0, n, per_day)
    history_from = int(rng.integers(0, 3 * per_day))
    got = threshold_paths(detectors, scores, config, FIVE, day_starts,
                          history_from=history_from)
    expected = _per_midnight(detectors, scores, config, day_starts, history_from)
    for name in detectors:
        np.testing.assert_array_equal(got[name], expected[name])


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(1, 12))
def test_separated_counts_equal_separated_count(seed: int, count: int) -> None:
    from spikes.detect.detectors.base import separated_count

    rng = np.random.default_rng(seed)
    sizes = rng.integers(84, 900, count)
    parts = []
    for m in sizes.tolist():
        values = _maxima(rng, m, 1.0)
        outages = int(rng.integers(0, m // 8))
        values[:outages] = rng.uniform(100, 300, outages)
        parts.append(np.sort(values)[::-1])
    q = sizes // 4
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    got = windows._separated_counts(np.concatenate(parts), starts, q, 1.0).tolist()
    assert got == [separated_count(part[:quartile], 1.0)
                   for part, quartile in zip(parts, q.tolist(), strict=True)]
