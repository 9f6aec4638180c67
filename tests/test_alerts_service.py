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
from tests.receivers import Webhook
from tests.test_service import Service

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "reports.csv.gz"
TOKEN = "test-token-0123456789"


@pytest.fixture(scope="module")
def expected() -> list[dict]:
    return analysis_messages(analyze(load_reports(SAMPLE)))


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
