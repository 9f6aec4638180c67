"""Turn raw reports into one regular time series per product.

:func:`to_buckets` floors every timestamp to a grid of fixed-size buckets anchored at the
Unix epoch (5-minute buckets start at :00, :05, ...), sums the reports of each product in
each bucket and lays them out on one regular grid shared by all products.
:func:`load_reports` reads and buckets in one call; it is what the CLI and the
dashboard use. Above :data:`STREAM_THRESHOLD` bytes of input it streams: the files are
read block by block (:func:`~spikes.io.reading.read_report_blocks`) and each block is summed
into its (bucket, product, region, category) cells at once, so memory grows with the
number of cells, not with the number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from spikes.errors import SpikesInputError
from spikes.io.reading import (
    EventSpans,
    Source,
    add_event_spans,
    case_variants,
    estimate_size,
    overlap_note,
    read_report_blocks,
    read_reports,
)
from spikes.io.spacing import coarser_products, spacing_changes
from spikes.model import RawReports, ReportData, bucket_text, empty_rejected

__all__ = [
    "EVENTS_BUCKET",
    "MAX_CELLS",
    "MAX_SPARSE_BUCKETS",
    "STREAM_THRESHOLD",
    "events_from_first",
    "infer_bucket",
    "load_reports",
    "to_buckets",
]

EVENTS_BUCKET = pd.Timedelta(minutes=5)
"""Bucket size for raw report events when none is given."""

#: Distinct event timestamps, all on whole days (or hours), from which events are
#: counted per day (or hour): their timestamps say no more.
MIN_COARSE_EVENTS = 10
_COARSE_EVENT_BUCKETS = (pd.Timedelta(days=1), pd.Timedelta(hours=1))

MAX_CELLS = 200_000_000
"""Largest grid (buckets x products) that :func:`to_buckets` builds."""

MAX_SPARSE_BUCKETS = 1_000_000
"""Above this many buckets, a grid that is empty over 90 % of its span is refused: it is
the mark of a stray timestamp (a year 1900 or 2200 among current data)."""

STRAY_GAP = pd.Timedelta(days=364)
"""A gap of this long or longer without any data that is also over 90 % of the span is
refused however few buckets the grid holds: a mistyped year (2027 among two weeks of
2026) would otherwise stretch the grid to a year and shrink every rate per week (the live
service refuses such a gap as well)."""

STREAM_THRESHOLD = 1 << 30
"""Estimated input size (decompressed bytes) above which :func:`load_reports` streams."""

_COMPACT_ROWS = 2_000_000  # re-sum the streamed cells when they grow past this
_KEYS = ["timestamp", "product", "region", "category"]

_BUCKET_EXAMPLES = "1min, 5min, 15min or 1h"
_SAMPLE_ROWS = 1_000_000


def load_reports(
    sources: Source | pd.DataFrame | Sequence[Source | pd.DataFrame],
    *,
    bucket: str | pd.Timedelta | None = None,
    streaming: bool | None = None,
    **read_options: Any,
) -> ReportData:
    """Read report files and bucket them: :func:`~spikes.io.reading.read_reports` then
    :func:`to_buckets`, or the same in a streaming pass for big input.

    Parameters
    ----------
    sources : path, file-like, DataFrame, or sequence of them
        As in :func:`~spikes.io.reading.read_reports`.
    bucket : str or pd.Timedelta, optional
        Bucket size, e.g. ``"5min"``; inferred when omitted (see :func:`infer_bucket`).
    streaming : bool, optional
        Read block by block with bounded memory (see
        :func:`~spikes.io.reading.read_report_blocks`). By default, when the input's
        estimated decompressed size is above :data:`STREAM_THRESHOLD`. The result is
        the same as without streaming (sums may differ in the last bits of fractional
        counts); to infer the bucket of count data, the first million rows are used.
    **read_options
        Keyword options of :func:`~spikes.io.reading.read_reports` (``fmt``, ``tz``,
        ``timestamp_col``, ``product``, ``progress``, ...); with streaming also
        ``block_bytes``.

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
    if streaming is None:
        streaming = estimate_size(sources) > STREAM_THRESHOLD
    if not streaming:
        read_options.pop("block_bytes", None)
        return to_buckets(read_reports(sources, **read_options), bucket)
    return _stream_buckets(sources, bucket, read_options)


