"""Where messages go: routes from ``[[notify]]`` tables of the TOML config and ``--notify``.

A configuration file may hold, beside ``[detection]`` and ``[products.NAME]``::

    [[notify]]
    name = "oncall"                       # optional; the route's name in logs
    url = "https://hooks.example.com/spikes"
    products = ["Microsoft *", "Outlook"] # names or fnmatch patterns; default: every product
    min_severity = "major"                # minor (default), major or critical
    known_events = false                  # also incidents inside a known-event window
    max_attempts = 8                      # delivery attempts before giving up
    backoff = 1.0                         # seconds before the first retry, doubling
    smtp = "mail.example.com:25"          # for mailto: URLs (default: --smtp)
    tz = "Europe/Berlin"                  # times of Slack, e-mail, apprise texts (default: UTC)

A route takes an event's messages from the first one in which a product of the event
matches it: its name matches one of ``products``, its severity so far is at least
``min_severity``, and it is outside any known-event window unless ``known_events``.
From then on it gets every later message of that event (escalations by other products
and the resolution included), so that it never hears of half an event. The first message
it takes is an ``open`` for it, even where it is the event's escalation (to the route's
``min_severity``, or by a product it watches) for other routes.

``tz`` (an IANA name in any case or an offset such as ``UTC+01:00``, read as ``--tz``
reads it: :func:`spikes.io.zones.zone_name`) is the zone of the times in the text of the
route's Slack, e-mail and apprise messages, rendered at delivery
(:mod:`spikes.alerts.zoned`): the message itself, its JSON and what the outbox stores
keep UTC. Routes of ``--notify URL`` take theirs from ``--notify-tz`` (never from
``SPIKES_DISPLAY_TZ``, the zone of whoever runs the command: the messages are read by
others).
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from spikes.alerts.timeline import SEVERITY_ORDER, event_key, severity_rank
from spikes.errors import SpikesInputError
from spikes.io.zones import spelt_zone

__all__ = ["Route", "load_routes", "notify_zone", "parse_routes", "parse_smtp",
           "route_messages", "route_zone", "routes_from_urls"]

_KEYS = {"name", "url", "products", "min_severity", "known_events", "max_attempts",
         "backoff", "smtp", "tz"}


@dataclass(frozen=True, kw_only=True)
class Route:
    """One destination of messages and what it takes.

    Parameters
    ----------
    url : str
        ``http(s)://`` (JSON webhook), ``slack+https://`` (Slack-compatible webhook),
        ``mailto:a@x,b@y`` (e-mail over SMTP) or any URL apprise understands.
    name : str
        Its name in the outbox and the log (default: the URL without its path).
    products : tuple of str
        Product names, or fnmatch patterns of them (``*`` matches every product; a name
        as written matches itself, brackets included).
    min_severity : {"minor", "major", "critical"}
        Least severity of a product that opens the event for this route.
    known_events : bool
        Whether incidents inside a known-event window count.
    max_attempts : int
        Delivery attempts before a message is marked failed.
    backoff : float
        Seconds before the first retry; each retry waits twice as long as the one before
        (at most :data:`spikes.alerts.delivery.MAX_BACKOFF`).
    smtp : str or None
        ``HOST:PORT`` of the SMTP server, for ``mailto:`` URLs.
    tz : str
        The zone of the times of its Slack, e-mail and apprise texts, as
        :func:`spikes.io.zones.zone_name` spells it (``"UTC"``: as the message writes
        them); the JSON of its messages keeps UTC. On a plain JSON webhook route
        (``http(s)://``) it is accepted and does nothing: the body is the message, in
        UTC. Routes of ``--notify URL`` (:func:`routes_from_urls`) have the zone of
        ``--notify-tz``, ``"UTC"`` without it.
    """

    url: str
    name: str = ""
    products: tuple[str, ...] = ("*",)
    min_severity: str = "minor"
    known_events: bool = False
    max_attempts: int = 8
    backoff: float = 1.0
    smtp: str | None = None
    tz: str = "UTC"

    @property
    def key(self) -> str:
        """The route's identity in the outbox: its name, else its URL without secrets
        (a webhook URL's path often is one), told apart by a hash of the whole URL."""
        if self.name:
            return self.name
        parts = urlsplit(self.url)
        if parts.scheme == "mailto":
            return self.url
        digest = hashlib.sha256(self.url.encode()).hexdigest()[:8]
        return f"{parts.scheme}://{parts.hostname or ''}{_port(parts)}/...#{digest}"

    def wants(self, product: dict[str, Any]) -> bool:
        """Whether one product entry of a message opens its event for this route."""
        if product.get("known_event") and not self.known_events:
            return False
        if severity_rank(product["severity"]) < severity_rank(self.min_severity):
            return False
        # A name as written matches itself, even one with fnmatch's "[" (``Teams [EU]``).
        name = product["product"]
        return any(name == p or fnmatch.fnmatchcase(name, p) for p in self.products)


def _port(parts: Any) -> str:
    try:
        return f":{parts.port}" if parts.port else ""
    except ValueError:
        return ""


def route_messages(messages: Iterable[dict[str, Any]], route: Route) -> list[dict[str, Any]]:
    """The messages `route` takes (see the module docstring), in the given order.

    Parameters
    ----------
    messages : iterable of dict
        Message bodies (:func:`spikes.alerts.timeline.event_messages`), in time order.
    route : Route

    Returns
    -------
    list of dict
    """
    opened: set[str] = set()
    out = []
    for message in messages:
        event = event_key(message)
        if event in opened:
            out.append(message)
        elif any(route.wants(p) for p in message["products"]):
            opened.add(event)
            out.append(_as_first(message))
    return out


def _as_first(message: dict[str, Any]) -> dict[str, Any]:
    """The first message a route takes of an event, as an ``open``: an escalation to the
    route's ``min_severity`` (or of a product it watches) opens the event for it (a
    pager that opens incidents on ``open`` dropped the ``escalated`` of an event it had
    never seen). The same ``message_id``: it is the same news."""
    if message["state"] != "escalated":
        return message
    title = str(message.get("title", ""))
    return {**message, "state": "open",
            "title": title.replace(" escalated (", " open (", 1)}


def parse_smtp(text: str, where: str = "--smtp") -> tuple[str, int]:
    """``HOST:PORT`` as a pair.

    Raises
    ------
    SpikesInputError
        When it is not a host and a port number.
    """
    host, sep, port = str(text).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SpikesInputError(f"{where}: expected HOST:PORT such as localhost:25, "
                               f"got {text!r}")
    return host.strip("[]"), int(port)


def _check_url(url: str, where: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "http://[::1/": an unclosed IPv6 address
        raise SpikesInputError(f"{where}: url {url!r} is not a URL ({exc})") from None
    if not parts.scheme:
        raise SpikesInputError(f"{where}: url {url!r} has no scheme; expected "
                               "http(s)://..., slack+https://..., mailto:... or an apprise URL")
    if parts.scheme in ("http", "https", "slack+http", "slack+https"):
        if not parts.hostname:
            raise SpikesInputError(f"{where}: url {url!r} has no host")
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0 or (port is None and parts.netloc.endswith(":")):
            raise SpikesInputError(f"{where}: url {url!r}: the port should be a number from "
                                   "1 to 65535")
    if parts.scheme == "mailto":
        addresses = [a.strip() for a in parts.path.split(",")]
        bad = [a for a in addresses if not _MAILBOX.fullmatch(a)]
        if bad:
            raise SpikesInputError(f"{where}: url {url!r}: expected mailto:name@host"
                                   f"[,name@host] (addresses separated by commas), not "
                                   f"{bad[0]!r}")


#: One e-mail address: a name and a host, no spaces, separators or second "@".
_MAILBOX = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+")


def is_mailto(url: str) -> bool:
    """Whether `url` is an e-mail route (its scheme in any case: ``MAILTO:`` too), as
    the channels read it."""
    try:
        return urlsplit(url).scheme == "mailto"
    except ValueError:
        return False


def routes_from_urls(urls: Sequence[str], smtp: str | None = None,
                     tz: str | None = None) -> list[Route]:
    """Routes with the defaults for ``--notify URL`` flags, their texts in the zone of
    ``--notify-tz`` (`tz`).

    Parameters
    ----------
    urls : sequence of str
        The ``--notify`` URLs, in order.
    smtp : str or None
        ``--smtp HOST:PORT``, for ``mailto:`` URLs.
    tz : str or None
        ``--notify-tz`` as given: an IANA name in any case or an offset, read as a
        ``tz`` of ``[[notify]]`` is read (None: UTC). It is the zone of these routes
        only: a ``[[notify]]`` table has its own ``tz``.

    Returns
    -------
    list of Route

    Raises
    ------
    SpikesInputError
        For a URL without a scheme or host, ``mailto:`` without ``--smtp``, or a `tz`
        that names no zone (``--notify-tz: ...``).

    Examples
    --------
    >>> [r.tz for r in routes_from_urls(["http://h/"], tz="europe/berlin")]
    ['Europe/Berlin']
    """
    zone = "UTC" if tz is None else notify_zone(tz)
    out = []
    for url in urls:
        _check_url(url, "--notify")
        if is_mailto(url) and smtp is None:
            raise SpikesInputError(f"--notify {url}: e-mail needs --smtp HOST:PORT")
        out.append(Route(url=url, smtp=smtp, tz=zone))
    return out


def notify_zone(value: str) -> str:
    """The zone of ``--notify-tz``, read as :func:`route_zone` reads a ``tz``.

    Parameters
    ----------
    value : str
        As given on the command line (``europe/berlin``, ``UTC+01:00``).

    Returns
    -------
    str
        The zone (:func:`spikes.io.zones.spelt_zone`: names of UTC as ``"UTC"``).

    Raises
    ------
    SpikesInputError
        In one line naming ``--notify-tz``, for a blank value or one that names no zone.

    Examples
    --------
    >>> notify_zone("europe/berlin"), notify_zone("Etc/UTC"), notify_zone("UTC+1")
    ('Europe/Berlin', 'UTC', 'Etc/GMT-1')
    """
    if not value.strip():
        raise SpikesInputError(f"--notify-tz: expected a time zone such as Europe/Berlin "
                               f"or UTC+01:00, got {value!r}")
    return spelt_zone(value, "--notify-tz")


def parse_routes(document: dict[str, Any], source: str = "config",
                 smtp: str | None = None) -> list[Route]:
    """The routes of the ``[[notify]]`` tables of a parsed TOML document.

    Parameters
    ----------
    document : dict
        The parsed TOML file (other tables are ignored here).
    source : str
        The file's name, for errors.
    smtp : str, optional
        The ``--smtp`` default of ``mailto:`` routes without their own ``smtp``.

    Returns
    -------
    list of Route

    Raises
    ------
    SpikesInputError
        Naming the file, the table (``[[notify]] #2``), the key and what was expected.
    """
    tables = document.get("notify", [])
    if isinstance(tables, dict):
        tables = [tables]
    if not isinstance(tables, list):
        raise SpikesInputError(f"{source}: notify should be [[notify]] tables")
    routes, keys = [], set()
    for number, table in enumerate(tables, start=1):
        where = f"{source}: [[notify]] #{number}"
        if not isinstance(table, dict):
            raise SpikesInputError(f"{where}: expected a table")
        route = _route(table, where, smtp)
        if route.key in keys:
            raise SpikesInputError(f"{where}: a route named {route.key!r} is already "
                                   "configured; give each a different name")
        keys.add(route.key)
        routes.append(route)
    return routes


def _route(table: dict[str, Any], where: str, smtp: str | None) -> Route:
    unknown = set(table) - _KEYS
    if unknown:
        raise SpikesInputError(f"{where}: unknown key(s) {sorted(unknown)}; known keys: "
                               f"{sorted(_KEYS)}")
    if "url" not in table:
        raise SpikesInputError(f"{where}: url is missing (where to send)")
    values: dict[str, Any] = {}
    for key, kind in (("url", str), ("name", str), ("min_severity", str),
                      ("known_events", bool), ("smtp", str)):
        if key in table:
            if not isinstance(table[key], kind):
                raise SpikesInputError(f"{where}: {key} should be a {kind.__name__}, "
                                       f"got {table[key]!r}")
            values[key] = table[key]
    _check_url(values["url"], where)
    if values.get("min_severity", "minor") not in SEVERITY_ORDER:
        raise SpikesInputError(f"{where}: min_severity should be one of "
                               f"{list(SEVERITY_ORDER)}, got {values['min_severity']!r}")
    if "products" in table:
        products = table["products"]
        if isinstance(products, str):
            products = [products]
        if not isinstance(products, list) or not products or \
                not all(isinstance(p, str) and p for p in products):
            raise SpikesInputError(f"{where}: products should be a list of product names "
                                   f"or patterns such as \"Microsoft *\", got {products!r}")
        values["products"] = tuple(products)
    if "max_attempts" in table:
        attempts = table["max_attempts"]
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise SpikesInputError(f"{where}: max_attempts should be a whole number >= 1, "
                                   f"got {attempts!r}")
        values["max_attempts"] = attempts
    if "backoff" in table:
        backoff = table["backoff"]
        if isinstance(backoff, bool) or not isinstance(backoff, int | float) or \
                not 0 <= backoff < math.inf:
            raise SpikesInputError(f"{where}: backoff should be a finite number of seconds "
                                   f">= 0, got {backoff!r}")
        values["backoff"] = float(backoff)
    if "tz" in table:
        values["tz"] = route_zone(table["tz"], _named(where, table))
    if "smtp" in values:
        parse_smtp(values["smtp"], f"{where}: smtp")
    elif smtp is not None:
        values["smtp"] = smtp
    if is_mailto(values["url"]) and values.get("smtp") is None:
        raise SpikesInputError(f"{where}: a mailto: url needs smtp = \"HOST:PORT\" (or --smtp)")
    return Route(**values)


def _named(where: str, table: dict[str, Any]) -> str:
    """`where` (``config: [[notify]] #2``) with the table's name where it has one."""
    name = table.get("name")
    return f"{where} (name = {name!r})" if isinstance(name, str) and name else where


def route_zone(value: object, where: str) -> str:
    """The zone of a route's ``tz``, spelt as spikes uses it (names of UTC as ``"UTC"``).

    Parameters
    ----------
    value : object
        The ``tz`` of a ``[[notify]]`` table: an IANA name in any case
        (``"europe/berlin"``) or a fixed offset (``"UTC+01:00"``, ``"+05:30"``).
    where : str
        The table, for errors (``spikes.toml: [[notify]] #2 (name = 'berlin')``).

    Returns
    -------
    str
        The zone (:func:`spikes.io.zones.zone_name`).

    Raises
    ------
    SpikesInputError
        Naming the table and the key, for a value that is no text or names no zone.

    Examples
    --------
    >>> route_zone("europe/berlin", "f.toml: [[notify]] #1"), route_zone("Etc/UTC", "f")
    ('Europe/Berlin', 'UTC')
    """
    if not isinstance(value, str) or not value.strip():
        raise SpikesInputError(f"{where}: tz should be a time zone such as "
                               f"\"Europe/Berlin\" or \"UTC+01:00\", got {value!r}")
    return spelt_zone(value, f"{where}: tz")


def load_routes(path: str | Path | None, smtp: str | None = None) -> list[Route]:
    """The ``[[notify]]`` routes of a TOML config file (none when `path` is None).

    Raises
    ------
    SpikesInputError
        When the file cannot be read, is not TOML or holds a bad route.
    """
    if path is None:
        return []
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpikesInputError(f"{path}: cannot read config file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpikesInputError(f"{path}: not valid TOML ({exc})") from None
    return parse_routes(document, source=str(path), smtp=smtp)
