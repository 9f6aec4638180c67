"""A third, independently designed simulator of crowd-report counts ("family 3").

It comes from a bug hunt: a second independent design, written apart from the first two
simulators (:mod:`spikes.evaluation.simulate`, :mod:`sim_family2`) to find where the
defaults break; its figures are check figures for every default but one (the rule for
an office's weekend shape, :func:`spikes.detect.trailing_level.weekend_shape`, was chosen
on it). The model works on 5-minute buckets:

1. **Products** - each product has a *shape* (cycled over the products: ``office``,
   ``consumer``, ``night``, ``gaming``, ``flat``), a volume (mean reports per bucket,
   log-uniform in the family's range), a negative-binomial shape ``k`` (log-uniform in
   3-60), a local-time offset from UTC, a drift and an AR(1) noise level.
2. **Daily and weekly shape** (on the product's local time) - a sum of Gaussian bumps per
   shape: office hours 9-17 with a lunch dip and dead nights, consumer morning and evening
   peaks, a night product peaking at 02:00, gaming's prime time at 22:00, a flat
   infrastructure product with a mild afternoon rise. On weekends the part above the
   daily floor is scaled: office 0.25x, gaming 1.5x, consumer 1.15x. The shape is scaled to
   a mean of 1 over the whole series.
3. **Drift** - a multiplicative linear trend on log scale (the family's range of log change
   per 28 days) times a daily random walk on log scale (standard deviation 0.02 a day).
4. **AR(1) noise** (optional) - multiplicative ``exp(e)`` with ``e`` an AR(1) process of
   coefficient 0.9 per bucket and stationary standard deviation ``ar_sigma``.
5. **Outages** (labelled) - a multiplier that ramps linearly to its peak ratio over
   ``ramp`` buckets, holds for the outage's length and decays linearly over 3 buckets; a
   few per product, onsets at any time of day after the first days and at least 2 days
   apart.
6. **News bursts** (not labelled) - an additive excess of ``amp`` times the bucket's rate
   at its start, decaying exponentially with a time constant of 1.5-4 buckets: a short
   spike that alerts should not report. Bursts keep 2 hours away from the product's
   outages.
7. **Counts** - ``Poisson(Gamma(k, rate / k))`` per bucket; then missing data: random
   cells (NaN) on every second product and 3-hour feed gaps on the others, the gaps kept
   2 hours away from the product's outages.

A label's ``onset`` is the outage's first bucket (the first step of its ramp) and its
``end`` the first bucket after its plateau (the first step of the decay).

Families (:data:`FAMILIES`; every family has 5-minute buckets):

- ``mixed`` - mixed shapes and volumes (5-200 per bucket), clear outages (3-10x, ramp of
  1-3 buckets, 30 min to 2 h), with missing cells and feed gaps;
- ``partial`` - partial outages (2-3x) ramping up over 30-90 min, lasting 1.5-3 h, on
  products of 10-500 per bucket;
- ``plateau`` - long plateaus (3-6x, 4-12 h), two per product;
- ``autocorr_tz`` - drift (log change -0.6 to +0.9 over 28 days), AR(1) noise (sigma
  0.1-0.25) and local time away from UTC (UTC-8, UTC-5, UTC+1, UTC+5:30, UTC+9);
- ``bursts`` - the ``mixed`` products and outages plus six unlabelled news bursts (4-15x
  at their peak) per product: an alert on a burst is a false alarm.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import lfilter

BUCKET = pd.Timedelta("5min")
BUCKETS_PER_DAY = 288
SHAPES = ("office", "consumer", "night", "gaming", "flat")
"""Daily shapes of the products, cycled over them in this order."""
WEEKEND_FACTOR = {"office": 0.25, "gaming": 1.5, "consumer": 1.15}
"""Weekend scaling of the part of the daily shape above its floor (1 for other shapes)."""
AR_COEFFICIENT = 0.9
"""AR(1) coefficient per bucket of the optional log-scale noise."""
NEAR_OUTAGE = pd.Timedelta("2h")
"""Bursts and feed gaps keep this far from a product's outages."""

