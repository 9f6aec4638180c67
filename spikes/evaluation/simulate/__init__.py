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

from collections.abc import Sequence

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
