"""``spikes analyze``: find outage incidents in report CSVs."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import TYPE_CHECKING

import pandas as pd

from spikes.cli.inputs import add_input_options, load_inputs
from spikes.config import load_config
from spikes.detect.causal import WARMUP

if TYPE_CHECKING:
    from spikes.detect.pipeline import Analysis
    from spikes.engine.run import Detection


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="find outage incidents in report CSVs",
        description="Read report CSVs, compare each product with its seasonal baseline, "
                    "and write the incidents found (one row per incident, ISO-8601 times).",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="report CSV file(s), .gz allowed; or Parquet files, directories and "
                        "globs of Parquet/CSV files of long counts (timestamp,product,reports), "
                        "read per product by the workers")
    p.add_argument("-o", "--output", help="incidents file to write, CSV or Parquet by its "
                                          "suffix (.parquet); default: only print")
    p.add_argument("--events-output", help="also write one row per event to this file (CSV "
                                           "or .parquet)")
    p.add_argument("--config", help="TOML file of detection settings (see README)")
    p.add_argument("--calendar", metavar="FILE",
                   help="known-event calendar CSV (product,start,end,kind[,note]; product * "
                        "for all): windows are kept out of the baseline, and incidents whose "
                        "onset lies in one are marked in the known_event column; naive times "
                        "are read in --tz (UTC by default)")
    p.add_argument("--retrospective", action="store_true",
                   help="detect with hindsight (baseline from days on both sides, thresholds "
                        "and onsets from the whole series), for post-mortems; the default is "
                        "live (causal) detection, where each incident has the time a live run "
                        "would have raised it (alerted_at)")
    p.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="where partitions of products are analysed: local (this process, or "
                        "--jobs worker processes) or dask (a Dask cluster: a local one of "
                        "--jobs worker processes, or the one of --scheduler); the result is "
                        "the same")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                        "(with --engine dask); its workers must have spikes installed and, "
                        "for file input, see the files at the same paths")
    p.add_argument("--jobs", type=_jobs, default=0, metavar="N",
                   help="worker processes for many products (50+ each): of the local engine "
                        "or of a local Dask cluster (default 0: one per CPU core; 1 with the "
                        "local engine: none); unused with --scheduler; the result is the same")
    add_input_options(p)
    p.set_defaults(run=_run_analyze)


def _jobs(text: str) -> int:
    """``--jobs`` value: a whole number >= 0 (0 = one per CPU core)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _run_analyze(args: argparse.Namespace) -> int:
    from spikes.engine.choice import make_engine
    from spikes.engine.run import detect
    from spikes.io.datasets import is_dataset_input
    from spikes.io.output import write_table
    from spikes.io.reading import describe_rejected

    config = load_config(args.config)
    calendar = None
    if args.calendar:
        from spikes.io.calendar import read_calendar

        calendar = read_calendar(args.calendar, tz=getattr(args, "tz", None))
    if args.retrospective:
        config = dataclasses.replace(config, mode="retrospective")
    if is_dataset_input(args.inputs):
        source = _open_dataset(args)
    else:
        source = load_inputs(args, args.inputs)
        if len(source.rejected):
            print(describe_rejected(source.rejected), file=sys.stderr)
    if calendar is not None:
        unknown = calendar.unknown_products(source.products)
        if unknown:
            print(f"warning: {args.calendar}: {_count(len(unknown), 'product')} of the "
                  f"calendar not in the data, their windows are ignored: "
                  f"{', '.join(map(repr, unknown))}", file=sys.stderr)
    jobs = args.jobs or os.cpu_count() or 1
    engine = make_engine(args.engine, jobs=jobs, scheduler=args.scheduler)
    try:
        if engine.dashboard_link:
            print(f"Dask dashboard: {engine.dashboard_link} ({engine.jobs} worker threads)",
                  file=sys.stderr, flush=True)
        analysis = detect(source, config, engine=engine, progress=True, calendar=calendar)
    finally:
        engine.close()
    incidents = analysis.incidents
    if args.output:
        write_table(incidents, args.output)
    if args.events_output:
        write_table(analysis.events, args.events_output)
    print(summary_table(analysis))
    if args.output:
        print(f"wrote {_count(len(incidents), 'incident')} to {args.output}")
    return 0


_UNSUPPORTED_FOR_FILES = {"fmt": "--format", "tz": "--tz", "date_order": "--date-order",
                          "time_col": "--time-col", "region_col": "--region-col",
                          "category_col": "--category-col", "product": "--product"}


