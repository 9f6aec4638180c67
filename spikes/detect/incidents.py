"""From detector candidates to incidents: onset, peak, end, size and severity.

For one product:

1. candidates that overlap are one stretch, listing every detector that fired;
2. each stretch gets an onset placed by the change-point search of
   :func:`spikes.detect.detectors.onset.onset_bounds`: tested from the earliest start
   the rise allows (the hours before it are its context), it reports the latest, as a
   live run does, and its peak is the largest count from that onset to its end;
3. a stretch must be large enough to matter: reports at least ``min_ratio`` times the
   baseline and at least ``min_excess_reports`` above it, where the baseline is raised
   to the local level when the hours before the stretch run above it (a launch day at
   1.5x is not an outage, and the rise must stand out from it);
4. an incident needs a sustained core: without its ``min_buckets - 1`` largest buckets
   a stretch must still run ``min_ratio`` above the baseline, improbably so under the
   noise model; a one-bucket blip (with a noisy neighbour) is not an outage. Below 5
   minutes a "bucket" of these rules is 5 minutes' worth of them (:func:`blip_grain`):
   at 1-minute buckets, a burst of a few minutes is no outage either;
5. stretches that follow an incident's sustained stretch within ``merge_gap`` belong to
   it (a recovery aftershock, even a one-bucket one); a blip before an outage does not;
6. an incident shorter than ``min_duration`` from onset to end is dropped (by default
   none is).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.detectors.base import Candidate
from spikes.detect.noise import total_surprise
from spikes.model import INCIDENT_COLUMNS

if TYPE_CHECKING:
    from spikes.engine.base import Engine

#: How far before a stretch its context (the local level) is measured.
CONTEXT = pd.Timedelta(hours=3)
#: Significance the rest of a stretch needs without its largest buckets (see _sustained).
SUSTAINED_P = 0.01
#: Bursts of reports up to this long are blips, not outages: ``min_buckets`` applies to
#: buckets of up to this size (see :func:`spikes.detect.pipeline.for_bucket`).
BLIP = pd.Timedelta(minutes=15)
#: The shortest time ``min_buckets`` counts as one bucket (:func:`blip_grain`): at
#: 1-minute buckets the sustained test sets aside the 5 consecutive minutes with the most
#: reports, as it sets aside the largest bucket at 5 minutes.
BLIP_GRAIN = pd.Timedelta(minutes=5)
#: Severity levels by the peak's ratio to the baseline: (lowest ratio, name).
SEVERITY_LEVELS = ((10.0, "critical"), (4.0, "major"), (0.0, "minor"))


@dataclass
class _Stretch:
    onset: int
    end: int
    detectors: set[str] = field(default_factory=set)
    strength: float = 0.0
    primary: bool = False
    alarm: int = -1  # earliest bucket at which a detector's threshold was crossed
    # The onset reported, where it differs from the one judged by (retrospective: the
    # latest start of the rise, see onset_bounds); -1 where it does not.
    latest: int = -1

    @property
    def reported(self) -> int:
        """The onset the incident reports."""
        return self.onset if self.latest < 0 else self.latest


def severity_of(peak_ratio: float) -> str:
    """Severity name of an incident whose peak is `peak_ratio` times the baseline.

    ``critical`` from 10x, ``major`` from 4x, ``minor`` below.
    """
    for lowest, name in SEVERITY_LEVELS:
        if peak_ratio >= lowest:
            return name
    return SEVERITY_LEVELS[-1][1]


def product_incidents(product: str, y: np.ndarray, mu: np.ndarray, index: pd.DatetimeIndex,
                      candidates: dict[str, list[Candidate]], config: DetectionConfig,
                      alpha: float = 0.0, inflation: float = 1.0) -> pd.DataFrame:
    """Incidents of one product as a table (see :func:`incident_rows`).

    Returns
    -------
    pd.DataFrame
        One row per incident, columns :data:`spikes.model.INCIDENT_COLUMNS` but
        ``event_id`` (set later by :func:`spikes.detect.events.assign_events`).
    """
    rows = incident_rows(product, y, mu, index, candidates, config, alpha, inflation)
    return pd.DataFrame(rows, columns=[c for c in INCIDENT_COLUMNS if c != "event_id"])


def incident_rows(
    product: str,
    y: np.ndarray,
    mu: np.ndarray,
    index: pd.DatetimeIndex,
    candidates: dict[str, list[Candidate]],
    config: DetectionConfig,
    alpha: float = 0.0,
    inflation: float = 1.0,
) -> list[dict[str, object]]:
    """Incidents of one product.

    Parameters
    ----------
    product : str
        Product name, copied into the table.
    y, mu : np.ndarray
        Counts (NaN = missing) and baseline of the product.
    index : pd.DatetimeIndex
        Bucket start times.
    candidates : dict of str to list of Candidate
        Each detector's candidates, by detector name.
    config : DetectionConfig
        Thresholds (already specific to this product).
    alpha : float
        Negative-binomial dispersion of the product's counts.
    inflation : float
        Variance inflation of the product's noise over an hour (autocorrelation).

    Returns
    -------
    list of dict
        One record per incident, keys :data:`spikes.model.INCIDENT_COLUMNS` but
        ``event_id``.
    """
    filled = np.where(np.isnan(y), -np.inf, y)
    bucket = index[1] - index[0] if len(index) > 1 else pd.Timedelta(0)
    search = int(pd.Timedelta(config.onset_search) / bucket) if bucket else 0
    grain = blip_grain(bucket)
    seen = ~np.isnan(y)
    typical = float(np.median(mu[seen])) if seen.any() else 0.0
    dispersion = inflation * (1.0 + alpha * typical)
    found = _merge([_Stretch(c.start, c.stop, {name}, c.strength, alarm=c.alarm)
                    for name, cands in candidates.items() for c in cands], max_gap=0)
    reach = int(CONTEXT / bucket) if bucket else 0
    # Cheap tests first, on the candidates as found: the change-point search is the
    # expensive part, and most candidates of a quiet history fail the size tests.
    levels = _context_ratios(found, y, mu, reach, alpha, inflation)
    found = [s for s, level in zip(found, levels, strict=True)
             if _large_enough(s, y, mu, level, config, grain)]
    stretches = []
    for s in found:
        # The rise is under way by the first alarm: the onset is searched up to it (not
        # up to the largest count, which may be a late recovery surge of a long outage).
        alarm = s.alarm if s.onset <= s.alarm <= s.end else s.end
        rise_end = s.onset + int(np.argmax(filled[s.onset : alarm + 1]))
        lo = max(0, s.onset - search)
        bounds = onset_bounds(y, mu, lo, max(alarm, rise_end), min_ratio=config.min_ratio,
                              dispersion=dispersion)
        # Judged from the earliest start (its context: the hours before it), reported
        # from the latest, as the live walk does (spikes.detect.causal).
        stretches.append(_Stretch(s.onset, s.end, s.detectors, s.strength) if bounds is None
                         else _Stretch(bounds[0], s.end, s.detectors, s.strength,
                                       latest=bounds[1]))
    stretches = _merge(stretches, max_gap=0)
    context = _context_ratios(stretches, y, mu, reach, alpha, inflation)
    kept = []
    for s, level in zip(stretches, context, strict=True):
        if _large_enough(s, y, mu, level, config, grain):
            s.primary = _sustained(s, y, mu, level, dispersion, config, grain)
            kept.append(s)
    stretches = kept
    gap = int(pd.Timedelta(config.merge_gap) / bucket) if bucket > pd.Timedelta(0) else 0
    merged = _with_aftershocks(stretches, max_gap=gap)
    lasting = min_duration_buckets(config, bucket) if bucket > pd.Timedelta(0) else 0
    for s in merged:
        s.onset, s.latest = s.reported, -1
    merged = [s for s in merged if s.end - s.onset + 1 >= lasting]
    last_seen = len(y) - 1 - int(np.argmax(~np.isnan(y[::-1])))
    return [_describe(product, s, y, mu, index, last_seen) for s in merged]


def onset_bounds(y: np.ndarray, mu: np.ndarray, lo: int, peak: int, *,
                 min_ratio: float = 2.0, dispersion: float = 1.0) -> tuple[int, int] | None:
    """:func:`spikes.detect.detectors.onset.onset_bounds`, loaded at its first call.

    Its module imports ruptures (about a second, most of it scipy.stats and
    scipy.spatial), which a run without an incident to place, a service before its first
    incident and the command line's start-up do without.

    Parameters
    ----------
    y, mu, lo, peak, min_ratio, dispersion
        As for :func:`spikes.detect.detectors.onset.locate_onset`.

    Returns
    -------
    tuple of int or None
        ``(earliest, latest)`` start of the rise, or None when no segment before the
        peak is elevated.
    """
    from spikes.detect.detectors.onset import onset_bounds as search

    return search(y, mu, lo, peak, min_ratio=min_ratio, dispersion=dispersion)


def preload_for_workers(engine: Engine, parts: int) -> None:
    """Import what detection loads at its first use (ruptures for :func:`onset_bounds`,
    scipy.stats for the cold start's bounds) before `engine` forks workers for `parts`
    partitions: they inherit the modules, where each would import them again (about a
    second of CPU a worker). Nothing when the partitions run in this process or on a
    Dask cluster."""
    from spikes.engine.base import LocalEngine

    if isinstance(engine, LocalEngine) and engine.jobs > 1 and parts > 1:
        import scipy.stats  # noqa: F401

        import spikes.detect.detectors.onset  # noqa: F401


def blip_grain(bucket: pd.Timedelta) -> int:
    """Consecutive buckets that count as one in ``min_buckets``' rules: those of
    :data:`BLIP_GRAIN` (5 minutes) at a shorter bucket (rounded up), 1 otherwise.

    ``min_buckets`` is stated for buckets of 5 to 15 minutes (longer ones: see
    :func:`spikes.detect.pipeline.for_bucket`). At 1-minute buckets a two-minute burst is
    as much a blip as a five-minute one: the sustained test sets aside the
    ``min_buckets - 1`` largest 5-minute runs, and an incident's height is measured
    over ``(min_buckets - 1) * grain + 1`` buckets.

    Parameters
    ----------
    bucket : pd.Timedelta
        Bucket size.

    Returns
    -------
    int

    Examples
    --------
    >>> [blip_grain(pd.Timedelta(b)) for b in ("30s", "1min", "2min", "5min", "1h")]
    [10, 5, 3, 1, 1]
    """
    if bucket <= pd.Timedelta(0) or bucket >= BLIP_GRAIN:
        return 1
    return int(np.ceil(BLIP_GRAIN / bucket - 1e-9))


def min_duration_buckets(config: DetectionConfig, bucket: pd.Timedelta) -> int:
    """Buckets an incident must span from its onset to last ``config.min_duration``
    (rounded up; 0 when it is 0, and then every incident lasts long enough).

    Parameters
    ----------
    config : DetectionConfig
    bucket : pd.Timedelta
        Bucket size.

    Returns
    -------
    int

    Examples
    --------
    >>> min_duration_buckets(DetectionConfig(min_duration="1h"), pd.Timedelta("5min"))
    12
    >>> min_duration_buckets(DetectionConfig(min_duration="1h"), pd.Timedelta("25min"))
    3
    """
    return int(np.ceil(pd.Timedelta(config.min_duration) / pd.Timedelta(bucket)))


def _merge(stretches: list[_Stretch], max_gap: int,
           opens: Callable[[_Stretch], bool] | None = None) -> list[_Stretch]:
    """Join stretches that overlap or are at most `max_gap` buckets apart; a stretch
    that joins none starts a new one only if `opens` says so (all by default)."""
    out: list[_Stretch] = []
    for s in sorted(stretches, key=lambda s: (s.onset, s.end)):
        if out and s.onset - out[-1].end - 1 <= max_gap:
            _absorb(out[-1], s)
        elif opens is None or opens(s):
            out.append(_copy(s))
    return out


def _copy(s: _Stretch) -> _Stretch:
    return _Stretch(s.onset, s.end, set(s.detectors), s.strength, s.primary, s.alarm,
                    s.latest)


def _absorb(last: _Stretch, s: _Stretch) -> None:
    """Extend `last` by the later stretch `s`."""
    last.end = max(last.end, s.end)
    last.detectors |= s.detectors
    last.strength = max(last.strength, s.strength)
    last.primary = last.primary or s.primary
    if s.latest >= 0 or last.latest >= 0:
        last.latest = min(last.reported, s.reported)
    if s.alarm >= 0:
        last.alarm = s.alarm if last.alarm < 0 else min(last.alarm, s.alarm)


def _with_aftershocks(stretches: list[_Stretch], max_gap: int) -> list[_Stretch]:
    """Incidents: each sustained (primary) stretch joined by the stretches that follow it
    within `max_gap` buckets (its aftershocks, sustained or not). A stretch that is not
    sustained and follows no incident is dropped: a blip shortly *before* an outage is
    not its start."""
    return _merge(stretches, max_gap, opens=lambda s: s.primary)


def _large_enough(s: _Stretch, y: np.ndarray, mu: np.ndarray, level: float,
                  config: DetectionConfig, grain: int = 1) -> bool:
    """Whether a stretch carries ``min_excess_reports`` above its baseline (``mu`` times
    the local `level`) and, at its height (the best ``(min_buckets - 1) * grain + 1``
    consecutive buckets: ``min_buckets`` at 5 minutes and longer, :func:`blip_grain`),
    ``min_ratio`` times it."""
    ys, ms = y[s.onset : s.end + 1], mu[s.onset : s.end + 1] * level
    seen = ~np.isnan(ys)
    if float(ys[seen].sum() - ms[seen].sum()) < config.min_excess_reports:
        return False
    # Sums over every `width` consecutive buckets, from cumulative sums.
    width = min((config.min_buckets - 1) * grain + 1, len(ys))
    top = np.cumsum(np.where(seen, ys, 0.0))
    base = np.cumsum(np.where(seen, ms, 0.0))
    top = top[width - 1 :] - np.concatenate([[0.0], top[: len(top) - width]])
    base = base[width - 1 :] - np.concatenate([[0.0], base[: len(base) - width]])
    return bool(np.any(top >= config.min_ratio * np.maximum(base, 1e-9)))


def _sustained(s: _Stretch, y: np.ndarray, mu: np.ndarray, level: float, dispersion: float,
               config: DetectionConfig, grain: int = 1) -> bool:
    """Whether a stretch is more than its ``min_buckets - 1`` largest buckets, or below
    5 minutes its ``min_buckets - 1`` largest runs of `grain` consecutive buckets
    (:func:`blip_grain`: the 5 minutes with the most reports, at 1-minute buckets).

    Without them, the rest must still run ``min_ratio`` times the baseline and be
    improbably high under the noise model (p <= :data:`SUSTAINED_P`, quasi-Poisson with
    the product's `dispersion`): a one-bucket blip with a noisy neighbour is not, an
    outage that lasts is.
    """
    drop = config.min_buckets - 1
    ys, ms = y[s.onset : s.end + 1], mu[s.onset : s.end + 1] * level
    seen = ~np.isnan(ys)
    ys, ms = ys[seen], ms[seen]
    # The core: up to the last bucket still min_ratio high (a long outage's slow decay
    # back to normal is part of the incident, but not of the test of its height).
    high = (ys >= config.min_ratio * ms).nonzero()[0]
    if len(high) == 0:
        return False
    ys, ms = ys[: high[-1] + 1], ms[: high[-1] + 1]
    if len(ys) <= drop * grain:
        return False
    if grain == 1:  # single buckets: the largest anywhere (ties: the later ones go)
        keep = np.argsort(ys, kind="stable")[: len(ys) - drop]
    else:
        keep = np.flatnonzero(~_largest_runs(ys, drop, grain))
    kept_reports, kept_base = ys[keep].sum(), ms[keep].sum()
    if kept_reports < config.min_ratio * kept_base:
        return False
    scale = max(dispersion, 1.0)
    total, base = float(kept_reports) / scale, float(kept_base) / scale
    return total_surprise(total, base) >= -np.log10(SUSTAINED_P)


def _largest_runs(ys: np.ndarray, runs: int, width: int) -> np.ndarray:
    """Mask of the `runs` runs of `width` consecutive buckets with the most reports,
    taken one after another (each the largest run that overlaps none taken before).
    Where no whole run fits between those taken, the `width` largest buckets left are
    taken instead: a stretch is never judged on more than it would be without runs."""
    taken = np.zeros(len(ys), dtype=bool)
    for _ in range(runs):
        reports = np.concatenate([[0.0], np.cumsum(ys)])
        used = np.concatenate([[0], np.cumsum(taken)])
        sums = reports[width:] - reports[: len(reports) - width]
        sums[used[width:] - used[: len(used) - width] > 0] = -np.inf
        if len(sums) and np.isfinite(sums).any():
            at = int(np.argmax(sums))
            taken[at : at + width] = True
        else:
            left = np.flatnonzero(~taken)
            taken[left[np.argsort(ys[left], kind="stable")[max(len(left) - width, 0) :]]] = True
    return taken


def _context_ratios(stretches: list[_Stretch], y: np.ndarray, mu: np.ndarray,
                    reach: int, alpha: float, inflation: float) -> list[float]:
    """Local level just before each stretch, as a multiple of the baseline (at least 1).

    Over the `reach` buckets before the stretch's onset that are in no stretch. A
    day-long level shift (a launch day at 1.5x) raises this local level, and a stretch
    must then stand ``min_ratio`` above it, not only above the seasonal baseline. Only
    the time before counts: after the onset, a long outage's own tail would raise it.
    Only the part of the rise beyond two standard deviations of the noise (negative
    binomial, inflated for autocorrelation) counts, so that ordinary slow wobbles of
    the traffic do not raise the bar.
    """
    if reach == 0:
        return [1.0] * len(stretches)
    inside = np.zeros(len(y), dtype=bool)
    for s in stretches:
        inside[s.onset : s.end + 1] = True
    out = []
    for s in stretches:
        window = slice(max(0, s.onset - reach), s.onset)
        keep = ~inside[window] & ~np.isnan(y[window])
        out.append(_level(y[window][keep], mu[window][keep], alpha, inflation))
    return out


def _context_ratio(s: _Stretch, others: list[_Stretch], y: np.ndarray, mu: np.ndarray,
                   reach: int, alpha: float, inflation: float) -> float:
    """``_context_ratios([*others, s], ...)[-1]``: the local level before stretch `s`
    alone, over the `reach` buckets before its onset outside `s` and the `others`."""
    if reach == 0:
        return 1.0
    lo = max(0, s.onset - reach)
    keep = ~np.isnan(y[lo : s.onset])
    for other in (*others, s):
        keep[max(other.onset - lo, 0) : max(other.end + 1 - lo, 0)] = False
    return _level(y[lo : s.onset][keep], mu[lo : s.onset][keep], alpha, inflation)


def _level(ys: np.ndarray, ms: np.ndarray, alpha: float, inflation: float) -> float:
    """The local level of counts `ys` over their baseline `ms` (:func:`_context_ratios`)."""
    base = float(ms.sum())
    if base <= 0:
        return 1.0
    var = float((ms + alpha * ms**2).sum()) * inflation
    return max(1.0, (float(ys.sum()) - 2.0 * np.sqrt(var)) / base)


def _describe(product: str, s: _Stretch, y: np.ndarray, mu: np.ndarray,
              index: pd.DatetimeIndex, last_seen: int) -> dict[str, object]:
    seg = slice(s.onset, s.end + 1)
    ys, ms = y[seg], mu[seg]
    seen = ~np.isnan(ys)
    peak = s.onset + int(np.argmax(np.where(seen, ys, -np.inf)))
    total, base = float(ys[seen].sum()), float(ms[seen].sum())
    peak_base = float(mu[peak])
    return {
        "product": product,
        "onset": index[s.onset],
        "peak": index[peak],
        "end": index[s.end],
        "alerted_at": pd.NaT,  # set by a live run (spikes.detect.causal); none in hindsight
        "peak_reports": float(y[peak]),
        "baseline_reports": round(peak_base, 3),
        "excess_reports": round(total - base, 1),
        "ratio": round(total / base, 2) if base > 0 else float("inf"),
        "severity": severity_of(float(y[peak]) / max(peak_base, 1e-3)),
        "detectors": "+".join(sorted(s.detectors)),
        "ongoing": bool(s.end >= last_seen),
    }
