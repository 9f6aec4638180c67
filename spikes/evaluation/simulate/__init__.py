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

:func:`simulate` runs them all for a seed. The parts live in modules by concern:
:mod:`~spikes.evaluation.simulate.audience` (1-3), :mod:`~spikes.evaluation.simulate.outages`
(4), :mod:`~spikes.evaluation.simulate.rendering` (5) and
:mod:`~spikes.evaluation.simulate.files` (6); everything is importable from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

from spikes.errors import SpikesInputError
from spikes.evaluation.simulate.audience import (
    CATEGORIES,
    HOME_WEIGHTS,
    HOUR,
    REGIONS,
    VOLUMES,
    Audience,
    expected_rates,
    random_audience,
    random_levels,
    time_index,
)
from spikes.evaluation.simulate.files import write_simulation
from spikes.evaluation.simulate.outages import (
    END_LEVEL,
    OUTAGE_CATEGORIES,
    Distractor,
    Mix,
    Outage,
    outage_profile,
    random_distractors,
    random_outages,
)
from spikes.evaluation.simulate.rendering import (
    DISTRACTOR_COLUMNS,
    LABEL_COLUMNS,
    Simulation,
    render,
)

__all__ = [
    "CATEGORIES",
    "DISTRACTOR_COLUMNS",
    "END_LEVEL",
    "HOME_WEIGHTS",
    "HOUR",
    "LABEL_COLUMNS",
    "OUTAGE_CATEGORIES",
    "REGIONS",
    "VOLUMES",
    "Audience",
    "Distractor",
    "Mix",
    "Outage",
    "Simulation",
    "expected_rates",
    "outage_profile",
    "random_audience",
    "random_distractors",
    "random_levels",
    "random_outages",
    "render",
    "simulate",
    "time_index",
    "write_simulation",
]


#: Memory a simulation takes per row of its output (a bucket and product of counts, or a
#: report event), peak of the whole run: measured 0.82-0.89 KB (20-100 products x 14-100
#: days of 5-minute counts; 20 products x 14 days of events).
BYTES_PER_ROW = 1024
#: Largest outage rate per product-week: each outage keeps 2 hours clear on either side,
#: so a week holds at most about 40 of the shortest (10 minutes).
MAX_OUTAGES_PER_WEEK = 40.0
#: Largest peak ratio (the counts are drawn from rates of at most about 1e9).
MAX_PEAK_RATIO = 1e6


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
        If an argument is out of range, or the simulation would take more memory than
        the machine has free (:data:`BYTES_PER_ROW` a row of output).

    Examples
    --------
    >>> sim = simulate(products=3, days=7, seed=1)
    >>> list(sim.reports.columns)
    ['timestamp', 'product', 'reports']
    """
    names = _product_names(products)
    _check_numbers(days=days, seed=seed, outage_rate_per_week=outage_rate_per_week,
                   missing_rate=missing_rate)
    _check_arguments(volume, outage_rate_per_week, missing_rate)
    if peak_ratio is not None and not 1.0 < peak_ratio[0] <= peak_ratio[1] <= MAX_PEAK_RATIO:
        raise SpikesInputError(f"peak_ratio must be (low, high) with 1 < low <= high <= "
                               f"{MAX_PEAK_RATIO:g}, got {peak_ratio!r}")
    rng = np.random.default_rng(seed)
    index = time_index(start=start, days=days, bucket=bucket)
    _check_memory(len(index) * len(names), "cells (bucket x product)")
    audience = random_audience(names, rng=rng)
    levels = random_levels(len(names), volume=volume, rng=rng)
    expected = expected_rates(index, audience, levels, rng=rng)
    if as_events:
        _check_memory(int(expected.to_numpy().sum()), "report events")
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
    if isinstance(products, str | bytes) or not isinstance(products, Iterable):
        raise SpikesInputError(
            f"simulate: products must be a count or a list of names, got {products!r}"
            + (f" (one product: [{products!r}])" if isinstance(products, str) else ""))
    names = [str(p) for p in products]
    if not names or len(set(names)) != len(names):
        raise SpikesInputError("simulate: products must be distinct names, at least one")
    return names


def _check_numbers(**values: Any) -> None:
    """The numeric arguments are numbers (``days="3"`` was a bare TypeError); the seed a
    whole one."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, Real):
            raise SpikesInputError(f"simulate: {name} must be a number, got {value!r}")
    seed = values["seed"]
    if not isinstance(seed, Integral) or seed < 0:
        raise SpikesInputError(f"simulate: seed must be a whole number >= 0, got {seed!r}")


def _check_arguments(volume: str, rate: float, missing_rate: float) -> None:
    if volume not in VOLUMES:
        raise SpikesInputError(
            f"simulate: volume must be one of {sorted(VOLUMES)}, got {volume!r}"
        )
    if not 0 <= rate <= MAX_OUTAGES_PER_WEEK:
        raise SpikesInputError(
            f"simulate: outage_rate_per_week must be in [0, {MAX_OUTAGES_PER_WEEK:g}] (an "
            f"outage keeps 2 hours on either side of it clear of the next), got {rate}")
    if not 0 <= missing_rate < 1:
        raise SpikesInputError(f"simulate: missing_rate must be in [0, 1), got {missing_rate}")


def available_memory() -> int | None:
    """Bytes of memory this machine can still give (Linux's ``MemAvailable``), or None
    where that cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _check_memory(rows: int, what: str) -> None:
    """Refuse a simulation whose rows would take more memory than the machine has free
    (:data:`BYTES_PER_ROW` each), before any of it is allocated."""
    free = available_memory()
    need = rows * BYTES_PER_ROW
    if free is not None and need > free:
        raise SpikesInputError(
            f"simulate: {rows:,} {what} need about {need / 2**30:.1f} GiB, more than the "
            f"{free / 2**30:.1f} GiB this machine has free; simulate fewer products, fewer "
            f"days or larger buckets")
