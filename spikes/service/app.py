"""The HTTP service: FastAPI app factory over the store and the live detector.

Routers by resource: ``/v1/reports`` (POST: JSON batches or ``text/csv``), ``/v1/incidents``,
``/v1/events``, ``/v1/status``, ``/v1/flush``, ``/v1/notifications`` (the outbox and its
delivery log), and the operational ``/healthz`` and ``/metrics``. Every ``/v1`` call needs
``Authorization: Bearer <token>`` when the app has a token (compared with
:func:`hmac.compare_digest`, never logged). Bodies over ``max_body`` bytes get 413. The
handlers call the store and :mod:`spikes.service.live`; they hold no detection logic.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import TypeAdapter, ValidationError

from spikes.alerts.notifier import RETENTION, Notifier
from spikes.alerts.outbox import Outbox
from spikes.alerts.routing import Route
from spikes.config import DetectionConfig
from spikes.detect.known_events import Calendar
from spikes.detect.live_thresholds import CALIBRATION_HISTORY
from spikes.errors import SpikesInputError
from spikes.evaluation.lead import OfficialFeed
from spikes.io.buckets import parse_bucket
from spikes.service import docs
from spikes.service.live import Clock, LiveDetector
from spikes.service.live_api import live_router
from spikes.service.messages import (
    CSV_BODY_NAME,
    add_query_error_handler,
    csv_body_message,
    unknown_query_message,
)
from spikes.service.models import (
    BATCH,
    BATCH_ID,
    MAX_BATCH_ID,
    MAX_NAME,
    NAME,
    PRINTABLE_MESSAGE,
    Accepted,
    batch_table,
)
from spikes.service.store import Store, batch_from_raw

__all__ = ["DEFAULT_MAX_BODY", "create_app"]

DEFAULT_MAX_BODY = 10 * 1024 * 1024
"""Largest request body, in bytes (10 MB)."""

_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


class _BodyTooLarge(Exception):
    pass


class _MaxBody:
    """ASGI middleware: 413 for bodies over `limit` bytes (declared or streamed)."""

    def __init__(self, app: Callable[..., Awaitable[None]], limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(self.limit)(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        async def watched(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _BodyTooLarge:
            if not started:
                await _too_large(self.limit)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": f"request body over {limit} bytes"}, status_code=413)


def create_app(store_path: str | Path = "spikes.duckdb", token: str | None = None,
               bucket: str | pd.Timedelta = "5min", clock: Clock = "wall",
               lateness: str | pd.Timedelta | None = None,
               max_body: int = DEFAULT_MAX_BODY, config: DetectionConfig | None = None,
               notify: Sequence[Route] = (),
               status_feed: OfficialFeed | None = None,
               calendar: Calendar | None = None,
               replay: Callable[[LiveDetector], Any] | None = None,
               outbox_retention: pd.Timedelta | None = RETENTION) -> FastAPI:
    """The service's ASGI app.

    Parameters
    ----------
    store_path : str or Path
        The DuckDB file (opened when the app starts, closed when it stops).
    token : str, optional
        Bearer token of every ``/v1`` call; None: no auth (bind to 127.0.0.1 only).
    bucket : str or pd.Timedelta
        Bucket size.
    clock : {"wall", "data"}
        How buckets close (see :class:`~spikes.service.live.LiveDetector`).
    lateness : str or pd.Timedelta, optional
        How long a bucket stays open after its end (default: one bucket).
    max_body : int
        Largest request body in bytes; larger ones get 413.
    status_feed : OfficialFeed, optional
        Vendors' official incidents, for ``official_at`` and ``lead_minutes`` of the
        incidents (see :class:`~spikes.service.live.LiveDetector`).
    calendar : Calendar, optional
        Known-event windows (see :class:`~spikes.service.live.LiveDetector`).
    replay : callable, optional
        Builds a replay of a file into the detector (``spikes serve --demo``: a
        :class:`~spikes.service.demo.DemoReplay`), begun once the app has started.
    config : DetectionConfig, optional
        Detection settings (the defaults when None).
    notify : sequence of Route
        Where the messages of events go (:mod:`spikes.alerts`); their outbox is kept
        in the store's file and ``GET /v1/notifications`` lists it.
    outbox_retention : pd.Timedelta or None
        How long the outbox keeps what was delivered (None: for ever; see
        :meth:`spikes.alerts.outbox.Outbox.prune`).

    Returns
    -------
    FastAPI
    """
    size = parse_bucket(bucket)
    late_by = size if lateness is None else pd.Timedelta(lateness)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(store_path)
        notifier = _notifier(store, notify, clock, outbox_retention)
        live = LiveDetector(store, bucket=size, clock=clock, lateness=late_by, config=config,
                            notifier=notifier, status_feed=status_feed, calendar=calendar)
        app.state.store, app.state.live = store, live
        store.set_bucket(size)
        if notifier is not None:
            notifier.start()
        live.start()
        app.state.replay = replay(live) if replay is not None else None
        if app.state.replay is not None:
            app.state.replay.begin()
        try:
            yield
        finally:
            if app.state.replay is not None:
                app.state.replay.stop()
            live.stop()
            if notifier is not None:
                notifier.stop()
                notifier.outbox.close()
            store.close()

    # The schema and its pages are the app's own routes (spikes.service.docs), so that
    # an unknown query parameter gets 422 there too.
    app = FastAPI(title="spikes", summary="Crowd-report outage detection, live",
                  lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.token = token

    def authorized(request: Request,
                   credentials: Credentials) -> None:
        expected = request.app.state.token
        if expected is None:
            return
        given = credentials.credentials if credentials is not None else ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(401, "missing or wrong bearer token",
                                headers={"WWW-Authenticate": "Bearer"})

    v1 = [Depends(authorized), Depends(_known_parameters)]
    for router in (_reports_router(), _results_router(), live_router(),
                   _notifications_router()):
        app.include_router(router, prefix="/v1", dependencies=v1)
    app.include_router(_ops_router(), dependencies=[Depends(_known_parameters)])
    app.include_router(docs.router(app), dependencies=[Depends(_known_parameters)])
    add_query_error_handler(app)
    app.add_middleware(_MaxBody, limit=max_body)
    return app


def _known_parameters(request: Request) -> None:
    """Refuse query parameters the endpoint does not take (422, naming those it takes):
    ``/v1/status?product=Slack`` answered every product, as if the filter had been
    applied. Every endpoint of the app (``/healthz`` and ``/metrics`` too)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known: set[str] = set()
    todo = [dependant]
    while todo:  # the endpoint's parameters and those of its dependencies
        current = todo.pop()
        known.update(p.alias for p in current.query_params)
        todo.extend(current.dependencies)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise HTTPException(422, unknown_query_message(unknown, sorted(known)))


