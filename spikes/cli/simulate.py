"""``spikes simulate``: synthetic report data with known outages."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from spikes.cli.display import add_display_tz_option, display_zone
from spikes.errors import SpikesInputError


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument("--seed", type=seed_number, default=0, help="random seed (default 0)")
    p.add_argument("--start", default="2026-01-05",
                   help="first day or time, UTC where it gives no offset (default "
                        "2026-01-05); a time as printed (2026-01-05 09:00 CET) is read "
                        "in the display zone, as explain --window reads it")
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
    add_display_tz_option(p, "the times printed (the span written, the notes)")
    p.set_defaults(run=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    from spikes.evaluation.simulate import simulate, write_simulation
    from spikes.evaluation.simulate.audience import simulation_bucket
    from spikes.io.zones import when

    bucket = simulation_bucket(args.bucket, "--bucket")
    if args.products < 1 or args.days <= 0:
        raise SpikesInputError("--products must be >= 1 and --days > 0")
    zone = display_zone(args.display_tz)
    start = _on_the_grid(args.start, args.bucket, zone)
    sim = simulate(
        products=args.products,
        days=args.days,
        bucket=args.bucket,
        seed=args.seed,
        start=start,
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
    grid = sim.expected.index
    print(f"wrote {len(sim.reports)} rows to {args.output} (buckets "
          f"{when(grid[0], zone)} to {when(grid[-1], zone)}) and {len(sim.labels)} "
          f"labelled outages to {args.labels_out}")
    if pd.Timedelta(days=1) % bucket:
        print(f"note: {args.bucket} buckets do not divide a day: spikes analyze reads "
              f"them with --retrospective only (live detection needs a time of day "
              f"grid)", file=sys.stderr)
    weeks = args.days / 7 * args.products
    asked = args.outages_per_week * weeks
    if asked >= 10 and len(sim.labels) < 0.8 * asked:
        print(f"note: {len(sim.labels)} outages fitted of about {asked:.0f} asked for "
              f"(--outages-per-week {args.outages_per_week:g}): an outage keeps 2 hours on "
              f"either side clear of the next", file=sys.stderr)
    return 0


def _on_the_grid(start: str, bucket: str, zone: str = "UTC") -> pd.Timestamp:
    """`start` floored to the bucket grid spikes reads data on (anchored at the Unix
    epoch), with a note where that moves it (the time also in `zone`, the display zone,
    where it is not UTC): otherwise the reader would floor every timestamp and the labels
    would no longer start with their buckets."""
    from spikes.io.typed_times import typed_time_in_utc
    from spikes.io.zones import when

    # As explain reads its window (pd.Timestamp read "UTC+02:00" the POSIX way, -02:00).
    first = typed_time_in_utc(start, "--start", display_tz=zone)
    floored = first.floor(pd.Timedelta(bucket))
    if floored != first:
        local = "" if zone == "UTC" else f" ({when(floored, zone)})"
        print(f"note: --start {start} moved to {floored.isoformat()}{local}, the start of its "
              f"{bucket} bucket on the grid spikes reads (anchored at 1970-01-01 00:00 "
              f"UTC), so that the labels match the buckets read back", file=sys.stderr)
    return floored




def seed_number(text: str) -> int:
    """A seed of numpy's generators: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}"
                                         ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
    return value
