"""What happens: planned outages and distractors, their shapes and where they fall.

An :class:`Outage` is one product's outage as planned (:func:`outage_profile` gives its
excess per bucket); :func:`random_outages` draws outages of varied size, length and shape
(some of them cascades over several products) that fit inside the data and do not overlap
per product. A :class:`Distractor` is something that must not be called an outage
(one-bucket blips, day-long level shifts); :func:`random_distractors` draws them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from spikes.errors import SpikesInputError
from spikes.evaluation.simulate.audience import HOME_WEIGHTS, HOUR, REGIONS

OUTAGE_CATEGORIES: tuple[str, ...] = ("Login", "Website", "App", "Connection", "Server error")
"""What the reports of a random outage are mostly about."""

END_LEVEL = 0.5
"""An outage's label ends at the last bucket whose expected excess is >= this x baseline."""
_TAIL_CUT = 0.02

Mix = str | Mapping[str, float] | None


@dataclass(frozen=True, kw_only=True)
class Outage:
    """One product's outage, as planned (the label is derived from it by :func:`render`).

    The extra reports are ``(ratio - 1) x m(t) x baseline(t)`` with a profile ``m`` that
    rises linearly over ``rise`` to 1, holds until ``rise + hold`` after the onset and
    then decays exponentially so that it is just above :data:`END_LEVEL` / (ratio - 1) at
    the end of ``duration`` (if ``duration <= rise + hold`` it drops within a bucket or
    two after the hold: a plateau).

    Parameters
    ----------
    product : str
        Product hit.
    onset : pd.Timestamp
        Start of the first bucket with extra reports (floored to the bucket).
    ratio : float
        Peak multiplier of the baseline, > 1.55.
    duration : pd.Timedelta
        Length of the main part (at least two buckets are used).
    rise : pd.Timedelta
        Time to reach the peak (one bucket or less = a sharp rise).
    hold : pd.Timedelta
        Time at the peak after the rise.
    aftershock : float
        Height of a recovery surge relative to the peak excess (0 = none). It must reach
        :data:`END_LEVEL` x baseline so that the label covers it.
    aftershock_delay : pd.Timedelta
        Time from the end of the main part to the top of the surge.
    event : int or str
        Event id; shared by the outages of one cascade.
    region, category : str, mapping of str to float, or None
        Where the extra reports come from and what they are about: one name or weights.
        None = like the product's normal traffic.
    focus : float
        Share of the extra reports that follow ``region`` / ``category``; the rest look
        like normal traffic.
    """

    product: str
    onset: pd.Timestamp
    ratio: float
    duration: pd.Timedelta
    rise: pd.Timedelta = pd.Timedelta(0)
    hold: pd.Timedelta = pd.Timedelta(0)
    aftershock: float = 0.0
    aftershock_delay: pd.Timedelta = pd.Timedelta("15min")
    event: int | str = 0
    region: Mix = None
    category: Mix = None
    focus: float = 0.85

    def __post_init__(self) -> None:
        if not self.ratio > 1 + 1.1 * END_LEVEL:
            raise SpikesInputError(
                f"simulate: outage of {self.product}: ratio must be > 1.55, got {self.ratio}"
            )
        if 0 < self.aftershock * (self.ratio - 1) < END_LEVEL:
            raise SpikesInputError(
                f"simulate: outage of {self.product}: aftershock x (ratio - 1) must be "
                f">= {END_LEVEL} so that the label covers it"
            )


@dataclass(frozen=True, kw_only=True)
class Distractor:
    """Something that looks unusual but is not an outage.

    Parameters
    ----------
    product : str
        Product concerned.
    start : pd.Timestamp
        A blip's bucket, or the first bucket of a level shift.
    kind : {"blip", "level_shift"}
        A blip multiplies one bucket by ``factor`` (and adds at least 5 reports); a level
        shift multiplies the baseline by ``factor`` for ``length``.
    factor : float
        Multiplier.
    length : pd.Timedelta
        Length of a level shift (a blip is always one bucket).
    """

    product: str
    start: pd.Timestamp
    kind: Literal["blip", "level_shift"]
    factor: float
    length: pd.Timedelta = pd.Timedelta(days=1)


