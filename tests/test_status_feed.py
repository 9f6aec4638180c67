"""Reading status pages: Statuspage JSON and Atom/RSS feeds, and their bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.io.status_feed import (
    OFFICIAL_COLUMNS,
    find_components,
    read_status_feed,
    read_status_feeds,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_JSON = ROOT / "data" / "status_feed_sample.json"
SAMPLE_ATOM = ROOT / "data" / "status_feed_sample.atom"
UTC = "UTC"


def _incident(**fields: object) -> dict:
    base = {"id": "abc", "name": "Mail is slow", "status": "resolved", "impact": "major",
            "created_at": "2026-01-22T14:41:00-05:00", "resolved_at": "2026-01-22T23:10:00Z",
            "components": [{"name": "Exchange Online"}],
            "incident_updates": [
                {"status": "investigating", "body": "x", "created_at": "2026-01-22T19:41:00Z",
                 "affected_components": [{"name": "Exchange Online"}]}]}
    base.update(fields)
    return base


def _write_json(tmp_path: Path, document: object, name: str = "incidents.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_statuspage_json_first_public_word_components_and_resolution(tmp_path: Path) -> None:
    updates = [
        {"status": "identified", "body": "y", "created_at": "2026-01-22T20:22:00Z",
         "affected_components": [{"name": "Exchange Online"}, {"name": "Outlook.com"}]},
        # an update dated before created_at (edited later): the earliest word counts
        {"status": "investigating", "body": "x", "created_at": "2026-01-22T19:30:00.5Z",
         "affected_components": ["Teams"]},
    ]
    document = {"page": {"name": "Example status"},
                "incidents": [_incident(incident_updates=updates,
                                        started_at="2026-01-22T18:00:00Z"),
                              _incident(id=7, name="Older", created_at="2026-01-21T08:00:00",
                                        resolved_at=None, impact=None, components=None,
                                        incident_updates=None)]}
    table = read_status_feed(_write_json(tmp_path, document))
    assert list(table.columns) == OFFICIAL_COLUMNS
    # sorted by official_at; one row per time the components named so far grew
    assert list(table["official_id"]) == ["7", "abc", "abc"]
    older, mail, later = table.iloc[0], table.iloc[1], table.iloc[2]
    # created_at 14:41-05:00 = 19:41 UTC; the update at 19:30:00.5 is earlier;
    # started_at (a backdated start) is not a public word
    assert mail["official_at"] == pd.Timestamp("2026-01-22T19:30:00.5", tz=UTC)
    assert mail["resolved_at"] == pd.Timestamp("2026-01-22T23:10", tz=UTC)
    # a component counts from the first update that names it, not from the first word
    assert mail["components"] == ("Teams",)
    assert later["official_at"] == pd.Timestamp("2026-01-22T20:22", tz=UTC)
    assert later["components"] == ("Teams", "Exchange Online", "Outlook.com")
    assert (mail["source"], mail["title"], mail["impact"]) == ("Example status",
                                                               "Mail is slow", "major")
    assert older["official_at"] == pd.Timestamp("2026-01-21T08:00", tz=UTC)  # naive = UTC
    assert pd.isna(older["resolved_at"]) and older["impact"] == "" and older["components"] == ()
    assert str(table["official_at"].dtype) == "datetime64[us, UTC]"


def test_atom_entries_of_one_incident_share_a_link_and_names_are_found_as_words(
        tmp_path: Path) -> None:
    feed = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Example history</title>
<id>tag:x</id><updated>2026-01-14T13:26:00Z</updated>
<entry><id>u3</id><link href="https://s.example/incidents/1"/>
  <published>2026-01-14T13:26:00Z</published><updated>2026-01-14T13:26:00Z</updated>
  <title>AWS errors</title><summary>&lt;b&gt;Resolved&lt;/b&gt; - fixed</summary></entry>
<entry><id>u1</id><link href="https://s.example/incidents/1"/>
  <published>2026-01-14T10:31:00+01:00</published><updated>2026-01-14T09:40:00Z</updated>
  <title>AWS errors</title><summary>Investigating errors in US-EAST-1</summary></entry>
<entry><id>tag:x,2005:Incident/2</id>
  <updated>2026-01-15T11:34:00Z</updated>
  <title>Dashboard errors</title><summary>The cloudflare dashboard fails; not Cloudflares</summary>
</entry>
<entry><id>tag:x,2005:Incident/3</id><updated>2026-01-16T10:00:00Z</updated>
  <title>Awesome news</title></entry>
</feed>"""
    path = tmp_path / "history.atom"
    path.write_text(feed, encoding="utf-8")
    table = read_status_feed(path, names=["AWS", "Cloudflare", "Gmail"])
    assert list(table["official_id"]) == ["https://s.example/incidents/1",
                                          "tag:x,2005:Incident/2", "tag:x,2005:Incident/3"]
    aws, cloudflare, other = (table.iloc[i] for i in range(3))
    assert aws["official_at"] == pd.Timestamp("2026-01-14T09:31", tz=UTC)  # 10:31+01:00
    assert aws["resolved_at"] == pd.Timestamp("2026-01-14T13:26", tz=UTC)
    assert aws["components"] == ("AWS",) and aws["title"] == "AWS errors"
    assert cloudflare["components"] == ("Cloudflare",)  # case-insensitive, whole words
    assert pd.isna(cloudflare["resolved_at"])
    assert other["components"] == ()  # "Awesome" does not name AWS
    assert set(table["source"]) == {"Example history"} and set(table["impact"]) == {""}
    # names known only later (a live service) are looked for in the kept text
    assert find_components(table, ["Dashboard"])["components"].iloc[1] == (
        "Cloudflare", "Dashboard")