def _stream_buckets(
    sources: Source | pd.DataFrame | Sequence[Source | pd.DataFrame],
    bucket: str | pd.Timedelta | None,
    read_options: dict[str, Any],
) -> ReportData:
    """:func:`load_reports` block by block: sum each block into cells, then grid them."""
    size = None if bucket is None else parse_bucket(bucket)
    pending: list[RawReports] = []  # raw blocks kept until the bucket size is known
    cells: _CellSums | None = None
    rejected: list[pd.DataFrame] = []
    names: dict[str, None] = {}
    ignored: dict[str, None] = {}
    notes: dict[str, None] = {}
    spans: EventSpans = {}  # each product's first and last report in each event file
    rows_read, kind = 0, "events"
    sample: list[RawReports] = []  # the first blocks, for the data's own spacing
    for block in read_report_blocks(sources, **read_options):
        if _rows(sample) < _SAMPLE_ROWS:
            sample.append(block)
        rows_read += block.rows_read
        kind = block.kind
        names.update(dict.fromkeys(block.sources))
        ignored.update(dict.fromkeys(block.ignored))
        notes.update(dict.fromkeys(block.notes))
        if kind == "events" and len(block.sources) == 1:
            add_event_spans(spans, block.table, block.sources[0])
        if len(block.rejected):
            rejected.append(block.rejected)
        if cells is None:
            pending.append(block)
            if kind == "counts" and size is None and _rows(pending) < _SAMPLE_ROWS:
                continue
            if size is None:
                size = infer_bucket(_joined(pending, kind, names))
            cells = _CellSums(size)
            for held in pending:
                cells.add(held.table)
            pending = []
        else:
            cells.add(block.table)
    if cells is None:  # fewer rows than the sample: infer from all of them
        size = infer_bucket(_joined(pending, kind, names)) if size is None else size
        cells = _CellSums(size)
        for held in pending:
            cells.add(held.table)
    frames = [r for r in rejected if len(r)]
    table = cells.table()
    raw = RawReports(
        table=table,
        kind=kind,  # type: ignore[arg-type]
        rejected=pd.concat(frames, ignore_index=True) if frames else empty_rejected(),
        rows_read=rows_read,
        sources=tuple(names),
        ignored=tuple(ignored),
        notes=(*notes, *case_variants(table["product"]), *overlap_note(spans)),
    )
    data = _to_grid(raw, size)
    # The rows behind the summed cells, counted as to_buckets counts a table's rows.
    counts = data.counts.to_numpy(dtype=float)
    repeated = _repeated_rows(raw, cells.rows_added, counts, size,
                              sample=_joined(sample, kind, names) if sample else raw,
                              spacing=size if bucket is None else None)
    which = _repeated_note(cells.rows_by_product, data.counts) if repeated else ()
    return replace(data, repeated=repeated,
                   notes=(*data.notes, *which, *_spacing_notes(data)))


def _rows(blocks: list[RawReports]) -> int:
    return sum(len(b.table) for b in blocks)


def _joined(blocks: list[RawReports], kind: str, names: dict[str, None]) -> RawReports:
    table = pd.concat([b.table for b in blocks], ignore_index=True)
    return RawReports(table=table, kind=kind, sources=tuple(names))  # type: ignore[arg-type]


