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


# --- found by a hunt of the continuity (each failed before) ------------------------------
TOLD = [message("Gmail|09:35", "open", 0, "09:45", {"Gmail": None}),
        message("Gmail|09:35", "escalated", 1, "10:00", {"Gmail": None}, "major")]


def _other(onset: str) -> list[dict]:
    """The outage as a detection with other settings has it: another first onset."""
    key = f"Gmail|{onset}"
    return [message(key, "open", 0, "10:00", {"Gmail": None}, "major"),
            message(key, "resolved", 1, "12:35", {"Gmail": "11:25"}, "major")]


def _route(messages_so_far: list[dict]) -> dict[str, Told]:
    """What a route holds after `messages_so_far` (as Outbox.told reads it)."""
    told: dict[str, Told] = {}
    for m in sorted(messages_so_far, key=lambda m: (m["at"], m["sequence"])):
        top = max(told[m["event_key"]].sequence, m["sequence"]) if m["event_key"] in told \
            else m["sequence"]
        told[m["event_key"]] = Told(m["event_key"], m, m["state"] == "resolved", top)
    return told


def test_a_third_setting_continues_the_told_event_again() -> None:
    # A continuation whose new event is gone kept the told event taken: the third
    # detection's event opened anew and the first page was never resolved.
    second, stored = carry_over(_other("09:30")[:1], _route(TOLD), [], {"Gmail|09:30"},
                                COVER)
    assert second == [] and len(stored) == 1
    third, more = carry_over(_other("09:45"), _route(TOLD), stored, {"Gmail|09:45"}, COVER)
    assert [(m["state"], m["event_key"]) for m in third] == [("resolved", "Gmail|09:35")]
    assert more[0].key == "Gmail|09:45"


def test_back_to_the_first_settings_says_the_end_once() -> None:
    ended, stored = carry_over(_other("09:30"), _route(TOLD), [], {"Gmail|09:30"}, COVER)
    assert [m["state"] for m in ended] == ["resolved"]
    original = [*TOLD, message("Gmail|09:35", "resolved", 2, "12:35", {"Gmail": "11:25"},
                               "major")]
    again, _ = carry_over(original, _route([*TOLD, *ended]), stored, {"Gmail|09:35"}, COVER)
    assert again == []  # its resolved (seq 2) was a second one


def test_an_outage_withdrawn_then_found_again_opens_again_and_ends() -> None:
    cut = Coverage(COVER.products, COVER.start, pd.Timestamp(DAY + "10:30", tz="UTC"))
    withdrawn, _ = carry_over([], _route(TOLD), [], set(), cut)
    assert withdrawn[0]["title"].endswith("no longer detected")
    held = [*TOLD, *withdrawn]
    back, _ = carry_over(TOLD, _route(held), [], {"Gmail|09:35"}, cut)
    assert [(m["state"], m["at"]) for m in back] == [("open", "2026-01-16T10:30:00+00:00")]
    assert back[0]["title"].endswith("detected again")
    end = message("Gmail|09:35", "resolved", 2, "12:35", {"Gmail": "11:25"}, "major")
    # The real end's id is not the withdrawal's (it was: the end was taken as sent).
    assert end["message_id"] != withdrawn[0]["message_id"]
    later, _ = carry_over([*TOLD, end], _route([*held, *back]), [], {"Gmail|09:35"}, COVER)
    assert [m["state"] for m in later] == ["resolved"]


def test_a_continued_end_names_the_told_products_the_new_event_lacks() -> None:
    told = [message("Outlook|19:00", "open", 0, "19:10", {"Outlook": None, "Teams": None})]
    now = [message("Teams|19:05", "open", 0, "19:15", {"Teams": None}),
           message("Teams|19:05", "resolved", 1, "21:00", {"Teams": "20:30"})]
    out, _ = carry_over(now, _route(told), [], {"Teams|19:05"}, COVER)
    (end,) = out
    assert [p["product"] for p in end["products"]] == ["Teams", "Outlook"]
    assert "no longer detected" in end["products"][1]["why"]


