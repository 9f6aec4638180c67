"""The dashboard reads its known-event calendar (``SPIKES_CALENDAR``) in the day/month
order the reports were read with: an upload's Date order, else ``SPIKES_DATE_ORDER``
(which reads the file of ``SPIKES_DATA`` too). Before, it read the calendar without any
order, so a calendar whose numeric dates could not tell day from month was refused
with advice (``--date-order``) the dashboard had no way to follow."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
BUNDLED = ROOT / "data" / "reports.csv.gz"

pytestmark = pytest.mark.skipif(not BUNDLED.exists(), reason="bundled data missing")


def _run(upload_order: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if upload_order is not None:
        at.session_state["spikes_upload"] = {
            "name": "reports.csv.gz", "data": BUNDLED.read_bytes(),
            "options": {"date_order": upload_order}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _calendar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: str, end: str) -> None:
    path = tmp_path / "cal.csv"
    path.write_text(f"product,start,end,kind\nOutlook,{start},{end},maintenance\n")
    monkeypatch.setenv("SPIKES_CALENDAR", str(path))


def _read(at: AppTest) -> bool:
    return any("Known\\-event calendar cal\\.csv\\: 1 window" in c.value for c in at.caption)


def test_an_undecided_calendar_says_how_to_choose_the_order_here(tmp_path, monkeypatch):
    _calendar(tmp_path, monkeypatch, "12/01/2026 10:00", "12/01/2026 12:00")
    at = _run()
    errors = [e.value for e in at.error]
    assert any("no date of the column has a day above 12" in e and "SPIKES\\_DATE\\_ORDER" in e
               and "Date order of the Data tab" in e for e in errors), errors
    assert not _read(at)


def test_spikes_date_order_reads_the_calendar(tmp_path, monkeypatch):
    _calendar(tmp_path, monkeypatch, "12/01/2026 10:00", "12/01/2026 12:00")
    monkeypatch.setenv("SPIKES_DATE_ORDER", "DMY")
    at = _run()
    assert not at.error and _read(at)
    # The order is the one used: 13/01/2026 is no date month first.
    _calendar(tmp_path, monkeypatch, "13/01/2026 10:00", "13/01/2026 12:00")
    monkeypatch.setenv("SPIKES_DATE_ORDER", "mdy")
    at = _run()
    assert any("'13/01/2026 10\\:00' is not a timestamp" in e.value for e in at.error), \
        [e.value for e in at.error]


def test_the_upload_s_date_order_reads_the_calendar(tmp_path, monkeypatch):
    _calendar(tmp_path, monkeypatch, "12/01/2026 10:00", "12/01/2026 12:00")
    at = _run(upload_order="dmy")
    assert not at.error and _read(at)


def test_a_bad_spikes_date_order_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("SPIKES_DATE_ORDER", "ymd")
    at = _run()
    assert any("SPIKES\\_DATE\\_ORDER\\: unknown date order 'ymd'" in e.value for e in at.error), \
        [e.value for e in at.error]
