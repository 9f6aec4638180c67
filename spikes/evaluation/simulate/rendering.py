"""Drawing reports for planned outages and distractors on top of the expected rates.

:func:`render` draws overdispersed counts (Poisson with an autocorrelated log-normal and an
independent gamma rate multiplier) or raw report events, labels the outages and returns a
:class:`Simulation`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spikes.errors import SpikesInputError
from spikes.evaluation.simulate.audience import Audience
from spikes.evaluation.simulate.outages import (
    END_LEVEL,
    Distractor,
    Mix,
    Outage,
    outage_profile,
)

LABEL_COLUMNS = ["product", "onset", "end", "event", "snr", "ratio"]
DISTRACTOR_COLUMNS = ["product", "start", "end", "kind"]

_NOISE_TIME = pd.Timedelta("45min")


@dataclass(frozen=True)
class Simulation:
    """Simulated reports with their ground truth.

    Attributes
    ----------
    reports : pd.DataFrame
        Long counts ``timestamp, product, reports`` (one row per bucket and product,
        integer counts; a missing row is missing data) or, for raw events,
        ``timestamp, product, region, category`` (one row per report).
    labels : pd.DataFrame
        One row per true outage: ``product, onset, end, event, snr, ratio``. ``onset`` is
        the first bucket where the outage adds reports, ``end`` the last bucket whose
        expected excess is at least :data:`END_LEVEL` x the baseline (a recovery surge
        belongs to its outage; an outage still running at the end of the data ends at
        the last bucket). ``event`` is shared by the products of one cascade. ``snr`` is
        the expected excess over ``onset..end`` divided by ``sqrt(expected baseline + 1)``
        over the same buckets; ``ratio`` the peak of (baseline + excess) / baseline.
    distractors : pd.DataFrame
        Things that are not outages: ``product, start, end, kind`` with ``kind`` in
        ``{"blip", "level_shift"}`` (``start`` and ``end`` are bucket starts).
    expected : pd.DataFrame
        The true expected reports per bucket without outages and blips (level shifts
        included): a UTC ``DatetimeIndex`` and one column per product.
    excess : pd.DataFrame
        The expected extra reports per bucket due to outages, shaped like ``expected``.
    bucket : pd.Timedelta
        Bucket size.
    noise : pd.DataFrame or None
        The count noise's parameters per product (index: the products), as
        :func:`render` drew them: ``log_sd``, the log-scale standard deviation of the
        autocorrelated log-normal multiplier, and ``gamma_shape``, the shape of the
        independent gamma multiplier (the counts' negative-binomial shape given the
        rate). None where the simulation was not made by :func:`render`.
    """

    reports: pd.DataFrame
    labels: pd.DataFrame
    distractors: pd.DataFrame
    expected: pd.DataFrame
    excess: pd.DataFrame
    bucket: pd.Timedelta
    noise: pd.DataFrame | None = None

    def counts(self) -> pd.DataFrame:
        """Reports per bucket and product on the whole grid, as :func:`spikes.io.buckets.
        load_reports` reads them back from the CSV: a missing row of count data is NaN,
        a bucket without report events is 0.

        Returns
        -------
        pd.DataFrame
            Index and columns of :attr:`expected`.
        """
        reports = self.reports
        if "reports" in reports.columns:
            wide = reports.pivot_table(index="timestamp", columns="product",
                                       values="reports", aggfunc="sum")
            return wide.reindex(index=self.expected.index,
                                columns=self.expected.columns).astype(float)
        bucket_start = reports["timestamp"].dt.floor(self.bucket)
        wide = reports.groupby([bucket_start, "product"]).size().unstack("product")
        return wide.reindex(index=self.expected.index, columns=self.expected.columns,
                            fill_value=0).fillna(0).astype(float)


# --- rendering ------------------------------------------------------------------------
def render(expected: pd.DataFrame, audience: Audience, outages: Sequence[Outage],
           distractors: Sequence[Distractor] = (), *, rng: np.random.Generator,
           missing_rate: float = 0.0, as_events: bool = False) -> Simulation:
    """Draw reports for planned outages and distractors on top of a baseline.

    Counts are Poisson with rate ``(expected x level shifts x A + excess) x G``: ``A`` is
    an autocorrelated log-normal multiplier (AR(1) in log with a 45 min time constant,
    log-sd 0.05-0.2 per product) and ``G`` an independent gamma multiplier with mean 1
    and shape 10-60 per product (negative binomial counts), so the noise is burstier
    than Poisson. ``A`` and ``G`` have mean 1, so ``expected`` is the mean.

    Parameters
    ----------
    expected : pd.DataFrame
        Expected reports per bucket without outages (from :func:`expected_rates`).
    audience : Audience
        Region and category mixes of the products.
    outages : sequence of Outage
        Outages; those of one product must not overlap.
    distractors : sequence of Distractor
        Blips and level shifts.
    rng : np.random.Generator
        Random generator.
    missing_rate : float
        Fraction of (bucket, product) cells dropped.
    as_events : bool
        Raw events instead of counts.

    Returns
    -------
    Simulation

    Raises
    ------
    SpikesInputError
        If an outage names an unknown product, starts outside the data or overlaps
        another outage of its product.
    """
    index = pd.DatetimeIndex(expected.index)
    bucket = pd.Timedelta(index.freq)
    products = [str(c) for c in expected.columns]
    base = _apply_level_shifts(expected.to_numpy(dtype=float).copy(), index, products,
                               distractors)
    excess, owner, labels = _add_outages(base, index, products, outages)
    blip = _blip_excess(base, index, products, distractors)
    counts, extra, noise = _draw_counts(base, excess + blip, bucket, rng)
    keep = rng.random(counts.shape) >= missing_rate if missing_rate > 0 else None
    frame = dict(index=index, columns=products)
    if as_events:
        reports = _events(counts, extra, owner, index, audience, outages, keep, rng)
    else:
        reports = _long_counts(counts, index, products, keep)
    return Simulation(
        reports=reports,
        labels=labels,
        distractors=_distractor_table(distractors, index),
        expected=pd.DataFrame(base, **frame),
        excess=pd.DataFrame(excess, **frame),
        bucket=bucket,
        noise=pd.DataFrame(noise, index=pd.Index(products, name="product")),
    )


def _apply_level_shifts(base: np.ndarray, index: pd.DatetimeIndex, products: list[str],
                        distractors: Sequence[Distractor]) -> np.ndarray:
    for d in distractors:
        if d.kind == "level_shift":
            lo, hi = index.searchsorted([d.start, d.start + d.length])
            base[lo:hi, _column(products, d.product)] *= d.factor
    return base


def _column(products: list[str], name: str) -> int:
    try:
        return products.index(name)
    except ValueError:
        raise SpikesInputError(f"simulate: unknown product {name!r}") from None


def _add_outages(base: np.ndarray, index: pd.DatetimeIndex, products: list[str],
                 outages: Sequence[Outage]) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Expected excess, the outage owning each cell (-1: none) and the labels."""
    bucket = pd.Timedelta(index.freq)
    excess = np.zeros_like(base)
    owner = np.full(base.shape, -1, dtype=np.int64)
    rows = []
    for k, o in enumerate(outages):
        p = _column(products, o.product)
        # The bucket of the grid that holds the onset (a grid need not start at a
        # multiple of the bucket since the epoch: 7-minute buckets, a start at 13:37).
        at = int(index.searchsorted(o.onset, side="right")) - 1
        if not 0 <= at < len(index) or o.onset >= index[at] + bucket:
            raise SpikesInputError(f"simulate: outage of {o.product} at {o.onset} is outside "
                                   "the data")
        m = outage_profile(o, bucket)[: len(index) - at]
        cells = slice(at, at + len(m))
        if (owner[cells, p] >= 0).any():
            raise SpikesInputError(f"simulate: outages of {o.product} overlap at {o.onset}")
        excess[cells, p] = m * base[cells, p]
        owner[cells, p] = k
        stop = at + int(np.nonzero(m >= END_LEVEL)[0].max()) + 1
        rows.append({
            "product": o.product, "onset": index[at], "end": index[stop - 1],
            "event": o.event,
            "snr": excess[at:stop, p].sum() / math.sqrt(base[at:stop, p].sum() + 1.0),
            "ratio": 1.0 + float(m[: stop - at].max()),
        })
    labels = pd.DataFrame(rows, columns=LABEL_COLUMNS)
    labels = labels.sort_values(["onset", "product"], kind="stable").reset_index(drop=True)
    return excess, owner, labels


