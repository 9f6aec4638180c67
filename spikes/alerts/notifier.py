"""The notifier: messages of each detection into the outbox, and a thread that sends them.

After each detection, :meth:`Notifier.observe` computes the messages of every event up to
the end of the data the detector saw (:mod:`spikes.alerts.timeline`), keeps those each
route takes (:mod:`spikes.alerts.routing`) and enqueues them (the outbox ignores what it
already holds). A worker thread per route (:meth:`Notifier.start`) delivers them
(:func:`spikes.alerts.delivery.deliver_due`) as soon as they are enqueued and retries
failures when their backoff has passed (with ``retry_failed``, as ``spikes serve`` has it,
also the messages whose attempts ran out), so that a receiver slow to answer delays no
other route; :meth:`Notifier.drain` does the same until nothing is pending
(``spikes analyze --notify``).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from spikes.alerts.channels import TIMEOUT, Channel, make_channel
from spikes.alerts.continuity import Carried, Coverage, carry, spent
from spikes.alerts.delivery import Attempt, deliver_due, next_due
from spikes.alerts.outbox import Outbox
from spikes.alerts.retention import Pruned
from spikes.alerts.routing import Route, route_messages
from spikes.alerts.timeline import analysis_messages, event_key, merge_gaps

if TYPE_CHECKING:
    from spikes.detect.pipeline import Analysis

__all__ = ["Notifier", "coverage_of"]

_log = logging.getLogger(__name__)

#: Longest sleep of the worker between two looks at the outbox, in seconds.
IDLE = 1.0
#: How long the outbox keeps what was delivered (``--outbox-retention``): a month, past
#: any look back at a page of the last weeks in ``GET /v1/notifications``.
RETENTION = pd.Timedelta(days=30)
#: How often (wall clock) an enqueue prunes the outbox, at most.
PRUNE_EVERY = pd.Timedelta(hours=1)


class Notifier:
    """Routes, their channels and the outbox, with a delivery thread per route.

    Parameters
    ----------
    outbox : Outbox
    routes : sequence of Route
    channels : mapping of route key to Channel, optional
        Channels to use instead of those of the routes' URLs
        (:func:`spikes.alerts.channels.make_channel`).
    timeout : float
        Seconds each channel waits for its receiver.
    clock : callable, optional
        The time of day (UTC ``pd.Timestamp``), for tests.
    retry_failed : bool
        Go on trying the messages whose attempts ran out (``failed``), after the backoff
        of their next attempt (``spikes serve``): see
        :func:`spikes.alerts.delivery.deliver_due`.
    retention : pd.Timedelta or None
        How long the outbox keeps the messages delivered, their attempts and the like
        (:meth:`Outbox.prune`, at the first enqueue and then at most every
        :data:`PRUNE_EVERY`); None keeps everything.
    prune_in_background : bool
        Prune in the outbox's own thread (:meth:`Outbox.start_prune`; ``spikes serve``):
        :meth:`enqueue` starts it and returns, so that a long prune (the first of an
        upgraded outbox: about 20 s at a million rows) does not hold up detection; a
        later enqueue waits for one of its transactions at most, and :meth:`wait_pruned`
        waits for it. False (a replay, ``spikes analyze --outbox``): :meth:`enqueue`
        prunes before it returns, and what follows (the delivery, the report) sees the
        outbox pruned.

    Raises
    ------
    SpikesInputError
        For a URL no channel understands.
    """

    def __init__(self, outbox: Outbox, routes: Sequence[Route], *,
                 channels: dict[str, Channel] | None = None, timeout: float = TIMEOUT,
                 clock: Callable[[], pd.Timestamp] | None = None,
                 retry_failed: bool = False,
                 retention: pd.Timedelta | None = RETENTION,
                 prune_in_background: bool = False) -> None:
        self.outbox = outbox
        self.retry_failed = retry_failed
        self.retention = retention
        self.prune_in_background = prune_in_background
        self._pruned_at: pd.Timestamp | None = None
        #: Prunes of the outbox that failed (``/metrics``).
        self.prune_failures = 0
        #: Why the latest prune failed; empty once one has succeeded since (``/healthz``).
        self.prune_failing = ""
        self.routes = {r.key: (r, (channels or {}).get(r.key) or make_channel(r, timeout))
                       for r in routes}
        self.clock = clock or (lambda: pd.Timestamp.now(tz="UTC"))
        self._wake = {key: threading.Event() for key in self.routes}
        self._stop = threading.Event()
        self._locks = {key: threading.Lock() for key in self.routes}
        self._threads: list[threading.Thread] = []

    # -- enqueue -------------------------------------------------------------------------
    def enqueue(self, messages: Sequence[dict[str, Any]],
                settled_before: pd.Timestamp | None = None,
                until: pd.Timestamp | None = None, *,
                coverage: Coverage | None = None, live: bool = True) -> int:
        """Enqueue, for every route, the messages it takes; wake the worker.

        A route told of an event gets the rest of its story under that event's key, when
        a detection from scratch finds the outage with another first onset (or, raised
        later, a live step after it), and hears it withdrawn when that detection no
        longer finds it, once its data pass the reach of its incident
        (:func:`spikes.alerts.continuity.carry`). The messages and the continuity's
        decisions that go with them (continuations, awaiting events) are stored in one
        transaction: an enqueue that fails leaves them to the next detection.

        Parameters
        ----------
        messages : sequence of dict
            Message bodies, in time order.
        settled_before : pd.Timestamp, optional
            Leave out the events that the route was never told of and that were over at
            or before this time: resolved then, or (when `until`, the end of the data the
            messages were computed from, is at or before it) all of them (history: a
            backfill, a store's past). An event the route has a message of keeps all its
            messages, so that its receiver hears it end.
        until : pd.Timestamp, optional
            See `settled_before`; also the time up to which a live step withdraws the
            told events awaiting (:class:`spikes.alerts.continuity.Awaiting`).
        coverage : Coverage, optional
            Given when `messages` are every message of a detection from the start of its
            data (not a live step's latest): what it saw. Only then are new
            continuations and withdrawals decided.
        live : bool
            Live steps follow this complete detection as its data grow (the service):
            a told event it does not find awaits while its incident may go on past the
            data. False for a run over data that nothing follows (``spikes analyze
            --outbox``): the data are all there is, so such an event is withdrawn at
            once, at their end (an awaiting one would wait for ever).

        Returns
        -------
        int
            (message, route) pairs added to the outbox.
        """
        added = 0
        every_key = None if coverage is None else {event_key(m) for m in messages}
        # No transaction of a prune between a route's reads of what it was told and its
        # insert (a prune in the outbox's thread takes its turns: Outbox.enqueue).
        with self.outbox.enqueuing():
            for key, (route, _) in self.routes.items():
                taken = route_messages(messages, route)
                # Continued events first: they are the route's own, which history keeps.
                taken, known, carried = self._carried(
                    key, taken, every_key, coverage, settled_before, until, defer=live)
                if settled_before is not None:
                    taken = self._unsettled(taken, key, settled_before, until, known)
                new = self.outbox.enqueue(
                    taken, key, now=self.clock(),
                    continuations=carried.continuations if carried else (),
                    awaiting=carried.awaiting if carried else None,
                    part_ends=carried.part_ends if carried else ())
                if new:
                    self._wake[key].set()
                added += new
        self._prune(until)
        return added

    def _prune(self, data_now: pd.Timestamp | None) -> None:
        """Prune the outbox (:meth:`Outbox.prune`) when :data:`PRUNE_EVERY` has passed
        since the last time; `data_now`: the end of the data of the detection. With
        :attr:`prune_in_background`, in the outbox's thread (:meth:`Outbox.start_prune`),
        unless a prune still runs there: then the next enqueue tries again. A prune
        that fails is logged as such (the outbox's file, its routes, the error) and
        raises nothing: the messages were enqueued (a caller would take it for an
        enqueue's failure), and counted (:attr:`prune_failures`, :attr:`prune_failing`:
        the service's ``/metrics`` and ``/healthz``); the next is :data:`PRUNE_EVERY`
        later (the transactions it ended before the error stay done)."""
        if self.retention is None:
            return
        now = self.clock()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        if self.prune_in_background:
            if self.outbox.start_prune(self.retention, list(self.routes), now=now,
                                       data_now=data_now, done=self._pruned):
                self._pruned_at = now
            return
        self._pruned_at = now
        try:
            pruned = self.outbox.prune(self.retention, list(self.routes), now=now,
                                       data_now=data_now)
        except Exception as exc:  # the messages are enqueued: not an enqueue's failure
            self._pruned(None, exc)
            return
        self._pruned(pruned, None)

    def wait_pruned(self, timeout: float | None = None) -> bool:
        """Wait for the prune running in the outbox's thread, if any, to end (its failure
        or what it removed logged and counted), `timeout` seconds at most (None: for as
        long as it takes); whether none runs now (:meth:`Outbox.wait_pruned`)."""
        return self.outbox.wait_pruned(timeout)

    def _pruned(self, pruned: Pruned | None, exc: Exception | None) -> None:
        """Log and count the end of a prune (see :meth:`_prune`): what it removed, or
        the error it raised (`exc`)."""
        if exc is not None:  # the messages are enqueued: not an enqueue's failure
            _log.error("spikes: could not prune the outbox %s (routes %s, retention %s): "
                       "%s: %s; what was enqueued stays, the next prune is in %s",
                       self.outbox.path, ", ".join(self.routes) or "none", self.retention,
                       type(exc).__name__, exc, PRUNE_EVERY, exc_info=exc)
            self.prune_failures += 1
            self.prune_failing = f"{type(exc).__name__}: {exc}"[:500]
            return
        assert pruned is not None
        self.prune_failing = ""
        if pruned.stopped:
            _log.info("spikes: outbox prune stopped, the outbox closing, after %d "
                      "transactions (%d messages, %d attempts removed); the rest goes at "
                      "the next prune", pruned.transactions, pruned.messages,
                      pruned.attempts)
        elif pruned.messages or pruned.attempts or pruned.decisions:
            _log.info("spikes: outbox pruned: %d messages, %d attempts, %d decisions of "
                      "routes no longer configured (%d transactions)", pruned.messages,
                      pruned.attempts, pruned.decisions, pruned.transactions)

    def _carried(self, key: str, messages: list[dict[str, Any]],
                 every_key: set[str] | None, coverage: Coverage | None,
                 settled_before: pd.Timestamp | None, until: pd.Timestamp | None = None,
                 *, defer: bool = True
                 ) -> tuple[list[dict[str, Any]], set[str], Carried | None]:
        """`messages` of route `key` as its receiver should get them, from what it was
        told (:func:`spikes.alerts.continuity.carry`), the keys of events the route is
        known to hold messages of (the told ones, or the continued ones), and the
        decisions to store with the messages (:meth:`Outbox.enqueue`: its awaiting
        events None when unchanged); None when the route holds nothing of them. A
        complete detection first drops the route's spent continuations
        (:func:`spikes.alerts.continuity.spent`); the told events it does not find but
        may raise later await, with `defer` (a live step up to `until` continues or
        withdraws them), else are withdrawn."""
        stored = self.outbox.continuations(key)
        waiting = self.outbox.awaiting(key)
        if every_key is None:
            # A live step needs what the route holds of its events, of the continued
            # ones and of the awaiting ones.
            keys = ({c.of for c in stored} | {a.key for a in waiting}
                    | {event_key(m) for m in messages})
            told = self.outbox.told(key, sorted(keys))
            if not stored and not waiting and not told:
                return messages, set(), None
        else:
            told = self.outbox.told(key)
        known = set(told) | {c.of for c in stored}
        if every_key is not None:  # a complete detection: forget the spent ones
            old = {c.key for c in spent(stored, told, messages, every_key, settled_before)}
            self.outbox.drop_continuations(key, sorted(old))
            stored = [c for c in stored if c.key not in old]
        parts = sorted({c.of for c in stored if c.part})
        carried = carry(messages, told, stored, every_key, coverage, settled_before,
                        awaiting=waiting, until=until, defer=defer,
                        part_ends=self.outbox.part_ends(key, parts) if parts else {})
        if carried.awaiting == waiting:
            carried = dataclasses.replace(carried, awaiting=None)
        return (carried.messages, known | {c.of for c in carried.continuations}, carried)

    def _unsettled(self, messages: list[dict[str, Any]], key: str, before: pd.Timestamp,
                   until: pd.Timestamp | None = None,
                   known: set[str] | None = None) -> list[dict[str, Any]]:
        """`messages` without the events over at or before `before` of which route `key`
        holds no message (see :meth:`enqueue`); `known`: keys of events it holds
        messages of (a continued event's messages are all new)."""
        past = until is not None and until <= before  # all of it known only long after
        settled = {event_key(m) for m in messages
                   if past or (m["state"] == "resolved" and pd.Timestamp(m["at"]) <= before)}
        settled -= known or set()
        if not settled:
            return messages
        theirs = [m["message_id"] for m in messages if event_key(m) in settled]
        held = self.outbox.held(key, theirs)
        settled -= {event_key(m) for m in messages if m["message_id"] in held}
        return [m for m in messages if event_key(m) not in settled]

    def observe(self, analysis: Analysis, until: pd.Timestamp | None = None,
                since: pd.Timestamp | None = None,
                settled_before: pd.Timestamp | None = None, *, live: bool = True) -> int:
        """Enqueue the messages of a live analysis (see :meth:`enqueue`).

        Parameters
        ----------
        analysis : Analysis
            The latest live detection.
        until : pd.Timestamp, optional
            End of the data it saw (the end of its last bucket by default).
        since : pd.Timestamp, optional
            Only the events with a message after this time (the messages up to it are
            enqueued already): :func:`spikes.alerts.timeline.event_messages`. The
            analysis' data and baseline then need to cover only those events' incidents
            (the live service passes the streaming detector's window).
        settled_before : pd.Timestamp, optional
            Leave out the events over by then that the route was not told of, all of
            them when `until` is not after it (see :meth:`enqueue`).
        live : bool
            Whether live steps follow a complete detection (False for a run over data
            that nothing follows, ``spikes analyze --outbox``: see :meth:`enqueue`).

        Returns
        -------
        int
        """
        if not self.routes or analysis.config.mode != "causal":
            return 0
        messages = analysis_messages(analysis, until, since)
        coverage = coverage_of(analysis, until) if since is None else None
        index = analysis.data.counts.index
        if until is None and len(index):
            until = index[-1] + analysis.data.bucket
        return self.enqueue(messages, settled_before, until, coverage=coverage, live=live)

    # -- delivery ------------------------------------------------------------------------
    def deliver(self) -> list[Attempt]:
        """One delivery pass over every route in turn
        (:func:`spikes.alerts.delivery.deliver_due`)."""
        return [attempt for key in self.routes for attempt in self._deliver(key)]

    def _deliver(self, key: str) -> list[Attempt]:
        with self._locks[key]:
            return deliver_due(self.outbox, {key: self.routes[key]}, now=self.clock,
                               retry_failed=self.retry_failed)

    def drain(self, timeout: float = 600.0) -> bool:
        """Deliver until no message of a route is pending, waiting out the backoffs, each
        route in a thread of its own (a slow receiver holds up no other route); whether
        everything left the outbox (delivered or failed) within `timeout` seconds (False
        while messages wait behind a failed one of their event)."""
        deadline = time.monotonic() + timeout
        if len(self.routes) <= 1:
            return all(self._drain(key, deadline) for key in self.routes)
        done: dict[str, bool] = {}
        errors: list[BaseException] = []

        def drain_one(key: str) -> None:
            try:
                done[key] = self._drain(key, deadline)
            except BaseException as exc:  # raised below, in the caller's thread
                errors.append(exc)

        # Daemon threads: a receiver that trickles its answer for ever cannot hold up the
        # caller past the deadline, nor the process's exit.
        threads = [threading.Thread(target=drain_one, args=(key,), daemon=True,
                                    name=f"spikes-drain-{i}")
                   for i, key in enumerate(self.routes)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0.0) + 1.0)
        if errors:  # an error of a route's thread (a bug, a broken outbox), as with one
            raise errors[0]
        return len(done) == len(self.routes) and all(done.values())

    def _drain(self, key: str, deadline: float) -> bool:
        one = {key: self.routes[key]}
        while True:
            self._deliver(key)
            due = next_due(self.outbox, one, self.retry_failed, now=self.clock())
            if due is None:  # nothing to send; held behind a failed message is not out
                return not self.outbox.due(routes=[key])
            wait = (due - self.clock()).total_seconds()
            if time.monotonic() + max(wait, 0) > deadline:
                return False
            time.sleep(min(max(wait, 0.01), IDLE))

    def start(self) -> None:
        """Start the delivery threads, one per route (they also send what a restart left
        pending): a receiver that is slow to answer holds up its own route only."""
        if not self.routes:
            return
        self._stop.clear()
        self._threads = [threading.Thread(target=self._work, args=(key,),
                                          name=f"spikes-notify-{i}", daemon=True)
                         for i, key in enumerate(self.routes)]
        for thread in self._threads:
            thread.start()
        for wake in self._wake.values():
            wake.set()

    def stop(self) -> None:
        """Stop the delivery threads (pending messages stay in the outbox)."""
        self._stop.set()
        for wake in self._wake.values():
            wake.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    def _work(self, key: str) -> None:
        one, wake = {key: self.routes[key]}, self._wake[key]
        while not self._stop.is_set():
            try:
                self._deliver(key)
                due = next_due(self.outbox, one, self.retry_failed, now=self.clock())
            except Exception:  # the worker must outlive a bad pass; the outbox keeps all
                _log.exception("spikes: notification delivery pass failed (route %s)", key)
                due = None
            wait = IDLE if due is None else (due - self.clock()).total_seconds()
            wake.wait(timeout=min(max(wait, 0.005), IDLE))
            wake.clear()

    # -- reporting -----------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The routes and, of those only, the message counts by status, every message and
        every attempt the outbox holds (JSON-ready; what :meth:`Outbox.prune` removed is
        not among them). Each route is given by its key (``route``), ``products``,
        ``min_severity``, ``known_events`` and ``tz``, the zone of its texts (``"UTC"``
        without one)."""
        # Of the routes configured now: an outbox file may hold the messages of routes
        # since removed, pending for ever, which nothing will send.
        routes = list(self.routes)
        messages = self.outbox.messages(routes)
        log = self.outbox.log()
        log = log[log["route"].isin(routes)].reset_index(drop=True)
        return {
            "routes": [{"route": key, "products": list(r.products),
                        "min_severity": r.min_severity, "known_events": r.known_events,
                        "tz": r.tz}
                       for key, (r, _) in self.routes.items()],
            "counts": self.outbox.counts(routes),
            "messages": _records(messages),
            "log": _records(log),
        }


def coverage_of(analysis: Analysis, until: pd.Timestamp | None = None) -> Coverage | None:
    """What a complete detection saw (:class:`~spikes.alerts.continuity.Coverage`): its
    products, the span of its data and the ``merge_gap`` of each product (a product's
    own, where the settings override it); None for a detection without data.

    Parameters
    ----------
    analysis : Analysis
        A live analysis from the start of its data.
    until : pd.Timestamp, optional
        End of the data it saw (the end of its last bucket by default).

    Returns
    -------
    Coverage or None
    """
    index = analysis.data.counts.index
    if not len(index):
        return None
    end = until if until is not None else index[-1] + analysis.data.bucket
    products = frozenset(map(str, analysis.data.counts.columns))
    return Coverage(products, index[0], pd.Timestamp(end),
                    pd.Timedelta(analysis.config.merge_gap),
                    merge_gaps(analysis.config, products))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None)
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            out[column] = [None if v is None else pd.Timestamp(v).isoformat()
                           for v in out[column]]
    return out.to_dict("records")
