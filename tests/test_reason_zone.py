"""The ``why`` of incidents printed in the zone a person reads (``--display-tz``): its
times (the peak's time of day and weekday, when the incident started and was raised) are
given there with the zone's abbreviation, as every other printed time; the texts written
to files stay UTC. Before, the summary printed the why in UTC beside a table in the
display zone ("... on a Sunday at 13:00 UTC ...; started 13:00" under "15:00 CEST")."""

from __future__ import annotations

import doctest

import pandas as pd
import pytest

from spikes.config import DetectionConfig
from spikes.detect import reason_zone
from spikes.detect.pipeline import analyze
from spikes.detect.reason_zone import reason_in_zone
from spikes.detect.reasons import add_reasons, local_offsets
from spikes.model import ReportData
from tests.conftest import diurnal_counts, with_outage

DAY = 288
#: Berlin's clocks go forward on 2026-03-29 at 01:00 UTC (02:00 CET is 03:00 CEST).
CHANGE = pd.Timestamp("2026-03-29 01:00", tz="UTC")


def test_docstring_examples() -> None:
    assert doctest.testmod(reason_zone).failed == 0


@pytest.fixture(scope="module")
def spring() -> dict[str, object]:
    """Ten days of counts to 2026-03-30, an outage over Berlin's change to summer time."""
    counts = diurnal_counts(days=10, products=1, seed=5, start="2026-03-20")
    start = int(counts.index.get_indexer([CHANGE - pd.Timedelta("10min")])[0])
    counts = with_outage(counts, "p0", start, 12, 6.0)
    data = ReportData(counts=counts, bucket=pd.Timedelta("5min"))
    return {"data": data, "analysis": analyze(data)}


def _why(case: dict[str, object], onset: str, peak: str, alerted: str | None,
         config: DetectionConfig | None = None) -> tuple[str, dict[str, object]]:
    """The why add_reasons writes for an incident of p0 (times UTC), and its row."""
    analysis = case["analysis"]
    row = {"product": "p0", "onset": pd.Timestamp(onset, tz="UTC"),
           "peak": pd.Timestamp(peak, tz="UTC"), "end": pd.Timestamp(peak, tz="UTC"),
           "alerted_at": pd.Timestamp(alerted, tz="UTC") if alerted else pd.NaT}
    offsets = local_offsets(config, ["p0"]) if config else None
    why = add_reasons(pd.DataFrame([row]), case["data"], analysis.baseline,
                      offsets)["why"].iloc[0] + "."
    return why, row


def test_the_peak_onset_and_alert_are_given_in_the_zone(spring) -> None:
    why, row = _why(spring, "2026-03-29 00:50", "2026-03-29 01:10", "2026-03-29 01:20")
    assert " usual on a Sunday at 01:10 UTC (" in why
    assert why.endswith("; started 00:50, raised 01:20.")
    local = reason_in_zone(why, row, "Europe/Berlin")
    # The peak with its zone; the start before the clocks changed says its own (CET),
    # and the alert after it its own again (CEST, the peak's).
    assert " usual on a Sunday at 03:10 CEST (" in local
    assert local.endswith("; started 01:50 CET, raised 03:20 CEST.")
    assert local.replace(" at 03:10 CEST (", " at 01:10 UTC (").replace(
        "started 01:50 CET, raised 03:20 CEST", "started 00:50, raised 01:20") == why
    assert reason_in_zone(why, row, "UTC") == why


def test_another_day_is_dated_and_the_weekday_is_the_zones(spring) -> None:
    # 23:55 UTC on Saturday is Sunday 12:55 in Kiritimati (UTC+14:00): its Sunday, and
    # the onset the day before there, dated.
    why, row = _why(spring, "2026-03-28 09:00", "2026-03-28 23:55", None)
    assert " usual on a Saturday at 23:55 UTC (" in why and why.endswith("started 09:00.")
    local = reason_in_zone(why, row, "Pacific/Kiritimati")
    assert " usual on a Sunday at 13:55 UTC+14:00 (" in local
    assert local.endswith("; started 2026-03-28 23:00.")


def test_a_product_in_local_days_keeps_its_own_zone(spring) -> None:
    config = DetectionConfig(overrides={"p0": {"utc_offset": "+9h"}})
    scored = analyze(spring["data"], config)
    case = {"data": spring["data"], "analysis": scored}
    why, row = _why(case, "2026-03-29 00:50", "2026-03-29 01:10", "2026-03-29 01:20",
                    scored.config)
    assert " usual on a Sunday at 10:10 UTC+09:00 (01:10 UTC) (" in why
    local = reason_in_zone(why, row, "Europe/Berlin")
    assert " usual on a Sunday at 10:10 UTC+09:00 (03:10 CEST) (" in local


def test_a_reason_before_any_bucket_of_the_incident_closed() -> None:
    row = {"product": "p0", "onset": pd.Timestamp("2026-01-22 19:00", tz="UTC"),
           "peak": pd.NaT, "alerted_at": pd.NaT}
    assert reason_in_zone("p0: started 19:00 UTC.", row, "Europe/Berlin") == \
        "p0: started 20:00 CET."


