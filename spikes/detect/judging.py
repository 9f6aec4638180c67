"""The tests a live stretch must pass to be raised as an incident, and why it failed.

:func:`failed_test` judges a pending stretch of :class:`spikes.detect.causal.LiveWalk` at
a bucket: its size against the local level and the hours before its onset, then the size
and sustained-core tests of :mod:`spikes.detect.incidents`. It names the first test that
fails (a key of :data:`FAILURES`), so that the walk can say why a stretch was dropped
(:mod:`spikes.detect.explain`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikes.config import DetectionConfig
from spikes.detect.incidents import _large_enough, _Stretch, _sustained
from spikes.detect.pending import Before


def jump_ratio(config: DetectionConfig) -> float:
    """The rise a stretch must show over the level before it where no time-of-day
    history tells an outage from the daily cycle's own rise (a product's first two days):
    ``cusum_ratio``, the rise the detectors are tuned for, and at least ``min_ratio``."""
    return max(config.min_ratio, config.cusum_ratio)


#: Why a pending stretch was not raised (:func:`failed_test`, :class:`JudgedStretch`), in
#: words: each code's meaning.
FAILURES: dict[str, str] = {
    "ratio": "its reports stayed under min_ratio times the baseline (raised to the level "
             "the product ran at just before)",
    "before": "it did not stand out from the hours before it: they already ran that high "
              "over their baseline",
    "jump": "on an unproven day (the baseline rests on too few days of its kind, or on "
            "none: the product's first day) it was no jump of cusum_ratio times the hours "
            "before it",
    "small": "it was too small: under min_excess_reports above the baseline, or not "
             "min_ratio high over min_buckets consecutive buckets",
    "blip": "its core did not last: without its largest bucket(s) the rest was not "
            "significantly high (a blip)",
    "warm-up": "its alarm lay in the product's warm-up, where only a cold-start jump is "
               "raised",
    "return": "on a day that judges a fall taken as the product's level, it stood under "
              "min_ratio times the level before the fall: held as the fall's end until "
              "the day judged it at noon, and over once the fall was taken back",
    "not elevated": "the bucket of its alarm was not elevated itself (the evidence had built "
                    "up over earlier buckets), and none after it was",
}


def failed_test(s: _Stretch, y: np.ndarray, mu: np.ndarray, level: float,
                dispersion: float, config: DetectionConfig, before: Before | None = None,
                grain: int = 1) -> str | None:
    """The first test of an incident that the stretch so far fails (a key of
    :data:`FAILURES`), None where it passes them all.

    The tests: its reports since the onset are at least ``min_ratio`` times the local
    baseline (what the alert will claim; ``ratio``), and as many times what the hours
    `before` it ran at (:class:`Before`: its baseline times their ratio to theirs,
    ``before``, or, where the stretch is unproven, ``cusum_ratio`` times their mean count
    instead, and on the cold start a jump of as much inside it, :func:`first_jump`:
    ``jump``), and it passes the size (``small``) and sustained-core (``blip``)
    tests of :mod:`spikes.detect.incidents` (with runs of `grain` buckets counted as one
    below 5 minutes: :func:`~spikes.detect.incidents.blip_grain`).

    Parameters
    ----------
    s : _Stretch
        The stretch (onset and last elevated bucket so far).
    y, mu : np.ndarray
        Counts and baseline of the product.
    level : float
        Local level before the onset, as a multiple of the baseline.
    dispersion : float
        Dispersion in force at the stretch's alarm.
    config : DetectionConfig
        The settings it is judged by.
    before : Before, optional
        The hours before its onset.
    grain : int
        Buckets counted as one by the size and sustained tests.

    Returns
    -------
    str or None
    """
    ys, ms = y[s.onset : s.end + 1], mu[s.onset : s.end + 1]
    seen = ~np.isnan(ys)
    total, base = float(ys[seen].sum()), float(ms[seen].sum())
    if total < config.min_ratio * base * level:
        return "ratio"
    if before is not None:
        if before.ratio is not None and total < config.min_ratio * base * before.ratio:
            return "before"
        if before.mean is not None:
            jump = jump_ratio(config) * before.mean
            if total < jump * int(seen.sum()):
                return "jump"
            if before.head and first_jump(y, s.onset, s.end, before.reach, before.head,
                                          jump_ratio(config)) is None:
                return "jump"
    if not _large_enough(s, y, mu, level, config, grain):
        return "small"
    if not _sustained(s, y, mu, level, dispersion, config, grain):
        return "blip"
    return None


def first_jump(y: np.ndarray, onset: int, end: int, reach: int, head: int,
               ratio: float) -> int | None:
    """The first bucket of `onset`..`end` where a jump begins: `head` buckets in a row
    (fewer where the stretch is shorter) whose mean count is `ratio` times that of the
    `reach` buckets before them (missing buckets left out; a window without a report
    counts as holding one, as :meth:`spikes.detect.causal.LiveWalk.before` takes it).
    `onset` where no bucket has a window before it; None where the stretch holds no
    jump.

    A rise that climbs steadily (a morning's, over a product's first day) runs about
    1.4 times its last hour when its reports double every hour: no window of it holds a
    jump of ``cusum_ratio``, however far it climbs. An outage does, wherever in the
    stretch it begins.

    Examples
    --------
    >>> ramp = 10.0 * 2.0 ** (np.arange(48) / 12)  # doubles every hour (5-minute buckets)
    >>> first_jump(ramp, 24, 47, 12, 3, 3.0) is None
    True
    >>> step = np.r_[np.full(30, 10.0), np.full(18, 40.0)]
    >>> first_jump(step, 20, 47, 12, 3, 3.0)
    29
    """
    lo = max(onset - reach, 0)
    values = y[lo : end + 1]
    seen = ~np.isnan(values)
    sums = np.concatenate([[0.0], np.cumsum(np.where(seen, values, 0.0))])
    counts = np.concatenate([[0], np.cumsum(seen)])
    starts = np.arange(onset, max(end - head + 1, onset) + 1) - lo
    stops = np.minimum(starts + head, len(values))
    firsts = np.maximum(starts - reach, 0)
    n_head, n_before = counts[stops] - counts[starts], counts[starts] - counts[firsts]
    ok = (n_head > 0) & (n_before > 0)
    if not ok.any():
        return onset  # nothing before it to jump from: the other tests decide
    head_mean = np.divide(sums[stops] - sums[starts], n_head, out=np.zeros(len(starts)),
                          where=ok)
    before_mean = np.maximum(np.divide(sums[starts] - sums[firsts], n_before,
                                       out=np.zeros(len(starts)), where=ok),
                             1.0 / np.maximum(n_before, 1))
    jumps = np.flatnonzero(ok & (head_mean >= ratio * before_mean))
    return None if len(jumps) == 0 else lo + int(starts[jumps[0]])


@dataclass(frozen=True)
class JudgedStretch:
    """A stretch the live walk judged (recorded where :class:`LiveWalk` has a `trace`).

    Attributes
    ----------
    onset, alarm : int
        Its onset and the bucket of its alarm (positions).
    last : int
        The bucket of the verdict: where it was raised, where it was dropped (its last
        elevated bucket was too long ago), or the last of the data (still pending).
    detectors : tuple of str
        The detectors whose evidence opened it.
    verdict : {"raised", "dropped", "pending"}
    failure : str or None
        For a dropped or pending stretch, the test it failed when last judged (a key of
        :data:`FAILURES`).
    """

    onset: int
    alarm: int
    last: int
    detectors: tuple[str, ...]
    verdict: str
    failure: str | None