class _CellSums:
    """Reports summed per (bucket start, product, region, category), block by block.

    Memory is bounded by the number of distinct cells: the partial sums are re-summed
    whenever they have grown past twice their size after the last re-summing.
    """

    def __init__(self, size: pd.Timedelta) -> None:
        self.step = size // pd.Timedelta(microseconds=1)
        self.parts: list[pd.DataFrame] = []
        self.rows = 0
        self.rows_added = 0  # rows of the input summed so far
        self.rows_by_product: dict[str, int] = {}  # the same, per product
        self.limit = _COMPACT_ROWS

    def add(self, table: pd.DataFrame) -> None:
        if not len(table):
            return
        self.rows_added += len(table)
        for product, n in table["product"].value_counts(sort=False).items():
            if n:
                key = str(product)
                self.rows_by_product[key] = self.rows_by_product.get(key, 0) + int(n)
        _, micros = _codes_and_micros(table)
        slots = micros // self.step
        first = int(slots.min())
        labels = [_as_categorical(table[k]) for k in ("product", "region", "category")]
        # One integer per cell: bucket, then the codes (missing = -1, stored as 0).
        sizes = [int(slots.max()) - first + 1] + [len(c.categories) + 1 for c in labels]
        if float(np.prod(np.array(sizes, dtype=np.float64))) >= 2.0**62:  # pragma: no cover
            raise SpikesInputError("too many distinct cells in one block to bucket them")
        key = slots - first
        for cat, size in zip(labels, sizes[1:], strict=True):
            key = key * size + (cat.codes.astype(np.int64) + 1)
        cell, index = np.unique(key, return_inverse=True)
        sums = np.bincount(index, weights=table["reports"].to_numpy(np.float64))
        columns: dict[str, Any] = {}
        for name, cat, size in zip(
            ("category", "region", "product"), labels[::-1], sizes[:0:-1], strict=True
        ):
            codes = cell % size - 1
            cell = cell // size
            names = np.append(np.asarray(cat.categories, dtype=object), None)
            columns[name] = names[codes]  # code -1 picks the trailing None
        part = pd.DataFrame(
            {
                "timestamp": (cell + first) * self.step,
                "product": columns["product"],
                "region": columns["region"],
                "category": columns["category"],
                "reports": sums,
            }
        )
        self._append(part)

    def _append(self, part: pd.DataFrame) -> None:
        self.parts.append(part)
        self.rows += len(part)
        if self.rows > self.limit and len(self.parts) > 1:
            merged = _sum_cells(pd.concat(self.parts, ignore_index=True))
            self.parts, self.rows = [merged], len(merged)
            self.limit = max(_COMPACT_ROWS, 2 * self.rows)

    def table(self) -> pd.DataFrame:
        """The cells as a reading table (one row per cell, bucket starts as timestamps)."""
        if self.parts:
            cells = _sum_cells(pd.concat(self.parts, ignore_index=True))
        else:
            cells = pd.DataFrame({k: pd.Series(dtype=object) for k in _KEYS})
            cells["timestamp"] = cells["timestamp"].astype(np.int64)
            cells["reports"] = pd.Series(dtype=np.float64)
        stamps = cells["timestamp"].to_numpy(np.int64).astype("datetime64[us]")
        return pd.DataFrame(
            {
                "timestamp": pd.Series(stamps).dt.tz_localize("UTC"),
                "product": cells["product"].astype("category").to_numpy(),
                "reports": cells["reports"].to_numpy(np.float64),
                "region": cells["region"].astype("category").to_numpy(),
                "category": cells["category"].astype("category").to_numpy(),
            }
        )


def _as_categorical(values: pd.Series) -> pd.Categorical:
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    return cat.array  # type: ignore[return-value]


def _sum_cells(frame: pd.DataFrame) -> pd.DataFrame:
    grouped = frame.groupby(_KEYS, dropna=False, sort=False, observed=True)["reports"].sum()
    return grouped.reset_index()


