"""The outbox: messages waiting to leave, and the log of every delivery attempt (DuckDB).

One row per (message, route), keyed by both: enqueueing the same message for the same
route again does nothing, so recomputing the messages after every detection (or after a
restart) adds only the new ones. A row is ``pending`` until a delivery succeeds
(``delivered``, never sent again) or its route's attempts run out (``failed``: it holds
back its event's later messages on the route until it is delivered; ``spikes serve``
goes on retrying it, ``spikes analyze --outbox`` makes it pending again on its next
run). The
outbox lives in the service's store file (its own tables beside the reports) or in a
file of its own for ``spikes analyze --notify``; pending rows survive a restart.

Delivery is at least once: a crash after the receiver got a message but before it is
marked delivered sends the same message again after the restart, with the same
``message_id`` (in the body, and in the webhook's ``Idempotency-Key`` header), so a
receiver can drop the repeat.

What was delivered does not stay for ever (:meth:`Outbox.prune`, 30 days by default:
``--outbox-retention``): an event's messages on a route go once all were delivered that
long ago, are dated that long before the end of the data and the route heard the event
end (and no continuation goes on with it), with their attempts; the route's horizon then
moves past them, so that a detection from scratch does not page them again. A message
not delivered never goes. The service prunes in a thread of the outbox's own
(:meth:`Outbox.start_prune`): its detection does not wait for a long prune.

Tables
------
``alert_outbox``
    ``message_id, route, event_id, state, sequence, changed_at`` (the message's ``at``),
    ``body, enqueued_at, status, attempts, next_attempt_at, delivered_at, last_error,
    event_key`` (the event's key: :func:`spikes.alerts.timeline.event_key`; filled in
    from the body for the rows of an older version).
``alert_log``
    ``message_id, route, attempt, attempted_at, ok, error``: one row per attempt.
``alert_meta``
    ``horizon``: the events over by then are not enqueued (set when notifications are
    first turned on over a store that already has history, which is not paged again; an
    event going on then is enqueued whole, its open too); and ``route:KEY`` per route,
    with the horizon of a route added later (a new or renamed route is not paged with
    the history either).
``alert_continuation``
    ``route, event_key, of_key, event_id, first_sequence, products, worst, resolved,
    part``: a
    new
    event whose messages go to the route under the key of an event it was told of
    (:mod:`spikes.alerts.continuity`); dropped once both events are history
    (:func:`spikes.alerts.continuity.spent`).
``alert_awaiting``
    ``route, event_key, event_id, due``: a told event the latest complete detection did
    not find while it may still be raised (:class:`spikes.alerts.continuity.Awaiting`).
``alert_part_end``
    ``route, event_key, of_key, products``: the end of a part of a told event that
    other settings split, held back until its last part is over
    (:class:`spikes.alerts.continuity.PartEnd`); dropped with the told event's
    continuations.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd
import pyarrow as pa

from spikes.alerts.pruning import PruneStep, PruneThread, Turns
from spikes.alerts.records import Awaiting, Continuation, PartEnd, Told
from spikes.alerts.retelling import retitled
from spikes.alerts.retention import ROUTE_HORIZON, Pruned, prune
from spikes.alerts.timeline import event_key, severity_rank
from spikes.errors import SpikesInputError
from spikes.io.embedded import naive_utc, registered, transaction, utc

__all__ = ["Outbox"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_outbox (
    message_id VARCHAR NOT NULL, route VARCHAR NOT NULL, event_id VARCHAR NOT NULL,
    state VARCHAR NOT NULL, sequence INTEGER NOT NULL, changed_at TIMESTAMP NOT NULL,
    body VARCHAR NOT NULL, enqueued_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL,
    attempts INTEGER NOT NULL, next_attempt_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP, last_error VARCHAR, PRIMARY KEY (message_id, route));
CREATE TABLE IF NOT EXISTS alert_log (
    message_id VARCHAR NOT NULL, route VARCHAR NOT NULL, attempt INTEGER NOT NULL,
    attempted_at TIMESTAMP NOT NULL, ok BOOLEAN NOT NULL, error VARCHAR);
CREATE TABLE IF NOT EXISTS alert_meta (key VARCHAR PRIMARY KEY, value TIMESTAMP);
CREATE TABLE IF NOT EXISTS alert_continuation (
    route VARCHAR NOT NULL, event_key VARCHAR NOT NULL, of_key VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL, first_sequence INTEGER NOT NULL, products VARCHAR NOT NULL,
    worst INTEGER NOT NULL, resolved BOOLEAN NOT NULL, PRIMARY KEY (route, event_key));
ALTER TABLE alert_continuation ADD COLUMN IF NOT EXISTS part BOOLEAN DEFAULT false;
ALTER TABLE alert_outbox ADD COLUMN IF NOT EXISTS event_key VARCHAR;
UPDATE alert_outbox SET event_key = coalesce(json_extract_string(body, '$.event_key'),
                                             event_id) WHERE event_key IS NULL;
CREATE TABLE IF NOT EXISTS alert_awaiting (
    route VARCHAR NOT NULL, event_key VARCHAR NOT NULL, event_id VARCHAR NOT NULL,
    due TIMESTAMP NOT NULL, PRIMARY KEY (route, event_key));
CREATE TABLE IF NOT EXISTS alert_part_end (
    route VARCHAR NOT NULL, event_key VARCHAR NOT NULL, of_key VARCHAR NOT NULL,
    products VARCHAR NOT NULL, PRIMARY KEY (route, event_key));
"""


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _aware(value: Any) -> pd.Timestamp | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).tz_localize("UTC")


