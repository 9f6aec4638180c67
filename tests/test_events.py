"""Events: incidents of several products that start together."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from spikes.detect.events import _chance, assign_events, summarize_events


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


def test_an_event_s_excess_has_the_precision_of_its_incidents() -> None:
    # The sum of one-decimal figures was written with float noise (29496.600000000002).
    incidents = _incidents([("Outlook", "2026-01-22T19:00"), ("Teams", "2026-01-22T19:05")])
    incidents["excess_reports"] = [1.1, 2.2]  # 3.3000000000000003 summed
    events = summarize_events(assign_events(incidents, "15min"))
    assert repr(float(events["excess_reports"].iloc[0])) == "3.3"


def test_window_splits_events() -> None:
    incidents = _incidents([("A", "2026-01-22T19:00"), ("B", "2026-01-22T19:20")])
    assert assign_events(incidents, "15min")["event_id"].tolist() == ["E0001", "E0002"]
    assert assign_events(incidents, "30min")["event_id"].tolist() == ["E0001", "E0001"]


def test_a_product_is_in_an_event_once() -> None:
    # A's second incident would chain into the event of its first: it starts a new one,
    # which the products after it join.
    incidents = _incidents([("A", "2026-01-22T19:00"), ("B", "2026-01-22T19:10"),
                            ("A", "2026-01-22T19:20"), ("C", "2026-01-22T19:25")])
    grouped = assign_events(incidents, "15min")
    assert grouped["event_id"].tolist() == ["E0001", "E0001", "E0002", "E0002"]
    events = summarize_events(grouped)
    assert events["products"].tolist() == ["A, B", "A, C"]
    assert events["n_products"].tolist() == [2, 2]


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
                             window="15min")
    ms, steam = quiet.iloc[0], quiet.iloc[1]
    # 5 incidents in 14 days over 12 products: another product's onset follows within
    # 15 min with probability q; a chain of 4 needs 3 such gaps after a start (1 - q).
    q = 1 - math.exp(-5 / (14 * 24 * 60) * 11 / 12 * 15)
    assert ms["chance"] == pytest.approx(1 - math.exp(-5 * (1 - q) * q**3), rel=1e-9)
    assert ms["chance"] < 1e-5
    assert steam["chance"] == 1.0
    # The same grouping among a thousand products with 4,000 incidents in those 14 days
    # (about 3 other onsets in any 15 minutes) is no evidence of a shared cause.
    busy = _chance(np.array([4.0, 300.0, 1.0]), 4000, pd.Timedelta(days=14), 1000, "15min")
    assert busy[0] > 0.99
    # ... unless it is far larger than chains of chance onsets get.
    assert busy[1] < 0.01
    assert busy[2] == 1.0
    # Without the data's span and size, no claim.
    assert np.isnan(summarize_events(grouped)["chance"].iloc[0])


def test_chance_matches_chains_of_random_onsets() -> None:
    """Onsets drawn as a Poisson process chain as often as ``chance`` says."""
    rng = np.random.default_rng(0)
    minutes, mean_count, size = 14 * 24 * 60, 800, 10
    runs, hits = 300, 0
    for _ in range(runs):
        count = rng.poisson(mean_count)
        onsets = pd.to_datetime("2026-01-01", utc=True) + pd.to_timedelta(
            np.sort(rng.uniform(0, minutes, count)), unit="min")
        frame = pd.DataFrame({"product": [f"p{i}" for i in range(count)], "onset": onsets})
        sizes = assign_events(frame, "15min")["event_id"].value_counts()
        hits += int((sizes >= size).any())
    predicted = _chance(np.array([float(size)]), mean_count, pd.Timedelta(days=14), 10**6,
                        "15min")[0]
    assert 0.2 < predicted < 0.8  # a discriminating case
    assert abs(hits / runs - predicted) < 0.1


def test_live_event_ids_follow_the_order_events_were_raised():
    at = lambda s: pd.Timestamp(f"2026-01-08 {s}", tz="UTC")  # noqa: E731
    live = pd.DataFrame({"product": ["A", "B"], "onset": [at("10:30"), at("10:00")],
                         "alerted_at": [at("10:35"), at("10:45")]})
    announced = assign_events(live[live["alerted_at"] <= at("10:40")], "15min")
    later = assign_events(live, "15min").set_index("product")
    # A was announced as E0001 at 10:35; B, raised later with an earlier onset, is E0002.
    assert announced["event_id"].tolist() == ["E0001"]
    assert later.loc["A", "event_id"] == "E0001" and later.loc["B", "event_id"] == "E0002"
    hindsight = assign_events(live.drop(columns="alerted_at"), "15min").set_index("product")
    assert hindsight.loc["B", "event_id"] == "E0001"  # retrospective: by onset


def test_no_events_have_the_types_of_events() -> None:
    from spikes.model import empty_incidents

    empty = summarize_events(empty_incidents())
    assert str(empty["onset"].dtype) == "datetime64[us, UTC]"
    assert empty["n_products"].dtype == np.int64 and empty["ongoing"].dtype == bool
