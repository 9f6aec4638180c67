"""The lead over the status page end to end: analyze, evaluate and the live service."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from spikes.cli import main
from spikes.config import load_status_feed_config
from spikes.evaluation.lead import OfficialFeed
from spikes.io.status_feed import read_status_feeds
from spikes.service.live import LiveDetector
from spikes.service.store import Store
from tests.test_service import TOKEN, Service

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
REPORTS = DATA / "reports.csv.gz"
FEEDS = ["--status-feed", str(DATA / "status_feed_sample.json"),
         "--status-feed", str(DATA / "status_feed_sample.atom"),
         "--status-config", str(DATA / "status_feed_sample.toml")]
M365 = ["Outlook", "Exchange Online", "Microsoft Store", "Microsoft Defender",
        "Microsoft Purview"]

pytestmark = pytest.mark.skipif(not REPORTS.exists(), reason="bundled data missing")


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``spikes analyze`` of the bundled sample with the sample feeds: CSV and summary."""
    out = tmp_path_factory.mktemp("lead") / "incidents.csv"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["analyze", str(REPORTS), "-o", str(out), "--jobs", "1", *FEEDS]) == 0
    return out, printed.getvalue()


def test_analyze_fills_the_lead_of_the_microsoft_365_incidents(analysed: tuple[Path, str]
                                                               ) -> None:
    out, printed = analysed
    table = pd.read_csv(out)
    m365 = table[table["event_id"] == table.loc[table["product"] == "Outlook", "event_id"]
                 .iloc[-1]]
    assert set(M365) <= set(m365["product"])
    assert m365["lead_minutes"].notna().all()
    onset = pd.to_datetime(m365["alerted_at"], utc=True)
    official = pd.to_datetime(m365["official_at"], utc=True)
    # the lead is what the columns say: official_at - alerted_at, in minutes
    assert ((official - onset).dt.total_seconds() / 60 == m365["lead_minutes"]).all()
    outlook = m365[m365["product"] == "Outlook"].iloc[0]
    # the Exchange Online notice (19:41) covers Outlook through the sample's mapping
    assert outlook["official_at"] == "2026-01-22T19:41:00+00:00"
    # Steam has no status page in the sample: no lead
    assert table.loc[table["product"] == "Steam", "lead_minutes"].isna().all()
    assert "status page: 11 official incidents read" in printed
    assert "lead over the status page: median +" in printed
    line = next(x for x in printed.splitlines() if " Outlook " in x and "min" in x
                and "Users may be unable" in x)
    assert f"{outlook['lead_minutes']:+.0f} min" in line
    assert "1 official incident matched no incident" in printed  # the Teams notice