class Outbox:
    """Pending and delivered messages per route, and the delivery log, in DuckDB.

    Parameters
    ----------
    path : str or Path
        The DuckDB file (``":memory:"`` for a throw-away outbox). The service passes its
        store's file: within one process DuckDB shares the database between connections.

    Raises
    ------
    SpikesInputError
        When the file cannot be opened.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        try:
            self._conn = duckdb.connect(self.path)
        except duckdb.Error as exc:
            raise SpikesInputError(f"cannot open the outbox {self.path}: {exc}") from None
        self._lock = threading.RLock()
        # One prune at a time (its temporary tables), held for all of it; an enqueue or
        # one of its transactions at a time (Turns); taken in this order, then the lock.
        self._pruning = threading.Lock()
        self._turns = Turns()
        self._closing = threading.Event()  # a prune stops before its next transaction
        self._pruner = PruneThread(self.path)  # start_prune's
        with self._lock:
            found = self._conn.execute("SELECT 1 FROM information_schema.tables "
                                       "WHERE table_name = 'alert_outbox'").fetchall()
            self.created = not found
            self._conn.execute(_SCHEMA)

    def close(self) -> None:
        """Close the connection. A prune running (in another thread) stops before its next
        transaction (:attr:`spikes.alerts.retention.Pruned.stopped`): the service's
        shutdown does not wait for the whole first prune of an upgraded outbox. That of
        :meth:`start_prune` ends before the connection closes (its thread is waited for),
        and no other starts."""
        self._closing.set()
        self._pruner.close()
        with self._lock:
            self._conn.close()

    # -- the horizon ---------------------------------------------------------------------
    @property
    def horizon(self) -> pd.Timestamp | None:
        """Messages at or before this time are not enqueued; None: all are."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT value FROM alert_meta WHERE key = 'horizon'").fetchall()
        return _aware(rows[0][0]) if rows else None

    def set_horizon(self, value: pd.Timestamp) -> None:
        """Enqueue no event all of whose messages are at or before `value` (only if no
        horizon is set yet)."""
        with self._lock:
            self._conn.execute("INSERT INTO alert_meta VALUES ('horizon', ?) "
                               "ON CONFLICT (key) DO NOTHING", [naive_utc(value)])

    def add_route(self, route: str, since: pd.Timestamp | None) -> bool:
        """Register `route` the first time it is seen: it takes no message at or before
        `since` (None: every message), so that a route added to (or renamed in) a
        service with history is not paged with that history. A route the outbox holds
        messages of already is registered without a horizon of its own.

        Returns
        -------
        bool
            Whether the route was new.
        """
        key = ROUTE_HORIZON + route
        with self._lock:
            conn = self._conn
            if conn.execute("SELECT 1 FROM alert_meta WHERE key = ?", [key]).fetchall():
                return False
            held = conn.execute("SELECT 1 FROM alert_outbox WHERE route = ? LIMIT 1",
                                [route]).fetchall()
            value = None if held or since is None else naive_utc(since)
            conn.execute("INSERT INTO alert_meta VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                         [key, value])
        return not held

    def route_horizon(self, route: str) -> pd.Timestamp | None:
        """Messages of `route` at or before this time are not enqueued: the later of the
        outbox's :attr:`horizon` and the route's own (:meth:`add_route`)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT value FROM alert_meta WHERE key IN ('horizon', ?) AND value IS NOT "
                "NULL", [ROUTE_HORIZON + route]).fetchall()
        stamps = [_aware(v) for (v,) in rows]
        return max(stamps) if stamps else None

    def retry_failed(self, routes: Sequence[str], now: pd.Timestamp | None = None) -> int:
        """Make the failed messages of `routes` pending again, with fresh attempts (a
        new run of ``spikes analyze --outbox``: it sends what the last did not deliver).

        Returns
        -------
        int
            Messages made pending.
        """
        if not routes:
            return 0
        of_routes, params = _in("route", routes)
        with self._lock:
            conn = self._conn
            count = conn.execute(
                f"SELECT count(*) FROM alert_outbox WHERE status = 'failed' AND {of_routes}",
                params).fetchall()[0][0]
            conn.execute(
                f"UPDATE alert_outbox SET status = 'pending', attempts = 0, "
                f"next_attempt_at = ? WHERE status = 'failed' AND {of_routes}",
                [naive_utc(now or _now()), *params])
        return int(count)

    # -- enqueue -------------------------------------------------------------------------
    def enqueue(self, messages: Iterable[dict[str, Any]], route: str,
                now: pd.Timestamp | None = None, *,
                continuations: Sequence[Continuation] = (),
                awaiting: Sequence[Awaiting] | None = None,
                part_ends: Sequence[PartEnd] = ()) -> int:
        """Add the messages for `route` that it does not hold yet, and store the
        continuity's decisions that go with them (one transaction: a failure stores
        none of it, so the next detection decides them again).

        Parameters
        ----------
        messages : iterable of dict
            Message bodies (:func:`spikes.alerts.timeline.event_messages`).
        route : str
            The route's key.
        now : pd.Timestamp, optional
            Enqueue time (now by default); they are due from then.
        continuations : sequence of Continuation
            Continuations decided for `route` (see :meth:`add_continuations`).
        awaiting : sequence of Awaiting, optional
            The route's awaiting events from now on (see :meth:`set_awaiting`); None
            leaves those stored.
        part_ends : sequence of PartEnd
            Ends of parts held back (see :meth:`part_ends`), in place of those stored
            for the same parts.

        Returns
        -------
        int
            Messages added.

        Notes
        -----
        It and a transaction of a prune (:meth:`prune`, of another thread: that of
        :meth:`start_prune`) take turns (:meth:`enqueuing`): between its read of the
        route's horizon and what the route holds and its insert, a transaction could
        remove an event it holds and move the horizon, and the insert would then add that
        event's messages again, as pending. It comes between two transactions, and waits
        for one at most (:mod:`spikes.alerts.pruning`).
        """
        with self.enqueuing():
            return self._enqueue(messages, route, now, continuations, awaiting, part_ends)

    @contextmanager
    def enqueuing(self) -> Iterator[None]:
        """No transaction of a prune within the block (its caller's reads of what the
        routes hold, then its enqueues): it waits for the one running, if any, and the
        next waits for it (:class:`spikes.alerts.pruning.Turns`)."""
        self._turns.take(enqueue=True)
        try:
            yield
        finally:
            self._turns.give()

    def _enqueue(self, messages: Iterable[dict[str, Any]], route: str,
                 now: pd.Timestamp | None, continuations: Sequence[Continuation],
                 awaiting: Sequence[Awaiting] | None,
                 part_ends: Sequence[PartEnd]) -> int:
        """:meth:`enqueue`, no prune running."""
        now = naive_utc(now or _now())
        horizon = self.route_horizon(route)
        messages = list(messages)
        if horizon is not None:
            going = going_on(messages, horizon)
            messages = [m for m in messages if event_key(m) in going]
        messages = list({str(m["message_id"]): m for m in messages}.values())  # once each
        if not messages:
            if continuations or awaiting is not None or part_ends:
                with self._lock:
                    self._in_transaction(
                        lambda: self._decided(route, continuations, awaiting, part_ends))
            return 0
        messages = self._numbered(messages, route)
        # One INSERT from a table (an executemany of one row per message took 3 ms a
        # row: 30 s for the 9,000 messages a restart's complete detection recomputes).
        incoming = pa.table({
            "message_id": [str(m["message_id"]) for m in messages],
            "route": [route] * len(messages),
            "event_id": [str(m["event_id"]) for m in messages],
            "state": [str(m["state"]) for m in messages],
            "sequence": pa.array([int(m["sequence"]) for m in messages], pa.int32()),
            "changed_at": pa.array([naive_utc(pd.Timestamp(m["at"])) for m in messages],
                                   pa.timestamp("us")),
            "body": [json.dumps(m) for m in messages],
            "event_key": [event_key(m) for m in messages],
        })
        with self._lock, transaction(self._conn) as conn:
            before = conn.execute("SELECT count(*) FROM alert_outbox").fetchall()[0][0]
            with registered(conn, "spikes_incoming", incoming):
                conn.execute(
                    "INSERT INTO alert_outbox (message_id, route, event_id, state, "
                    "sequence, changed_at, body, enqueued_at, status, attempts, "
                    "next_attempt_at, event_key) SELECT message_id, route, event_id, "
                    "state, sequence, changed_at, body, ?, 'pending', 0, ?, event_key "
                    "FROM spikes_incoming ON CONFLICT DO NOTHING", [now, now])
            after = conn.execute("SELECT count(*) FROM alert_outbox").fetchall()[0][0]
            self._decided(route, continuations, awaiting, part_ends)
        return int(after - before)

    def _decided(self, route: str, continuations: Sequence[Continuation],
                 awaiting: Sequence[Awaiting] | None,
                 part_ends: Sequence[PartEnd] = ()) -> None:
        """Store the continuity's decisions for `route` (see :meth:`enqueue`), the lock
        held (in the caller's transaction)."""
        self._add_continuations(route, continuations)
        if awaiting is not None:
            self._set_awaiting(route, awaiting)
        for end in part_ends:
            self._conn.execute(
                "INSERT INTO alert_part_end VALUES (?, ?, ?, ?) ON CONFLICT (route, "
                "event_key) DO UPDATE SET of_key = excluded.of_key, "
                "products = excluded.products",
                [route, end.key, end.of, json.dumps(list(end.products))])

    def _in_transaction(self, work: Callable[[], T]) -> T:
        """Run `work` (writes of the connection, under the lock) in one transaction; what
        it returns."""
        with transaction(self._conn):
            return work()

    def _numbered(self, messages: list[dict[str, Any]], route: str) -> list[dict[str, Any]]:
        """`messages` (in time order), each new one whose ``sequence`` would repeat or go
        back on what `route` holds of its event (after a detection with other settings:
        a told event's own numbering, a split's or a continuation's) numbered after it,
        and under the id the route knows the event by (that of its highest sequence
        held: a detection with other settings numbers its events anew, so the same
        event, its key, can come back under another id); its ``message_id`` stays (a
        message recomputed is still known by it)."""
        with self._lock:
            held = self.held(route, [str(m["message_id"]) for m in messages])
            keys = sorted({event_key(m) for m in messages
                           if str(m["message_id"]) not in held})
            if not keys:
                return messages
            of_keys, params = _in("event_key", keys)
            rows = self._conn.execute(
                f"SELECT event_key, max(sequence), arg_max(event_id, sequence) FROM "
                f"alert_outbox WHERE route = ? AND {of_keys} GROUP BY event_key",
                [route, *params]).fetchall()
        top = {str(key): int(sequence) for key, sequence, _ in rows}
        known = {str(key): str(event_id) for key, _, event_id in rows}
        out = []
        for message in messages:
            key = event_key(message)
            if str(message["message_id"]) not in held:
                if int(message["sequence"]) <= top.get(key, -1):
                    message = {**message, "sequence": top[key] + 1}
                top[key] = max(top.get(key, -1), int(message["sequence"]))
                if key in known and str(message["event_id"]) != known[key]:
                    message = _renamed(message, known[key])
            out.append(message)
        return out

    def told(self, route: str, keys: Sequence[str] | None = None) -> dict[str, Told]:
        """What `route` was told: every event it holds a message of (of those with these
        event `keys` only, when given), by key, with its latest message (by time),
        whether that is a ``resolved`` and the largest sequence held."""
        where, params = "", [route]
        if keys is not None:
            if not keys:
                return {}
            of_keys, more = _in("event_key", keys)
            where, params = f" AND {of_keys}", params + more
        with self._lock:
            rows = self._conn.execute(
                f"SELECT sequence, body, message_id FROM alert_outbox WHERE route = ?{where} "
                "ORDER BY changed_at, sequence", params).fetchall()
        latest: dict[str, dict[str, Any]] = {}
        top: dict[str, int] = {}
        named: dict[str, set[str]] = {}
        worst: dict[str, int] = {}
        ids: dict[str, set[str]] = {}
        for sequence, body, message_id in rows:
            message = json.loads(body)
            key = event_key(message)
            latest[key] = message
            top[key] = max(top.get(key, -1), int(sequence))
            named.setdefault(key, set()).update(str(p["product"])
                                                for p in message["products"])
            worst[key] = max(worst.get(key, -1), severity_rank(str(message["severity"])))
            ids.setdefault(key, set()).add(str(message_id))
        return {k: Told(k, m, m["state"] == "resolved", top[k], frozenset(named[k]),
                        worst[k], frozenset(ids[k]))
                for k, m in latest.items()}

    def continuations(self, route: str) -> list[Continuation]:
        """The continuations stored for `route` (:mod:`spikes.alerts.continuity`)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT event_key, of_key, event_id, first_sequence, products, worst, "
                "resolved, coalesce(part, false) FROM alert_continuation WHERE route = ?",
                [route]).fetchall()
        return [Continuation(key, of, event_id, int(first), tuple(json.loads(products)),
                             int(worst), bool(resolved), bool(part))
                for key, of, event_id, first, products, worst, resolved, part in rows]

    def add_continuations(self, route: str, continuations: Sequence[Continuation]) -> None:
        """Store continuations decided for `route` (a stored one stays as it is)."""
        with self._lock:
            self._add_continuations(route, continuations)

    def _add_continuations(self, route: str, continuations: Sequence[Continuation]) -> None:
        """:meth:`add_continuations`, the lock held (in the caller's transaction)."""
        if not continuations:
            return
        rows = pa.table({
            "route": [route] * len(continuations),
            "event_key": [c.key for c in continuations],
            "of_key": [c.of for c in continuations],
            "event_id": [c.event_id for c in continuations],
            "first_sequence": pa.array([c.first_sequence for c in continuations], pa.int32()),
            "products": [json.dumps(c.products) for c in continuations],
            "worst": pa.array([c.worst for c in continuations], pa.int32()),
            "resolved": [bool(c.resolved) for c in continuations],
            "part": [bool(c.part) for c in continuations],
        })
        with registered(self._conn, "spikes_continued", rows):
            self._conn.execute(
                "INSERT INTO alert_continuation (route, event_key, of_key, event_id, "
                "first_sequence, products, worst, resolved, part) SELECT * FROM "
                "spikes_continued ON CONFLICT DO NOTHING")

    def drop_continuations(self, route: str, keys: Sequence[str]) -> int:
        """Forget the continuations of `route` whose new events have these `keys` (spent
        ones: :func:`spikes.alerts.continuity.spent`).

        Returns
        -------
        int
            Continuations dropped.
        """
        if not keys:
            return 0
        of_keys, params = _in("event_key", keys)
        with self._lock:
            rows = self._conn.execute(
                f"DELETE FROM alert_continuation WHERE route = ? AND {of_keys} "
                "RETURNING event_key", [route, *params]).fetchall()
            # The ends of the parts of told events none of whose continuations is left.
            self._conn.execute(
                "DELETE FROM alert_part_end WHERE route = ? AND of_key NOT IN (SELECT "
                "of_key FROM alert_continuation WHERE route = ? AND part)", [route, route])
        return len(rows)

    def part_ends(self, route: str, of: Sequence[str] | None = None
                  ) -> dict[str, list[dict[str, Any]]]:
        """The stored ends of the parts of told events of `route` (of the told events
        with these keys `of` only, when given): the products of each part's
        ``resolved``, by the part's key (:class:`spikes.alerts.continuity.PartEnd`)."""
        where, params = "", [route]
        if of is not None:
            if not of:
                return {}
            of_keys, more = _in("of_key", of)
            where, params = f" AND {of_keys}", params + more
        with self._lock:
            rows = self._conn.execute(
                f"SELECT event_key, products FROM alert_part_end WHERE route = ?{where}",
                params).fetchall()
        return {str(key): json.loads(products) for key, products in rows}

    def awaiting(self, route: str) -> list[Awaiting]:
        """The told events of `route` awaiting (:class:`spikes.alerts.continuity.Awaiting`),
        by due time."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT event_key, event_id, due FROM alert_awaiting WHERE route = ? "
                "ORDER BY due, event_key", [route]).fetchall()
        return [Awaiting(key, event_id, _aware(due)) for key, event_id, due in rows]

    def set_awaiting(self, route: str, awaiting: Sequence[Awaiting]) -> bool:
        """Make `awaiting` the awaiting events of `route` (in place of those stored; one
        transaction).

        Returns
        -------
        bool
            Whether they changed (the same events in another order change nothing: the
            table is then left as it is).
        """
        with self._lock:
            return self._in_transaction(lambda: self._set_awaiting(route, awaiting))

    def _set_awaiting(self, route: str, awaiting: Sequence[Awaiting]) -> bool:
        """:meth:`set_awaiting`, the lock held (in the caller's transaction): one
        ``INSERT`` from a table (one a row held the lock 0.6 ms a row), none when
        nothing changed; whether it wrote."""
        if _by_due(awaiting) == self.awaiting(route):
            return False
        conn = self._conn
        conn.execute("DELETE FROM alert_awaiting WHERE route = ?", [route])
        if not awaiting:
            return True
        rows = pa.table({
            "route": [route] * len(awaiting),
            "event_key": [a.key for a in awaiting],
            "event_id": [a.event_id for a in awaiting],
            "due": pa.array([naive_utc(a.due) for a in awaiting], pa.timestamp("us")),
        })
        with registered(conn, "spikes_awaiting", rows):
            conn.execute("INSERT INTO alert_awaiting (route, event_key, event_id, due) "
                         "SELECT * FROM spikes_awaiting")
        return True

    def held(self, route: str, message_ids: Sequence[str]) -> set[str]:
        """Which of `message_ids` the outbox holds for `route` (in any status)."""
        if not message_ids:
            return set()
        of_ids, params = _in("message_id", message_ids)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT message_id FROM alert_outbox WHERE route = ? AND {of_ids}",
                [route, *params]).fetchall()
        return {m for (m,) in rows}

    # -- delivery ------------------------------------------------------------------------
    def due(self, now: pd.Timestamp | None = None,
            routes: Sequence[str] | None = None,
            failed: bool = False) -> list[dict[str, Any]]:
        """Pending messages, oldest first per route: ``route``, ``message_id``,
        ``attempts``, ``next_attempt_at`` (UTC), ``status``, ``body`` (the message, a
        dict) and ``enqueued_at`` (UTC).

        Parameters
        ----------
        now : pd.Timestamp, optional
            Only those whose next attempt is due by then (all pending when None).
        routes : sequence of str, optional
            Only those of these routes.
        failed : bool
            The failed messages too, in their place (they hold back their event's later
            messages: :func:`spikes.alerts.delivery.deliver_due`).
        """
        statuses = "('pending', 'failed')" if failed else "('pending')"
        query = ("SELECT route, message_id, attempts, next_attempt_at, status, body, "
                 f"enqueued_at FROM alert_outbox WHERE status IN {statuses}")
        params: list[Any] = []
        if now is not None:
            query += " AND next_attempt_at <= ?"
            params.append(naive_utc(now))
        if routes is not None:
            if not routes:
                return []
            of_routes, more = _in("route", routes)
            query += f" AND {of_routes}"
            params.extend(more)
        query += " ORDER BY route, changed_at, event_id, sequence"
        with self._lock:
            rows = self._conn.execute(query, params).fetchall()
        return [{"route": r, "message_id": m, "attempts": int(a), "next_attempt_at": _aware(n),
                 "status": s, "body": json.loads(b), "enqueued_at": _aware(e)}
                for r, m, a, n, s, b, e in rows]

    def record(self, message_id: str, route: str, *, ok: bool, error: str | None = None,
               retry_at: pd.Timestamp | None = None, give_up: bool = False,
               now: pd.Timestamp | None = None) -> int:
        """Log one delivery attempt and update the message (one transaction).

        Parameters
        ----------
        message_id, route : str
            The message.
        ok : bool
            Whether it got through (then it is ``delivered`` and never sent again).
        error : str, optional
            What went wrong.
        retry_at : pd.Timestamp, optional
            When to try again after a failure.
        give_up : bool
            Mark it ``failed`` (no more attempts).
        now : pd.Timestamp, optional
            Time of the attempt.

        Returns
        -------
        int
            The attempt's number (1 for the first).
        """
        now = naive_utc(now or _now())
        status = "delivered" if ok else ("failed" if give_up else "pending")
        with self._lock, transaction(self._conn) as conn:
            conn.execute(
                "UPDATE alert_outbox SET attempts = attempts + 1, status = ?, "
                "last_error = ?, delivered_at = CASE WHEN ? THEN ? ELSE NULL END, "
                "next_attempt_at = ? WHERE message_id = ? AND route = ?",
                [status, error, ok, now, naive_utc(retry_at or now), message_id, route])
            attempt = conn.execute(
                "SELECT attempts FROM alert_outbox WHERE message_id = ? AND route = ?",
                [message_id, route]).fetchall()[0][0]
            conn.execute("INSERT INTO alert_log VALUES (?, ?, ?, ?, ?, ?)",
                         [message_id, route, attempt, now, ok, error])
        return int(attempt)

    # -- retention -----------------------------------------------------------------------
    def prune(self, retention: pd.Timedelta, routes: Sequence[str], *,
              now: pd.Timestamp | None = None,
              data_now: pd.Timestamp | None = None, batch: int | None = None,
              log_batch: int | None = None) -> Pruned:
        """Forget what no message to come needs, delivered more than `retention` ago
        (:func:`spikes.alerts.retention.prune`: its parameters; `now` is the time of day
        by default), in short transactions: the lock is taken for each alone, so that
        the delivery threads record their attempts, and an enqueue comes (:meth:`enqueue`),
        in between. One prune at a time: a second waits for the first to end.
        :meth:`close` stops it before its next transaction.

        Returns
        -------
        Pruned
        """
        with self._pruning:
            return prune(self._conn, retention, routes, now=now or _now(),
                         data_now=data_now, lock=PruneStep(self._turns, self._lock),
                         batch=batch, log_batch=log_batch, stop=self._closing)

    def start_prune(self, retention: pd.Timedelta, routes: Sequence[str], *,
                    now: pd.Timestamp | None = None, data_now: pd.Timestamp | None = None,
                    done: Callable[[Pruned | None, Exception | None], None] | None = None,
                    batch: int | None = None, log_batch: int | None = None) -> bool:
        """Start a prune (:meth:`prune`, the same parameters) in a thread of the outbox's
        own, unless one runs there or the outbox is closing; whether it started. The
        caller goes on at once; an enqueue waits for one transaction of it at most.
        `done` is called in the thread at its end, with what it removed and None, or None
        and its error (:class:`spikes.alerts.pruning.PruneThread`)."""
        return self._pruner.start(
            lambda: self.prune(retention, routes, now=now, data_now=data_now, batch=batch,
                               log_batch=log_batch), done)

    @property
    def pruning(self) -> bool:
        """Whether a prune of :meth:`start_prune` runs."""
        return self._pruner.running

    def wait_pruned(self, timeout: float | None = None) -> bool:
        """Wait for the prune of :meth:`start_prune`, if one runs, to end (its ``done`` too),
        `timeout` seconds at most (None: no limit); whether none runs now."""
        return self._pruner.wait(timeout)

    # -- reading -------------------------------------------------------------------------
    def messages(self, routes: Sequence[str] | None = None) -> pd.DataFrame:
        """Every message of the outbox (of `routes` only, when given) with its status (by
        time, then route).

        Returns
        -------
        pd.DataFrame
            ``message_id, route, event_id, state, sequence, at, status, attempts,
            delivered_at, last_error`` (times UTC).
        """
        where, params = _of_routes(routes)
        with self._lock:
            frame = self._conn.execute(
                "SELECT message_id, route, event_id, state, sequence, changed_at AS \"at\", "
                f"status, attempts, delivered_at, last_error FROM alert_outbox {where}"
                "ORDER BY changed_at, event_id, sequence, route", params).df()
        return _utc_columns(frame, ("at", "delivered_at"))

    def log(self) -> pd.DataFrame:
        """Every delivery attempt, oldest first: ``message_id, route, attempt, at, ok,
        error`` (``at`` UTC)."""
        with self._lock:
            frame = self._conn.execute(
                "SELECT message_id, route, attempt, attempted_at AS \"at\", ok, error "
                "FROM alert_log ORDER BY attempted_at, route, message_id, attempt").df()
        return _utc_columns(frame, ("at",))

    def counts(self, routes: Sequence[str] | None = None) -> dict[str, int]:
        """Messages by status (``pending``, ``delivered``, ``failed``), of `routes` only
        when given (an outbox file may hold routes no longer configured)."""
        where, params = _of_routes(routes)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT status, count(*) FROM alert_outbox {where}GROUP BY status",
                params).fetchall()
        out = {"pending": 0, "delivered": 0, "failed": 0}
        out.update({s: int(n) for s, n in rows})
        return out


def _renamed(message: dict[str, Any], event_id: str) -> dict[str, Any]:
    """`message` under the id `event_id` (its title's too)."""
    title = retitled(str(message["title"]), str(message["event_id"]), event_id)
    return {**message, "event_id": event_id, "title": title}


def _by_due(awaiting: Iterable[Awaiting]) -> list[Awaiting]:
    """`awaiting` in the order :meth:`Outbox.awaiting` reads them (by due, then key)."""
    return sorted(awaiting, key=lambda a: (pd.Timestamp(a.due), a.key))


def _of_routes(routes: Sequence[str] | None) -> tuple[str, list[str]]:
    """A ``WHERE`` clause (with its trailing space) keeping the rows of `routes` (all when
    None), and its parameters."""
    if routes is None:
        return "", []
    of_routes, params = _in("route", routes)
    return f"WHERE {of_routes} ", params


def _in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column IN (?, ?, ...)``, a placeholder per one of `values` (``false`` for none),
    and its parameters.

    Examples
    --------
    >>> _in("route", ["a", "b"])
    ('route IN (?, ?)', ['a', 'b'])
    >>> _in("route", [])
    ('false', [])
    """
    if not values:
        return "false", []
    return f"{column} IN ({', '.join(['?'] * len(values))})", list(values)


def _utc_columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    for column in columns:
        frame[column] = utc(frame[column])
    return frame


def going_on(messages: Iterable[dict[str, Any]], horizon: pd.Timestamp) -> set[str]:
    """Keys of the events of `messages` not over by `horizon`: with a message after it,
    or whose latest message at or before it is not their end.

    By event: one over by the horizon is history; one going on then keeps all its
    messages, its open too (a resolution alone would tell of an outage the receiver never
    heard of), and is enqueued at once, not at its next message (a route added to a
    service mid-outage hears the outage going on when it is added).

    Parameters
    ----------
    messages : iterable of dict
        Message bodies (``event_key``, ``state``, ``at``, ``sequence``).
    horizon : pd.Timestamp
        The time before which the route takes no history.

    Returns
    -------
    set of str

    Examples
    --------
    >>> at = pd.Timestamp("2026-01-22T19:00Z")
    >>> def message(key, state, minutes, sequence):
    ...     return {"event_id": key, "event_key": key, "state": state, "sequence": sequence,
    ...             "at": (at + pd.Timedelta(minutes=minutes)).isoformat()}
    >>> sorted(going_on([message("over", "open", 0, 0), message("over", "resolved", 30, 1),
    ...                  message("going", "open", 10, 0),
    ...                  message("later", "open", 90, 0)], at + pd.Timedelta("1h")))
    ['going', 'later']
    """
    going: set[str] = set()
    latest: dict[str, tuple[pd.Timestamp, int, str]] = {}
    for m in messages:
        key, at = event_key(m), pd.Timestamp(m["at"])
        if at > horizon:
            going.add(key)
            continue
        mark = (at, int(m["sequence"]), str(m["state"]))
        if key not in latest or mark[:2] >= latest[key][:2]:
            latest[key] = mark
    return going | {key for key, (_, _, state) in latest.items() if state != "resolved"}
