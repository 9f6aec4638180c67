"""The block-wise, in-place numerics of the baseline and the detectors against simple
reference implementations (the straightforward whole-array formulas): same results, bit
for bit, on small random data."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest

import spikes.detect.baseline as baseline_module
from spikes.detect.baseline import (
    _below_top,
    _moving_sum,
    _row_order_sum,
    _variance_inflation,
    fit_baseline,
)
from spikes.detect.detectors import CountTailDetector, CusumDetector
from spikes.detect.detectors import base as detectors_base
from spikes.detect.noise import (
    MIN_MEAN,
    POISSON_ALPHA,
    _surprise,
    column_blocks,
    log_likelihood_ratio,
    upper_tail_surprise,
)
from tests.conftest import BUCKET, diurnal_counts


def reference_moving_sum(x: np.ndarray, half_window: int) -> np.ndarray:
    """Window sums from the cumulative sum of the zero-padded series."""
    if half_window == 0:
        return x.copy()
    n = x.shape[0]
    pad = [(half_window + 1, half_window)] + [(0, 0)] * (x.ndim - 1)
    csum = np.cumsum(np.pad(x, pad), axis=0)
    width = 2 * half_window + 1
    return csum[width : width + n] - csum[:n]


def random_counts(shape: tuple[int, ...], seed: int, missing: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = rng.poisson(rng.gamma(2.0, 3.0, shape)).astype(float)
    y[rng.random(shape) < missing] = np.nan
    return y


@pytest.mark.parametrize("n", [1, 2, 5, 40])
@pytest.mark.parametrize("half_window", [0, 1, 3, 7, 60])
def test_moving_sum_matches_padded_cumsum(n: int, half_window: int) -> None:
    rng = np.random.default_rng(n * 100 + half_window)
    for x in (np.asfortranarray(rng.poisson(3.0, (n, 4)).astype(float)),
              rng.random((n, 3, 2))):
        np.testing.assert_array_equal(_moving_sum(x, half_window),
                                      reference_moving_sum(x, half_window))
        out = np.full_like(x, np.nan)
        assert _moving_sum(x, half_window, out=out) is out
        np.testing.assert_array_equal(out, reference_moving_sum(x, half_window))


def test_row_order_sum_adds_rows_in_order() -> None:
    x = np.asfortranarray(np.random.default_rng(0).random((500, 3)) * 1e6)
    expected = np.zeros(3)
    for row in x:
        expected = expected + row
    np.testing.assert_array_equal(_row_order_sum(x), expected)
    np.testing.assert_array_equal(_row_order_sum(x[:, :1]), [x[:, 0].sum()])


@pytest.mark.parametrize("n", [1, 7, 50, 333])
def test_below_top_matches_quantile(n: int) -> None:
    y = np.asfortranarray(random_counts((n, 5), seed=n))
    mu = np.asfortranarray(np.random.default_rng(n + 1).gamma(2.0, 3.0, (n, 5)))
    mu[0, 0] = 0.0  # floored at MIN_MEAN
    z = np.where(np.isnan(y), -np.inf, (y - mu) / np.sqrt(np.maximum(mu, MIN_MEAN) + 0.25))
    expected = z < np.quantile(z, 0.98, axis=0, method="higher")[None, :]
    np.testing.assert_array_equal(_below_top(y - mu, np.maximum(mu, MIN_MEAN), 0.02),
                                  expected)


@pytest.mark.parametrize(("n", "block"), [(300, 12), (2000, 12), (200, 4), (50, 12)])
def test_variance_inflation_matches_nanmedian(n: int, block: int) -> None:
    rng = np.random.default_rng(n)
    y = random_counts((n, 6), seed=n, missing=0.0)
    mu = rng.gamma(2.0, 3.0, (n, 6))
    alpha = rng.uniform(0.0, 0.3, 6)
    normal = rng.random((n, 6)) > 0.03
    normal[:, 5] = rng.random(n) > 0.9  # too few complete blocks
    var = np.maximum(mu, MIN_MEAN) + alpha * mu**2
    resid = np.where(normal, (y - mu) / np.sqrt(var), 0.0)
    expected = np.ones(6)
    if n >= block * 10:
        usable = (n // block) * block
        sums = np.ascontiguousarray(resid[:usable]).reshape(-1, block, 6).sum(axis=1)
        full = normal[:usable].reshape(-1, block, 6).all(axis=1)
        ok = full.sum(axis=0) >= 10
        squares = np.where(full, sums**2 / block, np.nan)
        expected[ok] = np.maximum(np.nanmedian(squares[:, ok], axis=0) / 0.454936, 1.0)
    got = _variance_inflation(np.asfortranarray(y - mu), np.asfortranarray(var),
                              np.asfortranarray(normal), block)
    np.testing.assert_array_equal(got, expected)


def reference_llr(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray,
                  ratio: float) -> np.ndarray:
    mu = np.maximum(mu, MIN_MEAN)
    alpha = np.broadcast_to(alpha, np.shape(mu))
    poisson = alpha < POISSON_ALPHA
    k = 1.0 / np.where(poisson, 1.0, alpha)
    nb = k * np.log((k + mu) / (k + ratio * mu)) + y * np.log(ratio * (k + mu) / (k + ratio * mu))
    pois = y * np.log(ratio) - (ratio - 1.0) * mu
    return np.nan_to_num(np.where(poisson, pois, nb), nan=0.0)


def reference_surprise(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    mu = np.maximum(mu, MIN_MEAN)
    alpha = np.broadcast_to(alpha, np.shape(mu))
    z = np.nan_to_num((y - mu) / np.sqrt(mu + alpha * mu**2), nan=-np.inf)
    out = np.zeros(np.shape(mu))
    sel = z > 1.0
    out[sel] = _surprise(np.ceil(y[sel] - 1e-9), mu[sel], alpha[sel])
    return out


@pytest.mark.parametrize("ratio", [1.5, 3.0])
def test_noise_functions_match_whole_array_formulas(ratio: float) -> None:
    rng = np.random.default_rng(int(ratio * 10))
    y = random_counts((300, 6), seed=3)
    mu = rng.gamma(1.0, 4.0, (300, 6))
    mu[:5] = 0.0
    alpha = np.array([[0.0, 1e-7, 0.01, 0.2, 1.5, 100.0]])
    np.testing.assert_array_equal(log_likelihood_ratio(y, mu, alpha, ratio),
                                  reference_llr(y, mu, alpha, ratio))
    np.testing.assert_array_equal(upper_tail_surprise(y, mu, alpha),
                                  reference_surprise(y, mu, alpha))


def test_column_blocks_cover_every_column_once() -> None:
    for n, p, cells in [(10, 5, 20), (10, 5, 3), (0, 4, 8), (7, 0, 8), (3, 100, 1 << 17),
                        (10, 1, 5), (10, 7, 20)]:
        blocks = list(column_blocks(n, p, cells))
        covered = np.concatenate([np.arange(p)[s] for s in blocks] + [np.arange(0)])
        np.testing.assert_array_equal(covered, np.arange(p))
        assert all(s.stop - s.start >= min(2, p) for s in blocks)


@pytest.mark.parametrize("days", [1, 5, 15])
def test_results_do_not_depend_on_the_blocks(monkeypatch: pytest.MonkeyPatch,
                                             days: int) -> None:
    counts = diurnal_counts(days=days, products=5, seed=days, level=0.5)
    counts.iloc[: 288 + 50, 1] = np.nan  # starts on the second day
    counts.iloc[:, 2] = 0.0
    counts.iloc[::17, 3] = np.nan
    whole = fit_baseline(counts, BUCKET)
    scores = [d.score(counts, whole) for d in (CountTailDetector(), CusumDetector())]
    one_column = partial(column_blocks, cells=1)
    for module in (baseline_module, detectors_base):  # where the blocks are looked up
        monkeypatch.setattr(module, "column_blocks", one_column)
    blocked = fit_baseline(counts, BUCKET)
    pd.testing.assert_frame_equal(blocked.expected, whole.expected, check_exact=True)
    pd.testing.assert_frame_equal(blocked.normal, whole.normal, check_exact=True)
    pd.testing.assert_series_equal(blocked.dispersion, whole.dispersion, check_exact=True)
    pd.testing.assert_series_equal(blocked.inflation, whole.inflation, check_exact=True)
    for detector, expected in zip((CountTailDetector(), CusumDetector()), scores, strict=True):
        pd.testing.assert_frame_equal(detector.score(counts, blocked), expected,
                                      check_exact=True)
