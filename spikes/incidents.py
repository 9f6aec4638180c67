"""From detector candidates to incidents: onset, peak, end, size and severity.

For one product:

1. each detector's candidates get a peak (the largest count inside) and an onset placed
   by the change-point search of :func:`spikes.detectors.onset.locate_onset`;
2. candidates that overlap are one stretch, listing every detector that fired;
3. a stretch must be large enough to matter: reports at least ``min_ratio`` times the
   baseline and at least ``min_excess_reports`` above it;
4. stretches separated by at most ``merge_gap`` are one incident (a recovery aftershock
   belongs to its outage);
5. an incident needs a core of at least ``min_buckets`` buckets: a lone one-bucket blip
   is not an outage, though it may be an aftershock of one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.detectors.base import Candidate
from spikes.detectors.onset import locate_onset
from spikes.model import INCIDENT_COLUMNS

#: Severity levels by the peak's ratio to the baseline: (lowest ratio, name).
SEVERITY_LEVELS = ((10.0, "critical"), (4.0, "major"), (0.0, "minor"))


@dataclass
class _Stretch:
    onset: int
    end: int
    detectors: set[str] = field(default_factory=set)
    strength: float = 0.0
    primary: bool = False


def severity_of(peak_ratio: float) -> str:
    """Severity name of an incident whose peak is `peak_ratio` times the baseline.

    ``critical`` from 10x, ``major`` from 4x, ``minor`` below.
    """
    for lowest, name in SEVERITY_LEVELS:
        if peak_ratio >= lowest:
            return name
    return SEVERITY_LEVELS[-1][1]


def product_incidents(
    product: str,
    y: np.ndarray,
    mu: np.ndarray,
    index: pd.DatetimeIndex,
    candidates: dict[str, list[Candidate]],
    config: DetectionConfig,
) -> pd.DataFrame:
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

    Returns
    -------
    pd.DataFrame
        One row per incident, columns :data:`spikes.model.INCIDENT_COLUMNS` but
        ``event_id`` (set later by :func:`spikes.events.assign_events`).
    """
    filled = np.where(np.isnan(y), -np.inf, y)
    stretches = []
    for name, found in candidates.items():
        for cand in found:
            peak = cand.start + int(np.argmax(filled[cand.start : cand.stop + 1]))
            lo = max(0, cand.start - config.onset_search_buckets)
            onset = locate_onset(y, mu, lo, peak)
            onset = cand.start if onset is None else onset
            stretches.append(_Stretch(onset, max(cand.stop, peak), {name}, cand.strength))
    stretches = _merge(stretches, max_gap=0)
    stretches = [s for s in stretches if _large_enough(s, y, mu, config)]
    for s in stretches:
        s.primary = s.end - s.onset + 1 >= config.min_buckets
    bucket = index[1] - index[0] if len(index) > 1 else pd.Timedelta(0)
    gap = int(pd.Timedelta(config.merge_gap) / bucket) if bucket > pd.Timedelta(0) else 0
    merged = [s for s in _merge(stretches, max_gap=gap) if s.primary]
    rows = [_describe(product, s, y, mu, index) for s in merged]
    return pd.DataFrame(rows, columns=[c for c in INCIDENT_COLUMNS if c != "event_id"])


def _merge(stretches: list[_Stretch], max_gap: int) -> list[_Stretch]:
    """Join stretches that overlap or are at most `max_gap` buckets apart."""
    out: list[_Stretch] = []
    for s in sorted(stretches, key=lambda s: (s.onset, s.end)):
        if out and s.onset - out[-1].end - 1 <= max_gap:
            last = out[-1]
            last.end = max(last.end, s.end)
            last.detectors |= s.detectors
            last.strength = max(last.strength, s.strength)
            last.primary = last.primary or s.primary
        else:
            out.append(_Stretch(s.onset, s.end, set(s.detectors), s.strength, s.primary))
    return out


def _large_enough(s: _Stretch, y: np.ndarray, mu: np.ndarray, config: DetectionConfig) -> bool:
    seg = slice(s.onset, s.end + 1)
    seen = ~np.isnan(y[seg])
    total = float(y[seg][seen].sum())
    base = float(mu[seg][seen].sum())
    if total - base < config.min_excess_reports:
        return False
    return total >= config.min_ratio * base


def _describe(product: str, s: _Stretch, y: np.ndarray, mu: np.ndarray,
              index: pd.DatetimeIndex) -> dict[str, object]:
    seg = slice(s.onset, s.end + 1)
    ys, ms = y[seg], mu[seg]
    seen = ~np.isnan(ys)
    peak = s.onset + int(np.argmax(np.where(seen, ys, -np.inf)))
    total, base = float(ys[seen].sum()), float(ms[seen].sum())
    peak_base = float(mu[peak])
    last_seen = len(y) - 1 - int(np.argmax(~np.isnan(y[::-1])))
    return {
        "product": product,
        "onset": index[s.onset],
        "peak": index[peak],
        "end": index[s.end],
        "peak_reports": float(y[peak]),
        "baseline_reports": round(peak_base, 3),
        "excess_reports": round(total - base, 1),
        "ratio": round(total / base, 2) if base > 0 else float("inf"),
        "severity": severity_of(float(y[peak]) / max(peak_base, 1e-3)),
        "detectors": "+".join(sorted(s.detectors)),
        "ongoing": bool(s.end >= last_seen),
    }
