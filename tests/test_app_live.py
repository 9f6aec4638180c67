"""The live dashboard through Streamlit's AppTest: a store file (SPIKES_STORE) and a real
`spikes serve` process (SPIKES_SERVICE), what is on fire now, and the refresh."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("streamlit")
pytest.importorskip("plotly")

from streamlit.testing.v1 import AppTest  # noqa: E402

from spikes.io.reading import read_reports  # noqa: E402
from spikes.service.store import Store, batch_from_raw  # noqa: E402
from tests.test_service import TOKEN, Service, token_file  # noqa: E402, F401

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
BUNDLED = ROOT / "data" / "reports.csv.gz"
BUCKET = pd.Timedelta("5min")

pytestmark = pytest.mark.skipif(not BUNDLED.exists(), reason="bundled data missing")


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    """The bundled sample's reports from 2026-01-19 to 2026-01-23, as a store batch."""
    table = read_reports(BUNDLED).table
    keep = (table["timestamp"] >= "2026-01-19") & (table["timestamp"] < "2026-01-23")
    return batch_from_raw(table[keep].reset_index(drop=True))


def _fill(path: Path, batch: pd.DataFrame, until: str, batch_id: str) -> None:
    """Append the reports before `until` and close the buckets before it."""
    end = pd.Timestamp(until, tz="UTC")
    store = Store(path)
    try:
        store.set_bucket(BUCKET)
        store.append(batch[batch["timestamp"] < end], batch_id, bucket=BUCKET)
        store.close_until(end)
    finally:
        store.close()


def _on_fire(at: AppTest) -> pd.DataFrame:
    """The on-fire table: the page's first table, under its "On fire now" heading."""
    assert at.subheader[0].value.startswith("🔥 On fire now")
    return at.dataframe[0].value


def _run(monkeypatch: pytest.MonkeyPatch, **env: str) -> AppTest:
    for key in ("SPIKES_STORE", "SPIKES_SERVICE", "SPIKES_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_store_dashboard_shows_what_is_on_fire_and_follows_new_buckets(
        tmp_path, monkeypatch, sample):
    path = tmp_path / "live.duckdb"
    _fill(path, sample, "2026-01-22T18:00", "before")
    at = _run(monkeypatch, SPIKES_STORE=str(path))
    assert at.title[0].value == "spikes · live outage dashboard"
    assert any("Nothing on fire" in s.value for s in at.success)
    assert any("refreshes every 300 s" in c.value for c in at.caption)
    # The Microsoft 365 event starts at 19:00; buckets close up to 19:30.
    _fill(path, sample[sample["timestamp"] >= pd.Timestamp("2026-01-22T18:00", tz="UTC")],
          "2026-01-22T19:30", "event")
    at.run()
    assert not at.exception
    assert not at.success, [s.value for s in at.success] + [c.value for c in at.caption]
    fire = _on_fire(at)
    assert "Outlook" in set(fire["product"])
    outlook = fire.set_index("product").loc["Outlook"]
    assert outlook["since"] == "2026-01-22 19:00" and outlook["raised"] == "2026-01-22 19:10"
    overview = at.dataframe(key="overview_table").value
    assert overview["product"].iloc[0] in set(fire["product"])  # on fire first
    for view in ("Product", "Events", "Data"):
        at.session_state["view"] = view
        at.run()
        assert not at.exception, view
    # The bundled sample's status feeds are not the live data's (its Outlook showed a
    # lead of +31 min), and the Data tab offers no upload it would not show.
    lead = [c for c in overview.columns if "lead" in str(c)]
    assert lead and (overview[lead[0]].fillna("") == "").all()
    assert not any("Analyse your own file" in h.value for h in at.subheader)
    assert any("come from the live store" in c.value for c in at.caption)
    assert not [b for b in at.button if b.label == "Back to the bundled sample"]


def test_store_dashboard_explains_a_store_held_by_a_service(tmp_path, monkeypatch, sample):
    path = tmp_path / "held.duckdb"
    _fill(path, sample, "2026-01-20T00:00", "some")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\nc = duckdb.connect(sys.argv[1])\n"
         "print('ready', flush=True)\ntime.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        at = _run(monkeypatch, SPIKES_STORE=str(path))
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    message = at.error[0].value
    assert "Cannot read the live data" in message and "in use" in message
    assert "SPIKES\\_SERVICE" in message or "SPIKES_SERVICE" in message


def test_service_dashboard_shows_the_service_incidents(tmp_path, monkeypatch, sample,
                                                       token_file):  # noqa: F811
    svc = Service(tmp_path / "svc.duckdb", token_file, "--clock", "data")
    try:
        part = sample[sample["timestamp"] < pd.Timestamp("2026-01-22T20:00", tz="UTC")]
        for start in range(0, len(part), 20000):
            rows = part.iloc[start:start + 20000]
            body = {"batch_id": f"b{start}", "reports": [
                {"product": p, "timestamp": t.isoformat()}
                for p, t in zip(rows["product"], rows["timestamp"], strict=True)]}
            assert svc.client.post("/v1/reports", json=body).status_code == 200
        svc.client.post("/v1/flush")
        served = pd.DataFrame(svc.client.get("/v1/incidents").json())
        open_now = set(served.loc[served["ongoing"], "product"])
        at = _run(monkeypatch, SPIKES_SERVICE=svc.url, SPIKES_TOKEN=TOKEN)
        fire = _on_fire(at)
        assert "Outlook" in open_now and open_now <= set(fire["product"])
        at.session_state["view"] = "Data"
        at.run()
        assert not at.exception
        wrong = _run(monkeypatch, SPIKES_SERVICE=svc.url, SPIKES_TOKEN="nope")
        assert "refused the token" in wrong.error[0].value
    finally:
        svc.stop()


@pytest.mark.parametrize("address", ["http://127.0.0.1:80a", "http://[::1"])
def test_a_malformed_service_address_is_one_error_box(monkeypatch, address):
    # httpx's InvalidURL is no HTTPError: it was a traceback on the page.
    at = _run(monkeypatch, SPIKES_SERVICE=address)
    assert len(at.error) == 1
    assert "is not a valid address" in at.error[0].value
