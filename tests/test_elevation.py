"""elevated_buckets (spikes.detect.elevation) takes the windowed totals' surprise only
where it can decide a bucket: the same flags as over every bucket."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spikes.detect.elevation import ELEVATED_SURPRISE, elevated_buckets
from spikes.detect.noise import upper_tail_surprise


def _every_bucket(y: np.ndarray, mu: np.ndarray, tail: np.ndarray, level: float,
                  dispersion: float, window: int, min_ratio: float) -> np.ndarray:
    """The flags with the windowed totals' surprise taken over every bucket."""
    base = np.where(np.isnan(mu), np.inf, mu * level)
    counts = np.where(np.isnan(y), 0.0, y)
    expect = np.where(np.isnan(y) | np.isinf(base), 0.0, base)
    csum_y = np.concatenate([[0.0], np.cumsum(counts)])
    csum_m = np.concatenate([[0.0], np.cumsum(expect)])
    stop = np.arange(1, len(y) + 1)
    start = np.maximum(stop - max(window, 1), 0)
    scale = max(dispersion, 1.0)
    total = (csum_y[stop] - csum_y[start]) / scale
    mean = (csum_m[stop] - csum_m[start]) / scale
    windowed = upper_tail_surprise(np.floor(total), mean, np.zeros(1)) >= ELEVATED_SURPRISE
    return (tail >= ELEVATED_SURPRISE) | (windowed & (counts >= min_ratio * base))


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 200), window=st.integers(0, 30),
       level=st.floats(1.0, 3.0), dispersion=st.floats(0.0, 5.0),
       min_ratio=st.floats(1.0, 4.0))
def test_elevated_buckets_equal_the_surprise_of_every_bucket(
        seed: int, n: int, window: int, level: float, dispersion: float,
        min_ratio: float) -> None:
    rng = np.random.default_rng(seed)
    mu = rng.uniform(0.0, 30.0, n)
    y = rng.poisson(mu * rng.choice([1.0, 2.0, 5.0], n)).astype(float)
    y[rng.random(n) < 0.1] = np.nan
    mu[rng.random(n) < 0.05] = np.nan
    tail = np.where(rng.random(n) < 0.3, rng.exponential(2.0, n), 0.0)
    got = elevated_buckets(y, mu, tail, level, dispersion, window, min_ratio)
    np.testing.assert_array_equal(got, _every_bucket(y, mu, tail, level, dispersion,
                                                     window, min_ratio))
