"""Reasons in words (spikes.detect.reasons): the peak against its baseline with a p-value
under the noise model, the event's other products, what people report against usual; as
of a time, from the data up to that time only."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from spikes.detect import reasons
from spikes.detect.pipeline import analyze
from spikes.detect.reasons import (
    breakdown_reason,
    event_reason,
    incident_reason,
    p_value_text,
)
from spikes.model import ReportData
from tests.conftest import diurnal_counts, with_outage

DAY = 288


def test_docstring_examples() -> None:
    assert doctest.testmod(reasons).failed == 0


@pytest.mark.parametrize(("surprise", "text"), [
    (300.0, "p < 1e-30"), (30.0, "p < 1e-30"), (math.inf, "p < 1e-30"),
    (12.0, "p = 1e-12"), (3.3, "p = 5e-4"), (2.52, "p = 0.003"), (1.0, "p = 0.1"),
    (0.0, "p = 1"),
])
def test_p_value_text(surprise: float, text: str) -> None:
    assert p_value_text(surprise) == text


def _breakdown(counts: pd.DataFrame, outage: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Reports of each bucket split by category and region: normally 30 % Login and 70 %
    App, all from Europe; inside `outage` (product -> rows) every extra report above 20
    is "Timeout" from US-East."""
    rows = []
    for product in counts.columns:
        y = counts[product].to_numpy()
        lo, hi = outage.get(product, (0, 0))
        extra = np.zeros(len(y))
        extra[lo:hi] = np.maximum(y[lo:hi] - 20, 0)
        base = y - extra
        for category, region, values in (("Login", "Europe", np.round(0.3 * base)),
                                         ("App", "Europe", base - np.round(0.3 * base)),
                                         ("Timeout", "US-East", extra)):
            keep = values > 0
            rows.append(pd.DataFrame({"timestamp": counts.index[keep], "product": product,
                                      "region": region, "category": category,
                                      "reports": values[keep]}))
    frame = pd.concat(rows, ignore_index=True)
    return frame.sort_values(["timestamp", "product"], kind="stable", ignore_index=True)


@pytest.fixture(scope="module")
def case() -> dict[str, object]:
    """Two products, 10 days; p0 breaks on day 8 at 14:00 (5x, 2 h) and p1 10 minutes
    later (4x, 1 h): one event."""
    counts = diurnal_counts(days=10, products=2, seed=4)
    s0, s1 = 8 * DAY + 14 * 12, 8 * DAY + 14 * 12 + 2
    counts = with_outage(counts, "p0", s0, 24, 5.0, seed=1)
    counts = with_outage(counts, "p1", s1, 12, 4.0, seed=2)
    breakdown = _breakdown(counts, {"p0": (s0, s0 + 24), "p1": (s1, s1 + 12)})
    data = ReportData(counts=counts, bucket=pd.Timedelta("5min"), breakdown=breakdown)
    return {"data": data, "analysis": analyze(data), "s0": s0}


def _event_incident(analysis, product: str) -> pd.Series:
    incidents = analysis.incidents
    shared = incidents[incidents.duplicated("event_id", keep=False)]
    return shared[shared["product"] == product].iloc[0]


def test_own_part_states_peak_baseline_weekday_and_exact_p_value(case) -> None:
    analysis = case["analysis"]
    data = case["data"]
    incident = _event_incident(analysis, "p0")
    peak = incident["peak"]
    y = float(data.counts.at[peak, "p0"])
    mu = float(analysis.baseline.expected.at[peak, "p0"])
    alpha = float(analysis.baseline.dispersion_path.at[peak, "p0"])
    # The p-value of the peak bucket under NB(mu, alpha), computed here with scipy.
    n = 1 / alpha
    p = stats.nbinom.sf(y - 1, n, n / (n + mu))
    assert incident["why"].startswith(
        f"p0: {y:,.0f} reports in 5 min against {mu:,.1f} usual on a {peak:%A} at "
        f"{peak:%H:%M} UTC ({y / mu:,.1f}x, {p_value_text(-math.log10(p))}); "
        f"started {incident['onset']:%H:%M}, raised {incident['alerted_at']:%H:%M}; ")
    assert incident["why"].endswith(".")


