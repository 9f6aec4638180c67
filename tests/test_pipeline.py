"""Pipeline: short histories end to end, product status, product selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.config import DetectionConfig
from spikes.detect.pipeline import analyze, find_incidents, product_status, score_reports
from spikes.errors import SpikesInputError
from spikes.model import ReportData
from tests.conftest import as_data, diurnal_counts


def _poisson(days: float, seed: int = 0, columns: tuple[object, ...] = ("A",)) -> pd.DataFrame:
    """Seeded Poisson(10) counts in 5-minute buckets, one column per label."""
    index = pd.date_range("2026-01-05", periods=int(days * 288), freq="5min", tz="UTC")
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.poisson(10, len(index)).astype(float) for c in columns},
                        index=index)


#: Hindsight: short histories are the retrospective rolling method's (a live run raises
#: nothing in a product's first day, see test_live_warm_up_raises_nothing_in_the_first_day).
RETRO = DetectionConfig(mode="retrospective")


def test_short_history_finds_an_ongoing_outage_of_two_hours() -> None:
    # One day of history (rolling baseline), the last 2 h at five times the usual level.
    counts = _poisson(1)
    counts.iloc[-24:, 0] = 50.0
    analysis = analyze(as_data(counts), RETRO)
    assert len(analysis.incidents) == 1
    incident = analysis.incidents.iloc[0]
    assert bool(incident["ongoing"])
    assert counts.index[-26] <= incident["onset"] <= counts.index[-22]
    status = product_status(analysis).iloc[0]
    assert status["status"] == "outage" and status["incidents"] == 1


@pytest.mark.parametrize(("days", "start", "length"), [(0.5, 72, 12), (0.25, 24, 24),
                                                        (1.5, 200, 36)])
def test_short_history_finds_an_outage_mid_series(days: float, start: int,
                                                  length: int) -> None:
    # 1 h in 12 h, 2 h in 6 h, 3 h in 36 h, each at five times the usual level.
    counts = _poisson(days)
    counts.iloc[start : start + length, 0] = 50.0
    incidents = analyze(as_data(counts), RETRO).incidents
    assert len(incidents) == 1
    assert counts.index[start - 2] <= incidents["onset"].iloc[0] <= counts.index[start + 2]
    assert not bool(incidents["ongoing"].iloc[0])


@pytest.mark.parametrize("days", [0.25, 1, 1.9])
def test_quiet_short_history_has_no_incident(days: float) -> None:
    # Overdispersed counts with a day/night cycle and no outage, five products.
    counts = diurnal_counts(days=2, products=5, seed=11).iloc[: int(days * 288)]
    analysis = analyze(as_data(counts), RETRO)
    assert analysis.baseline.method == "rolling"
    assert analysis.incidents.empty


def test_status_of_products_with_non_string_labels() -> None:
    counts = _poisson(2, columns=(1, 2))
    counts.iloc[-12:, 0] = 50.0
    analysis = analyze(as_data(counts))
    assert analysis.incidents["product"].tolist() == ["1"]
    status = product_status(analysis).set_index("product")
    assert status.loc["1", "status"] == "outage"
    assert status.loc["1", "incidents"] == 1
    assert status.loc["1", "current_onset"] == analysis.incidents["onset"].iloc[0]
    assert status.loc["2", "status"] == "normal" and status.loc["2", "incidents"] == 0


def test_a_product_whose_data_stopped_has_no_data_not_normal() -> None:
    # Its feed stopped a day before the others': it read "normal", with the figures of
    # its own last bucket, as if they were of now.
    counts = _poisson(3, columns=("A", "B", "C"))
    counts.iloc[-288:, 1] = np.nan
    counts.iloc[-300:-288, 2] = 60.0  # C's data stop in the middle of an outage
    counts.iloc[-288:, 2] = np.nan
    analysis = analyze(as_data(counts))
    status = product_status(analysis).set_index("product")
    assert status.loc["A", "status"] == "normal"
    assert status.loc["B", "status"] == "no data"
    assert status.loc["B", "latest"] == counts.index[-289]
    assert status.loc["C", "status"] == "outage"  # an outage going on still comes first
    assert list(status.index) == ["C", "B", "A"]
    # A feed that stopped on an improbably high bucket is not "elevated" for good, nor
    # one that stopped after an outage "recovering" for good.
    counts = _poisson(3, columns=("A", "D", "E"))
    counts.iloc[-289, 1] = 40.0
    counts.iloc[-288:, 1] = np.nan
    counts.iloc[-330:-300, 2] = 60.0
    counts.iloc[-290:, 2] = np.nan
    status = product_status(analyze(as_data(counts))).set_index("product")
    assert status.loc["D", "status"] == "no data"
    assert status.loc["E", "status"] == "no data"


def test_find_incidents_of_chosen_products() -> None:
    counts = _poisson(2, columns=("A", "B", 3))
    counts.iloc[-12:, 0] = 50.0
    counts.iloc[-12:, 2] = 50.0
    scored = score_reports(as_data(counts))
    assert find_incidents(scored, products=["B"]).empty
    assert find_incidents(scored, products=[3])["product"].tolist() == ["3"]
    # A name given twice: its incidents once (were twice, as events E0001 and E0002).
    assert sorted(find_incidents(scored, products=["A", "A", 3])["product"]) == ["3", "A"]


def test_find_incidents_names_unknown_products() -> None:
    scored = score_reports(as_data(_poisson(0.5, columns=("A", "B"))))
    with pytest.raises(SpikesInputError, match=r"unknown products 'Nope', 'Gone'.*'A', 'B'"):
        find_incidents(scored, products=["A", "Nope", "Gone", "Nope"])
    with pytest.raises(SpikesInputError, match=r"unknown product 'a':"):
        find_incidents(scored, products=["a"])


def test_one_quiet_bucket_at_the_end_makes_an_outage_recovering_not_over() -> None:
    counts = _poisson(7)
    counts.iloc[-24:, 0] = 50.0
    going = product_status(analyze(as_data(counts))).iloc[0]
    assert going["status"] == "outage"
    counts.iloc[-1, 0] = 12.0  # the latest bucket back to the usual level
    analysis = analyze(as_data(counts))
    incident = analysis.incidents.iloc[-1]
    assert not bool(incident["ongoing"])
    status = product_status(analysis).iloc[0]
    assert status["status"] == "recovering"
    assert status["current_onset"] == incident["onset"] == going["current_onset"]
    counts.iloc[-13:, 0] = 10.0  # back to normal for an hour (merge_gap): over
    assert product_status(analyze(as_data(counts))).iloc[0]["status"] in ("normal",
                                                                          "elevated")


def test_live_first_day_raises_a_jump_by_the_cold_start_for_a_later_product_too() -> None:
    # A 2-hour outage at five times the usual level in the first day, one in the second:
    # the first is a jump over the cold start's trailing mean (cusum_ratio times it).
    counts = _poisson(2)
    counts.iloc[100:124, 0] = 50.0
    counts.iloc[450:474, 0] = 50.0
    live = analyze(as_data(counts)).incidents
    assert live["onset"].tolist() == [counts.index[100], counts.index[450]]
    assert (live["alerted_at"] > live["onset"]).all()
    # A product whose data start at 08:20 of the second day: the cold start of its first
    # day raises its jump at 14:00, as the next day judges the one at 10:00.
    late = _poisson(3)
    late.iloc[:388, 0] = np.nan
    late.iloc[456:480, 0] = 50.0
    late.iloc[696:720, 0] = 50.0
    assert analyze(as_data(late)).incidents["onset"].tolist() == [late.index[456],
                                                                   late.index[696]]
    hindsight = analyze(as_data(counts), RETRO).incidents
    assert len(hindsight) == 2 and hindsight["alerted_at"].isna().all()


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c.drop(c.index[100:172]), r"not a regular grid of 5min: .* follows"),
    (lambda c: c.iloc[:, []], "no product"),
    (lambda c: pd.concat([c, c], axis=1), "'A' has more than one column"),
    # 1 and "1" are one product by name (its outage was lost: products ['1', '1'])
    (lambda c: pd.concat([c.rename(columns={"A": 1}), c.rename(columns={"A": "1"})], axis=1),
     "'1' has more than one column of counts"),
    # Columns of several levels were a KeyError from inside the live walk.
    (lambda c: c.set_axis(pd.MultiIndex.from_tuples([("A", "eu")]), axis=1),
     r"columns have 2 levels; .* \['/'.join"),
    (lambda c: c.set_axis(pd.Index([("A", "eu")], tupleize_cols=False), axis=1),
     r"column \('A', 'eu'\): a tuple, not a product name; .* 'A/eu'"),
    (lambda c: c.tz_localize(None), "UTC DatetimeIndex .* not a naive one"),
    (lambda c: c.tz_convert("Europe/Paris"), r"not one in Europe/Paris \(index.tz_convert"),
])
def test_counts_that_are_not_a_regular_utc_grid_are_refused(change, message) -> None:
    counts = change(_poisson(2, columns=("A",)))
    with pytest.raises(SpikesInputError, match=message):
        analyze(as_data(counts))


@pytest.mark.parametrize("zone", ["Etc/UTC", "GMT", "Zulu"])
def test_counts_in_utc_under_another_name_are_utc(zone) -> None:
    # They were refused as "not one in Etc/UTC": the same instants as UTC.
    counts = _poisson(2, columns=("A",))
    counts.iloc[300:330, 0] *= 6
    data = as_data(counts.tz_convert(zone))
    assert str(data.counts.index.tz) == "UTC"
    incidents = analyze(data).incidents
    assert len(incidents) == 1
    pd.testing.assert_frame_equal(incidents, analyze(as_data(counts)).incidents)


def test_live_detection_needs_a_bucket_that_divides_a_day() -> None:
    index = pd.date_range("2026-01-05", periods=600, freq="7min", tz="UTC")
    counts = pd.DataFrame({"A": np.random.default_rng(1).poisson(5, 600).astype(float)},
                          index=index)
    data = ReportData(counts=counts, bucket=pd.Timedelta("7min"))
    with pytest.raises(SpikesInputError, match="must divide a day .* not 7min"):
        analyze(data)
    # The way out for every command (tune and explain have no --retrospective flag).
    with pytest.raises(SpikesInputError, match='or mode = "retrospective" in --config'):
        analyze(data)
    assert analyze(data, RETRO).baseline.method == "rolling"


def test_a_bucket_given_as_text_is_a_duration_and_none_is_refused() -> None:
    # ReportData(bucket="5min") failed deep inside analyze ("'>' not supported between
    # 'str' and 'Timedelta'"); None with pandas' NaTType error.
    counts = _poisson(2, columns=("A",))
    data = ReportData(counts=counts, bucket="5min")
    assert data.bucket == pd.Timedelta("5min")
    pd.testing.assert_frame_equal(analyze(data).incidents, analyze(as_data(counts)).incidents)
    with pytest.raises(SpikesInputError, match="bucket None is not a positive duration"):
        ReportData(counts=counts, bucket=None)


@pytest.mark.parametrize(("values", "message"), [
    (lambda n: pd.Series([1.0] * n, dtype=object).where(np.arange(n) != 5, pd.NA),
     "counts of 'A': not all numbers .*NAType.*NaN where a count is missing"),
    (lambda n: pd.Series([1.0] * n, dtype=object).where(np.arange(n) != 5, "n/a"),
     "counts of 'A': not all numbers .*'n/a'"),
    (lambda n: pd.Series([True] * n), "counts of 'A': bool values"),
    (lambda n: pd.Series(pd.to_timedelta([1] * n, unit="s")),
     "counts of 'A': timedelta64.* values"),
])
def test_counts_that_are_not_numbers_are_named(values, message) -> None:
    # pandas' float() errors from inside the baseline; true/false and durations were
    # taken as numbers (0/1, nanoseconds).
    counts = _poisson(2, columns=("A",))
    counts = pd.DataFrame({"A": values(len(counts)).to_numpy()}, index=counts.index)
    with pytest.raises(SpikesInputError, match=message):
        analyze(as_data(counts))


# --- found by a hunt of the library's API (each failed before) ---------------------------
def test_a_product_without_any_data_has_no_data() -> None:
    counts = diurnal_counts(days=3, products=2)
    counts.iloc[:, 1] = np.nan
    status = product_status(analyze(as_data(counts)))
    assert status.set_index("product")["status"].to_dict() == {"p0": "normal",
                                                               "p1": "no data"}


def test_arguments_of_the_wrong_type_are_named() -> None:
    from spikes.detect.pipeline import product_status as status_of

    data = as_data(diurnal_counts(days=2))
    for call, match in [
        (lambda: analyze(data.counts), "the data: a ReportData"),
        (lambda: analyze(data, {"min_ratio": 3}), "config: a DetectionConfig"),
        (lambda: analyze(data, calendar="calendar.csv"), "calendar: a Calendar"),
        (lambda: status_of(analyze(data).incidents), "needs an Analysis"),
    ]:
        with pytest.raises(SpikesInputError, match=match):
            call()


@pytest.mark.parametrize("fit", ["weekly_offsets", "fit_baseline", "fit_trailing_baseline"])
def test_lower_level_fits_refuse_an_index_in_another_zone(fit) -> None:
    # The days were read on the index's own clock: New York's weekend moved by 5 hours.
    from spikes.detect import baseline, days, trailing

    function = {"weekly_offsets": days.weekly_offsets, "fit_baseline": baseline.fit_baseline,
                "fit_trailing_baseline": trailing.fit_trailing_baseline}[fit]
    counts = diurnal_counts(days=8)
    function(counts, pd.Timedelta("5min"))
    with pytest.raises(SpikesInputError, match="not one in America/New_York"):
        function(counts.tz_convert("America/New_York"), pd.Timedelta("5min"))
