"""Window sums, masks and noise bounds the causal baseline is built from.

Pure array functions of :mod:`spikes.detect.trailing` (counts in, sums, flags and
estimates out, one column per product): trailing means of the buckets before each one,
the masks of unusually high buckets, the upper confidence bound of a dispersion measured
on few buckets, the rules of a day that moved to a new level or whose fit masked most of
it, and the one-hour block statistics of the variance inflation.
"""

from __future__ import annotations

from functools import lru_cache, partial

import numpy as np

from spikes.detect.baseline import (
    CHI2_1_MEDIAN,
    MASK_Z,
    MIN_BLOCKS,
    MIN_MEAN,
    PASSES,
    _fit_columns,
    _pair_dispersion,
    _rolling_mean,
)

#: Confidence of the upper bound of the cold start's dispersion (:func:`_upper_dispersion`).
COLD_DISPERSION_CONFIDENCE = 0.95


def _trailing_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Sum of the `window` buckets before each bucket (not itself)."""
    total = np.zeros((len(values) + 1, *values.shape[1:]))
    np.cumsum(values, axis=0, out=total[1:])
    stop = np.arange(len(values))
    return total[stop] - total[np.maximum(stop - window, 0)]


def _ratio(total: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """`total` over `weight`, NaN where the weight is 0."""
    return np.divide(total, weight, out=np.full_like(total, np.nan), where=weight > 0)


def _trailing_mean(values: np.ndarray, weights: np.ndarray, window: int) -> np.ndarray:
    """Mean of the `window` buckets before each bucket (not itself), NaN without any."""
    return _ratio(_trailing_sum(values, window), _trailing_sum(weights, window))


def _high(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Buckets ``MASK_Z`` standard deviations above their baseline (none without one)."""
    known = ~np.isnan(mu)
    mu_c = np.where(known, mu, 0.0)
    z = (y - mu_c) / np.sqrt(np.maximum(mu_c, MIN_MEAN) + alpha * np.square(mu_c) + 0.25)
    return (z > MASK_Z) & known


def _high_over_normal_before(seg: np.ndarray, prior_normal: np.ndarray,
                             candidate: np.ndarray, alpha: np.ndarray | float,
                             window: int, day_normal: np.ndarray | None = None
                             ) -> np.ndarray:
    """Buckets of a day ``MASK_Z`` standard deviations above the mean of the normal
    buckets among the `window` before each.

    The rows of `seg` before the day's are earlier buckets, with their normal flags
    `prior_normal`; a bucket of the day counts as normal unless it is a `candidate`
    (high against its seasonal baseline) and flagged itself, or not in `day_normal`
    (already masked, where given). Each bucket is judged against the normal ones before
    it: the buckets of an outage are no reference for its later ones, so an outage stays
    flagged to its end (as long as `window` holds a normal bucket before it).

    Parameters
    ----------
    seg : np.ndarray
        Counts (NaN = missing) of the earlier buckets, then of the day's.
    prior_normal : np.ndarray of bool
        Normal flags of the earlier buckets (the first rows of `seg`).
    candidate : np.ndarray of bool
        Buckets of the day high against their seasonal baseline.
    alpha : np.ndarray or float
        Dispersion of the day (broadcastable to one row of the day).
    window : int
        Buckets before each whose normal ones make its reference mean.
    day_normal : np.ndarray of bool, optional
        Buckets of the day that may be a reference (default: all observed ones).

    Returns
    -------
    np.ndarray of bool
        Per bucket of the day (rows of `candidate`), whether it is that high.
    """
    start = len(prior_normal)
    seen = ~np.isnan(seg)
    today = seen[start:] if day_normal is None else seen[start:] & day_normal
    use = np.concatenate([prior_normal & seen[:start], today])
    values = np.where(use, seg, 0.0)
    alpha = np.broadcast_to(alpha, (1, seg.shape[1]))
    flagged = _high(seg[start:], _trailing_mean(values, use.astype(float), window)[start:],
                    alpha)
    # Each bucket's flag rests on the flags before it alone, so the flags are the one
    # solution of that recursion. Passes over the day, each with the flags of the last,
    # find it: after pass k the first k buckets are right, and a pass that changes
    # nothing has found it. Most days take two or three; at worst one pass a bucket (a
    # whole 1-minute day raised by 3.2 standard deviations, 64 products: 58 passes,
    # 0.3 s). Products without a flagged candidate have it after the first.
    cols = np.flatnonzero((flagged & candidate).any(axis=0))
    if len(cols):
        sub = flagged[:, cols]
        # Those products' columns, gathered once for every pass.
        use_c, values_c, cand_c = use[:, cols], values[:, cols], candidate[:, cols]
        day_c, alpha_c = seg[start:, cols], alpha[:, cols]
        for _ in range(len(candidate)):
            keep = use_c.copy()
            keep[start:] &= ~(sub & cand_c)
            recent = _trailing_mean(np.where(keep, values_c, 0.0), keep.astype(float), window)
            now = _high(day_c, recent[start:], alpha_c)
            if np.array_equal(now, sub):
                break
            sub = now
        flagged[:, cols] = sub
    return flagged


