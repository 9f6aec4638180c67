"""The outbox's prune beside its enqueues: the turns they take, and the thread of its own
a prune runs in (:meth:`spikes.alerts.outbox.Outbox.start_prune`, the service's).

An enqueue reads a route's horizon and what the route holds, then inserts; a transaction
of a prune (:func:`spikes.alerts.retention.prune`) may remove an event and move the
horizon past it. One within the other, the insert would add that event's messages again,
as pending (a page of history): they take turns (:class:`Turns`). Between two
transactions an enqueue is safe: each transaction checks its events again on the outbox
as it is then, and moves the horizon only past what it removed. An enqueue waiting goes
before the prune's next transaction, so it waits for one transaction at most (the
service's detection, which enqueues, no longer waits for a whole prune: about 20 s for
the first of an outbox upgraded from a version without the retention, at a million
rows).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from spikes.alerts.retention import Pruned

__all__ = ["CLOSE_WAIT", "PruneStep", "PruneThread", "Turns"]

_log = logging.getLogger(__name__)

#: Longest wait, in seconds, of :meth:`PruneThread.close` for the prune to end (the
#: outbox's close stops it before its next transaction: it waits for one transaction at
#: most, under 2 s at a million rows).
CLOSE_WAIT = 30.0


class Turns:
    """Enqueues and the transactions of a prune, one at a time, an enqueue first: a prune
    between two transactions waits while an enqueue runs or waits, and an enqueue waits
    for the transaction running, if any, not for the rest of the prune. A thread whose
    turn it is may take it again (an enqueue within an enqueue), and gives it back when
    it gave back each.

    Taken before the outbox's lock, never after.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._holder: int | None = None  # the thread whose turn it is
        self._depth = 0  # its turns, one within another
        #: Enqueues waiting for their turn (a prune's next transaction waits for them).
        self.waiting = 0

    def take(self, *, enqueue: bool) -> None:
        """Wait for the turn (an enqueue's, or a prune's transaction's) and take it."""
        me = threading.get_ident()
        with self._cond:
            if self._holder != me:
                if enqueue:
                    self.waiting += 1
                    try:
                        self._cond.wait_for(lambda: self._holder is None)
                    finally:
                        self.waiting -= 1
                        # (a prune's transaction waits for no enqueue waiting: one that
                        # gave up, on an interrupt, must wake it)
                        self._cond.notify_all()
                else:
                    self._cond.wait_for(lambda: self._holder is None and not self.waiting)
                self._holder = me
            self._depth += 1

    def give(self) -> None:
        """Give the turn back."""
        with self._cond:
            self._depth -= 1
            if not self._depth:
                self._holder = None
                self._cond.notify_all()


class PruneStep:
    """What :func:`spikes.alerts.retention.prune` holds for each of its transactions: the
    turn (:class:`Turns`), then the outbox's lock. It can be entered again and again.

    Parameters
    ----------
    turns : Turns
    lock : threading.RLock
        The outbox's lock (of its connection).
    """

    def __init__(self, turns: Turns, lock: Any) -> None:
        self.turns, self.lock = turns, lock

    def __enter__(self) -> None:
        self.turns.take(enqueue=False)
        try:
            self.lock.acquire()
        except BaseException:
            self.turns.give()
            raise

    def __exit__(self, *exc: object) -> None:
        self.lock.release()
        self.turns.give()


class PruneThread:
    """A thread (``spikes-prune``) that runs one prune at a time, and none once closed.

    Parameters
    ----------
    path : str
        The outbox's file, for the log.

    Notes
    -----
    A daemon: its owner's :meth:`close` waits for it (the outbox stops the prune before
    its next transaction first), and a process that ends without closing does not wait
    for the rest of a long prune (the transaction it was in is then not committed: what
    the earlier ones removed stays removed, the rest goes at the next prune).
    """

    def __init__(self, path: str = "") -> None:
        self.path = path  # the outbox's, for the log
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # a start's check and start, and the close
        self._closed = False

    def start(self, prune: Callable[[], Pruned],
              done: Callable[[Pruned | None, Exception | None], None] | None = None) -> bool:
        """Run `prune` in the thread, unless a prune runs there already or it is closed;
        whether it started. `done` is called in the thread once it ended: with what it
        removed and None, or None and the error it raised (not raised further; logged
        when there is no `done`)."""
        def work() -> None:
            try:
                result: tuple[Pruned | None, Exception | None] = (prune(), None)
            except Exception as exc:
                result = (None, exc)
            if done is None:
                if result[1] is not None:
                    _log.error("spikes: could not prune the outbox %s", self.path,
                               exc_info=result[1])
                return
            try:
                done(*result)
            except Exception:  # the thread ends either way
                _log.exception("spikes: the outbox prune's report failed")

        with self._lock:
            if self._closed or self.running:
                return False
            self._thread = threading.Thread(target=work, name="spikes-prune", daemon=True)
            self._thread.start()
        return True

    @property
    def running(self) -> bool:
        """Whether a prune runs in the thread."""
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the prune running, if any, to end (its ``done`` too), `timeout`
        seconds at most (None: for as long as it takes); whether none runs now. In the
        thread itself (a ``done`` that waits), it does not wait."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=timeout)
        return not self.running

    def close(self, timeout: float | None = CLOSE_WAIT) -> bool:
        """Start no prune from now on, and wait for the one running (see :meth:`wait`)."""
        with self._lock:
            self._closed = True
        return self.wait(timeout)
