"""The service's embedded store: one DuckDB file with reports, batches, incidents, events.

One :class:`Store` (one writer connection) per process; its methods hold a lock, so the
request threads of the service share it safely. A batch of reports goes in as one
Arrow append inside one transaction (all or nothing) and :meth:`Store.append` returns
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

import contextlib
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from spikes.errors import SpikesInputError
from spikes.io.embedded import naive_utc, rollback, transaction, utc

__all__ = ["BATCH_COLUMNS", "BATCH_SCHEMA", "KINDS", "AppendResult", "Store", "batch_from_raw",
           "normalised_batch"]

#: Columns of a batch given to :meth:`Store.append`.
BATCH_COLUMNS = ["product", "timestamp", "count", "region", "category", "report_id"]

#: A normalised batch (:func:`normalised_batch`): times are naive UTC microseconds.
BATCH_SCHEMA = pa.schema([("product", pa.string()), ("timestamp", pa.timestamp("us")),
                          ("count", pa.float64()), ("region", pa.string()),
                          ("category", pa.string()), ("report_id", pa.string())])

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

CHECKPOINT_THRESHOLD = "64MB"
"""Write-ahead log size at which a commit also checkpoints the store (DuckDB's default is
16 MB). A checkpoint holds up every commit for 0.1-0.3 s; at 50,000 reports/s the
default makes that every 6 s, which puts a stall in the 99th percentile of the request
latency. At 64 MB it happens about every 25 s; a restart after a crash replays at most
that much log. Until a checkpoint the logged rows are also held in memory, so the live
detector checkpoints at a quieter moment too, after a detection, once the log holds
:data:`QUIET_CHECKPOINT_BYTES` (:meth:`Store.checkpoint`)."""

QUIET_CHECKPOINT_BYTES = 32 * 2**20
"""Log size from which :meth:`Store.checkpoint` checkpoints: half of
:data:`CHECKPOINT_THRESHOLD`, so that a service taking few reports does not hold weeks of
them in memory, while one taking many is not stalled by this checkpoint every bucket
too (at 16 MB a replay at 80,000 reports/s had a p99 latency of 194 ms, at 32 MB 120 ms)."""

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
        _check_store_file(self.path)
        try:
            self._conn = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise SpikesInputError(_open_error(self.path, exc)) from None
        self._lock = threading.RLock()
        with self._lock:
            if not read_only:
                self._conn.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
                self._conn.execute(_SCHEMA)
            self._load_meta()

    def close(self) -> None:
        """Close the connection (checkpointing the write-ahead log)."""
        with self._lock:
            self._conn.close()

    def checkpoint(self, min_bytes: int = QUIET_CHECKPOINT_BYTES) -> bool:
        """Write the log into the database file once it holds `min_bytes`.

        Returns
        -------
        bool
            Whether it checkpointed.
        """
        if self.read_only or self.path == ":memory:":
            return False
        log = Path(self.path + ".wal")
        with self._lock:
            if not log.is_file() or log.stat().st_size < min_bytes:
                return False
            self._conn.execute("CHECKPOINT")
        return True

    # -- meta -------------------------------------------------------------------------
    def _load_meta(self) -> None:
        """Read ``closed_end`` and ``watermark`` into memory (this connection is the
        file's only writer, so they change only through it)."""
        self._cached: dict[str, pd.Timestamp | None] = dict.fromkeys(("closed_end",
                                                                        "watermark",
                                                                        "last_received"))
        self._named = self._has_table("reports") and bool(self._conn.execute(
            "SELECT 1 FROM reports WHERE region IS NOT NULL OR category IS NOT NULL "
            "LIMIT 1").fetchall())
        if self._has_table("batches"):  # then kept by append_many
            rows = self._conn.execute("SELECT epoch_us(max(received_at)) FROM batches "
                                      "WHERE accepted > 0").fetchall()
            if rows and rows[0][0] is not None:
                self._cached["last_received"] = pd.Timestamp(int(rows[0][0]), unit="us",
                                                             tz="UTC")
        if not self._has_table("meta"):  # a read-only store written by an older version
            return
        for key in ("closed_end", "watermark"):
            rows = self._conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
            self._cached[key] = (None if not rows
                                 else pd.Timestamp(rows[0][0], unit="us", tz="UTC"))

    def _meta(self, key: str) -> pd.Timestamp | None:
        return self._cached[key]

    def _set_meta(self, key: str, value: pd.Timestamp) -> None:
        """Write a meta value inside the caller's transaction; the cache follows on commit
        (see :meth:`_commit`)."""
        self._conn.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, _micros(value)])
        self._staged[key] = value

    def _begin(self) -> None:
        # The transactions of close_until and append_many are opened by hand, not with
        # spikes.io.embedded.transaction as save_results' is: a failed COMMIT, and
        # only it, is "cannot write the store" (_commit's _written: a SpikesInputError,
        # a batch's 503 in the service and "failing" on its /healthz), whereas
        # transaction() commits on leaving the caller's block, so _written would have to
        # wrap the whole block and would also turn the block's own duckdb errors
        # (append_many's read of the batch ids) into "cannot write the store". The
        # callers roll back as transaction() does, on any exception, raising it as it was.
        self._staged: dict[str, pd.Timestamp] = {}
        self._conn.execute("BEGIN TRANSACTION")

    def _commit(self) -> None:
        with _written(self.path):
            self._conn.execute("COMMIT")
        self._cached.update(self._staged)

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
    def last_received(self) -> pd.Timestamp | None:
        """When the newest batch that stored a report arrived (the server's time); None
        before any."""
        with self._lock:
            return self._cached.get("last_received")

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
            with _written(self.path):
                self._conn.execute(
                    "INSERT INTO meta VALUES ('bucket', ?) ON CONFLICT (key) DO UPDATE SET "
                    "value = excluded.value",
                    [int(pd.Timedelta(bucket) / pd.Timedelta("1us"))])

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
            self._begin()
            try:
                self._set_meta("closed_end", end)
                self._commit()
            except BaseException:
                rollback(self._conn)
                raise
            return True

    # -- reports ----------------------------------------------------------------------
    def append(self, batch: pd.DataFrame | pa.Table, batch_id: str,
               received_at: pd.Timestamp | None = None,
               bucket: pd.Timedelta | None = None, kind: str = "events") -> AppendResult:
        """Append one batch of reports in one transaction; return after the commit.

        Parameters
        ----------
        batch : pd.DataFrame or pa.Table
            Columns :data:`BATCH_COLUMNS`: ``timestamp`` UTC-aware, ``count`` float >= 0,
            ``region``, ``category`` and ``report_id`` str or None; or a table of
            :data:`BATCH_SCHEMA` (:func:`normalised_batch`).
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
        return self.append_many([(batch, batch_id)], received_at, bucket, kinds=[kind])[0]

    def append_many(self, batches: Sequence[tuple[pd.DataFrame | pa.Table, str]],
                    received_at: pd.Timestamp | None = None,
                    bucket: pd.Timedelta | None = None,
                    kinds: Sequence[str] | None = None,
                    normalised: bool = False) -> list[AppendResult]:
        """Append several batches in one transaction (a group commit); return after it.

        Each batch is judged as if the batches had been appended one after the other in
        the order given: a batch id already stored, or given earlier in the group, stores
        nothing; a report id already stored, or earlier in the group, is a duplicate.
        Committing many batches at once spreads the cost of the commit over them.

        Parameters
        ----------
        batches : sequence of (pd.DataFrame or pa.Table, str)
            Each batch (as for :meth:`append`) with its id.
        received_at : pd.Timestamp, optional
            Arrival time (now by default).
        bucket : pd.Timedelta, optional
            Bucket size, to mark reports of closed buckets as late.
        kinds : sequence of {"events", "counts"}, optional
            The kind of each batch (see :meth:`append`; all ``"events"`` by default).
        normalised : bool
            The batches are already :func:`normalised_batch` tables.

        Returns
        -------
        list of AppendResult
            One per batch, in order.
        """
        kinds = ["events"] * len(batches) if kinds is None else list(kinds)
        bad = [k for k in kinds if k not in KINDS]
        if bad or len(kinds) != len(batches):
            raise ValueError(f"one kind per batch, each one of {KINDS}, got {kinds!r}")
        arrived = _micros(received_at or pd.Timestamp.now(tz="UTC"))
        tables = [batch if normalised else normalised_batch(batch) for batch, _ in batches]
        ids = [batch_id for _, batch_id in batches]
        results = [AppendResult(0, table.num_rows, 0) for table in tables]
        with self._lock:
            conn = self._conn
            self._begin()
            try:
                stored = {row[0] for row in conn.execute(
                    "SELECT batch_id FROM batches WHERE batch_id IN "
                    "(SELECT unnest(?::VARCHAR[]))", [ids]).fetchall()}
                taken, seen = [], set(stored)
                for k, batch_id in enumerate(ids):
                    if batch_id not in seen:
                        taken.append(k)
                    seen.add(batch_id)
                if taken:  # large inserts write to the file already (a full disk)
                    with _written(self.path):
                        self._insert(taken, tables, ids, kinds, arrived, bucket, results)
                    if any(results[k].accepted for k in taken):
                        self._staged["last_received"] = pd.Timestamp(arrived, unit="us",
                                                                     tz="UTC")
                self._commit()
            except BaseException:
                rollback(conn)
                raise
            self._named = self._named or any(
                tables[k].column(c).null_count < tables[k].num_rows
                for k in taken for c in ("region", "category"))
        return results

    def _insert(self, taken: list[int], tables: list[pa.Table], ids: list[str],
                kinds: list[str], arrived: int, bucket: pd.Timedelta | None,
                results: list[AppendResult]) -> None:
        """Insert the new reports of the batches `taken` (inside the caller's
        transaction) and fill in their `results`."""
        conn = self._conn
        group = pa.concat_tables([tables[k] for k in taken])
        owner = np.repeat(np.arange(len(taken)), [tables[k].num_rows for k in taken])
        keep = self._new_reports(group.column("report_id"))
        rows, owner = group.filter(keep), owner[keep]
        stamps = rows.column("timestamp").to_numpy().view("i8")
        late = np.zeros(len(stamps), dtype=bool)
        closed = self._meta("closed_end")
        if closed is not None and bucket is not None and len(stamps):
            step = _step_us(bucket)
            late = (stamps // step) * step < _micros(closed)
        kept = np.bincount(owner, minlength=len(taken))
        n_late = np.bincount(owner, weights=late, minlength=len(taken))
        for j, k in enumerate(taken):
            results[k] = AppendResult(int(kept[j]), tables[k].num_rows - int(kept[j]),
                                      int(n_late[j]))
        batch_of = np.asarray(taken)[owner]  # each kept row's batch
        rows = (rows.append_column("batch_id", pa.array(np.asarray(ids, dtype=object)[batch_of],
                                                        pa.string()))
                .append_column("received_at", pa.array(np.full(len(stamps), arrived)
                                                       .view("datetime64[us]")))
                .append_column("late", pa.array(late))
                .append_column("kind", pa.array(np.asarray(kinds, dtype=object)[batch_of],
                                                pa.string())))
        conn.register("_batch", rows)
        conn.execute("INSERT INTO reports SELECT product, timestamp, count, region, category, "
                     "report_id, batch_id, received_at, late, kind FROM _batch")
        if rows.column("report_id").null_count < rows.num_rows:
            conn.execute("INSERT INTO report_ids SELECT report_id FROM _batch "
                         "WHERE report_id IS NOT NULL")
        conn.unregister("_batch")
        conn.executemany("INSERT INTO batches VALUES (?, make_timestamp(?), ?, ?, ?)",
                         [[ids[k], arrived, results[k].accepted, results[k].duplicates,
                           results[k].late] for k in taken])
        if len(stamps):
            newest = pd.Timestamp(int(stamps.max()), unit="us", tz="UTC")
            old = self._meta("watermark")
            if old is None or newest > old:
                self._set_meta("watermark", newest)

    def _new_reports(self, report_ids: pa.ChunkedArray) -> np.ndarray:
        """Which reports to keep: those without an id, or whose id is new (to the store,
        and earlier in the group)."""
        if report_ids.null_count == len(report_ids):
            return np.ones(len(report_ids), dtype=bool)
        values = pd.Series(report_ids.to_numpy(zero_copy_only=False), dtype=object)
        has_id = values.notna().to_numpy()
        keep = ~(values.duplicated() & has_id).to_numpy()
        self._conn.register("_ids", pa.table({"report_id": report_ids.unique().drop_null()}))
        seen = self._conn.execute("SELECT report_id FROM _ids SEMI JOIN report_ids "
                                  "USING (report_id)").fetchall()
        self._conn.unregister("_ids")
        if seen:
            keep &= ~values.isin([s[0] for s in seen]).to_numpy()
        return keep

    def span(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The earliest and the latest report's timestamps (UTC); None when empty."""
        with self._lock:
            low, high = self._conn.execute(
                "SELECT min(timestamp), max(timestamp) FROM reports").fetchall()[0]
        if low is None:
            return None
        return pd.Timestamp(low).tz_localize("UTC"), pd.Timestamp(high).tz_localize("UTC")

    def has_batch(self, batch_id: str) -> bool:
        """Whether a batch of this id was stored."""
        with self._lock:
            return bool(self._conn.execute("SELECT 1 FROM batches WHERE batch_id = ?",
                                           [batch_id]).fetchall())

    def held_counts(self, products: Sequence[str], start: pd.Timestamp,
                    end: pd.Timestamp) -> pd.DataFrame:
        """The reports the store holds of `products` from `start` to `end` (inclusive,
        UTC), summed per product, timestamp, region and category (empty text where none):
        ``product, timestamp, region, category, count``."""
        if not products:
            return pd.DataFrame({"product": [], "timestamp": [], "region": [],
                                 "category": [], "count": []})
        marks = ", ".join("?" for _ in products)
        with self._lock:
            frame = self._conn.execute(
                "SELECT product, timestamp, coalesce(region, '') AS region, "
                "coalesce(category, '') AS category, sum(count) AS count FROM reports "
                f"WHERE timestamp BETWEEN ? AND ? AND product IN ({marks}) GROUP BY ALL",
                [naive_utc(start), naive_utc(end), *products]).df()
        frame["timestamp"] = utc(frame["timestamp"]).dt.as_unit("us")
        return frame

    def count_reports(self) -> int:
        """Reports stored."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM reports").fetchall()[0][0])

    def closed_reports(self, breakdown: bool = False,
                       since: pd.Timestamp | None = None,
                       bucket: pd.Timedelta | None = None) -> pd.DataFrame:
        """The on-time reports of closed buckets, for detection.

        Parameters
        ----------
        breakdown : bool
            Also return ``region`` and ``category``.
        since : pd.Timestamp, optional
            Only the reports at or after this time (the buckets not yet given to the
            streaming detector: :class:`spikes.service.live.LiveDetector`).
        bucket : pd.Timedelta, optional
            Sum the reports per bucket (start on the grid anchored at the Unix epoch, as
            :func:`spikes.io.buckets.to_buckets` floors), product and kind (and region and
            category) in the database: one row per product and bucket instead of one per
            report, which bucketing again leaves as they are. Sums of whole counts are
            exact; fractional counts may differ from a sum in another order in the last
            bit.

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
            if since is None:
                return self._reports("WHERE NOT late AND timestamp < ?",
                                     [closed.tz_localize(None)], breakdown, bucket)
            start = pd.Timestamp(since).tz_convert("UTC").tz_localize(None)
            return self._reports("WHERE NOT late AND timestamp >= ? AND timestamp < ?",
                                 [start, closed.tz_localize(None)], breakdown, bucket)

    def all_reports(self, breakdown: bool = True,
                    bucket: pd.Timedelta | None = None) -> pd.DataFrame:
        """Every stored report, late ones included (``spikes analyze --store``).

        Parameters
        ----------
        breakdown : bool
            Also return ``region`` and ``category``.
        bucket : pd.Timedelta, optional
            Sum per bucket in the database (see :meth:`closed_reports`).

        Returns
        -------
        pd.DataFrame
            As :meth:`closed_reports`.
        """
        with self._lock:
            return self._reports("", [], breakdown, bucket)

    def breakdown(self, products: list[str], since: pd.Timestamp,
                  bucket: pd.Timedelta) -> pd.DataFrame | None:
        """On-time reports of closed buckets by bucket, product, region and category (the
        shape of :attr:`spikes.model.ReportData.breakdown`), for the reasons' top problem
        and region.

        Parameters
        ----------
        products : list of str
            The products wanted.
        since : pd.Timestamp
            The first time wanted.
        bucket : pd.Timedelta
            Bucket size (rows are summed per bucket start).

        Returns
        -------
        pd.DataFrame or None
            ``timestamp`` (bucket start, UTC), ``product``, ``region``, ``category``,
            ``reports``; None when those reports name no region and no category.
        """
        with self._lock:
            closed = self._meta_or_none("closed_end")
            if closed is None or not products or not self._named:
                return None  # (no report names a region or a category: no query)
            self._conn.register("_wanted", pd.DataFrame({"product": list(products)}))
            frame = self._conn.execute(
                f"SELECT make_timestamp({_floor(bucket)}) AS timestamp, "
                "r.product, region, category, sum(count) AS reports FROM reports r "
                "JOIN _wanted w ON r.product = w.product WHERE NOT late AND timestamp >= ? "
                "AND timestamp < ? GROUP BY ALL ORDER BY ALL",
                [pd.Timestamp(since).tz_convert("UTC").tz_localize(None),
                 closed.tz_localize(None)]).df()
            self._conn.unregister("_wanted")
        if frame.empty or (frame["region"].isna().all() and frame["category"].isna().all()):
            return None
        frame["timestamp"] = utc(frame["timestamp"]).dt.as_unit("us")
        for column in ("product", "region", "category"):  # missing: "unknown", as a file
            frame[column] = frame[column].astype(object).fillna("unknown").astype(str)
        keys = ["timestamp", "product", "region", "category"]
        return frame.groupby(keys, sort=True)["reports"].sum().reset_index()

    def _reports(self, where: str, params: list, breakdown: bool,
                 bucket: pd.Timedelta | None = None) -> pd.DataFrame:
        if not self._has_table("reports"):
            return _empty_reports(breakdown)
        columns = {row[0] for row in self._conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'reports'"
        ).fetchall()}
        kind = "kind" if "kind" in columns else "'events'"
        extra = ", region, category" if breakdown else ""
        if bucket is None:
            sql = (f"SELECT timestamp, product, count AS reports, {kind} AS kind{extra} "
                   f"FROM reports {where}")
        else:
            sql = (f"SELECT make_timestamp({_floor(bucket)}) AS timestamp, product, "
                   f"sum(count) AS reports, {kind} AS kind{extra} FROM reports {where} "
                   "GROUP BY ALL ORDER BY ALL")
        frame = self._conn.execute(sql, params).df()
        frame["timestamp"] = utc(frame["timestamp"]).dt.as_unit("us")
        return frame

    def _has_table(self, name: str) -> bool:
        return bool(self._conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [name]).fetchall())

    def _meta_or_none(self, key: str) -> pd.Timestamp | None:
        """:meth:`_meta` (None when a read-only store has no ``meta`` table)."""
        return self._cached.get(key)

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
        with self._lock, transaction(self._conn) as conn:
            for name, table in (("incidents", incidents), ("events", events)):
                conn.register("_result", _naive(table))
                conn.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _result")
                conn.unregister("_result")

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
                frame[column] = utc(frame[column])
        return frame


