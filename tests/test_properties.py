"""Property-based tests of ingest and detection (issue 6), derandomised and small.

Random small tables of report events or counts (odd Unicode product names, timestamps
with offsets, bad values mixed in) either raise the documented
:class:`~spikes.errors.SpikesInputError` or give a result where nothing is lost: the
reports after bucketing are the reports of the accepted rows, and every other row is
listed as rejected at its line. Random series, with and without outages, give incidents
with ``onset <= peak <= end`` inside the data's span.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikes.detect.pipeline import analyze
from spikes.errors import SpikesInputError
from spikes.io.buckets import load_reports
from spikes.io.reading import MAX_COUNT
from spikes.model import ReportData

# Fixed and fast: the same examples on every run, no example database, no deadline.
FAST = settings(max_examples=40, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

START = pd.Timestamp("2024-03-01", tz="UTC")

# Names: any printable or odd Unicode (RTL marks, emoji, combining, zero-width, quotes,
# commas, line breaks); no surrogates, NUL or lone CR (not text a CSV can carry).
NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
    max_size=10,
) | st.sampled_from(["Outlook", "=cmd", "  padded  ", "\u202eevil", "😀", "a,b", 'q"q',
                     "line\nbreak", "NaN", "null"])


@st.composite
def stamps(draw: st.DrawFn) -> tuple[str, bool]:
    """(text, valid) of a timestamp within three days, sometimes with an offset."""
    if draw(st.integers(0, 9)) == 0:
        bad = draw(st.sampled_from(["", "foo", "2024-13-01T00:00:00Z", "now", "today",
                                    "10000-01-01T00:00:00Z", "31/31/2024 25:00"]))
        return bad, False
    instant = START + pd.Timedelta(seconds=draw(st.integers(0, 3 * 86400)))
    offset = draw(st.sampled_from([None, 0, 60, -300, 330, 840]))  # minutes east of UTC
    if offset is None:
        return instant.strftime("%Y-%m-%dT%H:%M:%SZ"), True
    local = (instant + pd.Timedelta(minutes=offset)).tz_localize(None)
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset), 60)
    return f"{local:%Y-%m-%dT%H:%M:%S}{sign}{hours:02d}:{minutes:02d}", True


COUNTS = st.one_of(
    st.integers(0, 1000).map(lambda v: (str(v), float(v))),
    st.floats(0, 1e6, allow_nan=False).map(lambda v: (repr(v), v)),
    st.sampled_from([("-1", None), ("nan", None), ("inf", None), ("-inf", None),
                     ("abc", None), ("", None), ("1e400", None), ("2e15", None),
                     ("0", 0.0), ("1e15", 1e15)]),
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[bool, list[tuple[str, bool, str, str, float | None]]]:
    """(events?, rows of (timestamp, timestamp valid, product, count text, count value))."""
    events = draw(st.booleans())
    rows = []
    for _ in range(draw(st.integers(1, 25))):
        text, ok = draw(stamps())
        name = draw(NAMES)
        count_text, value = ("", 1.0) if events else draw(COUNTS)
        rows.append((text, ok, name, count_text, value))
    return events, rows


def _write(rows: list, events: bool) -> tuple[str, list[int]]:
    """CSV text and the line of each data row (a quoted line break adds a line)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["timestamp", "product"] if events else ["timestamp", "product", "reports"])
    lines, line = [], 2
    for text, _, name, count, _ in rows:
        before = buffer.tell()
        writer.writerow([text, name] if events else [text, name, count])
        lines.append(line)
        line += buffer.getvalue()[before:].count("\n")
    return buffer.getvalue(), lines


def _expected(rows: list) -> tuple[dict[str, float], list[int]]:
    """Per-product totals of the good rows, and the indices of the bad rows."""
    totals: dict[str, float] = {}
    bad = []
    for i, (_, ok, name, _, value) in enumerate(rows):
        good_value = value is not None and np.isfinite(value) and 0 <= value <= MAX_COUNT
        if ok and name.strip() and good_value:
            totals[name.strip()] = totals.get(name.strip(), 0.0) + float(value)
        else:
            bad.append(i)
    return totals, bad


