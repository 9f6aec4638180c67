"""The live service's streaming detection: after every batch, what the service detected
equals :func:`spikes.detect.pipeline.analyze` on the closed buckets so far (the same
prefix), with products appearing later, missing count rows and rebuilds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.detect.pipeline import analyze
from spikes.evaluation.simulate import simulate
from spikes.service.live import LiveDetector
from spikes.service.snapshot import store_data
from spikes.service.store import Store

BUCKET = pd.Timedelta("5min")


@pytest.fixture(scope="module")
def reports() -> pd.DataFrame:
    """Long counts of 4 products over 3 days with outages; product P3 starts on day 2
    and a tenth of the rows are dropped (missing count rows)."""
    sim = simulate(products=4, days=3, seed=1, outage_rate_per_week=5.0)
    frame = sim.reports.sort_values("timestamp", kind="stable").reset_index(drop=True)
    late_product = sorted(frame["product"].unique())[-1]
    start = frame["timestamp"].min() + pd.Timedelta(days=1, hours=7)
    frame = frame[(frame["product"] != late_product) | (frame["timestamp"] >= start)]
    rng = np.random.default_rng(3)
    return frame[rng.random(len(frame)) > 0.1].reset_index(drop=True)


def _batch(part: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"product": part["product"].astype(str).to_numpy(),
                         "timestamp": pd.to_datetime(part["timestamp"], utc=True).to_numpy(),
                         "count": part["reports"].astype(float).to_numpy(),
                         "region": None, "category": None, "report_id": None})


def _replay(tmp_path, reports: pd.DataFrame, kind: str, hours: int) -> tuple[int, int]:
    """Ingest `reports` `hours` at a time; after each batch compare the service's
    detection with analyze on the store's closed buckets. Returns (detections with
    incidents, rebuilds)."""
    store = Store(tmp_path / f"{kind}.duckdb")
    try:
        live = LiveDetector(store, bucket=BUCKET, clock="data")
        stamps = pd.to_datetime(reports["timestamp"], utc=True)
        cuts = pd.date_range(stamps.min().floor("h"), stamps.max() + pd.Timedelta(hours=hours),
                             freq=f"{hours}h")
        compared = 0
        for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
            part = reports[((stamps >= lo) & (stamps < hi)).to_numpy()]
            if part.empty:
                continue
            live.ingest(_batch(part), f"b{lo.isoformat()}", kind=kind)
            got = live.detect()
            data = store_data(store.closed_reports(), BUCKET, store.path)
            if data is None:
                assert got is None
                continue
            expected = analyze(data, live.config)
            assert got is not None
            pd.testing.assert_frame_equal(got.incidents, expected.incidents,
                                          check_dtype=False)
            pd.testing.assert_frame_equal(got.events, expected.events, check_dtype=False)
            status = live.status()
            from spikes.detect.pipeline import product_status
            pd.testing.assert_frame_equal(status, product_status(expected),
                                          check_dtype=False)
            compared += bool(len(expected.incidents))
        stored = store.table("incidents")
        assert stored is not None and len(stored) == len(got.incidents)
        return compared, live.rebuilds
    finally:
        store.close()


def test_count_data_detection_after_each_batch_equals_analyze_on_the_prefix(tmp_path,
                                                                           reports):
    compared, rebuilds = _replay(tmp_path, reports, "counts", hours=2)
    assert compared >= 10  # many detections with incidents were compared
    # A count product appearing later is missing before: the stream follows it.
    assert rebuilds == 1


def test_report_events_product_appearing_later_joins_the_stream(tmp_path, reports):
    compared, rebuilds = _replay(tmp_path, reports, "events", hours=3)
    assert compared >= 5
    # The first detection builds the stream; the product appearing on day 2 has no data
    # before its first report, in the batch grid as in the stream, which follows it (it
    # was rebuilt for it, when the batch grid gave it zeros from the grid's start).
    assert rebuilds == 1


def test_notifications_from_the_stream_window_equal_the_library_messages(tmp_path, reports):
    from spikes.alerts.notifier import Notifier
    from spikes.alerts.outbox import Outbox
    from spikes.alerts.routing import Route
    from spikes.alerts.timeline import analysis_messages

    class Recording(Notifier):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.seen: dict[str, dict] = {}
            self.calls = 0

        def enqueue(self, messages, *args, **kwargs):
            self.calls += 1
            for message in messages:
                assert self.seen.setdefault(message["message_id"], message) == message
            return super().enqueue(messages, *args, **kwargs)

    store = Store(tmp_path / "n.duckdb")
    outbox = Outbox(tmp_path / "outbox.duckdb")
    try:
        notifier = Recording(outbox, [Route(url="http://127.0.0.1:9/hook", name="hook")])
        live = LiveDetector(store, bucket=BUCKET, clock="data", notifier=notifier)
        stamps = pd.to_datetime(reports["timestamp"], utc=True)
        cuts = pd.date_range(stamps.min().floor("h"), stamps.max() + pd.Timedelta(hours=1),
                             freq="1h")
        restart = cuts[len(cuts) // 2]
        windows = 0
        for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
            part = reports[((stamps >= lo) & (stamps < hi)).to_numpy()]
            if lo == restart:  # a restart: the stream is rebuilt from the store
                live = LiveDetector(store, bucket=BUCKET, clock="data", notifier=notifier)
            if not part.empty:
                live.ingest(_batch(part), f"b{lo.isoformat()}", kind="counts")
                live.detect()
                if live.stream is not None and live.stream.retain_from is not None:
                    windows += 1
        expected = analysis_messages(analyze(store_data(store.closed_reports(), BUCKET,
                                                        store.path)))
        assert len(expected) >= 6 and {m["state"] for m in expected} >= {"open", "resolved"}
        assert {m["message_id"]: m for m in expected} == notifier.seen
        assert notifier.calls > 30 and windows > 10  # most from the stream's window
        # The window held is bounded: a few days of buckets at most (3 days replayed).
        assert live.stream.window()[0].counts.shape[0] < 3 * 288
        assert set(outbox.messages()["message_id"]) == set(notifier.seen)
    finally:
        outbox.close()
        store.close()


def test_the_service_keeps_a_maintenance_window_out_as_analyze_does(tmp_path):
    from spikes.detect.known_events import Calendar
    from tests.conftest import diurnal_counts, with_outage

    day = 288
    counts = with_outage(diurnal_counts(days=4, products=2, seed=5), "p0",
                         2 * day + 180, 36, 4.0, seed=2)
    calendar = Calendar.from_records([("p0", counts.index[2 * day + 170],
                                       counts.index[2 * day + 230], "maintenance", "")])
    long = counts.stack().rename("reports").reset_index()
    long.columns = ["timestamp", "product", "reports"]
    store = Store(tmp_path / "calendar.duckdb")
    try:
        live = LiveDetector(store, bucket=BUCKET, clock="data", calendar=calendar)
        for i, (_, part) in enumerate(long.groupby(long["timestamp"].dt.floor("6h"))):
            live.ingest(_batch(part), f"b{i}", kind="counts")
            got = live.detect()
        live.flush()
        got = live.latest
        data = store_data(store.closed_reports(), BUCKET, store.path)
        expected = analyze(data, live.config, calendar=calendar)
        pd.testing.assert_frame_equal(got.incidents, expected.incidents, check_dtype=False)
        assert (got.incidents["known_event"] == "maintenance").sum() == 1
    finally:
        store.close()


def test_a_product_with_its_own_merge_gap_is_resolved_after_it_live_and_in_the_library(
        tmp_path) -> None:
    # p0's merge_gap is 3 hours (an override): two bursts 100 minutes apart are one
    # incident. Its "resolved" goes out once, 3 hours and 2 buckets after the second
    # burst's end, from the library and from the live service alike; with the global
    # gap (1 hour) the service said "resolved" between the bursts and the real one
    # later had the same message id, and the outbox dropped it. The reports name a
    # category, so each message's reason ends with what people report: the service
    # reads that breakdown only for the events it counts as active (``active_chains``),
    # so with the global gap there its late "resolved" lost that part of the reason.
    from spikes.alerts.notifier import Notifier
    from spikes.alerts.outbox import Outbox
    from spikes.alerts.routing import Route
    from spikes.alerts.timeline import analysis_messages
    from spikes.config import DetectionConfig
    from tests.conftest import diurnal_counts, with_outage

    start = 3 * 288 + 100
    counts = with_outage(diurnal_counts(days=4, products=1, seed=1), "p0", start, 12, 6.0)
    counts = with_outage(counts, "p0", start + 32, 12, 6.0)
    config = DetectionConfig(overrides={"p0": {"merge_gap": "3h"}})
    long = counts.stack().rename("reports").reset_index()
    long.columns = ["timestamp", "product", "reports"]
    store, outbox = Store(tmp_path / "g.duckdb"), Outbox(tmp_path / "outbox.duckdb")
    try:
        notifier = Notifier(outbox, [Route(url="http://127.0.0.1:9/hook", name="hook")])
        live = LiveDetector(store, bucket=BUCKET, clock="data", notifier=notifier,
                            config=config)
        stamps = pd.to_datetime(long["timestamp"], utc=True)
        # The three quiet days before the bursts' day in one batch (nothing to tell
        # there), then an hour at a time through the bursts and the hours after them.
        day = counts.index[3 * 288]
        hours = pd.date_range(day, stamps.max(), freq="1h")
        for lo, hi in zip([stamps.min(), *hours], [*hours, hours[-1] + pd.Timedelta("1h")],
                          strict=True):
            part = long[((stamps >= lo) & (stamps < hi)).to_numpy()]
            live.ingest(_batch(part).assign(category="Login"), f"b{lo.isoformat()}",
                        kind="counts")
            live.detect()
        analysis = analyze(store_data(store.closed_reports(breakdown=True), BUCKET,
                                      store.path), config)
        expected = analysis_messages(analysis)
        sent = outbox.messages()
        bodies = {m["message_id"]: m["body"] for m in outbox.due()}  # none delivered
    finally:
        outbox.close()
        store.close()
    incident = analysis.incidents.iloc[-1]
    assert incident["end"] >= counts.index[start + 32 + 11]  # the bursts are one incident
    resolved = [m for m in expected if m["state"] == "resolved"]
    assert len(resolved) == 1
    assert pd.Timestamp(resolved[0]["at"]) == incident["end"] + pd.Timedelta("3h10min")
    assert sorted(sent["message_id"]) == sorted(m["message_id"] for m in expected)
    assert (sent["state"] == "resolved").sum() == 1
    # Each message as the library words it, the resolved one's reason included.
    assert "top problem 'Login'" in resolved[0]["why"]
    assert bodies == {m["message_id"]: m for m in expected}


def test_a_failing_detection_leaves_the_thread_running_and_says_so(tmp_path, monkeypatch):
    # A detection that raised ended the detector's thread for good (the alerts went
    # stale while /healthz said ok): it is logged, counted, and the next run goes on.
    import time

    store = Store(tmp_path / "f.duckdb")
    live = LiveDetector(store, bucket=BUCKET, clock="data")
    calls = []
    real = live.detect

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("poisoned bucket")
        return real()

    monkeypatch.setattr(live, "detect", flaky)
    try:
        live.start()
        deadline = time.monotonic() + 10
        while not live.counters.failing and time.monotonic() < deadline:
            time.sleep(0.02)
        assert live.counters.failing == "RuntimeError: poisoned bucket"
        assert live.counters.detection_failures == 1
        live._wake.set()  # the next batch wakes it
        deadline = time.monotonic() + 10
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        while live.counters.failing and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(calls) >= 2 and live.counters.failing == ""
    finally:
        live.stop()
        store.close()


def test_the_service_has_the_stream_keep_an_incident_for_its_products_own_merge_gap(
        tmp_path) -> None:
    # The notifier reads the buckets of every event that may still have a message
    # through the stream's window; the service asks the stream to keep them
    # (StreamDetector.retain_from, set by LiveDetector._retain) until the incident is
    # over plus a margin for incidents that may still join its event, and over is the
    # end plus the product's own merge_gap (3 hours here; the global one is 1 hour).
    # With the global gap the request was withdrawn 2 hours early: a compaction of the
    # window in those hours (the stream drops rows in chunks, about every 10 hours of
    # 5-minute buckets; none falls in them here) forgets the buckets, and an incident
    # joining the event then takes the notifier the whole store's analysis (the
    # O(history) way) instead of the window. The messages are the same either way.
    from spikes.alerts.notifier import Notifier
    from spikes.alerts.outbox import Outbox
    from spikes.alerts.routing import Route
    from spikes.config import DetectionConfig
    from spikes.detect.causal import PENDING_QUIET
    from spikes.detect.incidents import CONTEXT
    from tests.conftest import diurnal_counts, with_outage

    counts = with_outage(diurnal_counts(days=4, products=1, seed=1), "p0", 2 * 288 + 100,
                         12, 6.0)
    config = DetectionConfig(overrides={"p0": {"merge_gap": "3h"}})
    long = counts.stack().rename("reports").reset_index()
    long.columns = ["timestamp", "product", "reports"]
    stamps = pd.to_datetime(long["timestamp"], utc=True)
    # The first day and a half in one batch, then an hour a batch.
    cuts = [stamps.min(), *pd.date_range(stamps.min() + pd.Timedelta(hours=36),
                                         stamps.max() + BUCKET, freq="1h")]
    store, outbox = Store(tmp_path / "r.duckdb"), Outbox(tmp_path / "outbox.duckdb")
    kept = []  # after each detection: its until, and the first bucket the stream must keep
    try:
        notifier = Notifier(outbox, [Route(url="http://127.0.0.1:9/hook", name="hook")])
        live = LiveDetector(store, bucket=BUCKET, clock="data", notifier=notifier,
                            config=config)
        for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
            part = long[((stamps >= lo) & (stamps < hi)).to_numpy()]
            live.ingest(_batch(part), f"b{lo.isoformat()}", kind="counts")
            got = live.detect()
            stream = live.stream
            if got is not None and stream.first is not None:
                kept.append((got.until, None if stream.retain_from is None
                             else stream.first + stream.retain_from * BUCKET))
        incidents = live.latest.incidents
    finally:
        outbox.close()
        store.close()
    assert len(incidents) == 1  # the outage's: no other incident asks for buckets
    onset, end = incidents["onset"].iloc[0], incidents["end"].iloc[0]
    margin = (pd.Timedelta(days=1) + pd.Timedelta(config.onset_search) + CONTEXT
              + PENDING_QUIET + pd.Timedelta(config.event_window))
    over_global = end + 2 * BUCKET + pd.Timedelta(config.merge_gap)
    over_own = end + 2 * BUCKET + pd.Timedelta("3h")
    # Over by the global gap (and the margin), not by p0's own: still kept, from the
    # context before the onset on.
    window = [first for until, first in kept if over_global <= until - margin < over_own]
    assert len(window) == 2 and window == [onset - CONTEXT] * 2
    # Over by p0's own gap: let go.
    later = [first for until, first in kept if until - margin >= over_own]
    assert len(later) >= 5 and set(later) == {None}
