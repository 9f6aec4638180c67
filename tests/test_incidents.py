"""Incidents: onset, peak, end, gates, aftershock merging, severity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.config import DetectionConfig
from spikes.detect.detectors import Candidate
from spikes.detect.incidents import product_incidents, severity_of

INDEX = pd.date_range("2026-01-22", periods=60, freq="5min", tz="UTC")


def _series(spikes: dict[int, float], base: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    y = np.full(60, base)
    for pos, value in spikes.items():
        y[pos] = value
    return y, np.full(60, base)


def test_onset_peak_end_and_fields() -> None:
    y, mu = _series({20: 60, 21: 120, 22: 90, 23: 50, 24: 30})
    found = product_incidents("Outlook", y, mu, INDEX,
                              {"cusum": [Candidate(19, 20, 24, 50.0)]}, DetectionConfig())
    assert len(found) == 1
    row = found.iloc[0]
    assert row["onset"] == INDEX[20] and row["peak"] == INDEX[21] and row["end"] == INDEX[24]
    assert row["peak_reports"] == 120 and row["baseline_reports"] == 10
    assert row["excess_reports"] == pytest.approx(60 + 120 + 90 + 50 + 30 - 50)
    assert row["severity"] == "critical" and row["detectors"] == "cusum"
    assert not row["ongoing"]


def test_one_bucket_blip_is_not_an_incident() -> None:
    y, mu = _series({30: 200})
    found = product_incidents("p", y, mu, INDEX, {"tail": [Candidate(30, 30, 30, 80.0)]},
                              DetectionConfig())
    assert found.empty


def test_aftershock_joins_its_outage() -> None:
    y, mu = _series({10: 80, 11: 80, 12: 80, 20: 70})  # 40 min later: a recovery surge
    cands = {"tail": [Candidate(10, 10, 12, 40.0), Candidate(20, 20, 20, 30.0)]}
    found = product_incidents("p", y, mu, INDEX, cands, DetectionConfig(merge_gap="1h"))
    assert len(found) == 1 and found.iloc[0]["end"] == INDEX[20]
    apart = product_incidents("p", y, mu, INDEX, cands, DetectionConfig(merge_gap="10min"))
    assert len(apart) == 1 and apart.iloc[0]["end"] == INDEX[12]  # the lone blip is dropped


@pytest.mark.parametrize(
    ("ratio", "min_ratio", "kept"), [(1.5, 2.0, False), (2.5, 2.0, True), (2.5, 3.0, False)]
)
def test_min_ratio_gate(ratio: float, min_ratio: float, kept: bool) -> None:
    y, mu = _series({k: 100 * ratio for k in range(10, 30)}, base=100)
    found = product_incidents("p", y, mu, INDEX, {"cusum": [Candidate(10, 12, 29, 30.0)]},
                              DetectionConfig(min_ratio=min_ratio))
    assert (len(found) == 1) is kept


def test_min_excess_gate_and_overlapping_detectors() -> None:
    y, mu = _series({40: 2, 41: 2}, base=0.1)
    cands = {"tail": [Candidate(40, 40, 41, 5.0)], "cusum": [Candidate(39, 40, 41, 12.0)]}
    assert product_incidents("p", y, mu, INDEX, cands, DetectionConfig()).empty
    found = product_incidents("p", y, mu, INDEX, cands, DetectionConfig(min_excess_reports=2))
    assert len(found) == 1 and found.iloc[0]["detectors"] == "cusum+tail"


def test_ongoing_incident_at_last_bucket() -> None:
    y, mu = _series({57: 90, 58: 95, 59: 99})
    found = product_incidents("p", y, mu, INDEX, {"cusum": [Candidate(57, 57, 59, 40.0)]},
                              DetectionConfig())
    assert found.iloc[0]["ongoing"]


@pytest.mark.parametrize(("ratio", "name"), [(2.0, "minor"), (4.0, "major"), (25.0, "critical")])
def test_severity_levels(ratio: float, name: str) -> None:
    assert severity_of(ratio) == name


def test_level_shift_day_is_not_an_outage() -> None:
    # Hours at 1.5x before a stretch at 2.2x: the stretch is not 2x its local level.
    index = pd.date_range("2026-01-22", periods=120, freq="5min", tz="UTC")
    mu = np.full(120, 100.0)
    y = np.full(120, 150.0)
    y[90:100] = 220.0
    cand = {"cusum": [Candidate(90, 92, 99, 30.0)]}
    assert product_incidents("p", y, mu, index, cand, DetectionConfig()).empty
    calm = np.full(120, 100.0)
    calm[90:100] = 220.0
    assert len(product_incidents("p", calm, mu, index, cand, DetectionConfig())) == 1


def test_blip_with_noisy_neighbour_is_not_sustained() -> None:
    y, mu = _series({30: 12, 31: 1}, base=0.4)
    found = product_incidents("p", y, mu, INDEX, {"cusum": [Candidate(30, 30, 31, 20.0)]},
                              DetectionConfig())
    assert found.empty
    y2, _ = _series({30: 12, 31: 6, 32: 5}, base=0.4)
    found2 = product_incidents("p", y2, mu, INDEX, {"cusum": [Candidate(30, 30, 32, 20.0)]},
                               DetectionConfig())
    assert len(found2) == 1


def test_late_recovery_surge_does_not_move_the_onset() -> None:
    # A long outage whose recovery surge (bucket 52) is higher than its main peak: the
    # onset stays at the start of the rise, not inside the outage.
    index = pd.date_range("2026-01-23", periods=60, freq="5min", tz="UTC")
    mu = np.full(60, 10.0)
    y = np.full(60, 10.0)
    y[10:50] = 60.0
    y[40:46] = 25.0
    y[52] = 150.0
    cand = {"cusum": [Candidate(10, 11, 52, 300.0)], "tail": [Candidate(52, 52, 52, 40.0)]}
    found = product_incidents("p", y, mu, index, cand, DetectionConfig())
    assert len(found) == 1
    assert found.iloc[0]["onset"] == index[10] and found.iloc[0]["peak"] == index[52]


def test_blip_before_an_outage_does_not_move_its_onset() -> None:
    # A one-bucket blip 40 minutes before a sustained outage: not its start. The same
    # blip 40 minutes after it is an aftershock and extends it.
    y, mu = _series({10: 200, 18: 60, 19: 120, 20: 90, 21: 50})
    cand = {"tail": [Candidate(10, 10, 10, 80.0), Candidate(18, 18, 21, 60.0)]}
    found = product_incidents("p", y, mu, INDEX, cand, DetectionConfig())
    assert len(found) == 1
    assert found.iloc[0]["onset"] == INDEX[18] and found.iloc[0]["end"] == INDEX[21]
    after, _ = _series({18: 60, 19: 120, 20: 90, 21: 50, 29: 200})
    cand = {"tail": [Candidate(18, 18, 21, 60.0), Candidate(29, 29, 29, 80.0)]}
    found = product_incidents("p", after, mu, INDEX, cand, DetectionConfig())
    assert len(found) == 1
    assert found.iloc[0]["onset"] == INDEX[18] and found.iloc[0]["end"] == INDEX[29]


def test_below_five_minutes_blips_are_counted_in_five_minute_runs() -> None:
    # 1-minute buckets at 0.5 reports a minute: two 3-minute bursts 10 minutes apart in
    # one stretch. min_buckets=3 sets aside the two 5-minute runs with the most reports,
    # and nothing is left; min_buckets=2 sets aside one, and the other burst is left.
    # At 5-minute buckets the same reports are two one-bucket blips: min_buckets=3 sets
    # aside both buckets, min_buckets=2 one.
    index = pd.date_range("2026-01-22", periods=60, freq="1min", tz="UTC")
    mu = np.full(60, 0.5)
    y = np.zeros(60)
    y[[20, 21, 22, 33, 34, 35]] = 8.0
    cand = {"tail": [Candidate(20, 20, 35, 40.0)]}
    two_runs = product_incidents("p", y, mu, index, cand, DetectionConfig(min_buckets=3))
    assert two_runs.empty
    one_run = product_incidents("p", y, mu, index, cand, DetectionConfig(min_buckets=2))
    assert len(one_run) == 1 and one_run.iloc[0]["onset"] == index[20]
    coarse = pd.date_range("2026-01-22", periods=12, freq="5min", tz="UTC")
    y5, mu5 = np.zeros(12), np.full(12, 2.5)
    y5[[4, 6]] = 24.0
    cand5 = {"tail": [Candidate(4, 4, 6, 40.0)]}
    assert product_incidents("p", y5, mu5, coarse, cand5, DetectionConfig(min_buckets=3)).empty
    assert len(product_incidents("p", y5, mu5, coarse, cand5, DetectionConfig())) == 1


def test_a_run_that_no_longer_fits_sets_aside_the_largest_buckets_left() -> None:
    # One-minute buckets at 0.5 reports a minute, then 12 minutes of 9s, 1s and 30s;
    # min_buckets=3: the first 5-minute run set aside is the middle one (the 30s), and
    # no whole run fits on either side of it; the largest 5 buckets left (the 9s, and
    # the largest of the 1s) go instead, and the two 1s left are no sustained core.
    # Judged on all that is left after the first run, the four 9s would make one (as
    # with min_buckets=2).
    index = pd.date_range("2026-01-22", periods=42, freq="1min", tz="UTC")
    mu = np.full(42, 0.5)
    y = np.tile([0.0, 1.0], 21)
    y[30:] = [9.0, 1.0, 9.0, 1.0, 30.0, 30.0, 30.0, 30.0, 30.0, 9.0, 1.0, 9.0]
    cand = {"tail": [Candidate(30, 30, 41, 40.0)]}
    assert product_incidents("p", y, mu, index, cand, DetectionConfig(min_buckets=3)).empty
    found = product_incidents("p", y, mu, index, cand, DetectionConfig())
    assert list(found["onset"]) == [index[30]]


def test_hindsight_reports_the_latest_start_and_judges_from_the_earliest(monkeypatch) -> None:
    # As a live run does: the onset an incident reports is the latest start of its rise
    # (onset_bounds), the tests run from the earliest (with the hours before it as
    # context), and min_duration counts from the onset reported.
    from spikes.detect import incidents

    y = np.full(200, 20.0)
    y[100:104] = [41.0, 42.0, 43.0, 44.0]  # a 2.1x lead-in, then 3x for 100 minutes
    y[104:124] = 80.0
    mu = np.full(200, 20.0)
    index = pd.date_range("2026-01-05", periods=200, freq="5min", tz="UTC")
    cands = {"tail": [Candidate(100, 104, 123, 30.0)]}

    def found(settings: DetectionConfig | None = None) -> list[tuple[int, int]]:
        table = product_incidents("p", y, mu, index, cands, settings or DetectionConfig(),
                                  alpha=0.05)
        return [(index.get_loc(o), index.get_loc(e))
                for o, e in zip(table["onset"], table["end"], strict=True)]

    assert found() == [(100, 123)]
    real = incidents.onset_bounds
    monkeypatch.setattr(incidents, "onset_bounds", lambda *a, **k: (
        None if (b := real(*a, **k)) is None else (b[0], b[0] + 10)))
    assert found() == [(110, 123)]
    # 14 buckets from the onset reported: an incident of 70 minutes, not 120.
    assert found(DetectionConfig(min_duration="70min")) == [(110, 123)]
    assert found(DetectionConfig(min_duration="75min")) == []