@contextlib.contextmanager
def _written(path: str) -> Iterator[None]:
    """A write to the store at `path`: DuckDB's errors of a store that cannot be written
    (its folder read-only, so no .wal; a full disk) as one line."""
    try:
        yield
    except (duckdb.IOException, duckdb.TransactionException,
            duckdb.PermissionException) as exc:
        raise SpikesInputError(f"cannot write the store {path}: {exc}") from None


#: Bytes 8-11 of a DuckDB database file.
DUCKDB_MAGIC = b"DUCK"


def _check_store_file(path: str) -> None:
    """Refuse an existing file that is no DuckDB database (a CSV export given as
    ``--store``): DuckDB opened it as a read-only attached file and kept the store's
    tables in memory, so acknowledged reports were lost at the next start."""
    if path == ":memory:" or not Path(path).is_file():
        return
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return  # duckdb.connect says why it cannot open it
    if head and head[8:12] != DUCKDB_MAGIC:
        raise SpikesInputError(
            f"{path} is no spikes store (not a DuckDB database file): a report file goes "
            "to `spikes ingest FILE --store STORE`; name a new or existing .duckdb store")


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


def _step_us(bucket: pd.Timedelta) -> int:
    """A bucket size in microseconds (the stored times' unit)."""
    step = int(pd.Timedelta(bucket) / pd.Timedelta(microseconds=1))
    if step <= 0:
        raise ValueError(f"bucket must be positive, got {bucket!r}")
    return step


