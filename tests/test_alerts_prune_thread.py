"""The outbox's prune in a thread of its own: the service's detection no longer waits for
it. ``Notifier.enqueue`` pruned on the detection thread, so the first prune of an outbox
upgraded from a version without the retention (about 20 s at a million rows) held up
the detection of a new outage, and ``GET /v1/status`` and ``POST /v1/flush``, for its
whole length; an enqueue also waited for a whole prune of another thread. Now the
service's notifier starts the prune in the outbox's thread and returns, and an enqueue
waits for one transaction of it at most. Real DuckDB files, real threads; the pauses
between the prune's transactions are the test's (its ``time.sleep``) to hold a prune in
the middle."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from spikes.alerts import outbox as outbox_module
from spikes.alerts import retention
from spikes.alerts.notifier import RETENTION, Notifier
from spikes.alerts.outbox import Outbox
from spikes.alerts.routing import Route
from tests.test_alerts_retention import (
    DAY,
    START,
    Clock,
    Receiver,
    _backlog,
    _event,
    _tables,
    assert_stopped_after_one_transaction,
)

#: The time of day of the prunes: every delivered message of the backlog is past the
#: retention on both clocks.
NOW = START + 200 * DAY
#: Longest wait of a test for another thread (seconds): a bound, never waited out when
#: the code works (then the waits end within milliseconds).
WAIT = 10.0
#: What the backlog's prune removes (test_a_large_backlog_is_pruned_in_many_transactions_
#: as_in_one): 1,201 (route, event) pairs, 13 batches of 100, with their attempts; then
#: the old attempts of the messages that stay (one window), then the decisions.
MESSAGES, ATTEMPTS, TRANSACTIONS = 2401, 2405, 13 + 1 + 1


class Pauses:
    """Stands in for the ``time`` module of :mod:`spikes.alerts.retention`: its ``sleep``,
    the pause after each transaction of a prune but the last, counts them and runs
    `hook` with the count."""

    def __init__(self, hook: Callable[[int], None] | None = None) -> None:
        self.hook, self.count = hook, 0

    def sleep(self, seconds: float) -> None:
        self.count += 1
        if self.hook is not None:
            self.hook(self.count)


class HeldAt:
    """A hook for :class:`Pauses` that holds the prune at its `at`-th pause (between two
    transactions, nothing of the outbox held) until `go` is set (or :data:`WAIT` has
    passed): `paused` is set when it gets there, `released` when it goes on."""

    def __init__(self, at: int = 1, go: threading.Event | None = None) -> None:
        self.at = at
        self.go = go or threading.Event()
        self.paused, self.released = threading.Event(), threading.Event()

    def __call__(self, count: int) -> None:
        if count == self.at:
            self.paused.set()
            self.go.wait(WAIT)
            self.released.set()


def _notifier(outbox: Outbox, *, background: bool = True,
              clock: Clock | None = None) -> Notifier:
    return Notifier(outbox, [Route(url="http://127.0.0.1:9/h", name="h"),
                             Route(url="http://127.0.0.1:9/k", name="k")],
                    channels={"h": Receiver(), "k": Receiver()}, clock=clock or Clock(NOW),
                    prune_in_background=background)


def _detection() -> list[dict[str, Any]]:
    """A detection from scratch after a restart, over the backlog's data: every message
    of its outages (held, or pruned: history, not paged again), in time order, and a
    new outage of the day before NOW (2 messages for each route)."""
    history = [m for p in range(10) for day in range(60) for m in _event(day, product=f"P{p}")]
    return sorted([*history, *_event(199)], key=lambda m: (m["at"], m["message_id"]))


@pytest.fixture
def backlog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An outbox file holding the backlog of test_alerts_retention (2,406 messages, 2,405
    attempts), pruned in batches of 100 (route, event) pairs: 15 transactions."""
    path = tmp_path / "outbox.duckdb"
    _backlog(path)
    monkeypatch.setattr(retention, "PRUNE_BATCH", 100)
    return path


def _prune_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "spikes-prune"]