def live_of(request: Request) -> LiveDetector:
    """The app's live detector (a dependency)."""
    return request.app.state.live


Live = Annotated[LiveDetector, Depends(live_of)]


def _reports_router() -> APIRouter:
    router = APIRouter(tags=["reports"])

    @router.post("/reports", response_model=Accepted, openapi_extra={"requestBody": {
        "content": {"application/json": {"schema": BATCH.json_schema()},
                    "text/csv": {"schema": {"type": "string"}}}, "required": True}})
    async def post_reports(request: Request, live: Live,
                           batch_id: str | None = None) -> Accepted:
        """Append a batch of reports: JSON (see the schema) or ``text/csv`` in any shape
        that ``spikes analyze`` reads (batch id from ``?batch_id=``, else the body's hash).
        Answers once the batch is committed, naming the key it is known by (``batch_id``,
        null for a body that is new every time); a bad batch stores nothing (422)."""
        body = await request.body()
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in ("application/json", "text/csv", "application/csv", ""):
            live.counters.refused()
            raise HTTPException(415, f"a batch is application/json or text/csv, not "
                                     f"{kind!r}")
        return await _in_thread(_accept, live, body, kind, batch_id)

    return router


def _results_router() -> APIRouter:
    router = APIRouter(tags=["results"])

    @router.get("/incidents")
    def get_incidents(live: Live,
                      since: Annotated[datetime | None, Query(description="raised at or after")]
                      = None,
                      product: str | None = None, open: bool = False) -> list[dict[str, Any]]:
        """The incidents of the latest detection, by onset."""
        table = live.store.table("incidents")
        if table is None or table.empty:
            return []
        if since is not None:
            table = table[table["alerted_at"] >= pd.Timestamp(since).tz_localize("UTC")
                          if since.tzinfo is None else table["alerted_at"] >= since]
        if product is not None:
            table = table[table["product"] == product]
        if open:
            table = table[table["ongoing"].astype(bool)]
        return _records(table)

    @router.get("/events")
    def get_events(live: Live) -> list[dict[str, Any]]:
        """The events (incidents grouped across products) of the latest detection."""
        table = live.store.table("events")
        return [] if table is None else _records(table)

    @router.get("/status")
    def get_status(live: Live) -> list[dict[str, Any]]:
        """Each product's state at its latest closed bucket, worst first."""
        table = live.status()
        return [] if table is None else _records(table)

    @router.post("/flush")
    def flush(live: Live) -> dict[str, Any]:
        """Close every bucket up to the newest report's (on the wall clock, only those
        whose end has passed) and detect now."""
        try:
            analysis = live.flush()
        except Exception as exc:
            live.counters.failing = f"{type(exc).__name__}: {exc}"[:500]
            raise HTTPException(503, f"detection failed: {exc}") from None
        closed = live.store.closed_end
        return {"closed_until": None if closed is None else closed.isoformat(),
                "incidents": 0 if analysis is None else len(analysis.incidents)}

    return router


