"""Live detection over the store: closing buckets and running the causal detector.

A bucket ``[start, start + bucket)`` closes when a report at least ``lateness`` past its
end has arrived (the data clock), or, with the wall clock, also when the time of day
passes its end plus ``lateness``; :meth:`LiveDetector.flush` closes every bucket up to
the newest report's (on the wall clock, only those whose end has passed). Reports that
arrive for a closed bucket are stored and counted as late, and detection leaves them out
(a live run never saw them in time).

When buckets close, a :class:`~spikes.detect.stream.StreamDetector` (live mode) is
stepped with the buckets closed since the last detection only (the on-time rows after
the last bucket it was given: :meth:`Store.closed_reports` with ``since``), so the work
per closed bucket does not grow with the length of history; its incidents and events
replace the stored ones. They equal :func:`spikes.detect.pipeline.analyze` over all the
closed buckets (``tests/test_service_stream.py``): the counts given to the stream are
those :func:`~spikes.service.snapshot.store_data` gives over the whole store (a grid from
the first report of any product to the last report's bucket; report-event products at
zero where they have no report from their first report on, count products missing where
they have no row). One
exception: where the reports name regions or categories, only incidents with an onset in
the last :data:`RECENT_REASONS` have the top problem and region in their ``why``.

The stream is rebuilt from the store in one step (exact, O(history) once) when it cannot
follow the batch grid bucket by bucket:

- at start and after a restart;
- when a report-events product gets count rows (the batch then takes its buckets without
  a row as missing, earlier ones included).

A detection configured in retrospective mode is not causal: it re-runs
:func:`~spikes.detect.pipeline.analyze` over all the closed buckets.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from spikes.alerts.timeline import active_chains, merge_gaps
from spikes.config import DetectionConfig
from spikes.detect.causal import PENDING_QUIET
from spikes.detect.incidents import CONTEXT
from spikes.detect.known_events import Calendar
from spikes.detect.pipeline import Analysis, Scored, analyze, product_status
from spikes.detect.reasons import USUAL_HISTORY
from spikes.detect.stream import StreamDetector
from spikes.errors import SpikesInputError
from spikes.evaluation.lead import OfficialFeed
from spikes.io.buckets import events_from_first
from spikes.service.commit import GroupCommit
from spikes.service.snapshot import store_data
from spikes.service.store import AppendResult, Store

if TYPE_CHECKING:
    from spikes.alerts.notifier import Notifier

__all__ = ["Counters", "Detection", "LiveDetector"]

_log = logging.getLogger(__name__)
#: Incidents with an onset this recent get the top problem and region in their reasons
#: (from the store's breakdown, as ``spikes analyze`` gives them): older ones keep the
#: reason's other parts only, so that a detection does not read the whole history's
#: breakdown. This is the one way the stored incidents may differ from ``analyze``.
RECENT_REASONS = pd.Timedelta(days=2)
#: On the wall clock, an event that a route was never told of and that was over longer
#: than this before a detection (by the time of day; two buckets and two latenesses when
#: that is longer) is history and is not paged to it: resolved by then, or any event of a
#: detection whose data ended by then (a backfill posted into a fresh store, day by day).
#: An event still going on at the end of recent data is paged, its ``open`` included, and
#: one a route was told of keeps all its messages (its ``resolved`` too).
PAGE_REACH = pd.Timedelta(hours=1)

Clock = Literal["wall", "data"]


@dataclass
class Counters:
    """What the service has done since it started (for ``/metrics``)."""

    accepted: int = 0
    duplicates: int = 0
    late: int = 0
    rejected: int = 0
    detections: int = 0
    detection_seconds: float = 0.0
    detection_seconds_total: float = 0.0
    detection_failures: int = 0
    #: Why the latest detection failed; empty once one has succeeded since.
    failing: str = ""
    #: Batches the store could not write (a full disk): answered 503, nothing stored.
    store_failures: int = 0
    #: Why the latest write failed; empty once a batch has been written since.
    store_failing: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def refused(self) -> None:
        """Count a batch refused (4xx)."""
        with self.lock:
            self.rejected += 1

    def store_failed(self, reason: str) -> None:
        """Count a batch the store could not write."""
        with self.lock:
            self.store_failures += 1
            self.store_failing = reason[:500]

    def add(self, result: AppendResult) -> None:
        """Count an appended batch."""
        with self.lock:
            self.store_failing = ""
            self.accepted += result.accepted
            self.duplicates += result.duplicates
            self.late += result.late


@dataclass(frozen=True)
class Detection:
    """What one detection found (what :meth:`LiveDetector.detect` returns).

    Attributes
    ----------
    incidents : pd.DataFrame
        Columns :data:`spikes.model.INCIDENT_COLUMNS` (with the status feed's lead).
    events : pd.DataFrame
        Columns :data:`spikes.detect.events.EVENT_COLUMNS`.
    until : pd.Timestamp
        End of the last bucket detected over.
    rebuilt : bool
        Whether the stream was rebuilt from the store (or the batch detector ran).
    """

    incidents: pd.DataFrame
    events: pd.DataFrame
    until: pd.Timestamp
    rebuilt: bool = False


class LiveDetector:
    """Close buckets as reports and time arrive, and detect over the closed ones.

    Parameters
    ----------
    store : Store
        Where the reports are and the incidents go.
    bucket : pd.Timedelta
        Bucket size.
    clock : {"wall", "data"}
        ``"data"``: buckets close only as later reports arrive (replays, demos);
        ``"wall"``: also as the time of day passes.
    lateness : pd.Timedelta
        How long after its end a bucket stays open.
    config : DetectionConfig, optional
        Detection settings (live mode by default).
    status_feed : OfficialFeed, optional
        Vendors' official incidents: stored incidents get ``official_at`` and
        ``lead_minutes`` from those published by the detection's time (the closed time
        with the data clock, now with the wall clock).
    notifier : Notifier, optional
        Told of every detection (:meth:`spikes.alerts.notifier.Notifier.observe`), to
        enqueue the messages of events that opened, escalated or were resolved.
    calendar : Calendar, optional
        Known-event windows (planned maintenance, releases): kept out of the baseline's
        history and named in the incidents' ``known_event``; routes notify of such
        incidents only when they ask to (``known_events = true``).
    """

    def __init__(self, store: Store, *, bucket: pd.Timedelta, clock: Clock = "wall",
                 lateness: pd.Timedelta | None = None,
                 config: DetectionConfig | None = None,
                 status_feed: OfficialFeed | None = None,
                 notifier: Notifier | None = None,
                 calendar: Calendar | None = None) -> None:
        if clock not in ("wall", "data"):
            raise ValueError(f"clock must be 'wall' or 'data', got {clock!r}")
        self.store = store
        self.bucket = pd.Timedelta(bucket)
        self.clock = clock
        self.lateness = self.bucket if lateness is None else pd.Timedelta(lateness)
        self.config = config or DetectionConfig()
        self.status_feed = status_feed
        self.calendar = calendar
        self.counters = Counters()
        self._commit = GroupCommit(store, self.bucket)
        self.notifier = notifier
        self.latest: Detection | None = None
        self.analysis: Analysis | None = None  # retrospective mode only
        self.stream: StreamDetector | None = None
        self.rebuilds = 0
        self._kinds: dict[str, str] = {}  # each product's kind in the stream
        self._notified: pd.Timestamp | None = None  # until of the last messages enqueued
        self._detect_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # A restart over a store with history: the buckets that ended while the service
        # was down stay open for one lateness from now on the wall clock, so that the
        # reports clients buffered meanwhile are not all late (and the detector does not
        # read those buckets as empty). A store filled by `spikes ingest` has no closed
        # time: its buckets before the newest report's are its history (that one may be
        # cut short by the export).
        self._resumed_at = pd.Timestamp.now(tz="UTC")
        self._held = store.closed_end
        if self._held is None and store.watermark is not None:
            self._held = store.watermark.floor(self.bucket)

    # -- the worker --------------------------------------------------------------------
    def start(self) -> None:
        """Start the background thread that detects when buckets close."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._work, name="spikes-detect", daemon=True)
        self._thread.start()
        self._wake.set()  # detect over what a restarted store already holds

    def stop(self) -> None:
        """Stop the background thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _work(self) -> None:
        tick = min(max(self.bucket.total_seconds() / 10, 0.2), 5.0)
        while not self._stop.is_set():
            woken = self._wake.wait(timeout=tick)
            if self._stop.is_set():
                break
            self._wake.clear()
            closed = self.close_by_wall_clock() if self.clock == "wall" else False
            if woken or closed:
                try:
                    self.detect()
                    self.counters.failing = ""
                except Exception as exc:  # the thread goes on: the next batch may mend it
                    _log.exception("spikes: detection failed")
                    with self.counters.lock:
                        self.counters.detection_failures += 1
                        self.counters.failing = f"{type(exc).__name__}: {exc}"[:500]

    # -- closing ------------------------------------------------------------------------
    def ingest(self, batch: pd.DataFrame | pa.Table, batch_id: str,
               kind: str = "events") -> AppendResult:
        """Append a batch (acknowledged after its commit, which batches arriving at the
        same time share: :class:`spikes.service.commit.GroupCommit`), then close buckets
        it ends.

        Parameters
        ----------
        batch : pd.DataFrame or pa.Table
            The reports (see :meth:`spikes.service.store.Store.append`).
        batch_id : str
            Its idempotency key.
        kind : {"events", "counts"}
            Report events or counts per bucket (see :meth:`Store.append`).

        Returns
        -------
        AppendResult
        """
        result = self._commit.submit(batch, batch_id, kind)
        self.counters.add(result)
        watermark = self.store.watermark
        if watermark is not None:
            if self.clock == "wall":
                # A report stamped in the future (a client's clock ahead) closes nothing
                # the time of day has not: the reports of now would count as late.
                watermark = min(watermark, pd.Timestamp.now(tz="UTC"))
            end = self._resume_cap((watermark - self.lateness).floor(self.bucket))
            try:
                closed = self.store.close_until(end)
            except SpikesInputError as exc:
                # The batch is stored: its buckets close with a later batch or tick.
                _log.warning("spikes: %s", exc)
                self.counters.store_failed(str(exc))
                closed = False
            if closed:
                self._wake.set()
        return result

    def _resume_cap(self, end: pd.Timestamp, now: pd.Timestamp | None = None
                    ) -> pd.Timestamp:
        """`end`, held at the closed time of the start for one lateness after a restart
        on the wall clock (see ``__init__``)."""
        if self.clock != "wall" or self._held is None:
            return end
        now = now or pd.Timestamp.now(tz="UTC")
        return min(end, self._held) if now < self._resumed_at + self.lateness else end

    def close_by_wall_clock(self, now: pd.Timestamp | None = None) -> bool:
        """Close the buckets whose end plus the lateness has passed (after a restart, not
        before one lateness has passed since it); whether any closed."""
        if self.store.watermark is None:
            return False
        now = now or pd.Timestamp.now(tz="UTC")
        return self.store.close_until(
            self._resume_cap((now - self.lateness).floor(self.bucket), now))

    def advance_to(self, now: pd.Timestamp) -> bool:
        """Move a replay's clock to `now`: close the buckets whose end plus the lateness
        is at or before it and wake the detector (``spikes serve --demo``).

        Returns
        -------
        bool
            Whether buckets closed.
        """
        closed = self.close_by_wall_clock(now=pd.Timestamp(now))
        if closed:
            self._wake.set()
        return closed

    def flush(self, now: pd.Timestamp | None = None) -> Detection | None:
        """Close every bucket up to the newest report's and detect now.

        On the wall clock, only buckets whose end has passed close: the bucket of now
        stays open (its reports are still arriving), and so do those of reports stamped
        ahead of the server's time (a client's clock ahead), which would otherwise make
        every report of the next hour late.

        Parameters
        ----------
        now : pd.Timestamp, optional
            The time of day on the wall clock (now by default; for tests).

        Returns
        -------
        Detection or None
            None while the store holds no report.
        """
        watermark = self.store.watermark
        if watermark is None:
            return None
        self.store.close_until(self._flush_end(watermark, now))
        return self.detect()

    def _flush_end(self, watermark: pd.Timestamp,
                   now: pd.Timestamp | None = None) -> pd.Timestamp:
        """Where :meth:`flush` closes: the end of the newest report's bucket, on the wall
        clock no later than the start of the bucket of now."""
        end = watermark.floor(self.bucket) + self.bucket
        if self.clock == "wall":
            now = now or pd.Timestamp.now(tz="UTC")
            end = min(end, now.floor(self.bucket))
        return end

    # -- detection ------------------------------------------------------------------------
    def detect(self) -> Detection | None:
        """Step the causal detector with the buckets closed since the last detection and
        store its results (see the module docstring).

        Returns
        -------
        Detection or None
            None while no bucket with a report is closed.
        """
        with self._detect_lock:
            started = time.perf_counter()
            if self.config.mode != "causal":
                detection = self._detect_batch()
            else:
                detection = self._detect_stream()
            if detection is None:
                return None
            elapsed = time.perf_counter() - started
            with self.counters.lock:
                self.counters.detections += 1
                self.counters.detection_seconds = elapsed
                self.counters.detection_seconds_total += elapsed
            try:  # a quiet moment to write the log into the file (its rows leave memory)
                self.store.checkpoint()
            except Exception:  # the next commit or detection tries again
                _log.exception("spikes: checkpoint of the store failed")
            return detection

    def _annotated(self, incidents: pd.DataFrame) -> pd.DataFrame:
        """The incidents with the status feed's lead as of the detection's time."""
        if self.status_feed is None:
            return incidents
        as_of = (self.store.closed_end if self.clock == "data"
                 else pd.Timestamp.now(tz="UTC"))
        return self.status_feed.annotate(incidents, as_of=as_of)

    def _detect_batch(self) -> Detection | None:
        """Retrospective mode: :func:`analyze` over every closed bucket."""
        data = store_data(self.store.closed_reports(bucket=self.bucket), self.bucket,
                          self.store.path)
        if data is None:
            return None
        analysis = analyze(data, self.config, calendar=self.calendar)
        analysis = dataclasses.replace(analysis,
                                       incidents=self._annotated(analysis.incidents))
        self.store.save_results(analysis.incidents, analysis.events)
        self.analysis = analysis
        self.latest = Detection(analysis.incidents, analysis.events,
                                data.counts.index[-1] + data.bucket, rebuilt=True)
        return self.latest

    def _detect_stream(self) -> Detection | None:
        """Live mode: step (or rebuild) the stream, store and notify."""
        full = self._step()
        stream = self.stream
        if stream is None or stream.first is None:
            return None
        until = stream.first + stream.n * self.bucket
        if (full is None and self.latest is not None and self.latest.until == until
                and self.status_feed is None
                and (self.notifier is None or self._notified == until)):
            return self.latest  # nothing new closed with a report: the same results
        incidents = stream.incidents()
        breakdown = self._breakdown(incidents, until - RECENT_REASONS)
        if breakdown is not None:
            # Only the recent incidents take the breakdown part: the breakdown read covers
            # their usual history in full, not that of older ones.
            recent = (pd.to_datetime(incidents["onset"]) >= until - RECENT_REASONS).to_numpy()
            rich = stream.incidents(breakdown)
            incidents.loc[recent, "why"] = rich.loc[recent, "why"].to_numpy()
        events = stream.events()
        incidents = self._annotated(incidents)
        self.store.save_results(incidents, events)
        self.latest = Detection(incidents, events, until, rebuilt=full is not None)
        if self.notifier is not None and self._notified != until:
            try:
                self._notify(incidents, events, until, full)
                self._notified = until
            except Exception:  # detection goes on; the next one enqueues them again
                _log.exception("spikes: could not enqueue the notifications")
            self._retain(incidents, until)
        return self.latest

    def _step(self) -> object | None:
        """Give the stream the buckets closed since its last one; rebuild it from the
        store when it cannot follow (see the module docstring).

        Returns
        -------
        ReportData or None
            The whole store's data when the stream was rebuilt, else None.
        """
        stream = self.stream
        if stream is None or stream.first is None:
            return self._rebuild()
        end = stream.first + stream.n * self.bucket
        rows = self.store.closed_reports(since=end, bucket=self.bucket)
        if rows.empty:
            return None
        kinds = rows["kind"].fillna("events").astype(str)
        products = rows["product"].astype(str)
        counted = set(products[kinds == "counts"])
        for product in set(products):
            if self._kinds.get(product) == "events" and product in counted:
                return self._rebuild()  # now a count product: its zeros become missing
        counted |= {p for p, k in self._kinds.items() if k == "counts"}
        rows = rows.assign(kind=["counts" if p in counted else "events" for p in products])
        data = store_data(rows, self.bucket, self.store.path)
        assert data is not None
        index = pd.date_range(end, data.counts.index[-1], freq=self.bucket,
                              name=data.counts.index.name)
        labels = list(stream.labels) + [p for p in data.counts.columns
                                        if str(p) not in stream.position]
        values = data.counts.reindex(index=index, columns=labels).to_numpy(dtype=float,
                                                                           copy=True)
        # Report events: zeros where no report came, from each product's first on (one
        # new in these buckets has no data before its first report).
        evented = np.array([str(c) not in counted for c in labels], dtype=bool)
        started = np.array([str(c) in self._kinds for c in labels], dtype=bool)
        values[:, evented] = events_from_first(values[:, evented], started[evented])
        frame = pd.DataFrame(values, index=index, columns=labels)
        for product in set(products):
            self._kinds.setdefault(product, "counts" if product in counted else "events")
        stream.step(frame)
        return None

    def _rebuild(self) -> object | None:
        """A new stream over every closed bucket of the store, in one step."""
        # (the breakdown for the alerts)
        rows = self.store.closed_reports(breakdown=True, bucket=self.bucket)
        data = store_data(rows, self.bucket, self.store.path)
        if data is None:
            return None
        stream = StreamDetector(self.config, bucket=self.bucket, calendar=self.calendar)
        stream.step(data.counts)
        kinds = rows["kind"].fillna("events").astype(str)
        counted = set(rows.loc[kinds == "counts", "product"].astype(str))
        self._kinds = {str(p): "counts" if str(p) in counted else "events"
                       for p in data.counts.columns}
        self.stream = stream
        self.rebuilds += 1
        _log.info("spikes: live detector rebuilt from the store (%d buckets, %d products)",
                  stream.n, len(stream.products))
        return data

    def _notify(self, incidents: pd.DataFrame, events: pd.DataFrame, until: pd.Timestamp,
                full: object | None) -> None:
        """Enqueue the messages of the events with one after the last enqueued.

        After a rebuild (a start, a restart), every event's messages are recomputed from
        a batch analysis of the whole store (the outbox keeps each once); otherwise from
        the stream's window, which holds every event that may still have a message.
        """
        assert self.notifier is not None and self.stream is not None
        if not self.notifier.routes:
            return
        if full is not None or self._notified is None:
            data = full if full is not None else store_data(
                self.store.closed_reports(breakdown=True, bucket=self.bucket), self.bucket,
                self.store.path)
            analysis = analyze(data, self.config,  # type: ignore[arg-type]
                               calendar=self.calendar)
            analysis = dataclasses.replace(analysis, incidents=incidents)
            self.notifier.observe(analysis, until, settled_before=self._settled_before())
            return
        data, baseline = self.stream.window()
        keep = active_chains(incidents, self.bucket, self.config.merge_gap,
                             self.config.event_window, self._notified,
                             gaps=merge_gaps(self.config, incidents["product"].unique()))
        if keep.any() and (pd.to_datetime(incidents.loc[keep, "onset"]).min()
                           < data.counts.index[0]):
            # A step of many buckets forgot an event that still has a message (raised
            # and over within the step): the exact, O(history) way, this time.
            self._notified = None
            self._notify(incidents, events, until, None)
            return
        onsets = pd.to_datetime(incidents.loc[keep, "onset"])
        since = onsets.min() if len(onsets) else until
        data = dataclasses.replace(data, breakdown=self._breakdown(incidents, since))
        scored = Scored(data=data, baseline=baseline, scores={}, detectors={},
                        config=self.config)
        window = Analysis(scored=scored, incidents=incidents, events=events,
                          config=self.config)
        self.notifier.observe(window, until, since=self._notified,
                              settled_before=self._settled_before())

    def _settled_before(self, now: pd.Timestamp | None = None) -> pd.Timestamp | None:
        """Events resolved at or before this time are history to a route not told of
        them (:data:`PAGE_REACH`); None on the data clock (a replay pages its past)."""
        if self.clock != "wall":
            return None
        reach = max(PAGE_REACH, 2 * (self.bucket + self.lateness))
        return (now or pd.Timestamp.now(tz="UTC")) - reach

    def _breakdown(self, incidents: pd.DataFrame,
                   since: pd.Timestamp) -> pd.DataFrame | None:
        """The store's breakdown (bucket, product, region, category) behind the reasons of
        the incidents with an onset at or after `since`: their products, from
        :data:`~spikes.detect.reasons.USUAL_HISTORY` before the earliest of them (the
        usual shares). None when there is none (or the reports name no region or
        category)."""
        recent = incidents[pd.to_datetime(incidents["onset"]) >= since]
        if recent.empty:
            return None
        start = pd.to_datetime(recent["onset"]).min() - USUAL_HISTORY
        return self.store.breakdown(sorted(set(recent["product"].astype(str))), start,
                                    self.bucket)

    def _retain(self, incidents: pd.DataFrame, until: pd.Timestamp) -> None:
        """Have the stream keep the buckets of every event that may still have a message
        (with a margin for incidents not raised yet that may join one)."""
        stream = self.stream
        assert stream is not None and stream.first is not None
        if incidents.empty or self.notifier is None or not self.notifier.routes:
            stream.retain_from = None
            return
        margin = (pd.Timedelta(days=1) + pd.Timedelta(self.config.onset_search) + CONTEXT
                  + PENDING_QUIET + pd.Timedelta(self.config.event_window))
        keep = active_chains(incidents, self.bucket, self.config.merge_gap,
                             self.config.event_window, until - margin,
                             gaps=merge_gaps(self.config, incidents["product"].unique()))
        if not keep.any():
            stream.retain_from = None
            return
        oldest = pd.to_datetime(incidents.loc[keep, "onset"]).min() - CONTEXT
        stream.retain_from = max(int((oldest - stream.first) / self.bucket), 0)

    def status(self) -> pd.DataFrame | None:
        """Each product's state at its latest closed bucket (worst first), or None."""
        if self.latest is None:
            self.detect()
        if self.config.mode != "causal":
            return None if self.analysis is None else product_status(self.analysis)
        if self.stream is None or self.stream.first is None:
            return None
        with self._detect_lock:
            return self.stream.status()
