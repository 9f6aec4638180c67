"""The data that flows between the stages of the pipeline.

reading -> :class:`RawReports` -> buckets -> :class:`ReportData` -> baseline -> detectors
-> incidents and events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from spikes.errors import SpikesInputError
from spikes.io.zones import UTC_NAMES

REJECTED_COLUMNS = ["file", "line", "column", "value", "reason"]


def empty_rejected() -> pd.DataFrame:
    """An empty table of rejected rows."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in REJECTED_COLUMNS})


@dataclass(frozen=True)
class RawReports:
    """Reports as read from one or more files, before bucketing.

    Attributes
    ----------
    table : pd.DataFrame
        Long table with columns ``timestamp`` (datetime64, UTC), ``product`` (str),
        ``reports`` (float, >= 0; 1.0 per row for raw events), ``region`` and
        ``category`` (str, missing where the input has none).
    kind : {"events", "counts"}
        Raw report events (a bucket with no report is a real zero, from the product's
        first report on) or counts per bucket
        (a missing bucket is missing).
    rejected : pd.DataFrame
        Rows that could not be used, never dropped silently: ``file``, ``line``
        (1-based line number in the file, header = line 1), ``column``, ``value``,
        ``reason``.
    rows_read : int
        Data rows read from all files (accepted + rejected).
    sources : tuple of str
        The files read.
    ignored : tuple of str
        Columns of the files that play no role (not the timestamp, product, count,
        region or category), as ``'file': column``, so that nothing is left out unsaid.
    notes : tuple of str
        What the reader had to decide without the data telling (e.g. the day/month
        order of dates that read both ways), as ``'file': note``.
    """

    table: pd.DataFrame
    kind: Literal["events", "counts"]
    rejected: pd.DataFrame = field(default_factory=empty_rejected)
    rows_read: int = 0
    sources: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportData:
    """One regular time series per product.

    Attributes
    ----------
    counts : pd.DataFrame
        Reports per bucket: a regular, sorted, UTC ``DatetimeIndex`` (one row per bucket,
        labelled by the bucket's start) and one float column per product. NaN = no data
        for that bucket (count data with a missing row; report events before the
        product's first report); 0 = no report.
    bucket : pd.Timedelta
        Bucket size.
    kind : {"events", "counts"}
        As in :class:`RawReports`.
    breakdown : pd.DataFrame or None
        Reports by ``timestamp`` (bucket start), ``product``, ``region``, ``category``
        with a ``reports`` column, where the input has a region or category column.
    rejected : pd.DataFrame
        As in :class:`RawReports`.
    rows_read : int
        As in :class:`RawReports`.
    sources : tuple of str
        As in :class:`RawReports`.
    ignored, notes : tuple of str
        As in :class:`RawReports`.
    repeated : int
        Rows of count data without region or category that fell into a bucket their
        product already had a row in, when the bucket is the data's own spacing (their
        reports are summed): usually a duplicated or overlapping export.
    """

    counts: pd.DataFrame
    bucket: pd.Timedelta
    kind: Literal["events", "counts"] = "counts"
    breakdown: pd.DataFrame | None = None
    rejected: pd.DataFrame = field(default_factory=empty_rejected)
    rows_read: int = 0
    sources: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    repeated: int = 0

    def __post_init__(self) -> None:
        # A bucket given as text ("5min", as load_reports and simulate take it) is a
        # duration here too; anything else that is not one is said so, not met later.
        try:
            bucket = pd.Timedelta(self.bucket)
        except (ValueError, TypeError):
            bucket = pd.NaT
        if pd.isna(bucket) or bucket <= pd.Timedelta(0):
            raise SpikesInputError(f"ReportData: bucket {self.bucket!r} is not a positive "
                                   f"duration (expected e.g. '5min')")
        if not isinstance(self.bucket, pd.Timedelta):
            object.__setattr__(self, "bucket", bucket)
        counts = self.counts
        if (isinstance(counts, pd.DataFrame) and isinstance(counts.index, pd.DatetimeIndex)
                and _utc_alias(counts.index.tz)):
            object.__setattr__(self, "counts", counts.tz_convert("UTC"))

    @property
    def products(self) -> list[str]:
        """Product names, in column order."""
        return [str(c) for c in self.counts.columns]