def test_a_continued_event_ends_in_a_live_step_and_opens_again_once() -> None:
    # The live step started from the continuation's state (the told event over), so the
    # new event's end was dropped; each restart sent "detected again" anew.
    told = [TOLD[0], message("Gmail|09:35", "resolved", 1, "10:30", {"Gmail": "10:20"})]
    cut = Coverage(COVER.products, COVER.start, pd.Timestamp(DAY + "11:00", tz="UTC"))
    now = [message("Gmail|09:30", "open", 0, "09:40", {"Gmail": None})]
    opened, stored = carry_over(now, _route(told), [], {"Gmail|09:30"}, cut)
    assert [m["title"][-14:] for m in opened] == ["detected again"]
    held = [*told, *opened]
    assert carry_over(now, _route(held), stored, {"Gmail|09:30"}, cut)[0] == []
    end = message("Gmail|09:30", "resolved", 1, "12:00", {"Gmail": "11:40"})
    live, _ = carry_over([*now, end], _route(held), stored)  # a live step
    assert [(m["state"], m["event_key"]) for m in live] == [("resolved", "Gmail|09:35")]


def test_told_events_that_other_settings_join_end_as_part_of_the_joined_one() -> None:
    # They were withdrawn as "no longer detected" while the detection had them.
    told = [message("Outlook|19:00", "open", 0, "19:10", {"Outlook": None}, event_id="E0002"),
            message("Teams|19:05", "open", 0, "19:15", {"Teams": None}, event_id="E0003")]
    now = [message("Outlook|19:00", "open", 0, "19:10", {"Outlook": None}, event_id="E0002"),
           message("Outlook|19:00", "escalated", 1, "19:15", {"Outlook": None, "Teams": None},
                   event_id="E0002")]
    out, _ = carry_over(now, _route(told), [], {"Outlook|19:00"}, COVER)
    states = [(m["event_key"], m["state"], m["title"].split(": ")[-1]) for m in out]
    assert ("Teams|19:05", "resolved", "Teams, now part of E0002") in states
    assert any(m["state"] == "escalated" and m["event_key"] == "Outlook|19:00" for m in out)


# --- found by a second hunt of the continuity (each failed before) -----------------------
def test_a_withdrawn_event_found_again_under_its_own_key_opens_again_once() -> None:
    # It got the detection's own "escalated" (an event the route held as over), then a
    # second "resolved".
    cut = Coverage(COVER.products, COVER.start, pd.Timestamp(DAY + "10:30", tz="UTC"))
    withdrawn = [TOLD[0], message("Gmail|09:35", "resolved", 1, "09:55", {"Gmail": None})]
    back, _ = carry_over(TOLD, _route(withdrawn), [], {"Gmail|09:35"}, cut)
    assert [(m["state"], m["title"][-14:]) for m in back] == [("open", "detected again")]
    end = message("Gmail|09:35", "resolved", 2, "12:35", {"Gmail": "11:25"}, "major")
    later, _ = carry_over([*TOLD, end], _route([*withdrawn, *back]), [], {"Gmail|09:35"},
                          COVER)
    assert [m["state"] for m in later] == ["resolved"]


def test_a_new_event_continues_the_page_held_open_and_is_never_dated_before_it() -> None:
    # It continued a withdrawn event instead of the open one (a third page), and an open
    # again kept the new event's earlier time (ordered by time, the outage looked over).
    held = [TOLD[0], message("Gmail|09:35", "resolved", 1, "10:05", {"Gmail": None}),
            message("Gmail|09:45", "open", 0, "10:10", {"Gmail": None})]
    now = [message("Gmail|09:30", "open", 0, "10:00", {"Gmail": None}, "major")]
    out, new = carry_over(now, _route(held), [], {"Gmail|09:30"}, COVER)
    assert new[0].of == "Gmail|09:45"
    assert [(m["event_key"], m["state"]) for m in out] == [("Gmail|09:45", "escalated")]
    assert out[0]["at"] >= "2026-01-16T10:10"
    # The id the route knows an event by, whatever the new numbering.
    renumbered = [message("Gmail|09:45", "resolved", 1, "12:00", {"Gmail": "11:00"},
                          event_id="E0009")]
    told = _route([held[2]])
    ended, _ = carry_over(renumbered, told, [], {"Gmail|09:45"}, COVER)
    assert ended[0]["event_id"] == "E0001" and ended[0]["title"].startswith("E0001 ")


def test_a_restart_with_data_up_to_the_last_message_can_withdraw() -> None:
    # Data ending at the route's last message counted as not covering it: no withdrawal
    # then, none in the live steps after, and the page stayed open for ever.
    cut = Coverage(COVER.products, COVER.start, pd.Timestamp(DAY + "10:00", tz="UTC"))
    out, _ = carry_over([], _route(TOLD), [], set(), cut)
    assert [m["state"] for m in out] == ["resolved"]
