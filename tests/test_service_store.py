"""The store as data: `spikes analyze --store`, count data with missing rows through the
API, the store's kinds of rows, DuckDB's file lock, and the wall clock.

The real-process tests start `spikes serve` (tests/test_service.py's helper) or the
`spikes` command line in subprocesses on loopback, and stop them before they end.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from spikes.detect.pipeline import analyze
from spikes.evaluation.simulate import simulate
from spikes.io.buckets import load_reports
from spikes.service.live import LiveDetector
from spikes.service.snapshot import store_data
from spikes.service.store import Store, batch_from_raw
from tests.test_service import KEYS, _keys, service, token_file  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "reports.csv.gz"


def _one_report(at: pd.Timestamp) -> pd.DataFrame:
    """A batch of one Outlook report at `at`, as the service's ingest takes it."""
    return pd.DataFrame({"product": ["Outlook"], "timestamp": [at], "count": [1.0],
                         "region": [None], "category": [None], "report_id": [None]})


def _spikes(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spikes", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not BUNDLED.exists(), reason="bundled data missing")
def test_analyze_store_gives_the_incidents_of_the_ingested_file(tmp_path, monkeypatch,
                                                                capsys):
    # The command line in this process (what it writes is compared, not the process:
    # the locked-store test below runs real processes).
    from spikes.cli import main

    monkeypatch.chdir(tmp_path)
    store = tmp_path / "s.duckdb"
    assert main(["ingest", str(BUNDLED), "--store", str(store)]) == 0, \
        capsys.readouterr().err
    assert main(["analyze", "--store", str(store), "-o", "store.csv",
                 "--events-output", "store_events.csv"]) == 0, capsys.readouterr().err
    assert main(["analyze", str(BUNDLED), "-o", "file.csv", "--events-output",
                 "file_events.csv"]) == 0, capsys.readouterr().err
    got = pd.read_csv(tmp_path / "store.csv")
    expected = pd.read_csv(tmp_path / "file.csv")
    assert len(expected) >= 10 and "Outlook" in set(expected["product"])
    pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "store_events.csv"),
                                  pd.read_csv(tmp_path / "file_events.csv"))


def test_analyze_store_explains_a_locked_missing_or_misused_store(tmp_path, monkeypatch,
                                                                   capsys):
    from spikes.cli import main

    store = tmp_path / "s.duckdb"
    Store(store).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\nc = duckdb.connect(sys.argv[1])\n"
         "print('ready', flush=True)\ntime.sleep(60)", str(store)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        locked = _spikes("analyze", "--store", str(store), cwd=tmp_path)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert locked.returncode == 2
    assert "Traceback" not in locked.stderr
    assert f"cannot open the store {store}: it is in use" in locked.stderr
    assert f"(PID {holder.pid})" in locked.stderr and "SPIKES_SERVICE" in locked.stderr
    # The others in this process (the command line's exit code is what main returns).
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", "--store", str(tmp_path / "none.duckdb")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["analyze", "--store", str(store)]) == 2
    assert "holds no report" in capsys.readouterr().err
    assert main(["analyze", "x.csv", "--store", str(store)]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["analyze"]) == 2
    assert "--store" in capsys.readouterr().err


def test_store_data_keeps_missing_count_rows_missing_and_event_gaps_zero():
    t = pd.Timestamp("2026-01-05", tz="UTC")
    rows = pd.DataFrame({
        "timestamp": [t, t + pd.Timedelta("10min"), t, t + pd.Timedelta("10min")],
        "product": ["Counted", "Counted", "Evented", "Evented"],
        "reports": [4.0, 6.0, 1.0, 1.0],
        "kind": ["counts", "counts", "events", "events"],
    })
    data = store_data(rows, "5min")
    assert data.kind == "counts"
    middle = t + pd.Timedelta("5min")
    assert pd.isna(data.counts.loc[middle, "Counted"])
    assert data.counts.loc[middle, "Evented"] == 0.0
    events_only = store_data(rows[rows["kind"] == "events"], "5min")
    assert events_only.kind == "events" and events_only.counts.loc[middle, "Evented"] == 0.0
    assert store_data(rows.iloc[:0], "5min") is None


