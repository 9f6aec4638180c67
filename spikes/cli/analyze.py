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


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument("--retrospective", action="store_true",
                   help="detect with hindsight (baseline from days on both sides, thresholds "
                        "and onsets from the whole series), for post-mortems; the default is "
                        "live (causal) detection, where each incident has the time a live run "
                        "would have raised it (alerted_at)")
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
    from spikes.detect.pipeline import analyze
    from spikes.io.output import write_csv
    from spikes.io.reading import describe_rejected

    config = load_config(args.config)
    if args.retrospective:
        config = dataclasses.replace(config, mode="retrospective")
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
    if analysis.config.mode == "causal":
        head += (f"\nlive detection: each incident raised from the data up to its alerted_at; "
                 f"nothing is raised in a product's first {_fmt_delta(WARMUP)} (warm-up: no "
                 f"time-of-day history yet)")
    else:
        head += ("\nretrospective detection (hindsight: baselines, thresholds and onsets "
                 "see the whole series); no alerted_at")
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
    columns = ["event_id", "product", "onset", "alerted_at", "end", "peak_reports",
               "excess_reports", "severity"]
    if analysis.config.mode != "causal":
        columns.remove("alerted_at")
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
    return text


def _count(n: int, noun: str) -> str:
    """``1 product``, ``2 products``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _fmt_delta(delta: pd.Timedelta) -> str:
    minutes = delta / pd.Timedelta(minutes=1)
    return f"{minutes:g} min" if minutes < 60 else f"{minutes / 60:g} h"


