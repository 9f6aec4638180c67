"""The ``spikes`` command line: analyze, evaluate, simulate, tune.

Every command turns a :class:`~spikes.errors.SpikesInputError` into one line on stderr
and exit code 2; nothing else is caught, so a bug still shows its traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from spikes import __version__
from spikes.config import load_config
from spikes.errors import SpikesInputError

if TYPE_CHECKING:
    from spikes.model import ReportData
    from spikes.pipeline import Analysis
from spikes.tune import add_tune_parser

FORMATS = ("events", "long", "wide", "single")
DATE_ORDERS = ("dmy", "mdy")


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that reads report CSVs."""
    group = parser.add_argument_group("input")
    group.add_argument("--format", dest="fmt", choices=FORMATS,
                       help="input shape; detected from the header when omitted: events "
                            "(one row per report), long (timestamp,product,count), wide "
                            "(timestamp + one column per product), single (timestamp,value)")
    group.add_argument("--bucket", help="bucket size, e.g. 1min, 5min, 15min, 1h "
                                        "(default: inferred; 5min for raw events)")
    group.add_argument("--tz", help="timezone of timestamps without an offset, e.g. "
                                    "America/New_York (default UTC)")
    group.add_argument("--date-order", choices=DATE_ORDERS, type=str.lower,
                       help="day/month order of numeric dates such as 01/03/2024: dmy or "
                            "mdy (default: decided by the dates, with a note when they "
                            "cannot tell)")
    group.add_argument("--timestamp-col", help="name of the timestamp column")
    group.add_argument("--time-col", help="name of a separate time-of-day column, joined to "
                                          "the date of the timestamp column (found without "
                                          "this option for columns named date and time)")
    group.add_argument("--product-col", help="name of the product column")
    group.add_argument("--count-col", help="name of the count column (count data)")
    group.add_argument("--region-col", help="name of the region column")
    group.add_argument("--category-col", help="name of the category column")
    group.add_argument("--product", help="product name for a file with no product column")


def load_inputs(args: argparse.Namespace, inputs: Sequence[str]) -> ReportData:
    """Read report files with the input options of `args`."""
    from spikes.buckets import load_reports

    return load_reports(
        list(inputs),
        bucket=args.bucket,
        fmt=args.fmt,
        timestamp_col=args.timestamp_col,
        time_col=args.time_col,
        date_order=args.date_order,
        product_col=args.product_col,
        count_col=args.count_col,
        region_col=args.region_col,
        category_col=args.category_col,
        product=args.product,
        tz=args.tz,
        progress=len(inputs) > 1,
    )


# --- analyze ---------------------------------------------------------------------------
def _add_analyze(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="find outage incidents in report CSVs",
        description="Read report CSVs, compare each product with its seasonal baseline, "
                    "and write the incidents found (one row per incident, ISO-8601 times).",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="report CSV file(s), .gz allowed")
    p.add_argument("-o", "--output", help="incidents CSV to write (default: only print)")
    p.add_argument("--events-output", help="also write one row per event to this CSV")
    p.add_argument("--config", help="TOML file of detection settings (see README)")
    p.add_argument("--jobs", type=_jobs, default=0, metavar="N",
                   help="parallel jobs for many products: threads for the scores, forked "
                        "worker processes (Linux) for the incidents (default 0: one per CPU "
                        "core; 1: none); the result is the same")
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
    from spikes.output import write_csv
    from spikes.pipeline import analyze
    from spikes.reading import describe_rejected

    config = load_config(args.config)
    data = load_inputs(args, args.inputs)
    if len(data.rejected):
        print(describe_rejected(data.rejected), file=sys.stderr)
    jobs = args.jobs or os.cpu_count() or 1
    analysis = analyze(data, config, progress=True, jobs=jobs)
    incidents = analysis.incidents
    if args.output:
        write_csv(incidents, args.output)
    if args.events_output:
        write_csv(analysis.events, args.events_output)
    print(summary_table(analysis))
    if args.output:
        print(f"wrote {_count(len(incidents), 'incident')} to {args.output}")
    return 0


#: Incidents listed by the summary; the newest are shown when there are more.
SUMMARY_ROWS = 40


def summary_table(analysis: Analysis, rows: int = SUMMARY_ROWS) -> str:
    """A short text summary: input size, then the newest `rows` incidents."""
    data = analysis.data
    counts = data.counts
    head = (
        f"{_count(len(data.products), 'product')}, {_count(len(counts), 'bucket')} of "
        f"{_fmt_delta(data.bucket)} "
        f"({counts.index[0]:%Y-%m-%d %H:%M} to {counts.index[-1]:%Y-%m-%d %H:%M} UTC), "
        f"{_count(len(analysis.incidents), 'incident')} in "
        f"{_count(len(analysis.events), 'event')}"
    )
    if data.repeated:
        head += (f"\n{_count(data.repeated, 'row')} of count data repeat a product's bucket "
                 "and were added to it: a duplicated or overlapping export?")
    for note in data.notes:
        head += f"\nnote: {note}"
    if data.ignored:
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
    table = analysis.incidents[
        ["event_id", "product", "onset", "end", "peak_reports", "excess_reports", "severity"]
    ].copy()
    for col in ("onset", "end"):
        table[col] = table[col].dt.strftime("%Y-%m-%d %H:%M")
    table["peak_reports"] = table["peak_reports"].round(0).astype("int64")
    table["excess_reports"] = table["excess_reports"].round(0).astype("int64")
    hidden = max(len(table) - rows, 0)
    text = head + "\n" + table.tail(rows).to_string(index=False)
    if hidden:
        text += (f"\n({hidden} earlier incidents not shown: the incidents CSV of -o has "
                 f"them all)")
    return text