def _counts_with_gaps(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    sim = simulate(products=3, days=4, seed=3, outage_rate_per_week=6.0, missing_rate=0.08)
    frame = sim.reports.sort_values(["timestamp", "product"], kind="stable")
    path = tmp_path / "counts.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_counts_with_missing_rows_replayed_as_csv_give_the_batch_incidents(
        tmp_path, token_file):  # noqa: F811
    path, frame = _counts_with_gaps(tmp_path)
    data = load_reports(path)
    assert data.kind == "counts" and data.counts.isna().to_numpy().mean() > 0.05
    expected = _keys(analyze(data).incidents)
    assert len(expected) >= 3
    with service(tmp_path, token_file) as svc:
        for start in range(0, len(frame), 400):
            body = frame.iloc[start:start + 400].to_csv(index=False)
            answer = svc.client.post("/v1/reports", content=body,
                                     headers={"Content-Type": "text/csv"})
            assert answer.status_code == 200, answer.text
            assert answer.json()["late"] == 0
        assert svc.client.post("/v1/flush").status_code == 200
        got = svc.client.get("/v1/incidents").json()
    assert _keys(got) == expected


def test_store_remembers_the_kind_of_each_batch(tmp_path):
    path, _ = _counts_with_gaps(tmp_path)
    from spikes.io.reading import read_reports

    raw = read_reports(path)
    store = Store(tmp_path / "s.duckdb")
    try:
        store.append(batch_from_raw(raw.table), "counts-file", kind=raw.kind)
        rows = store.all_reports()
        assert set(rows["kind"]) == {"counts"} and len(rows) == len(raw.table)
        with pytest.raises(ValueError, match="kind"):
            store.append(batch_from_raw(raw.table), "other", kind="bogus")
    finally:
        store.close()
    reading = Store(tmp_path / "s.duckdb", read_only=True)
    try:
        assert reading.count_reports() == len(raw.table)
        assert reading.watermark == raw.table["timestamp"].max()
    finally:
        reading.close()