def assert_sane(data: ReportData) -> None:
    analysis = analyze(data)
    index = data.counts.index
    for row in analysis.incidents.itertuples():
        assert index[0] <= row.onset <= row.peak <= row.end <= index[-1]


@FAST
@given(tables())
def test_ingest_conserves_reports_or_raises_the_input_error(table: tuple) -> None:
    events, rows = table
    text, lines = _write(rows, events)
    totals, bad = _expected(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.csv"
        path.write_text(text, encoding="utf-8")
        try:
            data = load_reports(path, bucket="5min")
        except SpikesInputError as err:
            assert not totals, f"unexpected error: {err}"
            assert "random.csv" in str(err) and "\n" not in str(err)
            return
        streamed = load_reports(path, bucket="5min", streaming=True, block_bytes=256)
    assert totals, "expected the documented error"
    # Conservation: rows read = accepted + rejected; reports after bucketing = accepted.
    assert data.rows_read == len(rows)
    assert sorted(data.rejected["line"]) == [lines[i] for i in bad]
    assert set(data.rejected["file"]) <= {str(path)}
    got = data.counts.sum()
    assert set(got.index) == set(totals)
    for name, total in totals.items():
        assert got[name] == pytest.approx(total, rel=1e-12, abs=1e-9)
    if events:
        assert np.nansum(data.counts.to_numpy()) == data.rows_read - len(data.rejected)
    # The streaming path agrees, block size notwithstanding (a rejected value's text may
    # differ: "1e400" is shown as "inf" by a block whose counts all parse as numbers).
    pd.testing.assert_frame_equal(data.counts, streamed.counts, rtol=1e-12)
    same = ["file", "line", "column", "reason"]
    pd.testing.assert_frame_equal(data.rejected[same], streamed.rejected[same])
    assert_sane(data)


@st.composite
def series(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.Timedelta]:
    """Random count series: 1-3 products, daily cycle or flat, holes, outages, zeros."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    bucket = pd.Timedelta(draw(st.sampled_from(["1min", "5min", "1h"])))
    n = draw(st.integers(1, 3000))
    index = pd.date_range("2025-06-01", periods=n, freq=bucket, tz="UTC")
    columns = {}
    for j in range(draw(st.integers(1, 3))):
        level = draw(st.sampled_from([0.0, 0.05, 1.0, 20.0, 500.0]))
        hours = (index.hour + index.minute / 60).to_numpy()
        rate = level * (0.3 + 0.7 * np.sin(np.pi * hours / 24) ** 2)
        y = rng.poisson(rate).astype(float)
        for _ in range(draw(st.integers(0, 3))):  # outages of random size and length
            at = draw(st.integers(0, max(n - 1, 0)))
            y[at : at + draw(st.integers(1, 40))] += draw(st.sampled_from([1, 5, 50, 5000]))
        if draw(st.booleans()):  # missing buckets (count data)
            y[rng.random(n) < draw(st.sampled_from([0.01, 0.3, 0.9]))] = np.nan
        columns[f"p{j}"] = y
    return pd.DataFrame(columns, index=index), bucket


@FAST
@given(series())
def test_detection_incidents_are_ordered_and_inside_the_data(case: tuple) -> None:
    counts, bucket = case
    data = ReportData(counts=counts, bucket=bucket, kind="counts")
    analysis = analyze(data)
    incidents = analysis.incidents
    index = counts.index
    for row in incidents.itertuples():
        assert index[0] <= row.onset <= row.peak <= row.end <= index[-1]
        assert row.product in counts.columns
        assert np.isfinite(row.peak_reports) and row.peak_reports >= 0