def _accept(live: LiveDetector, body: bytes, content_type: str,
            batch_id: str | None) -> Accepted:
    """Validate a posted body and append it (in a worker thread: validation is CPU work
    that must not hold up the event loop); 422 for a bad batch, nothing of it stored."""
    try:
        if batch_id is not None:
            _check_name(batch_id, "batch_id", BATCH_ID, MAX_BATCH_ID)
        if content_type in ("text/csv", "application/csv"):
            frame, rows_kind = _csv_frame(body)
            key = batch_id or _digest(body)
        else:
            # A byte-order mark (some Windows tools write one) is no JSON.
            batch = BATCH.validate_json(body.removeprefix(b"\xef\xbb\xbf"))
            if live.clock == "data":
                undated = [i for i, r in enumerate(batch["reports"]) if not r.get("timestamp")]
                if undated:
                    raise SpikesInputError(
                        f"report {undated[0]} has no timestamp ({len(undated)} in all): on "
                        "the data clock (--clock data) the reports' own times are the "
                        "clock, and the server's time would move it")
            frame, rows_kind = batch_table(batch), batch.get("kind", "events")
            key = batch.get("batch_id") or batch_id or _json_key(batch, body)
        if live.clock == "wall":
            _check_in_time(frame)
        else:
            _check_data_span(frame, live)
    except ValidationError as exc:
        live.counters.refused()
        raise HTTPException(422, _row_errors(exc)) from None
    except SpikesInputError as exc:
        live.counters.refused()
        raise HTTPException(422, str(exc)) from None
    try:
        # A body without a key is new every time: a batch id of its own.
        result = live.ingest(frame, key or f"received:{uuid.uuid4().hex}", rows_kind)
    except SpikesInputError as exc:  # the store cannot be written (a full disk)
        live.counters.store_failed(str(exc))
        raise HTTPException(503, f"{exc}; nothing of the batch was stored: send it again "
                                 "once the store can be written") from None
    return Accepted(accepted=result.accepted, duplicates=result.duplicates, late=result.late,
                    batch_id=key)


