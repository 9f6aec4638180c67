"""Input options shared by every command that reads report CSVs."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from spikes.io.reading import DATE_ORDERS, FORMATS

if TYPE_CHECKING:
    import pandas as pd

    from spikes.model import ReportData

__all__ = ["DATE_ORDERS", "FORMATS", "add_input_options", "load_inputs"]


#: What ``--tz`` applies to in ``spikes analyze`` (the files it reads).
ANALYZE_TZ_FOR = "the reports and the --calendar file"


def add_input_options(parser: argparse.ArgumentParser, tz_for: str = ANALYZE_TZ_FOR) -> None:
    """Options shared by every command that reads report CSVs into buckets; `tz_for`:
    what its ``--tz`` applies to (see :func:`add_reading_options`)."""
    group = add_reading_options(parser, tz_for)
    group.add_argument("--bucket", help="bucket size, e.g. 1min, 5min, 15min, 1h "
                                        "(default: inferred; 5min for raw events)")


def add_reading_options(parser: argparse.ArgumentParser,
                        tz_for: str = "the reports") -> argparse._ArgumentGroup:
    """The options of how report CSVs are read (shape, columns, time zone, date order);
    returns their group.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    tz_for : str
        What ``--tz`` applies to in this command, as its help says it: the files it
        reads (``"the reports and --labels"``), so that a command is not said to read
        labels or calendars it does not take.
    """
    group = parser.add_argument_group("input")
    group.add_argument("--format", dest="fmt", choices=FORMATS,
                       help="input shape; detected from the header when omitted: events "
                            "(one row per report), long (timestamp,product,count), wide "
                            "(timestamp + one column per product), single (timestamp,value)")
    group.add_argument("--tz", type=tz_argument,
                       help=f"timezone of timestamps without an offset (in {tz_for}): an "
                            "IANA name, e.g. America/New_York, or a fixed offset, e.g. "
                            "UTC+01:00 (default UTC)")
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
    return group


def tz_argument(value: str) -> str:
    """``--tz`` as spikes spells the zone (:func:`spikes.io.zones.zone_name`:
    ``europe/berlin`` is ``Europe/Berlin``, ``UTC+1`` a fixed offset); a value that names
    no zone is kept, and refused with its one-line message where it is used.

    Examples
    --------
    >>> tz_argument("europe/berlin"), tz_argument("+01:00"), tz_argument("Mars/Base")
    ('Europe/Berlin', 'Etc/GMT-1', 'Mars/Base')
    """
    from spikes.errors import SpikesInputError
    from spikes.io.zones import zone_name

    try:
        return zone_name(value) or value
    except SpikesInputError:
        return value


def reading_options(args: argparse.Namespace) -> dict[str, str | None]:
    """The keyword arguments of :func:`spikes.io.reading.read_reports` that the options of
    :func:`add_reading_options` give."""
    return {name: getattr(args, name) for name in (
        "fmt", "timestamp_col", "time_col", "date_order", "product_col", "count_col",
        "region_col", "category_col", "product", "tz")}


def load_inputs(args: argparse.Namespace, inputs: Sequence[str]) -> ReportData:
    """Read report files with the input options of `args`."""
    from spikes.io.buckets import load_reports

    return load_reports(list(inputs), bucket=args.bucket, progress=len(inputs) > 1,
                        **reading_options(args))


def labels_on_data_grid(labels: pd.DataFrame, bucket: pd.Timedelta, source: str) -> pd.DataFrame:
    """:func:`spikes.evaluation.tables.labels_on_grid` of `labels`, saying on stderr how
    many onsets moved to the start of their bucket."""
    import sys

    from spikes.evaluation.tables import labels_on_grid
    from spikes.model import bucket_text

    moved, n = labels_on_grid(labels, bucket)
    if n:
        print(f"note: {source}: {n} label onset(s) lie inside a {bucket_text(bucket)} "
              "bucket of the data and count from that bucket's start (a label's onset is "
              "the first bucket of the rise)", file=sys.stderr)
    return moved