def test_a_text_it_cannot_place_is_not_rewritten() -> None:
    # Edited by hand, or of another incident: None, the caller says it is in UTC.
    row = {"product": "p0", "onset": pd.Timestamp("2026-01-22 19:00", tz="UTC"),
           "peak": pd.Timestamp("2026-01-22 19:05", tz="UTC"), "alerted_at": pd.NaT}
    assert reason_in_zone("p0: something at 19:05 UTC.", row, "Europe/Berlin") is None
    assert reason_in_zone("p1: started 19:00 UTC.", row, "Europe/Berlin") is None
    assert reason_in_zone("", row, "Europe/Berlin") == ""


def _case(start: str, outage: str) -> dict[str, object]:
    """Ten days of counts of p0 from `start`, an outage from 10 minutes before `outage`."""
    counts = diurnal_counts(days=10, products=1, seed=5, start=start)
    at = pd.Timestamp(outage, tz="UTC") - pd.Timedelta("10min")
    counts = with_outage(counts, "p0", int(counts.index.get_indexer([at])[0]), 12, 6.0)
    data = ReportData(counts=counts, bucket=pd.Timedelta("5min"))
    return {"data": data, "analysis": analyze(data)}


# The alert after a start the clocks changed between: labelled whenever its zone or day
# is not the one of the time before it. Before, "raised" took no label where its zone was
# the peak's, and read as in the started time's zone, or on its day.


def test_the_alert_after_the_clocks_go_back_says_its_zone() -> None:
    # Berlin's clocks go back on 2026-10-25 at 01:00 UTC (03:00 CEST is 02:00 CET):
    # "started 02:50 CEST, raised 02:20" read as raised before it started.
    why, row = _why(_case("2026-10-18", "2026-10-25 01:10"), "2026-10-25 00:50",
                    "2026-10-25 01:10", "2026-10-25 01:20")
    assert why.endswith("; started 00:50, raised 01:20.")
    local = reason_in_zone(why, row, "Europe/Berlin")
    assert " usual on a Sunday at 02:10 CET (" in local
    assert local.endswith("; started 02:50 CEST, raised 02:20 CET.")


def test_the_alert_after_a_half_hour_change_says_its_zone() -> None:
    # Lord Howe's clocks go back half an hour on 2026-04-04 at 15:00 UTC (+11:00 to
    # +10:30): "started 01:50 UTC+11:00, raised 01:50" read as raised as it started,
    # though 30 minutes later.
    why, row = _why(_case("2026-03-28", "2026-04-04 15:10"), "2026-04-04 14:50",
                    "2026-04-04 15:10", "2026-04-04 15:20")
    local = reason_in_zone(why, row, "Australia/Lord_Howe")
    assert " usual on a Sunday at 01:40 UTC+10:30 (" in local
    assert local.endswith("; started 01:50 UTC+11:00, raised 01:50 UTC+10:30.")


def test_the_alert_after_a_start_on_the_day_before_is_dated(spring) -> None:
    # 18:20 UTC is 23:50 in Kolkata (+05:30), the peak and alert after midnight there:
    # "started 2026-03-25 23:50, raised 00:15" read as raised on the 25th.
    why, row = _why(spring, "2026-03-25 18:20", "2026-03-25 18:40", "2026-03-25 18:45")
    assert why.endswith("; started 18:20, raised 18:45.")
    for zone, label in (("Asia/Kolkata", "IST"), ("+05:30", "UTC+05:30")):
        local = reason_in_zone(why, row, zone)
        assert f" usual on a Thursday at 00:10 {label} (" in local
        assert local.endswith("; started 2026-03-25 23:50, raised 2026-03-26 00:15.")


def test_an_alert_the_text_does_not_give_is_not_added(spring) -> None:
    # alerted_at is known but the text gives no "raised" (written as known before the
    # alert): its start is given in the zone, nothing more (a guard, not a change).
    why, row = _why(spring, "2026-03-25 18:20", "2026-03-25 18:40", None)
    row["alerted_at"] = pd.Timestamp("2026-03-25 18:45", tz="UTC")
    assert why.endswith("; started 18:20.")
    assert reason_in_zone(why, row, "Europe/Berlin").endswith("; started 19:20.")


def test_a_peak_on_the_first_day_of_data_is_placed(spring) -> None:
    # The cold start's phrasing ("in the hours before (its first day of data) at"):
    # reason_zone finds the times as reasons writes them (now by its public helpers),
    # so a rewording there shows here as None (a guard, not a change).
    why, row = _why(spring, "2026-03-20 10:00", "2026-03-20 10:10", "2026-03-20 10:15")
    assert " (its first day of data) at 10:10 UTC (" in why
    local = reason_in_zone(why, row, "Asia/Kolkata")
    assert " (its first day of data) at 15:40 IST (" in local
    assert local.endswith("; started 15:30, raised 15:45.")
