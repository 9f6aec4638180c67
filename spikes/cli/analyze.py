"""``spikes analyze``: find outage incidents in report CSVs."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spikes.cli.inputs import add_input_options, load_inputs
from spikes.cli.notify import add_notify_options, delivery_report, notify_routes
from spikes.config import DetectionConfig, load_config
from spikes.detect.days import offset_suggestions, suggestion_texts
from spikes.errors import SpikesInputError

if TYPE_CHECKING:
    from spikes.detect.pipeline import Analysis
    from spikes.engine.run import Detection
    from spikes.evaluation.lead import OfficialFeed


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="find outage incidents in report CSVs",
        description="Read report CSVs, compare each product with its seasonal baseline, "
                    "and write the incidents found (one row per incident, ISO-8601 times).",
    )
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="report CSV file(s), .gz allowed; or Parquet files, directories and "
                        "globs of Parquet/CSV files of long counts (timestamp,product,reports), "
                        "read per product by the workers")
    p.add_argument("--store", metavar="PATH",
                   help="analyse the reports a service store holds (a DuckDB file of "
                        "`spikes serve` or `spikes ingest`, late reports included) instead "
                        "of INPUT files; the store must not be open in a running service")
    p.add_argument("-o", "--output", help="incidents file to write, by its suffix: Parquet "
                                          "(.parquet), gzip-compressed CSV (.gz) or CSV; "
                                          "default: only print")
    p.add_argument("--events-output", help="also write one row per event to this file (as "
                                           "-o: .parquet, .gz or CSV)")
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
    from spikes.cli.display import add_display_tz_option

    add_display_tz_option(p, "the times printed (the summary, the status page's lead, the "
                             "notifications sent)")
    add_status_feed_options(p)
    add_input_options(p)
    add_notify_options(p, outbox=True)
    p.set_defaults(run=_run_analyze)


def add_status_feed_options(p: argparse.ArgumentParser, *, config_flag: bool = True) -> None:
    """``--status-feed`` (repeatable) and ``--status-config``; `config_flag`: the command
    also has ``--config`` and ``--retrospective`` (``spikes analyze``)."""
    p.add_argument("--status-feed", action="append", default=[], metavar="FILE",
                   help="a vendor status page's incident history: Statuspage JSON "
                        "(/api/v2/incidents.json) or an Atom/RSS feed (history.atom, "
                        "history.rss); repeatable. Fills official_at (when the vendor first "
                        "said something publicly) and lead_minutes = official_at - "
                        "alerted_at (positive: spikes knew earlier)"
                        + ("; with --retrospective there is no alerted_at and the lead is "
                           "from the onset (lead from onset, hindsight)" if config_flag else
                           "; without alerted_at (a retrospective run) it is from the onset, "
                           "in hindsight")
                        + ". An official incident counts for an incident of its product "
                          "when published from 1 h before its onset to 6 h after its end "
                          "(before and after of [status_feed]); in two such windows, for "
                          "the later incident; of several, the earliest counts")
    p.add_argument("--status-config", metavar="TOML",
                   help="TOML file whose [status_feed] table maps status components to "
                        "products and sets the matching window (before, after)"
                        + ("; default: the [status_feed] table of --config" if config_flag
                           else ""))


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
    from spikes.cli.display import DEFAULT_ZONE, display_zone
    from spikes.engine.base import usable_cores
    from spikes.engine.choice import make_engine
    from spikes.io.datasets import is_dataset_input
    from spikes.io.output import check_outputs, write_table
    from spikes.io.reading import describe_rejected

    check_outputs({"-o": args.output, "--events-output": args.events_output},
                  {"INPUT": args.inputs, "--config": args.config, "--calendar": args.calendar,
                   "--status-feed": args.status_feed, "--status-config": args.status_config,
                   "--store": args.store, "--outbox": args.outbox})
    zone = display_zone(getattr(args, "display_tz", None))
    config = load_config(args.config)
    calendar = None
    if args.calendar:
        from spikes.io.calendar import read_calendar
        from spikes.io.timestamps import check_tz

        check_tz(getattr(args, "tz", None))  # a bad --tz is its own error, not the calendar's
        calendar = read_calendar(args.calendar, tz=getattr(args, "tz", None),
                                 date_order=getattr(args, "date_order", None))
    if args.retrospective:
        config = dataclasses.replace(config, mode="retrospective")
    if args.notify_config and args.config is None:
        raise SpikesInputError("--notify-config sends to the [[notify]] routes of --config: "
                               "give --config FILE")
    routes = notify_routes(args, from_config=args.notify_config)
    if args.config is not None and not args.notify_config:
        unused = _notify_tables(args.config)  # counted, not built: they are not used
        if unused:
            print(f"note: {args.config} holds {_count(unused, '[[notify]] route')}; analyze "
                  f"sends nothing to {'it' if unused == 1 else 'them'} without "
                  "--notify-config", file=sys.stderr)
    if routes and (args.retrospective or config.mode != "causal"):
        raise SpikesInputError("--notify replays live detection: it cannot be used with "
                               "--retrospective (or mode = \"retrospective\" in --config)")
    if args.store is not None:
        source = _store_source(args)
    elif not args.inputs:
        raise SpikesInputError("give INPUT file(s) or --store PATH")
    elif routes and is_dataset_input(args.inputs):
        raise SpikesInputError("--notify needs the reports in memory (CSV files or a "
                               "--store), not Parquet files, directories or globs")
    elif is_dataset_input(args.inputs):
        source = _open_dataset(args)
    else:
        source = load_inputs(args, args.inputs)
        if len(source.rejected):
            print(describe_rejected(source.rejected), file=sys.stderr)
    feed = load_status_feeds(args.status_feed, args.status_config or args.config,
                             source.products)
    warn_unset_products(config, source.products, args.config)
    if calendar is not None:
        unknown = calendar.unknown_products(source.products)
        if unknown:
            print(f"warning: {args.calendar}: {_count(len(unknown), 'product')} of the "
                  f"calendar not in the data, their windows are ignored: "
                  f"{', '.join(map(repr, unknown))}", file=sys.stderr)
    jobs = args.jobs or usable_cores()
    engine = make_engine(args.engine, jobs=jobs, scheduler=args.scheduler)
    try:
        if engine.dashboard_link:
            print(f"Dask dashboard: {engine.dashboard_link} ({engine.jobs} worker threads)",
                  file=sys.stderr, flush=True)
        if routes:  # the counts and baseline too, for what each message may say
            from spikes.detect.pipeline import analyze

            analysis = analyze(source, config, progress=True, engine=engine,
                               calendar=calendar)
        else:
            from spikes.engine.run import detect

            analysis = detect(source, config, engine=engine, progress=True,
                              calendar=calendar)
    finally:
        engine.close()
    if feed is not None:
        analysis = dataclasses.replace(analysis, incidents=feed.annotate(analysis.incidents))
    incidents = analysis.incidents
    if args.output:
        write_table(incidents, args.output)
    if args.events_output:
        write_table(analysis.events, args.events_output)
    print(summary_table(analysis, tz=zone))
    if feed is not None:
        print(lead_text(analysis.incidents, feed, tz=zone))
    if args.output:
        # The file's times are UTC whatever --display-tz: said when the print was not.
        utc = "" if zone == DEFAULT_ZONE else " (its times in UTC, ISO-8601 with offset)"
        print(f"wrote {_count(len(incidents), 'incident')} to {args.output}{utc}")
    if routes and not _notify(analysis, routes, args.outbox, args.notify_wait, tz=zone,
                              retention=args.outbox_retention):
        return 1
    return 0


def _notify(analysis: Analysis, routes: list, outbox_path: str | None,
            wait: float = 600.0, tz: str = "UTC",
            retention: pd.Timedelta | None = None) -> bool:
    """Send the messages of the replay to `routes`, retrying, and print what was sent;
    whether every message was delivered (if not, an error line says how many were not,
    and the command exits with 1). The messages an earlier run with the same outbox
    failed to deliver are tried again; what it delivered more than `retention` ago goes
    (:meth:`spikes.alerts.outbox.Outbox.prune`), before the delivery: a run over a file
    prunes inline (nothing waits for its detection, and what it prints is of the outbox
    pruned; a prune in a thread would be stopped by the close at the end)."""
    from spikes.alerts.notifier import Notifier
    from spikes.alerts.outbox import Outbox

    outbox = Outbox(outbox_path or ":memory:")
    try:
        notifier = Notifier(outbox, routes, retention=retention, prune_in_background=False)
        outbox.retry_failed(list(notifier.routes))
        # A run over data nothing follows: a told outage it no longer finds is withdrawn
        # now, not left awaiting live steps that never come.
        notifier.observe(analysis, live=False)
        pending = outbox.counts(list(notifier.routes))["pending"]
        if pending:  # retries wait out their backoff: say so before the wait
            print(f"delivering {_count(pending, 'notification')} to "
                  f"{_count(len(notifier.routes), 'route')} (retrying for up to "
                  f"{wait:g} s; --notify-wait)", file=sys.stderr, flush=True)
        notifier.drain(timeout=wait)
        print(delivery_report(notifier, tz=tz))
        counts = outbox.counts(list(notifier.routes))
    finally:
        outbox.close()
    lost = counts["failed"] + counts["pending"]
    if lost:
        again = (f"run again with --outbox {outbox_path} to send them" if outbox_path
                 else "with --outbox FILE, a second run sends them")
        print(f"spikes analyze: error: {lost} notification(s) not delivered "
              f"({counts['failed']} failed, {counts['pending']} still pending); {again}",
              file=sys.stderr)
    return not lost


_UNSUPPORTED_FOR_FILES = {"fmt": "--format", "tz": "--tz", "date_order": "--date-order",
                          "time_col": "--time-col", "region_col": "--region-col",
                          "category_col": "--category-col", "product": "--product"}


def _store_source(args: argparse.Namespace) -> object:
    """The reports of ``--store``, bucketed as the files they came from would be."""
    from spikes.service.snapshot import store_data
    from spikes.service.store import Store

    if args.inputs:
        raise SpikesInputError("give either INPUT file(s) or --store, not both")
    given = [flag for key, flag in {**_UNSUPPORTED_FOR_FILES, "timestamp_col":
                                    "--timestamp-col", "product_col": "--product-col",
                                    "count_col": "--count-col"}.items()
             if getattr(args, key, None) is not None]
    if given:
        raise SpikesInputError(f"{', '.join(given)} cannot be used with --store (the store "
                               "holds parsed reports; only --bucket applies)")
    store = Store(args.store, read_only=True)
    try:
        data = store_data(store.all_reports(breakdown=True), args.bucket, args.store)
    finally:
        store.close()
    if data is None:
        raise SpikesInputError(f"the store {args.store} holds no report")
    return data


def _open_dataset(args: argparse.Namespace) -> object:
    """The files of a dataset input (Parquet, directories, globs), scanned."""
    from spikes.io.datasets import open_dataset

    given = [flag for key, flag in _UNSUPPORTED_FOR_FILES.items()
             if getattr(args, key, None) not in (None, "long")]
    if given:
        raise SpikesInputError(
            f"{', '.join(given)} cannot be used with Parquet files, directories or globs, "
            "which are read as long counts (timestamp with its zone or UTC, product, reports)")
    inputs = args.inputs
    if args.scheduler:  # the cluster's workers read the files from where they run
        inputs = [os.path.abspath(item) for item in inputs]
    dataset = open_dataset(inputs, bucket=args.bucket, timestamp_col=args.timestamp_col,
                           product_col=args.product_col, count_col=args.count_col)
    if dataset.ignored:
        print(f"ignored columns (files of a folder, a glob or Parquet are read as long "
              f"counts: timestamp, product, count): {', '.join(dataset.ignored)}",
              file=sys.stderr)
    return dataset


#: Incidents listed by the summary; the newest are shown when there are more.
SUMMARY_ROWS = 40
#: Incidents whose reason (``why``) the summary prints in full, the newest.
SUMMARY_REASONS = 5


def summary_table(analysis: Analysis | Detection, rows: int = SUMMARY_ROWS,
                  tz: str = "UTC") -> str:
    """A short text summary: input size, then the newest `rows` incidents.

    Parameters
    ----------
    analysis : Analysis or Detection
        What ``spikes analyze`` found.
    rows : int
        Incidents listed (the newest).
    tz : str
        Zone of the times printed (``--display-tz``, spelt by
        :func:`spikes.cli.display.display_zone`), each with its zone's abbreviation,
        the ``why`` texts' too (:func:`reasons_shown`).

    Returns
    -------
    str
        The summary's lines.
    """
    from spikes.detect.causal import WARMUP
    from spikes.io.reading import case_variants
    from spikes.io.zones import when, when_column

    data = analysis.data
    if hasattr(analysis, "products"):  # a Detection (spikes.engine.run)
        products, index, bucket = analysis.products, analysis.index, analysis.bucket
    else:
        products, index, bucket = data.products, data.counts.index, data.bucket
    head = (
        f"{_count(len(products), 'product')}, {_count(len(index), 'bucket')} of "
        f"{_fmt_delta(bucket)} "
        f"({when(index[0], tz)} to {when(index[-1], tz)}), "
        f"{_count(len(analysis.incidents), 'incident')} in "
        f"{_count(len(analysis.events), 'event')}"
    )
    if analysis.config.mode == "causal":
        head += (f"\nlive detection: each incident raised from the data up to its alerted_at; "
                 f"in a product's first {_fmt_delta(WARMUP)} (warm-up: no time-of-day "
                 f"history yet) only a jump on the day of its first data is raised (cold "
                 f"start)")
    else:
        head += ("\nretrospective detection (hindsight: baselines, thresholds and onsets "
                 "see the whole series); no alerted_at")
    repeated = data.repeated if data is not None else getattr(analysis, "repeated", 0)
    if repeated:
        head += (f"\n{_count(repeated, 'row')} of count data repeat a product's bucket "
                 "and were added to it: a duplicated or overlapping export?")
    # A dataset (files read by partitions) is not held whole: of its notes, the names
    # that differ only in case (the week hint needs every product's counts).
    notes = data.notes if data is not None else case_variants(pd.Series(list(products)))
    for note in notes:
        head += f"\nnote: {note}"
    if data is not None and data.ignored:
        head += f"\nignored columns (no role in the analysis): {', '.join(data.ignored)}"
        if data.kind == "events":
            head += ("\nread as report events (each row one report); if a column holds "
                     "counts, name it with --count-col")
    hint = week_hint(analysis) if data is not None else None
    if hint:
        head += "\n" + hint
    now = now_text(analysis, tz)
    if analysis.incidents.empty:
        return head + ("\n" + now if now else "")
    ongoing = analysis.incidents[analysis.incidents["ongoing"]]
    if len(ongoing):
        # A product whose data end earlier (its feed stopped) was open then, not now.
        ends = (data.counts.apply(pd.Series.last_valid_index) if data is not None
                else pd.Series(dtype=object))
        head += "\noutage ongoing at the end of the data: " + ", ".join(
            f"{row.product} (since {when(row.onset, tz)}"
            + (f"; its data end at {when(ends[row.product], tz)}: state unknown since)"
               if row.product in ends and ends[row.product] is not None
               and ends[row.product] < index[-1] else ")")
            for row in ongoing.itertuples())
    if now:
        head += "\n" + now
    columns = ["event_id", "product", "onset", "alerted_at", "end", "peak_reports",
               "excess_reports", "severity", "known_event"]
    if analysis.config.mode != "causal":
        columns.remove("alerted_at")
    known = analysis.incidents.get("known_event")
    if known is None or not known.fillna("").astype(str).str.len().any():
        columns.remove("known_event")
    hidden = max(len(analysis.incidents) - rows, 0)
    shown = analysis.incidents.iloc[hidden:]  # only the rows printed are formatted
    table = shown[columns].copy()
    for col in ("onset", "alerted_at", "end"):
        if col in table:
            table[col] = when_column(table[col], tz)
    # The end of an outage going on is not known yet (the column holds its latest
    # elevated bucket so far, which read as "ended then").
    table.loc[shown["ongoing"].astype(bool).to_numpy(), "end"] = "ongoing"
    table["peak_reports"] = table["peak_reports"].round(0).astype("int64")
    table["excess_reports"] = table["excess_reports"].round(0).astype("int64")
    text = head + "\n" + table.to_string(index=False)
    if hidden:
        text += (f"\n({hidden} earlier incidents not shown: the incidents CSV of -o has "
                 f"them all)")
    newest = reasons_shown(analysis.incidents.tail(SUMMARY_REASONS), tz)
    if newest:
        utc = "" if tz == "UTC" else ", in UTC"
        text += (f"\nwhy (the newest {len(newest)}; every incident's is in the why "
                 f"column of -o{utc}):\n" + "\n".join(f"- {w}" for w in newest))
    return text


def reasons_shown(incidents: pd.DataFrame, tz: str = "UTC") -> list[str]:
    """The ``why`` of `incidents` that have one, in their order, with their times in the
    zone `tz` (:func:`spikes.detect.reason_zone.reason_shown`).

    Parameters
    ----------
    incidents : pd.DataFrame
        Incidents with their ``why`` (UTC) and the times it gives (``product``,
        ``onset``, ``peak``, ``alerted_at``).
    tz : str
        The zone to print the times in (``--display-tz``).

    Returns
    -------
    list of str
        One text per incident with a why; a text whose times cannot be placed is shown
        as written, ending "(times in UTC)". Empty without a ``why`` column.
    """
    from spikes.detect.reason_zone import reason_shown

    if "why" not in incidents:
        return []
    shown = (reason_shown(incident, tz) for incident in incidents.to_dict("records"))
    return [text for text in shown if text]


#: Products :func:`now_text` names per state; the rest are counted.
NOW_PRODUCTS = 8


def now_text(analysis: Analysis | Detection, tz: str = "UTC") -> str | None:
    """A line of what is wrong now, at the data's last bucket, beside the outages going
    on (said on their own line): the products whose reports are improbably high without
    an incident (yet), those recovering (an outage ended within ``merge_gap``) and those
    whose data stopped (:func:`spikes.detect.pipeline.product_status`); None when every
    other product is normal. Times in the zone `tz`, with its abbreviation."""
    from spikes.detect.pipeline import product_status
    from spikes.io.zones import when

    status = product_status(analysis)
    parts = []
    for state, label in (("elevated", "elevated, no incident (yet)"),
                         ("recovering", "recovering"), ("no data", "no data")):
        rows = status[status["status"] == state]
        if rows.empty:
            continue
        named = [_now_item(state, row, tz) for row in rows.head(NOW_PRODUCTS).itertuples()]
        more = len(rows) - len(named)
        parts.append(f"{label}: " + ", ".join(named)
                     + (f" and {_count(more, 'more product')}" if more > 0 else ""))
    if not parts:
        return None
    last = analysis.index[-1] if hasattr(analysis, "index") else analysis.data.counts.index[-1]
    return f"now (the data's last bucket, {when(last, tz)}): " + "; ".join(parts)


def _now_item(state: str, row: Any, tz: str = "UTC") -> str:
    """One product of :func:`now_text`, with what it is in that state."""
    from spikes.io.zones import when

    if state == "elevated":
        return (f"{row.product} ({row.latest_reports:,.0f} reports against "
                f"{row.latest_baseline:,.1f} usual)")
    if state == "recovering":
        return f"{row.product} (outage since {when(row.current_onset, tz)})"
    if pd.isna(row.latest_reports):
        return f"{row.product} (none at all)"
    return f"{row.product} (its data end at {when(row.latest, tz)})"


#: Products :func:`week_hint` names; the rest are counted.
HINT_PRODUCTS = 8


def week_hint(analysis: Analysis) -> str | None:
    """A line naming the products whose weekly rhythm follows another time zone than
    their days (:func:`spikes.detect.days.offset_suggestions`), with the setting that
    would move their days there; None when there are none."""
    data = analysis.data
    off = offset_suggestions(data.counts, data.bucket, analysis.config)
    if off.empty:
        return None
    named = suggestion_texts(off.head(HINT_PRODUCTS))
    more = len(off) - len(named)
    return ("weekly rhythm in another time zone than the baseline's days (set utc_offset "
            "or timezone per product, README: Configuration): " + ", ".join(named)
            + (f" and {_count(more, 'more product')}" if more > 0 else ""))


def load_status_feeds(paths: list[str], config_path: str | None,
                      products: Sequence[str]) -> OfficialFeed | None:
    """The official incidents of `paths` with the ``[status_feed]`` table of
    `config_path`; None without paths. Feed entries are searched for the products' and
    the mapped components' names."""
    if not paths:
        return None
    from spikes.config import load_status_feed_config
    from spikes.evaluation.lead import OfficialFeed
    from spikes.io.status_feed import read_status_feeds

    settings = load_status_feed_config(config_path)
    official = read_status_feeds(paths, [*products, *settings.components])
    return OfficialFeed(official=official, config=settings)


