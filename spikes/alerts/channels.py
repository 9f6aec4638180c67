"""How a message leaves: one channel per URL scheme.

=====================  ===================================================================
``http(s)://...``      generic JSON webhook: POST of the message body (JSON), any 2xx is
                       delivered; the ``Idempotency-Key`` header carries ``message_id``
``slack+https://...``  Slack-compatible incoming webhook: POST ``{"text": ...}`` to the
                       ``https://`` URL (``slack+http://`` for a local test receiver)
``mailto:a@x,b@y``     e-mail over SMTP (:mod:`smtplib`) to the route's ``HOST:PORT``:
                       subject the message's title, plain-text body (the text, then the
                       message's JSON)
anything else          apprise (``discord://``, ``tgram://``, ``msteams://``, ``json://``
                       ... about a hundred services), as a library
=====================  ===================================================================

The text of Slack, e-mail and apprise gives its times in the route's ``tz`` (UTC by
default, see :mod:`spikes.alerts.zoned`); the JSON of a message (a webhook's body, the
e-mail's JSON) keeps UTC whatever the zone.

Every channel has a timeout and raises :class:`DeliveryError` when the message did not
get through, so the caller can retry it.
"""

from __future__ import annotations

import json
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from spikes.alerts.routing import Route, parse_smtp
from spikes.alerts.zoned import at_in_zone, end_in_zone, reason_in_route_zone, title_in_zone
from spikes.errors import SpikesInputError

__all__ = ["Channel", "DeliveryError", "check_channel", "make_channel", "message_text",
           "one_line", "retry_after_seconds", "slack_escaped"]

#: Seconds a channel waits for its receiver.
TIMEOUT = 10.0
#: The sender of e-mails.
MAIL_FROM = "spikes@localhost"


class DeliveryError(Exception):
    """A message did not get through (the receiver failed, refused it or timed out).

    Parameters
    ----------
    message : str
        What went wrong.
    retry_after : float, optional
        Seconds the receiver asked to wait before the next attempt (HTTP
        ``Retry-After``).
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Channel(Protocol):
    """Sends one message; raises :class:`DeliveryError` when it did not get through."""

    def send(self, message: dict[str, Any]) -> None: ...


def message_text(message: dict[str, Any], zone: str = "UTC") -> str:
    """A message in plain words (Slack, e-mail, apprise): the title, then one line per
    product in onset order with its reason.

    Parameters
    ----------
    message : dict
        The message body (its times UTC: it is the same whoever runs the detection).
    zone : str
        The zone of the route's ``tz``: the title's time, the reasons', each product's
        end and the message's time are given there, each saying its zone
        (:mod:`spikes.alerts.zoned`); ``"UTC"`` gives them as the message writes them.

    Returns
    -------
    str
    """
    lines = [f"[spikes] {one_line(title_in_zone(message, zone))}"]
    for product in message["products"]:
        why = reason_in_route_zone(product, zone, message.get("at"))
        line = f"- {why} ({product['severity']})"
        if product.get("end"):  # ISO-8601 in UTC (spikes.alerts.timeline)
            line += f", over {end_in_zone(product['end'], zone)}"
        if product.get("known_event"):
            line += f" [known event: {product['known_event']}]"
        lines.append(line)
    lines.append(f"event {message['event_id']}, message {message['message_id']} "
                 f"at {at_in_zone(message['at'], zone)}")
    return "\n".join(lines)


def one_line(text: str) -> str:
    r"""`text` with every run of white space (line breaks of a product's name included)
    as one space: an e-mail header or a title line holds no line break.

    Examples
    --------
    >>> one_line("PSN\r\nBcc: x@y")
    'PSN Bcc: x@y'
    """
    return " ".join(str(text).split())


def slack_escaped(text: str) -> str:
    """`text` with ``&``, ``<`` and ``>`` escaped as Slack's message format requires: a
    product named ``<!channel>`` would otherwise notify the whole channel.

    Examples
    --------
    >>> slack_escaped("A & B <!channel>")
    'A &amp; B &lt;!channel&gt;'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds of an HTTP ``Retry-After`` header (a number of seconds or an HTTP date);
    None when absent or unreadable.

    Examples
    --------
    >>> retry_after_seconds("3"), retry_after_seconds(None), retry_after_seconds("soon")
    (3.0, None, None)
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


class WebhookChannel:
    """POST the message as JSON to an ``http(s)://`` URL."""

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        import httpx  # here, not at start-up: most runs and services send no webhook

        self.url = url
        self.timeout = timeout
        self.client = httpx.Client(timeout=timeout)  # one TLS setup, kept-alive connections

    def _post(self, body: dict[str, Any], key: str) -> None:
        import httpx

        try:
            answer = self.client.post(self.url, content=json.dumps(body).encode(),
                                      headers={"Content-Type": "application/json",
                                               "Idempotency-Key": key})
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        status = answer.status_code
        if 300 <= status < 400:
            # Not followed: a 301 or 302 would turn the POST into a GET without its body.
            raise DeliveryError(f"HTTP {status}: the receiver moved to "
                                f"{answer.headers.get('Location', '(no Location)')}; point "
                                f"the route at that URL")
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status}: {answer.text[:200]}",
                                retry_after=retry_after_seconds(
                                    answer.headers.get("Retry-After")))

    def send(self, message: dict[str, Any]) -> None:
        """POST the message body."""
        self._post(message, message["message_id"])