def _blip_excess(base: np.ndarray, index: pd.DatetimeIndex, products: list[str],
                 distractors: Sequence[Distractor]) -> np.ndarray:
    blip = np.zeros_like(base)
    for d in distractors:
        if d.kind == "blip":
            at = int(index.searchsorted(d.start))
            p = _column(products, d.product)
            if at < len(index):
                blip[at, p] += max((d.factor - 1.0) * base[at, p], 5.0)
    return blip


def _draw_counts(base: np.ndarray, extra: np.ndarray, bucket: pd.Timedelta,
                 rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Total counts, the part of them due to `extra`, and the noise's parameters per
    product (``log_sd``, ``gamma_shape``)."""
    steps, count = base.shape
    log_sd = rng.uniform(0.05, 0.2, count)
    shape = rng.uniform(10.0, 60.0, count)
    phi = math.exp(-(bucket / _NOISE_TIME))
    shocks = rng.standard_normal((steps, count))
    shocks[1:] *= math.sqrt((1 + phi) / (1 - phi)) if phi > 0 else 1.0
    walk = pd.DataFrame(shocks).ewm(alpha=1 - phi, adjust=False).mean().to_numpy()
    drift = np.exp(walk * log_sd - log_sd**2 / 2)
    mean_base = base * drift
    rate = (mean_base + extra) * rng.gamma(shape, 1.0 / shape, size=(steps, count))
    counts = rng.poisson(rate)
    share = np.divide(extra, mean_base + extra, out=np.zeros_like(extra),
                      where=(mean_base + extra) > 0)
    return (counts, rng.binomial(counts, share),
            {"log_sd": log_sd, "gamma_shape": shape})


def _long_counts(counts: np.ndarray, index: pd.DatetimeIndex, products: list[str],
                 keep: np.ndarray | None) -> pd.DataFrame:
    steps, count = counts.shape
    table = pd.DataFrame({
        "timestamp": index.repeat(count),
        "product": np.tile(np.asarray(products, dtype=object), steps),
        "reports": counts.ravel().astype(np.int64),
    })
    if keep is not None:
        table = table[keep.ravel()].reset_index(drop=True)
    return table


def _distractor_table(distractors: Sequence[Distractor], index: pd.DatetimeIndex
                      ) -> pd.DataFrame:
    bucket = pd.Timedelta(index.freq)
    rows = []
    for d in distractors:
        end = d.start if d.kind == "blip" else min(d.start + d.length - bucket, index[-1])
        rows.append({"product": d.product, "start": d.start, "end": end, "kind": d.kind})
    table = pd.DataFrame(rows, columns=DISTRACTOR_COLUMNS)
    if rows:
        table = table.sort_values(["start", "product"], kind="stable").reset_index(drop=True)
    else:
        table["start"] = table["end"] = pd.Series(dtype="datetime64[ns, UTC]")
    return table


# --- raw events -----------------------------------------------------------------------
def _events(counts: np.ndarray, extra: np.ndarray, owner: np.ndarray, index: pd.DatetimeIndex,
            audience: Audience, outages: Sequence[Outage], keep: np.ndarray | None,
            rng: np.random.Generator) -> pd.DataFrame:
    """One row per report: the normal part follows the product's mixes, the extra part
    its outage's mixes (blips look like normal traffic)."""
    steps, count = counts.shape
    if keep is not None:
        counts, extra = counts * keep, extra * keep
    regions, region_rows = _mix_table(audience.regions, outages, "region")
    categories, category_rows = _mix_table(audience.categories, outages, "category")
    normal = counts - extra
    cells = np.concatenate([np.repeat(np.arange(counts.size), normal.ravel()),
                            np.repeat(np.arange(counts.size), extra.ravel())])
    is_extra = np.arange(cells.size) >= normal.sum()
    step, product = np.divmod(cells, count)
    mix_row = product + len(outages)
    outage = owner.ravel()[cells]
    mix_row = np.where(is_extra & (outage >= 0), outage, mix_row)
    region = _draw_from(region_rows, mix_row, rng)
    category = _draw_from(category_rows, mix_row, rng)
    seconds = rng.integers(0, max(1, int(pd.Timedelta(index.freq).total_seconds())), cells.size)
    stamp = index.as_unit("s").asi8[step] + seconds
    order = np.lexsort((product, stamp))
    return pd.DataFrame({
        "timestamp": pd.to_datetime(stamp[order], unit="s", utc=True),
        "product": np.asarray(audience.regions.index, dtype=object)[product[order]],
        "region": np.asarray(regions, dtype=object)[region[order]],
        "category": np.asarray(categories, dtype=object)[category[order]],
    })


def _mix_table(normal: pd.DataFrame, outages: Sequence[Outage], attr: str
               ) -> tuple[list[str], np.ndarray]:
    """Names and one probability row per outage, then one per product."""
    names = list(normal.columns)
    for o in outages:
        spec = getattr(o, attr)
        for name in [spec] if isinstance(spec, str) else list(spec or []):
            if name not in names:
                names.append(name)
    base = normal.reindex(columns=names, fill_value=0.0).to_numpy()
    rows = []
    for o in outages:
        usual = base[list(normal.index).index(o.product)]
        rows.append(_outage_mix(getattr(o, attr), names, usual, o.focus))
    return names, np.vstack(rows + [base]) if rows else base


def _outage_mix(spec: Mix, names: list[str], usual: np.ndarray, focus: float) -> np.ndarray:
    if spec is None:
        return usual
    weights = {spec: 1.0} if isinstance(spec, str) else dict(spec)
    target = np.array([weights.get(n, 0.0) for n in names], dtype=float)
    return focus * target / target.sum() + (1 - focus) * usual


def _draw_from(rows: np.ndarray, which: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one category per event from probability row ``rows[which]``."""
    cumulative = np.cumsum(rows, axis=1)
    cumulative /= cumulative[:, -1:]
    u = rng.random(which.size)
    out = np.zeros(which.size, dtype=np.int64)
    for k in range(rows.shape[1] - 1):
        out += u >= cumulative[which, k]
    return out
