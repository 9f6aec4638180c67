"""The service's embedded store: one DuckDB file with reports, batches, incidents, events.

One :class:`Store` (one writer connection) per process; its methods hold a lock, so the
request threads of the service share it safely. A batch of reports goes in as one
pandas append inside one transaction (all or nothing) and :meth:`Store.append` returns
only after the commit, so an acknowledged report is durable. Times are kept as naive
UTC ``TIMESTAMP`` values and come back as UTC-aware pandas timestamps.

Tables
------
``reports``
    ``product, timestamp, count, region, category, report_id, batch_id, received_at,
    late, kind`` (one row per report; ``late`` when its bucket had already closed on
    arrival; ``kind`` ``events`` for report events, where a bucket without a row is a
    real zero, or ``counts`` for counts per bucket, where it is missing).
``batches``
    Accepted batch ids with their counts: a repeated batch id is not stored twice.
``report_ids``
    Report ids seen (primary key): a repeated report id is counted as a duplicate.
``incidents``, ``events``
    The latest detection's tables (columns of :data:`spikes.model.INCIDENT_COLUMNS` and
    :data:`spikes.detect.events.EVENT_COLUMNS`).
``meta``
    ``closed_end`` (buckets starting before it are closed) and ``watermark`` (the newest
    report's timestamp), so that a restarted service resumes where it stopped.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from spikes.errors import SpikesInputError

__all__ = ["BATCH_COLUMNS", "KINDS", "AppendResult", "Store", "batch_from_raw"]

#: Columns of a batch given to :meth:`Store.append`.
BATCH_COLUMNS = ["product", "timestamp", "count", "region", "category", "report_id"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    product VARCHAR NOT NULL, timestamp TIMESTAMP NOT NULL, count DOUBLE NOT NULL,
    region VARCHAR, category VARCHAR, report_id VARCHAR, batch_id VARCHAR NOT NULL,
    received_at TIMESTAMP NOT NULL, late BOOLEAN NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    batch_id VARCHAR PRIMARY KEY, received_at TIMESTAMP NOT NULL, accepted BIGINT NOT NULL,
    duplicates BIGINT NOT NULL, late BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS report_ids (report_id VARCHAR PRIMARY KEY);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL);
ALTER TABLE reports ADD COLUMN IF NOT EXISTS kind VARCHAR DEFAULT 'events';
"""

#: Kinds of stored reports (as :attr:`spikes.model.RawReports.kind`).
KINDS = ("events", "counts")


@dataclass(frozen=True)
class AppendResult:
    """What :meth:`Store.append` did with a batch.

    Attributes
    ----------
    accepted : int
        Reports stored.
    duplicates : int
        Reports not stored again: all of a repeated batch, or a repeated report id.
    late : int
        Stored reports whose bucket had already closed.
    """

    accepted: int
    duplicates: int
    late: int


