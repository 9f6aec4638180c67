"""``spikes ingest``: append report exports to a service store, idempotently."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from spikes.cli.inputs import add_reading_options, reading_options
from spikes.errors import SpikesInputError
from spikes.model import bucket_text

if TYPE_CHECKING:
    from spikes.service.store import Store

#: Bucket of a store that no service has run on yet (that of ``spikes serve``).
DEFAULT_BUCKET = "5min"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="append report CSVs to a service store (the same file twice counts once)",
        description="Read report CSVs (any shape `spikes analyze` reads) and append each "
                    "to the DuckDB store as one batch whose id is the file's content hash.",
    )
    p.add_argument("inputs", nargs="+", metavar="FILE", help="report CSV file(s), .gz allowed")
    p.add_argument("--store", default="spikes.duckdb", help="DuckDB file (default %(default)s)")
    p.add_argument("--bucket", default=None,
                   help="bucket size, to count reports of closed buckets as late "
                        f"(default: the store's, {DEFAULT_BUCKET} for a new store)")
    add_reading_options(p, tz_for="the report files")
    p.set_defaults(run=_run_ingest)


def file_digest(path: str) -> str:
    """``sha256:<hex>`` of a file's bytes: its batch id."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise SpikesInputError(f"cannot read {path}: {exc.strerror}") from None
    return f"sha256:{digest.hexdigest()}"


def _run_ingest(args: argparse.Namespace) -> int:
    from spikes.io.buckets import check_span, parse_bucket
    from spikes.io.reading import describe_rejected, read_reports
    from spikes.service.store import Store, batch_from_raw

    given = None if args.bucket is None else parse_bucket(args.bucket)
    for path in args.inputs:
        if not Path(path).is_file():
            raise SpikesInputError(f"no such file: {path}")
    created = args.store != ":memory:" and not Path(args.store).exists()
    store = Store(args.store)
    done = False
    try:
        bucket = _bucket(given, store.bucket, args.store)
        for path in args.inputs:
            raw = read_reports(path, **reading_options(args))
            # A stray timestamp, as `spikes analyze` of the file says, or far from the store's.
            check_span(raw, bucket, store.span())
            for note in raw.notes:
                print(f"note: {note}", file=sys.stderr)
            if len(raw.rejected):
                print(describe_rejected(raw.rejected), file=sys.stderr)
            digest = file_digest(path)
            held = _held_already(store, raw.table, digest)
            if held == "all":
                print(f"{path}: skipped: the store holds every report of it already, the "
                      "same count of each product at each time (a copy or a part of a file "
                      "ingested before: recompressed, renamed or cut); ingesting it would "
                      "count them twice")
                continue
            if held:
                print(f"note: {path}: the store holds reports of {held} in this file's "
                      "time already: an export that overlaps one ingested before counts "
                      "the overlap twice (exports of other regions or feeds add up, as "
                      "they should)", file=sys.stderr)
            result = store.append(batch_from_raw(raw.table), digest, bucket=bucket,
                                  kind=raw.kind)
            print(f"{path}: accepted {result.accepted}, duplicates {result.duplicates}, "
                  f"late {result.late}")
        done = True
    finally:
        _close(store, remove=created and not done)
    return 0


def _close(store: Store, *, remove: bool) -> None:
    """Close `store`; with `remove` (an ingest that failed into a store it created),
    delete its files when it holds no report, so that no empty store is left behind for
    ``analyze --store`` or ``serve`` to find."""
    try:
        empty = remove and store.count_reports() == 0
    except Exception:  # noqa: BLE001 - a store that cannot be read is kept as it is
        empty = False
    store.close()
    if empty:
        for leftover in (Path(store.path), Path(store.path + ".wal")):
            leftover.unlink(missing_ok=True)


def _held_already(store: Store, table: pd.DataFrame, digest: str) -> str:
    """``"all"`` when the store holds every report of `table` already (the same count of
    each product at each of its timestamps, in each region and category) under another
    batch; else the products (a
    text naming up to three) whose reports it holds in that time; empty when none (or
    when the store holds this very file, which :meth:`Store.append` skips as a batch)."""
    if table.empty or store.has_batch(digest):
        return ""
    products = sorted(table["product"].astype(str).unique())
    start, end = table["timestamp"].min(), table["timestamp"].max()
    held = store.held_counts(products, start, end)
    if held.empty:
        return ""
    keys = ["product", "timestamp", "region", "category"]  # another region's adds up
    mine = (table.assign(product=table["product"].astype(str),
                         region=table["region"].astype(object).fillna("").astype(str),
                         category=table["category"].astype(object).fillna("").astype(str))
            .groupby(keys, observed=True)["reports"].sum())
    theirs = held.set_index(keys)["count"]
    matched = theirs.reindex(mine.index).to_numpy(dtype=float)
    if np.allclose(mine.to_numpy(dtype=float), matched):  # NaN (not held) never matches
        return "all"
    names = sorted(held["product"].unique())
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _bucket(given: pd.Timedelta | None, stored: pd.Timedelta | None, store: str
            ) -> pd.Timedelta:
    """The bucket that judges reports late: the store's, which ``--bucket`` may only
    repeat (another size would call reports of open buckets late, or late ones on time)."""
    if stored is not None and given is not None and given != stored:
        raise SpikesInputError(
            f"--bucket {bucket_text(given)}: the store {store} is of "
            f"{bucket_text(stored)} buckets (its service's); leave --bucket out")
    if stored is not None:
        return stored
    return given if given is not None else pd.Timedelta(DEFAULT_BUCKET)
