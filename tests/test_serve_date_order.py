"""``spikes serve`` reads the files it is given as ``analyze`` reads them: ``--date-order``
and ``--tz`` apply to the ``--calendar`` file and to the ``--demo-file`` (and ``--tz`` to
a naive ``--demo-from``). Before, serve had no ``--date-order``, so a calendar whose dates
could not tell day from month (``01/02/2026 10:00``) was refused with advice ("pass
--date-order dmy or mdy") the command did not take; then it had one, but the demo file
was read without it (day-first dates read month first); and it had no ``--tz`` at all,
the calendar's and the demo file's naive times being UTC whatever their zone."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pandas as pd
import pytest
import uvicorn

import spikes.service.app
from spikes.cli import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> dict:
    """What `spikes serve` would start the app with (the server itself is not run)."""
    seen: dict = {}

    def create_app(store: object, **kwargs: object) -> object:
        seen.update(kwargs)
        return object()

    monkeypatch.setattr(spikes.service.app, "create_app", create_app)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    return seen


def _calendar(tmp_path: Path) -> Path:
    path = tmp_path / "calendar.csv"
    path.write_text("product,start,end,kind\nOutlook,01/02/2026 10:00,01/02/2026 12:00,"
                    "maintenance\n")
    return path


def _serve(tmp_path: Path, *args: str) -> int:
    return main(["serve", "--store", str(tmp_path / "s.duckdb"), "--port",
                 str(_free_port()), *args])


@pytest.mark.parametrize(("order", "day"), [("dmy", "2026-02-01"), ("MDY", "2026-01-02")])
def test_serve_reads_the_calendar_in_its_date_order(tmp_path, started, order, day) -> None:
    assert _serve(tmp_path, "--calendar", str(_calendar(tmp_path)), "--date-order",
                  order) == 0
    window = started["calendar"].windows.iloc[0]
    assert window["start"] == pd.Timestamp(f"{day} 10:00", tz="UTC")
    assert window["end"] == pd.Timestamp(f"{day} 12:00", tz="UTC")


def test_serve_refuses_an_undecided_calendar_with_advice_it_takes(tmp_path, started,
                                                                  capsys) -> None:
    assert _serve(tmp_path, "--calendar", str(_calendar(tmp_path))) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("spikes serve: error: ")
    assert "calendar.csv, line 2, column start" in error
    assert "pass --date-order dmy or mdy" in error
    assert "calendar" not in started
    with pytest.raises(SystemExit):
        main(["serve", "--date-order", "ymd"])
    assert "invalid choice: 'ymd'" in capsys.readouterr().err


def test_serve_reads_the_calendars_naive_times_in_tz(tmp_path, started) -> None:
    # As analyze --calendar --tz: 10:00 in Berlin is 09:00 UTC (in winter).
    assert _serve(tmp_path, "--calendar", str(_calendar(tmp_path)), "--date-order", "dmy",
                  "--tz", "europe/berlin") == 0
    window = started["calendar"].windows.iloc[0]
    assert window["start"] == pd.Timestamp("2026-02-01 09:00", tz="UTC")
    assert window["end"] == pd.Timestamp("2026-02-01 11:00", tz="UTC")


def test_serve_refuses_an_unknown_tz_in_one_line(tmp_path, started, capsys) -> None:
    assert _serve(tmp_path, "--calendar", str(_calendar(tmp_path)), "--tz",
                  "Mars/Base") == 2
    err = capsys.readouterr().err.splitlines()  # after the note that no token is given
    assert err[-1].startswith("spikes serve: error: unknown time zone 'Mars/Base'")
    assert len(err) == 2 and not started


class _Live:
    """What a demo replay feeds: the reports ingested and the clock it moves."""

    bucket = pd.Timedelta("5min")

    def __init__(self) -> None:
        self.stamps: list[pd.Timestamp] = []
        self.clock: list[pd.Timestamp] = []

    def ingest(self, batch: pd.DataFrame, batch_id: str, kind: str) -> None:
        self.stamps.extend(batch["timestamp"])

    def advance_to(self, now: pd.Timestamp) -> None:
        self.clock.append(now)

    def flush(self) -> None:
        pass


def _replayed(started: dict) -> _Live:
    """Run the demo replay `spikes serve` would begin, into a :class:`_Live`."""
    live = _Live()
    replay = started["replay"](live)
    replay.speed = 1e9  # no pause between buckets
    replay.begin()
    deadline = time.monotonic() + 30
    while not replay.done and time.monotonic() < deadline:
        time.sleep(0.01)
    assert replay.done and replay.error is None, replay.error
    return live


def _demo_file(tmp_path: Path) -> Path:
    """Local times of one day whose dates cannot tell day from month (01/02/2026)."""
    path = tmp_path / "demo.csv"
    path.write_text("timestamp,product,reports\n01/02/2026 10:00,A,1\n01/02/2026 10:05,A,2\n"
                    "01/02/2026 11:00,A,3\n")
    return path


def test_the_demo_file_is_read_in_date_order_and_tz(tmp_path, started, capsys) -> None:
    # --date-order dmy was taken, and not applied to the demo file: 2 January.
    assert _serve(tmp_path, "--demo", "--demo-file", str(_demo_file(tmp_path)),
                  "--date-order", "dmy", "--tz", "Europe/Berlin", "--demo-from",
                  "2026-02-01 10:05") == 0
    assert "note:" not in capsys.readouterr().err
    live = _replayed(started)
    assert sorted(live.stamps) == [pd.Timestamp(t, tz="UTC") for t in (
        "2026-02-01 09:00", "2026-02-01 09:05", "2026-02-01 10:00")]
    # The paced replay starts at --demo-from, 10:05 in Berlin.
    assert live.clock[0] == pd.Timestamp("2026-02-01 09:05", tz="UTC")


def test_a_demo_file_read_in_a_date_order_it_cannot_tell_is_said(tmp_path, started,
                                                                 capsys) -> None:
    # As analyze says it (the reading was silent, in the replay's thread).
    assert _serve(tmp_path, "--demo", "--demo-file", str(_demo_file(tmp_path))) == 0
    err = capsys.readouterr().err
    assert ("dates such as '01/02/2026 10:00' read month first (nothing in them "
            "tells day and month apart); pass --date-order dmy if that is wrong") in err
    assert min(_replayed(started).stamps) == pd.Timestamp("2026-01-02 10:00", tz="UTC")


def test_a_demo_file_that_cannot_be_read_stops_serve_in_one_line(tmp_path, started,
                                                                 capsys) -> None:
    # It was read once the service had started: the error was only in /v1/info.
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,product,reports\nsoon,A,1\nlater,A,2\n")
    assert _serve(tmp_path, "--demo", "--demo-file", str(bad)) == 2
    err = capsys.readouterr().err.splitlines()  # after the note that no token is given
    assert err[-1].startswith("spikes serve: error: no usable row in ")
    assert len(err) == 2 and not started
    assert _serve(tmp_path, "--demo", "--demo-file", str(_demo_file(tmp_path)),
                  "--date-order", "dmy", "--demo-from", "2026-03-29 02:30", "--tz",
                  "Europe/Berlin") == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "spikes serve: error: --demo-from: '2026-03-29 02:30' cannot be read in time zone "
        "'Europe/Berlin' (it does not exist there, the hour the clocks skip): give it with "
        "its UTC offset (2026-03-29T02:30 then +01:00 or +02:00)")


def test_demo_from_is_read_in_date_order(tmp_path, started, capsys) -> None:
    # --demo-from was read month first whatever --date-order (2 January), and the replay
    # then started at the file's first report: the error was hidden.
    assert _serve(tmp_path, "--demo", "--demo-file", str(_demo_file(tmp_path)),
                  "--date-order", "dmy", "--tz", "Europe/Berlin", "--demo-from",
                  "01/02/2026 10:05") == 0
    assert _replayed(started).clock[0] == pd.Timestamp("2026-02-01 09:05", tz="UTC")


@pytest.mark.parametrize(("value", "error"), [
    ("now", "--demo-from: 'now' is not a timestamp (expected ISO-8601, such as "),
    ("01/02/2026 10:05", "--demo-from: '01/02/2026 10:05' is 1 February 2026 day first or "
                         "2 January 2026 month first, "),
])
def test_a_bad_demo_from_stops_serve_in_one_line_before_the_file_is_read(
        tmp_path, started, capsys, value: str, error: str) -> None:
    # "now" was the machine's clock; a date that reads as two days was read month first.
    # Said before the demo file is read (its note would come first).
    assert _serve(tmp_path, "--demo", "--demo-file", str(_demo_file(tmp_path)),
                  "--demo-from", value) == 2
    err = capsys.readouterr().err.splitlines()  # after the note that no token is given
    assert err[-1].startswith(f"spikes serve: error: {error}"), err
    assert len(err) == 2 and not started


def test_a_demo_from_outside_the_demo_file_stops_serve_in_one_line(tmp_path, started,
                                                                   capsys) -> None:
    # The replay started at the file's first report instead, without a word.
    assert _serve(tmp_path, "--demo", "--demo-file", str(_demo_file(tmp_path)),
                  "--date-order", "mdy", "--demo-from", "2026-02-01T10:00Z") == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "spikes serve: error: --demo-from: '2026-02-01T10:00Z' (2026-02-01 10:00 UTC) is "
        "outside the --demo-file's reports: expected a time from 2026-01-02 10:00 UTC to "
        "2026-01-02 11:00 UTC")
    assert not started


def test_a_demo_from_outside_the_bundled_sample_stops_serve_in_one_line(tmp_path, started,
                                                                        capsys) -> None:
    # Without --demo-file the replay started at the sample's nearest end, without a word
    # (a year mistyped: 2025-01-22).
    assert _serve(tmp_path, "--demo", "--demo-from", "2025-01-22T18:00Z") == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "spikes serve: error: --demo-from: '2025-01-22T18:00Z' (2025-01-22 18:00 UTC) is "
        "outside the bundled sample's (reports.csv.gz) reports: expected a time from "
        "2026-01-08 00:00 UTC to 2026-01-22 23:59 UTC")
    assert not started
    # Within it, the replay starts there, from the sample read once (here).
    assert _serve(tmp_path, "--demo", "--demo-from", "2026-01-22T18:00Z") == 0
    replay = started["replay"](_Live())
    assert replay.raw is not None
    assert replay.start == pd.Timestamp("2026-01-22T18:00Z")