class Store:
    """A DuckDB file holding the service's reports and results.

    Parameters
    ----------
    path : str or Path
        The database file, created if missing (``":memory:"`` for a throw-away store).
    read_only : bool
        Open an existing store for reading only (``spikes analyze --store``, the
        dashboard); the file must exist.

    Raises
    ------
    SpikesInputError
        When the file cannot be opened: it does not exist (read-only), or another process
        holds it. DuckDB lets one process write a file and refuses every other process,
        readers included, while it does: the message names the file, the process holding
        it and what to do.
    """

    def __init__(self, path: str | Path = "spikes.duckdb", *, read_only: bool = False) -> None:
        self.path = str(path)
        self.read_only = read_only
        if read_only and self.path != ":memory:" and not Path(self.path).is_file():
            raise SpikesInputError(f"no store {self.path}: no such file (create one with "
                                   "`spikes ingest` or `spikes serve --store`)")
        try:
            self._conn = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise SpikesInputError(_open_error(self.path, exc)) from None
        self._lock = threading.RLock()
        if not read_only:
            with self._lock:
                self._conn.execute(_SCHEMA)

    def close(self) -> None:
        """Close the connection (checkpointing the write-ahead log)."""
        with self._lock:
            self._conn.close()

    # -- meta -------------------------------------------------------------------------
    def _meta(self, key: str) -> pd.Timestamp | None:
        rows = self._conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        return None if not rows else pd.Timestamp(rows[0][0], unit="us", tz="UTC")

    def _set_meta(self, key: str, value: pd.Timestamp) -> None:
        self._conn.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, _micros(value)])

    @property
    def closed_end(self) -> pd.Timestamp | None:
        """Buckets starting before this time are closed; None before the first close."""
        with self._lock:
            return self._meta_or_none("closed_end")

    @property
    def watermark(self) -> pd.Timestamp | None:
        """The newest report's timestamp; None for an empty store."""
        with self._lock:
            return self._meta_or_none("watermark")

    @property
    def bucket(self) -> pd.Timedelta | None:
        """The bucket size of the service that closes this store's buckets, if any."""
        with self._lock:
            if not self._has_table("meta"):
                return None
            rows = self._conn.execute("SELECT value FROM meta WHERE key = 'bucket'").fetchall()
        return None if not rows else pd.Timedelta(microseconds=int(rows[0][0]))

    def set_bucket(self, bucket: pd.Timedelta) -> None:
        """Record the service's bucket size (for readers of the store)."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO meta VALUES ('bucket', ?) ON CONFLICT (key) DO UPDATE SET "
                "value = excluded.value", [int(pd.Timedelta(bucket) / pd.Timedelta("1us"))])

    def close_until(self, end: pd.Timestamp) -> bool:
        """Close every bucket that starts before `end`.

        Parameters
        ----------
        end : pd.Timestamp
            A bucket boundary (UTC).

        Returns
        -------
        bool
            Whether buckets were closed (the closed time only moves forward).
        """
        with self._lock:
            current = self._meta("closed_end")
            if current is not None and end <= current:
                return False
            self._set_meta("closed_end", end)
            return True

    # -- reports ----------------------------------------------------------------------
    def append(self, batch: pd.DataFrame, batch_id: str,
               received_at: pd.Timestamp | None = None,
               bucket: pd.Timedelta | None = None, kind: str = "events") -> AppendResult:
        """Append one batch of reports in one transaction; return after the commit.

        Parameters
        ----------
        batch : pd.DataFrame
            Columns :data:`BATCH_COLUMNS`: ``timestamp`` UTC-aware, ``count`` float >= 0,
            ``region``, ``category`` and ``report_id`` str or None.
        batch_id : str
            The batch's id: a batch id already accepted stores nothing.
        received_at : pd.Timestamp, optional
            Arrival time (now by default).
        bucket : pd.Timedelta, optional
            Bucket size, to mark reports of closed buckets as late.
        kind : {"events", "counts"}
            Report events (default) or counts per bucket (a bucket without a row is
            missing, as :attr:`spikes.model.RawReports.kind` says).

        Returns
        -------
        AppendResult
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        received_at = received_at or pd.Timestamp.now(tz="UTC")
        frame = _normalised(batch)
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN TRANSACTION")
            try:
                if conn.execute("SELECT 1 FROM batches WHERE batch_id = ?",
                                [batch_id]).fetchall():
                    conn.execute("ROLLBACK")
                    return AppendResult(0, len(frame), 0)
                frame, repeated = self._new_reports(frame)
                closed = self._meta("closed_end")
                late = np.zeros(len(frame), dtype=bool)
                if closed is not None and bucket is not None and len(frame):
                    starts = frame["timestamp"].dt.floor(bucket)
                    late = (starts < closed.tz_localize(None)).to_numpy()
                frame["batch_id"] = batch_id
                frame["received_at"] = received_at.tz_convert("UTC").tz_localize(None)
                frame["late"] = late
                frame["kind"] = kind
                conn.register("_batch", frame)
                conn.execute("INSERT INTO reports SELECT product, timestamp, count, region, "
                             "category, report_id, batch_id, received_at, late, kind "
                             "FROM _batch")
                conn.execute("INSERT INTO report_ids SELECT DISTINCT report_id FROM _batch "
                             "WHERE report_id IS NOT NULL")
                conn.unregister("_batch")
                result = AppendResult(len(frame), repeated, int(late.sum()))
                conn.execute("INSERT INTO batches VALUES (?, ?, ?, ?, ?)",
                             [batch_id, received_at.tz_convert("UTC").tz_localize(None),
                              result.accepted, result.duplicates, result.late])
                if len(frame):
                    newest = frame["timestamp"].max().tz_localize("UTC")
                    old = self._meta("watermark")
                    if old is None or newest > old:
                        self._set_meta("watermark", newest)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return result

    def _new_reports(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        """The reports of `frame` whose id is new (to the store and earlier in the batch)."""
        ids = frame["report_id"]
        has_id = ids.notna().to_numpy()
        if not has_id.any():
            return frame, 0
        keep = ~(ids.duplicated() & has_id).to_numpy()
        wanted = pd.DataFrame({"report_id": ids[has_id].unique()})
        self._conn.register("_ids", wanted)
        seen = self._conn.execute("SELECT r.report_id FROM report_ids r JOIN _ids i "
                                  "ON r.report_id = i.report_id").fetchall()
        self._conn.unregister("_ids")
        if seen:
            keep &= ~ids.isin([s[0] for s in seen]).to_numpy()
        return frame[keep].reset_index(drop=True), int((~keep).sum())

    def count_reports(self) -> int:
        """Reports stored."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM reports").fetchall()[0][0])

    def closed_reports(self, breakdown: bool = False) -> pd.DataFrame:
        """The on-time reports of closed buckets, for detection.

        Parameters
        ----------
        breakdown : bool
            Also return ``region`` and ``category``.

        Returns
        -------
        pd.DataFrame
            ``timestamp`` (UTC), ``product``, ``reports``, ``kind`` (and ``region``,
            ``category``); empty before the first close. Late reports are left out: a
            live run never saw them in time.
        """
        with self._lock:
            closed = self._meta_or_none("closed_end")
            if closed is None:
                return _empty_reports(breakdown)
            return self._reports("WHERE NOT late AND timestamp < ?",
                                 [closed.tz_localize(None)], breakdown)

    def all_reports(self, breakdown: bool = True) -> pd.DataFrame:
        """Every stored report, late ones included (``spikes analyze --store``).

        Returns
        -------
        pd.DataFrame
            As :meth:`closed_reports`.
        """
        with self._lock:
            return self._reports("", [], breakdown)

    def _reports(self, where: str, params: list, breakdown: bool) -> pd.DataFrame:
        if not self._has_table("reports"):
            return _empty_reports(breakdown)
        columns = {row[0] for row in self._conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'reports'"
        ).fetchall()}
        kind = "kind" if "kind" in columns else "'events'"
        extra = ", region, category" if breakdown else ""
        frame = self._conn.execute(
            f"SELECT timestamp, product, count AS reports, {kind} AS kind{extra} "
            f"FROM reports {where}", params).df()
        frame["timestamp"] = _utc(frame["timestamp"]).dt.as_unit("us")
        return frame

    def _has_table(self, name: str) -> bool:
        return bool(self._conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [name]).fetchall())

    def _meta_or_none(self, key: str) -> pd.Timestamp | None:
        """:meth:`_meta`, None when a read-only store has no ``meta`` table."""
        return self._meta(key) if self._has_table("meta") else None

    def counts_version(self) -> tuple:
        """What identifies the store's content for caches: the closed time, the newest
        report and the number of reports."""
        with self._lock:
            closed = self._meta_or_none("closed_end")
            watermark = self._meta_or_none("watermark")
            count = (int(self._conn.execute("SELECT count(*) FROM reports").fetchall()[0][0])
                     if self._has_table("reports") else 0)
        return (closed, watermark, count)

    # -- results ----------------------------------------------------------------------
    def save_results(self, incidents: pd.DataFrame, events: pd.DataFrame) -> None:
        """Replace the stored incidents and events with a detection's, in one transaction."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN TRANSACTION")
            try:
                for name, table in (("incidents", incidents), ("events", events)):
                    conn.register("_result", _naive(table))
                    conn.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _result")
                    conn.unregister("_result")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def table(self, name: str) -> pd.DataFrame | None:
        """The stored ``incidents`` or ``events`` (UTC times), None before any detection."""
        if name not in ("incidents", "events"):
            raise ValueError(f"no result table {name!r}")
        with self._lock:
            found = self._conn.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_name = ?",
                [name]).fetchall()
            if not found:
                return None
            frame = self._conn.execute(f"SELECT * FROM {name}").df()
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = _utc(frame[column])
        return frame


