"""Count-noise numerics: negative-binomial tails and likelihood ratios.

Counts ``y`` around a baseline ``mu`` are modelled as negative binomial with variance
``mu + alpha * mu**2`` (Poisson when ``alpha`` is 0). Arrays broadcast; NaN counts give a
neutral result (0 evidence).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from scipy import special

MIN_MEAN = 1e-3
#: Below this dispersion the Poisson formulas are used (they are the alpha -> 0 limit).
POISSON_ALPHA = 1e-6
#: Cap on -log10(p), so that astronomically unlikely counts stay finite.
MAX_SURPRISE = 300.0
#: Cells per block of columns in the array code of the baseline and the detectors, which
#: work through wide data (one column per product) a block at a time: a block's
#: temporaries (1 MB each) stay in the CPU cache, where temporaries spanning all
#: products (64 MB each for 1,000 products x 4 weeks of 5-minute buckets) would stream
#: through main memory and fresh pages.
BLOCK_CELLS = 1 << 17


def log_likelihood_ratio(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray,
                         ratio: float) -> np.ndarray:
    """Log-likelihood ratio of "rate = ratio * mu" against "rate = mu", per bucket.

    Parameters
    ----------
    y : np.ndarray
        Observed counts (NaN = missing, scores 0).
    mu : np.ndarray
        Baseline means.
    alpha : np.ndarray
        Negative-binomial dispersion, broadcastable to `y`.
    ratio : float
        The rate multiplier of the alternative (> 1).

    Returns
    -------
    np.ndarray
        ``log P(y | ratio * mu) - log P(y | mu)`` in nats.

    Examples
    --------
    >>> float(log_likelihood_ratio(np.array([2.0]), np.array([1.0]), np.array([0.0]), 2.0)[0])
    0.386...
    """
    shape = np.broadcast_shapes(np.shape(y), np.shape(mu), np.shape(alpha))
    mu = np.maximum(mu, MIN_MEAN)
    alpha = np.asarray(alpha, dtype=float)
    # Terms of the dispersion keep the shape of `alpha` (one row for a block of
    # products) and broadcast; those of each bucket are computed in place in two buffers.
    poisson = alpha < POISSON_ALPHA
    k = 1.0 / np.where(poisson, 1.0, alpha)
    far = np.multiply(ratio, mu, out=np.empty(shape))
    far += k  # k + ratio * mu
    near = np.add(k, mu, out=np.empty(shape))  # k + mu
    level = np.divide(near, far, out=np.empty(shape))
    np.log(level, out=level)
    level *= k  # k * log((k + mu) / (k + ratio * mu))
    llr = near
    llr *= ratio
    llr /= far
    np.log(llr, out=llr)
    llr *= y  # y * log(ratio * (k + mu) / (k + ratio * mu))
    llr += level
    if poisson.any():
        pois = y * np.log(ratio) - (ratio - 1.0) * mu
        llr = np.where(poisson, pois, llr)
    return np.nan_to_num(llr, copy=False, nan=0.0)


def upper_tail_surprise(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray,
                        prefilter_z: float = 1.0) -> np.ndarray:
    """``-log10 P(Y >= y)`` under the noise model, 0 where ``y <= mu``.

    The exact tail is computed only where the normal approximation says the count is at
    least `prefilter_z` standard deviations high; elsewhere the surprise is below
    ``-log10(0.2)`` and reported as 0, which keeps long series cheap.

    Parameters
    ----------
    y, mu, alpha : np.ndarray
        Counts, baseline means, dispersion (broadcastable).
    prefilter_z : float
        Normal-approximation z under which the exact tail is skipped.

    Returns
    -------
    np.ndarray
        Surprise in -log10 units, capped at 300.
    """
    mu = np.maximum(mu, MIN_MEAN)
    alpha = np.asarray(alpha, dtype=float)
    z = np.square(mu, out=np.empty(np.shape(mu)))
    z *= alpha
    z += mu
    np.sqrt(z, out=z)  # the standard deviation, sqrt(mu + alpha * mu**2)
    excess = np.subtract(y, mu)
    np.divide(excess, z, out=z)
    out = np.zeros(z.shape)
    sel = z > prefilter_z  # False where the count is missing (NaN)
    if not sel.any():
        return out
    ys = np.ceil(_selected(y, sel) - 1e-9)
    out[sel] = _surprise(ys, _selected(mu, sel), _selected(alpha, sel))
    return out


def _selected(values: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """``values`` (broadcast to the shape of the mask `sel` where it has another) at
    `sel`."""
    values = np.asarray(values)
    if values.shape == sel.shape:
        return values[sel]
    if values.size == 1:  # one value for all (an elevation's dispersion of 0)
        return np.full(np.count_nonzero(sel), values.reshape(-1)[0], dtype=values.dtype)
    return np.broadcast_to(values, sel.shape)[sel]


def _surprise(ys: np.ndarray, ms: np.ndarray, al: np.ndarray) -> np.ndarray:
    """``-log10 P(Y >= ys)`` for counts ``ys >= 1`` (regularized incomplete gamma and beta
    functions: the Poisson and negative-binomial tails, without scipy.stats' overhead)."""
    poisson = al < POISSON_ALPHA
    if poisson.all():  # one law throughout (an elevation's quasi-Poisson totals): no split
        tail = special.gammainc(ys, ms)
    elif not poisson.any():
        n = 1.0 / al
        tail = special.betainc(ys, n, ms / (n + ms))
    else:
        tail = _split_tail(ys, ms, al, poisson)
    with np.errstate(divide="ignore"):
        surprise = -np.log10(tail)
    # The tail underflows to 0 for extreme counts: fall back to the log pmf, a lower bound.
    bad = ~np.isfinite(surprise)
    if bad.any():
        yb, mb = ys[bad], ms[bad]
        surprise[bad] = -(yb * np.log(mb) - mb - special.gammaln(yb + 1)) / np.log(10.0)
    return np.clip(surprise, 0.0, MAX_SURPRISE)


def _split_tail(ys: np.ndarray, ms: np.ndarray, al: np.ndarray,
                poisson: np.ndarray) -> np.ndarray:
    """``P(Y >= ys)``, Poisson where `poisson`, negative binomial elsewhere."""
    tail = np.empty(ys.shape)
    # Poisson: P(Y >= y) = P(y, mu), the regularized lower incomplete gamma function.
    tail[poisson] = special.gammainc(ys[poisson], ms[poisson])
    # Negative binomial, size n = 1/alpha: P(Y >= y) = I_{mu / (n + mu)}(y, n).
    n = 1.0 / al[~poisson]
    tail[~poisson] = special.betainc(ys[~poisson], n, ms[~poisson] / (n + ms[~poisson]))
    return tail


def total_surprise(total: float, base: float, alpha: float = 0.0) -> float:
    """``-log10 P(Y >= total)`` for one total count against its baseline ``base``.

    The scalar form of :func:`upper_tail_surprise` (same formulas, without array
    overhead), for sums over stretches of buckets.
    """
    total = math.ceil(total - 1e-9)
    base = max(float(base), MIN_MEAN)
    if total <= base or total < 1:
        return 0.0
    if alpha < POISSON_ALPHA:
        tail = float(special.gammainc(total, base))
    else:
        n = 1.0 / alpha
        tail = float(special.betainc(total, n, base / (n + base)))
    if tail > 0.0:
        return min(-math.log10(tail), MAX_SURPRISE)
    log_pmf = total * math.log(base) - base - math.lgamma(total + 1)
    return min(max(-log_pmf / math.log(10.0), 0.0), MAX_SURPRISE)


def column_blocks(n_rows: int, n_cols: int, cells: int = BLOCK_CELLS) -> Iterator[slice]:
    """Consecutive blocks of columns of about `cells` cells each.

    A block has at least two columns unless the array has one: numpy sums a single
    column pairwise but several columns of a C-ordered array row after row, so that a
    lone column would change the last bits of the baseline's sums (see
    :func:`spikes.detect.baseline._row_order_sum`).

    Parameters
    ----------
    n_rows, n_cols : int
        Shape of the array.
    cells : int
        Cells per block.

    Yields
    ------
    slice
        The columns of one block.

    Examples
    --------
    >>> list(column_blocks(10, 5, cells=20))
    [slice(0, 2, None), slice(2, 5, None)]
    """
    width = max(2, cells // max(n_rows, 1))
    starts = list(range(0, n_cols, width))
    if len(starts) > 1 and n_cols - starts[-1] < 2:
        starts.pop()  # the last column joins the block before it
    bounds = [*starts, n_cols]
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        yield slice(start, stop)