def _open_dataset(args: argparse.Namespace) -> object:
    """The files of a dataset input (Parquet, directories, globs), scanned."""
    from spikes.errors import SpikesInputError
    from spikes.io.datasets import open_dataset

    given = [flag for key, flag in _UNSUPPORTED_FOR_FILES.items()
             if getattr(args, key, None) not in (None, "long")]
    if given:
        raise SpikesInputError(
            f"{', '.join(given)} cannot be used with Parquet files, directories or globs, "
            "which are read as long counts (timestamp with its zone or UTC, product, reports)")
    return open_dataset(args.inputs, bucket=args.bucket, timestamp_col=args.timestamp_col,
                        product_col=args.product_col, count_col=args.count_col)


#: Incidents listed by the summary; the newest are shown when there are more.
SUMMARY_ROWS = 40
#: Incidents whose reason (``why``) the summary prints in full, the newest.
SUMMARY_REASONS = 5


def summary_table(analysis: Analysis | Detection, rows: int = SUMMARY_ROWS) -> str:
    """A short text summary: input size, then the newest `rows` incidents."""
    data = analysis.data
    if hasattr(analysis, "products"):  # a Detection (spikes.engine.run)
        products, index, bucket = analysis.products, analysis.index, analysis.bucket
    else:
        products, index, bucket = data.products, data.counts.index, data.bucket
    head = (
        f"{_count(len(products), 'product')}, {_count(len(index), 'bucket')} of "
        f"{_fmt_delta(bucket)} "
        f"({index[0]:%Y-%m-%d %H:%M} to {index[-1]:%Y-%m-%d %H:%M} UTC), "
        f"{_count(len(analysis.incidents), 'incident')} in "
        f"{_count(len(analysis.events), 'event')}"
    )
    if analysis.config.mode == "causal":
        head += (f"\nlive detection: each incident raised from the data up to its alerted_at; "
                 f"nothing is raised in a product's first {_fmt_delta(WARMUP)} (warm-up: no "
                 f"time-of-day history yet)")
    else:
        head += ("\nretrospective detection (hindsight: baselines, thresholds and onsets "
                 "see the whole series); no alerted_at")
    if data is not None and data.repeated:
        head += (f"\n{_count(data.repeated, 'row')} of count data repeat a product's bucket "
                 "and were added to it: a duplicated or overlapping export?")
    for note in data.notes if data is not None else ():
        head += f"\nnote: {note}"
    if data is not None and data.ignored:
        head += f"\nignored columns (no role in the analysis): {', '.join(data.ignored)}"
        if data.kind == "events":
            head += ("\nread as report events (each row one report); if a column holds "
                     "counts, name it with --count-col")
    if analysis.incidents.empty:
        return head
    ongoing = analysis.incidents[analysis.incidents["ongoing"]]
    if len(ongoing):
        head += "\noutage ongoing at the end of the data: " + ", ".join(
            f"{row.product} (since {row.onset:%Y-%m-%d %H:%M} UTC)"
            for row in ongoing.itertuples())
    columns = ["event_id", "product", "onset", "alerted_at", "end", "peak_reports",
               "excess_reports", "severity", "known_event"]
    if analysis.config.mode != "causal":
        columns.remove("alerted_at")
    known = analysis.incidents.get("known_event")
    if known is None or not known.fillna("").astype(str).str.len().any():
        columns.remove("known_event")
    table = analysis.incidents[columns].copy()
    for col in ("onset", "alerted_at", "end"):
        if col in table:
            table[col] = table[col].dt.strftime("%Y-%m-%d %H:%M")
    table["peak_reports"] = table["peak_reports"].round(0).astype("int64")
    table["excess_reports"] = table["excess_reports"].round(0).astype("int64")
    hidden = max(len(table) - rows, 0)
    text = head + "\n" + table.tail(rows).to_string(index=False)
    if hidden:
        text += (f"\n({hidden} earlier incidents not shown: the incidents CSV of -o has "
                 f"them all)")
    why = analysis.incidents.get("why")
    if why is not None:
        newest = [w for w in why.fillna("").astype(str).tail(SUMMARY_REASONS) if w]
        if newest:
            text += (f"\nwhy (the newest {len(newest)}; every incident's is in the why "
                     "column of -o):\n" + "\n".join(f"- {w}" for w in newest))
    return text


def _count(n: int, noun: str) -> str:
    """``1 product``, ``2 products``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _fmt_delta(delta: pd.Timedelta) -> str:
    minutes = delta / pd.Timedelta(minutes=1)
    return f"{minutes:g} min" if minutes < 60 else f"{minutes / 60:g} h"