def _open_error(path: str, exc: Exception) -> str:
    """What to tell when DuckDB refuses to open `path`."""
    text = str(exc)
    if "lock" in text.lower():
        holder = re.search(r"held in (.+?) \(PID (\d+)\)", text)
        who = f" by {holder.group(1)} (PID {holder.group(2)})" if holder else ""
        return (f"cannot open the store {path}: it is in use{who}, e.g. a running `spikes "
                "serve`; DuckDB lets no other process open a store while one writes it. "
                "Stop that process first, or read the running service over its API (the "
                "dashboard: SPIKES_SERVICE=http://HOST:PORT)")
    return f"cannot open the store {path}: {text}"


def _empty_reports(breakdown: bool) -> pd.DataFrame:
    columns = {"timestamp": pd.Series(dtype="datetime64[us, UTC]"),
               "product": pd.Series(dtype=object), "reports": pd.Series(dtype=float),
               "kind": pd.Series(dtype=object)}
    if breakdown:
        columns |= {"region": pd.Series(dtype=object), "category": pd.Series(dtype=object)}
    return pd.DataFrame(columns)


def _micros(value: pd.Timestamp) -> int:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
    return int(stamp.as_unit("us").asm8.view("i8"))


def _utc(values: pd.Series) -> pd.Series:
    values = pd.to_datetime(values)
    return values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")