def test_rss_items_group_by_link(tmp_path: Path) -> None:
    rss = """<?xml version="1.0"?><rss version="2.0"><channel><title>Status</title>
<link>https://s.example</link><description>d</description>
<item><title>Gmail: inbox fails to load</title><link>https://s.example/i/9</link>
  <guid>9-a</guid><pubDate>Fri, 16 Jan 2026 10:14:00 +0000</pubDate></item>
<item><title>Gmail: resolved</title><link>https://s.example/i/9</link>
  <guid>9-b</guid><pubDate>Fri, 16 Jan 2026 11:50:00 GMT</pubDate></item>
</channel></rss>"""
    path = tmp_path / "history.rss"
    path.write_text(rss, encoding="utf-8")
    table = read_status_feed(path, names=["Gmail"])
    assert len(table) == 1
    row = table.iloc[0]
    assert row["official_at"] == pd.Timestamp("2026-01-16T10:14", tz=UTC)
    assert row["resolved_at"] == pd.Timestamp("2026-01-16T11:50", tz=UTC)
    assert row["title"] == "Gmail: inbox fails to load"


def test_the_bundled_samples_are_marked_and_read() -> None:
    table = read_status_feeds([SAMPLE_JSON, SAMPLE_ATOM], ["AWS", "Zoom"])
    assert table["source"].str.startswith("SAMPLE DATA - ").all()
    assert table["official_at"].is_monotonic_increasing
    # 11 official incidents; one of them names a further component in a later update
    assert len(table[["source", "official_id"]].drop_duplicates()) == 11
    assert len(table) == 12
    rows = table[table["official_id"] == "sample-ms-0122"]
    assert "Microsoft Purview" not in rows["components"].iloc[0]  # named by a later update
    assert "Microsoft Purview" in rows["components"].iloc[-1]
    assert rows["official_at"].iloc[-1] > rows["official_at"].iloc[0]
    assert table.loc[table["official_id"] == "sample-psn-0122", "resolved_at"].isna().all()
    aws = table[table["components"].map(lambda c: "AWS" in c)]
    assert len(aws) == 1  # three Atom entries, one incident


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"incidents": {}}, "JSON without an 'incidents' list"),
        ([1, 2], "JSON without an 'incidents' list"),
        ({"incidents": ["x"]}, "incident 0: expected an object, got a string"),
        ({"incidents": [_incident(), _incident(id="")]}, "incident 1, field 'id'"),
        ({"incidents": [_incident(name=None)]}, "incident 0 (id 'abc'), field 'name'"),
        ({"incidents": [_incident(created_at=None)]},
         "incident 0 (id 'abc'), field 'created_at': missing"),
        ({"incidents": [_incident(created_at="yesterday")]},
         "field 'created_at': 'yesterday' is not a time"),
        ({"incidents": [_incident(resolved_at=5)]}, "field 'resolved_at': 5 is not a time"),
        ({"incidents": [_incident(created_at="0001-01-01T00:00:00Z")]},
         "'0001-01-01T00:00:00Z' is not a time (expected ISO-8601, such as "
         "2026-01-22T19:38:00Z, between 1677 and 2262)"),
        ({"incidents": [_incident(components=[{"id": 1}])]}, "field 'components'[0]"),
        ({"incidents": [_incident(incident_updates=[{"status": "x"}])]},
         "incident 0 (id 'abc'), incident_updates[0], field 'created_at': missing"),
        ({"incidents": [_incident(incident_updates="x")]}, "field 'incident_updates'"),
        ({"incidents": [_incident(impact=3)]}, "field 'impact'"),
    ],
)
def test_bad_statuspage_json_names_incident_and_field(tmp_path: Path, document: object,
                                                      message: str) -> None:
    path = _write_json(tmp_path, document)
    with pytest.raises(SpikesInputError) as caught:
        read_status_feed(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"product,onset\nOutlook,2026-01-01\n", "neither JSON nor XML"),
        (b"", "neither JSON nor XML"),
        (b'{"incidents": [', "not valid JSON at line 1"),
        (b"<html><body>hello</body></html>", "XML but not an Atom or RSS feed"),
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
         b"<entry><title>x</title><updated>2026-01-01T00:00:00Z</updated></entry></feed>",
         "entry 0: no link or id"),
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
         b"<entry><id>a</id><title>x</title></entry></feed>",
         "entry 0 (a): no published or updated time"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
         b"<item><guid>g</guid><pubDate>someday</pubDate></item></channel></rss>",
         "entry 0 (g), field 'published': 'someday' is not a date"),
        # Cut short (a failed download): its later entries would be lost without a word.
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
         b"<entry><id>a</id><title>x</title><updated>2026-01-01T00:00:00Z</updated></entry>"
         b"<entry><id>b</id><title>y",
         "not well-formed XML"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "feed.txt"
    path.write_bytes(content)
    with pytest.raises(SpikesInputError, match=r"^" + str(path).replace("\\", "\\\\")) as caught:
        read_status_feed(path)
    assert message in str(caught.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpikesInputError, match="cannot read the status feed"):
        read_status_feed(tmp_path / "nope.json")


def test_empty_histories_give_an_empty_table(tmp_path: Path) -> None:
    table = read_status_feed(_write_json(tmp_path, {"page": {}, "incidents": []}))
    assert table.empty and list(table.columns) == OFFICIAL_COLUMNS
    assert read_status_feeds([]).empty
