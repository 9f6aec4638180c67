"""``spikes explain``: why a live run raised an incident in a window, or why it did not."""

from __future__ import annotations

import argparse
import sys

from spikes.cli.inputs import add_input_options, labels_on_data_grid, load_inputs
from spikes.config import load_config
from spikes.errors import SpikesInputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="say why an outage was (not) raised",
        description="Analyse report CSVs live (as `spikes analyze` does) and say why a "
                    "window of a product did or did not raise an incident: whether a "
                    "detector alarmed, whether the product's calibration raised its "
                    "thresholds above the configured ones, or which test of an incident "
                    "the stretches there failed. With --labels, explain every labelled "
                    "outage that no incident matched (the rules of EVALUATION.md).",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="report CSV file(s)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--window", nargs=3, metavar=("PRODUCT", "START", "END"),
                      help="the product and the window to explain, e.g. Outlook "
                           "2026-01-22T14:00 2026-01-22T16:00: times without an offset are "
                           "read in the zone times are printed in (--display-tz or "
                           "SPIKES_DISPLAY_TZ) where one is given, else in --tz, else UTC; "
                           "an offset in the text wins (2026-01-22T14:00Z), as does the "
                           "display zone's abbreviation of a time pasted as printed "
                           "(2026-01-22 15:00 CET, in any case; it must be the display "
                           "zone's at that time, so an ambiguous CST is read as the display "
                           "zone's; another is refused: unlike the input files, which read "
                           "a fixed list such as CET as fixed offsets whatever the date); "
                           "dates as --date-order reads them; an END without a time (with "
                           "an abbreviation or not) is the end of that day")
    what.add_argument("--labels", metavar="FILE",
                      help="labels CSV (product,onset,end): explain each one missed")
    p.add_argument("--config", help="TOML file of detection settings (see README)")
    p.add_argument("--calendar", metavar="FILE",
                   help="known-event calendar CSV, as for `spikes analyze`")
    p.add_argument("-o", "--output", help="with --labels: also write the missed labels and "
                                          "their causes to this CSV")
    from spikes.cli.display import add_display_tz_option

    add_display_tz_option(p, "the times printed (the window's explanation, the missed "
                             "labels' onsets and reasons, the errors) and of --window's "
                             "START and END without an offset")
    add_input_options(p, tz_for="the reports, --labels, --calendar, and --window without "
                                "--display-tz")
    p.set_defaults(run=_run_explain)


def _run_explain(args: argparse.Namespace) -> int:
    from spikes.cli.display import DEFAULT_ZONE, ENVIRONMENT, chosen_display_zone
    from spikes.detect.explain import explain_window
    from spikes.detect.pipeline import analyze
    from spikes.io.output import check_outputs
    from spikes.io.reading import describe_rejected
    from spikes.io.zones import when

    check_outputs({"-o": args.output},
                  {"INPUT": args.inputs, "--labels": args.labels, "--config": args.config,
                   "--calendar": args.calendar})
    chosen = chosen_display_zone(getattr(args, "display_tz", None))
    zone = chosen or DEFAULT_ZONE
    config = load_config(args.config)
    if config.mode != "causal":
        raise SpikesInputError("explain replays live detection: mode = \"retrospective\" "
                               "in --config cannot be explained")
    if args.output and not args.labels:
        raise SpikesInputError("--output needs --labels (a table of missed labels)")
    labels = None
    if args.labels:
        from spikes.evaluation.evaluate import read_labels

        labels = read_labels(args.labels, tz=args.tz, date_order=args.date_order)
    calendar = None
    if args.calendar:
        from spikes.io.calendar import read_calendar

        calendar = read_calendar(args.calendar, tz=args.tz,
                                 date_order=getattr(args, "date_order", None))
    data = load_inputs(args, args.inputs)
    if len(data.rejected):
        print(describe_rejected(data.rejected), file=sys.stderr)
    if labels is not None:
        labels = labels_on_data_grid(labels, data.bucket, args.labels)
    analysis = analyze(data, config, calendar=calendar)
    if labels is None:
        product, start, end = args.window
        dayfirst = args.date_order == "dmy"
        # Typed by a person who reads the times printed: read in their zone, where given.
        window_tz = args.tz if chosen is None else chosen
        explained = explain_window(analysis, product, start, end, tz=window_tz,
                                   dayfirst=dayfirst, display_tz=zone)
        source = "--display-tz" if args.display_tz is not None else ENVIRONMENT
        note = _window_zone_note(chosen, source, args.tz, (start, end), dayfirst)
        if note:
            print(note, file=sys.stderr)
        print(explained.summary(tz=zone))
        return 0
    from spikes.evaluation.misses import MISS_COLUMNS, explain_misses

    missed = explain_misses(analysis, labels, display_tz=zone)
    print(f"{len(missed)} of {len(labels)} labelled outages missed")
    if len(missed):
        counts = missed["cause"].value_counts()
        print("by cause: " + ", ".join(f"{cause} {n}" for cause, n in counts.items()))
        for row in missed.itertuples(index=False):
            print(f"- {row.product} {when(row.onset, zone)}: {row.cause}. {row.shown}")
    if args.output:
        from spikes.io.output import write_table

        write_table(missed[MISS_COLUMNS], args.output)  # its reasons' times in UTC
    return 0