def test_event_part_names_the_others_in_onset_order(case) -> None:
    analysis = case["analysis"]
    first, second = (_event_incident(analysis, p) for p in ("p0", "p1"))
    event = first["event_id"]
    assert second["event_id"] == event
    gap = int((second["onset"] - first["onset"]) / pd.Timedelta(minutes=1))
    chance = float(analysis.events.set_index("event_id").at[event, "chance"])
    chance_text = "< 0.01 %" if chance < 1e-4 else f"{100 * chance:.2g} %"
    assert f"; with p1 within {gap} min (event {event}, chance {chance_text}); " \
        in first["why"]
    assert f"; with p0 (first) within {gap} min (event {event}, chance {chance_text}); " \
        in second["why"]
    assert event_reason(first, analysis.incidents.iloc[0:0]) == ""


def test_breakdown_part_top_problem_and_region_against_usual(case) -> None:
    incident = _event_incident(case["analysis"], "p0")
    why = incident["why"]
    # During the outage the extra reports are all Timeout from US-East; never before.
    data = case["data"]
    during = data.breakdown[(data.breakdown["product"] == "p0")
                            & (data.breakdown["timestamp"] >= incident["onset"])
                            & (data.breakdown["timestamp"] <= incident["end"])]
    share = during.groupby("category")["reports"].sum()
    top = share.idxmax()
    assert top == "Timeout"
    pct = f"{100 * share[top] / share.sum():.0f} %"
    regions = during.groupby("region")["reports"].sum()
    region_pct = f"{100 * regions['US-East'] / regions.sum():.0f} %"
    assert why.endswith(f"; top problem 'Timeout' {pct} against 0 % usually; "
                        f"US-East {region_pct} (usually 0 %).")


def test_breakdown_reason_by_hand_leaves_earlier_incidents_out_of_usual() -> None:
    t = pd.date_range("2026-01-10", periods=6, freq="h", tz="UTC")
    breakdown = pd.DataFrame({
        "timestamp": [t[0], t[0], t[1], t[1], t[4], t[4], t[5]],
        "product": "a",
        "region": ["EU", "EU", "US", "US", "US", "EU", "US"],
        "category": ["Login", "App", "App", "App", "App", "Login", "App"],
        "reports": [3.0, 1.0, 50.0, 50.0, 6.0, 2.0, 99.0],
    })
    incident = {"product": "a", "onset": t[4], "end": t[4]}
    earlier = pd.DataFrame({"product": ["a"], "onset": [t[1]], "end": [t[1]]})
    # Usual (before the onset, without the earlier incident): Login 3, App 1 -> App 25 %.
    assert breakdown_reason(breakdown, incident, pd.Timedelta("1h"), incidents=earlier) == (
        "top problem 'App' 75 % against 25 % usually; US 75 % (usually 0 %)")
    # With the earlier incident in the usual history, App is usual (101 of 104 reports),
    # and so is US (100 of 104): EU's 2 of 8 reports are within chance of its 4 %.
    assert breakdown_reason(breakdown, incident, pd.Timedelta("1h")) == (
        "top problem 'App' 75 % against 97 % usually; no region stands out (top: US 75 %, "
        "usually 96 %)")
    # As of the incident's onset nothing of it is known yet; the bucket at t[5] is not
    # part of it either way.
    assert breakdown_reason(breakdown, incident, pd.Timedelta("1h"), as_of=t[4]) == ""
    assert breakdown_reason(None, incident, pd.Timedelta("1h")) == ""


def test_whole_reason_of_each_incident_is_its_why(case) -> None:
    """The vectorised driver path (add_reasons + annotate_incidents) and the one-incident
    function write the same text."""
    analysis = case["analysis"]
    for _, incident in analysis.incidents.iterrows():
        assert incident_reason(case["data"], analysis.baseline, incident,
                               incidents=analysis.incidents,
                               events=analysis.events) == incident["why"]


