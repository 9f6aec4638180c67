"""Who reports, and how much in normal times: the time grid, the audience and the
expected rates.

:func:`time_index` is the regular UTC bucket grid; :func:`random_audience` draws where each
product's users live (regions, hence time zones) and what they usually complain about
(categories); :func:`random_levels` and :func:`expected_rates` give the true expected
reports per bucket without outages: a base volume spread over orders of magnitude, a daily
profile per region (night trough, day peak), a weekly profile and a slow trend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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

VOLUMES: dict[str, tuple[float, float]] = {
    "low": (2.0, 40.0),
    "mid": (50.0, 1000.0),
    "high": (600.0, 12_000.0),
}
"""Range of the mean reports per hour of a product, drawn log-uniformly."""

HOUR = pd.Timedelta(hours=1)
"""One hour (a duration)."""
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


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


# --- time and audience ----------------------------------------------------------------
#: Longest simulation: a century (pandas' nanosecond times reach 2262).
MAX_DAYS = 36_500


def simulation_bucket(bucket: str | pd.Timedelta, name: str = "bucket") -> pd.Timedelta:
    """`bucket` as a duration of whole seconds, at least one: the files hold whole
    seconds, and spikes reads buckets of a second or more.

    Raises
    ------
    SpikesInputError
        Naming it as `name` (``--bucket`` on the command line).
    """
    try:
        step = pd.Timedelta(bucket)
    except (ValueError, TypeError):
        step = pd.NaT
    if pd.isna(step) or step < pd.Timedelta(seconds=1) or step % pd.Timedelta(seconds=1):
        raise SpikesInputError(f"{name} {bucket!r} is not a duration of whole seconds, at "
                               f"least 1s (expected e.g. 1min, 5min, 1h)")
    return step


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
        If the bucket or start cannot be parsed, the bucket is not whole seconds, `days`
        is not finite or over :data:`MAX_DAYS`, or the grid would hold fewer than two
        buckets.
    """
    step = simulation_bucket(bucket, "simulate: bucket")
    try:
        first = pd.Timestamp(start)
    except (ValueError, TypeError) as exc:
        raise SpikesInputError(f"simulate: bad start {start!r}") from exc
    if pd.isna(first):
        raise SpikesInputError(f"simulate: bad start {start!r}")
    if not (math.isfinite(days) and days <= MAX_DAYS):
        raise SpikesInputError(f"simulate: days must be at most {MAX_DAYS}, got {days}")
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
    hours = np.asarray((index - _EPOCH) / HOUR, dtype=float)[:, None]
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
    per_bucket = np.asarray(levels, dtype=float) * (pd.Timedelta(index.freq) / HOUR)
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