_BASE: dict[str, Any] = {
    "volume": (5.0, 200.0),
    "dispersion_k": (3.0, 60.0),
    "utc_offsets": (0.0,),
    "drift": (0.0, 0.0),
    "walk_sd": 0.02,
    "ar_sigma": (0.0, 0.0),
    "outages_per_product": 3,
    "outage_kind": "standard",
    "ratio": (3.0, 10.0),
    "ramp_buckets": (1, 3),
    "outage_buckets": (6, 24),
    "tail_buckets": 3,
    "first_day": 4,
    "outage_gap_days": 2.0,
    "bursts_per_product": 0,
    "burst_peak": (4.0, 15.0),
    "burst_tau": (1.5, 4.0),
    "burst_gap_days": 1.0,
    "missing_rate": 0.0,
    "feed_gaps": 0,
    "feed_gap_buckets": 36,
}

FAMILIES: dict[str, dict[str, Any]] = {
    "mixed": {**_BASE, "missing_rate": 0.05, "feed_gaps": 3},
    "partial": {**_BASE, "volume": (10.0, 500.0), "ratio": (2.0, 3.0), "ramp_buckets": (6, 18),
                "outage_buckets": (18, 36), "outage_kind": "partial"},
    "plateau": {**_BASE, "volume": (5.0, 300.0), "outages_per_product": 2, "ratio": (3.0, 6.0),
                "ramp_buckets": (1, 6), "outage_buckets": (48, 144), "outage_kind": "plateau"},
    "autocorr_tz": {**_BASE, "volume": (5.0, 300.0), "drift": (-0.6, 0.9),
                    "ar_sigma": (0.1, 0.25), "utc_offsets": (-5.0, -8.0, 9.0, 5.5, 1.0)},
    "bursts": {**_BASE, "bursts_per_product": 6},
}
"""Options of each family (any of them can be overridden in :func:`generate`). Ranges are
``(low, high)``: volume, ``k``, ratio and burst peak log-uniform, the others uniform;
``*_buckets`` ranges are whole buckets, both ends included."""


def dataset_name(family: str) -> str:
    """The benchmark's name of a family's data set (``"family 3: mixed"``)."""
    return f"family 3: {family}"


def _bump(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    """Gaussian bump on the 24-hour circle."""
    d = (hour - centre + 12.0) % 24.0 - 12.0
    return np.exp(-0.5 * (d / width) ** 2)


def daily_shape(shape: str, hour: np.ndarray) -> np.ndarray:
    """Relative level of a product shape at local hours ``hour`` (floored at 0.02)."""
    b = _bump
    if shape == "office":  # 9-17 with a lunch dip, dead at night
        s = (0.08 + 1.6 * b(hour, 10.5, 1.6) + 1.4 * b(hour, 15.0, 1.8)
             + 0.7 * b(hour, 12.7, 0.8) - 0.5 * b(hour, 12.5, 0.5))
    elif shape == "consumer":  # morning and evening peaks
        s = 0.15 + 0.9 * b(hour, 8.0, 1.5) + 1.6 * b(hour, 20.5, 2.2) + 0.5 * b(hour, 13.0, 3.0)
    elif shape == "night":  # night shift, or the other hemisphere
        s = 0.2 + 1.8 * b(hour, 2.0, 2.5) + 0.3 * b(hour, 14.0, 3.0)
    elif shape == "gaming":  # sharp start of prime time
        s = 0.1 + 2.2 * b(hour, 22.0, 2.0) + 0.4 * b(hour, 16.0, 2.0)
    elif shape == "flat":  # infrastructure / API
        s = 0.8 + 0.3 * b(hour, 14.0, 4.0)
    else:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    return np.maximum(s, 0.02)


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(math.log(lo), math.log(hi))))


