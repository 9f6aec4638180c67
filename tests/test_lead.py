"""The lead over the status page: the matching rule, its window and the component map."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from spikes.config import StatusFeedConfig, load_config, load_status_feed_config
from spikes.errors import SpikesInputError
from spikes.evaluation.lead import (
    OfficialFeed,
    add_lead,
    component_products,
    lead_summary,
    match_official,
    signed_minutes,
)
from spikes.io.status_feed import OFFICIAL_COLUMNS
from spikes.model import INCIDENT_DTYPES


def t(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-01-22 {text}", tz="UTC")


def incidents(*rows: tuple) -> pd.DataFrame:
    """Rows of (product, onset, end, alerted_at or None)."""
    return pd.DataFrame({
        "product": [r[0] for r in rows],
        "onset": [t(r[1]) for r in rows],
        "end": [t(r[2]) for r in rows],
        "alerted_at": pd.to_datetime([t(r[3]) if r[3] else pd.NaT for r in rows], utc=True),
    })


def official(*rows: tuple) -> pd.DataFrame:
    """Rows of (id, components, official_at)."""
    return pd.DataFrame({
        "source": ["page"] * len(rows), "official_id": [r[0] for r in rows],
        "title": [f"title {r[0]}" for r in rows], "components": [tuple(r[1]) for r in rows],
        "official_at": [t(r[2]) for r in rows], "resolved_at": pd.NaT, "impact": "",
        "text": ""}, columns=OFFICIAL_COLUMNS)


def test_lead_is_official_at_minus_alerted_at_and_columns_keep_their_types() -> None:
    inc = incidents(("Outlook", "19:00", "22:40", "19:10"), ("Slack", "19:00", "19:30", "19:05"))
    out = add_lead(inc, official(("a", ["outlook"], "19:41")))
    assert out["official_at"].iloc[0] == t("19:41")
    assert out["lead_minutes"].iloc[0] == 31.0
    assert pd.isna(out["official_at"].iloc[1]) and math.isnan(out["lead_minutes"].iloc[1])
    assert str(out["official_at"].dtype) == INCIDENT_DTYPES["official_at"]
    assert out["lead_minutes"].dtype == float
    assert {"why", "known_event"} <= set(out.columns)  # every annotation column


@pytest.mark.parametrize(
    ("official_at", "lead"),
    [
        ("10:59", None),   # more than 1 h before the onset: something else
        ("11:00", -70.0),  # the vendor spoke first: a negative lead
        ("12:30", 20.0),
        ("18:30", 380.0),  # a late acknowledgement 5 h 30 after the end still counts
        ("19:00", 410.0),  # exactly end + 6 h: the window is closed on both ends
        ("19:01", None),
    ],
)
def test_the_window_runs_from_an_hour_before_the_onset_to_six_hours_after_the_end(
        official_at: str, lead: float | None) -> None:
    inc = incidents(("Zoom", "12:00", "13:00", "12:10"))
    found = match_official(inc, official(("a", ["Zoom"], official_at)))
    if lead is None:
        assert pd.isna(found["official_at"].iloc[0]) and found["official_id"].iloc[0] == ""
    else:
        assert found["lead_minutes"].iloc[0] == lead
        assert found["official_id"].iloc[0] == "a"


def test_the_window_is_a_parameter() -> None:
    inc = incidents(("Zoom", "12:00", "13:00", "12:10"))
    off = official(("a", ["Zoom"], "14:00"))
    assert match_official(inc, off)["lead_minutes"].iloc[0] == 110.0
    narrow = StatusFeedConfig(before="0min", after="30min")
    assert pd.isna(match_official(inc, off, narrow)["official_at"].iloc[0])


def test_no_official_incident_of_the_product_means_no_match() -> None:
    inc = incidents(("Outlook", "19:00", "22:40", "19:10"))
    for off in (official(("a", ["Slack"], "19:30")), official()):
        out = add_lead(inc, off)
        assert pd.isna(out["official_at"].iloc[0]) and math.isnan(out["lead_minutes"].iloc[0])
    summary = lead_summary(add_lead(inc, official()))
    assert (summary.matched, summary.incidents) == (0, 1)
    assert "no official incident matched any of 1 incidents" in summary.to_text()


def test_two_candidates_the_earliest_public_word_counts() -> None:
    inc = incidents(("Outlook", "19:00", "22:40", "19:10"))
    off = official(("follow-up", ["Outlook"], "20:30"), ("first", ["Outlook"], "19:40"))
    found = match_official(inc, off)
    assert found["official_id"].iloc[0] == "first"
    assert found["official_title"].iloc[0] == "title first"
    assert found["lead_minutes"].iloc[0] == 30.0


def test_a_late_notice_belongs_to_the_latest_outage_that_had_begun() -> None:
    # two Slack outages; the notice at 14:20 lies in both windows (the first one's runs
    # to 16:30) but is about the second, which had begun when the vendor spoke
    inc = incidents(("Slack", "10:00", "10:30", "10:05"), ("Slack", "14:00", "15:00", "14:10"))
    found = match_official(inc, official(("n", ["Slack"], "14:20")))
    assert pd.isna(found["official_at"].iloc[0])
    assert found["lead_minutes"].iloc[1] == 10.0
    # a notice 30 min before the second onset is still taken as the second's
    found = match_official(inc, official(("n", ["Slack"], "13:30")))
    assert list(found["official_id"]) == ["", "n"]


def test_one_official_incident_covers_every_product_it_names() -> None:
    inc = incidents(("Outlook", "19:00", "22:40", "19:10"),
                    ("Exchange Online", "19:05", "22:25", "19:15"),
                    ("Microsoft Store", "19:05", "20:25", "19:15"))
    config = StatusFeedConfig(components={"exchange online": ("Exchange Online", "Outlook")})
    out = add_lead(inc, official(("ex", ["EXCHANGE ONLINE"], "19:41")), config)
    assert list(out["lead_minutes"].iloc[:2]) == [31.0, 26.0]
    assert pd.isna(out["official_at"].iloc[2])


def test_retrospective_runs_measure_the_lead_from_the_onset() -> None:
    inc = incidents(("Outlook", "19:00", "22:40", None), ("Slack", "19:00", "19:30", "19:05"))
    off = official(("a", ["Outlook"], "19:41"), ("b", ["Slack"], "19:20"))
    found = match_official(inc, off)
    assert list(found["lead_from"]) == ["onset", "alerted_at"]
    assert list(found["lead_minutes"]) == [41.0, 15.0]
    summary = lead_summary(add_lead(inc, off))
    assert (summary.matched, summary.from_onset, summary.median_minutes) == (2, 1, 28.0)
    assert "1 from onset, hindsight" in summary.to_text()
    no_alert = inc.drop(columns="alerted_at")
    assert match_official(no_alert, off)["lead_minutes"].iloc[1] == 20.0
    assert "from onset, hindsight)" in lead_summary(add_lead(no_alert, off)).to_text()


def test_a_live_run_ignores_official_incidents_not_yet_published() -> None:
    inc = incidents(("Outlook", "19:00", "22:40", "19:10"))
    feed = OfficialFeed(official=official(("late", ["Outlook"], "20:30"),
                                          ("first", ["Outlook"], "19:41")),
                        config=StatusFeedConfig())
    assert pd.isna(feed.annotate(inc, as_of=t("19:40"))["official_at"].iloc[0])
    assert feed.annotate(inc, as_of=t("20:00"))["official_at"].iloc[0] == t("19:41")
    assert feed.annotate(inc)["official_at"].iloc[0] == t("19:41")
    assert feed.match(inc, as_of=t("19:40"))["official_id"].iloc[0] == ""


def test_the_feed_finds_products_named_in_feed_text() -> None:
    off = official(("a", [], "19:41"))
    off["text"] = ["Outlook: users cannot send mail"]
    feed = OfficialFeed(official=off, config=StatusFeedConfig())
    inc = incidents(("Outlook", "19:00", "22:40", "19:10"))
    assert feed.annotate(inc)["lead_minutes"].iloc[0] == 31.0


def test_component_products_map_case_insensitively_with_the_name_as_default() -> None:
    mapping = {"Exchange Online": ("Outlook", "Exchange Online"),
               "Defender XDR": ("Microsoft Defender",)}
    assert component_products(["exchange online", "Defender XDR", "Teams"], mapping) == {
        "outlook", "exchange online", "microsoft defender", "teams"}
    assert component_products([], mapping) == set()


def test_signed_minutes() -> None:
    assert [signed_minutes(v) for v in (23.4, -4.0, 0.2, math.nan)] == [
        "+23 min", "-4 min", "0 min", ""]


def test_empty_incidents_stay_empty() -> None:
    out = add_lead(incidents(), official(("a", ["x"], "19:00")))
    assert out.empty and "lead_minutes" in out


# --------------------------------------------------------------------------- config


def test_status_feed_table_of_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[detection]\nmin_ratio = 3.0\n\n[status_feed]\nbefore = "30min"\n'
                    'after = "2h"\n[status_feed.components]\n'
                    '"Exchange Online" = ["Exchange Online", "Outlook"]\n'
                    '"Defender XDR" = "Microsoft Defender"\n')
    config = load_status_feed_config(path)
    assert config.components == {"Exchange Online": ("Exchange Online", "Outlook"),
                                 "Defender XDR": ("Microsoft Defender",)}
    assert (config.before, config.after) == ("30min", "2h")
    assert load_config(path).min_ratio == 3.0  # the detection settings ignore the table
    assert load_status_feed_config(None) == StatusFeedConfig()
    sample = Path(__file__).resolve().parents[1] / "data" / "status_feed_sample.toml"
    assert "Outlook" in load_status_feed_config(sample).components["Exchange Online"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[status_feed]\nwindow = "1h"\n', "unknown key(s) ['window'] in [status_feed]"),
        ('[status_feed]\nbefore = 60\n', "status_feed.before should be a duration"),
        ('[status_feed]\nafter = "soon"\n', "status_feed.after = 'soon' is not a duration"),
        ('[status_feed]\nafter = "-1h"\n', "status_feed.after = '-1h' is not a duration >= 0"),
        ('[status_feed]\ncomponents = 3\n', "status_feed.components should be a table"),
        ('[status_feed.components]\n"X" = []\n', "status_feed.components.'X' should be"),
        ('[status_feed.components]\n"X" = [1]\n', "status_feed.components.'X' should be"),
        ("status_feed = 1\n", "status_feed should be a table"),
    ],
)
def test_bad_status_feed_tables_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpikesInputError) as caught:
        load_status_feed_config(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


def test_a_product_named_by_a_later_update_counts_from_that_update(tmp_path: Path) -> None:
    # Created at 19:00 naming Teams; an update at 21:30 adds Outlook. At 19:10 nothing
    # public names Outlook: a live run then has no official word for Outlook; later, the
    # lead is from 21:30, not from 19:00.
    import json

    from spikes.evaluation.lead import add_lead
    from spikes.io.status_feed import read_status_feed

    document = {"page": {"name": "Example"}, "incidents": [{
        "id": "1", "name": "Trouble", "created_at": "2026-01-22T19:00:00Z",
        "components": [{"name": "Teams"}, {"name": "Outlook"}],
        "incident_updates": [
            {"created_at": "2026-01-22T19:00:00Z", "affected_components": ["Teams"]},
            {"created_at": "2026-01-22T21:30:00Z", "affected_components": ["Outlook"]}]}]}
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(document))
    feed = read_status_feed(path)
    outage = pd.DataFrame({"product": ["Outlook"], "onset": [t("19:00")],
                           "end": [t("22:00")],
                           "alerted_at": [t("19:05")]})
    early = add_lead(outage, feed, as_of=t("19:10"))
    assert pd.isna(early["official_at"].iloc[0])
    late = add_lead(outage, feed)
    assert late["official_at"].iloc[0] == t("21:30")
    assert late["lead_minutes"].iloc[0] == 145
