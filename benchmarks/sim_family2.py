"""A second, independently designed simulator of crowd-report counts ("family 2").

It shares no code or design with :mod:`spikes.evaluation.simulate` (used to develop the
detector's defaults), so that figures on it check the defaults on unseen data. The model
works on a 1-minute intensity grid and aggregates it to the bucket size:

1. **Volume** - each product draws a tier (quiet, low, mid, high) and a level, log-uniform
   inside the tier, in expected reports per *bucket* of the family.
2. **Seasonality** (log scale) - a daily curve of 1-3 random Fourier harmonics with random
   phases, a weekend factor switched on smoothly (over 3 hours, at a product-specific
   local offset) and a weekend phase shift of the daily curve (people get up later).
3. **Drift** - multiplicative AR(1) on log scale, stepped hourly, correlation time of 1-5
   days and stationary standard deviation of 0.1-0.4: levels wander by tens of percent
   over weeks.
4. **Curiosity bursts** (not labelled) - a Hawkes cluster process: "news" immigrants at a
   few per week, each raising the rate 2-6x at peak with an exponential decay of 10-60 min;
   each burst spawns Poisson(0.35) children 5-60 min later at 60 % of its size.
5. **Outages** (labelled) - kinds *sharp* (5-20x, 15-40 min), *standard* (3-10x, 30 min to
   2 h), *partial* (1.5-3x, 30 min to 3 h) and *mild_long* (2.5-3x, 1-5 h), with a linear
   ramp (1-4 buckets or 10-30 min), a plateau with a multiplicative wobble and an
   exponential recovery; a share of events hits 2-4 products with onsets minutes apart.
   The excess is multiplicative on the outage-free baseline, with a floor of 5-20 extra
   reports over the outage so that outages of quiet products are visible at all.
6. **Counts** - gamma-Poisson (negative binomial) per bucket with a product-specific shape
   ``k`` (coefficient of variation ``1/sqrt(k)`` at high volume), plus missing buckets
   (NaN) in random short gaps and whole-feed gaps.

A label's ``onset`` is the first bucket whose expected outage excess reaches 10 % of the
outage's peak bucket excess, its ``end`` the last bucket at or above 30 % of it.

Families (:data:`FAMILIES`): ``drift`` (5-minute buckets, strong drift and bursts),
``minute`` (1-minute buckets, quieter products), ``hourly`` (1-hour buckets, outages of
at least an hour plus sharp ones) and ``quiet`` (mostly quiet products whose outages add
at least 5-20 reports over 30 min to 2 h).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MINUTE = pd.Timedelta("1min")

OUTAGE_KINDS: dict[str, dict[str, tuple[float, float]]] = {
    "sharp": {"ratio": (5.0, 20.0), "minutes": (15.0, 40.0)},
    "standard": {"ratio": (3.0, 10.0), "minutes": (30.0, 120.0)},
    "partial": {"ratio": (1.5, 3.0), "minutes": (30.0, 180.0)},
    "mild_long": {"ratio": (2.5, 3.0), "minutes": (60.0, 300.0)},
    "long": {"ratio": (2.0, 8.0), "minutes": (60.0, 180.0)},
}
"""Peak ratio (outage rate over baseline) and duration in minutes of each outage kind."""

_BASE: dict[str, Any] = {
    "bucket": "5min",
    # (weight, low, high) in expected reports per bucket
    "tiers": [(0.15, 0.05, 1.0), (0.3, 1.0, 10.0), (0.3, 10.0, 100.0), (0.25, 100.0, 2000.0)],
    "daily_amplitude": (0.3, 0.9),
    "weekend_factor": (0.55, 1.4),
    "drift_sd": (0.1, 0.3),
    "drift_days": (1.0, 5.0),
    "bursts_per_week": (1.0, 5.0),
    "burst_peak": (2.0, 6.0),
    "burst_minutes": (10.0, 60.0),
    "dispersion_k": (10.0, 200.0),
    "outages_per_week": 1.0,
    "kinds": {"sharp": 0.25, "standard": 0.3, "partial": 0.25, "mild_long": 0.2},
    "shared_share": 0.2,
    "floor_reports": (5.0, 20.0),
    "warmup_days": 2.0,
    "missing_rate": 0.002,
    "feed_gaps_per_week": 0.5,
}

FAMILIES: dict[str, dict[str, Any]] = {
    "drift": {**_BASE, "drift_sd": (0.2, 0.4), "drift_days": (1.0, 4.0),
              "bursts_per_week": (2.0, 6.0)},
    "minute": {**_BASE, "bucket": "1min",
               "tiers": [(0.4, 0.05, 1.0), (0.35, 1.0, 5.0), (0.2, 5.0, 30.0),
                         (0.05, 100.0, 400.0)]},
    "hourly": {**_BASE, "bucket": "1h",
               "tiers": [(0.15, 0.2, 1.0), (0.3, 1.0, 20.0), (0.3, 20.0, 300.0),
                         (0.25, 300.0, 20000.0)],
               "kinds": {"sharp": 0.2, "long": 0.35, "partial": 0.2, "mild_long": 0.25},
               "partial_minutes": (60.0, 180.0)},
    "quiet": {**_BASE, "tiers": [(0.75, 0.05, 1.0), (0.2, 1.0, 5.0), (0.05, 5.0, 50.0)],
              "floor_reports": (5.0, 20.0), "min_minutes": 30.0, "max_minutes": 120.0},
}
"""Options of each family (any of them can be overridden in :func:`generate`)."""


def _loguniform(rng: np.random.Generator, lo: float, hi: float, size: Any = None) -> Any:
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size))


def _levels(rng: np.random.Generator, n: int, tiers: Sequence[tuple[float, float, float]]
            ) -> tuple[np.ndarray, np.ndarray]:
    """Mean reports per bucket of ``n`` products and their tier numbers."""
    weights = np.array([t[0] for t in tiers], dtype=float)
    tier = rng.choice(len(tiers), size=n, p=weights / weights.sum())
    # make sure the quietest and the loudest tier are present when there are enough products
    if n >= len(tiers):
        tier[: len(tiers)] = np.arange(len(tiers))
        rng.shuffle(tier)
    level = np.array([_loguniform(rng, tiers[t][1], tiers[t][2]) for t in tier])
    return level, tier


def _seasonal(rng: np.random.Generator, minutes: pd.DatetimeIndex, opts: dict[str, Any]
              ) -> np.ndarray:
    """Log-scale daily and weekly shape of one product, mean of exp() about 1."""
    hours = (minutes.hour + minutes.minute / 60.0).to_numpy(dtype=float)
    offset = rng.uniform(-9.0, 10.0)  # product's "local" offset from UTC, hours
    local = (np.asarray(minutes.asi8, dtype=np.float64) / 3.6e12 + offset)  # hours since epoch
    n_harm = int(rng.integers(1, 4))
    amp = rng.uniform(*opts["daily_amplitude"]) * np.array([1.0, 0.45, 0.2])[:n_harm]
    amp *= rng.uniform(0.5, 1.0, n_harm) ** np.arange(n_harm)
    phase = rng.uniform(0, 2 * np.pi, n_harm)
    shift = rng.uniform(0.0, 2.5)  # weekend lie-in, hours

    def daily(h: np.ndarray) -> np.ndarray:
        k = np.arange(1, n_harm + 1)[:, None]
        return (amp[:, None] * np.cos(2 * np.pi * k * (h[None, :] + offset) / 24.0
                                      - phase[:, None])).sum(axis=0)

    # weekend indicator on local time (Saturday 00:00 to Monday 00:00; the epoch is a
    # Thursday), smoothed over 3 hours
    hard = (np.mod(local - 2 * 24.0, 168.0) < 48.0).astype(float)
    kernel = np.ones(181) / 181.0
    weekend = np.convolve(np.pad(hard, 90, mode="edge"), kernel, "valid")
    log_shape = (1 - weekend) * daily(hours) + weekend * daily(hours - shift)
    log_shape += weekend * math.log(rng.uniform(*opts["weekend_factor"]))
    return log_shape - np.log(np.mean(np.exp(log_shape)))


def _drift(rng: np.random.Generator, n_minutes: int, opts: dict[str, Any]) -> np.ndarray:
    """AR(1) on log scale stepped hourly and interpolated to minutes."""
    hours = n_minutes // 60 + 2
    tau = rng.uniform(*opts["drift_days"]) * 24.0
    sd = rng.uniform(*opts["drift_sd"])
    phi = math.exp(-1.0 / tau)
    eps = rng.normal(0.0, sd * math.sqrt(1 - phi * phi), hours)
    x = np.empty(hours)
    x[0] = rng.normal(0.0, sd)
    for i in range(1, hours):
        x[i] = phi * x[i - 1] + eps[i]
    return np.interp(np.arange(n_minutes) / 60.0, np.arange(hours), x)


def _bursts(rng: np.random.Generator, n_minutes: int, opts: dict[str, Any]
            ) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Excess multiplier of Hawkes-like curiosity bursts (0 = none) per minute, and the
    bursts as (first minute, last minute, peak excess)."""
    out = np.zeros(n_minutes)
    spans: list[tuple[int, int, float]] = []
    weeks = n_minutes / (7 * 1440)
    n_news = rng.poisson(rng.uniform(*opts["bursts_per_week"]) * weeks)
    queue = [(float(rng.uniform(0, n_minutes)), rng.uniform(*opts["burst_peak"]) - 1.0)
             for _ in range(n_news)]
    while queue:
        t0, size = queue.pop()
        tau = rng.uniform(*opts["burst_minutes"]) / 3.0  # decays to ~5 % after the span
        rise = rng.uniform(1.0, 4.0)
        lo, hi = int(t0), min(n_minutes, int(t0 + 6 * tau + rise) + 1)
        if lo >= n_minutes:
            continue
        t = np.arange(lo, hi) - t0
        out[lo:hi] += size * np.where(t < rise, np.clip(t / rise, 0, 1), np.exp(-(t - rise) / tau))
        spans.append((lo, min(n_minutes, int(t0 + 3 * tau + rise) + 1) - 1, float(size)))
        for _ in range(rng.poisson(0.35)):
            queue.append((t0 + rng.uniform(5.0, 60.0), 0.6 * size))
    return out, spans


