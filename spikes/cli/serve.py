"""``spikes serve``: the live HTTP service over a DuckDB store (uvicorn)."""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from spikes.cli.analyze import add_status_feed_options
from spikes.cli.inputs import tz_argument
from spikes.cli.notify import add_notify_options, notify_routes
from spikes.errors import SpikesInputError

if TYPE_CHECKING:
    from spikes.io.reading import RawReports

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="run the live service: reports in over HTTP, incidents as buckets close",
        description="Take reports over HTTP (POST /v1/reports), keep them in a DuckDB file "
                    "and run live detection as buckets close. API docs at /docs.",
    )
    p.add_argument("--store", default="spikes.duckdb", help="DuckDB file (default %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    p.add_argument("--port", type=_port, default=8000, help="port (default %(default)s)")
    p.add_argument("--token-file", help="file holding the bearer token of every /v1 call "
                                        "(default: the SPIKES_TOKEN environment variable)")
    p.add_argument("--clock", choices=("wall", "data"), default="wall",
                   help="wall: buckets also close as time passes; data: only as later "
                        "reports arrive, for replays of history (default %(default)s)")
    p.add_argument("--lateness", default=None,
                   help="how long a bucket stays open after its end (default: one bucket)")
    p.add_argument("--max-body", default="10MB", help="largest request body (default %(default)s)")
    p.add_argument("--bucket", default="5min", help="bucket size (default %(default)s)")
    add_status_feed_options(p, config_flag=False)
    demo = p.add_argument_group("demo")
    demo.add_argument("--demo", action="store_true",
                      help="replay the bundled sample (data/reports.csv.gz) into a fresh store "
                           "in a temporary folder, at --demo-speed, with the data's clock: "
                           "watch the 2026-01-22 Microsoft 365 chain reaction unfold in the "
                           "live dashboard (SPIKES_SERVICE=http://127.0.0.1:PORT)")
    demo.add_argument("--demo-speed", type=float, default=None, metavar="MIN_PER_S",
                      help="simulated minutes per second of the replay (default 5)")
    demo.add_argument("--demo-from", default=None, metavar="TIME",
                      help="where the paced replay starts (without an offset: in --tz, "
                           "else UTC; numeric dates by --date-order; within the reports of "
                           "the --demo-file or the bundled sample); earlier reports are "
                           "loaded at once (default 2026-01-22T18:00Z, an hour before the "
                           "event)")
    demo.add_argument("--demo-file", default=None, metavar="FILE",
                      help="replay this report file instead of the bundled sample (read "
                           "before the service starts by analyze's reader, with --tz and "
                           "--date-order; its columns found by their names, as serve has "
                           "none of analyze's column options)")
    p.add_argument("--config", help="TOML file of detection settings and [[notify]] routes "
                                    "(see README)")
    p.add_argument("--calendar", metavar="FILE",
                   help="known-event calendar CSV (product,start,end,kind[,note]; product * "
                        "for all; naive times in --tz, UTC by default; numeric dates by "
                        "--date-order): windows are kept out of the baseline, incidents "
                        "whose onset lies in one are marked known_event and notify only "
                        "routes with known_events = true")
    p.add_argument("--tz", type=tz_argument,
                   help="timezone of timestamps without an offset (in the --calendar file, "
                        "the --demo-file and --demo-from; reports posted to the API without "
                        "an offset are UTC): an IANA name, e.g. America/New_York, or a "
                        "fixed offset, e.g. UTC+01:00 (default UTC)")
    p.add_argument("--date-order", choices=("dmy", "mdy"), type=str.lower,
                   help="day/month order of the numeric dates such as 01/03/2026 10:00 of "
                        "the --calendar file, the --demo-file and --demo-from: dmy or mdy "
                        "(default: decided by the dates; a calendar none of whose dates has "
                        "a day above 12 is refused, as is such a --demo-from; a demo file "
                        "is read in the default order with a note)")
    add_notify_options(p)
    p.set_defaults(run=_run_serve)


def parse_size(text: str) -> int:
    """A byte size such as ``10MB``, ``512kB`` or ``1000`` (k, M, G are powers of 1024).

    Raises
    ------
    SpikesInputError
        For anything else.
    """
    match = _SIZE.match(text)
    if not match:
        raise SpikesInputError(f"--max-body: expected a size such as 10MB, got {text!r}")
    scale = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def read_token(token_file: str | None) -> str | None:
    """The bearer token from `token_file`, else ``SPIKES_TOKEN``, else None."""
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SpikesInputError(f"cannot read --token-file {token_file}: "
                                   f"{exc.strerror}") from None
        if not token:
            raise SpikesInputError(f"--token-file {token_file} is empty")
        return token
    return os.environ.get("SPIKES_TOKEN") or None


def _run_serve(args: argparse.Namespace) -> int:
    from spikes.cli.analyze import load_status_feeds
    from spikes.config import load_config
    from spikes.io.buckets import parse_bucket

    token = read_token(args.token_file)
    if token is None:
        if args.host not in _LOOPBACK:
            raise SpikesInputError(f"no token (SPIKES_TOKEN or --token-file): the service "
                                   f"binds only 127.0.0.1, not {args.host}")
        print("spikes serve: no token given: /v1 is open to this machine only "
              "(bound to 127.0.0.1)", file=sys.stderr)
    bucket = parse_bucket(args.bucket)
    if pd.Timedelta(days=1) % bucket:
        raise SpikesInputError(f"--bucket {args.bucket}: live detection compares each bucket "
                               f"with the same time of day on earlier days, so the bucket "
                               f"must divide a day (1, 5, 10, 15, 30 min, 1 h, ...)")
    lateness = bucket if args.lateness is None else _duration(args.lateness, "--lateness")
    config = load_config(args.config)
    if config.mode != "causal":
        raise SpikesInputError(f"{args.config}: the service detects live; mode must be "
                               f"\"causal\", not {config.mode!r}")
    routes = notify_routes(args)
    if args.tz is not None:
        from spikes.io.zones import check_tz

        check_tz(args.tz)  # a bad --tz is its own error, not the calendar's
    calendar = None
    if args.calendar:
        from spikes.io.calendar import read_calendar

        calendar = read_calendar(args.calendar, tz=args.tz, date_order=args.date_order)
    feed = load_status_feeds(args.status_feed, args.status_config or args.config, ())
    _check_port(args.host, args.port)
    if args.demo:
        return _run_demo(args, token, bucket, lateness, feed, config, routes, calendar)
    # The store opens in the app's start-up, where an error is a server's traceback: a
    # store in use (another `spikes serve`) or unreadable is said here, in one line.
    from spikes.service.store import Store

    store = Store(args.store)
    try:
        _same_bucket(store, bucket, args.store)
        store.set_bucket(bucket)  # a store that cannot be written is said here too
    finally:
        store.close()
    # The web stack (about half a second) once the settings and the store have passed.
    import uvicorn

    from spikes.service.app import create_app

    app = create_app(args.store, token=token, bucket=bucket, clock=args.clock,
                     lateness=lateness, max_body=parse_size(args.max_body), config=config,
                     notify=routes, status_feed=feed, calendar=calendar,
                     outbox_retention=args.outbox_retention)
    print(f"spikes serve: store {args.store}, {args.clock} clock, bucket {args.bucket}, "
          f"on http://{args.host}:{args.port} (API docs at /docs)"
          + (f", notifying {len(routes)} route(s)" if routes else ""), file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _run_demo(args: argparse.Namespace, token: str | None, bucket: object,
              lateness: object, feed: object = None, config: object = None,
              routes: tuple = (), calendar: object = None) -> int:
    """``--demo``: a fresh store in a temporary folder, fed by a replay of a file."""
    import tempfile

    from spikes.service.demo import DEFAULT_DEMO_SPEED, DemoReplay

    path = Path(args.demo_file) if args.demo_file else _bundled_sample()
    if not path.is_file():
        raise SpikesInputError(f"--demo: no such file: {path}")
    # The arguments first, then the file (which may be long to read).
    speed = DEFAULT_DEMO_SPEED if args.demo_speed is None else args.demo_speed
    if not speed > 0:
        raise SpikesInputError(f"--demo-speed must be above 0, got {speed}")
    start = (None if args.demo_from is None
             else _demo_from(args.demo_from, args.tz, args.date_order))
    raw = None
    if args.demo_file or start is not None:
        # Read now: what is wrong with the file, or with --demo-from, is said here in one
        # line. The bundled sample is read as the replay reads it (its times give their
        # offset): --tz and --date-order are the --demo-file's.
        tz, order = (args.tz, args.date_order) if args.demo_file else (None, None)
        raw = _read_demo_file(path, tz, order)
        if start is not None:
            what = "--demo-file's" if args.demo_file else f"bundled sample's ({path.name})"
            _check_demo_from(start, raw.table["timestamp"], bucket, args.demo_from, what)
    if feed is None and not args.demo_file:
        # The bundled sample comes with its (sample) status feeds: show the lead too.
        from spikes.cli.analyze import load_status_feeds

        data = path.parent
        feed = load_status_feeds([str(data / "status_feed_sample.json"),
                                  str(data / "status_feed_sample.atom")],
                                 str(data / "status_feed_sample.toml"), ())
    import uvicorn

    from spikes.service.app import create_app

    with tempfile.TemporaryDirectory(prefix="spikes-demo-") as folder:
        store = Path(folder) / "demo.duckdb"
        app = create_app(store, token=token, bucket=bucket, clock="data", lateness=lateness,
                         max_body=parse_size(args.max_body), status_feed=feed,
                         config=config, notify=routes, calendar=calendar,
                         replay=lambda live: DemoReplay(live, path, speed=speed, start=start,
                                                        raw=raw),
                         outbox_retention=args.outbox_retention)
        url = f"http://{args.host}:{args.port}"
        print(f"spikes serve --demo: replaying {path.name} at {speed:g} simulated min/s into "
              f"a fresh store ({store}), data clock, on {url}\n"
              f"  watch it: SPIKES_SERVICE={url} streamlit run app.py", file=sys.stderr)
        # uvicorn stops gracefully on SIGTERM and then raises it again: by default that
        # ended the process at once, leaving the temporary store behind. Raised as an
        # exit instead, the folder is removed on the way out.
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
        finally:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _read_demo_file(path: Path, tz: str | None, date_order: str | None) -> RawReports:
    """The reports of the replay, ``--demo-file`` or the bundled sample (with `tz` and
    `date_order` None), read as ``spikes analyze`` reads a file (naive times in `tz`,
    UTC when None; numeric dates in `date_order`); its rejected rows and notes said on
    stderr as analyze says them."""
    from spikes.io.reading import describe_rejected, read_reports

    raw = read_reports(path, tz=tz, date_order=date_order)
    if len(raw.rejected):
        print(describe_rejected(raw.rejected), file=sys.stderr)
    for note in raw.notes:
        print(f"note: {note}", file=sys.stderr)
    return raw


def _demo_from(text: str, tz: str | None, date_order: str | None) -> pd.Timestamp:
    """``--demo-from`` in UTC, read as the demo file's times are read.

    Parameters
    ----------
    text : str
        The option's value.
    tz : str or None
        ``--tz``: the zone of a time without an offset (UTC when None).
    date_order : {"dmy", "mdy"} or None
        ``--date-order``: the day/month order of a numeric date.

    Returns
    -------
    pd.Timestamp
        The replay's start, aware in UTC.

    Raises
    ------
    SpikesInputError
        In one line, for a text that is no time (``now`` neither), a numeric date that
        reads as two days without `date_order`, or a wall time the clocks of `tz` skip
        or repeat.

    Examples
    --------
    >>> _demo_from("01/02/2026 10:00", "Europe/Berlin", "dmy")
    Timestamp('2026-02-01 09:00:00+0000', tz='UTC')
    """
    from spikes.io.cell_times import read_time_cells
    from spikes.io.zones import wall_time_in_utc

    (start,) = read_time_cells([text], ["--demo-from"], tz, date_order)
    return wall_time_in_utc(start, tz, "--demo-from", text)


def _check_demo_from(start: pd.Timestamp, stamps: pd.Series, bucket: pd.Timedelta,
                     text: str, what: str = "--demo-file's") -> None:
    """Refuse a ``--demo-from`` outside the demo file's reports (the replay would start
    at the nearest end of them, hiding a date misread or mistyped), the bundled sample's
    too.

    Parameters
    ----------
    start : pd.Timestamp
        ``--demo-from`` in UTC.
    stamps : pd.Series
        The demo file's report times (UTC).
    bucket : pd.Timedelta
        The service's bucket (the replay starts on one).
    text : str
        ``--demo-from`` as given, for the message.
    what : str
        Whose reports they are, for the message (``"--demo-file's"``, ``"bundled
        sample's (reports.csv.gz)"``).

    Raises
    ------
    SpikesInputError
        In one line, naming the file's first and last report.
    """
    from spikes.io.zones import when

    first, last = stamps.min(), stamps.max()
    if not first.floor(bucket) <= start.floor(bucket) <= last.floor(bucket):
        raise SpikesInputError(f"--demo-from: {text!r} ({when(start)}) is outside the "
                               f"{what} reports: expected a time from {when(first)} to "
                               f"{when(last)}")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _bundled_sample() -> Path:
    """The sample shipped beside the package (``data/reports.csv.gz``)."""
    import spikes

    return Path(spikes.__file__).resolve().parents[1] / "data" / "reports.csv.gz"


def _port(text: str) -> int:
    """A TCP port number, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got "
                                         f"{text!r}")
    return value


def _duration(text: str, option: str) -> pd.Timedelta:
    """A duration with its unit (``300s``, ``5min``), 0 or more: a bare number would be
    read as nanoseconds."""
    problem = f"{option}: expected a duration with its unit such as 30s or 5min, got {text!r}"
    if text.strip().lstrip("+-").replace(".", "", 1).isdigit() and float(text) != 0:
        raise SpikesInputError(problem)
    try:
        value = pd.Timedelta(text.strip())
    except ValueError:
        raise SpikesInputError(problem) from None
    if pd.isna(value):
        raise SpikesInputError(problem)
    if value < pd.Timedelta(0):
        raise SpikesInputError(problem + " (not negative)")
    return value


def _same_bucket(store: object, bucket: pd.Timedelta, path: str) -> None:
    """Refuse a restart with another bucket size than the one that closed the store's
    buckets: the closed time may lie inside a new bucket, whose reports before it would
    then be neither detected nor late."""
    recorded = store.bucket  # type: ignore[attr-defined]
    closed = store.closed_end  # type: ignore[attr-defined]
    if recorded is not None and closed is not None and recorded != bucket:
        raise SpikesInputError(
            f"{path}: its buckets are {_words(recorded)} (the service that closed them up "
            f"to {closed.isoformat()} had --bucket {_words(recorded)}), not {_words(bucket)}: "
            f"start with --bucket {_words(recorded)}, or on a new store (spikes ingest can "
            f"load the reports into it)")


def _words(size: pd.Timedelta) -> str:
    minutes = size / pd.Timedelta(minutes=1)
    return f"{minutes:g}min" if minutes == int(minutes) else str(size)


def _check_port(host: str, port: int) -> None:
    """Refuse a port another process listens on, before anything is announced (uvicorn
    said so after the start-up line, and exited with 3)."""
    import socket

    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise SpikesInputError(f"--host {host}: cannot be resolved ({exc})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            raise SpikesInputError(f"cannot listen on {host}:{port} ({exc.strerror}): is "
                                   "another service running there? give another --port") from None
