"""The outbox's retention: what was delivered long ago goes, what a message to come needs
stays (:meth:`spikes.alerts.outbox.Outbox.prune`, ``--outbox-retention``).

Without it ``alert_outbox`` and ``alert_log`` grow by every message and attempt for ever,
and every complete detection (a restart) reads what each route was ever told. An event's
messages on a route go, with their attempts (in one transaction), once all of them were
delivered ``retention`` ago on the wall clock and are dated ``retention`` before the end
of the data (a replay on the data clock, ``spikes analyze --outbox`` over a file, keeps
its last ``retention`` of data whatever their age), the route heard the event end, and
no continuation or awaiting event of the route refers to it. The route's horizon then moves
up to the latest of them, so that a detection from scratch does not page them again:
they are history. A message not delivered never goes.

The work is cut into short transactions (:data:`PRUNE_BATCH` (route, event) pairs, an
event on two routes counting twice, with their messages and attempts; or about
:data:`LOG_BATCH` old attempts of messages that stay), the outbox's lock taken for each
alone: an outbox of a version without the retention holds its whole history, which its
first prune removes. At a million rows (``benchmarks/bench_outbox_retention.py
--upgraded-rows``): in one transaction, 19-21 s with the delivery threads waiting all
along, and the process's resident memory 1.4 GB above what it was after the open at its
peak; in these, about as long, a delivery thread waiting about 1 s at most, and 0.26 GB
above. The service runs it in a thread of the outbox's own
(:meth:`spikes.alerts.outbox.Outbox.start_prune`, :mod:`spikes.alerts.pruning`): the
detection thread's notify that starts it returns at once (0.2-0.8 s at a million rows,
its own work, where it took the whole prune, 22-37 s, when it ran it), a later enqueue
waits for one transaction at most (0.5 s at most over 136 notifies every 0.1 s during
two prunes; alone, its longest stretch between two pauses took 1.1-1.3 s), and ``GET
/v1/status`` and ``POST /v1/flush`` answer meanwhile. A replay (``spikes analyze
--outbox``) prunes before it delivers, on its own thread.
:meth:`spikes.alerts.outbox.Outbox.close` stops a prune between two transactions (and
waits for the outbox's thread).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from spikes.io.embedded import naive_utc, transaction

__all__ = ["LOG_BATCH", "PRUNE_BATCH", "ROUTE_HORIZON", "Pruned", "prune"]

#: The ``alert_meta`` key of a route's own horizon is this and the route's key
#: (:meth:`spikes.alerts.outbox.Outbox.add_route`).
ROUTE_HORIZON = "route:"
#: Most (route, event) pairs whose messages one transaction of :func:`prune` removes.
PRUNE_BATCH = 5_000
#: About the most attempts one transaction of :func:`prune` removes from the log (those
#: logged at one time all go together).
LOG_BATCH = 50_000
#: Seconds the lock is left free between two transactions of :func:`prune`: a thread
#: waiting for it gets it then (Python's locks are not fair: the pruning thread, going on
#: at once, took it back before a waiting thread woke).
PAUSE = 0.002
#: The tables of the continuity's decisions, by route.
_DECIDED = ("alert_continuation", "alert_awaiting", "alert_part_end")


def _prunable(rows: str) -> str:
    """The (route, event) of `rows` (a table of the outbox's rows) whose messages
    :func:`prune` removes, with the time of the latest: all delivered by the wall clock's
    cut (parameter 1), all dated by the data's cut (parameter 2), the route heard the
    event end (or the route is gone: not in ``spikes_routes``), and no continuation or
    awaiting event of the route refers to it."""
    return f"""
SELECT route, event_key, last_at FROM (
    SELECT route, event_key, bool_and(status = 'delivered') AS delivered,
           max(delivered_at) AS delivered_at, max(changed_at) AS last_at,
           arg_max(state, (changed_at, sequence)) AS last_state
    FROM {rows} GROUP BY route, event_key) e
WHERE delivered AND delivered_at <= ? AND last_at <= ?
  AND (last_state = 'resolved' OR route NOT IN (SELECT route FROM spikes_routes))
  AND NOT EXISTS (SELECT 1 FROM alert_continuation c
                  WHERE c.route = e.route AND c.of_key = e.event_key)
  AND NOT EXISTS (SELECT 1 FROM alert_awaiting a
                  WHERE a.route = e.route AND a.event_key = e.event_key)
"""


#: The candidates (parameters: the two cuts), numbered from 0 (oldest first), into a
#: temporary table.
_CANDIDATES = ("CREATE OR REPLACE TEMP TABLE spikes_prunable AS SELECT row_number() OVER "
               "(ORDER BY last_at, route, event_key) - 1 AS n, route, event_key FROM ("
               + _prunable("alert_outbox") + ")")
#: A batch of them: those numbered from parameter 1 up to before parameter 2, checked again
#: on the outbox as it is now (a message may have joined one since; parameters 3 and 4:
#: the cuts), into a temporary table.
_BATCH = ("CREATE OR REPLACE TEMP TABLE spikes_pruned AS " + _prunable(
    "(SELECT o.* FROM alert_outbox o SEMI JOIN (SELECT route, event_key FROM "
    "spikes_prunable WHERE n >= ? AND n < ?) b ON o.route = b.route AND o.event_key = "
    "b.event_key)"))
#: The attempts of a batch's messages (in the batch's transaction, before the messages:
#: no attempt outlives its message).
_ATTEMPTS = ("DELETE FROM alert_log l USING alert_outbox o, spikes_pruned p WHERE "
             "l.message_id = o.message_id AND l.route = o.route AND o.route = p.route AND "
             "o.event_key = p.event_key")
#: The attempts logged by the wall clock's cut of messages the outbox holds delivered, or
#: no longer holds, logged after parameter 1 and at or before parameter 2.
_LOG = ("DELETE FROM alert_log l WHERE attempted_at > ? AND attempted_at <= ? AND NOT EXISTS "
        "(SELECT 1 FROM alert_outbox o WHERE o.message_id = l.message_id AND o.route = "
        "l.route AND o.status <> 'delivered')")


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
    transactions : int
        The transactions that removed them.
    stopped : bool
        Whether it stopped before the end, its outbox closing (the rest is pruned at the
        next prune).
    """

    messages: int
    attempts: int
    decisions: int
    transactions: int = 1
    stopped: bool = False


class _Stopped(Exception):
    """Raised by :class:`_Guarded` when the prune is to stop."""


class _Guarded:
    """`lock`, entered only while `stop` is not set: entered when it is, it raises
    :class:`_Stopped` (the lock left free), so that the prune stops between two
    transactions."""

    def __init__(self, lock: AbstractContextManager[Any],
                 stop: threading.Event | None) -> None:
        self.lock, self.stop = lock, stop

    def __enter__(self) -> None:
        self.lock.__enter__()
        if self.stop is not None and self.stop.is_set():
            self.lock.__exit__(None, None, None)
            raise _Stopped

    def __exit__(self, *exc: Any) -> None:
        self.lock.__exit__(*exc)


def _pause() -> None:
    """Leave the lock free a moment (:data:`PAUSE`), between two transactions."""
    time.sleep(PAUSE)


def prune(conn: duckdb.DuckDBPyConnection, retention: pd.Timedelta, routes: Sequence[str],
          *, now: pd.Timestamp, data_now: pd.Timestamp | None = None,
          lock: AbstractContextManager[Any] | None = None, batch: int | None = None,
          log_batch: int | None = None, stop: threading.Event | None = None) -> Pruned:
    """Forget what no message to come needs, delivered `retention` ago (in transactions of
    `conn`, an outbox's connection, of at most `batch` events or about `log_batch`
    attempts each, holding `lock` for each; no other prune of `conn` may run meanwhile:
    they share temporary tables).

    - An event's messages on a route (and their attempts in the log, in the same
      transaction: no attempt outlives its message, even for a moment), once every one of
      them was delivered at least `retention` before `now` (wall clock) and is dated
      (its ``at``, the data's clock) at least `retention` before `data_now`, and the
      route heard the event end (its latest message a ``resolved``), unless a
      continuation or an awaiting event of the route still refers to it
      (:mod:`spikes.alerts.continuity`). The route's horizon moves up to the latest of
      them: a detection from scratch (a restart, ``spikes analyze --outbox`` again) then
      enqueues none of them again (they are history, over by that time). Of a route no
      longer configured (not in `routes`), the delivered events so old go whether or
      not it heard them end: nothing follows them for it.
    - The attempts logged at least `retention` before `now` of the messages delivered
      that stay (and of those an earlier version removed without them).
    - The continuations, awaiting events and part ends of the routes not in `routes`:
      only a complete detection for a route decides them, and the route is gone
      (configured again, it gets them decided anew).

    Never a message not delivered (``pending`` or ``failed``), nor the attempts of one.
    Each transaction checks its events again, on the outbox as it is then: a write of
    another thread between two transactions (a message joining an event, a continuation
    or an awaiting event referring to one) keeps the event. That alone does not keep an
    enqueue safe, which reads the route's horizon before it inserts: `lock`, as the
    outbox's :meth:`~spikes.alerts.outbox.Outbox.prune` gives it, is also the turn of
    an enqueue, which no transaction comes within (an enqueue comes between two; the
    service prunes in a thread of the outbox's own while its detection enqueues:
    :meth:`~spikes.alerts.outbox.Outbox.start_prune`). A failure leaves the
    transactions before it done, which prune what they pruned.

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
    lock : context manager, optional
        Held for each use of `conn` (the outbox's: its delivery threads write, and an
        enqueue takes its turn, between two transactions); none by default. Entered
        again and again.
    batch : int, optional
        Most (route, event) pairs a transaction removes the messages of
        (:data:`PRUNE_BATCH` by default, read at the call).
    log_batch : int, optional
        About the most attempts a transaction removes from the log (:data:`LOG_BATCH`
        by default, read at the call).
    stop : threading.Event, optional
        Set (by the outbox's :meth:`~spikes.alerts.outbox.Outbox.close`, at the service's
        shutdown), the prune stops before its next transaction, quietly: what it
        removed stays removed, and it says it stopped (:attr:`Pruned.stopped`).

    Returns
    -------
    Pruned
        What was removed.

    Raises
    ------
    ValueError
        For a batch size under 1.
    """
    batch = PRUNE_BATCH if batch is None else batch
    log_batch = LOG_BATCH if log_batch is None else log_batch
    if batch < 1 or log_batch < 1:
        raise ValueError(f"batch sizes must be at least 1, got {batch} and {log_batch}")
    free: AbstractContextManager[Any] = lock if lock is not None else nullcontext()
    held = _Guarded(free, stop)
    wall = naive_utc(now - retention)
    data = naive_utc((data_now if data_now is not None else now) - retention)
    messages, attempts, gone, transactions = 0, 0, 0, 0
    try:
        with held:
            conn.register("spikes_routes",
                          pa.table({"route": pa.array(list(routes), pa.string())}))
            conn.execute(_CANDIDATES, [wall, data])
            count = int(conn.execute("SELECT count(*) FROM spikes_prunable").fetchall()[0][0])
        for first in range(0, count, batch):
            with held, transaction(conn):
                conn.execute(_BATCH, [first, first + batch, wall, data])
                attempts += _count(conn.execute(_ATTEMPTS))
                messages += _count(conn.execute(
                    "DELETE FROM alert_outbox o USING spikes_pruned p WHERE o.route = p.route "
                    "AND o.event_key = p.event_key"))
                conn.execute(
                    "INSERT INTO alert_meta SELECT ? || route, max(last_at) FROM "
                    "spikes_pruned GROUP BY route ON CONFLICT (key) DO UPDATE SET value = "
                    "greatest(alert_meta.value, excluded.value)", [ROUTE_HORIZON])
            transactions += 1
            _pause()
        for low, high in _log_windows(conn, held, wall, log_batch):
            with held, transaction(conn):
                attempts += _count(conn.execute(_LOG, [low, high]))
            transactions += 1
            _pause()
        with held, transaction(conn):
            gone = sum(_count(conn.execute(
                f"DELETE FROM {table} WHERE route NOT IN (SELECT route FROM spikes_routes)"))
                for table in _DECIDED)
        transactions += 1
    except _Stopped:
        return Pruned(messages, attempts, gone, transactions, stopped=True)
    finally:
        with free:
            _clean_up(conn)
    return Pruned(messages, attempts, gone, transactions)


def _clean_up(conn: duckdb.DuckDBPyConnection) -> None:
    """Drop what :func:`prune` made in `conn`. Its errors are not raised: the error to
    raise is the prune's own, if any (it may have ended the connection), and what is
    left goes with the connection, or at the next prune (which replaces it)."""
    for statement in ("DROP TABLE IF EXISTS spikes_pruned",
                      "DROP TABLE IF EXISTS spikes_prunable"):
        try:
            conn.execute(statement)
        except duckdb.Error:
            pass
    try:
        conn.unregister("spikes_routes")
    except duckdb.Error:
        pass


def _log_windows(conn: duckdb.DuckDBPyConnection, held: AbstractContextManager[Any],
                 wall: pd.Timestamp, size: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Windows of time (after the first, up to the second) that cover the attempts logged
    by `wall`, about `size` attempts each (those logged at one time in the same one);
    none when there are none."""
    with held:
        rows = conn.execute(
            "SELECT attempted_at, k FROM (SELECT attempted_at, row_number() OVER (ORDER BY "
            "attempted_at) AS k FROM alert_log WHERE attempted_at <= ?) WHERE k = 1 OR "
            "k % ? = 0 ORDER BY k", [wall, size]).fetchall()
    if not rows:
        return []
    first = pd.Timestamp(rows[0][0]) - pd.Timedelta(microseconds=1)
    cuts = dict.fromkeys(pd.Timestamp(at) for at, k in rows if k % size == 0 and at < wall)
    edges = [first, *cuts, wall]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _count(result: duckdb.DuckDBPyConnection) -> int:
    """The rows a ``DELETE`` removed (DuckDB answers it with one row, the count)."""
    return int(result.fetchall()[0][0])