def lead_text(incidents: pd.DataFrame, feed: OfficialFeed, rows: int = SUMMARY_ROWS,
              tz: str = "UTC") -> str:
    """The lead over the status page: one line per matched incident (the newest `rows`),
    the median, and the official incidents that matched no incident (times in `tz`)."""
    from spikes.evaluation.lead import lead_summary, signed_minutes
    from spikes.io.zones import when, when_column

    summary = lead_summary(incidents)
    official = feed.official
    n_official = len(official[["source", "official_id"]].drop_duplicates())
    head = (f"status page: {_count(n_official, 'official incident')} read; lead = "
            "official_at - alerted_at (positive: spikes knew earlier)")
    if summary.from_onset:
        head += "; without alerted_at the lead is from the onset (hindsight)"
    lines = [head]
    matches = feed.match(incidents)
    found = matches["official_at"].notna().to_numpy()
    if found.any():
        # The newest `rows` matched: only the times printed are formatted (in the zone).
        matched = np.flatnonzero(found)
        shown = np.zeros(len(found), dtype=bool)
        shown[matched[max(len(matched) - rows, 0):]] = True
        table = pd.DataFrame({
            "event_id": incidents["event_id"].to_numpy()[shown],
            "product": incidents["product"].to_numpy()[shown],
            "from": matches["lead_from"].to_numpy()[shown],
            "official_at": when_column(matches["official_at"][shown], tz),
            "lead": [signed_minutes(v) for v in matches["lead_minutes"][shown]],
            "official incident": [_clip(t) for t in matches["official_title"][shown]],
        })
        if table["from"].nunique() == 1:
            table = table.drop(columns="from")
        lines.append(table.to_string(index=False))
    lines.append(summary.to_text())
    used = set(zip(matches["official_source"][found], matches["official_id"][found],
                   strict=True))
    unused = list({(row.source, row.official_id): row
                   for row in official.itertuples(index=False)
                   if (row.source, row.official_id) not in used}.values())
    if unused:
        lines.append(f"{_count(len(unused), 'official incident')} matched no incident: "
                     + "; ".join(f"{when(row.official_at, tz)} {_clip(row.title, 50)}"
                                 + ("" if row.components else " (names no known product)")
                                 for row in unused[:10])
                     + (" ..." if len(unused) > 10 else ""))
    return "\n".join(lines)


