"""Notifications end to end: a real `spikes serve` process replaying the bundled sample to
a local webhook, and `spikes analyze --notify` with a persistent outbox."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pandas as pd
import pytest

from spikes.alerts.timeline import analysis_messages
from spikes.cli import main
from spikes.detect.pipeline import analyze
from spikes.io.buckets import load_reports
from spikes.service.live import PAGE_REACH
from tests.conftest import sample_data
from tests.receivers import Webhook
from tests.test_service import Service

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "reports.csv.gz"
TOKEN = "test-token-0123456789"


@pytest.fixture(scope="module")
def expected() -> list[dict]:
    return analysis_messages(analyze(sample_data()))


def _daily_csv_batches() -> list[tuple[str, bytes]]:
    """The sample's report events as one CSV body per day, in time order."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    header, rows = lines[0], lines[1:]
    days: dict[str, list[str]] = {}
    for row in rows:
        days.setdefault(row[:10], []).append(row)
    return [(day, ("\n".join([header, *part]) + "\n").encode())
            for day, part in sorted(days.items())]


def test_service_notifies_a_replay_exactly_once_per_message(tmp_path: Path,
                                                            expected: list[dict]) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN)
    config = tmp_path / "spikes.toml"
    with Webhook(fail_first=1) as hook:
        config.write_text(f'[[notify]]\nname = "hook"\nurl = "{hook.url}/hook"\n'
                          'backoff = 0.05\n')
        service = Service(tmp_path / "spikes.duckdb", token, "--clock", "data",
                          "--config", str(config))
        try:
            for day, body in _daily_csv_batches():
                answer = service.client.post(f"/v1/reports?batch_id={day}", content=body,
                                             headers={"Content-Type": "text/csv"})
                assert answer.status_code == 200, answer.text
            assert service.client.post("/v1/flush").status_code == 200
            deadline = time.monotonic() + 60
            while len(hook.received()) < len(expected) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # nothing more arrives
            summary = service.client.get("/v1/notifications").json()
        finally:
            service.stop()
    got = hook.received()
    assert [m["message_id"] for m in got] == [m["message_id"] for m in expected]
    assert got == expected  # the same bodies as the library's replay of the file
    assert set(hook.attempts().values()) == {2}  # each failed once, then went once
    assert summary["counts"] == {"pending": 0, "delivered": len(expected), "failed": 0}
    assert len(summary["log"]) == 2 * len(expected)
    assert summary["routes"][0]["route"] == "hook"


def test_analyze_notify_sends_once_per_outbox(tmp_path: Path, capsys,
                                              expected: list[dict]) -> None:
    outbox = tmp_path / "outbox.duckdb"
    with Webhook() as hook:
        args = ["analyze", str(SAMPLE), "--notify", f"{hook.url}/a", "--outbox", str(outbox)]
        assert main(args) == 0
        printed = capsys.readouterr().out
        assert f"notifications: {len(expected)} message(s) to 1 route(s): " \
               f"{len(expected)} delivered, 0 failed, 0 pending" in printed
        m365 = next(m["event_id"] for m in expected
                    if "Outlook" in [p["product"] for p in m["products"]])
        assert f"{m365} resolved  -> http://127.0.0.1:" in printed
        assert main(args) == 0  # the same replay again: nothing is sent twice
        assert [m["message_id"] for m in hook.received()] == \
            [m["message_id"] for m in expected]


def test_analyze_notify_refuses_what_it_cannot_replay(tmp_path: Path, capsys) -> None:
    assert main(["analyze", str(SAMPLE), "--notify", "http://127.0.0.1:9/",
                 "--retrospective"]) == 2
    assert "--notify replays live detection" in capsys.readouterr().err
    assert main(["analyze", str(SAMPLE), "--notify", "mailto:a@b.c"]) == 2
    assert "e-mail needs --smtp" in capsys.readouterr().err
    assert main(["analyze", str(SAMPLE), "--notify", "http://127.0.0.1:9/",
                 "--smtp", "nohost"]) == 2
    assert "--smtp: expected HOST:PORT" in capsys.readouterr().err


def test_messages_times_are_bucket_ends(expected: list[dict]) -> None:
    for m in expected:
        at = pd.Timestamp(m["at"])
        assert at == at.floor("5min") and at >= pd.Timestamp(m["alerted_at"])