def _json_key(batch: Mapping[str, Any], body: bytes) -> str | None:
    """The batch id of a JSON body without one; None where it has none.

    The body's hash for reports that all carry their own times, two or more of them or
    counts (``"kind": "counts"``: a relay's or an export's batch, which a retry sends
    again byte for byte). A body of one report event is one user's report: at an
    outage's peak many users send the same body in the same second, and reports stamped
    on arrival are new however alike their bodies; those are new every time (a client
    makes its retries safe with a ``batch_id`` or report ``id``)."""
    reports = batch["reports"]
    relayed = len(reports) > 1 or batch.get("kind") == "counts"
    if relayed and all(r.get("timestamp") for r in reports):
        return _digest(body)
    return None


def _notifier(store: Store, routes: Sequence[Route], clock: Clock = "wall",
              retention: pd.Timedelta | None = RETENTION) -> Notifier | None:
    """The notifier of `routes`, its outbox in the store's file; None without routes.

    Notifications first turned on over a store with history do not page its past: the
    outbox's horizon is then the end of the history (:func:`_history_end`); a route first
    seen over a store with history (added to the settings, or renamed) gets that horizon
    of its own. The serving notifier retries failed messages for as long as it runs, and
    prunes what was delivered more than `retention` ago, in the outbox's own thread (the
    detection thread, and what waits for a detection, does not wait for the prune:
    :meth:`spikes.alerts.outbox.Outbox.start_prune`)."""
    if not routes:
        return None
    outbox = Outbox(store.path)
    end = _history_end(store, clock)
    if outbox.created and end is not None:
        outbox.set_horizon(end)
    for route in routes:  # a route added (or renamed) later does not page the past either
        outbox.add_route(route.key, end)
    return Notifier(outbox, routes, retry_failed=True, retention=retention,
                    prune_in_background=True)


def _history_end(store: Store, clock: Clock = "wall") -> pd.Timestamp | None:
    """The end of the history a store holds: its closed time, else (a store filled by
    ``spikes ingest``, which closes no bucket) its newest report's time, on the wall clock
    no later than now (a report stamped ahead must not silence the next hour); None for
    an empty store."""
    if store.closed_end is not None:
        return store.closed_end
    newest = store.watermark
    if newest is not None and clock == "wall":
        newest = min(newest, pd.Timestamp.now(tz="UTC"))
    return newest


def _notifications_router() -> APIRouter:
    router = APIRouter(tags=["notifications"])

    @router.get("/notifications")
    def get_notifications(live: Live) -> dict[str, Any]:
        """The routes configured now (each with ``route``, ``products``,
        ``min_severity``, ``known_events`` and ``tz``, the zone of the times of its Slack,
        e-mail and apprise texts: ``"UTC"`` by default) and, of those routes only, the
        counts by status, every message the outbox holds with its status and every
        delivery attempt it holds (time, ok, error): the retention
        (``--outbox-retention``) prunes what was delivered long ago, never a message not
        delivered nor its attempts."""
        if live.notifier is None:
            return {"routes": [], "counts": {}, "messages": [], "log": []}
        return live.notifier.summary()

    return router