def _clip(text: str, width: int = 60) -> str:
    text = str(text)
    return text if len(text) <= width else text[:width - 1] + "…"


def warn_unset_products(config: DetectionConfig, products: Sequence[object],
                        source: str | None, then: str = "") -> None:
    """Warn (stderr) of the products with settings of their own in `config` (read from
    `source`) that the data do not hold; `then` says what becomes of their settings."""
    unset = config.unknown_products(products)
    if unset:
        one = len(unset) == 1
        print(f"warning: {source}: {_count(len(unset), 'product')} with settings of "
              f"{'its' if one else 'their'} own not in the data (names match exactly), "
              f"{'its' if one else 'their'} settings are not used{then}: "
              f"{', '.join(map(repr, unset))}", file=sys.stderr)


def _notify_tables(path: str) -> int:
    """How many ``[[notify]]`` tables the TOML file at `path` holds (it was read as the
    config already; 0 where it cannot be read again)."""
    import tomllib

    try:
        tables = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("notify", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return 0
    return len(tables) if isinstance(tables, list) else 0


def _count(n: int, noun: str) -> str:
    """``1 product``, ``2 products``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _fmt_delta(delta: pd.Timedelta) -> str:
    minutes = delta / pd.Timedelta(minutes=1)
    if minutes < 1 or minutes % 1:
        return f"{delta / pd.Timedelta(seconds=1):g} s"
    return f"{minutes:g} min" if minutes < 60 else f"{minutes / 60:g} h"


