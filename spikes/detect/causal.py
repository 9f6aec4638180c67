"""Live (causal) incidents: each one raised at the first bucket whose data prove it.

The retrospective builder (:mod:`spikes.detect.incidents`) sees a whole stretch before it
judges it. Here a product's buckets are walked in time order, as a live service meets
them, and every decision about bucket ``t`` uses data up to ``t`` only:

1. **thresholds** are calibrated at every midnight on the product's own history before it
   (:func:`~spikes.detect.live_thresholds.threshold_paths`); before there is enough
   history, the noise model's own;
2. an **alarm** fires where a per-bucket score reaches its threshold, or a cumulative one
   (CUSUM) rises by its threshold from its lowest point since the last incident;
3. the alarm's **onset** is located by the change-point search of
   :func:`spikes.detect.detectors.onset.onset_bounds` in the window before the alarm:
   the stretch is judged from its earliest start, and reports its latest;
4. the stretch from the onset is **raised** at the first bucket ``u`` at which it passes the
   tests of an incident on ``[onset, u]`` (size, ratio against the local level before the
   onset, a sustained core; see :mod:`spikes.detect.incidents`), runs ``min_ratio`` times
   what the hours before its onset ran at against their baseline (:class:`Before`: a
   rise that only continues a level the product already ran at is no outage) and has
   lasted ``min_duration`` (``[onset, u]`` spans at least that long; by default no
   wait): ``alerted_at`` is the end of bucket ``u``. A stretch whose buckets stop being
   elevated before that is dropped, and with it the evidence of the detectors that
   alarmed on it; a cumulative score that had not reached its threshold keeps gathering
   from its trough (:meth:`LiveWalk.alarming`). Another detector that alarms on the same
   bucket from an earlier rise, or later while the stretch is pending, has a stretch of
   its own, with its own onset, judged beside it; the first to pass is raised
   (:mod:`spikes.detect.pending`);
5. a raised incident goes on while its buckets stay **elevated** (at least ``min_ratio``
   times the local baseline, or improbably high, p <= 1 %), aftershocks within
   ``merge_gap`` included; its end is the last elevated bucket.

Warm-up: a product's first :data:`WARMUP` of data has no time-of-day history. On the
calendar day of its first data, the cold start
(:meth:`spikes.detect.trailing._SeasonalFit.cold_start`: the trailing mean of the day's
earlier buckets and the upper confidence bound of their dispersion, from two buckets on)
gives the per-bucket tail detector a baseline, and a stretch whose onset lies in the
warm-up is raised only where its reports are
``cusum_ratio`` times that baseline and the mean count of the three hours before it
(:func:`cold_config`): only a jump faster than the daily cycle moves tells an outage
there. A morning's rise climbs past any bar set on the hours it began from, so the
stretch must also hold a jump (:func:`~spikes.detect.judging.first_jump`:
:data:`COLD_HEAD` whose mean is ``cusum_ratio`` times that of the :data:`COLD_REACH`
before it), and reports the jump's start where it began on the rise before it. The
rest of the warm-up (from the next midnight, where the seasonal baseline
has only a part of a day to pool) gives no evidence. For
:data:`UNPROVEN` after it, the baseline rests on that one day: a stretch is raised only
where its reports are also ``cusum_ratio`` times the mean count of the three hours before
its onset (:meth:`LiveWalk.before`): that mean does not follow the daily cycle, whose
morning rise over it reaches ``min_ratio``, so the bar is the cold start's. That costs
the mild outages of that day (under ``cusum_ratio`` times the hours before, or whose
hours before ran busier: an evening's falling traffic); where those hours hold no count
(a gap in the feed), or the bucket is longer than three hours, it does not apply. The
same holds on the first day of each kind (weekday, or weekend day) from the end of the
warm-up on (:func:`~spikes.detect.days.first_days_of_kind`): the level factor of a
day rests on the days of its kind (see :mod:`spikes.detect.trailing`), and there are
none yet, so a weekend's other rhythm would pass for an outage; and on a weekend day
whose level runs far from the weekdays' while no day yet shows its shape (``unshaped``:
:func:`~spikes.detect.trailing_level.weekend_shape`; an office's first Sunday).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig, utc_offset
from spikes.detect.days import days_offset, first_days_of_kind
from spikes.detect.detectors.base import Detector
from spikes.detect.elevation import Elevation
from spikes.detect.fall_hold import held_as_return, over_return
from spikes.detect.incidents import (
    _context_ratio,
    _describe,
    _Stretch,
    blip_grain,
    min_duration_buckets,
    onset_bounds,
)
from spikes.detect.judging import JudgedStretch, failed_test, first_jump, jump_ratio
from spikes.detect.pending import Before, Pending, Rivals

#: A product's first so much data has no time-of-day history: only the cold start of
#: the calendar day of its first data raises incidents there (:func:`cold_config`), and
#: its scores are no history for the threshold calibration
#: (:func:`~spikes.detect.live_thresholds.calibration_start`).
WARMUP = pd.Timedelta(days=1)
#: For this long after its warm-up, a product's baseline rests on one earlier day only,
#: and a disagreement of two days cannot tell which of them is unusual (as for the masks
#: of :mod:`spikes.detect.trailing`, ``MIN_MASK_DAYS``): a stretch raised then must also
#: run ``min_ratio`` times the level of the hours just before it, so that a day that
#: simply runs higher than the warm-up day at the same time (a weekday after a Sunday, a
#: slow drift) is no outage, while a jump from the level just before still is.
UNPROVEN = pd.Timedelta(days=1)
#: On the cold start (a stretch whose alarm lies in the warm-up), a stretch must hold a
#: jump (:func:`~spikes.detect.judging.first_jump`): :data:`COLD_HEAD` whose mean is
#: ``cusum_ratio`` times that of the time before it, this long. Besides, its whole mean
#: must be that much over the mean of the three hours before its onset, as on any
#: unproven day; but a morning's rise climbs past any bar set on the hours it began from
#: (an office product's reports rise tenfold from 06:00 to 09:00), while the last hour
#: follows it: a rise that doubles every hour runs about 1.4 times its last hour.
COLD_REACH = pd.Timedelta(hours=1)
#: On the cold start, the time over which a stretch's reports must jump (see
#: :data:`COLD_REACH`), anywhere from its onset on: an outage jumps at its onset, a rise
#: climbs.
COLD_HEAD = pd.Timedelta(minutes=15)
#: How long a stretch not yet raised may go without an elevated bucket before it is
#: dropped, in whole buckets (:func:`quiet_buckets`): low-volume products have quiet
#: buckets inside outages. A bucket longer than that is no pause: an hour without
#: evidence ends the stretch, so a blip an hour or two before an outage does not become
#: its onset (hourly exports).
PENDING_QUIET = pd.Timedelta(minutes=15)
#: Buckets scanned at a time for the next alarm.
SCAN = 2048


def cold_config(config: DetectionConfig) -> DetectionConfig:
    """The settings a stretch is judged by when its onset lies in the warm-up: reports at
    least ``cusum_ratio`` times the cold start's baseline (and the mean of the hours
    before), the rise the detectors are tuned for, not only ``min_ratio`` times. With no
    time-of-day history, only a jump faster than the daily cycle moves tells an outage;
    the cycle's own rise over a trailing mean (the mornings) reaches ``min_ratio``."""
    return dataclasses.replace(config, min_ratio=jump_ratio(config))