def _products(rng: np.random.Generator, n: int, opts: dict[str, Any]) -> list[dict[str, Any]]:
    """The products' names, shapes and parameters."""
    out = []
    for i in range(n):
        shape = SHAPES[i % len(SHAPES)]
        out.append({"name": f"{shape}-{i:02d}", "shape": shape,
                    "volume": _loguniform(rng, *opts["volume"]),
                    "k": _loguniform(rng, *opts["dispersion_k"]),
                    "offset": float(rng.choice(opts["utc_offsets"])),
                    "drift": float(rng.uniform(*opts["drift"])),
                    "ar_sigma": float(rng.uniform(*opts["ar_sigma"]))})
    return out


def base_rate(rng: np.random.Generator, product: dict[str, Any], index: pd.DatetimeIndex,
              walk_sd: float) -> np.ndarray:
    """Expected reports per bucket of one product without outages or bursts.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source (drift walk and AR(1) noise).
    product : dict
        One product of :func:`_products`.
    index : pandas.DatetimeIndex
        The buckets (UTC).
    walk_sd : float
        Standard deviation per day of the log-scale random walk.

    Returns
    -------
    numpy.ndarray
        The rate per bucket.
    """
    local = index + pd.Timedelta(hours=product["offset"])
    hour = np.asarray(local.hour + local.minute / 60.0, dtype=float)
    daily = daily_shape(product["shape"], hour)
    floor = daily.min()
    weekend = np.asarray(local.dayofweek >= 5)
    factor = np.where(weekend, WEEKEND_FACTOR.get(product["shape"], 1.0), 1.0)
    shape = floor + (daily - floor) * factor
    shape = shape / shape.mean()
    n = len(index)
    days = np.arange(n) / BUCKETS_PER_DAY
    walk = np.cumsum(rng.normal(0.0, walk_sd, n // BUCKETS_PER_DAY + 2))
    drift = np.exp(product["drift"] * days / 28.0 + np.interp(days, np.arange(walk.size), walk))
    rate = product["volume"] * shape * drift
    if product["ar_sigma"] > 0:
        eps = rng.normal(0.0, product["ar_sigma"] * math.sqrt(1 - AR_COEFFICIENT ** 2), n)
        eps[0] = 0.0
        rate = rate * np.exp(lfilter([1.0], [1.0, -AR_COEFFICIENT], eps))
    return rate


def outage_multiplier(n: int, start: int, ramp: int, length: int, ratio: float,
                      tail: int = 3) -> np.ndarray:
    """Multiplier (>= 1) of one outage on a series of ``n`` buckets.

    Parameters
    ----------
    n : int
        Buckets of the series.
    start : int
        The outage's first bucket.
    ramp : int
        Buckets to reach the peak ratio (linear; 1 = at once).
    length : int
        Buckets from ``start`` to the end of the plateau.
    ratio : float
        Peak ratio of the rate.
    tail : int
        Buckets of the linear decay after the plateau.

    Returns
    -------
    numpy.ndarray
        1 outside the outage.
    """
    m = np.ones(n)
    j = np.arange(start, min(n, start + length))
    m[j] = 1 + (ratio - 1) * np.minimum(1.0, (j - start + 1) / max(ramp, 1))
    k = np.arange(tail)
    after = start + length + k
    keep = after < n
    m[after[keep]] = 1 + (ratio - 1) * (1 - (k[keep] + 1) / (tail + 1))
    return m


def _times(rng: np.random.Generator, count: int, days: int, first_day: int, gap_days: float,
           avoid: list[tuple[pd.Timestamp, pd.Timestamp]], start: pd.Timestamp
           ) -> list[pd.Timestamp]:
    """Up to ``count`` bucket starts on days ``first_day .. days - 2``, at least
    ``gap_days`` apart and outside the ``avoid`` spans (1,000 tries)."""
    out: list[pd.Timestamp] = []
    for _ in range(1000):
        if len(out) >= count or days - 1 <= first_day:
            break
        t = start + pd.Timedelta(days=int(rng.integers(first_day, days - 1)),
                                 hours=int(rng.integers(0, 24)),
                                 minutes=5 * int(rng.integers(0, 12)))
        apart = all(abs((t - o) / pd.Timedelta(days=1)) >= gap_days for o in out)
        if apart and not any(a <= t <= b for a, b in avoid):
            out.append(t)
    return out


def _plan_outages(rng: np.random.Generator, products: list[dict[str, Any]], days: int,
                  start: pd.Timestamp, opts: dict[str, Any]) -> list[dict[str, Any]]:
    """Outages of every product: ``product, onset, ramp, buckets, ratio``."""
    out = []
    for p in products:
        for t in _times(rng, opts["outages_per_product"], days, opts["first_day"],
                        opts["outage_gap_days"], [], start):
            out.append({"product": p["name"], "onset": t,
                        "ramp": int(rng.integers(*opts["ramp_buckets"], endpoint=True)),
                        "buckets": int(rng.integers(*opts["outage_buckets"], endpoint=True)),
                        "ratio": _loguniform(rng, *opts["ratio"])})
    return out


def _spans(outages: list[dict[str, Any]], product: str, tail: int
           ) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """A product's outages widened by :data:`NEAR_OUTAGE` on both sides."""
    return [(o["onset"] - NEAR_OUTAGE, o["onset"] + (o["buckets"] + tail) * BUCKET + NEAR_OUTAGE)
            for o in outages if o["product"] == product]


def _plan_bursts(rng: np.random.Generator, products: list[dict[str, Any]], days: int,
                 start: pd.Timestamp, outages: list[dict[str, Any]], opts: dict[str, Any]
                 ) -> list[dict[str, Any]]:
    """News bursts of every product: ``product, start, amp, tau`` (tau in buckets)."""
    out = []
    if opts["bursts_per_product"] <= 0:
        return out
    for p in products:
        avoid = _spans(outages, p["name"], opts["tail_buckets"])
        for t in _times(rng, opts["bursts_per_product"], days, opts["first_day"],
                        opts["burst_gap_days"], avoid, start):
            out.append({"product": p["name"], "start": t,
                        "amp": float(rng.uniform(*opts["burst_peak"])),
                        "tau": float(rng.uniform(*opts["burst_tau"]))})
    return out


def _burst_excess(n: int, start: int, amp: float, tau: float, level: float) -> np.ndarray:
    """Additive reports per bucket of one news burst starting at bucket ``start``."""
    out = np.zeros(n)
    length = min(n - start, int(tau * 6))
    out[start:start + length] = amp * level * np.exp(-np.arange(length) / tau)
    return out


def _punch_missing(rng: np.random.Generator, counts: np.ndarray, index: pd.DatetimeIndex,
                   products: list[dict[str, Any]], outages: list[dict[str, Any]],
                   days: int, opts: dict[str, Any]) -> None:
    """NaN cells on every second product, feed gaps on the others (in place)."""
    for j, p in enumerate(products):
        if j % 2 == 0:
            if opts["missing_rate"] > 0:
                counts[rng.random(len(index)) < opts["missing_rate"], j] = np.nan
            continue
        if opts["feed_gaps"] <= 0:
            continue
        avoid = _spans(outages, p["name"], opts["tail_buckets"])
        length = int(opts["feed_gap_buckets"])
        avoid = [(a - length * BUCKET, b) for a, b in avoid]  # the whole gap stays clear
        for t in _times(rng, opts["feed_gaps"], days, 3, 1.0, avoid, index[0]):
            i = index.get_loc(t)
            counts[i:i + length, j] = np.nan


def _burst_table(bursts: list[dict[str, Any]]) -> pd.DataFrame:
    """``product, start, end, peak`` of the bursts (typed columns, even when empty)."""
    starts = pd.DatetimeIndex([b["start"] for b in bursts], dtype="datetime64[ns, UTC]")
    lengths = pd.TimedeltaIndex([int(3 * b["tau"]) * BUCKET for b in bursts])
    return pd.DataFrame({"product": pd.Series([b["product"] for b in bursts], dtype=str),
                         "start": starts, "end": starts + lengths,
                         "peak": np.array([1 + b["amp"] for b in bursts], dtype=float)})


def generate(products: int = 36, days: int = 28, seed: int = 0, *, family: str = "mixed",
             start: str = "2026-02-02", **options: Any
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate 5-minute crowd-report counts of one family with labelled outages.

    Parameters
    ----------
    products : int
        Number of products (their shapes cycle through :data:`SHAPES`).
    days : int
        Length of the data in days.
    seed : int
        Seed; the output is a deterministic function of all arguments.
    family : str
        One of :data:`FAMILIES`.
    start : str
        First bucket (UTC; the default is a Monday).
    **options
        Overrides of the family's options (see :data:`FAMILIES`), plus
        ``return_truth=True`` to get a third item, a dict with ``expected`` (the expected
        counts without outages and bursts, wide), ``bursts`` (``product, start, end,
        peak``: the news bursts, from their start to about 5 % of their peak) and each
        product's negative-binomial shape (``dispersion_k``, a Series).

    Returns
    -------
    counts : pd.DataFrame
        Reports per bucket, UTC ``DatetimeIndex``, one float column per product, NaN where
        missing.
    labels : pd.DataFrame
        ``product, onset, end`` (bucket starts, UTC) plus ``kind`` (the family's outage
        kind), ``shape`` (the product's daily shape), ``ratio`` (peak ratio),
        ``ramp_buckets`` and ``buckets`` (length to the end of the plateau).
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {sorted(FAMILIES)}")
    return_truth = bool(options.pop("return_truth", False))
    opts = {**FAMILIES[family], **options}
    rng = np.random.default_rng(seed)
    t_start = pd.Timestamp(start, tz="UTC")
    index = pd.date_range(t_start, periods=int(days) * BUCKETS_PER_DAY, freq=BUCKET,
                          name="timestamp")
    n = len(index)
    prods = _products(rng, products, opts)
    outages = _plan_outages(rng, prods, int(days), t_start, opts)
    bursts = _plan_bursts(rng, prods, int(days), t_start, outages, opts)

    expected = np.empty((n, len(prods)))
    counts = np.empty_like(expected)
    for j, p in enumerate(prods):
        rate = base_rate(rng, p, index, opts["walk_sd"])
        expected[:, j] = rate
        mult, add = np.ones(n), np.zeros(n)
        for o in (o for o in outages if o["product"] == p["name"]):
            mult *= outage_multiplier(n, index.get_loc(o["onset"]), o["ramp"], o["buckets"],
                                      o["ratio"], opts["tail_buckets"])
        for b in (b for b in bursts if b["product"] == p["name"]):
            i = index.get_loc(b["start"])
            add += _burst_excess(n, i, b["amp"], b["tau"], rate[i])
        lam = rng.gamma(p["k"], (rate * mult + add) / p["k"])
        counts[:, j] = rng.poisson(lam)
    _punch_missing(rng, counts, index, prods, outages, int(days), opts)

    names = [p["name"] for p in prods]
    shape_of = {p["name"]: p["shape"] for p in prods}
    labels = pd.DataFrame(
        [(o["product"], o["onset"], o["onset"] + o["buckets"] * BUCKET, opts["outage_kind"],
          shape_of[o["product"]], o["ratio"], o["ramp"], o["buckets"]) for o in outages],
        columns=["product", "onset", "end", "kind", "shape", "ratio", "ramp_buckets",
                 "buckets"])
    labels = labels.sort_values(["onset", "product"], ignore_index=True)
    frame = pd.DataFrame(counts, index=index, columns=names)
    frame.columns.name = "product"
    if return_truth:
        truth = {"expected": pd.DataFrame(expected, index=index, columns=names),
                 "bursts": _burst_table(bursts),
                 "dispersion_k": pd.Series([p["k"] for p in prods], index=names)}
        return frame, labels, truth  # type: ignore[return-value]
    return frame, labels
