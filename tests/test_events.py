"""Events: incidents of several products that start together."""

from __future__ import annotations

import pandas as pd

from spikes.events import assign_events, summarize_events


def _incidents(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product": [p for p, _ in rows],
            "onset": pd.to_datetime([t for _, t in rows], utc=True),
            "end": pd.to_datetime([t for _, t in rows], utc=True) + pd.Timedelta("2h"),
            "excess_reports": 100.0,
            "severity": ["major"] * len(rows),
            "ongoing": False,
        }
    )


def test_chain_reaction_is_one_event_first_mover_first() -> None:
    incidents = _incidents([
        ("Microsoft Store", "2026-01-22T19:10"),
        ("Outlook", "2026-01-22T19:00"),
        ("Exchange Online", "2026-01-22T19:05"),
        ("Microsoft Purview", "2026-01-22T19:20"),  # 10 min after the previous: chained
        ("Steam", "2026-01-22T21:00"),
    ])
    grouped = assign_events(incidents, "15min")
    events = summarize_events(grouped)
    assert len(events) == 2
    ms = events.iloc[0]
    assert ms["first_product"] == "Outlook" and ms["n_products"] == 4
    assert ms["products"] == "Outlook, Exchange Online, Microsoft Store, Microsoft Purview"
    assert events.iloc[1]["products"] == "Steam"


def test_window_splits_events() -> None:
    incidents = _incidents([("A", "2026-01-22T19:00"), ("B", "2026-01-22T19:20")])
    assert assign_events(incidents, "15min")["event_id"].tolist() == ["E0001", "E0002"]
    assert assign_events(incidents, "30min")["event_id"].tolist() == ["E0001", "E0001"]


def test_no_incidents() -> None:
    empty = _incidents([])
    assert summarize_events(assign_events(empty, "15min")).empty
