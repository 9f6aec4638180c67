"""What a store holds, as the pipeline's :class:`~spikes.model.ReportData`.

The store keeps one row per stored report with its kind (``events``: report events, a
bucket without a row is a real zero; ``counts``: counts per bucket, a bucket without a
row is missing). :func:`store_data` buckets such rows exactly as
:func:`spikes.io.buckets.to_buckets` buckets a file's rows, so that a store filled from
files (``spikes ingest``, or ``POST /v1/reports`` in time order) is analysed as the
files are: ``spikes analyze --store``, the live detector and the live dashboard all read
the store through it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from spikes.io.buckets import events_from_first, to_buckets
from spikes.model import RawReports, ReportData

__all__ = ["from_long_counts", "long_counts", "store_data"]


def store_data(rows: pd.DataFrame, bucket: str | pd.Timedelta | None = None,
               source: str = "store") -> ReportData | None:
    """Bucket a store's report rows.

    Parameters
    ----------
    rows : pd.DataFrame
        ``timestamp`` (UTC), ``product``, ``reports``, ``kind`` and optionally
        ``region`` and ``category`` (:meth:`spikes.service.store.Store.closed_reports`
        or :meth:`~spikes.service.store.Store.all_reports`).
    bucket : str or pd.Timedelta, optional
        Bucket size; inferred as for a file when omitted (5 minutes for report events,
        the rows' spacing for counts).
    source : str
        Name of the store, for messages and :attr:`ReportData.sources`.

    Returns
    -------
    ReportData or None
        None when there is no row. A product with only ``events`` rows has zeros where
        it has no report from its first report on (NaN before, as in
        :func:`~spikes.io.buckets.to_buckets`); a product with ``counts`` rows has NaN
        where a bucket has no
        row, as in :func:`~spikes.io.buckets.to_buckets`. The data's ``kind`` is
        ``counts`` when any product is.
    """
    if rows.empty:
        return None
    kinds = rows["kind"].fillna("events").astype(str)
    counted = set(rows.loc[kinds == "counts", "product"].astype(str))
    kind = "counts" if counted else "events"

    def text(column: str) -> pd.Categorical:
        if column not in rows:
            return pd.Categorical([None] * len(rows))
        return pd.Categorical(rows[column].astype(object).where(rows[column].notna(), None))

    table = pd.DataFrame({
        "timestamp": rows["timestamp"].to_numpy(),
        "product": pd.Categorical(rows["product"].astype(str)),
        "reports": rows["reports"].to_numpy(dtype=float),
        "region": text("region"),
        "category": text("category"),
    })
    table["timestamp"] = pd.to_datetime(table["timestamp"], utc=True)
    raw = RawReports(table=table, kind=kind, rows_read=len(table), sources=(source,))
    data = to_buckets(raw, bucket)
    evented = [p for p in data.counts.columns if str(p) not in counted]
    if kind == "counts" and evented:
        counts = data.counts.copy()
        counts[evented] = events_from_first(counts[evented].to_numpy(dtype=float))
        data = dataclasses.replace(data, counts=counts)
    return data


def long_counts(data: ReportData) -> pd.DataFrame:
    """The bucketed counts as a long table (what ``GET /v1/counts`` sends).

    Returns
    -------
    pd.DataFrame
        ``timestamp`` (UTC bucket start), ``product``, ``reports``; one row per product
        and bucket with data (zeros of report events included, missing counts left out).
    """
    counts = data.counts
    values = counts.to_numpy(dtype=float)
    rows, cols = np.nonzero(~np.isnan(values))
    return pd.DataFrame({
        "timestamp": counts.index[rows],
        "product": np.asarray(counts.columns, dtype=object)[cols],
        "reports": values[rows, cols],
    })


def from_long_counts(frame: pd.DataFrame, bucket: pd.Timedelta, kind: str,
                     source: str = "service") -> ReportData | None:
    """:func:`long_counts`' table back as :class:`ReportData` (the live dashboard).

    Parameters
    ----------
    frame : pd.DataFrame
        ``timestamp``, ``product``, ``reports`` on the bucket grid.
    bucket : pd.Timedelta
        Bucket size.
    kind : {"events", "counts"}
        The data's kind.
    source : str
        Where it came from, for :attr:`ReportData.sources`.

    Returns
    -------
    ReportData or None
        None for an empty table.
    """
    if frame.empty:
        return None
    stamps = pd.to_datetime(frame["timestamp"], utc=True)
    grid = pd.DataFrame({"timestamp": stamps, "product": frame["product"].astype(str),
                         "reports": frame["reports"].astype(float)})
    counts = grid.pivot(index="timestamp", columns="product", values="reports")
    index = pd.date_range(counts.index.min(), counts.index.max(), freq=bucket,
                          name="timestamp", unit="us")
    counts = counts.reindex(index)
    counts.columns = pd.Index([str(c) for c in counts.columns], dtype=object)
    counts = counts.sort_index(axis=1).astype(float)
    return ReportData(counts=counts, bucket=pd.Timedelta(bucket), kind=kind,  # type: ignore[arg-type]
                      rows_read=len(frame), sources=(source,))