class SlackChannel(WebhookChannel):
    """POST ``{"text": ...}`` to a Slack-compatible incoming webhook, its times in
    `zone` (the route's ``tz``)."""

    def __init__(self, url: str, timeout: float = TIMEOUT, zone: str = "UTC") -> None:
        super().__init__(url.removeprefix("slack+"), timeout)
        self.zone = zone

    def send(self, message: dict[str, Any]) -> None:
        """POST the message's text."""
        self._post({"text": slack_escaped(message_text(message, self.zone))},
                   message["message_id"])


class EmailChannel:
    """Send the message as a plain-text e-mail over SMTP: its subject and text in `zone`
    (the route's ``tz``), then its JSON (UTC)."""

    def __init__(self, url: str, smtp: str, timeout: float = TIMEOUT,
                 sender: str = MAIL_FROM, zone: str = "UTC") -> None:
        parts = urlsplit(url)
        self.to = [unquote(a).strip() for a in parts.path.split(",") if a.strip()]
        self.host, self.port = parse_smtp(smtp)
        self.timeout = timeout
        self.sender = sender
        self.zone = zone
        # Per message, the addresses that took it already (a retry after a refusal goes
        # to the others only; in memory: after a restart, to every address again).
        self._took: dict[str, set[str]] = {}

    def send(self, message: dict[str, Any]) -> None:
        """Send one e-mail to every address of the URL that has not taken it yet."""
        took = self._took.setdefault(message["message_id"], set())
        recipients = [to for to in self.to if to not in took]
        mail = EmailMessage()
        mail["Subject"] = f"[spikes] {one_line(title_in_zone(message, self.zone))}"
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = f"<{message['message_id']}@spikes>"
        mail.set_content(message_text(message, self.zone) + "\n\n"
                         + json.dumps(message, indent=1))
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
                refused = server.send_message(mail, to_addrs=recipients)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {type(exc).__name__}: "
                                f"{exc}") from None
        took.update(to for to in recipients if to not in refused)
        if refused:  # the others got it: the retry goes to the refused ones only
            said = "; ".join(f"{to}: {code} {text.decode('utf-8', 'replace')}"
                             for to, (code, text) in sorted(refused.items()))
            raise DeliveryError(f"SMTP {self.host}:{self.port} refused {said}")
        self._took.pop(message["message_id"], None)


    def took_some(self, message_id: str) -> bool:
        """Whether some addresses took the message already (in this process): a retry
        is for the refused ones only, and the others may have the event's next ones."""
        return bool(self._took.get(message_id))


class AppriseChannel:
    """Any other scheme, through apprise (https://github.com/caronc/apprise), its title
    and text in `zone` (the route's ``tz``)."""

    def __init__(self, url: str, timeout: float = TIMEOUT, zone: str = "UTC") -> None:
        import apprise

        self.apprise = apprise.Apprise(asset=apprise.AppriseAsset(service_timeout=timeout))
        if not self.apprise.add(url):
            scheme = urlsplit(url).scheme
            raise SpikesInputError(f"notify url {scheme}://...: neither http(s), slack+https, "
                                   f"mailto nor a URL apprise understands")
        self.timeout = timeout
        self.zone = zone

    def send(self, message: dict[str, Any]) -> None:
        """Notify through apprise."""
        title = one_line(title_in_zone(message, self.zone))
        try:
            result = self.apprise.notify(body=message_text(message, self.zone),
                                         title=f"[spikes] {title}")
        except Exception as exc:  # a plugin's own failure is a failed delivery
            raise DeliveryError(f"apprise: {type(exc).__name__}: {exc}") from None
        if not result:
            raise DeliveryError("apprise could not deliver the notification")


def make_channel(route: Route, timeout: float = TIMEOUT) -> Channel:
    """The channel of a route's URL; the text of Slack, e-mail and apprise in its ``tz``.

    Raises
    ------
    SpikesInputError
        For a scheme no channel understands, or ``mailto:`` without an SMTP server.
    """
    scheme = urlsplit(route.url).scheme.lower()
    if scheme in ("http", "https"):
        return WebhookChannel(route.url, timeout)
    if scheme in ("slack+https", "slack+http"):
        return SlackChannel(route.url, timeout, zone=route.tz)
    if scheme == "mailto":
        if route.smtp is None:
            raise SpikesInputError(f"{route.url}: e-mail needs an SMTP server (--smtp)")
        return EmailChannel(route.url, route.smtp, timeout, zone=route.tz)
    return AppriseChannel(route.url, timeout, zone=route.tz)


def check_channel(route: Route) -> None:
    """Refuse, before anything is sent, a route no channel can serve: a scheme apprise
    does not understand either, ``mailto:`` without an SMTP server.

    Raises
    ------
    SpikesInputError
        Naming the route's URL and what is wrong.
    """
    scheme = urlsplit(route.url).scheme.lower()
    if scheme in ("http", "https", "slack+https", "slack+http"):
        return
    make_channel(route)
