"""The detectors' thresholds per bucket as a live run knows them: recalibrated at each
midnight from a product's history (:func:`threshold_paths`), which begins after its
warm-up and the day after it (:func:`calibration_start`) and reaches back a year
(:data:`CALIBRATION_HISTORY`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spikes.config import WEEK, DetectionConfig
from spikes.detect.causal import unproven_buckets, warmup_buckets
from spikes.detect.detectors.base import Detector, raised_days
from spikes.detect.detectors.windows import tail_testables, window_thresholds

#: How far back a midnight's threshold calibration reads a product's excursions: a year,
#: a whole cycle of the seasons, so that a live service that runs for years keeps a
#: bounded history per product (about 8,000 maxima a detector at 5-minute buckets) and
#: its calibration follows how the product behaves now. The outages of that year are
#: censored (see :func:`spikes.detect.detectors.base.censored_count`).
CALIBRATION_HISTORY = pd.Timedelta(weeks=52)


def calibration_start(first_seen: int, bucket: pd.Timedelta) -> int:
    """First position whose scores count as a product's history for the threshold
    calibration (:func:`threshold_paths`): after its warm-up and the
    :data:`~spikes.detect.causal.UNPROVEN` time after it.

    The baseline of the warm-up has no time-of-day history, and that of the day after it
    rests on one earlier day: their excursions measure how far such a baseline misses,
    not how the product's traffic varies. Taken as history, they pass for a heavy tail
    of its noise and raise its thresholds for weeks (measured on the benchmark's data:
    the live NAB score 77.5 -> 78.8 and Cloud Monitoring F1 0.641 -> 0.667 without them;
    see ``benchmarks/RESULTS.md``).

    Parameters
    ----------
    first_seen : int
        Position of the product's first bucket with data.
    bucket : pd.Timedelta
        Bucket size.

    Returns
    -------
    int

    Examples
    --------
    >>> calibration_start(0, pd.Timedelta("5min")), calibration_start(10, pd.Timedelta("1h"))
    (576, 58)
    """
    return first_seen + warmup_buckets(bucket) + unproven_buckets(bucket)


def calibration_buckets(bucket: pd.Timedelta) -> int:
    """Buckets of :data:`CALIBRATION_HISTORY`."""
    return int(CALIBRATION_HISTORY / pd.Timedelta(bucket))


def threshold_paths(detectors: dict[str, Detector], scores: dict[str, np.ndarray],
                    config: DetectionConfig, bucket: pd.Timedelta, day_starts: np.ndarray,
                    history_from: int = 0) -> dict[str, np.ndarray]:
    """The detectors' thresholds per bucket for one product, as a live run knows them.

    At each midnight, :func:`spikes.detect.detectors.base.product_thresholds` of the
    excursions that ended before it, in the :data:`CALIBRATION_HISTORY` before it: the
    configured thresholds, raised where ``config.calibrate`` and the product's history
    shows burstier noise than the model. Before the first midnight, the configured ones.

    Parameters
    ----------
    detectors : dict of str to Detector
        The product's detectors, by name.
    scores : dict of str to np.ndarray
        The product's scores, per detector (same names, equal lengths).
    config : DetectionConfig
        Settings of the product.
    bucket : pd.Timedelta
        Bucket size.
    day_starts : np.ndarray
        Positions where each day begins (ascending, the first 0).
    history_from : int
        First position whose scores count as history (:func:`calibration_start`: after
        the warm-up and the day after it, whose baselines rest on no earlier day or on
        one).

    Returns
    -------
    dict of str to np.ndarray
        Threshold per bucket, per detector.
    """
    n = len(next(iter(scores.values()))) if scores else 0
    base = {name: det.default_threshold(config, bucket) for name, det in detectors.items()}
    out = {name: np.full(n, value) for name, value in base.items()}
    if not config.calibrate or n == 0:
        return out
    position = np.arange(n)
    # Buckets of history before each position: from the end of the warm-up on, missing
    # ones included (their scores are 0), as the stream counts them.
    counted = np.concatenate([[0], np.cumsum(position >= history_from)])
    firsts = day_starts[day_starts > 0]
    sinces = np.maximum(firsts - calibration_buckets(bucket), 0)
    weeks = (counted[firsts] - counted[sinces]) * (bucket / WEEK)
    own, testable = {}, {}
    for name, det in detectors.items():
        if det.threshold_is_fixed(config):
            continue
        # A cumulative detector's history is the rises its alarm reads, restarted after
        # a fall by its configured threshold (spikes.detect.detectors.rises).
        maxima, stops = det.excursions(np.where(position >= history_from, scores[name], 0.0),
                                       reversal=base[name])
        above = maxima >= det.excursion_floor
        maxima, stops = maxima[above], stops[above]
        # Runs come in time order: those that ended in the calibration's reach before a
        # midnight are a slice.
        lo, hi = np.searchsorted(stops, sinces), np.searchsorted(stops, firsts)
        own[name] = window_thresholds(maxima, lo, hi, weeks, config.false_alarms_per_week,
                                      low=det.excursion_floor,
                                      model_decay=det.excursion_decay)
        testable[name] = tail_testables(hi - lo, weeks)
    if not own:  # every threshold set explicitly: the configured ones throughout
        return out
    lengths = np.diff([*firsts.tolist(), n])
    for name, values in raised_days(detectors, own, testable, base).items():
        out[name][n - int(lengths.sum()):] = np.repeat(values, lengths)
    return out
