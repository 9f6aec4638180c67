"""Report files at scale: Parquet and CSV files, directories and globs, read per product.

:func:`open_dataset` scans the files once for what every partition needs to agree on
(the products, the time grid and the bucket size), reading two columns in batches, so
memory stays bounded whatever the number of rows. :func:`read_partition` then builds
the counts of a partition of products on that grid, reading only those products' rows
(with Parquet row-group statistics, the row groups of other products are skipped): each
Dask worker reads its own partitions and the whole table is never on one node.

The files hold long count data, one row per bucket and product: ``timestamp, product,
reports`` (the names of :data:`spikes.io.shapes.ALIASES`, or given). The grid and the
sums are those of :func:`spikes.io.buckets.to_buckets`, so the incidents are the same
as from the same rows in a CSV file.
"""

from __future__ import annotations

import glob
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds

from spikes.errors import SpikesInputError
from spikes.io.buckets import MAX_CELLS, check_sparse_grid, infer_bucket, parse_bucket
from spikes.io.shapes import ALIASES
from spikes.model import RawReports

__all__ = ["DATASET_SUFFIXES", "ProductDataset", "is_dataset_input", "open_dataset",
           "read_partition"]

#: File names read as Parquet; ``.csv`` and ``.csv.gz`` are read as CSV.
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz")
DATASET_SUFFIXES = PARQUET_SUFFIXES + CSV_SUFFIXES
_GLOB_CHARS = frozenset("*?[")
_SAMPLE_ROWS = 1_000_000
#: One product in so many (by a hash of its name) is sampled throughout the files for the
#: bucket's inference, beside the first rows.
_SPREAD = 64
#: Microseconds in a day (the occupancy of a dataset's span is taken by the day).
_DAY_US = 86_400_000_000
_BATCH_ROWS = 1 << 20
_ROLES = {"timestamp": "timestamp", "product": "product", "reports": "count"}
_OPTIONS = {"timestamp": "--timestamp-col", "product": "--product-col",
            "reports": "--count-col"}


@dataclass(frozen=True)
class ProductDataset:
    """Long count data in files, described well enough to read any partition of it.

    Attributes
    ----------
    files : tuple of (str, str)
        Each file and its format (``"parquet"`` or ``"csv"``).
    columns : tuple of dict
        Per file, its column of each role: ``timestamp``, ``product``, ``reports``.
    products : tuple of str
        Every product, sorted (the order of :func:`spikes.io.buckets.to_buckets`).
    start : pd.Timestamp
        Start of the first bucket (UTC).
    n_buckets : int
        Buckets of the grid shared by all products.
    bucket : pd.Timedelta
        Bucket size.
    rows : int
        Rows in the files.
    """

    files: tuple[tuple[str, str], ...]
    columns: tuple[dict[str, str], ...]
    products: tuple[str, ...]
    start: pd.Timestamp
    n_buckets: int
    bucket: pd.Timedelta
    rows: int
    #: Per file, whether a product name in it has spaces around it (its rows are then
    #: filtered on the names without them: a range on the names as written would miss
    #: them).
    padded: tuple[bool, ...] = ()
    #: Columns of the files that play no role (read as long counts: only the timestamp,
    #: product and count columns are read), in the order first met.
    ignored: tuple[str, ...] = ()
    #: Whether the buckets are the data's own spacing: then rows beyond one per product
    #: and bucket repeat it (a duplicated file?), and :func:`read_partition` counts them;
    #: at coarser buckets they add up by design.
    own_spacing: bool = True

    @property
    def index(self) -> pd.DatetimeIndex:
        """The time grid (bucket starts), as ``ReportData.counts.index``."""
        return pd.date_range(self.start, periods=self.n_buckets, freq=self.bucket,
                             name="timestamp", unit="us")

    @property
    def sources(self) -> tuple[str, ...]:
        """The files."""
        return tuple(path for path, _ in self.files)


def is_dataset_input(inputs: Sequence[str]) -> bool:
    """Whether `inputs` need the dataset reader: a directory, a glob or a Parquet file.

    Examples
    --------
    >>> is_dataset_input(["reports.csv"]), is_dataset_input(["data/*.parquet"])
    (False, True)
    """
    return any(os.path.isdir(p) or _GLOB_CHARS & set(str(p))
               or str(p).lower().endswith(PARQUET_SUFFIXES) for p in map(str, inputs))