def _naive(table: pd.DataFrame) -> pd.DataFrame:
    """A copy with UTC-aware columns as naive UTC and text columns as str."""
    out = table.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None)
        elif out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].astype(object).where(out[column].notna(), None)
            out[column] = out[column].map(lambda v: None if v is None else str(v))
    return out


def _normalised(batch: pd.DataFrame) -> pd.DataFrame:
    """The batch with naive UTC timestamps, float counts and object text columns."""
    missing = [c for c in BATCH_COLUMNS if c not in batch.columns]
    if missing:
        raise ValueError(f"batch lacks columns {missing}")
    batch = batch.reset_index(drop=True)
    frame = pd.DataFrame({
        "product": batch["product"].astype(str).to_numpy(dtype=object),
        "timestamp": _utc(batch["timestamp"]).dt.tz_localize(None).dt.as_unit("us"),
        "count": batch["count"].astype(float),
    })
    for column in ("region", "category", "report_id"):
        values = batch[column].astype(object)
        frame[column] = values.where(values.notna(), None).to_numpy(dtype=object)
    return frame


def batch_from_raw(table: pd.DataFrame) -> pd.DataFrame:
    """A reader's long table (:class:`~spikes.model.RawReports`) as a batch table."""

    def text(column: str) -> pd.Series:
        values = table[column].astype(object)
        return values.where(values.notna(), None)

    return pd.DataFrame({
        "product": table["product"].astype(str),
        "timestamp": table["timestamp"],
        "count": table["reports"].astype(float),
        "region": text("region"),
        "category": text("category"),
        "report_id": pd.Series([None] * len(table), dtype=object, index=table.index),
    })