def _far_below(y: np.ndarray, mu: np.ndarray, factor: float) -> np.ndarray:
    """Buckets under ``1 / factor`` of their baseline and ``MASK_Z`` Poisson standard
    deviations below it (none without a baseline). The Poisson variance is the least a
    count has, so this holds even where the dispersion is inflated by the error it
    finds."""
    known = ~np.isnan(mu)
    mu_c = np.where(known, mu, 0.0)
    z = (mu_c - y) / np.sqrt(np.maximum(mu_c, MIN_MEAN) + 0.25)
    return known & (z > MASK_Z) & (factor * y < mu_c)


def _kept(y: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Buckets to keep as normal: observed and neither `high` nor next to a high one."""
    flagged = high.copy()
    flagged[1:] |= high[:-1]
    flagged[:-1] |= high[1:]
    return ~np.isnan(y) & ~flagged


def _mask(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Buckets to keep as normal: observed and not (next to one) ``MASK_Z`` high."""
    return _kept(y, _high(y, mu, alpha))


def _upper_dispersion(spread: np.ndarray, reports: np.ndarray, squares: np.ndarray,
                      count: np.ndarray,
                      confidence: float = COLD_DISPERSION_CONFIDENCE) -> np.ndarray:
    """Upper confidence bound of a negative-binomial dispersion measured on few buckets.

    The method of moments takes ``alpha = (sum (y - mu)**2 - sum y) / sum mu**2``. Its
    squared deviations are a sample of the variance: with ``n`` buckets, their sum is
    about ``variance x chi2(n)``, so at `confidence` the variance is at most ``n /
    chi2.ppf(1 - confidence, n)`` times what they show (19.5 times with 2 buckets, 1.3
    with 100). That bound, less the Poisson part, over ``sum mu**2`` is the returned
    dispersion (clipped to [0, 100]); it tends to the moment estimate as buckets come
    in.

    Parameters
    ----------
    spread, reports, squares : np.ndarray
        Sums over the buckets measured of ``(y - mu)**2``, of ``y`` and of ``mu**2``.
    count : np.ndarray
        How many buckets each sum holds (same shape).
    confidence : float
        Confidence of the bound.

    Returns
    -------
    np.ndarray
        The dispersion (0 where nothing was measured).

    Examples
    --------
    >>> n = np.array([2.0, 100.0])
    >>> np.round(_upper_dispersion(n * 30.0, n * 20.0, n * 400.0, n), 3)
    array([1.412, 0.046])
    """
    n = np.asarray(count, dtype=np.int64)
    most = int(n.max()) if n.size else 0
    # The factor of every count up to the largest (a day holds at most 1,440 buckets of
    # a minute), looked up rather than computed per bucket.
    factor = _bound_factors(1 << max(most, 1).bit_length(), confidence)[n]
    upper = spread * factor - reports
    out = np.divide(upper, squares, out=np.zeros(np.shape(upper)), where=squares > 0)
    return np.clip(out, 0.0, 100.0)


@lru_cache(maxsize=32)
def _bound_factors(size: int, confidence: float) -> np.ndarray:
    """``n / chi2.ppf(1 - confidence, n)`` for ``n = 0 .. size - 1`` (1 at 0)."""
    from scipy import stats

    n = np.arange(size, dtype=float)
    out = np.ones(size)
    out[1:] = n[1:] / stats.chi2.ppf(1.0 - confidence, n[1:])
    return out


def _column_total(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """``x.sum(axis)`` over rows of products (the last axis), added one row after the
    other also for a single product.

    numpy adds the rows of a C-ordered array of several columns one after the other but a
    lone column pairwise, so that the last bits of a product's sums would depend on the
    products fitted beside it (the blocks of :func:`spikes.detect.trailing.
    fit_trailing_baseline` depend on the products and jobs). A lone column is summed as
    the running sum's last row, the order numpy adds several columns in.
    """
    if x.shape[-1] != 1 or x.shape[axis] == 0:
        return x.sum(axis=axis)
    return np.cumsum(x, axis=axis).take(-1, axis=axis)


def _column_sums(use: np.ndarray, *tables: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per column, the sum of each of `tables` over the rows where `use` holds."""
    return tuple(_column_total(np.where(use, table, 0.0)) for table in tables)


def _new_level(high: np.ndarray) -> np.ndarray:
    """Per product, whether more than half the buckets of a day (rows of `high`) are
    `high`: a day whose level stood high most of the time. Missing buckets count
    against it: a few high buckets between feed gaps prove no new level."""
    return 2 * high.sum(axis=0) > high.shape[0]


def _unless_mostly_masked(keep: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """A warm-up day's normal flags `keep` from its centred fit, but all its observed
    buckets for the products whose fit masked more than half of them: a daily cycle
    steeper than the fit follows (hourly buckets of a product whose evening rise is
    tenfold), not outages for most of the day. Such a day is pooled whole, as a day
    that stood high for most of its buckets is (:func:`_new_level`); its masks would
    otherwise leave the later days' baselines at its trough."""
    poor = 2 * (observed & ~keep).sum(axis=0) > observed.shape[0]
    return np.where(poor[None, :], observed, keep)


def _trailing_mean_two_pass(y: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Trailing mean of all observed buckets, then of the buckets it finds normal.

    Both passes are causal: the mask of a bucket uses the first-pass mean, which rests on
    earlier buckets only, and the second-pass mean uses the masks of earlier buckets.
    """
    observed = ~np.isnan(y)
    values = np.where(observed, y, 0.0)
    first = _trailing_mean(values, observed.astype(float), window)
    normal = _mask(y, first, 0.0)
    mean = _trailing_mean(np.where(normal, y, 0.0), normal.astype(float), window)
    return np.where(np.isnan(mean), first, mean), normal


def _block_squares(resid: np.ndarray, var: np.ndarray, use: np.ndarray,
                   block: int, column_major: bool = False) -> np.ndarray:
    """Squared sums of Pearson residuals over whole one-hour blocks of normal buckets
    (divided by the block length), NaN for blocks that are not all normal.

    The residuals of several products are row-major (summed bucket after bucket), or
    `column_major` (each block summed pairwise, as numpy sums a single column): a lone
    product is summed as it would be beside others (see :func:`_column_total`)."""
    n, p = resid.shape
    usable = (n // block) * block
    if block < 2 or usable == 0:
        return np.full((0, p), np.nan)
    pearson = np.where(use, resid / np.sqrt(var), 0.0)[:usable].reshape(-1, block, p)
    full = use[:usable].reshape(-1, block, p).all(axis=1)
    sums = pearson.sum(axis=1) if column_major else _column_total(pearson, axis=1)
    return np.where(full, sums**2 / block, np.nan)


def _inflation(stats: list[np.ndarray], p: int) -> np.ndarray:
    """Variance inflation from the block statistics of the history (median, as
    :func:`spikes.detect.baseline._variance_inflation`), 1 with under MIN_BLOCKS blocks."""
    out = np.ones(p)
    if not stats:
        return out
    squares = np.concatenate(stats, axis=0)
    count = (~np.isnan(squares)).sum(axis=0)
    ok = count >= MIN_BLOCKS
    if ok.any():
        median = _column_medians(squares[:, ok], count[ok])
        out[ok] = np.maximum(median / CHI2_1_MEDIAN, 1.0)
    return out


def _column_medians(values: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``np.nanmedian(values, axis=0)`` of columns holding `count` (>= 1) values that are
    not NaN: the middle of each sorted column (NaN sorts last), or the mean of its two
    middle values (the same floats, without the masked arrays ``nanmedian`` sorts small
    columns with)."""
    ordered = np.sort(values, axis=0)
    high = count // 2
    low = np.where(count % 2 == 1, high, high - 1)
    cols = np.arange(values.shape[1])
    return (ordered[low, cols] + ordered[high, cols]) / 2.0


def _centred_fit(y: np.ndarray, warm: int, block: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Baseline, normal flags and dispersion of a past stretch from itself alone: the
    retrospective rolling method of :mod:`spikes.detect.baseline` (a centred rolling
    mean, masks from differences of consecutive buckets)."""
    mean_of = partial(_rolling_mean, half_window=max(1, warm // 2))
    if y.shape[1] == 1:
        # Beside a copy of itself, column-major as several products come: summed as in a
        # block of products (row after row, or per column where column-major; see
        # trailing_windows._column_total), whatever the products fitted beside it.
        mu, normal, alpha = _centred_fit(np.asfortranarray(np.repeat(y, 2, axis=1)),
                                         warm, block)
        return mu[:, :1], normal[:, :1], alpha[:1]
    mu, normal, alpha, _ = _fit_columns(y, mean_of, block, _pair_dispersion, PASSES)
    return mu, normal, alpha


def _fill_without_history(mu: np.ndarray, y: np.ndarray) -> None:
    """Give buckets without any earlier data (a product's first buckets) the mean of its
    counts so far, themselves included (0 before any), in place: a value to show where
    there is no evidence (a product's buckets before the cold start scores them)."""
    rows = np.flatnonzero(np.isnan(mu).any(axis=1))  # running means up to the last of them
    if not len(rows):
        return
    missing, observed = np.isnan(mu[: rows[-1] + 1]), ~np.isnan(y[: rows[-1] + 1])
    total = np.cumsum(np.where(observed, y[: len(observed)], 0.0), axis=0)
    seen = np.cumsum(observed, axis=0)
    so_far = np.divide(total, seen, out=np.zeros_like(total), where=seen > 0)
    mu[: len(missing)][missing] = so_far[missing]
