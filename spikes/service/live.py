"""Live detection over the store: closing buckets and running the causal detector.

A bucket ``[start, start + bucket)`` closes when a report at least ``lateness`` past its
end has arrived (the data clock), or, with the wall clock, also when the time of day
passes its end plus ``lateness``; :meth:`LiveDetector.flush` closes every bucket up to
the newest report's. Reports that arrive for a closed bucket are stored and counted as
late, and detection leaves them out (a live run never saw them in time).

When buckets close, the causal detector (:func:`spikes.detect.pipeline.analyze`, live
mode) runs over the store's closed buckets and its incidents and events replace the
stored ones. In v1 it re-runs over the whole closed history: exact, because incidents
raised before any time do not depend on later data (``tests/test_causal.py``), but the
work per closed bucket grows with the length of history. An incremental per-product
state (baseline slots, noise, calibration, CUSUM), stepped once per closed bucket, is the
next step.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.pipeline import Analysis, analyze, product_status
from spikes.evaluation.lead import OfficialFeed
from spikes.service.commit import GroupCommit
from spikes.service.snapshot import store_data
from spikes.service.store import AppendResult, Store

if TYPE_CHECKING:
    from spikes.alerts.notifier import Notifier

__all__ = ["Counters", "LiveDetector"]

_log = logging.getLogger(__name__)

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
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, result: AppendResult) -> None:
        """Count an appended batch."""
        with self.lock:
            self.accepted += result.accepted
            self.duplicates += result.duplicates
            self.late += result.late


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
    """

    def __init__(self, store: Store, *, bucket: pd.Timedelta, clock: Clock = "wall",
                 lateness: pd.Timedelta | None = None,
                 config: DetectionConfig | None = None,
                 status_feed: OfficialFeed | None = None,
                 notifier: Notifier | None = None) -> None:
        if clock not in ("wall", "data"):
            raise ValueError(f"clock must be 'wall' or 'data', got {clock!r}")
        self.store = store
        self.bucket = pd.Timedelta(bucket)
        self.clock = clock
        self.lateness = self.bucket if lateness is None else pd.Timedelta(lateness)
        self.config = config or DetectionConfig()
        self.status_feed = status_feed
        self.counters = Counters()
        self._commit = GroupCommit(store, self.bucket)
        self.notifier = notifier
        self.analysis: Analysis | None = None
        self._detect_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
                self.detect()

    # -- closing ------------------------------------------------------------------------
    def ingest(self, batch: pd.DataFrame, batch_id: str, kind: str = "events") -> AppendResult:
        """Append a batch (acknowledged after its commit, which batches arriving at the
        same time share: :class:`spikes.service.commit.GroupCommit`), then close buckets
        it ends.

        Parameters
        ----------
        batch : pd.DataFrame
            Columns :data:`spikes.service.store.BATCH_COLUMNS`.
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
            end = (watermark - self.lateness).floor(self.bucket)
            if self.store.close_until(end):
                self._wake.set()
        return result

    def close_by_wall_clock(self, now: pd.Timestamp | None = None) -> bool:
        """Close the buckets whose end plus the lateness has passed; whether any closed."""
        if self.store.watermark is None:
            return False
        now = now or pd.Timestamp.now(tz="UTC")
        return self.store.close_until((now - self.lateness).floor(self.bucket))

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

    def flush(self) -> Analysis | None:
        """Close every bucket up to the newest report's and detect now.

        Returns
        -------
        Analysis or None
            None while the store holds no report.
        """
        watermark = self.store.watermark
        if watermark is None:
            return None
        self.store.close_until(watermark.floor(self.bucket) + self.bucket)
        return self.detect()

    # -- detection ------------------------------------------------------------------------
    def detect(self) -> Analysis | None:
        """Run the causal detector over the closed buckets and store its results.

        Returns
        -------
        Analysis or None
            None while no bucket with a report is closed.
        """
        with self._detect_lock:
            started = time.perf_counter()
            data = store_data(self.store.closed_reports(breakdown=True), self.bucket,
                              self.store.path)
            if data is None:
                return None
            analysis = analyze(data, self.config)
            if self.status_feed is not None:
                as_of = (self.store.closed_end if self.clock == "data"
                         else pd.Timestamp.now(tz="UTC"))
                analysis = dataclasses.replace(analysis, incidents=self.status_feed.annotate(
                    analysis.incidents, as_of=as_of))
            self.store.save_results(analysis.incidents, analysis.events)
            self.analysis = analysis
            if self.notifier is not None:
                try:
                    self.notifier.observe(analysis)
                except Exception:  # detection goes on; the next one enqueues them again
                    _log.exception("spikes: could not enqueue the notifications")
            elapsed = time.perf_counter() - started
            with self.counters.lock:
                self.counters.detections += 1
                self.counters.detection_seconds = elapsed
                self.counters.detection_seconds_total += elapsed
            return analysis

    def status(self) -> pd.DataFrame | None:
        """Each product's state at its latest closed bucket (worst first), or None."""
        analysis = self.analysis or self.detect()
        return None if analysis is None else product_status(analysis)
