"""Notifications: the state changes of events, routed to webhooks, Slack, e-mail, apprise.

``timeline`` (the messages of every event, causal), ``routing`` (``[[notify]]`` routes),
``channels`` (how a message leaves, per URL scheme), ``outbox`` (DuckDB: pending,
delivered, the attempt log), ``delivery`` (retries with backoff, in order per route) and
``notifier`` (all of it after each detection, with a delivery thread).
"""

from spikes.alerts.channels import DeliveryError, make_channel, message_text
from spikes.alerts.notifier import Notifier
from spikes.alerts.outbox import Outbox
from spikes.alerts.routing import Route, load_routes, parse_routes, routes_from_urls
from spikes.alerts.timeline import analysis_messages, event_messages

__all__ = ["DeliveryError", "Notifier", "Outbox", "Route", "analysis_messages",
           "event_messages", "load_routes", "make_channel", "message_text", "parse_routes",
           "routes_from_urls"]
