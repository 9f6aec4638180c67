"""Tests of spikes.io.buckets: bucket inference, the grid, zeros vs NaN, summing, guards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.io.buckets import infer_bucket, load_reports, parse_bucket, to_buckets
from spikes.model import RawReports


def raw_table(rows: list[tuple], kind: str = "counts", region: bool = False, **extra) -> RawReports:
    """RawReports from (timestamp, product, reports[, region, category]) tuples."""
    columns = ["timestamp", "product", "reports", "region", "category"]
    frame = pd.DataFrame([r + (None,) * (5 - len(r)) for r in rows], columns=columns)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.as_unit("us")
    frame["reports"] = frame["reports"].astype(float)
    for col in ("product", "region", "category"):
        frame[col] = frame[col].astype("category")
    return RawReports(table=frame, kind=kind, **extra)  # type: ignore[arg-type]


def values(series: pd.Series) -> list[float | None]:
    """Series values with NaN as None, for exact comparisons."""
    return [None if np.isnan(v) else float(v) for v in series]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------- bucket sizes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1min", pd.Timedelta(minutes=1)),
        ("5min", pd.Timedelta(minutes=5)),
        (" 15min ", pd.Timedelta(minutes=15)),
        ("1h", pd.Timedelta(hours=1)),
        ("90s", pd.Timedelta(seconds=90)),
        (pd.Timedelta(minutes=10), pd.Timedelta(minutes=10)),
    ],
)
def test_parse_bucket(text, expected):
    assert parse_bucket(text) == expected


@pytest.mark.parametrize("text", ["5 minutes", "1M", "fortnight", "0min", "-5min", "10ms", ""])
def test_invalid_bucket(text):
    with pytest.raises(SpikesInputError) as err:
        parse_bucket(text)
    assert repr(text) in str(err.value) and "5min" in str(err.value)


def _series(start: str, periods: int, freq: str, product: str = "A") -> list[tuple]:
    stamps = pd.date_range(start, periods=periods, freq=freq, tz="UTC")
    return [(t, product, 1.0) for t in stamps]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(_series("2024-01-01", 50, "5min"), "5min", id="regular"),
        pytest.param(
            _series("2024-01-01", 30, "1h") + _series("2024-01-01", 30, "1h", "B"),
            "1h",
            id="two-products",
        ),
        pytest.param(
            _series("2014-04-01 00:02:53", 40, "5min")
            + _series("2014-04-01 00:00:00", 40, "5min", "B"),
            "5min",
            id="nab-odd-offset-and-shifted-products",
        ),
        pytest.param(
            [r for i, r in enumerate(_series("2024-01-01", 100, "5min")) if i % 7 not in (3, 4)],
            "5min",
            id="gaps",
        ),
        pytest.param(
            _series("2024-01-01", 40, "1min")
            + [(pd.Timestamp("2024-01-01 00:00:30", tz="UTC"), "A", 1.0)] * 3,
            "1min",
            id="irregular-and-duplicate-rows",
        ),
    ],
)
def test_infer_bucket_for_counts(rows, expected):
    assert infer_bucket(raw_table(rows)) == pd.Timedelta(expected)


def test_infer_bucket_for_events_is_five_minutes():
    rows = [(pd.Timestamp("2024-01-01 00:00:01", tz="UTC"), "A", 1.0)]
    assert infer_bucket(raw_table(rows, kind="events")) == pd.Timedelta(minutes=5)


def test_infer_bucket_needs_two_timestamps_per_product():
    rows = [
        (pd.Timestamp("2024-01-01 00:00", tz="UTC"), "A", 1.0),
        (pd.Timestamp("2024-01-01 00:05", tz="UTC"), "B", 1.0),
    ]
    with pytest.raises(SpikesInputError, match="--bucket"):
        infer_bucket(raw_table(rows))


def test_infer_bucket_is_whole_seconds():
    rows = _series("2024-01-01", 20, "300100ms")
    assert infer_bucket(raw_table(rows)) == pd.Timedelta(seconds=300)


# ------------------------------------------------------------------------------ grid


def test_events_grid_has_real_zeros_and_counts_grid_has_nan():
    stamps = ["2024-01-01 00:01", "2024-01-01 00:02", "2024-01-01 00:21", "2024-01-01 00:07"]
    rows = [(pd.Timestamp(t, tz="UTC"), p, 1.0) for t, p in zip(stamps, "AABB", strict=True)]
    events = to_buckets(raw_table(rows, kind="events"), "5min")
    counts = to_buckets(raw_table(rows, kind="counts"), "5min")
    index = pd.date_range("2024-01-01 00:00", "2024-01-01 00:20", freq="5min", tz="UTC")
    assert events.counts.index.equals(index)
    assert events.counts.index.freq == pd.Timedelta(minutes=5)
    assert str(events.counts.index.dtype) == "datetime64[us, UTC]"
    assert events.counts["A"].tolist() == [2.0, 0.0, 0.0, 0.0, 0.0]
    # B's data begin at its first report: before it, no data, not a zero (a product
    # first seen later got a history of silence, and its first reports were "critical").
    assert values(events.counts["B"]) == [None, 1.0, 0.0, 0.0, 1.0]
    assert values(counts.counts["A"]) == [2.0, None, None, None, None]
    assert values(counts.counts["B"]) == [None, 1.0, None, None, 1.0]
    assert (events.counts.dtypes == np.float64).all()


def test_columns_sorted_plain_str_and_metadata_carried_over():
    rows = [(pd.Timestamp("2024-01-01", tz="UTC"), p, 1.0) for p in ["b", "A", "a", "B"]]
    rejected = pd.DataFrame(
        {"file": ["f.csv"], "line": [3], "column": ["x"], "value": ["y"], "reason": ["z"]}
    )
    raw = raw_table(rows, kind="events", rejected=rejected, rows_read=5, sources=("f.csv",))
    data = to_buckets(raw, "1h")
    assert data.products == ["A", "B", "a", "b"]
    assert all(type(c) is str for c in data.counts.columns)
    assert data.kind == "events" and data.rows_read == 5 and data.sources == ("f.csv",)
    assert data.rejected is rejected and data.bucket == pd.Timedelta(hours=1)
    assert data.breakdown is None


def test_floor_is_anchored_at_the_epoch_and_nab_spacing_keeps_one_value_per_bucket():
    stamps = pd.date_range("2014-04-01 21:42:53", periods=6, freq="5min", tz="UTC")
    rows = [(t, "nab", float(i)) for i, t in enumerate(stamps)]
    data = to_buckets(raw_table(rows))
    assert data.bucket == pd.Timedelta(minutes=5)
    assert data.counts.index[0] == pd.Timestamp("2014-04-01 21:40", tz="UTC")
    assert data.counts["nab"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_hourly_buckets_start_on_the_hour():
    rows = [(pd.Timestamp("2024-01-01 10:59:59", tz="UTC"), "A", 1.0)]
    data = to_buckets(raw_table(rows, kind="events"), "1h")
    assert data.counts.index.tolist() == [pd.Timestamp("2024-01-01 10:00", tz="UTC")]


def test_rows_in_one_bucket_are_summed_and_breakdown_kept():
    t0 = pd.Timestamp("2024-01-01 00:00", tz="UTC")
    rows = [
        (t0, "A", 2.0, "US", "login"),
        (t0, "A", 3.0, "EU", "login"),
        (t0 + pd.Timedelta(minutes=1), "A", 1.5, "US", None),
        (t0, "A", 2.0, "US", "login"),  # duplicated row: summed too
        (t0 + pd.Timedelta(minutes=5), "B", 4.0, None, None),
    ]
    data = to_buckets(raw_table(rows), "5min")
    assert values(data.counts["A"]) == [8.5, None]
    assert values(data.counts["B"]) == [None, 4.0]
    breakdown = data.breakdown
    assert list(breakdown.columns) == ["timestamp", "product", "region", "category", "reports"]
    assert breakdown.values.tolist() == [
        [t0, "A", "EU", "login", 3.0],
        [t0, "A", "US", "login", 4.0],
        [t0, "A", "US", "unknown", 1.5],
        [t0 + pd.Timedelta(minutes=5), "B", "unknown", "unknown", 4.0],
    ]
    assert breakdown["reports"].sum() == data.counts.sum().sum()


@pytest.mark.parametrize("kind", ["events", "counts"])
def test_conservation_of_totals(kind):
    rng = np.random.default_rng(3)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    offsets = pd.to_timedelta(rng.integers(0, 3 * 86400, 5000), unit="s")
    products = rng.choice(["A", "B", "C"], 5000)
    weights = np.ones(5000) if kind == "events" else rng.random(5000) * 10
    rows = list(zip(start + offsets, products, weights, strict=True))
    raw = raw_table(rows, kind=kind)
    data = to_buckets(raw, "15min")
    assert data.counts.sum().sum() == pytest.approx(raw.table["reports"].sum())
    assert len(data.counts) == (data.counts.index[-1] - data.counts.index[0]) / data.bucket + 1


def test_absurd_grid_is_refused_with_the_culprit_timestamps():
    rows = [
        (pd.Timestamp("1900-01-01 00:00", tz="UTC"), "A", 1.0),
        (pd.Timestamp("2026-03-01 12:00", tz="UTC"), "A", 1.0),
    ] + [(pd.Timestamp("2026-03-01 12:00", tz="UTC"), p, 1.0) for p in "BCD"]
    with pytest.raises(SpikesInputError) as err:
        to_buckets(raw_table(rows, kind="events"), "1min")
    message = str(err.value)
    assert "1900-01-01" in message and "2026-03-01 12:00" in message and "--bucket" in message


def test_load_reports_end_to_end(tmp_path):
    text = (
        "created_at,city,state,zip_code,service,note\n"
        "2024-03-10 01:58:00,Seattle,WA,98101,Outlook,x\n"
        "2024-03-10 01:59:00,Austin,TX,73301,Outlook,x\n"
        "2024-03-10 03:01:00,Boston,MA,02101,Outlook,x\n"
        "nope,Boston,MA,02101,Outlook,x\n"
    )
    data = load_reports(
        write(tmp_path, "o.csv", text),
        bucket="1h",
        timestamp_col="created_at",
        product="Outlook",
        tz="America/New_York",
    )
    # 01:58 and 01:59 EST = 06:xx UTC; 03:01 EDT = 07:01 UTC
    assert data.counts["Outlook"].tolist() == [2.0, 1.0]
    assert data.counts.index[0] == pd.Timestamp("2024-03-10 06:00", tz="UTC")
    assert data.rows_read == 4 and data.rejected["line"].tolist() == [5]
    assert data.kind == "events"  # --product keeps the region column (state), F11:
    assert sorted(data.breakdown["region"].unique()) == ["MA", "TX", "WA"]


def test_load_reports_infers_counts_bucket_from_wide_file(tmp_path):
    text = "timestamp,A,B\n2024-01-01 00:00,1,2\n2024-01-01 00:15,,3\n2024-01-01 00:30,4,\n"
    data = load_reports(write(tmp_path, "w.csv", text))
    assert data.bucket == pd.Timedelta(minutes=15)
    assert values(data.counts["A"]) == [1.0, None, 4.0]
    assert values(data.counts["B"]) == [2.0, 3.0, None]


@pytest.mark.parametrize(("step", "expected"), [("1D", "1D"), ("1h", "1h"), ("7min", "5min")])
def test_events_with_coarse_timestamps_are_counted_at_their_resolution(step, expected):
    stamps = pd.date_range("2024-01-01", periods=40, freq=step, tz="UTC")
    rows = [(t, "A", 1.0) for t in stamps for _ in range(3)]
    assert infer_bucket(raw_table(rows, kind="events")) == pd.Timedelta(expected)
    few = [(t, "A", 1.0) for t in stamps[:5]]  # too few timestamps to tell
    assert infer_bucket(raw_table(few, kind="events")) == pd.Timedelta(minutes=5)
    many = [(t, "A", 1.0) for t in stamps[:2] for _ in range(60)]  # but many reports
    assert infer_bucket(raw_table(many, kind="events")) == pd.Timedelta(expected)


@pytest.mark.parametrize("streaming", [False, True])
def test_repeated_rows_of_count_data_are_counted(tmp_path, streaming):
    # Two overlapping exports of one series: the overlap is summed, and said.
    first = [f"2024-01-01T00:{m:02d}:00Z,{m}" for m in range(0, 30, 5)]
    second = [f"2024-01-01T00:{m:02d}:00Z,{m}" for m in range(15, 45, 5)]
    path = tmp_path / "scrapes.csv"
    path.write_text("timestamp,reports\n" + "\n".join(first + second) + "\n")
    data = load_reports(path, streaming=streaming, block_bytes=60)
    assert data.repeated == 3
    assert data.counts["scrapes"].tolist() == [0, 5, 10, 30, 40, 50, 30, 35, 40]
    assert load_reports(path, bucket="5min", streaming=streaming, block_bytes=60).repeated == 3
    assert load_reports(path, bucket="15min").repeated == 0  # coarser: rows add up
    split = tmp_path / "regions.csv"
    split.write_text("timestamp,product,region,reports\n2024-01-01T00:00Z,A,EU,1\n"
                     "2024-01-01T00:00Z,A,US,2\n2024-01-01T00:05Z,A,EU,1\n")
    assert load_reports(split, streaming=streaming).repeated == 0


def _events_at(tmp_path: Path, stamps: list[str], base: int, tz: str, cycle: int = 2):
    """Report events of product A: ``base + i % cycle`` reports at the i-th of `stamps`
    (local times in `tz`), read with the bucket inferred."""
    rows = [f"{t},A" for i, t in enumerate(stamps) for _ in range(base + i % cycle)]
    path = tmp_path / "events.csv"
    path.write_text("date,product\n" + "\n".join(rows) + "\n")
    return load_reports(path, tz=tz)


def test_report_events_with_dates_only_are_counted_per_day_in_any_zone(tmp_path):
    # With --tz Europe/Berlin each date was local midnight, 23:00 UTC the day before: the
    # bucket inferred was an hour (every day's reports piled into one hour: false
    # outages), and a day's bucket was the day before.
    days = pd.date_range("2026-03-16", periods=12, freq="D")
    data = _events_at(tmp_path, [f"{d:%Y-%m-%d}" for d in days], 3, "Europe/Berlin")
    assert data.bucket == pd.Timedelta(days=1)
    assert data.counts.index[0] == pd.Timestamp("2026-03-16", tz="UTC")
    assert data.counts["A"].tolist() == [3.0 + i % 2 for i in range(12)]


def _spaced(tmp_path: Path, name: str, fine: int, coarse: list[pd.Timestamp],
            per_row: float) -> list[str]:
    """The spacing notes of `fine` 5-minute rows of 4 reports from 2024-01-01, then rows
    at the `coarse` times holding `per_row` reports."""
    times = list(pd.date_range("2024-01-01", periods=fine, freq="5min", tz="UTC"))
    rows = [f"{t.isoformat()},4" for t in times] + [f"{t.isoformat()},{per_row}"
                                                    for t in coarse]
    path = tmp_path / f"{name}.csv"
    path.write_text("timestamp,reports\n" + "\n".join(rows) + "\n")
    return [n for n in load_reports(path, bucket="5min").notes if "apart from" in n]


def test_a_change_of_spacing_inside_count_data_is_said(tmp_path):
    # A day of 5-minute rows, then a day of 15-minute ones (three buckets' reports each):
    # on the 5-minute grid two buckets of three are missing and each row holds three
    # buckets' reports (false outages), unsaid before.
    day = pd.date_range("2024-01-02", periods=96, freq="15min", tz="UTC")
    assert _spaced(tmp_path, "change", 288, list(day), 12.0) == [
        "'change' has rows 15min apart from 2024-01-02 00:00 UTC on (5min before): on a "
        "grid of 5min, the buckets between its rows are missing and each row holds several "
        "buckets' reports (read as outages); split the file, or pass --bucket at the "
        "coarser spacing"]
    # A coarse row missing near the end: still from where the spacing changed.
    assert "from 2024-01-02 00:00 UTC" in _spaced(tmp_path, "gap", 288,
                                                 list(day[:90]) + list(day[91:]), 12.0)[0]
    # Rows of one bucket with every other one missing: missing data, not a new spacing.
    half = pd.date_range("2024-01-02", periods=144, freq="10min", tz="UTC")
    assert _spaced(tmp_path, "missing", 288, list(half), 4.0) == []
    assert _spaced(tmp_path, "steady", 288, [], 4.0) == []


def test_report_events_at_whole_hours_of_a_half_hour_zone_are_counted_per_hour(tmp_path):
    # India's whole hours are at :30 in UTC: the bucket inferred was 5 minutes (each
    # hour's reports in one 5-minute bucket of twelve: outages lost among false peaks).
    hours = pd.date_range("2026-03-16 00:00", periods=48, freq="h")
    data = _events_at(tmp_path, [f"{h:%Y-%m-%d %H:%M}" for h in hours], 2, "Asia/Kolkata",
                      cycle=3)
    assert data.bucket == pd.Timedelta(hours=1)
    assert data.counts.index[0] == pd.Timestamp("2026-03-15 18:00", tz="UTC")  # 18:30 floored
    assert data.counts["A"].tolist() == [2.0 + i % 3 for i in range(48)]


def test_a_burst_of_events_in_one_minute_keeps_five_minute_buckets(tmp_path):
    path = tmp_path / "burst.csv"
    path.write_text("timestamp,product\n" + "2024-01-01T12:07:00Z,A\n" * 120)
    assert load_reports(path).bucket == pd.Timedelta(minutes=5)


def test_a_report_events_product_first_seen_later_is_judged_as_alone(tmp_path):
    # B's reports begin a week after A's (added to the export later). Its buckets before
    # its first report were zeros: three "critical" incidents against 0 usual, which
    # B's rows alone did not give, and a week of phantom product-weeks.
    from spikes.detect.pipeline import analyze

    rng = np.random.default_rng(0)
    t0 = pd.Timestamp("2026-01-05", tz="UTC")
    rows = []
    for product, start_day, n in [("A", 0, 2000), ("B", 7, 1000)]:  # steady, no outage
        seconds = rng.uniform(0, (14 - start_day) * 86400, n)
        stamps = t0 + pd.Timedelta(days=start_day) + pd.to_timedelta(seconds, unit="s")
        rows += [(t, product, 1.0) for t in stamps]
    both = to_buckets(raw_table(rows, kind="events"), "5min")
    alone = to_buckets(raw_table([r for r in rows if r[1] == "B"], kind="events"), "5min")
    assert both.counts["B"].first_valid_index() == alone.counts.index[0]
    found = analyze(both).incidents
    assert (found["product"] == "B").sum() == len(analyze(alone).incidents) == 0
