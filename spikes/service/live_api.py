"""The routes the live dashboard reads: ``GET /v1/info`` and ``GET /v1/counts``.

``/v1/info`` is cheap and changes when buckets close (the dashboard polls it every
bucket); ``/v1/counts`` sends the closed buckets' counts per product as Parquet, from
which the dashboard computes the same baselines and incidents as the service (the same
causal detector over the same closed buckets).
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response

from spikes.service.snapshot import long_counts, store_data

__all__ = ["PARQUET", "live_router"]

#: Media type of ``GET /v1/counts``.
PARQUET = "application/vnd.apache.parquet"


def live_router() -> APIRouter:
    """``/info`` and ``/counts`` (mounted under ``/v1`` with the bearer check)."""
    router = APIRouter(tags=["live dashboard"])

    @router.get("/info")
    def info(request: Request) -> dict[str, Any]:
        """The service's clock and store: bucket, closed time, newest report, reports
        stored, and the demo replay's progress when ``--demo`` runs. ``version`` changes
        whenever the closed buckets or the stored reports do."""
        live = request.app.state.live
        closed, watermark, count = live.store.counts_version()
        replay = getattr(request.app.state, "replay", None)
        demo = None if replay is None else {
            "file": replay.path.name, "speed": replay.speed, "clock": _iso(replay.clock),
            "seconds_per_bucket": replay.seconds_per_bucket, "done": replay.done,
            "error": replay.error}
        return {"bucket_seconds": live.bucket.total_seconds(), "clock": live.clock,
                "lateness_seconds": live.lateness.total_seconds(),
                "closed_until": _iso(closed), "watermark": _iso(watermark),
                "reports": count, "detections": live.counters.detections,
                "version": f"{_iso(closed)}|{_iso(watermark)}|{count}", "demo": demo}

    @router.get("/counts", response_class=Response,
                responses={200: {"content": {PARQUET: {}}}})
    def counts(request: Request) -> Response:
        """The closed buckets' on-time counts per product as Parquet (``timestamp``,
        ``product``, ``reports``; zeros of report events included, missing count rows
        left out). Headers ``X-Spikes-Kind`` (events or counts) and
        ``X-Spikes-Bucket-Seconds`` describe them."""
        live = request.app.state.live
        data = store_data(live.store.closed_reports(bucket=live.bucket), live.bucket,
                          live.store.path)
        frame = (pd.DataFrame({"timestamp": pd.Series(dtype="datetime64[us, UTC]"),
                               "product": pd.Series(dtype=object),
                               "reports": pd.Series(dtype=float)})
                 if data is None else long_counts(data))
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return Response(buffer.getvalue(), media_type=PARQUET, headers={
            "X-Spikes-Kind": "events" if data is None else data.kind,
            "X-Spikes-Bucket-Seconds": str(live.bucket.total_seconds())})

    return router


def _iso(value: pd.Timestamp | None) -> str | None:
    return None if value is None else value.isoformat()
