"""Where the live dashboard reads: a store file, or a running service over HTTP.

``SPIKES_STORE=spikes.duckdb streamlit run app.py`` shows what a store holds;
``SPIKES_SERVICE=http://127.0.0.1:8000`` (with ``SPIKES_TOKEN`` when the service has one)
shows a running service. A running ``spikes serve`` holds its DuckDB file, and DuckDB lets
no other process open a file while one writes it, readers included: the dashboard of a
running service therefore reads it over the API (``GET /v1/info``, ``GET /v1/counts``),
and reads the file itself only while no service runs on it.

Both sources give the same two things: a cheap :meth:`LiveSource.version` that changes
when buckets close or reports arrive (the dashboard polls it every bucket), and
:meth:`LiveSource.data`, the closed buckets' counts as :class:`~spikes.model.ReportData`,
from which the dashboard computes baselines and incidents with the same causal detector
as the service. No Streamlit here: the page is :mod:`spikes.ui.live_view`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from spikes.errors import SpikesInputError
from spikes.model import ReportData
from spikes.service.snapshot import from_long_counts, store_data
from spikes.service.store import Store

__all__ = ["LiveSource", "ServiceSource", "StoreSource", "live_source_from_env",
           "on_fire"]

#: Shortest and longest pause between two polls of the live source, in seconds.
MIN_REFRESH, MAX_REFRESH = 1.0, 300.0


class LiveSource(Protocol):
    """A live source of report counts."""

    name: str

    def version(self) -> str:
        """Changes when buckets close or reports arrive."""

    def data(self) -> ReportData | None:
        """The closed buckets' counts, None while there is none."""

    def refresh_seconds(self) -> float:
        """How often the dashboard polls (one bucket of the source's clock)."""

    def describe(self) -> str:
        """One line about the source's clock, for the page."""


@dataclass
class StoreSource:
    """A store file that no running service holds (opened read-only for each read).

    Parameters
    ----------
    path : str or Path
        The DuckDB file.
    """

    path: str | Path

    @property
    def name(self) -> str:
        """The file's name."""
        return Path(self.path).name

    def _open(self) -> Store:
        return Store(self.path, read_only=True)

    def version(self) -> str:
        """The closed time, the newest report and the number of reports."""
        store = self._open()
        try:
            return "|".join(str(v) for v in store.counts_version())
        finally:
            store.close()

    def data(self) -> ReportData | None:
        """The closed buckets' on-time reports (all reports of a store no service has
        closed buckets in, such as one filled by ``spikes ingest``)."""
        store = self._open()
        try:
            bucket = store.bucket  # (None: a store of `spikes ingest`, its rows as stored)
            rows = (store.all_reports(breakdown=True, bucket=bucket)
                    if store.closed_end is None
                    else store.closed_reports(breakdown=True, bucket=bucket))
        finally:
            store.close()
        return store_data(rows, bucket, str(self.path))

    def refresh_seconds(self) -> float:
        """One bucket of the service that wrote the store (5 minutes when unknown)."""
        store = self._open()
        try:
            bucket = store.bucket or pd.Timedelta("5min")
        finally:
            store.close()
        return _bounded(bucket.total_seconds())

    def describe(self) -> str:
        """The closed time of the store."""
        store = self._open()
        try:
            closed, watermark, count = store.counts_version()
        finally:
            store.close()
        upto = ("no bucket closed" if closed is None
                else f"buckets closed up to {closed:%Y-%m-%d %H:%M} UTC")
        return f"store {self.path}: {count:,} reports, {upto}"


@dataclass
class ServiceSource:
    """A running ``spikes serve``, read over its API.

    Parameters
    ----------
    url : str
        Its base address, e.g. ``http://127.0.0.1:8000``.
    token : str, optional
        Its bearer token.
    timeout : float
        Seconds per request.
    """

    url: str
    token: str | None = None
    timeout: float = 30.0

    @property
    def name(self) -> str:
        """The service's address."""
        return self.url

    def _get(self, path: str) -> Any:
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            answer = httpx.get(self.url.rstrip("/") + path, headers=headers,
                               timeout=self.timeout)
        except httpx.InvalidURL as exc:
            raise SpikesInputError(f"SPIKES_SERVICE {self.url!r} is not a valid address "
                                   f"({exc})") from None
        except httpx.HTTPError as exc:
            raise SpikesInputError(f"cannot reach the service at {self.url} "
                                   f"(SPIKES_SERVICE): {exc}; is `spikes serve` running "
                                   "there?") from None
        if answer.status_code == 401:
            raise SpikesInputError(f"the service at {self.url} refused the token: set "
                                   "SPIKES_TOKEN to its bearer token")
        if answer.status_code != 200:
            raise SpikesInputError(f"the service at {self.url} answered {path} with "
                                   f"{answer.status_code}: {answer.text[:200]}")
        return answer

    def info(self) -> dict[str, Any]:
        """``GET /v1/info``."""
        return self._get("/v1/info").json()

    def version(self) -> str:
        """``version`` of ``GET /v1/info``."""
        return str(self.info()["version"])

    def data(self) -> ReportData | None:
        """``GET /v1/counts`` as :class:`ReportData`."""
        answer = self._get("/v1/counts")
        frame = pd.read_parquet(io.BytesIO(answer.content))
        bucket = pd.Timedelta(seconds=float(answer.headers["X-Spikes-Bucket-Seconds"]))
        return from_long_counts(frame, bucket, answer.headers.get("X-Spikes-Kind", "events"),
                                self.url)

    def refresh_seconds(self) -> float:
        """One bucket of the service's clock: of the replay's for ``--demo``."""
        info = self.info()
        demo = info.get("demo")
        seconds = demo["seconds_per_bucket"] if demo else info["bucket_seconds"]
        return _bounded(float(seconds))

    def describe(self) -> str:
        """The service's clock, and the replay's progress for ``--demo``."""
        info = self.info()
        closed = info.get("closed_until")
        text = (f"service {self.url} ({info['clock']} clock): {info['reports']:,} reports, "
                + ("no bucket closed" if closed is None else
                   f"buckets closed up to {pd.Timestamp(closed):%Y-%m-%d %H:%M} UTC"))
        demo = info.get("demo")
        if demo:
            text += (f"; demo replay of {demo['file']} at {demo['speed']:g} simulated min/s"
                     + (", finished" if demo["done"] else ""))
        return text


def _bounded(seconds: float) -> float:
    return min(max(seconds, MIN_REFRESH), MAX_REFRESH)


def live_source_from_env(environ: Mapping[str, str] | None = None) -> LiveSource | None:
    """The live source the environment names, or None for the file dashboard.

    ``SPIKES_SERVICE`` (a URL; ``SPIKES_TOKEN`` its token) wins over ``SPIKES_STORE`` (a
    DuckDB file).
    """
    environ = os.environ if environ is None else environ
    url = (environ.get("SPIKES_SERVICE") or "").strip()
    if url:
        if not url.startswith(("http://", "https://")):
            raise SpikesInputError(f"SPIKES_SERVICE must be an http(s) address such as "
                                   f"http://127.0.0.1:8000, got {url!r}")
        return ServiceSource(url, (environ.get("SPIKES_TOKEN") or "").strip() or None)
    path = (environ.get("SPIKES_STORE") or "").strip()
    return StoreSource(path) if path else None


def on_fire(status: pd.DataFrame) -> pd.DataFrame:
    """The products on fire now (outage, then recovering), from
    :func:`spikes.detect.pipeline.product_status`."""
    return status[status["status"].isin(("outage", "recovering"))].reset_index(drop=True)
