"""The live service, tested against a real `spikes serve` process on 127.0.0.1.

Each test starts the service in a subprocess on a free loopback port over its own store
in a temporary directory and stops it (SIGKILL in the crash test) before it ends. The
settings and stores it must refuse at its start go through the command line's main in
this process (the exit code and the one line on stderr a process gives).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest

from spikes.detect.pipeline import analyze
from spikes.errors import SpikesInputError
from spikes.evaluation.simulate import simulate
from spikes.io.buckets import load_reports
from spikes.service.store import Store

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KEYS = ["product", "onset", "alerted_at", "end"]
#: The TLS context of the clients of the services started here: httpx would load the CA
#: bundle for each client (tens of ms), though they speak plain HTTP on loopback.
_TLS = ssl.create_default_context()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """A running `spikes serve` subprocess."""

    def __init__(self, store: Path, token_file: Path, *extra: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "spikes", "serve", "--store", str(store), "--host",
             "127.0.0.1", "--port", str(self.port), "--token-file", str(token_file), *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.client = httpx.Client(base_url=self.url, headers=AUTH, timeout=30, verify=_TLS)
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stderr.read().decode())
            try:
                if self.client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the service did not start")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log = self.process.stderr.read().decode(errors="replace")
        self.process.stderr.close()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN)
    return path


@pytest.fixture
def refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """``refused(*args)``: the command line's ``spikes serve ARGS`` run in this process
    (``python -m spikes`` exits with what its main returns), which must refuse to start:
    its exit code (2) and what it wrote to stderr. A server it would start instead fails
    the test at once (rather than serving for ever)."""
    import uvicorn

    from spikes.cli import main

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("spikes serve started a server")

    monkeypatch.setattr(uvicorn, "run", no_server)

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        try:
            code = main(["serve", *args])
        except SystemExit as exc:  # argparse's refusals
            code = exc.code
        return code, capsys.readouterr().err

    return run


@contextmanager
def service(tmp_path: Path, token_file: Path, *extra: str) -> Iterator[Service]:
    running = Service(tmp_path / "spikes.duckdb", token_file, "--clock", "data", *extra)
    try:
        yield running
    finally:
        running.stop()


def _stored(path: Path) -> int:
    store = Store(path)
    try:
        return store.count_reports()
    finally:
        store.close()


def _replay_batches(frame: pd.DataFrame, size: int) -> list[dict]:
    """The simulated long counts as JSON batches in time order."""
    frame = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
    batches = []
    for start in range(0, len(frame), size):
        part = frame.iloc[start:start + size]
        batches.append({"batch_id": f"replay-{start}", "reports": [
            {"product": p, "timestamp": t.isoformat(), "count": float(c)}
            for p, t, c in zip(part["product"], part["timestamp"], part["reports"],
                               strict=True)]})
    return batches


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], list[tuple]]:
    """Batches of a small simulated file and the incidents `analyze` finds in the file."""
    sim = simulate(products=4, days=3, seed=1, outage_rate_per_week=5.0)
    path = tmp_path_factory.mktemp("sim") / "reports.csv"
    sim.reports.to_csv(path, index=False)
    incidents = analyze(load_reports(path)).incidents
    assert len(incidents) >= 3  # the comparison means something
    return _replay_batches(sim.reports, 500), _keys(incidents)


def _keys(incidents: pd.DataFrame | list[dict]) -> list[tuple]:
    table = pd.DataFrame(incidents)
    for column in KEYS[1:]:
        table[column] = pd.to_datetime(table[column], utc=True)
    return [tuple(row) for row in table[KEYS].itertuples(index=False)]


def test_v1_needs_the_bearer_token(tmp_path, token_file):
    with service(tmp_path, token_file) as svc:
        body = {"reports": [{"product": "Outlook", "timestamp": "2026-01-05T00:00:00Z"}]}
        assert httpx.post(f"{svc.url}/v1/reports", json=body).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert httpx.post(f"{svc.url}/v1/reports", json=body, headers=wrong).status_code == 401
        assert httpx.get(f"{svc.url}/v1/incidents", headers=wrong).status_code == 401
        assert svc.client.post("/v1/reports", json=body).json()["accepted"] == 1
        assert svc.client.get("/v1/incidents").status_code == 200
        assert httpx.get(f"{svc.url}/healthz").status_code == 200
    assert TOKEN not in svc.log  # never logged


def test_a_bad_batch_gets_422_naming_row_and_field_and_stores_nothing(tmp_path, token_file):
    with service(tmp_path, token_file) as svc:
        good = {"batch_id": "good", "reports": [
            {"product": "Teams", "id": "r1", "timestamp": "2026-01-05T00:00:00Z"}]}
        assert svc.client.post("/v1/reports", json=good).json() == {
            "accepted": 1, "duplicates": 0, "late": 0, "batch_id": "good"}
        for row, bad in ((1, {"product": "bad\x00name"}), (1, {"product": "x" * 201}),
                         (1, {"product": "Teams", "count": -1}),
                         (1, {"product": "Teams", "timestamp": "yesterday"})):
            batch = {"batch_id": "bad", "reports": [{"product": "Outlook"}, bad]}
            answer = svc.client.post("/v1/reports", json=batch)
            assert answer.status_code == 422
            detail = answer.json()["detail"][0]
            assert detail["row"] == row
            assert detail["field"] == next(k for k in bad if k != "product" or len(bad) == 1)
        missing = svc.client.post("/v1/reports", json={"reports": [{"count": 2}]})
        assert missing.status_code == 422
        assert missing.json()["detail"][0] == {"row": 0, "field": "product",
                                               "message": "Field required"}
        bad_csv = "timestamp,product,reports\n2026-01-05 00:00,Teams,1\nnot a date,Teams,2\n"
        answer = svc.client.post("/v1/reports", content=bad_csv,
                                 headers={"Content-Type": "text/csv"})
        assert answer.status_code == 422 and "line 3" in answer.json()["detail"]
        # One series without a product column was stored as the product "body".
        series = svc.client.post("/v1/reports", content="timestamp,value\n2026-01-05 00:00,7\n",
                                 headers={"Content-Type": "text/csv"})
        assert series.status_code == 422
        assert "the CSV body has no product column" in series.json()["detail"]
        # JSON after a byte-order mark was "Invalid JSON" (a CSV body with one was read).
        marked = b"\xef\xbb\xbf" + json.dumps(
            {"reports": [{"product": "Teams", "timestamp": "2026-01-05T00:10:00Z"}]}).encode()
        assert svc.client.post("/v1/reports", content=marked, headers={
            "Content-Type": "application/json"}).json()["accepted"] == 1
        xml = svc.client.post("/v1/reports", content="<reports/>",
                              headers={"Content-Type": "application/xml"})
        assert xml.status_code == 415  # a refused batch too (was not counted)
        metrics = svc.client.get("/metrics").text
        assert "spikes_batches_rejected_total 8" in metrics
    assert _stored(tmp_path / "spikes.duckdb") == 2


def test_an_oversized_body_gets_413(tmp_path, token_file):
    with service(tmp_path, token_file, "--max-body", "1kB") as svc:
        big = {"reports": [{"product": f"Product {i}"} for i in range(100)]}
        assert svc.client.post("/v1/reports", json=big).status_code == 413
        small = {"reports": [{"product": "Teams", "timestamp": "2026-01-05T00:00:00Z"}]}
        assert svc.client.post("/v1/reports", json=small).status_code == 200
    assert _stored(tmp_path / "spikes.duckdb") == 1


def test_batches_and_report_ids_are_idempotent(tmp_path, token_file):
    with service(tmp_path, token_file) as svc:
        batch = {"batch_id": "b1", "reports": [
            {"product": "Outlook", "timestamp": "2026-01-22T19:03:11Z", "id": "r1"},
            {"product": "Outlook", "timestamp": "2026-01-22T19:04:00Z", "id": "r2",
             "region": "US-East", "category": "Login"}]}
        assert svc.client.post("/v1/reports", json=batch).json() == {
            "accepted": 2, "duplicates": 0, "late": 0, "batch_id": "b1"}
        assert svc.client.post("/v1/reports", json=batch).json() == {
            "accepted": 0, "duplicates": 2, "late": 0, "batch_id": "b1"}
        again = {"batch_id": "b2", "reports": [
            {"product": "Outlook", "timestamp": "2026-01-22T19:05:00Z", "id": "r2"},
            {"product": "Outlook", "timestamp": "2026-01-22T19:05:00Z", "id": "r3"},
            {"product": "Outlook", "timestamp": "2026-01-22T19:05:00Z", "id": "r3"}]}
        assert svc.client.post("/v1/reports", json=again).json() == {
            "accepted": 1, "duplicates": 2, "late": 0, "batch_id": "b2"}
        csv = "timestamp,product,reports\n2026-01-22 19:06,Teams,3\n"
        for expected in (1, 0):
            answer = svc.client.post("/v1/reports", content=csv,
                                     headers={"Content-Type": "text/csv"}).json()
            assert answer["accepted"] == expected
        # Two buckets later the 19:00 bucket is closed: a report for it is late.
        svc.client.post("/v1/reports", json={"reports": [
            {"product": "Teams", "timestamp": "2026-01-22T19:20:00Z"}]})
        late = svc.client.post("/v1/reports", json={"reports": [
            {"product": "Teams", "timestamp": "2026-01-22T19:01:00Z"}]}).json()
        assert late == {"accepted": 1, "duplicates": 0, "late": 1, "batch_id": None}
        assert "spikes_reports_late_total 1" in svc.client.get("/metrics").text
    assert _stored(tmp_path / "spikes.duckdb") == 6


def test_a_replay_through_the_api_gives_the_batch_incidents(tmp_path, token_file, simulated):
    batches, expected = simulated
    with service(tmp_path, token_file) as svc:
        for batch in batches:
            answer = svc.client.post("/v1/reports", json=batch)
            assert answer.status_code == 200 and answer.json()["late"] == 0
        assert svc.client.post("/v1/flush").status_code == 200
        got = svc.client.get("/v1/incidents").json()
        assert _keys(got) == expected
        status = svc.client.get("/v1/status").json()
        assert len(status) == 4 and {row["status"] for row in status} <= {
            "outage", "recovering", "elevated", "normal"}
        assert len(svc.client.get("/v1/events").json()) >= 1
        first = expected[0]
        one = svc.client.get("/v1/incidents", params={"product": first[0]}).json()
        assert {row["product"] for row in one} == {first[0]}
        assert "spikes_detection_runs_total" in svc.client.get("/metrics").text


def test_sigkill_mid_stream_loses_no_acknowledged_report(tmp_path, token_file, simulated):
    batches, expected = simulated
    store = tmp_path / "spikes.duckdb"
    acknowledged: dict[str, int] = {}
    svc = Service(store, token_file, "--clock", "data")
    try:
        def post_all() -> None:
            for batch in batches:
                try:
                    answer = svc.client.post("/v1/reports", json=batch)
                except httpx.TransportError:
                    return
                acknowledged[batch["batch_id"]] = answer.json()["accepted"]

        sender = threading.Thread(target=post_all)
        sender.start()
        while len(acknowledged) < len(batches) // 2:
            time.sleep(0.01)
        svc.process.send_signal(signal.SIGKILL)
        sender.join(timeout=30)
    finally:
        svc.stop(signal.SIGKILL)
    assert 0 < len(acknowledged) < len(batches)
    kept = Store(store)
    try:
        assert kept.count_reports() >= sum(acknowledged.values())
        ids = {row[0] for row in kept._conn.execute("SELECT batch_id FROM batches").fetchall()}
        assert set(acknowledged) <= ids
    finally:
        kept.close()
    with service(tmp_path, token_file) as again:
        for batch in batches:  # the client resends everything; acknowledged ones are duplicates
            answer = again.client.post("/v1/reports", json=batch).json()
            if batch["batch_id"] in acknowledged:
                assert answer["accepted"] == 0
        again.client.post("/v1/flush")
        assert _keys(again.client.get("/v1/incidents").json()) == expected
    assert _stored(store) == sum(len(b["reports"]) for b in batches)


def test_what_would_stall_or_skew_detection_is_refused(tmp_path, token_file):
    # Found by an edge-case hunt: two counts of 1e308 summed to inf and stopped detection
    # for good (the rows stayed in the store); a report without a time on the data clock
    # moved the clock to the server's time; a CSV body stored names the JSON refuses and
    # dropped its report ids silently (a resent CSV counted twice).
    with service(tmp_path, token_file) as svc:
        post = svc.client.post
        huge = {"reports": [{"product": "A", "timestamp": "2026-01-05T00:00:00Z",
                             "count": 1e308}]}
        answer = post("/v1/reports", json=huge)
        assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "count"
        undated = post("/v1/reports", json={"reports": [{"product": "A"}]})
        assert undated.status_code == 422 and "has no timestamp" in undated.json()["detail"]
        for body, said in (("timestamp,product\n2026-01-05T00:00:00Z,\x01ctl\n", "printable"),
                           ("timestamp,product\n2026-01-05T00:00:00Z," + "P" * 201 + "\n",
                            "1 to 200 characters"),
                           ("timestamp,product,id\n2026-01-05T00:00:00Z,A,r1\n",
                            "carries no report ids")):
            answer = post("/v1/reports", content=body, headers={"Content-Type": "text/csv"})
            assert answer.status_code == 422 and said in answer.json()["detail"], answer.text
        long_id = post(f"/v1/reports?batch_id={'b' * 201}",
                       content="timestamp,product\n2026-01-05T00:00:00Z,A\n",
                       headers={"Content-Type": "text/csv"})
        assert long_id.status_code == 422 and "batch_id" in long_id.json()["detail"]
        assert svc.client.get("/healthz").json() == {"status": "ok", "detection": "ok",
                                                     "store": "ok", "reports": "ok",
                                                     "outbox_prune": "ok"}
    assert _stored(tmp_path / "spikes.duckdb") == 0


def test_a_report_from_the_future_is_refused_on_the_wall_clock(tmp_path, token_file):
    # One report stamped 30 days ahead closed every bucket until then: the reports of
    # now came back "late" and were left out of detection for a month.
    with service(tmp_path, token_file, "--clock", "wall") as svc:
        now = pd.Timestamp.now(tz="UTC")
        ahead = {"reports": [{"product": "A", "timestamp": (now + pd.Timedelta(days=30))
                              .isoformat()}]}
        answer = svc.client.post("/v1/reports", json=ahead)
        assert answer.status_code == 422 and "after the server's time" in answer.json()["detail"]
        # Within the allowance (a clock a little ahead): stored, and it closes nothing
        # the time of day has not closed.
        soon = {"reports": [{"product": "A", "timestamp": (now + pd.Timedelta(minutes=40))
                             .isoformat()}]}
        assert svc.client.post("/v1/reports", json=soon).json()["accepted"] == 1
        current = {"reports": [{"product": "A", "timestamp": now.isoformat()}]}
        assert svc.client.post("/v1/reports", json=current).json() == {
            "accepted": 1, "duplicates": 0, "late": 0, "batch_id": None}


def test_a_mistyped_year_is_refused_on_the_data_clock(tmp_path, token_file):
    # One report of 2027 among 2026 data moved the data clock a year on: every bucket
    # until then closed, and every later report of 2026 came back late.
    with service(tmp_path, token_file) as svc:
        day = pd.date_range("2026-01-05", periods=288, freq="5min", tz="UTC")
        first = {"batch_id": "day", "reports": [{"product": "A", "timestamp": t.isoformat()}
                                                for t in day]}
        assert svc.client.post("/v1/reports", json=first).json()["accepted"] == 288
        typo = {"reports": [{"product": "A", "timestamp": "2027-01-06T00:00:00+00:00"}]}
        answer = svc.client.post("/v1/reports", json=typo)
        assert answer.status_code == 422
        assert answer.json()["detail"].startswith(
            "the batch leaves nothing between 2026-01-05T23:55:00+00:00 and "
            "2027-01-06T00:00:00+00:00 (365 days) beside the store's data")
        assert "start a new store" not in answer.json()["detail"]  # the store is right
        csv = "timestamp,product\n2026-01-06T00:00:00Z,A\n2207-01-06T00:00:00Z,A\n"
        answer = svc.client.post("/v1/reports", content=csv,
                                 headers={"Content-Type": "text/csv"})
        assert answer.status_code == 422 and "stray timestamp" in answer.json()["detail"]
        far = {"reports": [{"product": "A", "timestamp": "2999-01-06T00:00:00+00:00"}]}
        answer = svc.client.post("/v1/reports", json=far)
        assert answer.status_code == 422
        assert "and 2999-01-06T00:00:00+00:00" in answer.json()["detail"]
        nextday = {"reports": [{"product": "A", "timestamp": "2026-01-06T00:01:00+00:00"}]}
        assert svc.client.post("/v1/reports", json=nextday).json() == {
            "accepted": 1, "duplicates": 0, "late": 0, "batch_id": None}
    assert _stored(tmp_path / "spikes.duckdb") == 289


def test_a_store_whose_first_report_was_stray_says_so(tmp_path, token_file):
    # One report of 1970 as a fresh data-clock store's first batch: every later batch was
    # refused, the message blaming it and not the store.
    with service(tmp_path, token_file) as svc:
        stray = {"reports": [{"product": "A", "timestamp": "1970-01-01T00:00:00+00:00"}]}
        assert svc.client.post("/v1/reports", json=stray).json()["accepted"] == 1
        day = pd.date_range("2026-01-05", periods=12, freq="5min", tz="UTC")
        real = {"reports": [{"product": "A", "timestamp": t.isoformat()} for t in day]}
        answer = svc.client.post("/v1/reports", json=real)
        assert answer.status_code == 422
        assert answer.json()["detail"].endswith(
            "the store's own 1 report(s) span only 1970-01-01T00:00:00+00:00 to "
            "1970-01-01T00:00:00+00:00: if they are the stray ones, start a new store")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 3 MB file system (tmpfs), where the test may mount one (root on Linux)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)],
                             capture_output=True, check=False) if os.geteuid() == 0 else None
    if mounted is None or mounted.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_is_a_503_with_the_reason_and_nothing_stored(small_disk, token_file):
    # A batch the store could not write (no space left) was a bare 500 and a traceback
    # in the log; /healthz said all was well.
    svc = Service(small_disk / "s.duckdb", token_file, "--clock", "data")
    try:
        start = pd.Timestamp("2026-01-05", tz="UTC")
        refused = None
        for k in range(40):
            reports = [{"product": f"P{i % 50}", "timestamp": (
                start + pd.Timedelta(seconds=600 * k + i % 600)).isoformat(),
                "region": f"region-{i % 97}-" + "x" * 40, "category": "c" * 60}
                for i in range(5000)]
            answer = svc.client.post("/v1/reports", json={"batch_id": f"b{k}",
                                                          "reports": reports})
            if answer.status_code != 200:
                refused = answer
                break
        assert refused is not None and refused.status_code == 503
        detail = refused.json()["detail"]
        assert "cannot write the store" in detail and "No space left on device" in detail
        assert "nothing of the batch was stored" in detail
        health = svc.client.get("/healthz").json()
        assert health["store"].startswith("failing: cannot write the store")
        assert "spikes_store_failures_total 1" in svc.client.get("/metrics").text
        stored = svc.client.get("/metrics").text
        assert f"spikes_reports_accepted_total {5000 * k}" in stored  # none of batch k
        # Space enough for a small batch: written, and the store is said to be well again.
        small = {"batch_id": "small", "reports": [
            {"product": "A", "timestamp": (start + pd.Timedelta(days=1)).isoformat()}]}
        assert svc.client.post("/v1/reports", json=small).json()["accepted"] == 1
        assert svc.client.get("/healthz").json()["store"] == "ok"
    finally:
        svc.stop()
    assert "Traceback" not in svc.log
    assert _stored(small_disk / "s.duckdb") == 5000 * k + 1  # the refused batch is not


def test_a_store_in_use_is_a_one_line_error(tmp_path, token_file, refused):
    path = tmp_path / "spikes.duckdb"
    with service(tmp_path, token_file):
        code, err = refused("--store", str(path), "--port", str(_free_port()),
                            "--token-file", str(token_file))
    assert code == 2
    assert "in use" in err and "Traceback" not in err


# --- found by an edge-case hunt of the store and the service (each failed before) -------
def test_reports_stamped_on_arrival_are_each_counted(tmp_path, token_file):
    # The body's hash was the batch key: the README's "a problem now" POST, sent once per
    # user, was stored once and then answered "duplicates: 1" for ever.
    with service(tmp_path, token_file, "--clock", "wall") as svc:
        body = {"reports": [{"product": "Outlook", "region": "US-East"}]}
        answers = [svc.client.post("/v1/reports", json=body).json() for _ in range(3)]
        assert answers == [{"accepted": 1, "duplicates": 0, "late": 0, "batch_id": None}] * 3
        # With their own times, a body of two or more reports is one batch, sent twice.
        now = pd.Timestamp.now(tz="UTC")
        dated = {"reports": [{"product": "Outlook", "timestamp": now.isoformat()},
                             {"product": "Teams", "timestamp": now.isoformat()}]}
        first = svc.client.post("/v1/reports", json=dated).json()
        assert first["accepted"] == 2 and first["batch_id"].startswith("sha256:")
        assert svc.client.post("/v1/reports", json=dated).json() == {
            "accepted": 0, "duplicates": 2, "late": 0, "batch_id": first["batch_id"]}
    assert _stored(tmp_path / "spikes.duckdb") == 5


def test_users_reporting_in_the_same_second_are_all_counted(tmp_path, token_file):
    # One report per POST, stamped by the client to the second and without a batch_id:
    # the body's hash made 49 of 50 users reporting an outage in the same second
    # "duplicates", undercounting the crowd at its peak. A client's retry is made safe
    # by a batch_id or the report's id.
    from concurrent.futures import ThreadPoolExecutor

    second = pd.Timestamp.now(tz="UTC").floor("s").isoformat()
    body = {"reports": [{"product": "Outlook", "timestamp": second}]}
    with service(tmp_path, token_file, "--clock", "wall") as svc:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: svc.client.post("/v1/reports", json=body)
                                    .json(), range(50)))
        assert answers == [{"accepted": 1, "duplicates": 0, "late": 0, "batch_id": None}] * 50
        for retry in ({**body, "batch_id": "u1-1"},
                      {"reports": [{**body["reports"][0], "id": "u1-report-1"}]}):
            assert svc.client.post("/v1/reports", json=retry).json()["accepted"] == 1
            assert svc.client.post("/v1/reports", json=retry).json()["duplicates"] == 1
        assert "spikes_reports_duplicate_total 2" in svc.client.get("/metrics").text
        # A relay's count of one product (kind counts), sent again after a timeout, is
        # the same batch: known by the body's hash.
        counts = {"kind": "counts", "reports": [{**body["reports"][0], "count": 7}]}
        first = svc.client.post("/v1/reports", json=counts).json()
        assert first["accepted"] == 1 and first["batch_id"].startswith("sha256:")
        assert svc.client.post("/v1/reports", json=counts).json()["duplicates"] == 1
    assert _stored(tmp_path / "spikes.duckdb") == 53


def test_a_report_stamped_long_ago_is_refused_on_the_wall_clock(tmp_path, token_file):
    # A time of 0 (1970) on a fresh store made the service grid every minute since then:
    # gigabytes, detection stuck, /healthz "ok", and again after every restart.
    with service(tmp_path, token_file, "--clock", "wall") as svc:
        now = pd.Timestamp.now(tz="UTC")
        answer = svc.client.post("/v1/reports", json={"reports": [
            {"product": "A", "timestamp": now.isoformat()},
            {"product": "A", "timestamp": "1970-01-01T00:00:00Z"}]})
        assert answer.status_code == 422
        assert answer.json()["detail"].startswith(
            "report 1 is stamped 1970-01-01T00:00:00+00:00, more than 364 days before")
        a_week = {"reports": [{"product": "A", "timestamp": (now - pd.Timedelta(days=7))
                               .isoformat()}]}
        assert svc.client.post("/v1/reports", json=a_week).status_code == 200
    assert _stored(tmp_path / "spikes.duckdb") == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--lateness", "300"], "--lateness: expected a duration with its unit such as 30s"),
    (["--lateness", "nan"], "--lateness: expected a duration"),
    (["--lateness=-5min"], "(not negative)"),
    (["--bucket", "7min"], "--bucket 7min: live detection compares each bucket"),
])
def test_settings_the_service_cannot_run_with_are_refused_at_start(tmp_path, token_file,
                                                                   args, message, refused):
    # --lateness 300 was 300 ns, nan closed nothing on the wall clock for ever; 7-minute
    # buckets started, then every detection failed.
    code, err = refused("--store", str(tmp_path / "s.duckdb"), "--port", str(_free_port()),
                        "--token-file", str(token_file), *args)
    assert code == 2 and message in err
    assert "Traceback" not in err


def test_a_port_out_of_range_is_refused(refused):
    # --port 99999 printed its address and served nowhere, holding the store's lock.
    code, err = refused("--port", "99999")
    assert code == 2 and "expected a port number from 1 to 65535" in err


def test_a_restart_with_another_bucket_is_refused(tmp_path, token_file, refused):
    # The closed time (11:15) fell inside a 10-minute bucket: its reports before 11:15
    # were neither detected nor late, and the outage there was missed until a restart.
    with service(tmp_path, token_file, "--bucket", "5min") as svc:
        batch = {"reports": [{"product": "A", "timestamp": "2026-01-06T11:00:00Z"},
                             {"product": "A", "timestamp": "2026-01-06T11:22:00Z"}]}
        assert svc.client.post("/v1/reports", json=batch).status_code == 200
    code, err = refused("--store", str(tmp_path / "spikes.duckdb"), "--port",
                        str(_free_port()), "--token-file", str(token_file), "--clock", "data",
                        "--bucket", "10min")
    assert code == 2 and "its buckets are 5min" in err
    assert "start with --bucket 5min, or on a new store" in err


def test_a_store_that_cannot_be_written_is_one_line(tmp_path):
    # A store in a read-only folder (no .wal can be made) was DuckDB's traceback from
    # `spikes ingest` and from the service's start-up. Here the .wal's name is taken by a
    # folder (the same failure to commit, also for root).
    path = tmp_path / "s.duckdb"
    Store(path).close()
    store = Store(path)
    try:
        (tmp_path / "s.duckdb.wal").mkdir()
        with pytest.raises(SpikesInputError, match=f"cannot write the store {path}: "
                                                   "TransactionContext Error"):
            store.set_bucket(pd.Timedelta("5min"))
        with pytest.raises(SpikesInputError, match="cannot write the store"):
            store.close_until(pd.Timestamp("2026-01-06T00:00Z"))
    finally:
        store.close()


def test_flush_on_the_wall_clock_closes_no_bucket_the_time_of_day_has_not_ended(
        tmp_path, token_file):
    # A report stamped 50 minutes ahead (a client's clock, within the allowance) made
    # flush close buckets until then: every report of the next hour came back late, for
    # good. And flush closed the bucket of now, whose reports were still arriving.
    with service(tmp_path, token_file, "--clock", "wall") as svc:
        now = pd.Timestamp.now(tz="UTC")
        ahead = {"reports": [{"product": "Outlook",
                              "timestamp": (now + pd.Timedelta(minutes=50)).isoformat()}]}
        assert svc.client.post("/v1/reports", json=ahead).json()["late"] == 0
        flushed = svc.client.post("/v1/flush").json()
        closed = pd.Timestamp(flushed["closed_until"])
        assert closed <= pd.Timestamp.now(tz="UTC").floor("5min")
        current = {"reports": [{"product": "Outlook"} for _ in range(10)]}
        assert svc.client.post("/v1/reports", json=current).json()["late"] == 0
        svc.client.post("/v1/flush")
        assert svc.client.post("/v1/reports", json=current).json()["late"] == 0


def test_a_port_in_use_is_one_line_before_the_start(tmp_path, capsys):
    # The service announced itself, then uvicorn's "address already in use" followed
    # and it exited with 3.
    from spikes.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--store", str(tmp_path / "s.duckdb"), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "another --port" in err
    assert "API docs" not in err and not (tmp_path / "s.duckdb").exists()
