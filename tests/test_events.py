"""Events: incidents of several products that start together."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

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


def test_chance_of_a_grouping_depends_on_how_busy_the_data_is() -> None:
    chain = _incidents([
        ("Outlook", "2026-01-22T19:00"),
        ("Exchange Online", "2026-01-22T19:05"),
        ("Microsoft Store", "2026-01-22T19:05"),
        ("Defender", "2026-01-22T19:10"),
        ("Steam", "2026-01-23T08:00"),
    ])
    grouped = assign_events(chain, "15min")
    quiet = summarize_events(grouped, span=pd.Timedelta(days=14), products=12,
                             resolution=pd.Timedelta("5min"))
    ms, steam = quiet.iloc[0], quiet.iloc[1]
    # 3 more onsets within 15 min at 5 incidents per 14 days over 11 other products:
    rate = 5 / (14 * 24 * 60) * 11 / 12
    lam = rate * 15
    expected = 1 - sum(np.exp(-lam) * lam**k / math.factorial(k) for k in range(3))
    assert ms["chance"] == pytest.approx(expected, rel=1e-9)
    assert ms["chance"] < 1e-6
    assert steam["chance"] == 1.0
    # The same grouping among a thousand products with 4,000 incidents in those 14 days
    # (about 3 other onsets in any 15 minutes) is no evidence of a shared cause.
    assert _chance_with(grouped, incidents_total=4000) > 0.5
    # Without the data's span and size, no claim.
    assert np.isnan(summarize_events(grouped)["chance"].iloc[0])


def _chance_with(grouped: pd.DataFrame, incidents_total: int) -> float:
    """Chance of the first event when the data held `incidents_total` incidents."""
    from spikes.events import _chance

    events = summarize_events(grouped)
    spread = pd.Series([pd.Timedelta("10min")] * len(events), index=events.index)
    return float(_chance(events, spread, incidents_total, pd.Timedelta(days=14), 1000,
                         pd.Timedelta("5min"))[0])