# --- found by a bug hunt of the live service (each failed before) ------------------------
def _sample_ending_before_now(path: Path) -> tuple[pd.DataFrame, list[dict]]:
    """The sample's reports moved so that they end 10 minutes before the bucket of now
    (every bucket of them closed on the wall clock), written to `path`, and the messages
    a batch analysis of them gives.

    The shift moves the reports to other times of day and days of the week, so the
    detection of the moved data is not the bundled sample's (at 01:35 UTC, PlayStation
    Network's outage escalates once more): the service is compared with the batch
    analysis of the very data it holds (live detection is causal: stream = batch)."""
    frame = pd.read_csv(SAMPLE)
    shift = (pd.Timestamp.now(tz="UTC").floor("5min") - pd.Timedelta("10min")
             - pd.Timestamp("2026-01-23T00:00Z"))
    stamps = pd.to_datetime(frame["timestamp"], utc=True) + shift
    frame["timestamp"] = stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame.to_csv(path, index=False)
    return frame, analysis_messages(analyze(load_reports(path)))


def _last_messages(story: list[dict]) -> dict[str, dict]:
    """The last message of each event of `story` (in time order), by event key."""
    last: dict[str, dict] = {}
    for message in story:
        last[message["event_key"]] = message
    return last


def _wait_for_detection(service: Service, timeout: float = 90) -> None:
    """Until the service has run a detection (which enqueues its messages before it is
    counted), then until its delivery threads have sent every message of its outbox
    (none pending: each went to its receiver, which records it before answering)."""
    deadline = time.monotonic() + timeout
    while "spikes_detection_runs_total 0" in service.client.get("/metrics").text:
        if time.monotonic() > deadline:
            raise AssertionError("no detection ran")
        time.sleep(0.1)
    while service.client.get("/v1/notifications").json()["counts"]["pending"]:
        if time.monotonic() > deadline:
            raise AssertionError("messages still pending")
        time.sleep(0.1)


def test_serve_notify_over_an_ingested_store_pages_only_what_is_going_on_at_its_end(
        tmp_path: Path) -> None:
    # `spikes ingest` closes no bucket, so the outbox got no horizon: the first `serve
    # --notify` paged every event of the history (24 messages, days to months old). Then
    # it paged none, not even the outage going on when the history ends (PlayStation
    # Network, open at the data's end), until its next message. Now it pages that one
    # at once, as a backfill posted to the service does, and nothing that is over.
    history = tmp_path / "history.csv"
    _, story = _sample_ending_before_now(history)
    store = tmp_path / "spikes.duckdb"
    assert main(["ingest", str(history), "--store", str(store)]) == 0
    token = tmp_path / "token"
    token.write_text(TOKEN)
    last = _last_messages(story)
    going = {key for key, m in last.items() if m["state"] != "resolved"}
    # PlayStation Network's outage is open at the data's end (the Microsoft 365 chain too
    # at some times of day: the moved data's day grid differs); the rest is over.
    assert "PlayStation Network" in {key.split("|")[0] for key in going}
    assert len(going) < len(last)
    wanted = [(m["state"], pd.Timestamp(m["at"])) for m in story if m["event_key"] in going]
    with Webhook() as hook:
        service = Service(store, token, "--notify", f"{hook.url}/hook")  # wall clock
        try:
            _wait_for_detection(service)
            assert service.client.get("/v1/incidents").json()  # it did detect them
            summary = service.client.get("/v1/notifications").json()
        finally:
            service.stop()
        got = [(m["state"], pd.Timestamp(m["at"])) for m in hook.received()]
    assert got == wanted
    assert {m["event_key"] for m in hook.received()} == going
    assert [m["state"] for m in summary["messages"]] == [state for state, _ in wanted]


