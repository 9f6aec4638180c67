"""What `spikes analyze`'s summary says of now: the 3 a.m. question "what is down?"."""

from __future__ import annotations

import pandas as pd

from spikes.cli import summary_table
from spikes.detect.pipeline import analyze, product_status
from spikes.engine.run import detect
from tests.conftest import as_data, diurnal_counts, with_outage

DAY = 288  # 5-minute buckets a day


def _counts() -> pd.DataFrame:
    """Nine days of four products: p0 at 25x in the last bucket only (no incident can be
    raised from one bucket), p1's feed stopped 6 hours before the end, p2 in an outage
    going on at the end, p3 quiet."""
    counts = diurnal_counts(days=9, level=20.0, seed=7, products=4)
    counts.iloc[-1, 0] = counts.iloc[-1, 0] * 25 + 20
    counts.iloc[-72:, 1] = float("nan")
    return with_outage(counts, "p2", len(counts) - 24, 24, 8.0)


def test_the_summary_names_what_is_wrong_now_and_an_ongoing_end_is_not_a_time() -> None:
    # The summary listed only the outages going on: a product at 25x in the newest
    # bucket and one whose feed had stopped hours before were not named (the dashboard
    # and the service call them "elevated" and "no data"); and the ongoing outage's
    # `end` (its latest elevated bucket) read as "ended then".
    counts = _counts()
    analysis = analyze(as_data(counts))
    text = summary_table(analysis)
    lines = text.splitlines()
    last = counts.index[-1]
    stop = counts.index[-73]
    now = [line for line in lines if line.startswith("now ")]
    p0 = product_status(analysis).set_index("product").loc["p0"]
    assert now == [
        f"now (the data's last bucket, {last:%Y-%m-%d %H:%M} UTC): elevated, no incident "
        f"(yet): p0 ({p0.latest_reports:,.0f} reports against {p0.latest_baseline:,.1f} "
        f"usual); no data: p1 (its data end at {stop:%Y-%m-%d %H:%M} UTC)"]
    assert lines.index(now[0]) == 1 + [i for i, line in enumerate(lines) if
                                       line.startswith("outage ongoing at the end")][0]
    going = analysis.incidents[analysis.incidents["ongoing"]]
    assert list(going["product"]) == ["p2"]
    row = [line.split() for line in lines if line.split()[:1] == ["E0001"]]
    # Each time with its zone: onset, alerted_at, then the end, "ongoing".
    assert len(row) == 1 and row[0][1] == "p2" and row[0][4] == "UTC" and row[0][8] == "ongoing"
    assert not any(line.startswith("now ") for line in
                   summary_table(analyze(as_data(counts[["p3"]]))).splitlines())


def test_a_run_of_the_engine_says_the_same_of_now() -> None:
    # The command line analyses files through spikes.engine, whose result held no
    # baseline: the statuses come from each partition's latest buckets.
    data = as_data(_counts())
    whole = product_status(analyze(data))
    split = detect(data, jobs=2)
    assert len(split.latest) == 4
    pd.testing.assert_frame_equal(product_status(split), whole)
    now = [line for line in summary_table(split).splitlines() if line.startswith("now ")]
    assert now == [line for line in summary_table(analyze(data)).splitlines()
                   if line.startswith("now ")]
