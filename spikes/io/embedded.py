"""Helpers shared by the DuckDB files the live service keeps (its store and the alerts'
outbox): a transaction that commits or rolls back, ending a failed transaction, a table
registered for a block, and reading stored times back as UTC.

DuckDB keeps times as naive ``TIMESTAMP`` values; both files store UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd
import pyarrow as pa

__all__ = ["naive_utc", "registered", "rollback", "transaction", "utc"]


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction of `conn` around the ``with`` block: committed at its end, rolled
    back when anything is raised in it (or by the ``COMMIT``), the error then raised as it
    was.

    DuckDB has no ``BEGIN IMMEDIATE``: its ``BEGIN TRANSACTION`` takes no lock, and a
    write that conflicts with another connection's fails at once; callers that share a
    connection between threads hold their own lock around the block.

    Transactions do not nest: a ``transaction`` inside another (of the same
    connection) fails at its ``BEGIN`` (DuckDB: "cannot start a transaction within a
    transaction"), and the outer one then rolls back everything and raises that error.
    Helpers that write within a caller's transaction take none of their own.

    Parameters
    ----------
    conn : duckdb.DuckDBPyConnection
        A connection with no transaction open.

    Yields
    ------
    duckdb.DuckDBPyConnection
        `conn`.

    Examples
    --------
    >>> conn = duckdb.connect()
    >>> _ = conn.execute("CREATE TABLE t (x INTEGER)")
    >>> with transaction(conn):
    ...     _ = conn.execute("INSERT INTO t VALUES (1)")
    >>> try:
    ...     with transaction(conn):
    ...         _ = conn.execute("INSERT INTO t VALUES (2)")
    ...         raise KeyError("stop")
    ... except KeyError:
    ...     pass
    >>> conn.execute("SELECT x FROM t").fetchall()
    [(1,)]
    """
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise


@contextmanager
def registered(conn: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    """`table` readable as `name` in `conn` within the ``with`` block, and no longer after
    it. An error raised in the block is raised as it was: the ``unregister`` that then
    fails in a transaction the error aborted (DuckDB: "Current transaction is aborted")
    is not raised in its place (the transaction's roll-back drops the name anyway).

    Parameters
    ----------
    conn : duckdb.DuckDBPyConnection
        The connection.
    name : str
        The name the block's SQL reads `table` by.
    table : pa.Table
        The rows.

    Yields
    ------
    None

    Examples
    --------
    >>> conn = duckdb.connect()
    >>> with registered(conn, "incoming", pa.table({"x": [1, 2]})):
    ...     conn.execute("SELECT sum(x) FROM incoming").fetchall()
    [(3,)]
    """
    conn.register(name, table)
    try:
        yield
    except BaseException:
        try:
            conn.unregister(name)
        except duckdb.Error:
            pass  # the error to raise is the block's
        raise
    conn.unregister(name)


def rollback(conn: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction, if any: a failed COMMIT may already have ended it,
    and the error to report is the one that brought us here, not the roll-back's."""
    try:
        conn.execute("ROLLBACK")
    except duckdb.Error:
        pass


def utc(values: pd.Series) -> pd.Series:
    """Stored times (naive UTC, or aware) as UTC-aware times."""
    values = pd.to_datetime(values)
    return values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")


def naive_utc(value: object) -> pd.Timestamp:
    """A time as the files store it: naive UTC (one without an offset is taken as UTC)."""
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