def _outage_shape(rng: np.random.Generator, minutes: int, ramp: int) -> np.ndarray:
    """Relative excess per minute (peak 1): ramp, wobbling plateau, exponential recovery."""
    tail = int(rng.uniform(5.0, 20.0))
    t = np.arange(minutes + 4 * tail)
    shape = np.where(t < ramp, (t + 1) / (ramp + 1), 1.0)
    wobble = np.exp(np.convolve(rng.normal(0, 0.15, t.size), np.ones(5) / 5 ** 0.5, "same"))
    shape = shape * np.where(t < minutes, wobble, 1.0)
    if rng.random() < 0.5:  # peaked: sags to 50-90 % by the end of the plateau
        shape *= np.where(t < minutes, 1 - rng.uniform(0.1, 0.5) * t / minutes, 1.0)
    after = t >= minutes
    shape[after] = shape[minutes - 1] * np.exp(-(t[after] - minutes + 1) / tail)
    return shape


def _plan_outages(rng: np.random.Generator, products: list[str], n_minutes: int,
                  step: int, opts: dict[str, Any]) -> list[dict[str, Any]]:
    """Outage events (each with its products), non-overlapping per product."""
    weeks = n_minutes / (7 * 1440)
    kinds = opts["kinds"]
    names, probs = list(kinds), np.array(list(kinds.values()), dtype=float)
    target = rng.poisson(opts["outages_per_week"] * weeks * len(products))
    busy: dict[str, list[tuple[int, int]]] = {p: [] for p in products}
    first = int(opts["warmup_days"] * 1440)
    out: list[dict[str, Any]] = []
    placed, attempts = 0, 0
    while placed < target and attempts < 50 * max(target, 1):
        attempts += 1
        kind = names[rng.choice(len(names), p=probs / probs.sum())]
        spec = OUTAGE_KINDS[kind]
        lo_min, hi_min = spec["minutes"]
        if kind == "partial" and "partial_minutes" in opts:
            lo_min, hi_min = opts["partial_minutes"]
        lo_min = max(lo_min, opts.get("min_minutes", 0.0))
        hi_min = max(min(hi_min, opts.get("max_minutes", math.inf)), lo_min)
        size = 1
        if rng.random() < opts["shared_share"] and len(products) >= 2:
            size = int(rng.integers(2, min(4, len(products)) + 1))
        group = list(rng.choice(products, size=size, replace=False))
        t0 = int(rng.integers(first, max(first + 1, n_minutes - int(hi_min) - 120)))
        ramp = (int(rng.integers(1, 5)) * step if rng.random() < 0.5
                else int(rng.uniform(10.0, 30.0)))
        ramp = min(ramp, int(lo_min))
        members = []
        for j, product in enumerate(group):
            start = t0 + (int(rng.integers(0, 6)) if j else 0)
            minutes = int(rng.uniform(lo_min, hi_min))
            span = (start - 120, start + minutes + 120)
            if any(a < span[1] and span[0] < b for a, b in busy[product]):
                break
            members.append({"product": product, "start": start, "minutes": minutes,
                            "ramp": ramp, "ratio": float(rng.uniform(*spec["ratio"])),
                            "floor": float(rng.uniform(*opts["floor_reports"])),
                            "kind": kind, "event": len(out)})
        else:
            for m in members:
                busy[m["product"]].append((m["start"] - 120, m["start"] + m["minutes"] + 120))
            out.append({"kind": kind, "members": members})
            placed += len(members)
    return out


