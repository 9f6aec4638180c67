"""Tests of spikes.alerts.continuity: one story per outage for a route across detections."""

from __future__ import annotations

import pandas as pd

from spikes.alerts.continuity import Coverage, Told, carry_over

DAY = "2026-01-16T"


def message(key: str, state: str, sequence: int, at: str, products: dict[str, str | None],
            severity: str = "minor", event_id: str = "E0001") -> dict:
    """A message of the event `key` (``product|onset``) naming `products` (name: end)."""
    onset = DAY + key.split("|")[1]
    return {"message_id": f"{key}|{sequence}|{state}", "event_id": event_id,
            "event_key": key, "state": state, "sequence": sequence, "at": DAY + at,
            "products": [{"product": p, "onset": onset, "alerted_at": onset,
                          "severity": severity, "end": None if end is None else DAY + end,
                          "why": f"{p} why", "known_event": ""}
                         for p, end in products.items()],
            "severity": severity, "onset": onset, "alerted_at": onset,
            "end": None, "why": "", "title": f"{event_id} {state} ({severity}): x"}


COVER = Coverage(frozenset({"Gmail", "Teams"}), pd.Timestamp("2026-01-10", tz="UTC"),
                 pd.Timestamp(DAY + "23:00", tz="UTC"))


def test_a_new_key_for_a_told_outage_goes_on_under_the_told_key_with_news_only() -> None:
    told = {"Gmail|09:35": Told("Gmail|09:35", message("Gmail|09:35", "escalated", 1,
                                                         "10:00", {"Gmail": None}, "major",
                                                         event_id="E0007"))}
    now = [message("Gmail|09:30", "open", 0, "10:00", {"Gmail": None}),
           message("Gmail|09:30", "escalated", 1, "10:05", {"Gmail": None}, "major"),
           message("Gmail|09:30", "escalated", 2, "10:20", {"Gmail": None, "Teams": None},
                   "major"),
           message("Gmail|09:30", "escalated", 3, "10:40", {"Gmail": None, "Teams": None},
                   "critical"),
           message("Gmail|09:30", "resolved", 4, "11:40",
                   {"Gmail": "11:25", "Teams": "11:00"}, "critical")]
    out, new = carry_over(now, told, [], {"Gmail|09:30"}, COVER)
    assert [(m["state"], m["sequence"]) for m in out] == [
        ("escalated", 4), ("escalated", 5), ("resolved", 6)]
    assert {m["event_key"] for m in out} == {"Gmail|09:35"}
    assert {m["event_id"] for m in out} == {"E0007"}
    assert out[0]["title"].startswith("E0007 escalated (major)")
    assert len({m["message_id"] for m in out}) == 3
    # The next detection's step (not complete) numbers them the same from the store.
    again, none = carry_over(now[3:], {}, new)
    assert none == [] and [m["message_id"] for m in again] == \
        [m["message_id"] for m in out[1:]]


def test_a_told_outage_over_is_opened_again_only_for_news() -> None:
    told = {"Gmail|09:35": Told("Gmail|09:35", message("Gmail|09:35", "resolved", 2,
                                                         "11:40", {"Gmail": "11:25"}),
                                resolved=True)}
    same = [message("Gmail|09:30", "open", 0, "10:00", {"Gmail": None}),
            message("Gmail|09:30", "resolved", 1, "11:40", {"Gmail": "11:25"})]
    assert carry_over(same, told, [], {"Gmail|09:30"}, COVER)[0] == []
    more = [*same[:1],
            message("Gmail|09:30", "escalated", 1, "10:20", {"Gmail": None, "Teams": None}),
            message("Gmail|09:30", "resolved", 2, "11:40",
                    {"Gmail": "11:25", "Teams": "11:00"})]
    out, _ = carry_over(more, told, [], {"Gmail|09:30"}, COVER)
    assert [(m["state"], m["sequence"]) for m in out] == [("open", 4), ("resolved", 5)]
    # Over before the cut-off for history: left to the caller's rules, not continued.
    old, new = carry_over(more, told, [], {"Gmail|09:30"}, COVER,
                          settled_before=pd.Timestamp(DAY + "12:00", tz="UTC"))
    assert new == [] and old == more


def test_an_outage_no_longer_found_is_withdrawn_only_where_the_detection_saw_it() -> None:
    told = {"Gmail|09:35": Told("Gmail|09:35", message("Gmail|09:35", "open", 0, "09:45",
                                                         {"Gmail": None}))}
    # Within merge_gap (1 h) of the last message the route got (09:45): the same outage.
    soon = [message("Gmail|10:40", "open", 0, "10:50", {"Gmail": None})]
    assert carry_over(soon, told, [], {"Gmail|10:40"}, COVER)[0] == []
    later = [message("Gmail|15:00", "open", 0, "15:10", {"Gmail": None})]  # another one
    out, new = carry_over(later, told, [], {"Gmail|15:00"}, COVER)
    assert new == [] and [m["state"] for m in out] == ["open", "resolved"]
    withdrawal = out[1]
    assert (withdrawal["event_key"], withdrawal["sequence"]) == ("Gmail|09:35", 1)
    assert withdrawal["at"] == "2026-01-16T23:00:00+00:00"
    assert withdrawal["title"].endswith("no longer detected")
    assert "no longer detected" in withdrawal["products"][0]["why"]
    # Data without the product, data from after the onset, data ending before the open.
    for cover in (Coverage(frozenset({"Teams"}), COVER.start, COVER.until),
                  Coverage(COVER.products, pd.Timestamp(DAY + "10:00", tz="UTC"),
                           COVER.until),
                  Coverage(COVER.products, COVER.start,
                           pd.Timestamp(DAY + "09:40", tz="UTC"))):
        assert carry_over([], told, [], set(), cover)[0] == []
    # A step of the live service (not complete) decides nothing.
    assert carry_over(later, told, [])[0] == later