def test_a_backfill_posted_with_notify_pages_only_what_is_going_on(tmp_path: Path) -> None:
    # Two weeks of history posted into a fresh store on the wall clock paged every event
    # of them. Now only the events still going on at the end of the data, or over within
    # the last hour (PAGE_REACH), are paged (with their opens).
    frame, story = _sample_ending_before_now(tmp_path / "history.csv")
    token = tmp_path / "token"
    token.write_text(TOKEN)
    now = pd.Timestamp.now(tz="UTC")
    recent = {key for key, m in _last_messages(story).items()
              if m["state"] != "resolved" or pd.Timestamp(m["at"]) > now - PAGE_REACH}
    # The Microsoft 365 chain, resolved 20 minutes before now, and PlayStation Network,
    # open at the data's end; none of the older events.
    assert {key.split("|")[0] for key in recent} >= {"Outlook", "PlayStation Network"}
    assert len(recent) < len(_last_messages(story))
    wanted = [(m["state"], pd.Timestamp(m["at"])) for m in story if m["event_key"] in recent]
    with Webhook() as hook:
        # One batch: on the wall clock the first batch's buckets close up to now, so the
        # reports of a later batch of history would all be late.
        service = Service(tmp_path / "spikes.duckdb", token, "--notify", f"{hook.url}/hook",
                          "--max-body", "64MB")
        try:
            answer = service.client.post(
                "/v1/reports?batch_id=backfill", content=frame.to_csv(index=False).encode(),
                headers={"Content-Type": "text/csv"})
            assert answer.status_code == 200 and answer.json()["late"] == 0, answer.text
            deadline = time.monotonic() + 90
            while len(hook.received()) < len(wanted) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # nothing more arrives
        finally:
            service.stop()
    got = [(m["state"], pd.Timestamp(m["at"])) for m in hook.received()]
    assert got == wanted


def test_a_restart_with_a_tuned_config_mid_outage_pages_the_outage_once(tmp_path: Path
                                                                         ) -> None:
    # The tuned settings move the Gmail outage's first onset (09:35 -> 09:30): its event
    # got another key, the receiver a second open, and the first was never resolved.
    # A route added at the restart heard of the outage going on only at its next message
    # (here its end, 2 hours later); now it hears it at the restart.
    token = tmp_path / "token"
    token.write_text(TOKEN)
    store = tmp_path / "spikes.duckdb"
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        header, *rows = f.read().splitlines()
    rows = [r for r in rows if r.split(",")[1] == "Gmail"]  # the routes' product
    cut = "2026-01-16T10:30"
    before = [r for r in rows if r[:16] < cut]
    after = [r for r in rows if cut <= r[:16] < "2026-01-16T14:00"]  # past the outage
    at_restart: list[dict] = []
    with Webhook() as hook:
        def route(name: str) -> str:
            return (f'[[notify]]\nname = "{name}"\nurl = "{hook.url}/{name}"\n'
                    'products = ["Gmail"]\n\n')

        plain, tuned = tmp_path / "plain.toml", tmp_path / "tuned.toml"
        plain.write_text(route("hook"))
        tuned.write_text("[detection]\nfalse_alarms_per_week = 0.03\n\n" + route("hook")
                         + route("late"))
        for config, part in ((plain, before), (tuned, after)):
            service = Service(store, token, "--clock", "data", "--config", str(config))
            try:
                if config == tuned:  # the restart's detection, before any new report
                    _wait_for_detection(service)
                    at_restart = hook.received("/late")
                body = ("\n".join([header, *part]) + "\n").encode()
                answer = service.client.post("/v1/reports", content=body,
                                             headers={"Content-Type": "text/csv"})
                assert answer.status_code == 200, answer.text
                assert service.client.post("/v1/flush").status_code == 200
                _wait_for_detection(service)
                time.sleep(1.0)
            finally:
                service.stop()
    got = [m for m in hook.received("/hook") if m["onset"].startswith("2026-01-16")]
    assert [m["state"] for m in got] == ["open", "escalated", "resolved"]
    assert len({m["event_key"] for m in got}) == 1
    assert got[0]["onset"] == "2026-01-16T09:35:00+00:00"
    assert got[-1]["end"] == "2026-01-16T11:25:00+00:00"
    # The added route: the outage going on at its horizon (the end of the history), at
    # once and whole; nothing of the events over by then; its end after the new reports.
    assert at_restart and {m["state"] for m in at_restart} <= {"open", "escalated"}
    assert at_restart[0]["state"] == "open"
    assert all(m["onset"].startswith("2026-01-16T09:") for m in at_restart)
    late = hook.received("/late")
    assert late[:len(at_restart)] == at_restart
    assert [m["state"] for m in late[len(at_restart):]] == ["resolved"]
    assert late[-1]["end"] == "2026-01-16T11:25:00+00:00"