def generate(products: int | Sequence[str] = 30, days: float = 28, bucket: str | None = None,
             seed: int = 0, *, family: str = "drift", start: str = "2024-04-01",
             **options: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate crowd-report counts of one family with labelled outages.

    Parameters
    ----------
    products : int or sequence of str
        Number of products or their names.
    days : float
        Length of the data.
    bucket : str, optional
        Bucket size (must divide one day into whole minutes); the family's by default.
    seed : int
        Seed; the output is a deterministic function of all arguments.
    family : str
        One of :data:`FAMILIES`.
    start : str
        First bucket (UTC).
    **options
        Overrides of the family's options (see :data:`FAMILIES`), plus
        ``return_truth=True`` to get a third item, a dict with ``expected`` (the expected
        counts without bursts and outages, wide), ``bursts`` (``product, start, end,
        peak``: the curiosity bursts, from their start to about 5 % of their peak), and
        the expected extra reports per bucket of the bursts (``burst_excess``) and of the
        outages (``outage_excess``), both wide like ``expected``, and each product's
        gamma-Poisson shape (``dispersion_k``, a Series).

    Returns
    -------
    counts : pd.DataFrame
        Reports per bucket, UTC ``DatetimeIndex``, one float column per product, NaN where
        missing.
    labels : pd.DataFrame
        ``product, onset, end`` (bucket starts, UTC) plus ``kind``, ``ratio`` (peak ratio of
        the expected bucket counts) and ``event`` (shared outages share it).
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {sorted(FAMILIES)}")
    return_truth = bool(options.pop("return_truth", False))
    opts = {**FAMILIES[family], **options}
    size = pd.Timedelta(bucket or opts["bucket"])
    step = int(size / MINUTE)
    if step < 1 or (1440 % step):
        raise ValueError(f"bucket {size} must be whole minutes dividing one day")
    rng = np.random.default_rng(seed)
    names = ([f"{family}-{i:02d}" for i in range(products)] if isinstance(products, int)
             else [str(p) for p in products])
    n_buckets = int(round(days * 1440 / step))
    n_minutes = n_buckets * step
    t_start = pd.Timestamp(start, tz="UTC")
    minutes_index = pd.date_range(t_start, periods=n_minutes, freq=MINUTE)
    index = pd.date_range(t_start, periods=n_buckets, freq=size, name="timestamp")

    levels, _ = _levels(rng, len(names), opts["tiers"])
    base = np.empty((n_minutes, len(names)))
    burst = np.empty_like(base)
    burst_rows = []
    for j in range(len(names)):
        log_rate = _seasonal(rng, minutes_index, opts) + _drift(rng, n_minutes, opts)
        base[:, j] = levels[j] / step * np.exp(log_rate)
        burst[:, j], spans = _bursts(rng, n_minutes, opts)
        burst_rows += [(names[j], index[a // step], index[b // step], 1 + peak)
                       for a, b, peak in spans]

    excess = np.zeros_like(base)
    rows = []
    col = {p: j for j, p in enumerate(names)}
    for event in _plan_outages(rng, names, n_minutes, step, opts):
        for m in event["members"]:
            j, t0 = col[m["product"]], m["start"]
            shape = _outage_shape(rng, m["minutes"], m["ramp"])
            shape = shape[: n_minutes - t0]
            seg = base[t0:t0 + shape.size, j]
            add = (m["ratio"] - 1) * seg * shape
            floor = m["floor"] / shape.sum()
            add = np.maximum(add, floor * shape)  # quiet products still get a few reports
            excess[t0:t0 + shape.size, j] += add
            rows.append((m, add))

    def per_bucket(x: np.ndarray) -> np.ndarray:
        return x.reshape(n_buckets, step, -1).sum(axis=1)

    expected = per_bucket(base)
    burst_excess, outage_excess = per_bucket(base * burst), per_bucket(excess)
    mean = expected + burst_excess + outage_excess
    k = _loguniform(rng, *opts["dispersion_k"], len(names))
    lam = rng.gamma(k[None, :], mean / k[None, :])
    counts = rng.poisson(lam).astype(float)

    labels = []
    for m, add in rows:
        j, t0 = col[m["product"]], m["start"]
        b0 = t0 // step
        ext = np.zeros((b0 + add.size // step + 2) * step)
        ext[t0:t0 + add.size] = add
        ex_b = ext[b0 * step:].reshape(-1, step).sum(axis=1)
        ex_b = ex_b[: n_buckets - b0]
        peak = ex_b.max()
        above = np.flatnonzero(ex_b >= 0.1 * peak)
        strong = np.flatnonzero(ex_b >= 0.3 * peak)
        onset, end = b0 + above[0], b0 + strong[-1]
        ratio = float(np.max(1 + ex_b / expected[b0:b0 + ex_b.size, j]))
        labels.append((m["product"], index[onset], index[end], m["kind"], ratio, m["event"]))
    label_frame = pd.DataFrame(labels, columns=["product", "onset", "end", "kind", "ratio",
                                                "event"])
    label_frame = label_frame.sort_values(["onset", "product"], ignore_index=True)

    _punch_gaps(rng, counts, label_frame, index, opts)
    frame = pd.DataFrame(counts, index=index, columns=names)
    frame.columns.name = "product"
    if return_truth:
        truth = {"expected": pd.DataFrame(expected, index=index, columns=names),
                 "bursts": pd.DataFrame(burst_rows, columns=["product", "start", "end",
                                                             "peak"]),
                 "burst_excess": pd.DataFrame(burst_excess, index=index, columns=names),
                 "outage_excess": pd.DataFrame(outage_excess, index=index, columns=names),
                 "dispersion_k": pd.Series(k, index=names)}
        return frame, label_frame, truth  # type: ignore[return-value]
    return frame, label_frame


def _punch_gaps(rng: np.random.Generator, counts: np.ndarray, labels: pd.DataFrame,
                index: pd.DatetimeIndex, opts: dict[str, Any]) -> None:
    """Set random cells and whole-feed gaps to NaN, away from the labels (in place)."""
    n, p = counts.shape
    protect = np.zeros((n, p), dtype=bool)
    step = index[1] - index[0] if n > 1 else pd.Timedelta("1h")
    for row in labels.itertuples(index=False):
        a = index.searchsorted(row.onset - 6 * step)
        b = index.searchsorted(row.end + 6 * step)
        protect[a:b, :] = True  # simple: keep every product complete around outages
    cells = rng.random((n, p)) < opts["missing_rate"]
    counts[cells & ~protect] = np.nan
    weeks = n * step / pd.Timedelta(days=7)
    for _ in range(rng.poisson(opts["feed_gaps_per_week"] * weeks)):
        length = max(1, int(pd.Timedelta(minutes=rng.uniform(20, 180)) / step))
        a = int(rng.integers(0, max(1, n - length)))
        if not protect[a:a + length, 0].any():
            counts[a:a + length, :] = np.nan


def write(counts: pd.DataFrame, labels: pd.DataFrame, reports_path: str | Path,
          labels_path: str | Path) -> None:
    """Write the counts as a long CSV and the labels as a CSV.

    Parameters
    ----------
    counts : pd.DataFrame
        Wide counts from :func:`generate`; missing (NaN) cells get no row.
    labels : pd.DataFrame
        Labels from :func:`generate`.
    reports_path, labels_path : str or Path
        ``timestamp,product,reports`` (ISO-8601 UTC) and ``product,onset,end``.
    """
    long = counts.rename_axis(index="timestamp", columns="product").stack().dropna()
    long = long.rename("reports").reset_index()
    long["timestamp"] = long["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    long["reports"] = long["reports"].astype(int)
    long.to_csv(reports_path, index=False)
    out = labels[["product", "onset", "end"]].copy()
    for column in ("onset", "end"):
        out[column] = pd.to_datetime(out[column], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_csv(labels_path, index=False)
