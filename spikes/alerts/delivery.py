"""Sending what the outbox holds: retries with exponential backoff, in order per route.

:func:`deliver_due` makes one pass: for every route, its pending messages in time order
(an event's ``open`` before its ``escalated`` and ``resolved``); a message whose next
attempt is not due yet, or that fails now, holds back the route's later ones, so that a
receiver never gets an event's resolution before its opening. A failed attempt is
retried after ``backoff``, then twice as long each time (at most :data:`MAX_BACKOFF`;
longer where the receiver's ``Retry-After`` asks so, up to :data:`MAX_RETRY_AFTER`),
until the route's ``max_attempts`` are spent (any error of a channel counts as a failed
attempt of its route only): then the message is marked ``failed`` (logged and listed,
never silently dropped) and the route's messages of other events go on, while the later
messages of its own event wait behind it: they never reach the receiver before it. With
``retry_failed`` (``spikes serve``) a failed message is tried again after the backoff of
its next attempt (at most :data:`MAX_BACKOFF`), for :data:`RETRY_FAILED_FOR` after it
was enqueued, after a restart too: a receiver that comes back gets it, then its event's
later messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from spikes.alerts.channels import Channel, DeliveryError
from spikes.alerts.outbox import Outbox
from spikes.alerts.routing import Route
from spikes.alerts.timeline import event_key

__all__ = ["MAX_BACKOFF", "MAX_RETRY_AFTER", "RETRY_FAILED_FOR", "Attempt", "backoff_delay",
           "deliver_due", "next_due"]

_log = logging.getLogger(__name__)

#: Longest wait between two attempts, in seconds.
MAX_BACKOFF = 300.0
#: Shortest wait between two attempts at a failed message (``retry_failed``), in seconds.
FAILED_RETRY_FLOOR = 1.0
#: Longest wait a receiver's ``Retry-After`` may ask for, in seconds.
MAX_RETRY_AFTER = 3600.0
#: How long after it was enqueued a failed message is still retried (``retry_failed``):
#: a day, past any receiver's deploy or outage of an afternoon; after that it stays
#: ``failed`` (listed, its event's later messages waiting behind it), so that a receiver
#: gone for good does not cost an attempt and a log row every five minutes for ever.
RETRY_FAILED_FOR = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt of :func:`deliver_due`."""

    route: str
    message_id: str
    attempt: int
    ok: bool
    error: str | None


def backoff_delay(route: Route, attempt: int) -> pd.Timedelta:
    """Wait after the `attempt`-th failed attempt: ``backoff * 2 ** (attempt - 1)``
    seconds, at most :data:`MAX_BACKOFF`."""
    seconds = min(route.backoff * 2.0 ** max(attempt - 1, 0), MAX_BACKOFF)
    return pd.Timedelta(seconds=seconds)


def deliver_due(outbox: Outbox, routes: Mapping[str, tuple[Route, Channel]],
                now: Callable[[], pd.Timestamp] | None = None,
                retry_failed: bool = False) -> list[Attempt]:
    """One pass over the pending messages of `routes`: send those due, in order.

    Parameters
    ----------
    outbox : Outbox
    routes : mapping of str to (Route, Channel)
        By route key. Pending messages of routes not given stay pending.
    now : callable, optional
        The clock (UTC ``pd.Timestamp``); the time of day by default.
    retry_failed : bool
        Try the failed messages again once their next attempt is due (each holds back
        its event's later messages on its route until it is delivered, either way).

    Returns
    -------
    list of Attempt
        The attempts made, in order.
    """
    clock = now or (lambda: pd.Timestamp.now(tz="UTC"))
    attempts: list[Attempt] = []
    blocked: set[str] = set()  # routes whose next message waits for its backoff
    held: set[tuple[str, str]] = set()  # (route, event) behind a failed message
    for row in outbox.due(routes=list(routes), failed=True):
        key, event = row["route"], event_key(row["body"])
        if key in blocked or (key, event) in held:
            continue
        failed = row["status"] == "failed"
        waiting = row["next_attempt_at"] is not None and row["next_attempt_at"] > clock()
        if failed:
            if not _took_some(routes[key][1], row["message_id"]):
                held.add((key, event))
            if not retry_failed or waiting or _given_up(row, clock()):
                continue
        elif waiting:
            blocked.add(key)
            continue
        attempt, gave_up = _attempt(outbox, row, *routes[key], clock)
        attempts.append(attempt)
        if attempt.ok:
            held.discard((key, event))
        elif gave_up:
            if not _took_some(routes[key][1], row["message_id"]):
                held.add((key, event))
        else:
            blocked.add(key)
    return attempts


