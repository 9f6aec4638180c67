"""Why a window raised an incident or not: spikes.detect.explain, spikes.evaluation.misses
and ``spikes explain``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from spikes.cli import main
from spikes.config import DetectionConfig
from spikes.detect.causal import live_incident_rows
from spikes.detect.explain import CAUSES, explain_window
from spikes.detect.incidents import _Stretch
from spikes.detect.judging import FAILURES, JudgedStretch, failed_test
from spikes.detect.pipeline import LiveInputs, analyze
from spikes.errors import SpikesInputError
from spikes.evaluation.misses import MISS_COLUMNS, explain_misses
from tests.conftest import as_data, diurnal_counts, sim_data, with_outage

DAY = 288  # 5-minute buckets a day


@pytest.fixture(scope="module")
def incident_data() -> pd.DataFrame:
    """Ten quiet days of one product, an 8x outage of an hour on day 6 and a one-bucket
    20x blip on day 8."""
    counts = with_outage(diurnal_counts(days=10, level=20.0, seed=4), "p0",
                         6 * DAY + 150, 12, 8.0)
    blip = 8 * DAY + 160
    counts.iloc[blip, 0] = counts.iloc[blip, 0] * 20 + 5
    return counts


@pytest.fixture(scope="module")
def incident_analysis(incident_data):
    return analyze(as_data(incident_data))


def _at(counts: pd.DataFrame, position: int) -> pd.Timestamp:
    return counts.index[position]


def test_an_outage_that_was_raised_is_explained_as_raised_with_its_alert(incident_data,
                                                                        incident_analysis):
    start, end = _at(incident_data, 6 * DAY + 145), _at(incident_data, 6 * DAY + 170)
    found = explain_window(incident_analysis, "p0", start, end)
    assert found.cause == "raised"
    assert len(found.incidents) == 1
    assert found.incidents["alerted_at"].iloc[0] >= found.incidents["onset"].iloc[0]
    assert found.stretches["verdict"].tolist() == ["raised"]
    assert "raised at" in found.summary()


def test_a_one_bucket_blip_is_explained_by_the_sustained_test(incident_data,
                                                                incident_analysis):
    start, end = _at(incident_data, 8 * DAY + 155), _at(incident_data, 8 * DAY + 170)
    found = explain_window(incident_analysis, "p0", start, end)
    assert found.cause == "blip"
    dropped = found.stretches[found.stretches["verdict"] == "dropped"]
    assert len(dropped) >= 1 and set(dropped["failure"]) == {"blip"}
    assert FAILURES["blip"] in found.summary()


def test_a_quiet_window_has_no_alarm_and_every_peak_under_its_configured_threshold(
        incident_data, incident_analysis):
    start, end = _at(incident_data, 4 * DAY + 100), _at(incident_data, 4 * DAY + 130)
    found = explain_window(incident_analysis, "p0", start, end)
    assert found.cause == "no alarm"
    assert set(found.detectors["detector"]) == {"tail", "cusum", "steep"}
    assert (found.detectors["peak"] < found.detectors["configured"]).all()
    assert found.stretches.empty and found.incidents.empty


def test_a_window_without_data_says_so(incident_data):
    # A feed gap (count rows missing for hours) was explained as "no alarm: the counts
    # did not carry the evidence", with peaks of 0 at buckets that held nothing.
    counts = incident_data.copy()
    counts.iloc[4 * DAY : 4 * DAY + 200, 0] = np.nan
    analysis = analyze(as_data(counts))
    found = explain_window(analysis, "p0", _at(counts, 4 * DAY + 100), _at(counts, 4 * DAY + 130))
    assert found.cause == "no data"
    assert found.summary().splitlines()[1:] == [
        "  no data: the product has no count in the window (rows missing from the input are "
        "no data, not zero: nothing to judge there)"]
    partly = explain_window(analysis, "p0", _at(counts, 4 * DAY + 190),
                            _at(counts, 4 * DAY + 230))
    assert partly.cause != "no data"  # some buckets hold data: judged as such


def test_a_window_on_the_first_day_is_the_warm_up(incident_data, incident_analysis):
    found = explain_window(incident_analysis, "p0", _at(incident_data, 100),
                           _at(incident_data, 120))
    assert found.cause == "warm-up"


def test_a_mild_rise_is_dropped_for_its_ratio():
    quiet = diurnal_counts(days=8, level=200.0, seed=2, dispersion=0.005)
    counts = with_outage(quiet, "p0", 5 * DAY + 150, 24, 1.5)
    analysis = analyze(as_data(counts))
    found = explain_window(analysis, "p0", _at(counts, 5 * DAY + 145),
                           _at(counts, 5 * DAY + 180))
    # A 1.5x rise of two hours at 200 reports a bucket and little noise alarms (it is
    # very improbable) but stays under min_ratio = 2.
    assert found.cause == "ratio"
    assert (found.detectors["peak"] >= found.detectors["threshold"]).any()


def test_the_failed_test_is_the_first_that_fails():
    y = np.array([10.0, 10, 10, 30, 30, 30, 10])
    mu = np.full(7, 10.0)
    config = DetectionConfig()
    assert failed_test(_Stretch(3, 5), y, mu, 1.0, 0.0, config) is None
    assert failed_test(_Stretch(3, 5), y, mu, 2.0, 0.0, config) == "ratio"
    assert failed_test(_Stretch(3, 3), y, mu, 1.0, 0.0, config) == "blip"
    small = dataclasses.replace(config, min_excess_reports=100.0)
    assert failed_test(_Stretch(3, 5), y, mu, 1.0, 0.0, small) == "small"


def test_tracing_a_walk_changes_no_incident(incident_data, incident_analysis):
    inputs = LiveInputs(incident_analysis.scored).walk_arguments("p0", DetectionConfig())
    trace: list[JudgedStretch] = []
    traced = live_incident_rows(**inputs, trace=trace)
    assert traced == live_incident_rows(**inputs)
    raised = [t for t in trace if t.verdict == "raised"]
    assert len(raised) == len(traced)
    assert all(t.failure is None for t in raised)
    assert all(t.failure in FAILURES for t in trace if t.verdict != "raised")


def test_explain_rejects_what_it_cannot_explain(incident_data, incident_analysis):
    with pytest.raises(SpikesInputError, match="no product 'nope'"):
        explain_window(incident_analysis, "nope", incident_data.index[0],
                       incident_data.index[10])
    with pytest.raises(SpikesInputError, match="outside the data"):
        explain_window(incident_analysis, "p0", "2030-01-01", "2030-01-02")
    with pytest.raises(SpikesInputError, match="ends .* before it starts"):
        explain_window(incident_analysis, "p0", incident_data.index[20],
                       incident_data.index[10])
    with pytest.raises(SpikesInputError, match="is not a time"):
        explain_window(incident_analysis, "p0", "soon", incident_data.index[10])
    retro = analyze(as_data(incident_data), DetectionConfig(mode="retrospective"))
    with pytest.raises(SpikesInputError, match="retrospective"):
        explain_window(retro, "p0", incident_data.index[0], incident_data.index[10])


def test_every_missed_label_of_a_simulation_gets_a_cause_consistent_with_its_figures(sim):
    from spikes.evaluation.evaluate import evaluate

    analysis = analyze(sim_data(sim))
    labels = sim.labels[["product", "onset", "end"]]
    missed = explain_misses(analysis, labels)
    fn = evaluate(analysis.incidents, labels).fn
    assert list(missed.columns) == MISS_COLUMNS
    assert len(missed) == fn > 0
    assert set(missed["cause"]) <= (set(CAUSES) - {"raised"}) | {"onset outside the window"}
    for row in missed.itertuples(index=False):
        found = explain_window(analysis, row.product, row.onset - pd.Timedelta("10min"),
                               max(row.end, row.onset + pd.Timedelta("30min")))
        if row.cause == "no alarm":
            assert (found.detectors["peak"] < found.detectors["configured"]).all()
        if row.cause in FAILURES and row.cause != "warm-up":
            assert (found.stretches["failure"] == row.cause).any()


def test_a_label_of_a_product_not_in_the_data_is_said_so(incident_data, incident_analysis):
    labels = pd.DataFrame({"product": ["p9"], "onset": [incident_data.index[2000]],
                           "end": [incident_data.index[2010]]})
    missed = explain_misses(incident_analysis, labels)
    assert missed["cause"].tolist() == ["not in the data"]
    assert "no product 'p9'" in missed["reason"].iloc[0]


def test_a_label_running_past_the_end_of_the_data_says_what_it_holds(incident_data,
                                                                      incident_analysis):
    # A label of 3 hours from the data's last 10 minutes was "no alarm ... the counts did
    # not carry the evidence", without a word that 2 of its 38 buckets were in the data.
    end = incident_data.index[-1] + pd.Timedelta("5min")
    labels = pd.DataFrame({"product": ["p0"], "onset": [end - pd.Timedelta("10min")],
                           "end": [end + pd.Timedelta("3h")]})
    missed = explain_misses(incident_analysis, labels)
    reason = missed["reason"].iloc[0]
    assert reason.startswith(f"the data end at {end:%Y-%m-%d %H:%M} UTC, 3h before the "
                             "window's end (the data hold 20min of its 200min): ")
    # Its parts were run together ("... evidence) tail: peak ..."): one per detector.
    assert "(the counts did not carry the evidence); tail: peak " in reason
    assert "; cusum: peak " in reason
    whole = pd.DataFrame({"product": ["p0"], "onset": [incident_data.index[2000]],
                          "end": [incident_data.index[2010]]})
    assert not explain_misses(incident_analysis, whole)["reason"].iloc[0].startswith("the data")


def test_a_stretch_open_at_the_end_of_the_data_is_pending_not_a_blip(incident_data) -> None:
    # A 25x bucket that is the data's last was "blip: its core did not last": to an
    # on-call, dismissed, when it had had no chance to last and may be raised next.
    counts = incident_data.iloc[: 9 * DAY].copy()
    counts.iloc[-1, 0] = counts.iloc[-1, 0] * 25 + 20
    analysis = analyze(as_data(counts))
    last = counts.index[-1]
    found = explain_window(analysis, "p0", last - pd.Timedelta("30min"), last)
    assert found.cause == "pending"
    assert found.reason.startswith("1 stretch(es) pending at the end of the data, not "
                                   "raised so far (")
    assert set(found.stretches["verdict"]) == {"pending"}
    # Once the data go on, the same stretch is judged: here a blip, dropped.
    more = analyze(as_data(incident_data.iloc[: 9 * DAY + 12].assign(
        p0=lambda f: f["p0"].where(f.index != last, counts.iloc[-1, 0]))))
    later = explain_window(more, "p0", last - pd.Timedelta("30min"), last)
    assert later.cause == "blip"


@pytest.fixture(scope="module")
def report_file(tmp_path_factory, incident_data):
    path = tmp_path_factory.mktemp("explain") / "reports.csv"
    long = incident_data.rename_axis("timestamp").reset_index().melt(
        id_vars="timestamp", var_name="product", value_name="reports")
    long["timestamp"] = long["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    long["reports"] = long["reports"].astype(int)
    long.to_csv(path, index=False)
    return path


def test_the_command_explains_a_window(report_file, incident_data, capsys):
    start = _at(incident_data, 8 * DAY + 155).strftime("%Y-%m-%dT%H:%M")
    end = _at(incident_data, 8 * DAY + 170).strftime("%Y-%m-%dT%H:%M")
    assert main(["explain", str(report_file), "--window", "p0", start, end]) == 0
    out = capsys.readouterr().out
    assert out.startswith("p0, ") and ": blip" in out.splitlines()[0]


def test_the_command_reads_the_window_in_tz_and_date_order(report_file, incident_data, capsys):
    # --window ignored --tz (a Berlin 15:00 read as 15:00 UTC) and --date-order (09/01/2026
    # read as 1 September: "outside the data").
    blip = _at(incident_data, 8 * DAY + 155)
    local = blip.tz_convert("Europe/Berlin")
    end = local + pd.Timedelta("75min")
    assert main(["explain", str(report_file), "--tz", "Europe/Berlin", "--window", "p0",
                 local.strftime("%Y-%m-%dT%H:%M"), end.strftime("%Y-%m-%dT%H:%M")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"p0, {blip:%Y-%m-%d %H:%M} UTC to ") and ": blip" in first
    assert main(["explain", str(report_file), "--date-order", "dmy", "--window", "p0",
                 blip.strftime("%d/%m/%Y %H:%M"), end.strftime("%d/%m/%Y %H:%M")]) == 0
    assert capsys.readouterr().out.startswith(f"p0, {blip:%Y-%m-%d %H:%M} UTC to ")
    # ISO text keeps its order under --date-order dmy (pandas read 2026-01-11 as 1 Nov).
    assert main(["explain", str(report_file), "--date-order", "dmy", "--window", "p0",
                 blip.strftime("%Y-%m-%dT%H:%M"), end.strftime("%Y-%m-%dT%H:%M")]) == 0
    assert capsys.readouterr().out.startswith(f"p0, {blip:%Y-%m-%d %H:%M} UTC to ")


def test_the_command_explains_missed_labels_and_writes_them(report_file, incident_data,
                                                           tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    found, quiet = _at(incident_data, 6 * DAY + 150), _at(incident_data, 4 * DAY + 100)
    labels.write_text("product,onset,end\n"
                      f"p0,{found.isoformat()},{(found + pd.Timedelta('1h')).isoformat()}\n"
                      f"p0,{quiet.isoformat()},{(quiet + pd.Timedelta('1h')).isoformat()}\n")
    out_file = tmp_path / "missed.csv"
    code = main(["explain", str(report_file), "--labels", str(labels), "-o", str(out_file)])
    assert code == 0
    out = capsys.readouterr().out
    assert "1 of 2 labelled outages missed" in out and "by cause: no alarm 1" in out
    written = pd.read_csv(out_file)
    assert written["cause"].tolist() == ["no alarm"]


def test_the_command_says_what_is_wrong_with_its_arguments(report_file, capsys):
    assert main(["explain", str(report_file), "--window", "p0", "noon", "later"]) == 2
    assert "start 'noon' is not a time" in capsys.readouterr().err
    assert main(["explain", str(report_file), "--window", "p0", "2026-01-06",
                 "2026-01-07", "-o", "x.csv"]) == 2
    assert "--output needs --labels" in capsys.readouterr().err


def test_a_day_given_as_the_end_is_the_whole_day(incident_data, incident_analysis):
    # "--window p0 2026-01-11 2026-01-11": the day of the outage, not its first bucket
    # (which answered "no alarm" on the day of a raised outage).
    day = _at(incident_data, 6 * DAY + 145).strftime("%Y-%m-%d")
    whole = explain_window(incident_analysis, "p0", day, day)
    assert whole.cause == "raised"
    assert whole.end == _at(incident_data, 7 * DAY - 1)
    midnight = explain_window(incident_analysis, "p0", day, f"{day}T00:00")
    assert midnight.end == midnight.start and midnight.cause != "raised"


def test_a_cusum_draining_after_an_outage_is_not_read_as_an_alarm(incident_data,
                                                                  incident_analysis):
    # After the outage of day 6 the CUSUM's level stays far above its threshold for
    # hours while it drains: a window there was explained as "calibration" (a detector
    # reached the settings' threshold but the calibrated one was higher), with "cusum:
    # peak 729, threshold 11.1 in force". What alarms is the CUSUM's rise from its trough.
    start, end = _at(incident_data, 6 * DAY + 175), _at(incident_data, 6 * DAY + 200)
    level = analyze(as_data(incident_data)).scored.scores["cusum"]["p0"]
    assert level.iloc[6 * DAY + 175] > 20  # still draining from the outage
    found = explain_window(incident_analysis, "p0", start, end)
    cusum = found.detectors.set_index("detector").loc["cusum"]
    assert cusum["peak"] < cusum["threshold"]
    assert found.cause == "no alarm"


def test_the_last_bucket_is_in_the_data_and_a_raised_stretch_has_the_incidents_time(
        incident_data, incident_analysis):
    last = incident_data.index[-1]
    found = explain_window(incident_analysis, "p0", last + pd.Timedelta(minutes=1),
                           last + pd.Timedelta(minutes=4))  # was "outside the data"
    assert found.start == last
    start, end = _at(incident_data, 6 * DAY + 145), _at(incident_data, 6 * DAY + 170)
    found = explain_window(incident_analysis, "p0", start, end)
    alerted = found.incidents["alerted_at"].iloc[0]
    text = found.summary()
    # One time for the raise: the end of the bucket that raised it (was its start).
    assert f"raised at {alerted:%Y-%m-%d %H:%M}" in text.splitlines()[1]
    assert f") raised at {alerted:%Y-%m-%d %H:%M}" in text


def test_library_explain_and_tune_count_label_onsets_from_their_bucket() -> None:
    # Labels written to the minute (14:20) against hourly data: the library's
    # explain_misses called 16 of 18 missed and tune scored F1 0.083, where the command
    # line (which moved the onsets) found all of them.
    from spikes import simulate
    from spikes.evaluation.tune.search import tune
    from spikes.io.buckets import load_reports

    sim = simulate(products=6, days=21, seed=11, bucket="1h")
    data = load_reports(sim.reports)
    labels = sim.labels[["product", "onset", "end"]].copy()
    late = labels.assign(onset=labels["onset"] + pd.Timedelta("20min"),
                         end=labels["end"] + pd.Timedelta("20min"))
    analysis = analyze(data)
    assert len(explain_misses(analysis, late)) == len(explain_misses(analysis, labels)) < 3
    result = tune(data, late, budget=2)
    assert f"{len(late)} label onset(s) lie inside a 1h bucket" in result.notes[0]
    assert result.decision.reason == tune(data, labels, budget=2).decision.reason


def test_a_window_with_a_raised_and_a_dropped_stretch_is_summarised(incident_data,
                                                                    incident_analysis):
    # pandas 3 reads the failures (None for the raised one, a test's name for the other)
    # as a column of text, None as NaN: summary() raised "KeyError: nan".
    found = explain_window(incident_analysis, "p0", _at(incident_data, 6 * DAY + 145),
                           _at(incident_data, 8 * DAY + 170))
    assert set(found.stretches["verdict"]) >= {"raised", "dropped"}
    lines = found.summary().splitlines()
    raised = [line for line in lines if line.startswith("  stretch") and " raised at " in line]
    dropped = [line for line in lines if line.startswith("  stretch") and " dropped " in line]
    assert raised and all(": " not in line.split(" raised at ")[1] for line in raised)
    assert dropped and all(line.endswith(f": {FAILURES['blip']}") for line in dropped)


def test_the_cause_of_dropped_stretches_skips_those_without_a_failure(incident_data,
                                                                      incident_analysis):
    # The same column of failures, None read as NaN: min() over [nan, "blip"] asked
    # CAUSES.index(nan), a ValueError.
    from spikes.detect.explain import _cause

    stretches = pd.DataFrame({"verdict": ["dropped", "dropped"], "failure": [None, "blip"]})
    assert stretches["failure"].isna().iloc[0]
    peaks = pd.DataFrame({"reached": [False], "reached_configured": [False]})
    arguments = {"y": np.ones(10)}
    cause, reason = _cause(pd.DataFrame(), stretches, peaks, 0, 9, arguments,
                           pd.Timedelta("5min"))
    assert (cause, reason) == ("blip", f"2 stretch(es) dropped: {FAILURES['blip']}")
