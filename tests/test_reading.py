"""Tests of spikes.io.reading: the entry points, several files, whole-file errors,
describe_rejected."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.io import reading
from spikes.io.reading import describe_rejected, read_reports
from tests.report_files import BAD_ROWS, LONG, write


def test_describe_rejected(tmp_path):
    raw = read_reports(write(tmp_path, "bad.csv", BAD_ROWS))
    text = describe_rejected(raw.rejected, limit=2)
    assert text.startswith("10 rows rejected: bad.csv line 3 (timestamp 'foo' is not a date)")
    assert "bad.csv line 4 (product '' is missing)" in text
    assert text.endswith("and 8 more")
    assert describe_rejected(raw.rejected.iloc[:0]) == "no rows rejected"


def _errors(tmp_path: Path) -> list[tuple[object, dict, list[str]]]:
    """(source, options, fragments the message must contain)."""
    folder = tmp_path / "folder"
    folder.mkdir()
    return [
        (tmp_path / "nope.csv", {}, ["nope.csv", "no such file"]),
        (folder, {}, ["folder", "directory"]),
        (write(tmp_path, "empty.csv", ""), {}, ["empty.csv", "is empty"]),
        (write(tmp_path, "blank.csv", "\n\n  \n"), {}, ["blank.csv", "is empty"]),
        (
            write(tmp_path, "header.csv", "timestamp,product\n\n"),
            {},
            ["header.csv", "no data rows", "timestamp, product"],
        ),
        (
            write(tmp_path, "nots.csv", "when,product\n2024-01-01,A\n"),
            {},
            ["nots.csv", "no timestamp column", "'when', 'product'", "--timestamp-col"],
        ),
        (
            write(tmp_path, "amb.csv", "time,datetime,product\n1,2,A\n"),
            {},
            ["amb.csv", "'time' and 'datetime'", "--timestamp-col"],
        ),
        (
            write(tmp_path, "amb2.csv", "time,product,count,reports\n1,A,2,3\n"),
            {},
            ["amb2.csv", "'count' and 'reports'", "--count-col"],
        ),
        (write(tmp_path, "f.csv", "timestamp,product\n1,A\n"), {"fmt": "xml"}, ["'xml'", "long"]),
        (
            write(tmp_path, "allbad.csv", "timestamp,product\nfoo,A\nbar,B\n"),
            {},
            ["allbad.csv", "no usable row", "all 2 data rows", "line 2", "'foo'"],
        ),
        (
            write(tmp_path, "onlyts.csv", "timestamp\n2024-01-01\n"),
            {},
            ["onlyts.csv", "only a timestamp column", "--product"],
        ),
        (
            write(tmp_path, "text.csv", "timestamp,city,note\n2024-01-01,Paris,x\n"),
            {},
            ["text.csv", "'city'", "not numeric", "--product"],
        ),
        (
            write(tmp_path, "nocount.csv", "timestamp,product\n2024-01-01,A\n"),
            {"fmt": "long"},
            ["nocount.csv", "--format long", "count column", "--count-col"],
        ),
        (
            write(tmp_path, "noprod.csv", "timestamp,value\n2024-01-01,1\n"),
            {"fmt": "events"},
            ["noprod.csv", "product column", "--product"],
        ),
        (
            write(tmp_path, "broken.csv.gz", b"\x1f\x8b\x08\x00garbage"),
            {},
            ["broken.csv.gz", "gzip"],
        ),
    ]


def test_whole_file_errors(tmp_path):
    for source, options, fragments in _errors(tmp_path):
        with pytest.raises(SpikesInputError) as err:
            read_reports(source, **options)
            pytest.fail(f"no error for {source}")
        message = str(err.value)
        assert "\n" not in message
        for fragment in fragments:
            assert fragment in message, (source, message)


def test_mixing_events_and_counts_is_an_error(tmp_path):
    events = write(tmp_path, "e.csv", "timestamp,product\n2024-01-01,A\n")
    counts = write(tmp_path, "c.csv", "timestamp,product,reports\n2024-01-01,A,2\n")
    with pytest.raises(SpikesInputError, match="e.csv.*events.*c.csv.*counts"):
        read_reports([events, counts])


def test_empty_source_list():
    with pytest.raises(SpikesInputError, match="no input file"):
        read_reports([])


def test_file_like_upload_and_several_files(tmp_path):
    upload = io.BytesIO(LONG.encode())
    upload.name = "upload.csv"
    upload.read()  # a consumed upload is rewound
    other = write(tmp_path, "other.csv", "timestamp,product,count\n2024-01-01T00:10:00Z,C,4\n")
    raw = read_reports([upload, other])
    assert raw.sources == ("upload.csv", str(other))
    assert raw.table["product"].tolist() == ["A", "B", "C"]
    assert raw.table["reports"].sum() == 7.5
    assert raw.rows_read == 3


def test_a_table_in_memory_is_read_as_a_file_of_its_shape():
    # load_reports(frame) iterated the frame's column names as file names.
    from spikes.io.buckets import load_reports

    times = pd.date_range("2026-01-01", periods=600, freq="7min", tz="UTC")
    events = pd.DataFrame({"timestamp": times.astype(str), "product": "a"})
    events.loc[3, "timestamp"] = "yesterday"
    data = load_reports(events, bucket="5min")
    assert data.counts["a"].sum() == 599
    assert data.rejected[["file", "line", "value"]].values.tolist() == [
        [reading.FRAME_NAME, 5, "yesterday"]]  # line 2 is row 0
    wide = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": 4.0},
                        index=pd.date_range("2026-01-01", periods=3, freq="h", name="time"))
    data = load_reports([wide, wide])
    assert data.bucket == pd.Timedelta("1h")
    assert data.counts.sum().to_dict() == {"a": 12.0, "b": 24.0}
    # An unnamed time index is the timestamp; row labels of a filtered frame are no
    # column (they were a product "" of the wide shape).
    unnamed = wide.rename_axis(None)
    assert load_reports(unnamed).counts.sum().to_dict() == {"a": 6.0, "b": 12.0}
    filtered = events.iloc[10:].reset_index(drop=True).iloc[5:]
    assert load_reports(filtered, bucket="5min").counts.columns.tolist() == ["a"]
    with pytest.raises(SpikesInputError, match="cannot read a int: give the path"):
        read_reports(3)


def test_several_files_keep_rejects_apart(tmp_path):
    a = write(tmp_path, "a.csv", "timestamp,product\n2024-01-01,A\nfoo,A\n")
    b = write(tmp_path, "b.csv", "timestamp,product,region\nbar,B,EU\n2024-01-02,B,EU\n")
    raw = read_reports([a, b])
    assert raw.rejected[["file", "line"]].values.tolist() == [[str(a), 3], [str(b), 2]]
    assert raw.table["region"].tolist()[1] == "EU" and pd.isna(raw.table["region"].iloc[0])


def test_cli_date_orders_are_the_readers():
    from spikes import cli

    assert cli.DATE_ORDERS == reading.DATE_ORDERS
    assert cli.FORMATS == reading.FORMATS


# --- found by a hunt of the library's API (each failed before) ---------------------------
def test_a_series_and_a_single_series_frame_name_their_product() -> None:
    from spikes.io.buckets import load_reports

    index = pd.date_range("2026-01-05", periods=288, freq="5min", tz="UTC", name="timestamp")
    series = pd.Series(np.arange(288.0), index=index, name="Outlook")
    data = load_reports(series)  # a TypeError from pathlib before
    assert list(data.counts.columns) == ["Outlook"]
    assert data.counts["Outlook"].sum() == series.sum()
    with pytest.raises(SpikesInputError, match="a Series of counts needs a name"):
        load_reports(series.rename(None))
    # Its product was called "DataFrame (line 2 = its first row)".
    single = load_reports(series.rename("value").to_frame())
    assert list(single.counts.columns) == ["value"]


def test_a_wide_frame_with_a_product_named_like_a_role() -> None:
    # "App" was taken for the product column: its counts became product names.
    from spikes.io.buckets import load_reports

    index = pd.date_range("2026-01-05", periods=50, freq="5min", tz="UTC", name="timestamp")
    frame = pd.DataFrame({"Web": np.arange(50.0), "App": np.arange(50.0) + 1, "API": 2.0},
                         index=index)
    data = load_reports(frame)
    assert sorted(data.counts.columns) == ["API", "App", "Web"]
    assert data.counts.sum().sum() == frame.sum().sum()
    assert any("read as a wide file" in note for note in data.notes)
    # Events with an "app" column of names stay events.
    events = pd.DataFrame({"timestamp": index, "app": "Teams", "user": np.arange(50)})
    assert list(load_reports(events).counts.columns) == ["Teams"]
    # So do events with numeric product ids, one a minute, beside numeric user ids.
    ids = pd.DataFrame({"timestamp": index, "app": [100 + i % 3 for i in range(50)],
                        "user_id": np.arange(50) + 5000})
    assert sorted(load_reports(ids).counts.columns) == ["100", "101", "102"]


def test_open_dataset_takes_one_path(tmp_path) -> None:
    from spikes.io.datasets import open_dataset

    path = tmp_path / "two.csv"
    path.write_text("timestamp,product,reports\n2026-01-05T00:00Z,A,1\n2026-01-05T00:05Z,A,2\n")
    for given in (str(path), path, [str(path)]):
        assert open_dataset(given).products == ("A",)
