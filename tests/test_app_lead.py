"""The dashboard shows the lead over the vendors' status pages (Streamlit AppTest)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("streamlit")
pytest.importorskip("plotly")

from streamlit.testing.v1 import AppTest  # noqa: E402

from spikes.config import load_status_feed_config  # noqa: E402
from spikes.detect.pipeline import analyze  # noqa: E402
from spikes.evaluation.lead import OfficialFeed, signed_minutes  # noqa: E402
from spikes.io.buckets import load_reports  # noqa: E402
from spikes.io.status_feed import read_status_feeds  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
DATA = ROOT / "data"
BUNDLED = DATA / "reports.csv.gz"
TIMEOUT = 120

pytestmark = pytest.mark.skipif(not BUNDLED.exists(), reason="bundled data missing")


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    """The bundled sample's incidents with the sample feeds' lead, from the library."""
    config = load_status_feed_config(DATA / "status_feed_sample.toml")
    data = load_reports([BUNDLED])
    official = read_status_feeds([DATA / "status_feed_sample.json",
                                  DATA / "status_feed_sample.atom"],
                                 [*data.products, *config.components])
    return OfficialFeed(official=official, config=config).annotate(analyze(data).incidents)


def run(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_bundled_sample_shows_the_lead_over_the_sample_status_pages(
        expected: pd.DataFrame) -> None:
    at = run(view="product", product="Outlook")
    assert not at.error
    table = at.dataframe[0].value
    outlook = expected[expected["product"] == "Outlook"].sort_values("onset")
    lead = signed_minutes(outlook["lead_minutes"].iloc[-1])
    assert lead.startswith("+") and lead.endswith(" min")
    assert table["status page"].iloc[0] == lead  # newest first
    assert any("Status page: how much earlier" in c.value for c in at.caption)

    at.session_state["view"] = "Overview"
    at.run()
    overview = at.dataframe(key="overview_table").value.set_index("product")
    assert overview.loc["Outlook", "last_lead"] == lead
    assert overview.loc["Steam", "last_lead"] == ""  # no status page for Steam

    at.session_state["view"] = "Events"
    at.run()
    members = at.dataframe[0].value.set_index("product")
    m365 = expected[expected["event_id"] == outlook["event_id"].iloc[-1]]
    for row in m365.itertuples():
        assert members.loc[row.product, "status page"] == signed_minutes(row.lead_minutes)
    events = at.dataframe[1].value.set_index("event")
    first_word = m365["official_at"].min()
    first_alert = m365["alerted_at"].min()
    assert events.loc[outlook["event_id"].iloc[-1], "status page"] == signed_minutes(
        (first_word - first_alert) / pd.Timedelta(minutes=1))


def test_status_feed_from_the_environment_and_a_bad_one(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    # only the JSON, without the sample's component map: the Exchange Online notice
    # no longer covers Outlook, Slack's notice still matches Slack
    monkeypatch.setenv("SPIKES_STATUS_FEED", str(DATA / "status_feed_sample.json"))
    at = run(view="product", product="Outlook")
    assert not at.error
    assert set(at.dataframe[0].value["status page"]) == {""}
    at.session_state["view"] = "Overview"
    at.run()
    overview = at.dataframe(key="overview_table").value.set_index("product")
    assert overview.loc["Slack", "last_lead"].startswith("+")

    bad = tmp_path / "feed.json"
    bad.write_text('{"incidents": [{"id": 1, "name": "x"}]}')
    monkeypatch.setenv("SPIKES_STATUS_FEED", str(bad))
    at = run()
    assert len(at.error) == 1
    assert "Status feed not used" in at.error[0].value
    assert "field" in at.error[0].value and "created" in at.error[0].value
    assert set(at.dataframe(key="overview_table").value["last_lead"]) == {""}