def warmup_buckets(bucket: pd.Timedelta) -> int:
    """Buckets of :data:`WARMUP` (at least one)."""
    return max(int(np.ceil(WARMUP / pd.Timedelta(bucket))), 1)


def unproven_buckets(bucket: pd.Timedelta) -> int:
    """Buckets of :data:`UNPROVEN`."""
    return int(UNPROVEN / pd.Timedelta(bucket))


def quiet_buckets(bucket: pd.Timedelta) -> int:
    """Buckets without an elevated one that a stretch not yet raised may go through
    (:data:`PENDING_QUIET`, in whole buckets: none where a bucket is longer).

    Examples
    --------
    >>> [quiet_buckets(pd.Timedelta(b)) for b in ("1min", "5min", "15min", "1h")]
    [15, 3, 1, 0]
    """
    return int(PENDING_QUIET / pd.Timedelta(bucket))


def _next_alarm(alarm_of: list, start: int, n: int) -> tuple[int, int] | None:
    """First position >= `start` where a detector alarms, and the start of its rise."""
    pos = start
    while pos < n:
        stop = min(pos + SCAN, n)
        best: tuple[int, int] | None = None
        for find in alarm_of:
            hit = find(start, pos, stop)
            if hit is not None and (best is None or hit[0] < best[0]):
                best = hit
        if best is not None:
            return best
        pos = stop
    return None


