"""``spikes evaluate``: score incidents against labelled outages."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING

import pandas as pd

from spikes.cli.analyze import add_status_feed_options
from spikes.cli.display import add_display_tz_option, display_zone
from spikes.cli.inputs import add_input_options, labels_on_data_grid, load_inputs

if TYPE_CHECKING:
    from spikes.evaluation.lead import LeadSummary


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score incidents against labelled outages",
        description="Score detected incidents against labelled outages with the rules of "
                    "EVALUATION.md: a label is found when an incident of its product starts "
                    "in [onset - 10 min, max(end, onset + 30 min)]; extra incidents in that "
                    "window are duplicates (false positives). The median lead over the "
                    "vendors' status pages is reported when the incidents carry "
                    "lead_minutes (spikes analyze --status-feed) or with --status-feed.",
    )
    p.add_argument("--incidents", required=True, help="incidents CSV (product,onset,...)")
    p.add_argument("--labels", required=True, help="labels CSV (product,onset,end[,event])")
    p.add_argument("--data", nargs="+", metavar="INPUT",
                   help="the report CSV(s) analysed: they count the product-weeks of the "
                        "false alarm rate, put label onsets inside a bucket on its start, "
                        "and name labels of products or times they do not hold")
    p.add_argument("--product-weeks", type=float,
                   help="product-weeks of data (instead of those --data counts)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_status_feed_options(p, config_flag=False)
    add_input_options(p, tz_for="the --data reports, --incidents and --labels")
    add_display_tz_option(p, "the times printed (the notes on the labels)")
    p.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from spikes.evaluation.evaluate import evaluate, read_incidents, read_labels
    from spikes.model import product_weeks as data_weeks

    weeks = args.product_weeks
    if weeks is not None and not (weeks > 0 and math.isfinite(weeks)):
        from spikes.errors import SpikesInputError

        raise SpikesInputError(f"--product-weeks must be a number > 0, got {weeks:g}")
    zone = display_zone(args.display_tz)
    incidents = read_incidents(args.incidents, tz=args.tz, date_order=args.date_order)
    labels = read_labels(args.labels, tz=args.tz, date_order=args.date_order)
    _note_labels_as_incidents(args.incidents, args.labels, incidents.columns)
    if labels.empty:
        print(f"note: {args.labels} holds no labels (a header only): every incident counts "
              "as a false alarm", file=sys.stderr)
    product_weeks = args.product_weeks
    if args.data:  # with --product-weeks too: the data still put the labels on their grid
        data = load_inputs(args, args.data)
        counted = data_weeks(data.counts, data.bucket)
        if product_weeks is None:
            product_weeks = counted
        else:
            print(f"note: the false-alarm rate uses --product-weeks {product_weeks:g}, not "
                  f"the {counted:.1f} product-weeks --data counts", file=sys.stderr)
        _note_unknown_products(labels, data.counts.columns, args.labels)
        _note_outside_span(labels, data.counts.index, data.bucket, args.labels, zone)
        labels = labels_on_data_grid(labels, data.bucket, args.labels)
    result = evaluate(incidents, labels, product_weeks=product_weeks)
    lead = _lead(incidents, args)
    if args.json:
        out = result.to_dict()
        if lead is not None:
            out = {**lead.to_dict(), **out}
        print(json.dumps(out, indent=2))
    else:
        print(result.to_table(no_weeks="pass --data or --product-weeks"))
        if lead is not None:
            print(lead.to_text())
    return 0


def _note_labels_as_incidents(incidents: str, labels: str, columns: pd.Index) -> None:
    """Say when the incidents file is the labels file, or has none of the columns of
    incidents (``peak``, ``alerted_at``, ``severity``, ...): labels scored against
    themselves, or the two files swapped, give a perfect score that means nothing."""
    from spikes.model import INCIDENT_COLUMNS

    same = _same_file(incidents, labels)
    if same:
        print(f"note: --incidents and --labels {same}: the labels are scored against "
              "themselves, so every figure is perfect", file=sys.stderr)
        return
    own = {c for c in INCIDENT_COLUMNS if c not in ("product", "onset", "end")}
    names = set(map(str, columns))
    # Labels have an end (a minimal incidents file, product and onset, is no sign).
    if "end" in names and not own & names:
        print(f"note: {incidents} has none of the columns of an incidents file (peak, "
              "alerted_at, severity, ...): it looks like labels; were --incidents and "
              "--labels swapped?", file=sys.stderr)


def _same_file(one: str, other: str) -> str:
    """How paths `one` and `other` are one file ("are the same file", "hold the same
    bytes"), or '' when they are not (or cannot be read)."""
    from pathlib import Path

    first, second = Path(one), Path(other)
    try:
        if first.samefile(second):
            return f"are the same file ({other})"
        if (first.stat().st_size == second.stat().st_size
                and first.read_bytes() == second.read_bytes()):
            return f"hold the same bytes ({one}, {other})"
    except OSError:
        pass
    return ""


def _note_unknown_products(labels: pd.DataFrame, products: pd.Index, source: str) -> None:
    """Say which labels name a product the data do not hold: each counts as missed (a
    name spelt another way, "outlook" for "Outlook", or data that lack a file)."""
    known = set(map(str, products))
    unknown = sorted({str(p) for p in labels["product"]} - known)
    if unknown:
        shown = ", ".join(repr(p) for p in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        missed = int(labels["product"].astype(str).isin(unknown).sum())
        print(f"note: {source} names products the data do not hold: {shown}{more}; their "
              f"{missed} label(s) count as missed", file=sys.stderr)


def _note_outside_span(labels: pd.DataFrame, index: pd.DatetimeIndex, bucket: pd.Timedelta,
                       source: str, tz: str = "UTC") -> None:
    """Say which labels lie wholly before or after the data: each counts as missed (a
    label file of another period, or data that lack a file). Times in the zone `tz`."""
    from spikes.io.zones import when

    if labels.empty or len(index) == 0:
        return
    first, stop = index[0], index[-1] + bucket
    onset, end = pd.DatetimeIndex(labels["onset"]), pd.DatetimeIndex(labels["end"])
    before, after = int((end < first).sum()), int((onset >= stop).sum())
    if before or after:
        where = " and ".join(part for part in (
            f"{before} before {when(first, tz)}" if before else "",
            f"{after} after {when(stop, tz)}" if after else "") if part)
        print(f"note: {source} holds {before + after} label(s) outside the data's time "
              f"({where}): they count as missed", file=sys.stderr)


def _lead(incidents: pd.DataFrame, args: argparse.Namespace) -> LeadSummary | None:
    """The lead over the status page: matched now with ``--status-feed``, else from the
    file's own ``lead_minutes`` column; None when neither is there."""
    from spikes.cli.analyze import load_status_feeds
    from spikes.errors import SpikesInputError
    from spikes.evaluation.lead import lead_summary

    feed = load_status_feeds(args.status_feed, args.status_config,
                             sorted(set(incidents["product"])))
    if feed is not None:
        if "end" not in incidents:
            raise SpikesInputError(f"{args.incidents}: no 'end' column (needed to match "
                                   "--status-feed: an official incident counts from onset - "
                                   "before to end + after)")
        table = incidents.copy()
        table["end"] = _times(table["end"], f"{args.incidents}", "end")
        return lead_summary(feed.annotate(table))
    if "lead_minutes" not in incidents:
        return None
    text = incidents["lead_minutes"].astype(str).str.strip()
    text = text.where(~incidents["lead_minutes"].isna(), "")
    values = pd.to_numeric(text.where(text != "", None), errors="coerce")
    bad = values.isna() & (text != "")
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise SpikesInputError(f"{args.incidents} incident {row + 1}, column 'lead_minutes': "
                               f"{text.iloc[row]!r} is not a number of minutes")
    if values.isna().all():
        return None  # analysed without a status feed
    return lead_summary(incidents.assign(lead_minutes=values))


def _times(values: pd.Series, source: str, column: str) -> pd.Series:
    """ISO-8601 text as UTC times, naming the first bad incident."""
    from spikes.errors import SpikesInputError

    parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise SpikesInputError(f"{source} incident {row + 1}, column {column!r}: "
                               f"{values.iloc[row]!r} is not a time (expected ISO-8601)")
    return parsed