# --- outages --------------------------------------------------------------------------
def outage_profile(outage: Outage, bucket: pd.Timedelta) -> np.ndarray:
    """The excess per bucket from the onset on, as a multiple of the baseline.

    Parameters
    ----------
    outage : Outage
        The planned outage.
    bucket : pd.Timedelta
        Bucket size.

    Returns
    -------
    np.ndarray
        ``m[j]`` = expected excess / baseline in the j-th bucket after the onset; the
        first value is > 0, the array ends when the excess falls below 2 % of baseline.

    Examples
    --------
    >>> o = Outage(product="A", onset=pd.Timestamp("2026-01-05", tz="UTC"), ratio=5.0,
    ...            duration=pd.Timedelta("30min"), hold=pd.Timedelta("30min"))
    >>> outage_profile(o, pd.Timedelta("10min")).round(2)[:4].tolist()
    [4.0, 4.0, 4.0, 0.96]
    """
    top = outage.ratio - 1.0
    n_rise = max(1, math.ceil(outage.rise / bucket - 1e-9))
    peak_at = max(n_rise, round((outage.rise + outage.hold) / bucket)) - 1
    n_main = max(2, peak_at + 1, round(outage.duration / bucket))
    if n_main - 1 > peak_at:
        tau = (n_main - 1 - peak_at) / math.log(top / (1.1 * END_LEVEL))
    else:
        tau, peak_at = 0.7, n_main - 1
    length = peak_at + 1 + math.ceil(tau * math.log(top / _TAIL_CUT))
    surge_at, width = _aftershock_place(outage, bucket, n_main)
    if outage.aftershock > 0:
        length = max(length, surge_at + math.ceil(3 * width) + 1)
    j = np.arange(length, dtype=float)
    rising = (j + 1) / n_rise
    falling = np.exp(-np.maximum(j - peak_at, 0.0) / tau)
    m = top * np.where(j < n_rise, rising, falling)
    if outage.aftershock > 0:
        bump = outage.aftershock * top * np.exp(-0.5 * ((j - surge_at) / width) ** 2)
        m = m + np.where(j >= n_main, bump, 0.0)
    last = np.nonzero(m >= _TAIL_CUT)[0].max()
    return m[: last + 1]


def _aftershock_place(outage: Outage, bucket: pd.Timedelta, n_main: int) -> tuple[int, float]:
    gap = max(2, round(outage.aftershock_delay / bucket))
    width = max(0.6, pd.Timedelta("4min") / bucket)
    return n_main - 1 + gap, width


def random_outages(index: pd.DatetimeIndex, products: Sequence[str], *,
                   rng: np.random.Generator, rate_per_week: float = 1.0, mild: bool = False,
                   cascades: bool = True,
                   peak_ratio: tuple[float, float] | None = None) -> list[Outage]:
    """Draw outages that fit inside the data and do not overlap per product.

    Each product gets a Poisson number of outages with mean ``rate_per_week`` x weeks.
    With ``cascades``, a quarter of that rate goes to cascades instead: events that hit
    2-5 products, the first mover first and the others 1-10 minutes later (at least one
    bucket). Sizes are log-uniform 2.5x-50x (``mild``: uniform 2.5x-4x), lengths
    log-uniform 10 min-6 h, shapes a sharp rise then exponential decay (45 %), a ramp
    over 10-30 min (25 %) or a plateau (30 %); 30 % have a recovery surge 10-25 min
    after the main part. Event ids are numbered 1, 2, ... by onset.

    Parameters
    ----------
    index : pd.DatetimeIndex
        Bucket grid.
    products : sequence of str
        Product names.
    rng : np.random.Generator
        Random generator.
    rate_per_week : float
        Mean outages per product and week.
    mild : bool
        Only peaks of 2.5x-4x.
    cascades : bool
        Allow cascades.
    peak_ratio : (float, float), optional
        Log-uniform range of peak ratios, overriding the default and `mild`.

    Returns
    -------
    list of Outage
        Sorted by onset.
    """
    bucket = pd.Timedelta(index.freq)
    ratios: tuple[float, float] | bool = mild if peak_ratio is None else peak_ratio
    weeks = (index[-1] - index[0] + bucket) / pd.Timedelta(days=7)
    share = 0.25 if cascades and len(products) > 1 else 0.0
    taken: dict[str, list[tuple[int, int]]] = {p: [] for p in products}
    groups: list[list[Outage]] = []
    for _ in range(rng.poisson(share * rate_per_week * weeks * len(products) / 3.5)):
        size = int(rng.integers(2, min(5, len(products)) + 1))
        members = list(rng.choice(len(products), size=size, replace=False))
        group = _place_group([products[i] for i in members], index, taken, rng, ratios)
        if group:
            groups.append(group)
    for name in products:
        for _ in range(rng.poisson((1 - share) * rate_per_week * weeks)):
            group = _place_group([name], index, taken, rng, ratios)
            if group:
                groups.append(group)
    groups.sort(key=lambda g: (g[0].onset, g[0].product))
    return [replace(o, event=k + 1) for k, group in enumerate(groups) for o in group]


def _random_shape(rng: np.random.Generator,
                  ratios: tuple[float, float] | bool) -> dict[str, object]:
    """Size, length and shape of one outage. `ratios`: True for mild (2.5x-4x), False for
    the default 2.5x-50x, or an explicit log-uniform range."""
    if ratios is True:
        ratio = rng.uniform(2.5, 4.0)
    else:
        low, high = (2.5, 50.0) if ratios is False else ratios
        ratio = math.exp(rng.uniform(math.log(low), math.log(high)))
    duration = pd.Timedelta(minutes=math.exp(rng.uniform(math.log(10), math.log(360))))
    kind = rng.choice(3, p=(0.45, 0.25, 0.3))
    rise = pd.Timedelta(minutes=rng.uniform(10, 30)) if kind == 1 else pd.Timedelta(0)
    hold = duration * rng.uniform(0.2, 0.8) if kind == 1 else pd.Timedelta(0)
    if kind == 2:
        hold = duration
    aftershock = 0.0
    if rng.random() < 0.3:
        aftershock = rng.uniform(min(max(0.4, 0.6 / (ratio - 1)), 0.9), 0.9)
    return {
        "ratio": float(ratio), "duration": duration, "rise": rise, "hold": hold,
        "aftershock": float(aftershock),
        "aftershock_delay": pd.Timedelta(minutes=rng.uniform(10, 25)),
    }