def expand_inputs(inputs: Sequence[str]) -> list[tuple[str, str]]:
    """Files of `inputs` (directories searched recursively, globs expanded), each with
    its format; sorted within each input.

    Raises
    ------
    SpikesInputError
        For an input that names no file, or a file of another kind.
    """
    if isinstance(inputs, str | os.PathLike):  # one input, not its characters
        inputs = [inputs]  # type: ignore[list-item]
    found: list[tuple[str, str]] = []
    for item in map(str, inputs):
        if os.path.isdir(item):
            paths = sorted(p for p in glob.glob(os.path.join(item, "**", "*"), recursive=True)
                           if p.lower().endswith(DATASET_SUFFIXES) and os.path.isfile(p))
            what = f"directory {item!r} holds no {', '.join(DATASET_SUFFIXES)} file"
        elif _GLOB_CHARS & set(item):
            paths = sorted(p for p in glob.glob(item, recursive=True) if os.path.isfile(p))
            what = f"no file matches {item!r}"
        else:
            if not os.path.isfile(item):
                raise SpikesInputError(f"{item!r}: no such file")
            paths, what = [item], ""
        if not paths:
            raise SpikesInputError(what)
        for path in paths:
            lower = path.lower()
            if lower.endswith(PARQUET_SUFFIXES):
                found.append((path, "parquet"))
            elif lower.endswith(CSV_SUFFIXES):
                if lower.endswith(".gz") and not path.endswith(".gz"):
                    # pyarrow knows a gzip file by its lower-case suffix only: it read the
                    # compressed bytes as text ("Empty CSV file or block").
                    raise SpikesInputError(
                        f"{path!r}: the CSV files of a folder or glob are decompressed by "
                        f"their suffix in lower case: rename it to end in .gz, or give "
                        f"the file on its own")
                found.append((path, "csv"))
            else:
                raise SpikesInputError(f"{path!r}: expected a Parquet (.parquet) or CSV "
                                       "(.csv, .csv.gz) file of long count data")
    # One file named twice (``days`` and ``./days/``, a link) is read once.
    unique: dict[str, tuple[str, str]] = {}
    for path, fmt in found:
        unique.setdefault(os.path.realpath(path), (path, fmt))
    return list(unique.values())


