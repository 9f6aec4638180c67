"""Turn raw reports into one regular time series per product.

:func:`to_buckets` floors every timestamp to a grid of fixed-size buckets anchored at the
Unix epoch (5-minute buckets start at :00, :05, ...), sums the reports of each product in
each bucket and lays them out on one regular grid shared by all products.
:func:`load_reports` reads and buckets in one call; it is what the CLI and the
dashboard use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from spikes.errors import SpikesInputError
from spikes.model import RawReports, ReportData
from spikes.reading import Source, read_reports

__all__ = ["EVENTS_BUCKET", "MAX_CELLS", "infer_bucket", "load_reports", "to_buckets"]

EVENTS_BUCKET = pd.Timedelta(minutes=5)
"""Bucket size for raw report events when none is given."""

MAX_CELLS = 200_000_000
"""Largest grid (buckets x products) that :func:`to_buckets` builds."""

_BUCKET_EXAMPLES = "1min, 5min, 15min or 1h"
_SAMPLE_ROWS = 1_000_000


def load_reports(
    sources: Source | Sequence[Source],
    *,
    bucket: str | pd.Timedelta | None = None,
    **read_options: Any,
) -> ReportData:
    """Read report files and bucket them: :func:`~spikes.reading.read_reports` then
    :func:`to_buckets`.

    Parameters
    ----------
    sources : path, file-like, or sequence of them
        As in :func:`~spikes.reading.read_reports`.
    bucket : str or pd.Timedelta, optional
        Bucket size, e.g. ``"5min"``; inferred when omitted (see :func:`infer_bucket`).
    **read_options
        Keyword options of :func:`~spikes.reading.read_reports` (``fmt``, ``tz``,
        ``timestamp_col``, ``product``, ...).

    Returns
    -------
    ReportData

    Raises
    ------
    SpikesInputError
        For unusable files or settings.

    Examples
    --------
    >>> data = load_reports("reports.csv", bucket="5min")  # doctest: +SKIP
    >>> data.counts.shape  # doctest: +SKIP
    (8064, 12)
    """
    return to_buckets(read_reports(sources, **read_options), bucket)


def infer_bucket(raw: RawReports) -> pd.Timedelta:
    """Guess the bucket size of the data.

    Raw report events get :data:`EVENTS_BUCKET` (5 minutes). For counts, the answer is
    the most common positive spacing between consecutive distinct timestamps of the
    same product, rounded to whole seconds; gaps and a few irregular rows do not change
    the most common spacing. Above two million rows, up to 50 products (spread over the
    sorted names) are used.

    Parameters
    ----------
    raw : RawReports

    Returns
    -------
    pd.Timedelta
        A positive whole number of seconds.

    Raises
    ------
    SpikesInputError
        If no product has two distinct timestamps, or the spacing is below one second.

    Examples
    --------
    >>> infer_bucket(raw)  # doctest: +SKIP
    Timedelta('0 days 00:05:00')
    """
    if raw.kind == "events":
        return EVENTS_BUCKET
    codes, stamps = _codes_and_micros(raw.table)
    spacing = _modal_spacing(*_sample(codes, stamps))
    if spacing is None and len(codes) > _SAMPLE_ROWS:
        spacing = _modal_spacing(codes, stamps)
    if spacing is None:
        raise SpikesInputError(
            "cannot infer the bucket size: no product has two different timestamps; "
            f"pass --bucket, e.g. --bucket 5min ({_BUCKET_EXAMPLES})"
        )
    seconds = round(spacing / 1_000_000)
    if seconds < 1:
        raise SpikesInputError(
            f"cannot infer the bucket size: the most common spacing is "
            f"{pd.Timedelta(microseconds=spacing)}, below one second; pass --bucket, "
            f"e.g. --bucket 1min"
        )
    return pd.Timedelta(seconds=seconds)


def to_buckets(raw: RawReports, bucket: str | pd.Timedelta | None = None) -> ReportData:
    """Sum reports per product and bucket on one regular grid.

    Timestamps are floored to the bucket grid, anchored at the Unix epoch (so 5-minute
    buckets start at :00, :05, ...). All rows of one product in one bucket are
    **summed**: for events that counts the reports; for counts it adds up breakdown rows
    (one row per region or category) and also duplicated rows, which are therefore
    counted twice. With a bucket equal to the data's spacing every row keeps its own
    bucket even at odd offsets (``21:42:53`` -> ``21:40``, ``21:47:53`` -> ``21:45``).

    The grid runs from the earliest to the latest bucket over all products. For events
    a bucket with no report is 0.0 (a real zero); for counts a bucket without a row for
    that product is NaN (missing, not zero).

    Parameters
    ----------
    raw : RawReports
        Output of :func:`~spikes.reading.read_reports`.
    bucket : str or pd.Timedelta, optional
        Bucket size: a fixed pandas offset such as ``"1min"``, ``"5min"``, ``"15min"``,
        ``"1h"``, or a Timedelta. Inferred with :func:`infer_bucket` when omitted.

    Returns
    -------
    ReportData
        ``counts`` has a UTC ``DatetimeIndex`` named ``timestamp`` with ``freq`` set
        and one float64 column per product, sorted by name. ``breakdown`` is a long
        table (``timestamp``, ``product``, ``region``, ``category``, ``reports``) when
        the input has region or category values (missing ones are ``"unknown"``), else
        None. ``kind``, ``rejected``, ``rows_read`` and ``sources`` are carried over.

    Raises
    ------
    SpikesInputError
        For an invalid bucket, an empty table, or a grid above :data:`MAX_CELLS` cells
        (usually a stray timestamp far from the others).

    Examples
    --------
    >>> data = to_buckets(read_reports("reports.csv"), "5min")  # doctest: +SKIP
    >>> data.counts.index.freq  # doctest: +SKIP
    <5 * Minutes>
    """
    size = infer_bucket(raw) if bucket is None else parse_bucket(bucket)
    step = size // pd.Timedelta(microseconds=1)
    codes, stamps = _codes_and_micros(raw.table)
    if len(codes) == 0:
        raise SpikesInputError(f"no reports to bucket in {', '.join(raw.sources) or 'the input'}")
    slots = stamps // step  # bucket number since the epoch
    first, last = int(slots.min()), int(slots.max())
    names, column_of = _sorted_products(raw.table, codes)
    n_rows = last - first + 1
    _check_grid(stamps, n_rows, len(names), size)
    reports = raw.table["reports"].to_numpy(np.float64)
    rows = slots - first
    counts = _grid(column_of[codes] * n_rows + rows, reports, n_rows, len(names), raw.kind)
    start = pd.Timestamp(first * step, unit="us", tz="UTC")
    index = pd.date_range(start, periods=n_rows, freq=size, name="timestamp", unit="us")
    return ReportData(
        counts=pd.DataFrame(counts, index=index, columns=pd.Index(names, dtype=object), copy=False),
        bucket=size,
        kind=raw.kind,
        breakdown=_breakdown(raw.table, slots * step),
        rejected=raw.rejected,
        rows_read=raw.rows_read,
        sources=raw.sources,
    )


def parse_bucket(bucket: str | pd.Timedelta) -> pd.Timedelta:
    """A positive bucket size from a pandas offset string or a Timedelta.

    Parameters
    ----------
    bucket : str or pd.Timedelta
        E.g. ``"5min"`` or ``pd.Timedelta(minutes=5)``.

    Returns
    -------
    pd.Timedelta

    Raises
    ------
    SpikesInputError
        If it is not a fixed, positive duration of at least one second.

    Examples
    --------
    >>> parse_bucket("15min")
    Timedelta('0 days 00:15:00')
    """
    problem = f"invalid bucket {bucket!r}: expected a fixed duration such as {_BUCKET_EXAMPLES}"
    if isinstance(bucket, str):
        try:
            size = pd.Timedelta(to_offset(bucket.strip()))
        except (ValueError, TypeError) as exc:
            raise SpikesInputError(problem) from exc
    else:
        try:
            size = pd.Timedelta(bucket)
        except (ValueError, TypeError) as exc:
            raise SpikesInputError(problem) from exc
    if pd.isna(size) or size < pd.Timedelta(seconds=1):
        raise SpikesInputError(f"{problem} (at least 1s)")
    if size % pd.Timedelta(microseconds=1):
        raise SpikesInputError(problem)
    return size


# ---------------------------------------------------------------------------- helpers


def _product_categorical(table: pd.DataFrame) -> pd.Series:
    product = table["product"]
    if isinstance(product.dtype, pd.CategoricalDtype):
        return product
    return product.astype("category")


def _codes_and_micros(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Product codes and timestamps as int64 microseconds since the epoch."""
    codes = _product_categorical(table).cat.codes.to_numpy(np.int64)
    stamps = table["timestamp"]
    if stamps.dt.tz is None:
        stamps = stamps.dt.tz_localize("UTC")
    micros = stamps.dt.tz_convert("UTC").to_numpy(dtype="datetime64[us]").view(np.int64)
    return codes, micros


