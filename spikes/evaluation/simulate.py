"""Realistic synthetic crowd-report data with ground truth.

The simulation is built from small parts that can also be used one by one (the bundled
sample in ``data/make_sample.py`` does so):

1. :func:`time_index` - the regular UTC bucket grid;
2. :func:`random_audience` - where each product's users live (regions, hence time zones)
   and what they usually complain about (categories);
3. :func:`random_levels` and :func:`expected_rates` - the true expected reports per bucket
   without outages: a base volume spread over orders of magnitude, a daily profile per
   region (night trough, day peak), a weekly profile and a slow trend;
4. :func:`random_outages` and :func:`random_distractors` - what happens: outages of varied
   size, length and shape (some of them cascades over several products), and things that
   must not be called outages (one-bucket blips, day-long level shifts);
5. :func:`render` - draws overdispersed counts (Poisson with an autocorrelated log-normal
   and an independent gamma rate multiplier), labels the outages and returns a
   :class:`Simulation`;
6. :func:`write_simulation` - CSV files with ISO-8601 timestamps.

:func:`simulate` runs them all for a seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from spikes.errors import SpikesInputError

REGIONS: dict[str, float] = {
    "US-East": -5.0,
    "US-West": -8.0,
    "Canada": -5.0,
    "South America": -3.0,
    "Europe": 1.0,
    "Asia": 8.0,
    "Oceania": 10.0,
}
"""Report regions and their UTC offsets in hours (for the daily and weekly profiles)."""

HOME_WEIGHTS = (0.3, 0.15, 0.05, 0.05, 0.25, 0.15, 0.05)
"""How often each region of :data:`REGIONS` is a product's home region."""

CATEGORIES: tuple[str, ...] = ("Login", "Website", "App", "Connection", "Other")
"""What users report about in normal times."""

OUTAGE_CATEGORIES: tuple[str, ...] = ("Login", "Website", "App", "Connection", "Server error")
"""What the reports of a random outage are mostly about."""

VOLUMES: dict[str, tuple[float, float]] = {
    "low": (2.0, 40.0),
    "mid": (50.0, 1000.0),
    "high": (600.0, 12_000.0),
}
"""Range of the mean reports per hour of a product, drawn log-uniformly."""

LABEL_COLUMNS = ["product", "onset", "end", "event", "snr", "ratio"]
DISTRACTOR_COLUMNS = ["product", "start", "end", "kind"]

END_LEVEL = 0.5
"""An outage's label ends at the last bucket whose expected excess is >= this x baseline."""
_TAIL_CUT = 0.02
_NOISE_TIME = pd.Timedelta("45min")
_HOUR = pd.Timedelta(hours=1)
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")

