"""The notification options shared by ``spikes analyze`` and ``spikes serve``."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from spikes.errors import SpikesInputError

if TYPE_CHECKING:
    import pandas as pd

    from spikes.alerts.notifier import Notifier
    from spikes.alerts.routing import Route


def add_notify_options(p: argparse.ArgumentParser, outbox: bool = False) -> None:
    """``--notify URL`` (repeatable), ``--notify-tz ZONE``, ``--smtp HOST:PORT`` and, for
    analyze, ``--outbox``."""
    g = p.add_argument_group("notifications (see README, Alerts)")
    g.add_argument("--notify", action="append", default=[], metavar="URL",
                   help="send a message when an event opens, escalates (another product, "
                        "a higher severity) or is resolved: http(s)://... (JSON webhook), "
                        "slack+https://... (Slack webhook), mailto:a@x[,b@y] (with --smtp) "
                        "or any apprise URL; repeatable; [[notify]] tables of --config add "
                        "routes with product patterns and a minimum severity"
                        + (" (with --notify-config)" if outbox else ""))
    g.add_argument("--notify-tz", metavar="ZONE", default=None,
                   help="time zone of the times in the Slack, e-mail and apprise texts of "
                        "the --notify URL routes (an IANA name such as Europe/Berlin, or "
                        "UTC+01:00); their JSON stays UTC; a [[notify]] table of --config "
                        "has its own tz instead; SPIKES_DISPLAY_TZ does not apply (the "
                        "messages are read by others than whoever runs this) (default: UTC)")
    g.add_argument("--smtp", metavar="HOST:PORT",
                   help="SMTP server of mailto: routes (no TLS, no login: a local relay)")
    g.add_argument("--outbox-retention", type=retention, default=DEFAULT_RETENTION,
                   metavar="DURATION",
                   help="how long the outbox keeps the messages delivered and the attempts "
                        "logged (30d, 2w ...: at least 7d; never: for ever); a message "
                        "not delivered is never dropped, nor one a later message still needs "
                        "(default %(default)s)")
    if outbox:
        g.add_argument("--notify-config", action="store_true",
                       help="send to the [[notify]] routes of --config too: a batch run over "
                            "history sends nothing to them unless asked (the service's config "
                            "holds its on-call routes)")
        g.add_argument("--outbox", metavar="FILE",
                       help="DuckDB file keeping the messages and their deliveries, so that "
                            "a second run sends only what the first did not deliver, the "
                            "failed ones included (default: in memory, all sent); a run "
                            "that leaves messages undelivered exits with 1")
        g.add_argument("--notify-wait", type=_seconds, default=600.0, metavar="SECONDS",
                       help="how long to keep retrying undelivered messages, waiting out "
                            "their backoff, before the run stops (default %(default)g; "
                            "with --outbox, a later run sends what is left)")


#: ``--outbox-retention`` by default (:data:`spikes.alerts.notifier.RETENTION`).
DEFAULT_RETENTION = "30d"
#: Shortest ``--outbox-retention``: an ended event can still get messages (a product
#: joining it, an aftershock within its ``merge_gap``); pruned sooner, it was paged again
#: from its ``open`` (review of stop 45: ``1h``, and ``6m`` meant as six months, which
#: pandas reads as six minutes).
MIN_RETENTION_DAYS = 7


def retention(text: str) -> pd.Timedelta | None:
    """A ``--outbox-retention``: a duration of at least :data:`MIN_RETENTION_DAYS` days
    with its unit, or ``never`` (None: keep everything).

    Parameters
    ----------
    text : str
        As given on the command line (``30d``, ``2w``, ``never``).

    Returns
    -------
    pd.Timedelta or None

    Raises
    ------
    argparse.ArgumentTypeError
        For anything else, in one line.
    """
    import pandas as pd

    text = text.strip()
    if text.lower() == "never":
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]+)", text.lower())
    units = {"d": "D", "day": "D", "days": "D", "w": "W", "week": "W", "weeks": "W"}
    try:  # with its unit (a bare number is nanoseconds); pandas' "d" and "w" are "D", "W"
        value = (pd.Timedelta(float(match[1]), unit=units.get(match[2], match[2]))
                 if match else None)
    except ValueError:
        value = None
    if value is None or pd.isna(value) or value <= pd.Timedelta(0):
        raise argparse.ArgumentTypeError(f"expected a duration with its unit such as 30d or "
                                         f"2w, or never; got {text!r}")
    if value < pd.Timedelta(days=MIN_RETENTION_DAYS):
        raise argparse.ArgumentTypeError(
            f"{text!r} is {value}: at least {MIN_RETENTION_DAYS}d (an ended event can still get "
            f"messages; events pruned sooner are paged again); months in days: 180d")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value


def notify_routes(args: argparse.Namespace, from_config: bool = True) -> list[Route]:
    """Routes of ``--notify`` and, where `from_config`, of the ``[[notify]]`` tables of
    ``--config``, each checked to have a channel (before any detection runs, any file is
    written or the service starts); ``--notify-tz`` is the zone of the ``--notify``
    routes only.

    Raises
    ------
    SpikesInputError
        For a bad ``--notify-tz`` (said first), ``--notify-tz`` without ``--notify``, a
        bad ``--smtp``, route or channel, or a route given twice.
    """
    from spikes.alerts.channels import check_channel
    from spikes.alerts.routing import load_routes, notify_zone, parse_smtp, routes_from_urls

    tz = getattr(args, "notify_tz", None)
    if tz is not None:
        tz = notify_zone(tz)
        if not args.notify:
            raise SpikesInputError("--notify-tz sets the zone of the --notify URL routes: "
                                   "give --notify URL (a [[notify]] table has its own tz)")
    if args.smtp is not None:
        parse_smtp(args.smtp)
    routes = load_routes(getattr(args, "config", None), smtp=args.smtp) if from_config else []
    routes += routes_from_urls(args.notify, smtp=args.smtp, tz=tz)
    keys = [r.key for r in routes]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise SpikesInputError(f"--notify: route(s) {repeated} given twice")
    for route in routes:
        check_channel(route)
    return routes


def delivery_report(notifier: Notifier, tz: str = "UTC") -> str:
    """What was sent: one line per message and route (its time in the zone `tz`), then
    the totals."""
    from spikes.io.zones import when

    routes = list(notifier.routes)
    messages = notifier.outbox.messages(routes)
    if messages.empty:
        return "notifications: no message"
    lines = []
    for row in messages.itertuples():
        line = (f"  {when(row.at, tz)} {row.event_id} {row.state:<9} -> {row.route}: "
                f"{row.status} after {row.attempts} attempt{'s' if row.attempts != 1 else ''}")
        if row.status != "delivered" and isinstance(row.last_error, str) and row.last_error:
            line += f" ({row.last_error})"
        lines.append(line)
    counts = notifier.outbox.counts(routes)
    head = (f"notifications: {len(messages)} message(s) to {len(notifier.routes)} route(s): "
            f"{counts['delivered']} delivered, {counts['failed']} failed, "
            f"{counts['pending']} pending")
    return "\n".join([head, *lines])