def _place_group(names: list[str], index: pd.DatetimeIndex,
                 taken: dict[str, list[tuple[int, int]]], rng: np.random.Generator,
                 ratios: tuple[float, float] | bool) -> list[Outage]:
    """Place one event (a single outage or a cascade) where none of its products is busy."""
    bucket = pd.Timedelta(index.freq)
    category = str(rng.choice(OUTAGE_CATEGORIES))
    region = str(rng.choice(list(REGIONS), p=HOME_WEIGHTS)) if len(names) > 1 else None
    steps = max(1, round(pd.Timedelta("10min") / bucket))
    delays = np.sort(rng.integers(1, steps + 1, size=len(names) - 1))
    offsets = np.concatenate([[0], delays])
    plans = [_random_shape(rng, ratios) for _ in names]
    probe = index[0]
    lengths = [
        len(outage_profile(Outage(product=n, onset=probe, **p), bucket))
        for n, p in zip(names, plans, strict=True)
    ]
    margin = round(2 * HOUR / bucket)
    span = int(max(o + n for o, n in zip(offsets, lengths, strict=True)))
    if span >= len(index):
        return []
    for _ in range(20):
        first = int(rng.integers(0, len(index) - span))
        spans = [(first + o - margin, first + o + n + margin)
                 for o, n in zip(offsets, lengths, strict=True)]
        if all(_free(taken[n], s) for n, s in zip(names, spans, strict=True)):
            for n, s in zip(names, spans, strict=True):
                taken[n].append(s)
            return [
                Outage(product=n, onset=index[first + int(o)], event=0, region=region,
                       category=category, **p)
                for n, o, p in zip(names, offsets, plans, strict=True)
            ]
    return []


def _free(spans: list[tuple[int, int]], new: tuple[int, int]) -> bool:
    return all(new[1] <= a or new[0] >= b for a, b in spans)


def random_distractors(index: pd.DatetimeIndex, products: Sequence[str],
                       outages: Sequence[Outage], *, rng: np.random.Generator,
                       blips_per_week: float = 1.0, level_shifts_per_week: float = 0.0,
                       ) -> list[Distractor]:
    """Draw blips and level shifts.

    Blips (one bucket at 5x-20x, at least 2 h away from any outage of the product) come
    at ``blips_per_week`` per product; level shifts (a whole UTC day at 1.4x-1.6x, e.g.
    a launch day) at ``level_shifts_per_week`` per product.

    Parameters
    ----------
    index : pd.DatetimeIndex
        Bucket grid.
    products : sequence of str
        Product names.
    outages : sequence of Outage
        Outages to keep blips away from.
    rng : np.random.Generator
        Random generator.
    blips_per_week, level_shifts_per_week : float
        Mean counts per product and week.

    Returns
    -------
    list of Distractor
    """
    bucket = pd.Timedelta(index.freq)
    weeks = (index[-1] - index[0] + bucket) / pd.Timedelta(days=7)
    busy = _busy_mask(index, products, outages, margin=round(2 * HOUR / bucket))
    days = pd.date_range(index[0].ceil("D"), index[-1] + bucket - pd.Timedelta(days=1),
                         freq="D")
    out: list[Distractor] = []
    for p, name in enumerate(products):
        free = np.nonzero(~busy[:, p])[0]
        count = min(rng.poisson(blips_per_week * weeks), len(free))
        for at in np.sort(rng.choice(free, size=count, replace=False)):
            out.append(Distractor(product=name, start=index[at], kind="blip",
                                  factor=float(rng.uniform(5, 20))))
        count = min(rng.poisson(level_shifts_per_week * weeks), len(days))
        for day in np.sort(rng.choice(len(days), size=count, replace=False)):
            out.append(Distractor(product=name, start=days[day], kind="level_shift",
                                  factor=float(rng.uniform(1.4, 1.6))))
    return out


def _busy_mask(index: pd.DatetimeIndex, products: Sequence[str], outages: Sequence[Outage],
               margin: int) -> np.ndarray:
    bucket = pd.Timedelta(index.freq)
    busy = np.zeros((len(index), len(products)), dtype=bool)
    col = {name: i for i, name in enumerate(products)}
    for o in outages:
        at = int(index.searchsorted(o.onset.floor(bucket)))
        n = len(outage_profile(o, bucket))
        busy[max(0, at - margin): at + n + margin, col[o.product]] = True
    return busy
