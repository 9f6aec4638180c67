"""``spikes serve --date-order`` reads the ``--calendar`` file's numeric dates in that
order, as ``analyze`` and ``explain`` do: before, serve had no such option, so a calendar
whose dates could not tell day from month (``01/02/2026 10:00``) was refused with advice
("pass --date-order dmy or mdy") the command did not take."""

from __future__ import annotations

import socket
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


@pytest.mark.parametrize(("order", "day"), [("dmy", "2026-02-01"), ("MDY", "2026-01-02")])
def test_serve_reads_the_calendar_in_its_date_order(tmp_path, started, order, day) -> None:
    assert main(["serve", "--store", str(tmp_path / "s.duckdb"), "--port",
                 str(_free_port()), "--calendar", str(_calendar(tmp_path)),
                 "--date-order", order]) == 0
    window = started["calendar"].windows.iloc[0]
    assert window["start"] == pd.Timestamp(f"{day} 10:00", tz="UTC")
    assert window["end"] == pd.Timestamp(f"{day} 12:00", tz="UTC")


def test_serve_refuses_an_undecided_calendar_with_advice_it_takes(tmp_path, started,
                                                                  capsys) -> None:
    assert main(["serve", "--store", str(tmp_path / "s.duckdb"), "--port",
                 str(_free_port()), "--calendar", str(_calendar(tmp_path))]) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("spikes serve: error: ")
    assert "calendar.csv, line 2, column start" in error
    assert "pass --date-order dmy or mdy" in error
    assert "calendar" not in started
    with pytest.raises(SystemExit):
        main(["serve", "--date-order", "ymd"])
    assert "invalid choice: 'ymd'" in capsys.readouterr().err