def test_evaluate_prints_the_median_lead_of_the_incidents(
        analysed: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = analysed
    leads = pd.read_csv(out)["lead_minutes"].dropna()
    assert main(["evaluate", "--incidents", str(out), "--labels",
                 str(DATA / "labels.csv")]) == 0
    text = capsys.readouterr().out
    assert (f"lead over the status page: median {leads.median():+.0f} min "
            f"({len(leads)} of {len(pd.read_csv(out))} incidents matched") in text
    assert main(["evaluate", "--incidents", str(out), "--labels", str(DATA / "labels.csv"),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["lead_median_min"] == leads.median()
    assert result["lead_matched"] == len(leads) and result["tp"] >= 10


def test_evaluate_matches_a_status_feed_itself(analysed: tuple[Path, str], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = analysed
    bare = tmp_path / "bare.csv"
    pd.read_csv(out).drop(columns=["official_at", "lead_minutes"]).to_csv(bare, index=False)
    assert main(["evaluate", "--incidents", str(bare), "--labels", str(DATA / "labels.csv")]) == 0
    assert "lead over the status page" not in capsys.readouterr().out
    assert main(["evaluate", "--incidents", str(bare), "--labels", str(DATA / "labels.csv"),
                 "--json", *FEEDS]) == 0
    result = json.loads(capsys.readouterr().out)
    leads = pd.read_csv(out)["lead_minutes"].dropna()
    assert (result["lead_matched"], result["lead_median_min"]) == (len(leads), leads.median())


def test_retrospective_analyze_says_the_lead_is_from_the_onset(tmp_path: Path,
                                                                capsys) -> None:
    out = tmp_path / "retro.csv"
    assert main(["analyze", str(REPORTS), "--retrospective", "-o", str(out), "--jobs", "1",
                 *FEEDS]) == 0
    printed = capsys.readouterr().out
    assert "lead is from the onset (hindsight)" in printed
    assert "from onset, hindsight)" in printed
    table = pd.read_csv(out)
    row = table[table["product"] == "Outlook"].iloc[-1]
    minutes = (pd.Timestamp(row["official_at"]) - pd.Timestamp(row["onset"])).total_seconds()
    assert row["lead_minutes"] == minutes / 60


def test_a_bad_status_feed_stops_with_one_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"incidents": [{"id": "x", "name": "y", "created_at": "soon"}]}')
    assert main(["analyze", str(REPORTS), "--status-feed", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: incident 0 (id 'x'), field 'created_at': 'soon' is not a time" in err
    assert len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------- service


def _bundled_reports() -> pd.DataFrame:
    frame = pd.read_csv(REPORTS, usecols=["timestamp", "product"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def test_the_live_service_serves_the_lead(tmp_path: Path) -> None:
    """A replay of the last days of the sample into a real DuckDB store; a live detection
    does not use a notice published after its closed time; a real `spikes serve
    --status-feed` process serves official_at and lead_minutes at GET /v1/incidents."""
    config = load_status_feed_config(DATA / "status_feed_sample.toml")
    official = read_status_feeds([DATA / "status_feed_sample.json",
                                  DATA / "status_feed_sample.atom"], list(config.components))
    feed = OfficialFeed(official=official, config=config)
    reports = _bundled_reports()
    reports = reports[(reports["timestamp"] >= "2026-01-19")
                      & reports["product"].isin([*M365, "Slack"])]
    batch = pd.DataFrame({"timestamp": reports["timestamp"], "product": reports["product"],
                          "count": 1.0, "region": None, "category": None,
                          "report_id": None})
    path = tmp_path / "live.duckdb"
    store = Store(path)
    try:
        live = LiveDetector(store, bucket=pd.Timedelta("5min"), clock="data",
                            status_feed=feed)
        live.ingest(batch[batch["timestamp"] < "2026-01-22T19:35:00Z"], "early")
        outlook = live.flush().incidents.query("product == 'Outlook'")
        assert len(outlook) and outlook["official_at"].isna().all()  # 19:41 is not yet
        # the rest, detected without a feed: the stored incidents carry no lead
        plain = LiveDetector(store, bucket=pd.Timedelta("5min"), clock="data")
        plain.ingest(batch[batch["timestamp"] >= "2026-01-22T19:35:00Z"], "late")
        assert plain.flush().incidents["lead_minutes"].isna().all()
    finally:
        store.close()
    token = tmp_path / "token"
    token.write_text(TOKEN)
    svc = Service(path, token, "--clock", "data", *FEEDS)
    try:
        assert svc.client.post("/v1/flush").status_code == 200
        rows = svc.client.get("/v1/incidents", params={"product": "Outlook"}).json()
    finally:
        svc.stop()
    assert rows, "no Outlook incident served"
    last = rows[-1]
    assert pd.Timestamp(last["official_at"]) == pd.Timestamp("2026-01-22T19:41:00Z")
    expected = (pd.Timestamp(last["official_at"]) - pd.Timestamp(last["alerted_at"]))
    assert last["lead_minutes"] == expected.total_seconds() / 60 > 0


def test_the_lead_formats_only_the_matches_it_prints(analysed, monkeypatch) -> None:
    # Every matched incident's official time was formatted (about 30 us each with the
    # zone's name), then all but the newest `rows` dropped.
    import spikes.io.zones
    from spikes.cli.analyze import lead_text

    config = load_status_feed_config(DATA / "status_feed_sample.toml")
    official = read_status_feeds([DATA / "status_feed_sample.json",
                                  DATA / "status_feed_sample.atom"], list(config.components))
    feed = OfficialFeed(official=official, config=config)
    incidents = pd.read_csv(analysed[0], parse_dates=["onset", "alerted_at"])
    matched = int(feed.match(incidents)["official_at"].notna().sum())
    assert matched > 2
    calls: list[object] = []
    original = spikes.io.zones.when
    monkeypatch.setattr(spikes.io.zones, "when",
                        lambda stamp, zone="UTC": calls.append(stamp) or original(stamp, zone))
    text = lead_text(incidents, feed, rows=2, tz="Europe/Berlin")
    table = [line for line in text.splitlines() if line.split()[0].startswith("E0")]
    assert len(table) == 2
    unused = len(official[["source", "official_id"]].drop_duplicates())
    assert len(calls) <= 2 + min(unused, 10)  # the table's rows, the unmatched listed