def _took_some(channel: Channel, message_id: str) -> bool:
    """Whether some recipients of a failed message took it (an e-mail refused for one of
    its addresses): its event's later messages go on to the others, in order, rather
    than wait behind a typo in one address for a day, then for ever."""
    took = getattr(channel, "took_some", None)
    return bool(took is not None and took(message_id))


def _given_up(row: dict, now: pd.Timestamp) -> bool:
    """Whether a failed message is past :data:`RETRY_FAILED_FOR` since it was enqueued:
    no longer retried (it stays ``failed``, and its event's later messages wait)."""
    return now - row["enqueued_at"] > RETRY_FAILED_FOR


def _attempt(outbox: Outbox, row: dict, route: Route, channel: Channel,
             clock: Callable[[], pd.Timestamp]) -> tuple[Attempt, bool]:
    """Send one message of :meth:`Outbox.due` and record the attempt; the attempt and
    whether the message is (still) failed: its route's attempts are spent."""
    key = row["route"]
    error, wait = None, None
    try:
        channel.send(row["body"])
    except DeliveryError as exc:
        error, wait = str(exc) or type(exc).__name__, exc.retry_after
    except Exception as exc:  # a channel's own failure fails this route only
        error = f"{type(exc).__name__}: {exc}"
        _log.warning("spikes: route %s: the channel failed", key, exc_info=True)
    done = row["attempts"] + 1
    give_up = error is not None and done >= route.max_attempts
    retry_at = None
    if error is not None:  # a failed message keeps a next attempt too (retry_failed)
        delay = backoff_delay(route, done)
        if give_up or row["status"] == "failed":
            # The day of retries of a failed message: never faster than once a second,
            # whatever the backoff (backoff = 0 ran a hot loop, a log row each time).
            delay = max(delay, pd.Timedelta(seconds=FAILED_RETRY_FLOOR))
        if wait is not None:  # the receiver's Retry-After, within reason
            delay = max(delay, pd.Timedelta(seconds=min(wait, MAX_RETRY_AFTER)))
        retry_at = clock() + delay
    number = outbox.record(row["message_id"], key, ok=error is None, error=error,
                           retry_at=retry_at, give_up=give_up, now=clock())
    return Attempt(key, row["message_id"], number, error is None, error), give_up


def next_due(outbox: Outbox, routes: Mapping[str, tuple[Route, Channel]],
             retry_failed: bool = False, now: pd.Timestamp | None = None) -> pd.Timestamp | None:
    """When the first message of one of `routes` that :func:`deliver_due` would send is
    due (the first pending one of each route, not held behind a failed one; with
    `retry_failed`, the failed ones not yet past :data:`RETRY_FAILED_FOR` at `now`, the
    time of day by default); None when there is none."""
    times: list[pd.Timestamp] = []
    heads: set[str] = set()
    held: set[tuple[str, str]] = set()
    for row in outbox.due(routes=list(routes), failed=True):
        key, event = row["route"], event_key(row["body"])
        if (key, event) in held:
            continue
        if row["status"] == "failed":
            held.add((key, event))
            if retry_failed and not _given_up(row, now or pd.Timestamp.now(tz="UTC")):
                times.append(row["next_attempt_at"])
        elif key not in heads:
            heads.add(key)
            times.append(row["next_attempt_at"])
    return min(times) if times else None