def open_dataset(inputs: Sequence[str], *, bucket: str | pd.Timedelta | None = None,
                 timestamp_col: str | None = None, product_col: str | None = None,
                 count_col: str | None = None) -> ProductDataset:
    """Scan long count data in files for its products and time grid.

    Parameters
    ----------
    inputs : sequence of str
        Files, directories (searched recursively for Parquet and CSV files) and globs
        (``data/2026-*.parquet``).
    bucket : str or pd.Timedelta, optional
        Bucket size; inferred from the first million rows when omitted, as
        :func:`spikes.io.buckets.infer_bucket` does.
    timestamp_col, product_col, count_col : str, optional
        Column names, when not among :data:`spikes.io.shapes.ALIASES`.

    Returns
    -------
    ProductDataset

    Raises
    ------
    SpikesInputError
        Naming the file (and column) that cannot be read: not Parquet, a missing
        column, timestamps or counts of the wrong type, missing values.
    """
    files = expand_inputs(inputs)
    given = {"timestamp": timestamp_col, "product": product_col, "reports": count_col}
    columns = tuple(_columns(path, fmt, given) for path, fmt in files)
    low, high, rows = None, None, 0
    days: set[int] = set()  # the days holding a row (a stray timestamp leaves a gap)
    names: set[str] = set()
    padded = [False] * len(files)
    sample: list[pd.DataFrame] = []
    sampled = spread_rows = 0
    spread: dict[str, bool] = {}  # product -> in the spread sample
    for i, ((path, fmt), cols) in enumerate(zip(files, columns, strict=True)):
        for batch in _batches(path, fmt, cols, list(cols.values())):
            if batch.num_rows == 0:  # a file of a header only (a day without reports)
                continue
            stamps = _micros(batch.column(cols["timestamp"]), path, cols["timestamp"])
            products, spaced = _product_names(batch.column(cols["product"]), path,
                                              cols["product"])
            padded[i] = padded[i] or spaced
            rows += len(stamps)
            if len(stamps):
                low = int(stamps.min()) if low is None else min(low, int(stamps.min()))
                high = int(stamps.max()) if high is None else max(high, int(stamps.max()))
                days.update(np.unique(stamps // _DAY_US).tolist())
            here = pc.unique(products).to_pylist()
            names.update(here)
            # The first rows, and the rows of products spread over all names (a file
            # sorted by product would otherwise show the spacing of its first products
            # only), as the bucket of a single file is inferred from products spread
            # over its sorted names.
            keep = None
            if sampled < _SAMPLE_ROWS:
                keep = np.ones(len(stamps), dtype=bool)
                sampled += len(stamps)
            if spread_rows < _SAMPLE_ROWS:
                chosen = [n for n in here
                          if spread.setdefault(n, zlib.crc32(n.encode()) % _SPREAD == 0)]
                if chosen:
                    picked = pc.is_in(products, value_set=pa.array(chosen)).to_numpy(
                        zero_copy_only=False)
                    spread_rows += int(picked.sum())
                    keep = picked if keep is None else keep
            if keep is not None and keep.any():
                sample.append(pd.DataFrame({
                    "timestamp": pd.to_datetime(stamps[keep], unit="us", utc=True),
                    "product": products.to_numpy(zero_copy_only=False)[keep],
                    "reports": _reports(batch.column(cols["reports"]), path,
                                        cols["reports"], batch.column(cols["product"]),
                                        stamps)[keep],
                }))
    where = ", ".join(repr(p) for p, _ in files)
    if low is None or high is None:
        raise SpikesInputError(f"no reports in {where}")
    sampled_rows = RawReports(table=pd.concat(sample, ignore_index=True), kind="counts",
                              sources=tuple(p for p, _ in files))
    try:
        spacing: pd.Timedelta | None = infer_bucket(sampled_rows)
    except SpikesInputError:
        if bucket is None:
            raise
        spacing = None  # no product with two timestamps: nothing can repeat
    size = parse_bucket(bucket) if bucket is not None else spacing
    assert size is not None
    step = size // pd.Timedelta(microseconds=1)
    first, last = low // step, high // step
    # As a single file is checked (spikes.io.buckets.to_buckets), before any partition
    # grids the span: a year 2016 row among 2026 data, a time of 0. (Not its size: the
    # partitions bound that, read_partition.)
    n_buckets = int(last - first + 1)
    occupied = np.array(sorted(days), dtype=np.int64) * _DAY_US // step - first
    check_sparse_grid(np.clip(occupied, 0, n_buckets - 1), n_buckets, first * step, step,
                      where)
    return ProductDataset(files=tuple(files), columns=columns, products=tuple(sorted(names)),
                          start=pd.Timestamp(first * step, unit="us", tz="UTC"),
                          n_buckets=n_buckets, bucket=size, rows=rows,
                          padded=tuple(padded), own_spacing=spacing == size,
                          ignored=_ignored(files, columns))


def read_partition(dataset: ProductDataset, products: Sequence[str]) -> pd.DataFrame:
    """Counts of `products` on the dataset's grid, read from its files.

    Only the rows of these products are read (a range filter on the product column,
    which skips Parquet row groups of other products). Rows of one product and bucket
    are summed; a bucket without a row is NaN (missing), as in
    :func:`spikes.io.buckets.to_buckets`.

    Parameters
    ----------
    dataset : ProductDataset
        From :func:`open_dataset`.
    products : sequence of str
        Products of the partition, in the order of ``dataset.products``.

    Returns
    -------
    pd.DataFrame
        One float64 column per product (Fortran order: each series contiguous), the
        index :attr:`ProductDataset.index`; ``attrs["repeated"]`` the rows beyond one per
        product and bucket, which were summed (0 at buckets coarser than the data's).

    Raises
    ------
    SpikesInputError
        For a file that cannot be read, or a partition above
        :data:`spikes.io.buckets.MAX_CELLS` cells.
    """
    n_rows, names = dataset.n_buckets, list(products)
    if n_rows * len(names) > MAX_CELLS:
        raise SpikesInputError(f"a partition of {len(names):,} products x {n_rows:,} buckets "
                               f"is more than {MAX_CELLS:,} cells: use smaller partitions")
    step = dataset.bucket // pd.Timedelta(microseconds=1)
    first = dataset.start.value // 1000 // step
    position = pd.Index(names, dtype=object)
    cells, weights = [], []
    padded = dataset.padded or (False,) * len(dataset.files)
    for (path, fmt), cols, spaced in zip(dataset.files, dataset.columns, padded, strict=True):
        wanted = (_product_range(cols["product"], names[0], names[-1], trimmed=spaced)
                  if names and _is_text(_schema(path, fmt).field(cols["product"]).type)
                  else None)
        for batch in _batches(path, fmt, cols, list(cols.values()), where=wanted):
            if batch.num_rows == 0:
                continue
            column = position.get_indexer(
                _products(batch.column(cols["product"]), path, cols["product"])
                .to_numpy(zero_copy_only=False))
            keep = column >= 0
            if not keep.any():
                continue
            micros = _micros(batch.column(cols["timestamp"]), path, cols["timestamp"])
            slots = micros // step
            rows = slots[keep] - first
            outside = np.flatnonzero((rows < 0) | (rows >= n_rows))
            if len(outside):  # the file changed after the scan (an export still written)
                at = pd.Timestamp(int(slots[keep][outside[0]]) * step, unit="us", tz="UTC")
                raise SpikesInputError(
                    f"{path!r} changed after it was scanned: a row at {at} lies outside "
                    f"the span scanned ({dataset.start} to {dataset.index[-1]}); was it "
                    f"still being written? Run again once the files are complete")
            cells.append(column[keep] * n_rows + rows)
            weights.append(_reports(batch.column(cols["reports"]), path, cols["reports"],
                                    batch.column(cols["product"]), micros)[keep])
    size = n_rows * len(names)
    flat = np.concatenate(cells) if cells else np.empty(0, dtype=np.int64)
    sums = np.bincount(flat, weights=np.concatenate(weights) if weights else None,
                       minlength=size).astype(float)
    present = np.zeros(size, dtype=bool)
    present[flat] = True
    sums[~present] = np.nan
    grid = sums.reshape(len(names), n_rows).T
    out = pd.DataFrame(grid, index=dataset.index, columns=position, copy=False)
    # Rows beyond one per product and bucket (summed): a duplicated or overlapping file.
    out.attrs["repeated"] = (int(len(flat) - np.count_nonzero(present))
                             if dataset.own_spacing else 0)
    return out


# ---------------------------------------------------------------------------- helpers


def _columns(path: str, fmt: str, given: dict[str, str | None]) -> dict[str, str]:
    """The file's column of each role, by the given name or an alias."""
    names = _schema(path, fmt).names
    lower = {n.strip().lower(): n for n in names}
    out: dict[str, str] = {}
    for role, name in given.items():
        if name is not None:
            if name not in names:
                raise SpikesInputError(f"{path!r}: no column {name!r} (given by "
                                       f"{_OPTIONS[role]}); its columns: {', '.join(names)}")
            out[role] = name
            continue
        hit = next((lower[a] for a in ALIASES[_ROLES[role]] if a in lower), None)
        if hit is None:
            raise SpikesInputError(
                f"{path!r}: no {role} column (expected one of "
                f"{', '.join(ALIASES[_ROLES[role]])}, or name it with {_OPTIONS[role]}); its "
                f"columns: {', '.join(names)}. Files read as a dataset (Parquet, directories, "
                "globs) hold long count data: timestamp, product, reports")
        out[role] = hit
    return out


def _file_format(fmt: str, cols: dict[str, str] | None = None) -> str | ds.FileFormat:
    """How a file is read: a CSV file's product column as text (a product ``007`` keeps
    its name), and its empty cells, only those, as missing (a blank product name is no
    product ``""``: it is reported, as by the CSV reader; a product ``NA`` is one)."""
    if fmt != "csv":
        return fmt
    types = {} if cols is None else {cols["product"]: pa.string()}
    return ds.CsvFileFormat(convert_options=pacsv.ConvertOptions(
        column_types=types, strings_can_be_null=True, null_values=[""]))


def _ignored(files: Sequence[tuple[str, str]], columns: Sequence[dict[str, str]]
             ) -> tuple[str, ...]:
    """The files' columns other than those of a role, in the order first met."""
    out: dict[str, None] = {}
    for (path, fmt), cols in zip(files, columns, strict=True):
        used = set(cols.values())
        out.update((name, None) for name in _schema(path, fmt).names
                   if name not in used and name.strip())
    return tuple(out)


def _schema(path: str, fmt: str) -> pa.Schema:
    try:
        return ds.dataset(path, format=_file_format(fmt)).schema
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _unreadable(path, fmt, exc, "not a readable") from exc


def _batches(path: str, fmt: str, cols: dict[str, str], names: list[str],
             where: pc.Expression | None = None) -> Iterator[pa.RecordBatch]:
    """Record batches of the columns `names` of one file (rows matching `where`)."""
    try:
        data = ds.dataset(path, format=_file_format(fmt, cols))
        scanner = data.scanner(columns=names, filter=where, batch_size=_BATCH_ROWS,
                               use_threads=True)
        yield from scanner.to_batches()
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(path, fmt, exc, "cannot read the") from exc


def _unreadable(path: str, fmt: str, exc: Exception, what: str) -> SpikesInputError:
    """The error of a file the dataset reader cannot read, with what to do where known."""
    kind = "Parquet" if fmt == "parquet" else "CSV"
    if fmt == "csv" and "invalid UTF8" in str(exc):
        return SpikesInputError(
            f"{path!r}: not UTF-8 text; the CSV files of a folder or glob are read as "
            f"UTF-8: convert it (e.g. iconv -f latin1 -t utf-8), or give the file on its "
            f"own, whose encoding is detected ({str(exc).rpartition('Invalid: ')[2]})")
    return SpikesInputError(f"{path!r}: {what} {kind} file ({exc})")


def _product_range(column: str, low: str, high: str, *, trimmed: bool = False
                   ) -> pc.Expression:
    """Rows whose product lies in ``[low, high]`` (prunes Parquet row groups); on the
    names without spaces around them where `trimmed` (a file whose names have some)."""
    field = pc.field(column)
    if trimmed:
        field = pc.utf8_trim_whitespace(field)
    return (field >= low) & (field <= high)


def _is_text(kind: pa.DataType) -> bool:
    """Whether a column of this type holds text (a range filter on it works)."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _micros(column: pa.ChunkedArray | pa.Array, path: str, name: str) -> np.ndarray:
    """Timestamps as int64 microseconds since the epoch, UTC (naive ones are UTC)."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.dictionary_decode(), kind.value_type
    if column.null_count:
        raise SpikesInputError(f"{path!r}, column {name!r}: {column.null_count:,} missing "
                               "timestamps")
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        target = pa.timestamp("us", tz=getattr(kind, "tz", None))
        # safe=False: nanoseconds are cut to the microsecond (a single file keeps them no
        # finer either), not refused as "would lose data".
        return column.cast(target, safe=False).cast(pa.int64()).to_numpy(zero_copy_only=False)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        try:
            stamps = pd.to_datetime(column.to_numpy(zero_copy_only=False), utc=True,
                                    format="ISO8601")
        except (ValueError, TypeError) as exc:
            # pandas' first sentence (it goes on with advice on formats).
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            first = first.split(". You might")[0].rstrip(".:")
            raise SpikesInputError(f"{path!r}, column {name!r}: not ISO-8601 timestamps "
                                   f"({first})") from exc
        return stamps.floor("us").as_unit("us").asi8
    raise SpikesInputError(f"{path!r}, column {name!r}: expected timestamps, found {kind}")


def _products(column: pa.ChunkedArray | pa.Array, path: str, name: str) -> pa.Array:
    """Product names as a string array (spaces around them taken off)."""
    return _product_names(column, path, name)[0]


def _product_names(column: pa.ChunkedArray | pa.Array, path: str, name: str
                   ) -> tuple[pa.Array, bool]:
    """Product names as a string array, and whether any had spaces around it as written
    (decoded once: the scan of :func:`open_dataset` reads every row)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if column.null_count:
        raise SpikesInputError(f"{path!r}, column {name!r}: {column.null_count:,} missing "
                               "product names")
    written = column.cast(pa.string())
    # Spaces around a name are no part of it (" Outlook" is Outlook), as in a CSV file.
    text = pc.utf8_trim_whitespace(written)
    if pc.any(pc.equal(text, "")).as_py():
        blank = int(pc.sum(pc.equal(text, "")).as_py())
        raise SpikesInputError(f"{path!r}, column {name!r}: {blank:,} blank product names")
    textual = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    return text, textual and bool(pc.any(pc.not_equal(written, text)).as_py())


def _reports(column: pa.ChunkedArray | pa.Array, path: str, name: str,
             products: pa.ChunkedArray | pa.Array | None = None,
             micros: np.ndarray | None = None) -> np.ndarray:
    """Counts as float64; an invalid one is named by its product and time (`products`,
    `micros`: the batch's product names and timestamps in microseconds) where given."""
    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        raise SpikesInputError(f"{path!r}, column {name!r}: expected numbers of reports, "
                               f"found {kind}")
    if column.null_count:
        raise SpikesInputError(f"{path!r}, column {name!r}: {column.null_count:,} missing "
                               "counts")
    values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        where = ""
        if products is not None and micros is not None:
            at = pd.Timestamp(int(micros[first]), unit="us", tz="UTC")
            where = f", product {str(products[first].as_py()).strip()!r} at {at}"
        raise SpikesInputError(f"{path!r}, column {name!r}: {int(bad.sum()):,} counts that "
                               f"are not finite numbers >= 0 (the first: "
                               f"{float(values[first])!r}{where}); fix or remove those "
                               "rows")
    return values