#: Zones that are UTC under another name: counts indexed in one are the same instants.
UTC_ALIASES = UTC_NAMES - {"UTC"}


def _utc_alias(tz: object) -> bool:
    """Whether `tz` is UTC under another name (not UTC itself: nothing to convert)."""
    return tz is not None and str(tz) in UTC_ALIASES


def bucket_text(size: pd.Timedelta) -> str:
    """A bucket size as options take it: ``5min``, ``1min``, ``1h``, ``90s``.

    Examples
    --------
    >>> bucket_text(pd.Timedelta("1min")), bucket_text(pd.Timedelta("90min"))
    ('1min', '90min')
    """
    from pandas.tseries.frequencies import to_offset

    text = to_offset(pd.Timedelta(size)).freqstr
    return text if text[:1].isdigit() else f"1{text}"


def product_weeks(counts: pd.DataFrame, bucket: pd.Timedelta,
                  start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> float:
    """Product-weeks of data in ``[start, end)`` (all of it by default): per product, from
    its first to its last observed bucket in that span, the last bucket counted in full.

    Parameters
    ----------
    counts : pd.DataFrame
        Reports per bucket (NaN = no data), UTC index, one column per product.
    bucket : pd.Timedelta
        Bucket size.
    start, end : pd.Timestamp, optional
        The span; the whole index when omitted.

    Returns
    -------
    float
        The false-alarm denominator of EVALUATION.md.
    """
    keep = np.ones(len(counts), dtype=bool)
    if start is not None:
        keep &= counts.index >= start
    if end is not None:
        keep &= counts.index < end
    seen = counts.to_numpy(dtype=float)[keep]
    if seen.size == 0:
        return 0.0
    seen = ~np.isnan(seen)
    first = np.argmax(seen, axis=0)
    last = len(seen) - 1 - np.argmax(seen[::-1], axis=0)
    spans = (last - first + 1)[seen.any(axis=0)]
    return float(spans.sum() * (pd.Timedelta(bucket) / pd.Timedelta(days=7)))


#: Column types of an incidents table.
INCIDENT_DTYPES: dict[str, str] = {
    "product": "object",
    "onset": "datetime64[us, UTC]",
    "peak": "datetime64[us, UTC]",
    "end": "datetime64[us, UTC]",
    "alerted_at": "datetime64[us, UTC]",
    "peak_reports": "float64",
    "baseline_reports": "float64",
    "excess_reports": "float64",
    "ratio": "float64",
    "severity": "object",
    "detectors": "object",
    "ongoing": "bool",
    "event_id": "object",
    "why": "object",
    "known_event": "object",
    "official_at": "datetime64[us, UTC]",
    "lead_minutes": "float64",
}

#: Columns added to incidents after events are assigned (:func:`annotate_defaults`):
#: the reason in words (``why``), the known-event calendar window an incident lies in
#: (``known_event``, empty when none), and the lead over the vendor's status page
#: (``official_at``, ``lead_minutes``; missing without a status feed or match).
ANNOTATION_COLUMNS = ("why", "known_event", "official_at", "lead_minutes")


def empty_incidents() -> pd.DataFrame:
    """An empty incidents table with its column types."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in INCIDENT_DTYPES.items()})


INCIDENT_COLUMNS = [
    "product",
    "onset",
    "peak",
    "end",
    "alerted_at",
    "peak_reports",
    "baseline_reports",
    "excess_reports",
    "ratio",
    "severity",
    "detectors",
    "ongoing",
    "event_id",
    "why",
    "known_event",
    "official_at",
    "lead_minutes",
]


def annotate_defaults(incidents: pd.DataFrame) -> pd.DataFrame:
    """`incidents` with every :data:`ANNOTATION_COLUMNS` column, empty where missing."""
    out = incidents.copy()
    defaults = {"why": "", "known_event": "", "official_at": pd.NaT, "lead_minutes": np.nan}
    for column in ANNOTATION_COLUMNS:
        if column not in out:
            out[column] = pd.Series([defaults[column]] * len(out), index=out.index,
                                    dtype=INCIDENT_DTYPES[column])
    return out