def _floor(bucket: pd.Timedelta) -> str:
    """SQL of a report's bucket start in microseconds: its time floored to buckets of
    size `bucket` from the Unix epoch (as :func:`spikes.io.buckets.to_buckets`;
    DuckDB's integer division rounds toward zero, wrong before 1970)."""
    step = _step_us(bucket)
    return f"epoch_us(timestamp) - ((epoch_us(timestamp) % {step}) + {step}) % {step}"


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


def normalised_batch(batch: pd.DataFrame | pa.Table) -> pa.Table:
    """The batch as an Arrow table of :data:`BATCH_SCHEMA`: naive UTC timestamps, float
    counts, text columns null where missing.

    Raises
    ------
    ValueError
        When a column of :data:`BATCH_COLUMNS` is missing, or an Arrow table has another
        schema.
    """
    if isinstance(batch, pa.Table):
        if not batch.schema.equals(BATCH_SCHEMA):
            raise ValueError(f"batch table has schema {batch.schema}, not {BATCH_SCHEMA}")
        return batch
    missing = [c for c in BATCH_COLUMNS if c not in batch.columns]
    if missing:
        raise ValueError(f"batch lacks columns {missing}")
    products = batch["product"].to_numpy(dtype=object)
    if not all(type(v) is str for v in products):
        products = batch["product"].astype(str).to_numpy(dtype=object)
    stamps = utc(batch["timestamp"]).dt.tz_localize(None).dt.as_unit("us").to_numpy()
    columns = [pa.array(products, pa.string()), pa.array(stamps, pa.timestamp("us")),
               pa.array(batch["count"].to_numpy(dtype=float), from_pandas=True)]  # NaN: null
    for column in ("region", "category", "report_id"):
        values = batch[column].to_numpy(dtype=object)
        absent = pd.isna(values)
        if not all(type(v) is str for v in values[~absent]):  # e.g. numbers: as text
            values = np.array([None if a else str(v) for v, a in zip(values, absent,
                                                                      strict=True)],
                              dtype=object)
        columns.append(pa.array(values, pa.string(), mask=absent))
    return pa.table(columns, schema=BATCH_SCHEMA)


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