@dataclass
class WalkState:
    """Where a product's live walk stands between two decisions: what a resumed walk
    starts from (:class:`LiveWalk`). Positions are absolute (row of the series).

    Attributes
    ----------
    pos : int
        Position from which the next alarm is searched.
    reset : int
        Where the last decision was made: an incident's end restarts every cumulative
        score's trough there, a dropped stretch those of the detectors that alarmed on it.
    troughs : dict of str to (float, int, int)
        Per cumulative detector, its trough since it restarted as ``(value, last
        position at that value or the restart - 1, end of the positions folded in)``.
    previous : list of _Stretch
        The last incidents raised (the context of the next one).
    """

    pos: int
    reset: int
    troughs: dict[str, tuple[float, int, int]]
    previous: list[_Stretch]

    @staticmethod
    def start(at: int, names: list[str]) -> WalkState:
        """The state of a walk that starts searching at `at`, troughs from 0."""
        return WalkState(at, 0, {name: _fresh_trough(0) for name in names}, [])

    def shifted(self, by: int) -> WalkState:
        """The state with every position moved by `by` (into or out of a window);
        incidents wholly before position 0 of the window are dropped, the others cut."""
        troughs = {k: (v, at + by, upto + by) for k, (v, at, upto) in self.troughs.items()}
        previous = [_Stretch(max(s.onset + by, 0) if by < 0 else s.onset + by, s.end + by,
                             set(s.detectors), s.strength, s.primary, s.alarm + by)
                    for s in self.previous if s.end + by >= 0 or by > 0]
        return WalkState(self.pos + by, self.reset + by, troughs, previous)


def _fresh_trough(at: int) -> tuple[float, int, int]:
    """A trough restarting at `at`: the CUSUM's own 0 at the start of a series, the score
    at `at` itself later on (see :meth:`LiveWalk.run`)."""
    return (0.0 if at == 0 else np.inf, at - 1, at)


@dataclass
class WalkResult:
    """What :meth:`LiveWalk.run` found: incident records, each with its last bucket and
    whether later data can still change it, and the state to resume from (before the
    first decision that is not final, or at the end of the data)."""

    records: list[tuple[dict[str, object], int, bool]]
    state: WalkState
    final: bool  # whether every decision is final (the state is at the end of the data)


def live_incident_rows(
    product: str,
    y: np.ndarray,
    mu: np.ndarray,
    index: pd.DatetimeIndex,
    scores: dict[str, np.ndarray],
    thresholds: dict[str, np.ndarray],
    detectors: dict[str, Detector],
    tail: np.ndarray,
    config: DetectionConfig,
    alpha: np.ndarray,
    inflation: np.ndarray,
    cold: np.ndarray | None = None,
    trace: list[JudgedStretch] | None = None,
    unshaped: np.ndarray | None = None,
    returns: np.ndarray | None = None,
) -> list[dict[str, object]]:
    """Incidents of one product as a live run raises them.

    Parameters
    ----------
    product : str
        Product name, copied into the records.
    y, mu : np.ndarray
        Counts (NaN = missing) and causal baseline of the product.
    index : pd.DatetimeIndex
        Bucket start times (regular).
    scores, thresholds : dict of str to np.ndarray
        Each detector's scores and per-bucket thresholds
        (:func:`~spikes.detect.live_thresholds.threshold_paths`).
    detectors : dict of str to Detector
        The detectors, by name (``cumulative`` ones alarm on rises from a trough).
    tail : np.ndarray
        Per-bucket tail surprise (-log10 p), which keeps an incident going.
    config : DetectionConfig
        Settings of the product.
    alpha, inflation : np.ndarray
        Dispersion and variance inflation in force at each bucket.
    cold : np.ndarray of bool, optional
        Buckets scored by the cold start (``Baseline.cold``): in the warm-up, only a
        stretch whose alarm is on one of them is raised. None: no cold start.
    trace : list of JudgedStretch, optional
        Collects every stretch judged, with its verdict (see :class:`LiveWalk`).
    unshaped : np.ndarray of bool, optional
        Buckets of a weekend day whose shape the baseline cannot know yet
        (``Baseline.unshaped``): unproven (:meth:`LiveWalk.unproven`). None: none.
    returns : np.ndarray, optional
        On the buckets that come before a fall taken as the product's level is judged,
        the level before the fall over the baseline (``Baseline.returns``; -1 after a
        judgement that took it back, 0 elsewhere): a rise back to it is held until the
        judgement (:meth:`LiveWalk.returns_to`). None: none.

    Returns
    -------
    list of dict
        One record per incident: keys of :data:`spikes.model.INCIDENT_COLUMNS` but
        ``event_id``, with ``alerted_at``.
    """
    n = len(y)
    if n < 2:
        return []
    seen = ~np.isnan(y)
    if not seen.any():
        return []
    bucket = index[1] - index[0]
    first_seen = int(np.argmax(seen))
    last_seen = n - 1 - int(np.argmax(seen[::-1]))
    earliest = first_seen + 1
    walk = LiveWalk(product, y, mu, index, scores, thresholds, detectors, tail, config,
                    alpha, inflation, bucket=bucket, earliest=earliest,
                    warm_until=first_seen + warmup_buckets(bucket), last_seen=last_seen,
                    cold=cold, trace=trace, unshaped=unshaped, returns=returns)
    names = [name for name, det in detectors.items() if det.cumulative]
    return [record for record, _, _ in walk.run(WalkState.start(earliest, names)).records]


