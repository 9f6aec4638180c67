"""Sending what the outbox holds: retries with exponential backoff, in order per route.

:func:`deliver_due` makes one pass: for every route, its pending messages in time order
(an event's ``open`` before its ``escalated`` and ``resolved``); a message whose next
attempt is not due yet, or that fails now, holds back the route's later ones, so that a
receiver never gets an event's resolution before its opening. A failed attempt is
retried after ``backoff``, then twice as long each time (at most :data:`MAX_BACKOFF`;
longer where the receiver's ``Retry-After`` asks so, up to :data:`MAX_RETRY_AFTER`),
until the route's ``max_attempts`` are spent (any error of a channel counts as a failed
attempt of its route only): then the message is marked ``failed``
(logged and listed, never silently dropped) and the route's next message goes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from spikes.alerts.channels import Channel, DeliveryError
from spikes.alerts.outbox import Outbox
from spikes.alerts.routing import Route

__all__ = ["MAX_BACKOFF", "MAX_RETRY_AFTER", "Attempt", "backoff_delay", "deliver_due", "next_due"]

_log = logging.getLogger(__name__)

#: Longest wait between two attempts, in seconds.
MAX_BACKOFF = 300.0
#: Longest wait a receiver's ``Retry-After`` may ask for, in seconds.
MAX_RETRY_AFTER = 3600.0


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
                now: Callable[[], pd.Timestamp] | None = None) -> list[Attempt]:
    """One pass over the pending messages of `routes`: send those due, in order.

    Parameters
    ----------
    outbox : Outbox
    routes : mapping of str to (Route, Channel)
        By route key. Pending messages of routes not given stay pending.
    now : callable, optional
        The clock (UTC ``pd.Timestamp``); the time of day by default.

    Returns
    -------
    list of Attempt
        The attempts made, in order.
    """
    clock = now or (lambda: pd.Timestamp.now(tz="UTC"))
    pending = outbox.due(routes=list(routes))
    attempts: list[Attempt] = []
    blocked: set[str] = set()
    for row in pending:
        key = row["route"]
        if key in blocked:
            continue
        if row["next_attempt_at"] is not None and row["next_attempt_at"] > clock():
            blocked.add(key)
            continue
        route, channel = routes[key]
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
        if error is not None:
            delay = backoff_delay(route, done)
            if wait is not None:  # the receiver's Retry-After, within reason
                delay = max(delay, pd.Timedelta(seconds=min(wait, MAX_RETRY_AFTER)))
            retry_at = clock() + delay
        number = outbox.record(row["message_id"], key, ok=error is None, error=error,
                               retry_at=retry_at, give_up=give_up, now=clock())
        attempts.append(Attempt(key, row["message_id"], number, error is None, error))
        if error is not None and not give_up:
            blocked.add(key)
    return attempts


def next_due(outbox: Outbox, routes: Mapping[str, tuple[Route, Channel]]
             ) -> pd.Timestamp | None:
    """When the first pending message of one of `routes` is due (the first of each
    route goes first); None when none is pending."""
    heads: dict[str, pd.Timestamp] = {}
    for row in outbox.due(routes=list(routes)):
        heads.setdefault(row["route"], row["next_attempt_at"])
    return min(heads.values()) if heads else None