def _ops_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    def healthz(live: Live) -> dict[str, str]:
        """Liveness: the process answers; ``detection`` says whether the latest detection
        run failed, and why (the process is alive, but the alerts are stale); ``store``
        whether the latest batch could not be written (a full disk); ``reports`` whether
        reports arrive: on the wall clock, ``silent`` once no report has been stored for
        :data:`SILENT_AFTER` (a collector that died: detection has nothing new to judge,
        and the statuses stay those of the last report); ``outbox_prune`` whether the
        latest prune of the alerts' outbox failed (it runs at most hourly: failing,
        the outbox grows; what is enqueued is still sent)."""
        failing, writing = live.counters.failing, live.counters.store_failing
        pruning = live.notifier.prune_failing if live.notifier is not None else ""
        return {"status": "ok", "detection": f"failing: {failing}" if failing else "ok",
                "store": f"failing: {writing}" if writing else "ok",
                "reports": _reports_health(live),
                "outbox_prune": f"failing: {pruning}" if pruning else "ok"}

    @router.get("/metrics", response_class=PlainTextResponse)
    def metrics(live: Live) -> str:
        """Prometheus text exposition."""
        c = live.counters
        incidents = live.store.table("incidents")
        open_now = 0 if incidents is None else int(incidents["ongoing"].astype(bool).sum())
        closed = live.store.closed_end
        received = live.store.last_received
        lines = [
            ("spikes_reports_accepted_total", "counter", "Reports stored.", c.accepted),
            ("spikes_reports_duplicate_total", "counter", "Reports not stored again.",
             c.duplicates),
            ("spikes_reports_late_total", "counter", "Reports for closed buckets.", c.late),
            ("spikes_batches_rejected_total", "counter",
             "Batches of reports refused (422: a bad batch; 415: neither JSON nor CSV; "
             "bodies over --max-body (413) and requests without the token (401) are "
             "refused before they are read as batches).", c.rejected),
            ("spikes_open_incidents", "gauge", "Incidents going on.", open_now),
            ("spikes_detection_runs_total", "counter", "Detection runs.", c.detections),
            ("spikes_detection_seconds", "gauge", "Duration of the latest detection.",
             c.detection_seconds),
            ("spikes_detection_seconds_total", "counter", "Time spent detecting.",
             c.detection_seconds_total),
            ("spikes_detection_failures_total", "counter", "Detection runs that failed.",
             c.detection_failures),
            ("spikes_store_failures_total", "counter",
             "Batches the store could not write (503: a full disk; nothing stored).",
             c.store_failures),
            ("spikes_outbox_prune_failures_total", "counter",
             "Prunes of the alerts' outbox that failed (each logged; the next an hour "
             "later).", 0 if live.notifier is None else live.notifier.prune_failures),
            ("spikes_closed_until_seconds", "gauge", "End of the closed buckets (Unix time).",
             0 if closed is None else closed.timestamp()),
            ("spikes_last_report_received_seconds", "gauge",
             "When the newest batch that stored a report arrived (Unix time; 0: none yet).",
             0 if received is None else received.timestamp()),
        ]
        return "".join(f"# HELP {name} {text}\n# TYPE {name} {kind}\n{name} {value}\n"
                       for name, kind, text, value in lines)

    return router


#: Time without a report stored after which ``/healthz`` calls the reports ``silent`` on
#: the wall clock: a crowd-report feed of any size brings reports every hour; for a quieter
#: one, alert on ``spikes_last_report_received_seconds`` with a threshold of its own.
SILENT_AFTER = pd.Timedelta(hours=1)


def _reports_health(live: LiveDetector, now: pd.Timestamp | None = None) -> str:
    """``ok``, or ``silent: ...`` (see ``healthz``); ``ok`` on the data clock, whose time
    is the reports' own, and before any report."""
    received = live.store.last_received
    if live.clock != "wall" or received is None:
        return "ok"
    quiet = (now or pd.Timestamp.now(tz="UTC")) - received
    if quiet < SILENT_AFTER:
        return "ok"
    minutes = int(quiet / pd.Timedelta("1min"))
    return (f"silent: no report stored for {minutes // 60} h {minutes % 60:02d} min (since "
            f"{received:%Y-%m-%d %H:%M} UTC); detection has nothing new to judge, and the "
            "statuses are those of the last reports")


