"""The outbox's retention: what was delivered long ago goes, what a message to come needs
stays (:meth:`spikes.alerts.outbox.Outbox.prune`, ``--outbox-retention``).

Without it ``alert_outbox`` and ``alert_log`` grow by every message and attempt for ever,
and every complete detection (a restart) reads what each route was ever told. An event's
messages on a route go, with their attempts, once all of them were delivered
``retention`` ago on the wall clock and are dated ``retention`` before the end of the
data (a replay on the data clock, ``spikes analyze --outbox`` over a file, keeps its last
``retention`` of data whatever their age), the route heard the event end, and no
continuation or awaiting event of the route refers to it. The route's horizon then moves
up to the latest of them, so that a detection from scratch does not page them again:
they are history. A message not delivered never goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from spikes.io.embedded import naive_utc, transaction

__all__ = ["ROUTE_HORIZON", "Pruned", "prune"]

#: The ``alert_meta`` key of a route's own horizon is this and the route's key
#: (:meth:`spikes.alerts.outbox.Outbox.add_route`).
ROUTE_HORIZON = "route:"
#: The tables of the continuity's decisions, by route.
_DECIDED = ("alert_continuation", "alert_awaiting", "alert_part_end")
#: The (route, event) whose messages :func:`prune` removes, into a temporary table: all
#: delivered by the wall clock's cut (parameter 1), all dated by the data's cut
#: (parameter 2), the route heard the event end (or the route is gone), and no
#: continuation or awaiting event of the route refers to it.
_PRUNABLE = """
CREATE TEMP TABLE spikes_pruned AS
SELECT route, event_key, last_at FROM (
    SELECT route, event_key, bool_and(status = 'delivered') AS delivered,
           max(delivered_at) AS delivered_at, max(changed_at) AS last_at,
           arg_max(state, (changed_at, sequence)) AS last_state
    FROM alert_outbox GROUP BY route, event_key) e
WHERE delivered AND delivered_at <= ? AND last_at <= ?
  AND (last_state = 'resolved' OR route NOT IN (SELECT route FROM spikes_routes))
  AND NOT EXISTS (SELECT 1 FROM alert_continuation c
                  WHERE c.route = e.route AND c.of_key = e.event_key)
  AND NOT EXISTS (SELECT 1 FROM alert_awaiting a
                  WHERE a.route = e.route AND a.event_key = e.event_key)
"""


@dataclass(frozen=True)
class Pruned:
    """What :func:`prune` removed.

    Parameters
    ----------
    messages : int
        Rows of ``alert_outbox`` (message, route).
    attempts : int
        Rows of ``alert_log``.
    decisions : int
        Rows of the continuity's tables of routes no longer configured.
    """

    messages: int
    attempts: int
    decisions: int


def prune(conn: duckdb.DuckDBPyConnection, retention: pd.Timedelta, routes: Sequence[str],
          *, now: pd.Timestamp, data_now: pd.Timestamp | None = None) -> Pruned:
    """Forget what no message to come needs, delivered `retention` ago (one transaction
    of `conn`, an outbox's connection, the caller holding its lock).

    - An event's messages on a route (and their attempts in the log), once every one of
      them was delivered at least `retention` before `now` (wall clock) and is dated
      (its ``at``, the data's clock) at least `retention` before `data_now`, and the
      route heard the event end (its latest message a ``resolved``), unless a
      continuation or an awaiting event of the route still refers to it
      (:mod:`spikes.alerts.continuity`). The route's horizon moves up to the latest of
      them: a detection from scratch (a restart, ``spikes analyze --outbox`` again) then
      enqueues none of them again (they are history, over by that time). Of a route no
      longer configured (not in `routes`), the delivered events so old go whether or
      not it heard them end: nothing follows them for it.
    - The attempts logged at least `retention` before `now` of the messages delivered.
    - The continuations, awaiting events and part ends of the routes not in `routes`:
      only a complete detection for a route decides them, and the route is gone
      (configured again, it gets them decided anew).

    Never a message not delivered (``pending`` or ``failed``), nor the attempts of one.

    Parameters
    ----------
    conn : duckdb.DuckDBPyConnection
        The outbox's connection.
    retention : pd.Timedelta
        How long to keep what was delivered.
    routes : sequence of str
        The routes configured now.
    now : pd.Timestamp
        The time of day (UTC).
    data_now : pd.Timestamp, optional
        The end of the data of the latest detection (UTC; `now` by default): on the data
        clock (a replay, ``spikes analyze --outbox`` over a file), the events in the
        last `retention` of the data stay, whatever their age on the wall.

    Returns
    -------
    Pruned
        What was removed.
    """
    wall = naive_utc(now - retention)
    data = naive_utc((data_now if data_now is not None else now) - retention)
    conn.register("spikes_routes", pa.table({"route": pa.array(list(routes), pa.string())}))
    try:
        with transaction(conn):
            conn.execute(_PRUNABLE, [wall, data])
            messages = conn.execute(
                "DELETE FROM alert_outbox o USING spikes_pruned p WHERE o.route = p.route "
                "AND o.event_key = p.event_key RETURNING o.message_id").fetchall()
            conn.execute(
                "INSERT INTO alert_meta SELECT ? || route, max(last_at) FROM spikes_pruned "
                "GROUP BY route ON CONFLICT (key) DO UPDATE SET value = "
                "greatest(alert_meta.value, excluded.value)", [ROUTE_HORIZON])
            log = conn.execute(
                "DELETE FROM alert_log l WHERE attempted_at <= ? AND NOT EXISTS (SELECT 1 "
                "FROM alert_outbox o WHERE o.message_id = l.message_id AND o.route = "
                "l.route AND o.status <> 'delivered') RETURNING 1", [wall]).fetchall()
            gone = sum(len(conn.execute(
                f"DELETE FROM {table} WHERE route NOT IN (SELECT route FROM spikes_routes) "
                "RETURNING 1").fetchall()) for table in _DECIDED)
            conn.execute("DROP TABLE spikes_pruned")
    finally:
        conn.unregister("spikes_routes")
    return Pruned(len(messages), len(log), gone)