def _sample(codes: np.ndarray, stamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first ``_SAMPLE_ROWS`` rows when the table is larger."""
    return codes[:_SAMPLE_ROWS], stamps[:_SAMPLE_ROWS]


def _modal_spacing(codes: np.ndarray, stamps: np.ndarray) -> int | None:
    """Most common positive gap (microseconds) between a product's distinct timestamps."""
    if len(codes) < 2:
        return None
    order = np.lexsort((stamps, codes))
    c, s = codes[order], stamps[order]
    gaps = np.diff(s)
    gaps = gaps[(c[1:] == c[:-1]) & (gaps > 0)]
    if not len(gaps):
        return None
    values, counts = np.unique(gaps, return_counts=True)
    return int(values[np.argmax(counts)])


def _sorted_products(table: pd.DataFrame, codes: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Observed product names sorted, and a map from code to column position."""
    categories = [str(c) for c in _product_categorical(table).cat.categories]
    observed = np.bincount(codes, minlength=len(categories)) > 0
    names = sorted(categories[i] for i in np.flatnonzero(observed))
    position = {name: i for i, name in enumerate(names)}
    column_of = np.array([position.get(c, -1) for c in categories], dtype=np.int64)
    return names, column_of


def _check_grid(stamps: np.ndarray, n_rows: int, n_cols: int, size: pd.Timedelta) -> None:
    """Refuse absurd grids, naming the earliest and latest timestamps."""
    if n_rows * n_cols <= MAX_CELLS:
        return
    first = pd.Timestamp(int(stamps.min()), unit="us", tz="UTC")
    last = pd.Timestamp(int(stamps.max()), unit="us", tz="UTC")
    raise SpikesInputError(
        f"the data spans {first} to {last}: {n_rows:,} buckets of {size} x {n_cols:,} "
        f"products = {n_rows * n_cols:,} cells, more than {MAX_CELLS:,}; check for a stray "
        "timestamp (e.g. a year 1900 next to current data) or pass a larger --bucket"
    )


def _grid(
    cells: np.ndarray, reports: np.ndarray, n_rows: int, n_cols: int, kind: str
) -> np.ndarray:
    """Sum reports into a (rows x columns) grid; count data gets NaN where no row fell.

    ``cells`` are column-major (``column * n_rows + row``) so that each product's series
    is contiguous in memory.
    """
    size = n_rows * n_cols
    sums = np.bincount(cells, weights=reports, minlength=size)
    if kind == "counts":
        present = np.zeros(size, dtype=bool)
        present[cells] = True
        sums[~present] = np.nan
    return sums.reshape(n_cols, n_rows).T


def _breakdown(table: pd.DataFrame, floored: np.ndarray) -> pd.DataFrame | None:
    """Reports by bucket, product, region and category, or None without such columns."""
    if not (table["region"].count() or table["category"].count()):
        return None
    frame = pd.DataFrame(
        {
            "timestamp": floored.astype("datetime64[us]"),
            "product": _labels(table["product"]),
            "region": _labels(table["region"]),
            "category": _labels(table["category"]),
            "reports": table["reports"].to_numpy(np.float64),
        }
    )
    keys = ["timestamp", "product", "region", "category"]
    out = frame.groupby(keys, observed=True, sort=True)["reports"].sum().reset_index()
    out["timestamp"] = out["timestamp"].dt.tz_localize("UTC")
    for key in ("product", "region", "category"):
        out[key] = out[key].astype(object).astype(str)
    return out


def _labels(values: pd.Series) -> pd.Categorical:
    """Categorical labels with missing values as "unknown"."""
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    cat = cat.cat.add_categories(["unknown"]) if "unknown" not in cat.cat.categories else cat
    return cat.fillna("unknown").array
