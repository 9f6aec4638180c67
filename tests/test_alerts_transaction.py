"""One transaction helper for the outbox and its retention (spikes.io.embedded.transaction):
BEGIN, COMMIT and the roll-back were written by hand in the outbox's enqueue, record and
decisions and in the retention's prune. Real DuckDB files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

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