Mix = str | Mapping[str, float] | None


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
    """

    reports: pd.DataFrame
    labels: pd.DataFrame
    distractors: pd.DataFrame
    expected: pd.DataFrame
    excess: pd.DataFrame
    bucket: pd.Timedelta

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


@dataclass(frozen=True)
class Audience:
    """Who reports on each product, and about what.

    Attributes
    ----------
    regions : pd.DataFrame
        Products x region names (see :data:`REGIONS`), rows summing to 1.
    categories : pd.DataFrame
        Products x category names, rows summing to 1.
    """

    regions: pd.DataFrame
    categories: pd.DataFrame


# --- the whole thing ------------------------------------------------------------------
def simulate(
    *,
    products: int | Sequence[str] = 20,
    days: float = 21,
    bucket: str = "5min",
    seed: int = 0,
    start: str = "2026-01-05",
    volume: str = "mid",
    outage_rate_per_week: float = 1.0,
    mild: bool = False,
    blips: bool = True,
    level_shifts: bool = False,
    missing_rate: float = 0.0,
    cascades: bool = True,
    as_events: bool = False,
    peak_ratio: tuple[float, float] | None = None,
) -> Simulation:
    """Simulate crowd reports of several products with labelled outages.

    Parameters
    ----------
    products : int or sequence of str
        Number of products (named ``"Service 01"``, ...) or their names.
    days : float
        Length of the data in days.
    bucket : str
        Bucket size, e.g. ``"1min"``, ``"5min"``.
    seed : int
        Seed of the random generator; the same arguments give the same data.
    start : str
        First bucket (UTC unless an offset is given).
    volume : {"low", "mid", "high"}
        Range of base volumes, see :data:`VOLUMES`: "low" is under one report per minute
        at night, "mid" tens per 5 minutes at the daily peak, "high" hundreds.
    outage_rate_per_week : float
        Mean number of outages per product and week.
    mild : bool
        Only mild outages (peak 2.5x-4x the baseline) instead of 2.5x-50x.
    blips : bool
        Add one-bucket blips (about one per product and week).
    level_shifts : bool
        Add day-long level shifts at about 1.5x (about one per product and two weeks).
    missing_rate : float
        Fraction of (bucket, product) cells whose data is lost (no row; for events, no
        event in that bucket).
    cascades : bool
        Let about a quarter of the outages be parts of cascades over 2-5 products.
    as_events : bool
        Return raw report events instead of counts.
    peak_ratio : (float, float), optional
        Range of the outages' peak multiple of the baseline (log-uniform), overriding
        the default 2.5x-50x and `mild`; e.g. ``(1.6, 2.4)`` for a service whose
        outages are all subtle.

    Returns
    -------
    Simulation

    Raises
    ------
    SpikesInputError
        If an argument is out of range.

    Examples
    --------
    >>> sim = simulate(products=3, days=7, seed=1)
    >>> list(sim.reports.columns)
    ['timestamp', 'product', 'reports']
    """
    names = _product_names(products)
    _check_arguments(volume, outage_rate_per_week, missing_rate)
    rng = np.random.default_rng(seed)
    index = time_index(start=start, days=days, bucket=bucket)
    audience = random_audience(names, rng=rng)
    levels = random_levels(len(names), volume=volume, rng=rng)
    expected = expected_rates(index, audience, levels, rng=rng)
    if peak_ratio is not None and not 1.0 < peak_ratio[0] <= peak_ratio[1]:
        raise SpikesInputError(f"peak_ratio must be (low, high) with 1 < low <= high, "
                               f"got {peak_ratio!r}")
    outages = random_outages(
        index, names, rng=rng, rate_per_week=outage_rate_per_week, mild=mild,
        cascades=cascades, peak_ratio=peak_ratio,
    )
    distractors = random_distractors(
        index, names, outages, rng=rng, blips_per_week=1.0 if blips else 0.0,
        level_shifts_per_week=0.5 if level_shifts else 0.0,
    )
    return render(
        expected, audience, outages, distractors, rng=rng, missing_rate=missing_rate,
        as_events=as_events,
    )


def _product_names(products: int | Sequence[str]) -> list[str]:
    if isinstance(products, int | np.integer) and not isinstance(products, bool):
        if products < 1:
            raise SpikesInputError(f"simulate: products must be >= 1, got {products}")
        return [f"Service {i + 1:02d}" for i in range(int(products))]
    names = [str(p) for p in products]
    if not names or len(set(names)) != len(names):
        raise SpikesInputError("simulate: products must be distinct names, at least one")
    return names


def _check_arguments(volume: str, rate: float, missing_rate: float) -> None:
    if volume not in VOLUMES:
        raise SpikesInputError(
            f"simulate: volume must be one of {sorted(VOLUMES)}, got {volume!r}"
        )
    if not rate >= 0:
        raise SpikesInputError(f"simulate: outage_rate_per_week must be >= 0, got {rate}")
    if not 0 <= missing_rate < 1:
        raise SpikesInputError(f"simulate: missing_rate must be in [0, 1), got {missing_rate}")


# --- time and audience ----------------------------------------------------------------
def time_index(*, start: str | pd.Timestamp, days: float, bucket: str | pd.Timedelta
               ) -> pd.DatetimeIndex:
    """The regular UTC grid of bucket starts.

    Parameters
    ----------
    start : str or pd.Timestamp
        First bucket; naive times are UTC.
    days : float
        Length; the grid holds ``floor(days / bucket)`` buckets.
    bucket : str or pd.Timedelta
        Bucket size.

    Returns
    -------
    pd.DatetimeIndex
        Named ``timestamp``, with ``freq`` set.

    Raises
    ------
    SpikesInputError
        If the bucket or start cannot be parsed or the grid would hold fewer than two
        buckets.
    """
    try:
        step = pd.Timedelta(bucket)
        first = pd.Timestamp(start)
    except (ValueError, TypeError) as exc:
        raise SpikesInputError(f"simulate: bad start {start!r} or bucket {bucket!r}") from exc
    if step <= pd.Timedelta(0):
        raise SpikesInputError(f"simulate: bucket must be positive, got {bucket!r}")
    first = first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")
    count = int(math.floor(pd.Timedelta(days=days) / step + 1e-9)) if days > 0 else 0
    if count < 2:
        raise SpikesInputError(
            f"simulate: {days} days of {bucket} buckets is fewer than two buckets"
        )
    return pd.date_range(first, periods=count, freq=step, name="timestamp")


def random_audience(products: Sequence[str], *, rng: np.random.Generator,
                    home: Mapping[str, str] | None = None) -> Audience:
    """Draw each product's region and category mix.

    Parameters
    ----------
    products : sequence of str
        Product names.
    rng : np.random.Generator
        Random generator.
    home : mapping of str to str, optional
        Home region of some products (the region most of its users live in); the others
        are drawn with :data:`HOME_WEIGHTS`.

    Returns
    -------
    Audience
    """
    regions = list(REGIONS)
    homes = rng.choice(len(regions), size=len(products), p=HOME_WEIGHTS)
    for i, name in enumerate(products):
        if home and name in home:
            homes[i] = regions.index(home[name])
    alpha = 0.5 + 6.0 * np.eye(len(regions))[homes]
    region_mix = np.vstack([rng.dirichlet(a) for a in alpha])
    category_mix = rng.dirichlet(np.full(len(CATEGORIES), 2.0), size=len(products))
    return Audience(
        regions=pd.DataFrame(region_mix, index=list(products), columns=regions),
        categories=pd.DataFrame(category_mix, index=list(products), columns=list(CATEGORIES)),
    )


# --- the expected baseline ------------------------------------------------------------
def random_levels(count: int, *, volume: str, rng: np.random.Generator) -> np.ndarray:
    """Mean reports per hour of `count` products, log-uniform in :data:`VOLUMES`."""
    low, high = VOLUMES[volume]
    return np.exp(rng.uniform(math.log(low), math.log(high), size=count))


def expected_rates(index: pd.DatetimeIndex, audience: Audience, levels: Sequence[float], *,
                   rng: np.random.Generator) -> pd.DataFrame:
    """The true expected reports per bucket, without outages.

    The rate is ``level x daily(t) x weekly(t) x trend(t)``. The daily profile is a
    mixture over the product's regions of one local-time curve per product,
    ``exp(a cos(2 pi (h - peak) / 24) + b cos(4 pi (h - peak2) / 24))`` normalised to a
    mean of 1 (a in 0.6-1.0: a night trough at 15-30 % of the mean; peak at 13-18 h
    local time). Weekends (local time of the home region) are 0.6x-1.25x. The trend is
    log-linear, -20 % to +20 % per four weeks.

    Parameters
    ----------
    index : pd.DatetimeIndex
        Bucket grid from :func:`time_index`.
    audience : Audience
        Region mix per product.
    levels : sequence of float
        Mean reports per hour per product, in the order of ``audience.regions``.
    rng : np.random.Generator
        Random generator (draws the profile shapes).

    Returns
    -------
    pd.DataFrame
        ``index`` x products.
    """
    products = list(audience.regions.index)
    count = len(products)
    hours = np.asarray((index - _EPOCH) / _HOUR, dtype=float)[:, None]
    amp = rng.uniform(0.6, 1.0, count)
    peak = rng.uniform(13.0, 18.0, count)
    amp2 = rng.uniform(0.0, 0.3, count)
    peak2 = rng.uniform(0.0, 24.0, count)
    weekend = np.exp(rng.uniform(math.log(0.6), math.log(1.25), count))
    slope = rng.uniform(-0.2, 0.2, count)
    norm = _profile_norm(amp, peak, amp2, peak2)
    weights = audience.regions.to_numpy()
    daily = np.zeros((len(index), count))
    for r, offset in enumerate(REGIONS.values()):
        local = (hours + offset) % 24.0
        daily += weights[:, r] * _daily_curve(local, amp, peak, amp2, peak2) / norm
    home_offset = np.array(list(REGIONS.values()))[weights.argmax(axis=1)]
    local_day = np.floor((hours + home_offset) / 24.0)
    is_weekend = (local_day + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    weekly = np.where(is_weekend, weekend, 1.0)
    middle = hours.mean()
    trend = np.exp(np.log1p(slope) * (hours - middle) / (28 * 24))
    per_bucket = np.asarray(levels, dtype=float) * (pd.Timedelta(index.freq) / _HOUR)
    rates = per_bucket * daily * weekly * trend
    return pd.DataFrame(rates, index=index, columns=products)


def _daily_curve(hour: np.ndarray, amp: np.ndarray, peak: np.ndarray, amp2: np.ndarray,
                 peak2: np.ndarray) -> np.ndarray:
    angle = 2 * np.pi / 24.0
    return np.exp(amp * np.cos(angle * (hour - peak)) + amp2 * np.cos(2 * angle * (hour - peak2)))


def _profile_norm(amp: np.ndarray, peak: np.ndarray, amp2: np.ndarray,
                  peak2: np.ndarray) -> np.ndarray:
    grid = np.linspace(0.0, 24.0, 288, endpoint=False)[:, None]
    return _daily_curve(grid, amp, peak, amp2, peak2).mean(axis=0)


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
    margin = round(2 * _HOUR / bucket)
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
    busy = _busy_mask(index, products, outages, margin=round(2 * _HOUR / bucket))
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
    counts, extra = _draw_counts(base, excess + blip, bucket, rng)
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
        at = int(index.searchsorted(o.onset.floor(bucket)))
        if at >= len(index) or index[at] != o.onset.floor(bucket):
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
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Total counts and the part of them due to `extra`."""
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
    return counts, rng.binomial(counts, share)


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