async def _in_thread(func: Callable[..., Any], *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(func, *args)


def _digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


#: How far past the server's time a report's timestamp may lie on the wall clock (clients'
#: clocks run a little ahead; a report days ahead is a wrong clock or a wrong year).
FUTURE_SKEW = pd.Timedelta(hours=1)


#: How far before the server's time a report's timestamp may lie on the wall clock: the
#: reach of the live detection's history (its threshold calibration). An older report is
#: a wrong clock (a time of 0 is 1970); history goes in with ``spikes ingest``.
PAST_REACH = CALIBRATION_HISTORY


#: Shortest gap in the reports' times that the data clock refuses when it would be most
#: of their span (a replay may pause, a clock mistyped by a year must not move it).
DATA_GAP = pd.Timedelta(days=7)


def _check_in_time(frame: pd.DataFrame | pa.Table) -> None:
    """Refuse a batch with a report stamped more than :data:`FUTURE_SKEW` after now (a
    client's clock ahead: it would close the buckets of now) or more than
    :data:`PAST_REACH` before it (a wrong clock, a time of 0: on a fresh store one such
    report made the service grid every bucket since then)."""
    now = pd.Timestamp.now(tz="UTC")
    low, high = now - PAST_REACH, now + FUTURE_SKEW
    if isinstance(frame, pa.Table):  # the bounds first (one pass in Arrow, per batch)
        bounds = pc.min_max(frame.column("timestamp")).as_py()
        if bounds["min"] is None or (pd.Timestamp(bounds["min"], tz="UTC") >= low
                                     and pd.Timestamp(bounds["max"], tz="UTC") <= high):
            return
        stamps = pd.to_datetime(pd.Series(frame.column("timestamp").to_pylist()), utc=True)
    else:
        stamps = pd.to_datetime(frame["timestamp"], utc=True)
    ahead = (f"more than {FUTURE_SKEW / pd.Timedelta(minutes=1):g} minutes after the "
             f"server's time", "a client clock ahead, or a wrong date?")
    behind = (f"more than {PAST_REACH.days} days before the server's time",
              "a client clock wrong, a time of 0? (load older history with spikes ingest)")
    for outside, (what, hint) in ((stamps > high, ahead), (stamps < low, behind)):
        rows = np.flatnonzero(outside.to_numpy())
        if len(rows):
            raise SpikesInputError(
                f"report {int(rows[0])} is stamped {stamps.iloc[rows[0]].isoformat()}, "
                f"{what} ({len(rows)} in all): {hint}")


def _check_data_span(frame: pd.DataFrame | pa.Table, live: LiveDetector) -> None:
    """On the data clock the reports' times are the clock: a year mistyped in one report
    would close every bucket up to it, and every report after it would come back late.
    Refuse a batch that leaves a gap, with the store's data (taken as held throughout its
    span), longer than :data:`DATA_GAP` and than nine tenths of the whole span (the data
    mostly one gap, as ``spikes ingest`` refuses a stray timestamp), or longer than
    :data:`PAST_REACH` (beyond the detection's history)."""
    if isinstance(frame, pa.Table):
        stamps = pd.DatetimeIndex(frame.column("timestamp").to_numpy()).tz_localize("UTC")
    else:
        stamps = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], utc=True))
    if len(stamps) == 0:
        return
    # Microseconds (a mistyped year 2999 does not fit nanoseconds).
    starts = stamps.as_unit("us").asi8
    ends = starts
    held = live.store.span()
    if held is not None:  # the store's span as one block: no gap inside it
        low, high = (t.as_unit("us").asm8.view(np.int64) for t in held)
        starts, ends = np.append(starts, low), np.append(ends, high)
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], np.maximum.accumulate(ends[order])
    gaps = starts[1:] - ends[:-1]
    if len(gaps) == 0:
        return
    k = int(np.argmax(gaps))
    # numpy's microseconds: pandas 2 would make nanoseconds of them (year 2999 overflows).
    gap = pd.Timedelta(np.timedelta64(int(gaps[k]), "us"))
    whole = pd.Timedelta(np.timedelta64(int(ends[-1] - starts[0]), "us"))
    if (gap > DATA_GAP and gap > 0.9 * whole) or gap > PAST_REACH:
        before, after = (pd.Timestamp(np.datetime64(int(t), "us")).tz_localize("UTC")
                         for t in (ends[k], starts[k + 1]))
        where = "beside the store's data" if held is not None else "within it"
        ahead = held is None or before >= held[1]
        harm = ("on the data clock it would close every bucket up to its latest report"
                if ahead else "the store's reports would span mostly nothing (its readers "
                "grid every bucket; older history goes in with spikes ingest)")
        stray = ""
        stored = live.store.count_reports() if held is not None else 0
        if 0 < stored < len(stamps):
            # The store's own few reports may be the stray ones (a year mistyped in its
            # first batch): no later batch can then be taken; say so.
            stray = (f"; the store's own {stored} report(s) span only {held[0].isoformat()} "
                     f"to {held[1].isoformat()}: if they are the stray ones, start a new "
                     "store")
        raise SpikesInputError(
            f"the batch leaves nothing between {before.isoformat()} and "
            f"{after.isoformat()} ({gap.days} days) {where}: {harm}; check for a stray "
            f"timestamp (a year mistyped){stray}")