def infer_bucket(raw: RawReports) -> pd.Timedelta:
    """Guess the bucket size of the data.

    Raw report events get :data:`EVENTS_BUCKET` (5 minutes), or the coarser resolution
    of their timestamps when all of them (at least :data:`MIN_COARSE_EVENTS` distinct
    ones, or ten times as many reports) fall on whole days or whole hours: an export
    with dates only is counted per day, not into one 5-minute bucket a day. For counts,
    the answer is
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
        return _events_bucket(_codes_and_micros(raw.table)[1])
    codes, stamps = _codes_and_micros(raw.table)
    spacing = _modal_spacing(*_sample(codes, stamps))
    if spacing is None and len(codes) > _SAMPLE_ROWS:
        spacing = _modal_spacing(codes, stamps)
    if spacing is None:
        raise SpikesInputError(
            f"cannot infer the bucket size of {_files(raw)}: no product has two different "
            "timestamps; "
            f"pass --bucket, e.g. --bucket 5min ({_BUCKET_EXAMPLES})"
        )
    seconds = round(spacing / 1_000_000)
    if seconds < 1:
        raise SpikesInputError(
            f"cannot infer the bucket size of {_files(raw)}: the most common spacing is "
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
    a bucket with no report is 0.0 (a real zero) from the product's first report on, NaN
    before it (a product first seen later has no history of silence); for counts a
    bucket without a row for that product is NaN (missing, not zero).

    Parameters
    ----------
    raw : RawReports
        Output of :func:`~spikes.io.reading.read_reports`.
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
        For an invalid bucket, an empty table, a grid above :data:`MAX_CELLS` cells, or
        one above :data:`MAX_SPARSE_BUCKETS` buckets that is one gap over 90 % of its
        span (both usually a stray timestamp far from the others). Messages name the
        input files.

    Examples
    --------
    >>> data = to_buckets(read_reports("reports.csv"), "5min")  # doctest: +SKIP
    >>> data.counts.index.freq  # doctest: +SKIP
    <5 * Minutes>
    """
    size = infer_bucket(raw) if bucket is None else parse_bucket(bucket)
    data = _to_grid(raw, size)
    # An inferred bucket is the data's own spacing; a given one is compared with it.
    repeated = _repeated_rows(raw, len(raw.table), data.counts.to_numpy(dtype=float), size,
                              sample=raw, spacing=size if bucket is None else None)
    which = ()
    if repeated:
        rows = raw.table["product"].astype(str).value_counts()
        which = _repeated_note(dict(zip(rows.index, rows.to_numpy(), strict=True)),
                               data.counts)
    return replace(data, repeated=repeated,
                   notes=(*data.notes, *which, *_spacing_notes(data)))


def _spacing_notes(data: ReportData) -> tuple[str, ...]:
    """:func:`spikes.io.spacing.spacing_changes` and
    :func:`spikes.io.spacing.coarser_products` of count data (none for events)."""
    if data.kind != "counts":
        return ()
    return (spacing_changes(data.counts, data.bucket)
            + coarser_products(data.counts, data.bucket))


