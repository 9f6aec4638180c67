"""Notifications: the state changes of events, routed to webhooks, Slack, e-mail, apprise.

``timeline`` (the messages of every event, causal), ``routing`` (``[[notify]]`` routes),
``continuity`` and ``retelling`` (one story per outage for a route when a detection from
scratch tells it otherwise: which event goes on with which, and the messages of news
only), ``channels`` (how a message leaves, per URL scheme), ``outbox`` (DuckDB: pending,
delivered, the attempt log, its retention), ``delivery`` (retries with backoff, in order
per route) and ``notifier`` (all of it after each detection, with a delivery thread).

The names below load on first use, so that importing one module (``spikes analyze``
checks its ``--notify`` routes with :mod:`~spikes.alerts.channels` on every run) does not
load the others (the outbox's DuckDB).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spikes._lazy import lazy_names

#: Public name -> module that defines it.
_PUBLIC: dict[str, str] = {
    "DeliveryError": "spikes.alerts.channels",
    "Notifier": "spikes.alerts.notifier",
    "Outbox": "spikes.alerts.outbox",
    "Route": "spikes.alerts.routing",
    "analysis_messages": "spikes.alerts.timeline",
    "event_messages": "spikes.alerts.timeline",
    "load_routes": "spikes.alerts.routing",
    "make_channel": "spikes.alerts.channels",
    "message_text": "spikes.alerts.channels",
    "parse_routes": "spikes.alerts.routing",
    "routes_from_urls": "spikes.alerts.routing",
}

__all__ = ["DeliveryError", "Notifier", "Outbox", "Route", "analysis_messages",
           "event_messages", "load_routes", "make_channel", "message_text", "parse_routes",
           "routes_from_urls"]


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC, globals())


if TYPE_CHECKING:
    from spikes.alerts.channels import DeliveryError, make_channel, message_text
    from spikes.alerts.notifier import Notifier
    from spikes.alerts.outbox import Outbox
    from spikes.alerts.routing import Route, load_routes, parse_routes, routes_from_urls
    from spikes.alerts.timeline import analysis_messages, event_messages