def test_reason_as_of_the_alert_uses_no_later_data(case) -> None:
    data, analysis = case["data"], case["analysis"]
    incident = _event_incident(analysis, "p0")
    as_of = incident["alerted_at"]
    known = analysis.incidents[analysis.incidents["alerted_at"] <= as_of]
    text = incident_reason(data, analysis.baseline, incident, as_of, incidents=known,
                           events=analysis.events)
    # Everything after the alert changed: counts tripled, breakdown relabelled.
    later = data.counts.index >= as_of
    counts = data.counts.copy()
    counts.loc[later] = counts.loc[later] * 3 + 7
    breakdown = data.breakdown.copy()
    breakdown.loc[breakdown["timestamp"] >= as_of, ["category", "region"]] = ["X", "Y"]
    other = ReportData(counts=counts, bucket=data.bucket, breakdown=breakdown)
    again = analyze(other)
    assert incident_reason(other, again.baseline, incident, as_of, incidents=known,
                           events=analysis.events) == text
    # And it says what was known then: the peak so far, raised at the alert.
    seen = data.counts.loc[incident["onset"]:as_of - data.bucket, "p0"]
    assert text.startswith(f"p0: {seen.max():,.0f} reports in 5 min")
    assert f"raised {as_of:%H:%M}" in text
    assert text != incident["why"]
    # Before any bucket of it closed, only its start is known.
    assert incident_reason(data, analysis.baseline, incident, incident["onset"]) == \
        f"p0: started {incident['onset']:%H:%M} UTC."


def test_a_product_in_local_days_is_told_its_local_weekday_and_time() -> None:
    # A Tokyo product (utc_offset +9h: its baseline's days are Tokyo's) with an outage
    # on Sunday from 15:30 UTC, which is Monday from 00:30 in Tokyo: its baseline there is
    # a Monday's, and the reason says so, in Tokyo time with the UTC time beside, in the
    # incidents and in the alert. With UTC days it is a Sunday's, said in UTC.
    from spikes.alerts.timeline import analysis_messages
    from spikes.config import DetectionConfig
    from tests.test_baseline import workday_product

    start = 13 * DAY + 186  # 2026-01-18 (a Sunday) 15:30 UTC
    counts = with_outage(workday_product(1, 9, days=17), "app", start, 18, 6.0)
    assert counts.index[start] == pd.Timestamp("2026-01-18 15:30", tz="UTC")
    data = ReportData(counts=counts, bucket=pd.Timedelta("5min"))
    config = DetectionConfig(overrides={"app": {"utc_offset": "+9h"}})
    for settings, phrase in ((config, "usual on a Monday at {local:%H:%M} UTC+09:00 "
                                      "({peak:%H:%M} UTC)"),
                             (DetectionConfig(), "usual on a Sunday at {peak:%H:%M} UTC")):
        analysis = analyze(data, settings)
        incidents = analysis.incidents
        hit = incidents[(incidents["onset"] >= counts.index[start - 3])
                        & (incidents["onset"] <= counts.index[start + 17])]
        assert len(hit) == 1
        incident = hit.iloc[0]
        peak = incident["peak"]
        local = peak + pd.Timedelta(hours=9)
        assert peak.day_name() == "Sunday" and local.day_name() == "Monday"
        assert phrase.format(peak=peak, local=local) in incident["why"]
        # The alert says what was known when it was sent, with the same local days.
        told = [m for m in analysis_messages(analysis)
                if m["products"][0]["onset"] == incident["onset"].isoformat()]
        assert told and "usual on a " + ("Monday" if settings is config else "Sunday") \
            in told[0]["products"][0]["why"]
    assert "UTC+09:00" not in analyze(data).incidents["why"].str.cat()


def test_a_reason_as_of_a_time_finer_than_a_microsecond() -> None:
    # The index holds whole microseconds; a time of the alert a nanosecond on says what
    # the alert says (it used to fail to convert).
    counts = with_outage(diurnal_counts(days=10, products=1, seed=1), "p0", 9 * DAY + 100,
                         12, 6.0)
    data = ReportData(counts=counts, bucket=pd.Timedelta("5min"))
    analysis = analyze(data)
    incident = analysis.incidents.iloc[-1].to_dict()
    at = incident["alerted_at"]
    said = incident_reason(data, analysis.baseline, incident, as_of=at)
    assert incident_reason(data, analysis.baseline, incident,
                           as_of=at + pd.Timedelta(1)) == said
    assert "raised" in said