def test_a_notify_returns_while_its_prune_runs_and_the_next_waits_for_none_of_it(
        backlog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The first notify after an upgrade returned only once the prune of the whole backlog
    # had ended, and so did the next detection's enqueue when it came during a prune
    # of another thread. Now the prune runs in the outbox's thread: held between its
    # first two transactions, the notify that started it has returned, and the next
    # detection's enqueue ends while it is still held (no transaction of the prune ran
    # meanwhile).
    hold = HeldAt(at=1)
    pauses = Pauses(hold)
    monkeypatch.setattr(retention, "time", pauses)
    outbox = Outbox(backlog)
    try:
        notifier = _notifier(outbox)
        assert notifier.enqueue([]) == 0  # a detection with nothing new; it starts the prune
        assert hold.paused.wait(WAIT)  # the prune is between its first two transactions
        assert not hold.released.is_set()  # ... and the notify returned meanwhile
        assert notifier.enqueue(_detection()) == 4  # the next detection: the new outage
        assert pauses.count == 1 and not hold.released.is_set()  # the prune still held
        assert outbox.pruning
        hold.go.set()
        assert notifier.wait_pruned(WAIT)
        assert pauses.count == TRANSACTIONS - 1
        assert outbox.counts() == {"pending": 5, "delivered": 4, "failed": 0}
    finally:
        outbox.close()


def test_an_enqueue_during_a_transaction_of_the_prune_waits_for_that_one_alone(
        backlog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An enqueue that comes while a transaction of the prune runs waits for it (the
    # route's horizon may move in it), then goes before the next: the prune's next
    # transaction waits for the enqueue. It waited for the whole prune.
    pauses = Pauses()
    monkeypatch.setattr(retention, "time", pauses)
    outbox = Outbox(backlog)
    notifier = _notifier(outbox)
    seen: list[int] = []  # transactions of the prune ended, at each route's insert
    came_during: list[int] = []
    enqueue = outbox._enqueue

    def counted(*args: Any) -> int:
        seen.append(pauses.count)
        return enqueue(*args)

    monkeypatch.setattr(outbox, "_enqueue", counted)
    detection = threading.Thread(target=notifier.enqueue, args=(_detection(),))
    count = retention._count
    calls = 0

    def in_the_second_transaction(result: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 3:  # the second batch's first statement: the detection comes now
            came_during.append(pauses.count)
            detection.start()
            deadline = time.monotonic() + WAIT
            while not outbox._turns.waiting and time.monotonic() < deadline:
                time.sleep(0.001)  # until it waits for its turn
            assert outbox._turns.waiting == 1
        return count(result)

    monkeypatch.setattr(retention, "_count", in_the_second_transaction)
    try:
        notifier._pruned_at = NOW  # no prune of the detection's own
        assert outbox.start_prune(RETENTION, ["h", "k"], now=NOW)
        assert notifier.wait_pruned(WAIT)
        detection.join(WAIT)
        assert came_during == [1]  # one transaction ended, the second running
        # Both routes' inserts after the second transaction at most, before the third.
        assert len(seen) == 2 and max(seen) <= 2
        assert pauses.count == TRANSACTIONS - 1
        assert outbox.counts() == {"pending": 5, "delivered": 4, "failed": 0}
    finally:
        outbox.close()


def test_what_a_detection_enqueues_during_the_prune_is_as_after_a_prune_then_enqueue(
        backlog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A detection from scratch (a restart) during the prune: the history it recomputes
    # is held (the batches still to come remove it) or pruned already (history: the
    # route's horizon has moved past it), and its new outage is kept. The outbox ends as
    # after the prune, then the enqueue, in one thread: nothing of history pending again.
    inline = tmp_path / "inline.duckdb"
    inline.write_bytes(backlog.read_bytes())
    outbox = Outbox(inline)
    try:
        notifier = _notifier(outbox, background=False)
        notifier.enqueue([])  # the prune, whole
        assert notifier.enqueue(_detection()) == 4
    finally:
        outbox.close()
    hold = HeldAt(at=1)
    monkeypatch.setattr(retention, "time", Pauses(hold))
    outbox = Outbox(backlog)
    try:
        notifier = _notifier(outbox)
        notifier.enqueue([])  # starts the prune, held after its first batch
        assert hold.paused.wait(WAIT)
        assert notifier.enqueue(_detection()) == 4
        assert not hold.released.is_set()
        hold.go.set()
        assert notifier.wait_pruned(WAIT)
        assert notifier.prune_failures == 0
    finally:
        outbox.close()
    assert _tables(backlog) == _tables(inline)
    left = _tables(backlog)["alert_outbox"]
    assert sorted(r[0] for r in left if r[8] == "pending") == sorted(
        [m["message_id"] for m in _event(199)] * 2 + [_event(71)[1]["message_id"]])


def test_closing_the_outbox_stops_its_prune_s_thread_between_two_transactions(
        backlog: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # The service's shutdown closes the outbox while a long prune may run in its thread:
    # the prune stops before its next transaction, close waits for the thread (no
    # thread left, nothing more written), and it is one line of the log.
    outbox = Outbox(backlog)
    closing = outbox._closing

    def hook(count: int) -> None:  # held after the first batch, until the close begins
        if count == 1:
            paused.set()
            closing.wait(WAIT)

    paused = threading.Event()
    monkeypatch.setattr(retention, "time", Pauses(hook))
    notifier = _notifier(outbox)
    with caplog.at_level(logging.INFO, logger="spikes.alerts.notifier"):
        notifier.enqueue([])
        assert paused.wait(WAIT)
        assert _prune_threads()
        started = time.perf_counter()
        outbox.close()
        took = time.perf_counter() - started
    # One transaction at most (none here: it was between two); the hook holds the
    # prune for WAIT (10 s) unless the close reaches it, and a close that missed it
    # would wait CLOSE_WAIT (30 s): 5 s leaves a loaded machine its margin.
    assert took < 5.0
    assert not _prune_threads()
    [record] = caplog.records
    assert record.levelno == logging.INFO and record.threadName == "spikes-prune"
    assert record.getMessage() == (
        "spikes: outbox prune stopped, the outbox closing, after 1 transactions (200 "
        "messages, 200 attempts removed); the rest goes at the next prune")
    assert_stopped_after_one_transaction(backlog)
    assert not outbox.start_prune(RETENTION, ["h"], now=NOW)  # closed: none starts


def test_one_prune_at_a_time_however_often_detections_come(
        backlog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A detection an hour after the last prune starts one, unless one still runs: then
    # none (the next detection after it ended does). A prune of another thread waits.
    hold = HeldAt(at=1)
    monkeypatch.setattr(retention, "time", Pauses(hold))
    running, most, prunes = 0, 0, 0
    lock = threading.Lock()
    prune = outbox_module.prune

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal running, most, prunes
        with lock:
            running, prunes = running + 1, prunes + 1
            most = max(most, running)
        try:
            return prune(*args, **kwargs)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(outbox_module, "prune", counted)
    clock = Clock(NOW)
    outbox = Outbox(backlog)
    try:
        notifier = _notifier(outbox, clock=clock)
        notifier.enqueue([])
        assert hold.paused.wait(WAIT)
        for _ in range(3):  # each an hour later: a prune is due, and one still runs
            clock.now += pd.Timedelta(hours=1)
            notifier.enqueue([])
            assert not outbox.start_prune(RETENTION, ["h", "k"], now=clock.now)
        other = threading.Thread(target=outbox.prune, args=(RETENTION, ["h", "k"]),
                                 kwargs={"now": clock.now})
        other.start()  # waits for the running one to end
        assert prunes == 1 and outbox.pruning and not hold.released.is_set()
        hold.go.set()
        assert notifier.wait_pruned(WAIT)
        other.join(WAIT)
        assert prunes == 2 and most == 1
        notifier.enqueue([])  # the next detection: due since the first, none running
        assert notifier.wait_pruned(WAIT)
        assert prunes == 3 and most == 1
        assert notifier.prune_failures == 0
    finally:
        outbox.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_status_and_flush_answer_while_the_first_prune_of_an_upgraded_outbox_runs(
        backlog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The service over a store whose outbox holds the history of a version without the
    # retention: its first detection's prune held the detection lock, and GET /v1/status
    # and POST /v1/flush waited for the whole prune. A real HTTP server (uvicorn, in a
    # thread of this process), the prune held after its first transaction.
    import uvicorn

    from spikes.service.app import create_app
    from tests.test_service import _free_port

    hold = HeldAt(at=1)
    monkeypatch.setattr(retention, "time", Pauses(hold))
    app = create_app(backlog, clock="data",
                     notify=[Route(url="http://127.0.0.1:9/h", name="h", backoff=60.0),
                             Route(url="http://127.0.0.1:9/k", name="k", backoff=60.0)])
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + WAIT
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.started
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2 * WAIT) as client:
            onset = NOW - pd.Timedelta("2h")
            reports = [{"product": "Gmail", "id": f"r{i}",
                        "timestamp": (onset + i * pd.Timedelta("1min")).isoformat()}
                       for i in range(120)]
            answer = client.post("/v1/reports", json={"batch_id": "b", "reports": reports})
            assert answer.status_code == 200, answer.text
            assert hold.paused.wait(WAIT)  # the detection's prune, between two transactions
            started = time.perf_counter()
            assert client.get("/v1/status").status_code == 200
            assert client.post("/v1/flush").status_code == 200
            assert client.get("/healthz").json()["outbox_prune"] == "ok"
            took = time.perf_counter() - started
            assert not hold.released.is_set()  # all answered while the prune is held
            assert took < WAIT / 2
            notifier = app.state.live.notifier
            hold.go.set()
            assert notifier.wait_pruned(WAIT)
            counts = client.get("/v1/notifications").json()["counts"]
            assert counts["delivered"] == 4 and notifier.prune_failures == 0
    finally:
        hold.go.set()
        server.should_exit = True
        thread.join(WAIT)
    assert not thread.is_alive() and not _prune_threads()