def check_span(raw: RawReports, bucket: str | pd.Timedelta,
               beside: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> None:
    """The checks :func:`to_buckets` makes of the span of `raw` on a grid of `bucket`,
    without making the grid: a stray timestamp far from the others (a year 1900 among
    current data) is refused, naming the files (``spikes ingest``: such a row in a store
    would make every later reader grid the whole span).

    Parameters
    ----------
    raw : RawReports
    bucket : str or pd.Timedelta
    beside : (pd.Timestamp, pd.Timestamp), optional
        The span of the data `raw` joins (a store's earliest and latest report), taken as
        held throughout: a file of 1900 alone, added to 2026 data, is refused too.

    Raises
    ------
    SpikesInputError
        As :func:`to_buckets` for a grid mostly one gap, or (without `beside`) too
        large.
    """
    size = parse_bucket(bucket)
    codes, stamps = _codes_and_micros(raw.table)
    if len(codes) == 0:
        return
    step = size // pd.Timedelta(microseconds=1)
    slots = stamps // step
    if beside is not None:  # the joined span's buckets, as if each held a row
        low, high = (int(t.value // 1000) // step for t in beside)
        slots = np.concatenate([slots, np.arange(low, high + 1, max((high - low) // 4096, 1)),
                                [high]])
    first, last = int(slots.min()), int(slots.max())
    n_rows = last - first + 1
    if beside is None:  # (the size of a store's grid is its readers' to bound)
        check_grid_size(stamps, n_rows, len(np.unique(codes)), size, _files(raw))
    check_sparse_grid(slots - first, n_rows, first * step, step, _files(raw))


def _to_grid(raw: RawReports, size: pd.Timedelta) -> ReportData:
    """:func:`to_buckets` with a known bucket size, without counting repeated rows."""
    step = size // pd.Timedelta(microseconds=1)
    codes, stamps = _codes_and_micros(raw.table)
    if len(codes) == 0:
        raise SpikesInputError(f"no reports to bucket in {', '.join(raw.sources) or 'the input'}")
    slots = stamps // step  # bucket number since the epoch
    first, last = int(slots.min()), int(slots.max())
    names, column_of = _sorted_products(raw.table, codes)
    n_rows = last - first + 1
    check_grid_size(stamps, n_rows, len(names), size, _files(raw))
    check_sparse_grid(slots - first, n_rows, first * step, step, _files(raw))
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
        ignored=raw.ignored,
        notes=raw.notes,
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


def _repeated_rows(raw: RawReports, input_rows: int, counts: np.ndarray,
                   size: pd.Timedelta, sample: RawReports,
                   spacing: pd.Timedelta | None = None) -> int:
    """Rows of count data beyond one per product and bucket, where the bucket is the
    data's own spacing (`spacing`, or inferred from `sample`); 0 for events, for rows
    split by region or category (which add up by design) and for buckets coarser than
    the data's."""
    if raw.kind != "counts" or _has_breakdown(raw.table):
        return 0
    try:
        if (spacing or infer_bucket(sample)) != size:
            return 0
    except SpikesInputError:  # no product with two timestamps: nothing can repeat
        return 0
    return max(input_rows - int(np.count_nonzero(~np.isnan(counts))), 0)


#: Products a note of repeated rows names; the rest are counted.
REPEATED_NAMED = 5


def _repeated_note(rows: dict[str, int], counts: pd.DataFrame) -> tuple[str, ...]:
    """Which products the repeated rows of count data are of (rows beyond one per bucket
    with data), most first: ``("the repeated rows are of Outlook (12), Teams (3)",)``."""
    cells = {str(c): int(n) for c, n in counts.notna().sum().items()}
    extra = sorted(((n - cells.get(p, 0), p) for p, n in rows.items()
                    if n > cells.get(p, 0)), key=lambda item: (-item[0], item[1]))
    if not extra:
        return ()
    named = ", ".join(f"{p} ({n:,})" for n, p in extra[:REPEATED_NAMED])
    more = len(extra) - REPEATED_NAMED
    tail = f" and {more} more product(s)" if more > 0 else ""
    return (f"the repeated rows (a bucket of a product given more than once) are of "
            f"{named}{tail}",)


def _has_breakdown(table: pd.DataFrame) -> bool:
    """Whether any row has a region or a category (without a pass over the rows when
    the columns are categoricals with no category, as read)."""
    for column in ("region", "category"):
        values = table[column]
        if isinstance(values.dtype, pd.CategoricalDtype) and not len(values.cat.categories):
            continue
        if values.count():
            return True
    return False


def _codes_and_micros(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Product codes and timestamps as int64 microseconds since the epoch."""
    codes = _product_categorical(table).cat.codes.to_numpy(np.int64)
    stamps = table["timestamp"]
    if stamps.dt.tz is None:
        stamps = stamps.dt.tz_localize("UTC")
    micros = stamps.dt.tz_convert("UTC").to_numpy(dtype="datetime64[us]").view(np.int64)
    return codes, micros


def _events_bucket(stamps: np.ndarray) -> pd.Timedelta:
    """:data:`EVENTS_BUCKET`, or a day when every timestamp is a whole one, or an hour
    when every timestamp lies at one minute of its hour (whole hours of a zone half an
    hour off UTC, India's, are at :30 in UTC: they were counted per 5 minutes)."""
    distinct = np.unique(stamps)
    if len(distinct) >= MIN_COARSE_EVENTS or len(stamps) >= 10 * MIN_COARSE_EVENTS:
        for size in _COARSE_EVENT_BUCKETS:
            phase = distinct % (size // pd.Timedelta(microseconds=1))
            if not phase.any() or (size < pd.Timedelta(days=1)
                                   and len(distinct) >= MIN_COARSE_EVENTS
                                   and (phase == phase[0]).all()
                                   and not phase[0] % 60_000_000):
                return size
    return EVENTS_BUCKET


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


def _files(raw: RawReports) -> str:
    """The input files for a message: ``'a.csv'`` or ``'a.csv', 'b.csv'``."""
    return ", ".join(repr(s) for s in raw.sources) or "the input"


def check_grid_size(
    stamps: np.ndarray, n_rows: int, n_cols: int, size: pd.Timedelta, files: str
) -> None:
    """Refuse a grid of more than :data:`MAX_CELLS` cells, naming the earliest and latest
    timestamps (`stamps`, microseconds since the epoch)."""
    if n_rows * n_cols <= MAX_CELLS:
        return
    first = pd.Timestamp(int(stamps.min()), unit="us", tz="UTC")
    last = pd.Timestamp(int(stamps.max()), unit="us", tz="UTC")
    raise SpikesInputError(
        f"{files}: the data spans {first} to {last}: {n_rows:,} buckets of {size} x {n_cols:,} "
        f"products = {n_rows * n_cols:,} cells, more than {MAX_CELLS:,}; check for a stray "
        "timestamp (e.g. a year 1900 next to current data) or pass a larger --bucket"
    )


def check_sparse_grid(rows: np.ndarray, n_rows: int, start: int, step: int,
                      files: str) -> None:
    """Refuse a grid that is empty over 90 % of its span (a stray timestamp), naming the
    buckets on either side of the gap, where the grid holds more than
    :data:`MAX_SPARSE_BUCKETS` buckets or the gap lasts :data:`STRAY_GAP` or more.
    ``rows`` are grid rows, ``start`` the first bucket's start and ``step`` the bucket
    size, both in microseconds."""
    if n_rows <= MAX_SPARSE_BUCKETS and n_rows * step < STRAY_GAP / pd.Timedelta("1us"):
        return
    present = np.zeros(n_rows, dtype=bool)
    present[rows] = True
    occupied = np.flatnonzero(present)
    gaps = np.diff(occupied)
    if not len(gaps):
        return
    k = int(np.argmax(gaps))
    long_gap = gaps[k] * step >= STRAY_GAP / pd.Timedelta("1us")
    if gaps[k] <= 0.9 * n_rows or not (n_rows > MAX_SPARSE_BUCKETS or long_gap):
        return

    def at(row: int) -> pd.Timestamp:
        return pd.Timestamp(start + row * step, unit="us", tz="UTC")

    raise SpikesInputError(
        f"{files}: the data spans {at(0)} to {at(n_rows - 1)} ({n_rows:,} buckets of "
        f"{bucket_text(pd.Timedelta(microseconds=step))}) but has nothing between "
        f"{at(int(occupied[k]))} and {at(int(occupied[k + 1]))}, {gaps[k] / n_rows:.1%} of "
        "the span; check for a stray timestamp (e.g. a year 1900 or 2200 among current "
        "data, or a mistyped year) and fix or remove that row"
        + (", or pass a larger --bucket" if n_rows > MAX_SPARSE_BUCKETS and not long_gap
           else "")
    )


def _grid(
    cells: np.ndarray, reports: np.ndarray, n_rows: int, n_cols: int, kind: str
) -> np.ndarray:
    """Sum reports into a (rows x columns) grid; count data gets NaN where no row fell,
    report events before the product's first report (its data begin there: zeros before
    it would be a history of silence that a product first seen later never had).

    ``cells`` are column-major (``column * n_rows + row``) so that each product's series
    is contiguous in memory.
    """
    size = n_rows * n_cols
    sums = np.bincount(cells, weights=reports, minlength=size)
    if kind == "counts":
        present = np.zeros(size, dtype=bool)
        present[cells] = True
        sums[~present] = np.nan
    else:
        first = np.full(n_cols, n_rows)
        np.minimum.at(first, cells // n_rows, cells % n_rows)
        grid = sums.reshape(n_cols, n_rows)
        grid[np.arange(n_rows)[None, :] < first[:, None]] = np.nan
    return sums.reshape(n_cols, n_rows).T


def events_from_first(values: np.ndarray, started: np.ndarray | None = None) -> np.ndarray:
    """Report-event counts (rows x products, NaN where no report came) with their real
    zeros: 0 where no report came from each product's first report on, NaN before it (a
    product first seen later has no history of silence), as :func:`to_buckets` grids
    events. Products flagged in `started` had their first report before these rows:
    zeros throughout.

    Examples
    --------
    >>> events_from_first(np.array([[np.nan, np.nan], [1.0, np.nan], [np.nan, np.nan]]),
    ...                   np.array([False, True])).tolist()
    [[nan, 0.0], [1.0, 0.0], [0.0, 0.0]]
    """
    seen = ~np.isnan(values)
    first = np.where(seen.any(axis=0), seen.argmax(axis=0), len(values))
    if started is not None:
        first = np.where(started, 0, first)
    after = np.arange(len(values))[:, None] >= first[None, :]
    return np.where(after & ~seen, 0.0, values)


def _breakdown(table: pd.DataFrame, floored: np.ndarray) -> pd.DataFrame | None:
    """Reports by bucket, product, region and category, or None without such columns."""
    if not _has_breakdown(table):
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
