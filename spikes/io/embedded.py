"""Helpers shared by the DuckDB files the live service keeps (its store and the alerts'
outbox): ending a failed transaction, and reading stored times back as UTC.

DuckDB keeps times as naive ``TIMESTAMP`` values; both files store UTC.
"""

from __future__ import annotations

import duckdb
import pandas as pd

__all__ = ["naive_utc", "rollback", "utc"]


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