def _window_zone_note(chosen: str | None, source: str, tz: str | None,
                      bounds: tuple[str, str], dayfirst: bool) -> str | None:
    """The note to print where naive bounds of ``--window`` are read in the display zone.

    Parameters
    ----------
    chosen : str or None
        The display zone chosen (None: none, the bounds are read in `tz`).
    source : str
        Where `chosen` comes from: ``"--display-tz"`` or the environment variable
        :data:`spikes.cli.display.ENVIRONMENT`.
    tz : str or None
        ``--tz`` (the zone of the files' naive times), None where not given.
    bounds : tuple of (str, str)
        START and END as given.
    dayfirst : bool
        Whether numeric dates are read day first.

    Returns
    -------
    str or None
        None where every bound gives its offset, or where the option chose the zone
        and ``--tz`` names none other. Otherwise the note that the naive bounds are read
        in `chosen` and whence it comes; where ``--tz`` names another zone, with the
        first naive bound written at the offset of ``--tz`` (a date as END: the last
        minute of that day there), left out for an hour the clocks skip or repeat there.
    """
    import pandas as pd

    from spikes.cli.display import DEFAULT_ZONE, ENVIRONMENT, UTC_ALIASES
    from spikes.detect.explain import has_offset, local_time
    from spikes.io.timestamps import date_only
    from spikes.io.typed_times import typed_time_in_utc
    from spikes.io.zones import printed_zone, utc_offset

    if chosen is None or all(has_offset(b, dayfirst, chosen) for b in bounds):
        return None
    other = tz is not None and (DEFAULT_ZONE if tz in UTC_ALIASES else tz) != chosen
    note = (f"note: --window START and END without an offset are read in "
            f"{printed_zone(chosen)} ({source}, the zone times are printed in)")
    if not other:
        # The environment's zone changes what a runbook's naive times meant (UTC).
        if source != ENVIRONMENT:
            return None
        return note + (", not in UTC" if tz is None and chosen != DEFAULT_ZONE else "")
    first = next(i for i, b in enumerate(bounds) if not has_offset(b, dayfirst, chosen))
    naive = bounds[first]
    try:
        if first == 1 and date_only(naive):  # END as a date: up to the end of that day
            there = typed_time_in_utc(naive, "END", tz, dayfirst=dayfirst, end=True).floor(
                pd.Timedelta(minutes=1)).tz_convert(tz)  # its last minute
            meant = f"the end of {naive}"
        else:
            there, meant = local_time(naive, tz, dayfirst), naive
        example = (f": write {there:%Y-%m-%dT%H:%M}{utc_offset(there)} for {meant} "
                   "in --tz")
    except (ValueError, TypeError, SpikesInputError):
        example = ""  # the hour the clocks skip or repeat there
    return f"{note}, not in --tz {printed_zone(tz)} (the files' naive times){example}"