class LiveWalk:
    """The walk of :func:`live_incident_rows` over one product's buckets, resumable.

    The arrays may be a window of the series (a live service keeps the last day or two):
    positions are then window positions, and the window must reach back far enough
    before the state's search position and trough (a day, and the onset search plus the
    three hours of context) for the walk to read what it would read in the whole series.

    Parameters
    ----------
    product, y, mu, index, scores, thresholds, detectors, tail, config, alpha, inflation
        As :func:`live_incident_rows`.
    bucket : pd.Timedelta
        Bucket size.
    earliest : int
        First position at which an incident may be raised (the bucket after the
        product's first).
    warm_until : int
        End of the product's warm-up (:data:`WARMUP`): a stretch whose alarm lies before
        it is raised only where that alarm is on a `cold` bucket and it runs
        ``cusum_ratio`` times its baseline (:meth:`judged_by`); until :data:`UNPROVEN`
        after it, a stretch must stand out from the hours before it in reports.
    last_seen : int
        Last position with data (an incident reaching it is ongoing).
    cold : np.ndarray of bool, optional
        Buckets scored by the cold start (None: none). The rest of a warm-up (from the
        midnight after a product's first data, where the seasonal baseline pools part of
        a day) raises nothing.
    unshaped : np.ndarray of bool, optional
        Buckets of a weekend day whose shape the baseline cannot know yet (None: none):
        unproven, as the first day of a kind is (:meth:`unproven`).
    returns : np.ndarray, optional
        As :func:`live_incident_rows` (:meth:`returns_to`).
    trace : list of JudgedStretch, optional
        Where given, every stretch the walk judges is appended to it with its verdict
        (:func:`spikes.detect.explain.explain_window` reads it); the incidents do not
        depend on it.
    """

    def __init__(self, product: str, y: np.ndarray, mu: np.ndarray, index: pd.DatetimeIndex,
                 scores: dict[str, np.ndarray], thresholds: dict[str, np.ndarray],
                 detectors: dict[str, Detector], tail: np.ndarray, config: DetectionConfig,
                 alpha: np.ndarray, inflation: np.ndarray, *, bucket: pd.Timedelta,
                 earliest: int, warm_until: int, last_seen: int,
                 cold: np.ndarray | None = None,
                 trace: list[JudgedStretch] | None = None,
                 unshaped: np.ndarray | None = None,
                 returns: np.ndarray | None = None) -> None:
        self.product, self.y, self.mu, self.index = product, y, mu, index
        self.scores, self.thresholds, self.detectors = scores, thresholds, detectors
        self.tail, self.config, self.alpha, self.inflation = tail, config, alpha, inflation
        self.bucket, self.earliest, self.last_seen = bucket, earliest, last_seen
        self.grain = blip_grain(bucket)
        self.warm_until = warm_until
        self.cold, self.unshaped, self.returns = cold, unshaped, returns
        self.trace = trace
        self.unproven_until = warm_until + unproven_buckets(bucket)
        # The window's positions may start after the warm-up (a negative warm_until).
        self.utc_offset = (days_offset(config, index[0]) if len(index)
                           else utc_offset(config))
        self.first_of_kind = (first_days_of_kind(index[0] + warm_until * bucket, bucket,
                                                 self.utc_offset) if len(index) else ())
        self._cold_config: DetectionConfig | None = None  # made when a cold alarm needs it
        self._kind_rows: list[tuple[int, int]] | None = None  # made when unproven() needs it
        self.n = len(y)
        # The typical baseline of the day before a bucket (for the dispersion in force).
        self.day = max(int(pd.Timedelta(days=1) / bucket), 1)
        # In buckets: the onset search's reach, the hours before a stretch, the window of
        # the elevation's total, and min_duration.
        self.search = int(pd.Timedelta(config.onset_search) / bucket)
        self.reach = int(pd.Timedelta(hours=3) / bucket)
        self.hour = max(1, int(pd.Timedelta(hours=1) / bucket))
        self.cold_reach = max(1, int(COLD_REACH / bucket))
        self.cold_head = max(1, int(COLD_HEAD / bucket))
        self.window = max(1, int(PENDING_QUIET / bucket))
        self.lasting = min_duration_buckets(config, bucket)
        known = ~np.isnan(y) & ~np.isnan(mu)
        self.sum_mu = np.concatenate([[0.0], np.cumsum(np.where(known, mu, 0.0))])
        self.n_mu = np.concatenate([[0], np.cumsum(known)])

    def before(self, onset: int, previous: list[_Stretch], reach: int, cold: bool = False
               ) -> Before:
        """The `reach` buckets before `onset` outside the `previous` stretches: their mean
        count where `onset` is unproven (:meth:`unproven`; for a stretch of the `cold`
        start, with the jump it must hold: :data:`COLD_HEAD`, :data:`COLD_REACH`), their
        reports over their baseline elsewhere (None where there are no such buckets)."""
        lo = max(onset - reach, 0)
        window = self.y[lo:onset].copy()
        for s in previous:
            window[max(s.onset - lo, 0) : max(s.end + 1 - lo, 0)] = np.nan
        seen = ~np.isnan(window)
        if not seen.any():
            return Before(None, None)
        if self.unproven(onset):
            # Hours without a report are no proof of a rate of 0 (a quiet product's
            # silent first day): they count as holding one report at least, as
            # Laplace's rule of succession has it.
            return Before(None, max(float(window[seen].mean()), 1.0 / int(seen.sum())),
                          self.cold_head if cold else 0, self.cold_reach if cold else 0)
        base = float(self.mu[lo:onset][seen].sum())
        return Before(float(window[seen].sum()) / base if base > 0 else None, None)

    def unproven(self, at: int) -> bool:
        """Whether bucket `at` lies in the :data:`UNPROVEN` time after the warm-up, on
        the first day of its kind (:func:`~spikes.detect.days.first_days_of_kind`) or on
        a weekend day whose shape the baseline cannot know yet (`unshaped`)."""
        return (at < self.unproven_until
                or (self.unshaped is not None and bool(self.unshaped[at]))
                or any(lo <= at < hi for lo, hi in self._first_of_kind_rows()))

    def _first_of_kind_rows(self) -> list[tuple[int, int]]:
        """The positions of the first days of a kind (``first_of_kind``), as ``[lo, hi)``
        each: those of the buckets whose day (:func:`~spikes.detect.days.day_grid`)
        begins there, the day's 24 hours from its start (found once, on first use)."""
        if self._kind_rows is None:
            day = pd.Timedelta(days=1)
            self._kind_rows = [(int(self.index.searchsorted(start)),
                                int(self.index.searchsorted(start + day)))
                               for start in self.first_of_kind]
        return self._kind_rows

    def judged_by(self, s: _Stretch) -> DetectionConfig | None:
        """The settings stretch `s` is judged by, from where its alarm lies: the product's
        past the warm-up; :func:`cold_config` on a bucket of the cold start; None (it is
        not raised) elsewhere in the warm-up."""
        if s.alarm >= self.warm_until:
            return self.config
        if self.cold is None or not bool(self.cold[s.alarm]):
            return None
        if self._cold_config is None:
            self._cold_config = cold_config(self.config)
        return self._cold_config

    def typical(self, at: int) -> float:
        """Mean baseline of the day up to `at` (the buckets with data)."""
        first = max(0, at + 1 - self.day)
        count = self.n_mu[at + 1] - self.n_mu[first]
        return float(self.sum_mu[at + 1] - self.sum_mu[first]) / count if count else 0.0

    def _finder(self, name: str, state: WalkState):
        s, thr = self.scores[name], self.thresholds[name]
        if not (s > 0).any():  # a score of 0 throughout (a chart that only drains)
            return lambda start, lo, hi: None
        if not self.detectors[name].cumulative:
            def find(_: int, lo: int, hi: int) -> tuple[int, int] | None:
                hits = (s[lo:hi] >= thr[lo:hi]).nonzero()[0]
                return None if len(hits) == 0 else (lo + int(hits[0]), lo + int(hits[0]))
            return find

        def find_rise(start: int, lo: int, hi: int) -> tuple[int, int] | None:
            # Trough since the reset point: the running minimum from there on.
            value, last, upto = state.troughs[name]
            seg = s[upto:hi]
            trough = np.minimum.accumulate(np.minimum(seg, value))
            rise = seg - trough
            offset = max(lo, start) - upto
            hits = (rise[offset:] >= thr[upto + offset : hi]).nonzero()[0]
            if len(hits) == 0:
                return None
            at = offset + int(hits[0])
            # The rise starts after the last time the trough was reached.
            low = (seg[: at + 1] <= trough[at]).nonzero()[0]
            return upto + at, upto + int(low[-1]) + 1 if len(low) else last + 1
        return find_rise

    def alarming(self, state: WalkState, at: int) -> set[str]:
        """The detectors that alarm at `at`: a per-bucket score at its threshold, a
        cumulative one whose rise from its trough in `state` reaches it (as
        :meth:`_finder` finds them)."""
        out = set()
        for name, det in self.detectors.items():
            s, threshold = self.scores[name], self.thresholds[name][at]
            if not det.cumulative:
                if s[at] >= threshold:
                    out.add(name)
                continue
            value, _, upto = state.troughs[name]
            low = float(np.minimum(s[upto : at + 1], value).min()) if upto <= at else value
            if s[at] - low >= threshold:
                out.add(name)
        return out

    def _open(self, state: WalkState, alarm: int, rise_start: int,
              previous: list[_Stretch], name: str) -> Pending:
        """The pending stretch of detector `name`'s alarm at `alarm` (its rise from
        `rise_start`), after the `previous` incidents."""
        prev_end = previous[-1].end if previous else -1
        lo = max(0, min(rise_start, alarm) - self.search, prev_end + 1)
        disp = float(self.inflation[alarm]) * (
            1.0 + float(self.alpha[alarm]) * self.typical(alarm))
        # The detector's own estimate of the start stands in until the stretch first
        # passes the tests; then (as the retrospective builder does for the stretches
        # that pass its cheap tests) the change-point search places the onset in the
        # window up to the alarm, and the tests are taken again from there.
        stretch = _Stretch(max(min(rise_start, alarm), prev_end + 1), alarm, {name},
                           alarm=alarm)
        p = Pending(stretch, lo, disp, previous[-3:], self.alarming(state, alarm),
                     self.judged_by(stretch))
        self._context(p)
        return p

    def _ties(self, state: WalkState, first: Pending,
              finders: dict[str, Callable[[int, int, int], tuple[int, int] | None]],
              previous: list[_Stretch]) -> list[Pending]:
        """The stretches of the other detectors that alarm on the `first` stretch's alarm
        bucket on a rise that began before its onset (a CUSUM's slow build-up under a
        per-bucket alarm on its peak), each from the start of its own rise."""
        alarm, out = first.stretch.alarm, []
        for name in finders:
            if name not in first.alarming or name in first.stretch.detectors:
                continue
            tie = finders[name](alarm, alarm, alarm + 1)
            if tie is not None and tie[1] < first.stretch.onset:
                out.append(self._open(state, alarm, tie[1], previous, name))
        return out

    def _context(self, p: Pending) -> None:
        """Set the local level before the stretch's onset (less the noise allowance of
        the size tests), the hours before it as :class:`Before` takes them, and the
        elevation against the level."""
        s, reach = p.stretch, self.reach
        p.level = _context_ratio(s, p.previous, self.y, self.mu, reach,
                                 float(self.alpha[s.onset]), float(self.inflation[s.onset]))
        p.prior = self.before(s.onset, p.previous, reach, cold=s.alarm < self.warm_until)
        p.elevated = Elevation(self.y, self.mu, self.tail, p.level, p.disp, self.window,
                               self.config.min_ratio)

    def _advance(self, p: Pending, u: int, patience: int) -> bool | None:
        """Judge pending stretch `p` at bucket `u`: True (raised at `u`), False (dropped:
        more than `patience` buckets without an elevated one) or None (still pending)."""
        if p.held:
            return self._held(p, u, patience)
        y, mu, s, tests = self.y, self.mu, p.stretch, p.tests
        if not p.elevated[u]:
            p.quiet += 1
            return False if p.quiet > patience else None
        p.quiet = 0
        s.end = u
        if u < self.earliest:
            return None
        if tests is None:
            p.failure = "warm-up"
            return None
        p.failure = failed_test(s, y, mu, p.level, p.disp, tests, p.prior, self.grain)
        if p.failure is not None:
            return None
        if not p.located:
            p.located = True
            jump = self._cold_jump(p, tests)
            if jump is not None:
                # A cold-start stretch that began on a rise of the daily cycle and holds
                # a jump later: judged from where it began (it passed from there), it
                # reports the jump's start, searched in the jump's first buckets.
                bounds = onset_bounds(y, mu, jump, min(u, jump + p.prior.head - 1),
                                      min_ratio=tests.min_ratio, dispersion=p.disp)
                p.latest = jump if bounds is None else bounds[1]
                return self._lasted(p, u)
            bounds = onset_bounds(y, mu, p.lo, s.alarm, min_ratio=tests.min_ratio,
                                  dispersion=p.disp)
            found = None if bounds is None else bounds[0]
            if found is None:
                found = _first_at_ratio(y, mu, s.onset, u, tests.min_ratio)
            # The stretch is judged from the earliest start (its context: the hours
            # before it), and reports the latest (see onset_bounds).
            p.latest = found if bounds is None else bounds[1]
            if found is not None and found != s.onset:
                s.onset = found
                self._context(p)
                p.failure = failed_test(s, y, mu, p.level, p.disp, tests, p.prior,
                                        self.grain)
                if p.failure is not None:
                    return None
        return self._lasted(p, u)

    def _lasted(self, p: Pending, u: int) -> bool | None:
        """True (raised at `u`) where pending stretch `p`, which passed its tests, has
        been elevated for ``min_duration`` since the onset it will report; else None."""
        s = p.stretch
        if u - (s.onset if p.latest is None else p.latest) + 1 >= self.lasting:
            if self.returns_to(p, u):
                p.held, p.failure = True, "return"
                return None
            return p.raise_at_latest()
        return None

    def returns_to(self, p: Pending, u: int) -> bool:
        """Whether pending stretch `p`, at `u`, is held as the end of a fall taken as the
        product's level (:func:`~spikes.detect.fall_hold.held_as_return`)."""
        def into_day(at: int) -> int:  # buckets to the nearest midnight, either side
            local = self.index[at] + self.utc_offset
            since = local - local.normalize()
            return int(min(since, pd.Timedelta(days=1) - since) // self.bucket)
        return self.returns is not None and p.tests is not None and held_as_return(
            self.returns, self.y, self.mu, p.stretch.onset if p.latest is None else
            p.latest, p.stretch.alarm, u, self.hour, p.tests.min_ratio, into_day)

    def _held(self, p: Pending, u: int, patience: int) -> bool | None:
        """Judge held stretch `p` (:meth:`returns_to`) at `u`: pending while the fall is
        not judged, its elevated buckets extending it (until quiet for `patience`);
        raised at once where its last hour grows past the level before the fall (an
        outage on top of a return: :func:`~spikes.detect.fall_hold.over_return`) or no
        bucket with data has been elevated for an hour (an outage that ended); at the
        first bucket after the hold, dropped where the fall was taken back (``returns``
        under 0: it was the fall's end), else raised."""
        assert self.returns is not None
        if self.returns[u] > 0:
            if p.elevated[u]:
                p.quiet = 0
                p.stretch.end = u if u - p.stretch.end - 1 <= patience else p.stretch.end
                if not self.returns_to(p, u):
                    p.held = False
                    found, p.elevated = over_return(
                        self.y, self.mu, self.returns, self.alpha,
                        max(u + 1 - self.hour, p.stretch.onset), u, p.disp, self.window,
                        self.config.min_ratio)
                    p.latest = p.latest if found is None else found
                    p.stretch.end = u  # (raised on this bucket, elevated over the return)
                    return p.raise_at_latest()
            elif not np.isnan(self.y[u]):
                p.quiet += 1
            if p.quiet < self.hour:
                return None
        elif self.returns[u] < 0:
            p.held = False
            p.stretch.end = u - 1  # (the hours that ran on the fall's level: no context)
            return False
        p.held = False
        return p.raise_at_latest()

    def _cold_jump(self, p: Pending, tests: DetectionConfig) -> int | None:
        """Where pending stretch `p` is of the cold start and the jump it holds
        (:func:`~spikes.detect.judging.first_jump`) begins after its onset, the jump's
        first bucket; else None."""
        s, prior = p.stretch, p.prior
        if not prior.head:
            return None
        jump = first_jump(self.y, s.onset, s.end, prior.reach, prior.head,
                          jump_ratio(tests))
        return jump if jump is not None and jump > s.onset else None

    def _record(self, trace: list[JudgedStretch], dropped: list[tuple[Pending, int]],
                raised: Pending | None, u: int, pending: list[Pending]) -> None:
        """Append the verdicts on the stretches of one alarm to `trace`."""
        def judged(p: Pending, last: int, verdict: str) -> JudgedStretch:
            s = p.stretch
            return JudgedStretch(s.onset, s.alarm, last, tuple(sorted(s.detectors)), verdict,
                                 None if verdict == "raised" else p.failure)

        trace.extend(judged(p, at, "dropped") for p, at in dropped)
        if raised is not None:
            trace.append(judged(raised, u, "raised"))
        else:
            trace.extend(judged(p, min(u, self.n - 1), "pending") for p in pending)

    def fold(self, state: WalkState, stop: int) -> None:
        """Fold the scores up to `stop` into the state's troughs (in place)."""
        for name, (value, last, upto) in list(state.troughs.items()):
            seg = self.scores[name][upto:stop]
            if len(seg) == 0:
                continue
            trough = np.minimum.accumulate(np.minimum(seg, value))
            low = (seg <= trough[-1]).nonzero()[0]
            state.troughs[name] = (float(trough[-1]),
                                   upto + int(low[-1]) if len(low) else last, stop)

    def run(self, state: WalkState, carry: bool = False) -> WalkResult:
        """Walk from `state` to the end of the arrays.

        Parameters
        ----------
        state : WalkState
            Where to start (window positions); not changed.
        carry : bool
            Fold the troughs up to the end of the data in the state returned when every
            decision is final (a resumed walk needs them; a whole-series walk does not).

        Returns
        -------
        WalkResult
        """
        config, scores, thresholds = self.config, self.scores, self.thresholds
        detectors, n, bucket = self.detectors, self.n, self.bucket
        gap = int(pd.Timedelta(config.merge_gap) / bucket)
        patience = quiet_buckets(bucket)
        state = WalkState(state.pos, state.reset, dict(state.troughs), list(state.previous))
        checkpoint: WalkState | None = None
        finders = {name: self._finder(name, state) for name in detectors}
        alarm_of = list(finders.values())
        previous = state.previous
        records: list[tuple[dict[str, object], int, bool]] = []
        pos = state.pos
        while pos < n:
            hit = _next_alarm(alarm_of, pos, n)
            if hit is None:
                break
            before = WalkState(pos, state.reset, dict(state.troughs), previous[-3:])
            alarm, rise_start = hit
            self.fold(state, alarm)  # the stretches' searches start from here
            # Pending stretches, judged side by side bucket by bucket: the first alarm's,
            # and one for each other detector that alarms on the same bucket from an
            # earlier rise, or later while it is pending (another detector's evidence,
            # with its own onset); the first to pass is raised.
            first = self._open(state, alarm, rise_start, previous,
                               _alarming(scores, thresholds, alarm))
            pending = [first]
            pending += self._ties(state, first, finders, previous)
            rivals = Rivals({name: find for name, find in finders.items()
                             if name not in first.alarming}, alarm + 1, n)
            dropped: list[tuple[Pending, int]] = []
            raised: Pending | None = None
            u = alarm
            while u < n and pending:
                for name, rise in rivals.at(u):
                    pending.append(self._open(state, u, rise, previous, name))
                for p in list(pending):
                    verdict = self._advance(p, u, patience)
                    if verdict is None:
                        continue
                    pending.remove(p)
                    if verdict:
                        raised = raised or p
                    else:
                        dropped.append((p, u))
                if raised is not None:
                    break
                u += 1
            if self.trace is not None:
                self._record(self.trace, dropped, raised, u, pending)
            if raised is None:
                if pending and checkpoint is None:
                    checkpoint = before  # still pending when the data end
                last = u if pending else max(at for _, at in dropped)
                pos = max(last, alarm + 1)
                # Each stretch judged (and consumed) the evidence of the detectors that
                # alarmed on it; a cumulative score that had not reached its threshold
                # keeps its trough (folded up to here, so that no later search rescans
                # the buckets before), and what it gathers goes on counting from there.
                consumed = {name for p, _ in dropped for name in p.alarming}
                # A fall's end ran against the fall's level: no context for what follows.
                previous.extend(p.stretch for p, _ in dropped if p.failure == "return")
                for name in consumed & set(state.troughs):
                    state.troughs[name] = _fresh_trough(pos)
                state.reset = pos
                self.fold(state, pos)
                continue
            # Open: goes on while elevated, aftershocks within merge_gap included.
            stretch = raised.stretch
            # (A held stretch that ended before its day judged the fall is raised after
            # its last elevated bucket: the search goes on from the bucket after the
            # alarm.)
            end = raised.elevated.end_of_run(stretch.end, gap)
            stretch.end = end
            onset = stretch.onset
            for name in detectors:
                if np.any(scores[name][onset : end + 1] >= thresholds[name][onset : end + 1]):
                    stretch.detectors.add(name)
            record = _describe(self.product, stretch, self.y, self.mu, self.index,
                               self.last_seen)
            record["alerted_at"] = self.index[u] + bucket
            final = end + gap + 1 < n
            if not final and checkpoint is None:
                checkpoint = before  # may still grow when more data come
            records.append((record, end, final and checkpoint is None))
            previous.append(stretch)
            # The incident is over only once `gap` quiet buckets have followed its last
            # elevated one: until then a rise is its aftershock, not a new incident (and
            # when the data stop sooner, it is still open). Searching on from its last
            # elevated bucket would let a cut of the data raise an incident a longer run
            # merges.
            pos = max(end + gap + 1, u + 1)
            state.reset = pos
            for name in state.troughs:
                state.troughs[name] = _fresh_trough(pos)
        if checkpoint is not None:
            return WalkResult(records, checkpoint, False)
        done = WalkState(max(pos, n), state.reset, state.troughs, previous[-3:])
        if carry:
            self.fold(done, n)
        return WalkResult(records, done, True)


def _first_at_ratio(y: np.ndarray, mu: np.ndarray, start: int, stop: int,
                    min_ratio: float) -> int | None:
    """First bucket of ``[start, stop]`` at least `min_ratio` times its baseline (None:
    none is).

    The onset of a stretch whose change-point search found no segment at that ratio up
    to its alarm: the per-bucket tail detector alarms on improbability, which at high
    volume comes before the ratio (an hour at 1.7x ahead of an outage's hour at 7x), and
    the rise the incident reports starts where its buckets reach it, as the search
    would have placed it.
    """
    high = np.flatnonzero(y[start : stop + 1] >= min_ratio * mu[start : stop + 1])
    return start + int(high[0]) if len(high) else None


def _alarming(scores: dict[str, np.ndarray], thresholds: dict[str, np.ndarray], at: int) -> str:
    """Name of a detector whose score reaches its threshold at `at` (the first one)."""
    for name, s in scores.items():
        if s[at] >= thresholds[name][at]:
            return name
    return next(iter(scores))