def _check_name(value: str, what: str, adapter: TypeAdapter[str], longest: int) -> None:
    """A name checked by the type of the JSON batches' (`adapter`: :data:`NAME` or
    :data:`BATCH_ID`), its error in words."""
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        kind = exc.errors(include_url=False)[0]["type"]
        if kind == "string_pattern_mismatch":
            raise SpikesInputError(f"{what} {PRINTABLE_MESSAGE}") from None
        raise SpikesInputError(f"{what} must be 1 to {longest} characters, got "
                               f"{len(value)}") from None


def _row_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as ``{"row", "field", "message"}`` (row: index in ``reports``)."""
    out = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = list(error["loc"])
        row = loc[1] if len(loc) > 1 and loc[0] == "reports" and isinstance(loc[1], int) else None
        field = ".".join(str(p) for p in (loc[2:] if row is not None else loc)) or None
        message = (PRINTABLE_MESSAGE if error["type"] == "string_pattern_mismatch"
                   else error["msg"])
        out.append({"row": row, "field": field, "message": message})
    return out


def _csv_frame(body: bytes) -> tuple[pd.DataFrame, str]:
    """A ``text/csv`` body as a batch table and its kind (report events or counts per
    bucket, as the reader tells from its header); any rejected row refuses the batch."""
    from spikes.io.reading import read_reports

    upload = io.BytesIO(body)
    upload.name = CSV_BODY_NAME
    try:
        raw = read_reports(upload)
    except SpikesInputError as exc:  # its advice names the command line's flags
        raise SpikesInputError(csv_body_message(str(exc))) from None
    header = body.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].lower()
    if set(raw.table["product"].astype(str)) == {"body"} and b"body" not in header:
        # One series (a timestamp and a count): a file's product is its name's stem,
        # and a body has none; it was stored as the product "body".
        raise SpikesInputError("the CSV body has no product column (one series: timestamp "
                               "and count); add a product column, e.g. "
                               "timestamp,product,reports")
    if len(raw.rejected):
        first = raw.rejected.iloc[0]
        raise SpikesInputError(csv_body_message(
            f"{len(raw.rejected)} bad row(s); first: line {first['line']}, column "
            f"{first['column']!r}: {first['reason']}"))
    # The reader names ignored columns with their file ("'body.csv': id").
    ids = [name for name in (c.rsplit(": ", 1)[-1] for c in raw.ignored)
           if name.strip().lower() in ("id", "report_id", "reportid")]
    if ids:
        raise SpikesInputError(f"column {ids[0]!r}: a CSV body carries no report ids (each "
                               "batch is one by its batch_id); send JSON with an id per "
                               "report to make reports idempotent one by one")
    table = raw.table
    for column in ("product", "region", "category"):
        names = pd.Series(table[column].dropna().unique()).astype(str)
        for name in names:
            try:
                _check_name(name, f"{column} {name[:40]!r}", NAME, MAX_NAME)
            except SpikesInputError as exc:
                rows = np.flatnonzero((table[column].astype(str) == name).to_numpy())
                raise SpikesInputError(f"data row {int(rows[0]) + 1}: {exc}") from None
    return batch_from_raw(table), raw.kind


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(table.to_json(orient="records", date_format="iso", date_unit="s"))