def test_the_weekday_is_that_of_the_baselines_day_where_midnight_falls_inside_a_bucket() -> None:
    # India (+5h30) at hourly buckets: its Monday begins with the bucket that holds its
    # midnight, Sunday 18:00-19:00 UTC (23:30-00:30 in India). The reason names the day
    # the baseline gives that bucket, and when it starts in local time.
    from spikes.config import DetectionConfig
    from spikes.detect.reasons import add_reasons, local_offsets

    rng = np.random.default_rng(0)
    index = pd.date_range("2026-01-01", periods=24 * 21, freq="1h", tz="UTC")
    counts = pd.DataFrame({"app": rng.poisson(50, len(index)).astype(float)}, index=index)
    config = DetectionConfig(overrides={"app": {"utc_offset": "+5h30min"}})
    analysis = analyze(ReportData(counts=counts, bucket=pd.Timedelta("1h")), config)
    offsets = local_offsets(analysis.scored.config, ["app"])
    said = {}
    for at in ("2026-01-18 18:00", "2026-01-18 19:00", "2026-01-18 17:00"):
        t = pd.Timestamp(at, tz="UTC")
        row = pd.DataFrame({"product": ["app"], "onset": [t], "peak": [t], "end": [t]})
        said[at] = add_reasons(row, analysis.data, analysis.baseline, offsets)["why"].iloc[0]
    assert "usual on a Monday at Sunday 23:30 UTC+05:30 (18:00 UTC)" in said["2026-01-18 18:00"]
    assert "usual on a Monday at 00:30 UTC+05:30 (19:00 UTC)" in said["2026-01-18 19:00"]
    assert "usual on a Sunday at 22:30 UTC+05:30 (17:00 UTC)" in said["2026-01-18 17:00"]


def test_durations_under_a_minute_are_seconds() -> None:
    # 10-second buckets read "290 reports in 0.166667 min" in every reason and alert.
    from spikes.detect.reasons import _duration

    assert [_duration(pd.Timedelta(x)) for x in ("10s", "90s", "5min", "1h", "90min")] == [
        "10 s", "90 s", "5 min", "1 hour", "90 min"]


def test_the_regions_named_are_those_whose_share_rose() -> None:
    # The top region alone was named: in a North American outage, "US-East 59 % (usually
    # 87 %)", a region that fell, while US-West went from 3 % to 27 % and Canada from
    # 1 % to 13 %.
    t = pd.date_range("2026-01-10", periods=2, freq="h", tz="UTC")
    usual = {"US-East": 870, "US-West": 30, "Canada": 10, "Europe": 90}
    during = {"US-East": 590, "US-West": 270, "Canada": 130, "Europe": 10}
    rows = [(t[0], r, n) for r, n in usual.items()] + [(t[1], r, n) for r, n in during.items()]
    breakdown = pd.DataFrame({"timestamp": [r[0] for r in rows], "product": "a",
                              "region": [r[1] for r in rows], "category": "App",
                              "reports": [float(r[2]) for r in rows]})
    incident = {"product": "a", "onset": t[1], "end": t[1]}
    assert breakdown_reason(breakdown, incident, pd.Timedelta("1h")).endswith(
        "; US-West 27 % (usually 3 %), Canada 13 % (usually 1 %)")
    # A share that rose by chance on few reports is not named: 3 of 20 against 1 %.
    few = breakdown.assign(reports=breakdown["reports"].where(
        breakdown["timestamp"] == t[0], [0.0, 0.0, 0.0, 0.0, 15.0, 1.0, 1.0, 3.0]))
    assert breakdown_reason(few, incident, pd.Timedelta("1h")).endswith(
        "; no region stands out (top: US-East 75 %, usually 87 %)")