def _count(n: int, noun: str) -> str:
    """``1 product``, ``2 products``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _fmt_delta(delta: pd.Timedelta) -> str:
    minutes = delta / pd.Timedelta(minutes=1)
    return f"{minutes:g} min" if minutes < 60 else f"{minutes / 60:g} h"


# --- evaluate --------------------------------------------------------------------------
def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score incidents against labelled outages",
        description="Score detected incidents against labelled outages with the rules of "
                    "EVALUATION.md: a label is found when an incident of its product starts "
                    "in [onset - 10 min, max(end, onset + 30 min)]; extra incidents in that "
                    "window are duplicates (false positives).",
    )
    p.add_argument("--incidents", required=True, help="incidents CSV (product,onset,...)")
    p.add_argument("--labels", required=True, help="labels CSV (product,onset,end[,event])")
    p.add_argument("--data", nargs="+", metavar="INPUT",
                   help="the report CSV(s) analysed, to count product-weeks for the false "
                        "alarm rate")
    p.add_argument("--product-weeks", type=float,
                   help="product-weeks of data (instead of --data)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_input_options(p)
    p.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from spikes.evaluate import evaluate, read_incidents, read_labels
    from spikes.model import product_weeks as data_weeks

    incidents = read_incidents(args.incidents)
    labels = read_labels(args.labels)
    product_weeks = args.product_weeks
    if product_weeks is None and args.data:
        data = load_inputs(args, args.data)
        product_weeks = data_weeks(data.counts, data.bucket)
    result = evaluate(incidents, labels, product_weeks=product_weeks)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.to_table())
    return 0


# --- simulate --------------------------------------------------------------------------
def _add_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="make synthetic report data with known outages",
        description="Write realistic synthetic crowd-report data (daily and weekly seasons, "
                    "overdispersed counts, outages of varied size and length, cascades, "
                    "harmless blips) and the labels of its true outages.",
    )
    p.add_argument("-o", "--output", required=True, help="reports CSV to write (.gz allowed)")
    p.add_argument("--labels-out", required=True, help="labels CSV to write")
    p.add_argument("--products", type=int, default=20, help="number of products (default 20)")
    p.add_argument("--days", type=float, default=21, help="days of data (default 21)")
    p.add_argument("--bucket", default="5min", help="bucket size (default 5min)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--start", default="2026-01-05", help="first day (default 2026-01-05)")
    p.add_argument("--volume", choices=("low", "mid", "high"), default="mid",
                   help="report volume (default mid)")
    p.add_argument("--outages-per-week", type=float, default=1.0,
                   help="mean outages per product-week (default 1)")
    p.add_argument("--mild", action="store_true", help="only mild outages (2.5-4x)")
    p.add_argument("--peak-ratio", nargs=2, type=float, metavar=("LOW", "HIGH"),
                   help="range of the outages' peak multiple of the baseline (log-uniform; "
                        "overrides the default 2.5-50 and --mild)")
    p.add_argument("--no-blips", action="store_true", help="no harmless one-bucket blips")
    p.add_argument("--level-shifts", action="store_true",
                   help="add day-long 1.5x level shifts (not outages)")
    p.add_argument("--missing-rate", type=float, default=0.0,
                   help="fraction of rows removed at random (default 0)")
    p.add_argument("--no-cascades", action="store_true", help="no multi-product events")
    p.add_argument("--events", action="store_true",
                   help="write raw report events (one row per report) instead of counts")
    p.set_defaults(run=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    from spikes.simulate import simulate, write_simulation

    try:
        pd.Timedelta(args.bucket)
    except ValueError:
        raise SpikesInputError(
            f"--bucket {args.bucket!r} is not a duration (expected e.g. 1min, 5min, 1h)"
        ) from None
    if args.products < 1 or args.days <= 0:
        raise SpikesInputError("--products must be >= 1 and --days > 0")
    sim = simulate(
        products=args.products,
        days=args.days,
        bucket=args.bucket,
        seed=args.seed,
        start=args.start,
        volume=args.volume,
        outage_rate_per_week=args.outages_per_week,
        mild=args.mild,
        blips=not args.no_blips,
        level_shifts=args.level_shifts,
        missing_rate=args.missing_rate,
        cascades=not args.no_cascades,
        as_events=args.events,
        peak_ratio=tuple(args.peak_ratio) if args.peak_ratio else None,
    )
    write_simulation(sim, args.output, args.labels_out)
    print(f"wrote {len(sim.reports)} rows to {args.output} and {len(sim.labels)} "
          f"labelled outages to {args.labels_out}")
    return 0


#: Sub-command registrations; a module adds a command by appending its ``add`` function.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_analyze,
    _add_evaluate,
    _add_simulate,
    add_tune_parser,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="spikes",
        description="Crowd-report outage detection: find when each product's user reports "
                    "rise far above their usual volume for that time of day.",
    )
    parser.add_argument("--version", action="version", version=f"spikes {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spikes`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except SpikesInputError as exc:
        print(f"spikes {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"spikes {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `spikes analyze ... | head`): stop quietly, as
        # Python's documentation recommends, without a traceback at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