def test_wall_clock_closes_a_bucket_once_its_end_plus_lateness_has_passed(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    try:
        live = LiveDetector(store, bucket=pd.Timedelta("5min"), clock="wall",
                            lateness=pd.Timedelta("2min"))
        t = pd.Timestamp("2026-01-22 19:00", tz="UTC")
        assert not live.close_by_wall_clock(now=t)  # nothing stored: nothing to close
        batch = _one_report(t + pd.Timedelta("1min"))
        live.ingest(batch, "b1")
        assert store.closed_end <= t  # the data clock leaves the 19:00 bucket open
        # the 19:00 bucket ends at 19:05 and stays open for 2 more minutes
        live.close_by_wall_clock(now=t + pd.Timedelta("6min59s"))
        assert store.closed_end == t  # buckets before 19:00 are closed, 19:00 is not
        assert live.close_by_wall_clock(now=t + pd.Timedelta("7min"))
        assert store.closed_end == t + pd.Timedelta("5min")
        assert not live.close_by_wall_clock(now=t + pd.Timedelta("8min"))  # no new close
        late = batch.assign(timestamp=[t + pd.Timedelta("2min")])
        assert live.ingest(late, "b2").late == 1
        assert live.close_by_wall_clock(now=t + pd.Timedelta("12min"))
        assert store.closed_end == t + pd.Timedelta("10min")
        data_clock = LiveDetector(store, bucket=pd.Timedelta("5min"), clock="data")
        assert data_clock.clock == "data"
    finally:
        store.close()


def test_after_a_restart_the_buckets_of_the_downtime_stay_open_for_one_lateness(tmp_path):
    # The first tick after a restart closed every bucket of the downtime at once: the
    # reports clients had buffered meanwhile all came back late, and detection read
    # those buckets as empty (report events: zeros).
    store = Store(tmp_path / "s.duckdb")
    try:
        t = pd.Timestamp.now(tz="UTC").floor("5min") - pd.Timedelta("1h")
        batch = _one_report(t + pd.Timedelta("1min"))
        first = LiveDetector(store, bucket=pd.Timedelta("5min"), clock="wall",
                             lateness=pd.Timedelta("2min"))
        first.ingest(batch, "b1")
        first.close_by_wall_clock(now=t + pd.Timedelta("7min"))
        assert store.closed_end == t + pd.Timedelta("5min")  # then the service stops
        restarted = LiveDetector(store, bucket=pd.Timedelta("5min"), clock="wall",
                                 lateness=pd.Timedelta("2min"))
        resumed = restarted._resumed_at  # noqa: SLF001 - the restart's time
        assert not restarted.close_by_wall_clock(now=resumed + pd.Timedelta("1min"))
        buffered = batch.assign(timestamp=[t + pd.Timedelta("30min")])
        assert restarted.ingest(buffered, "b2").late == 0  # was late
        now = batch.assign(timestamp=[resumed])
        restarted.ingest(now, "b3")  # a current report closes nothing of the downtime yet
        assert store.closed_end == t + pd.Timedelta("5min")
        assert restarted.close_by_wall_clock(now=resumed + pd.Timedelta("2min"))
        assert store.closed_end == resumed.floor("5min")  # then as before the restart
        fresh = LiveDetector(Store(tmp_path / "fresh.duckdb"), bucket=pd.Timedelta("5min"),
                             clock="wall", lateness=pd.Timedelta("2min"))
        fresh.ingest(batch, "b1")  # a new store has no downtime: it closes at once
        assert fresh.close_by_wall_clock(now=fresh._resumed_at)  # noqa: SLF001
        fresh.store.close()
    finally:
        store.close()


def test_wall_clock_service_closes_buckets_without_later_reports(tmp_path, token_file):  # noqa: F811
    from tests.test_service import Service

    svc = Service(tmp_path / "s.duckdb", token_file, "--clock", "wall", "--bucket", "1s",
                  "--lateness", "0s")
    try:
        now = pd.Timestamp.now(tz="UTC")
        body = {"reports": [{"product": "Outlook", "timestamp": now.isoformat()}]}
        assert svc.client.post("/v1/reports", json=body).json()["accepted"] == 1
        deadline = time.monotonic() + 10
        closed = runs = 0.0
        while time.monotonic() < deadline:
            metrics = dict(line.split() for line in svc.client.get("/metrics").text
                           .splitlines() if not line.startswith("#"))
            closed = float(metrics["spikes_closed_until_seconds"])
            runs = float(metrics["spikes_detection_runs_total"])
            if closed > now.timestamp() and runs >= 1:
                break
            time.sleep(0.2)
        # closed by the time of day (no later report came), and detected over
        assert closed > now.timestamp() and runs >= 1
        assert [row["product"] for row in svc.client.get("/v1/status").json()] == ["Outlook"]
    finally:
        svc.stop()


@pytest.mark.skipif(not BUNDLED.exists(), reason="bundled data missing")
def test_demo_replays_the_sample_and_raises_the_microsoft_365_event(tmp_path, token_file):  # noqa: F811
    from spikes.cli.serve import _bundled_sample
    from tests.test_service import Service

    assert _bundled_sample() == BUNDLED  # what --demo replays without --demo-file
    # The sample from 2026-01-19 to two hours into the event keeps the test short.
    sample = pd.read_csv(BUNDLED)
    cut = tmp_path / "cut.csv"
    keep = (sample["timestamp"] >= "2026-01-19") & (sample["timestamp"] < "2026-01-22T21:00")
    sample[keep].to_csv(cut, index=False)
    expected = _keys(analyze(load_reports(cut)).incidents)
    svc = Service(tmp_path / "unused.duckdb", token_file, "--demo", "--demo-speed", "300",
                  "--demo-from", "2026-01-22T18:45Z", "--demo-file", str(cut))
    try:
        deadline = time.monotonic() + 90
        seen_midway = False
        info = {}
        while time.monotonic() < deadline:
            info = svc.client.get("/v1/info").json()
            assert info["clock"] == "data" and info["demo"]["error"] is None
            if not info["demo"]["done"] and (info["demo"]["clock"] or "") > "2026-01-22T19:15":
                seen_midway = True  # the replay is paced: we saw it between start and end
            if info["demo"]["done"]:
                break
            time.sleep(0.1)
        assert info["demo"]["done"], info
        assert seen_midway
        assert info["reports"] == int(load_reports(cut).counts.sum().sum())
        assert info["demo"]["file"] == "cut.csv"
        # The replay closes its last bucket itself (it ended one bucket short, F26).
        assert info["closed_until"] == "2026-01-22T21:00:00+00:00"
        assert _keys(svc.client.get("/v1/incidents").json()) == expected
        svc.client.post("/v1/flush")
        incidents = svc.client.get("/v1/incidents").json()
        assert _keys(incidents) == expected  # the replay ends with the batch incidents
        outlook = [i for i in incidents if i["product"] == "Outlook"
                   and i["onset"].startswith("2026-01-22T19:00")]
        assert len(outlook) == 1
        events = svc.client.get("/v1/events").json()
        assert any(e["n_products"] >= 5 and e["first_product"] == "Outlook" for e in events)
        assert (tmp_path / "unused.duckdb").exists() is False  # a fresh temporary store
    finally:
        svc.stop()


def test_ingest_refuses_a_stray_timestamp_as_analyze_does(tmp_path, capsys):
    # `spikes ingest` stored a row of 1900 beside 2026 data; every later reader of the
    # store (the service's detection, `analyze --store`) then gridded 126 years.
    from spikes.cli import main

    path = tmp_path / "stray.csv"
    path.write_text("timestamp,product,reports\n2026-01-05T00:00:00Z,A,3\n"
                    "2026-01-05T00:05:00Z,A,3\n1900-01-05T00:00:00Z,A,1\n")
    assert main(["ingest", "--store", str(tmp_path / "s.duckdb"), str(path)]) == 2
    err = capsys.readouterr().err
    assert "stray.csv': the data spans 1900-01-05" in err and "stray timestamp" in err
    store = Store(tmp_path / "s.duckdb")
    try:
        assert store.count_reports() == 0
    finally:
        store.close()


def test_ingest_refuses_a_file_far_from_the_stores_data(tmp_path, capsys):
    # A file of 1900 alone passed the file's own check, beside a store of 2026 data.
    from spikes.cli import main

    store = tmp_path / "s.duckdb"
    now = tmp_path / "now.csv"
    now.write_text("timestamp,product,reports\n2026-01-05T00:00:00Z,A,3\n"
                   "2026-01-06T00:05:00Z,A,3\n")
    old = tmp_path / "old.csv"
    old.write_text("timestamp,product,reports\n1900-01-05T00:00:00Z,A,1\n")
    later = tmp_path / "later.csv"
    later.write_text("timestamp,product,reports\n2026-01-07T00:00:00Z,A,2\n")
    assert main(["ingest", "--store", str(store), str(now)]) == 0
    assert main(["ingest", "--store", str(store), str(old)]) == 2
    assert "old.csv': the data spans 1900-01-05" in capsys.readouterr().err
    assert main(["ingest", "--store", str(store), str(later)]) == 0  # next to it: taken


def test_ingest_judges_lateness_by_the_stores_bucket(tmp_path, capsys):
    # --bucket defaulted to 5 min whatever the store's service had closed: at 15 min over
    # a store of 10-minute buckets closed to 02:10, a report of 02:12 (its bucket 02:10 is
    # open) was counted late, as of the bucket 02:00.
    from spikes.cli import main

    path = tmp_path / "s.duckdb"
    store = Store(path)
    try:
        store.set_bucket(pd.Timedelta("10min"))
        store.close_until(pd.Timestamp("2026-01-05T02:10:00Z"))
    finally:
        store.close()
    csv = tmp_path / "r.csv"
    csv.write_text("timestamp,product\n2026-01-05T02:05:00Z,A\n2026-01-05T02:12:00Z,A\n")
    assert main(["ingest", "--store", str(path), "--bucket", "15min", str(csv)]) == 2
    err = capsys.readouterr().err
    assert "--bucket 15min: the store" in err and "is of 10min buckets" in err
    assert main(["ingest", "--store", str(path), str(csv)]) == 0
    assert "accepted 2, duplicates 0, late 1" in capsys.readouterr().out


def test_a_demo_stopped_by_sigterm_removes_its_temporary_store(tmp_path, token_file):  # noqa: F811
    # uvicorn raises SIGTERM again after its graceful stop: the process ended at once and
    # left its temporary folder (3.6 MB of store) behind; Ctrl-C removed it.
    import os
    import signal
    import subprocess
    import sys

    import httpx

    from tests.receivers import free_port

    temporary = tmp_path / "tmp"
    temporary.mkdir()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "spikes", "serve", "--demo", "--port", str(port),
         "--token-file", str(token_file)],
        env={**os.environ, "TMPDIR": str(temporary)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=2) as probe:  # one client: not a TLS context per poll
            while time.monotonic() < deadline:
                try:
                    if probe.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
        assert [p.name[:12] for p in temporary.iterdir()] == ["spikes-demo-"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert list(temporary.iterdir()) == []


def test_healthz_says_when_no_report_has_come_for_an_hour(tmp_path):
    # A collector that died left the service "ok" with frozen statuses: nothing told the
    # people on call that reports had stopped coming.
    from spikes.service.app import _reports_health

    store = Store(tmp_path / "s.duckdb")
    try:
        live = LiveDetector(store, bucket=pd.Timedelta("5min"), clock="wall")
        assert _reports_health(live) == "ok"  # no report yet: nothing to miss
        arrived = pd.Timestamp("2026-01-05 09:00", tz="UTC")
        batch = _one_report(arrived)
        store.append(batch, "b1", received_at=arrived)
        assert store.last_received == arrived
        assert _reports_health(live, now=arrived + pd.Timedelta("59min")) == "ok"
        said = _reports_health(live, now=arrived + pd.Timedelta("2h5min"))
        assert said.startswith("silent: no report stored for 2 h 05 min (since 2026-01-05 "
                               "09:00 UTC)")
        replay = LiveDetector(store, bucket=pd.Timedelta("5min"), clock="data")
        assert _reports_health(replay, now=arrived + pd.Timedelta("9h")) == "ok"
    finally:
        store.close()


def test_the_first_serve_over_an_ingested_store_holds_the_gap_open(tmp_path):
    # `spikes ingest` closes no bucket, so the first service over its store held nothing
    # back: its first tick closed every bucket up to now, empty, and the reports clients
    # had buffered since the export came back late (114 of 120), the gap read as zeros.
    store = Store(tmp_path / "s.duckdb")
    try:
        t = pd.Timestamp.now(tz="UTC").floor("5min") - pd.Timedelta("2h")
        history = _one_report(t + pd.Timedelta("1min"))
        store.append(history, "ingested")  # as `spikes ingest` does: nothing closed
        assert store.closed_end is None
        live = LiveDetector(store, bucket=pd.Timedelta("5min"), clock="wall",
                            lateness=pd.Timedelta("2min"))
        resumed = live._resumed_at  # noqa: SLF001 - the start's time
        live.close_by_wall_clock(now=resumed + pd.Timedelta("1min"))
        assert store.closed_end is None or store.closed_end <= t  # the history's end held
        buffered = history.assign(timestamp=[t + pd.Timedelta("1h")])
        assert live.ingest(buffered, "b1").late == 0
        assert live.ingest(history.assign(timestamp=[t + pd.Timedelta("3min")]), "b2").late == 0
        live.close_by_wall_clock(now=resumed + pd.Timedelta("3min"))  # a lateness later
        assert store.closed_end == (resumed + pd.Timedelta("1min")).floor("5min")
    finally:
        store.close()


def test_ingest_reads_files_as_analyze_does(tmp_path, capsys):
    # `spikes ingest` had no --tz or column options (its errors named them): local times
    # were stored as UTC, an hour or two off, and a file whose columns need naming could
    # not be ingested at all.
    from spikes.cli import main

    path = tmp_path / "berlin.csv"
    path.write_text("Zeit;Dienst;Meldungen\n2026-03-16 12:00;Outlook;3\n"
                    "2026-03-16 12:05;Outlook;4\n2026-03-16 12:10;Outlook;5\n")
    store_path = tmp_path / "s.duckdb"
    assert main(["ingest", "--store", str(store_path), str(path), "--tz", "Europe/Berlin",
                 "--timestamp-col", "Zeit", "--product-col", "Dienst",
                 "--count-col", "Meldungen"]) == 0
    assert "accepted 3" in capsys.readouterr().out
    store = Store(store_path)
    try:
        assert store.span()[0] == pd.Timestamp("2026-03-16 11:00", tz="UTC")
    finally:
        store.close()


def test_a_file_that_is_no_store_is_refused(tmp_path: Path) -> None:
    # `--store export.csv` (a report file): DuckDB opened it as a read-only attached
    # file and kept the store's tables in memory; reports were acknowledged, then lost
    # at the next start, and the file was ingested twice without a duplicate.
    from spikes.errors import SpikesInputError

    export = tmp_path / "export.csv"
    export.write_text("timestamp,product\n2026-01-05T00:00Z,A\n")
    with pytest.raises(SpikesInputError, match="export.csv is no spikes store"):
        Store(export)
    with pytest.raises(SpikesInputError, match="export.csv is no spikes store"):
        Store(export, read_only=True)
    assert export.read_text() == "timestamp,product\n2026-01-05T00:00Z,A\n"
    store = Store(tmp_path / "new.duckdb")  # a new store, and the same one again
    store.close()
    Store(tmp_path / "new.duckdb").close()


def test_results_that_cannot_all_be_saved_leave_the_previous_ones(tmp_path: Path) -> None:
    # A detection's incidents and events replace the stored ones together: when the
    # events cannot be written (here a column DuckDB has no type for), the incidents
    # already replaced in the transaction are rolled back, and the store takes the next
    # detection's (no transaction left open).
    import duckdb

    onset = pd.Timestamp("2026-01-05T10:00Z")
    events = pd.DataFrame({"event_id": ["E1"], "onset": [onset]})
    store = Store(tmp_path / "s.duckdb")
    try:
        store.save_results(pd.DataFrame({"product": ["A"], "onset": [onset]}), events)
        with pytest.raises(duckdb.Error, match="complex128"):
            store.save_results(pd.DataFrame({"product": ["B"], "onset": [onset]}),
                               events.assign(chance=[1 + 2j]))
        assert store.table("incidents")["product"].tolist() == ["A"]
        assert list(store.table("events").columns) == ["event_id", "onset"]
        store.save_results(pd.DataFrame({"product": ["C"], "onset": [onset]}), events)
        assert store.table("incidents")["product"].tolist() == ["C"]
        assert store.table("incidents")["onset"].tolist() == [onset]
    finally:
        store.close()


def test_ingest_skips_a_copy_of_a_file_and_names_an_overlap(tmp_path, capsys):
    # sim.csv, then sim.csv.gz: another content hash, so every report counted twice.
    import gzip

    from spikes.cli import main

    sim = simulate(products=3, days=2, seed=4)
    path = tmp_path / "sim.csv"
    sim.reports.to_csv(path, index=False)
    copy = tmp_path / "sim.csv.gz"
    copy.write_bytes(gzip.compress(path.read_bytes()))
    part = tmp_path / "part.csv"
    sim.reports.iloc[len(sim.reports) // 2:].to_csv(part, index=False)
    other = tmp_path / "other.csv"  # another region's export of the same products
    sim.reports.assign(reports=sim.reports["reports"] + 1).iloc[:50].to_csv(other,
                                                                             index=False)
    store_path = str(tmp_path / "s.duckdb")
    for given in (path, copy, part, other):
        assert main(["ingest", "--store", store_path, str(given)]) == 0
    out, err = capsys.readouterr()
    assert "sim.csv.gz: skipped: the store holds every report of it already" in out
    assert "part.csv: skipped" in out
    assert "other.csv: accepted 50" in out
    assert "note: " in err and "the store holds reports of Service 01" in err
    store = Store(store_path)
    try:
        assert store.count_reports() == len(sim.reports) + 50
    finally:
        store.close()


def test_ingest_adds_another_regions_export_with_the_same_counts(tmp_path, capsys):
    # Compared per product and time only, it was skipped as a copy.
    from spikes.cli import main

    rows = "2026-01-05T10:00:00Z,Gmail,{r}\n2026-01-05T10:01:00Z,Gmail,{r}\n"
    for region in ("US", "EU"):
        (tmp_path / f"{region}.csv").write_text("timestamp,product,region\n"
                                                + rows.format(r=region))
    store_path = str(tmp_path / "s.duckdb")
    for region in ("US", "EU"):
        assert main(["ingest", "--store", store_path, str(tmp_path / f"{region}.csv")]) == 0
    assert "EU.csv: accepted 2" in capsys.readouterr().out