# --- files ----------------------------------------------------------------------------
def write_simulation(sim: Simulation, reports_path: str | Path, labels_path: str | Path, *,
                     label_columns: Sequence[str] | None = None) -> None:
    """Write reports and labels as CSV with ISO-8601 UTC timestamps (``+00:00``).

    Parameters
    ----------
    sim : Simulation
        What to write.
    reports_path, labels_path : str or Path
        Output files; a ``.gz`` suffix compresses (reproducibly: no time stamp in the
        gzip header).
    label_columns : sequence of str, optional
        Columns of the labels file; default all of :data:`LABEL_COLUMNS`.
    """
    reports = sim.reports.assign(timestamp=_iso(sim.reports["timestamp"]))
    labels = sim.labels[list(label_columns or LABEL_COLUMNS)].copy()
    for col in ("onset", "end"):
        if col in labels:
            labels[col] = _iso(labels[col])
    for frame, path in ((reports, reports_path), (labels, labels_path)):
        path = Path(path)
        compression = {"method": "gzip", "mtime": 0} if path.suffix == ".gz" else None
        frame.to_csv(path, index=False, compression=compression, float_format="%.4g")


def _iso(times: pd.Series) -> pd.Series:
    """``2026-01-22T19:05:00+00:00`` strings."""
    seconds = pd.DatetimeIndex(times).tz_convert("UTC").tz_localize(None).as_unit("s")
    text = np.datetime_as_string(seconds.to_numpy(), unit="s")
    return pd.Series(np.char.add(text.astype(str), "+00:00"), index=times.index)
