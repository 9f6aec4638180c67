"""One transaction helper for the outbox and its retention (spikes.io.embedded.transaction):
BEGIN, COMMIT and the roll-back were written by hand in the outbox's enqueue, record and
decisions and in the retention's prune. Real DuckDB files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from spikes.alerts.continuity import Awaiting, Continuation
from spikes.alerts.outbox import Outbox
from spikes.io.embedded import transaction


def _count(conn: duckdb.DuckDBPyConnection) -> int:
    return int(conn.execute("SELECT count(*) FROM t").fetchall()[0][0])


def test_a_transaction_commits_its_block(tmp_path: Path) -> None:
    path = str(tmp_path / "t.duckdb")
    conn, other = duckdb.connect(path), None
    try:
        conn.execute("CREATE TABLE t (x INTEGER)")
        with transaction(conn) as inside:
            assert inside is conn
            conn.execute("INSERT INTO t VALUES (1), (2)")
            other = duckdb.connect(path)  # the same database in this process
            assert _count(other) == 0  # not committed yet
        assert _count(other) == 2
    finally:
        if other is not None:
            other.close()
        conn.close()


def test_a_transaction_rolls_back_on_any_error_and_raises_it_as_it_was() -> None:
    conn = duckdb.connect()
    conn.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    with pytest.raises(KeyboardInterrupt):  # not only Exception
        with transaction(conn):
            conn.execute("INSERT INTO t VALUES (1)")
            raise KeyboardInterrupt
    with pytest.raises(duckdb.ConstraintException):  # the statement's own error
        with transaction(conn):
            conn.execute("INSERT INTO t VALUES (2)")
            conn.execute("INSERT INTO t VALUES (2)")
    assert _count(conn) == 0
    # No transaction is left open: the next one begins.
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (3)")
    assert conn.execute("SELECT x FROM t").fetchall() == [(3,)]


def test_an_attempt_that_fails_to_be_recorded_leaves_nothing_and_the_outbox_goes_on(
        tmp_path: Path) -> None:
    # record(): the attempt of a message the outbox does not hold fails after its UPDATE;
    # its transaction is rolled back and the next record goes through.
    now = pd.Timestamp("2026-01-05T10:00Z")
    outbox = Outbox(tmp_path / "outbox.duckdb")
    try:
        outbox.enqueue([{"message_id": "m1", "event_id": "E1", "event_key": "k",
                         "state": "open", "sequence": 0, "at": now.isoformat(),
                         "title": "E1 open"}], "h", now=now)
        with pytest.raises(IndexError):
            outbox.record("unknown", "h", ok=True, now=now)
        assert outbox.log().empty
        assert outbox.record("m1", "h", ok=True, now=now) == 1
        assert outbox.counts() == {"pending": 0, "delivered": 1, "failed": 0}
    finally:
        outbox.close()


def _message(now: pd.Timestamp, message_id: str = "m1") -> dict[str, object]:
    return {"message_id": message_id, "event_id": "E1", "event_key": "k", "state": "open",
            "sequence": 0, "at": now.isoformat(), "title": "E1 open"}


@pytest.mark.parametrize("table", ["alert_outbox", "alert_continuation", "alert_awaiting"])
def test_a_write_that_fails_in_an_enqueue_raises_its_own_error(tmp_path: Path,
                                                              table: str) -> None:
    # The INSERT from a registered table failed; the unregister after it, in the
    # transaction the failure had aborted, raised "Current transaction is aborted" in its
    # place, and the service logged that (a disk error or a constraint, unnamed).
    now = pd.Timestamp("2026-01-05T10:00Z")
    outbox = Outbox(tmp_path / "outbox.duckdb")
    try:
        with outbox._lock:  # a column the outbox does not fill (a damaged or newer file)
            outbox._conn.execute(f"ALTER TABLE {table} ADD COLUMN extra INTEGER")
            outbox._conn.execute(f"ALTER TABLE {table} ALTER COLUMN extra SET NOT NULL")
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL constraint failed"):
            outbox.enqueue([_message(now)], "h", now=now,
                           continuations=[Continuation("k2", "k", "E1", 1, ("Gmail",), 1)],
                           awaiting=[Awaiting("k", "E1", now)])
        assert outbox.counts() == {"pending": 0, "delivered": 0, "failed": 0}
        assert outbox.continuations("h") == [] and outbox.awaiting("h") == []
        with outbox._lock:  # nothing left registered, no transaction left open
            names = {name for (name,) in outbox._conn.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
            outbox._conn.execute(f"ALTER TABLE {table} DROP COLUMN extra")
        assert not names & {"spikes_incoming", "spikes_continued", "spikes_awaiting"}
        assert outbox.enqueue([_message(now)], "h", now=now) == 1
    finally:
        outbox.close()


def test_a_transaction_within_another_fails_and_rolls_back_both() -> None:
    # As its docstring says: DuckDB does not nest transactions.
    conn = duckdb.connect()
    conn.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(duckdb.TransactionException, match="within a transaction"):
        with transaction(conn):
            conn.execute("INSERT INTO t VALUES (1)")
            with transaction(conn):
                conn.execute("INSERT INTO t VALUES (2)")
    assert _count(conn) == 0
    with transaction(conn):  # none left open
        conn.execute("INSERT INTO t VALUES (3)")
    assert _count(conn) == 1
