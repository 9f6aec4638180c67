"""Tests of spikes.io.reading: shapes, aliases, options, time zones, rejects, whole-file errors."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.io import reading
from spikes.io.reading import describe_rejected, read_reports
from spikes.model import REJECTED_COLUMNS


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def utc(*stamps: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(s, tz="UTC") for s in stamps]


# ------------------------------------------------------------------------------ shapes

SHAPES = [
    pytest.param(
        "t.csv",
        "timestamp,product\n2024-01-01T00:00:00Z,A\n2024-01-01T00:01:00Z,B\n"
        "2024-01-01T00:02:00Z,A\n",
        {},
        "events",
        {"A": 2.0, "B": 1.0},
        id="events",
    ),
    pytest.param(
        "t.csv",
        "timestamp,product,reports\n2024-01-01T00:00:00Z,A,3\n2024-01-01T00:05:00Z,B,4.5\n",
        {},
        "counts",
        {"A": 3.0, "B": 4.5},
        id="long",
    ),
    pytest.param(
        "t.csv",
        "timestamp,Outlook,Teams\n2024-01-01T00:00:00Z,1,2\n2024-01-01T00:05:00Z,3,\n",
        {},
        "counts",
        {"Outlook": 4.0, "Teams": 2.0},
        id="wide",
    ),
    pytest.param(
        "art_daily_jumpsup.csv",
        "timestamp,value\n2014-04-01 00:02:53,10.5\n2014-04-01 00:07:53,11\n",
        {},
        "counts",
        {"art_daily_jumpsup": 21.5},
        id="single-nab",
    ),
    pytest.param(
        "nab.csv",
        "timestamp,value\n2014-04-01 00:02:53,10\n",
        {"product": "Machine temp"},
        "counts",
        {"Machine temp": 10.0},
        id="single-named",
    ),
    pytest.param(
        "t.csv",
        "timestamp,product,reports\n2024-01-01T00:00:00Z,A,3\n",
        {"fmt": "events"},
        "events",
        {"A": 1.0},
        id="forced-events-ignores-count",
    ),
    pytest.param(
        "t.csv",
        "timestamp,product,region\n2024-01-01T00:00:00Z,A,3\n",
        {"fmt": "wide"},
        "counts",
        {"product": None, "region": 3.0},
        id="forced-wide",
    ),
]


@pytest.mark.parametrize(("name", "text", "options", "kind", "totals"), SHAPES)
def test_shapes(tmp_path, name, text, options, kind, totals):
    raw = read_reports(write(tmp_path, name, text), **options)
    if options.get("fmt") == "wide":  # a text column of a forced wide file is left out
        assert raw.ignored == ("'t.csv': product (no number)",)
        totals = {k: v for k, v in totals.items() if v is not None}
    assert raw.kind == kind
    got = raw.table.groupby("product", observed=True)["reports"].sum().to_dict()
    assert got == totals
    assert all(type(p) is str for p in raw.table["product"].cat.categories)
    assert str(raw.table["timestamp"].dtype) == "datetime64[us, UTC]"
    assert raw.table["reports"].dtype == np.float64
    assert list(raw.table.columns) == ["timestamp", "product", "reports", "region", "category"]
    if "Outlook" not in totals:  # wide: rows_read counts file rows, the table has cells
        assert raw.rows_read == len(raw.table) + len(raw.rejected)


@pytest.mark.parametrize(
    ("header", "kind", "region", "category"),
    [
        ("time,service,count", "counts", None, None),
        (" DATE , App ,N", "counts", None, None),
        ("datetime,name,num_reports,country,problem", "counts", "X", "Y"),
        ("reported_at,product,location,issue", "events", "X", "Y"),
        ("ts,service,state,type", "events", "X", "Y"),
        ("created_at,product,value,region,category", "counts", "X", "Y"),
    ],
)
def test_aliases(tmp_path, header, kind, region, category):
    columns = [h.strip().lower() for h in header.split(",")]
    values = {0: "2024-01-01T00:00:00Z", 1: "Svc"}
    row = [values.get(i, "X" if i == 3 else "Y" if i == 4 else "7") for i in range(len(columns))]
    if kind == "events":  # region/category sit at positions 2 and 3
        row = ["2024-01-01T00:00:00Z", "Svc", "X", "Y"]
    raw = read_reports(write(tmp_path, "a.csv", f"{header}\n{','.join(row)}\n"))
    assert raw.kind == kind
    assert raw.table["product"].tolist() == ["Svc"]
    expected_reports = 1.0 if kind == "events" else 7.0
    assert raw.table["reports"].tolist() == [expected_reports]
    assert raw.table["region"].tolist()[0] == region or pd.isna(raw.table["region"].iloc[0])
    if region is not None:
        assert raw.table["region"].tolist() == [region]
        assert raw.table["category"].tolist() == [category]


def test_explicit_columns_override_detection(tmp_path):
    text = "when,what,how_many,where\n2024-01-01 10:00,Mail,5,EU\n"
    raw = read_reports(
        write(tmp_path, "x.csv", text),
        timestamp_col="when",
        product_col="What",  # case-insensitive
        count_col="how_many",
        region_col="where",
    )
    assert raw.kind == "counts"
    assert raw.table["timestamp"].tolist() == utc("2024-01-01 10:00")
    assert raw.table["product"].tolist() == ["Mail"]
    assert raw.table["reports"].tolist() == [5.0]
    assert raw.table["region"].tolist() == ["EU"]


def test_explicit_column_must_exist(tmp_path):
    path = write(tmp_path, "x.csv", "timestamp,product\n2024-01-01,A\n")
    with pytest.raises(SpikesInputError) as err:
        read_reports(path, count_col="reports")
    message = str(err.value)
    assert "'reports'" in message and "--count-col" in message and "x.csv" in message
    assert "'timestamp', 'product'" in message


OUTLOOK_EXPORT = (
    "created_at,city,state,zip_code,service,note\n"
    "2024-03-01 10:00:00,Seattle,WA,98101,Outlook,cannot log in\n"
    '2024-03-01 10:01:00,Austin,TX,73301,outlook.com,"no mail, again"\n'
    "2024-03-01 10:02:00,Boston,MA,02101,,\n"
)


def test_product_option_with_one_service_export(tmp_path):
    path = write(tmp_path, "outlook.csv", OUTLOOK_EXPORT)
    raw = read_reports(path, timestamp_col="created_at", product="Outlook")
    assert raw.kind == "events"
    assert raw.table["product"].tolist() == ["Outlook"] * 3
    assert raw.table["reports"].sum() == 3.0
    assert raw.table["region"].isna().all()  # every other column is ignored
    assert len(raw.rejected) == 0 and raw.rows_read == 3


def test_one_service_export_without_product_option_uses_service_column(tmp_path):
    raw = read_reports(write(tmp_path, "outlook.csv", OUTLOOK_EXPORT))
    assert raw.kind == "events"
    assert raw.table["product"].tolist() == ["Outlook", "outlook.com"]
    assert raw.table["region"].tolist() == ["WA", "TX"]
    assert raw.rejected[["line", "column", "reason"]].values.tolist() == [
        [4, "service", "is missing"]
    ]


def test_product_option_and_product_col_conflict(tmp_path):
    path = write(tmp_path, "x.csv", "timestamp,product\n2024-01-01,A\n")
    with pytest.raises(SpikesInputError, match="either --product-col or --product"):
        read_reports(path, product="A", product_col="product")


# -------------------------------------------------------------------------- timestamps


def test_offsets_are_converted_to_utc_even_when_mixed(tmp_path):
    text = (
        "timestamp,product\n"
        "2024-01-01T12:00:00Z,A\n"
        "2024-01-01T12:00:00+01:00,A\n"
        "2024-01-01T12:00:00-05:00,A\n"
        "2024-01-01 12:00:00.5+0530,A\n"
    )
    raw = read_reports(write(tmp_path, "x.csv", text), tz="Asia/Tokyo")  # tz: naive only
    assert raw.table["timestamp"].tolist() == utc(
        "2024-01-01 12:00", "2024-01-01 11:00", "2024-01-01 17:00", "2024-01-01 06:30:00.5"
    )


def test_naive_and_offset_timestamps_in_one_column(tmp_path):
    text = "timestamp,product\n2024-01-01 12:00,A\n2024-01-01T12:00:00+02:00,A\n"
    raw = read_reports(write(tmp_path, "x.csv", text), tz="Europe/Berlin")
    assert raw.table["timestamp"].tolist() == utc("2024-01-01 11:00", "2024-01-01 10:00")


def test_naive_timestamps_are_utc_by_default(tmp_path):
    raw = read_reports(write(tmp_path, "x.csv", "timestamp,product\n2024-07-01 12:00,A\n"))
    assert raw.table["timestamp"].tolist() == utc("2024-07-01 12:00")


def test_naive_timestamps_with_tz_across_dst(tmp_path):
    text = (
        "timestamp,product\n"
        "2024-03-10 01:30,A\n"  # EST
        "2024-03-10 02:30,A\n"  # does not exist: shifted forward to 03:00 EDT
        "2024-03-10 03:30,A\n"  # EDT
        "2024-11-03 01:30,A\n"  # ambiguous, no repeat: earliest (EDT)
        "2024-11-03 03:00,A\n"  # EST
    )
    raw = read_reports(write(tmp_path, "x.csv", text), tz="America/New_York")
    assert raw.table["timestamp"].tolist() == utc(
        "2024-03-10 06:30",
        "2024-03-10 07:00",
        "2024-03-10 07:30",
        "2024-11-03 05:30",
        "2024-11-03 08:00",
    )


def test_ambiguous_times_are_inferred_from_order(tmp_path):
    wall = ["00:30", "01:00", "01:30", "01:00", "01:30", "02:00"]
    text = "timestamp,product\n" + "".join(f"2024-11-03 {w},A\n" for w in wall)
    raw = read_reports(write(tmp_path, "x.csv", text), tz="America/New_York")
    assert raw.table["timestamp"].tolist() == utc(
        "2024-11-03 04:30",
        "2024-11-03 05:00",
        "2024-11-03 05:30",
        "2024-11-03 06:00",
        "2024-11-03 06:30",
        "2024-11-03 07:00",
    )


@pytest.mark.parametrize(
    ("stamp", "expected", "delimiter"),
    [
        ("01/31/2024 13:00", "2024-01-31 13:00", ","),
        ("1/31/2024 1:05 PM", "2024-01-31 13:05", ","),
        ("31.01.2024 13:00", "2024-01-31 13:00", ";"),
        ("2024/01/31 13:00:00", "2024-01-31 13:00", ","),
        ("2024-01-31", "2024-01-31 00:00", ","),
        ("2024-01-31 13:00 UTC", "2024-01-31 13:00", ","),
        ("1706706000", "2024-01-31 13:00", ","),
        ("1706706000000", "2024-01-31 13:00", ","),
    ],
)
def test_common_timestamp_formats(tmp_path, stamp, expected, delimiter):
    text = f"timestamp{delimiter}product\n{stamp}{delimiter}A\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["timestamp"].tolist() == utc(expected)


def test_unknown_time_zone(tmp_path):
    path = write(tmp_path, "x.csv", "timestamp,product\n2024-01-01,A\n")
    with pytest.raises(SpikesInputError, match="unknown time zone 'Mars/Base'"):
        read_reports(path, tz="Mars/Base")


# ---------------------------------------------------------------------- rejected rows

BAD_ROWS = (
    "timestamp,product,reports,region\n"  # line 1
    "2024-01-01T00:00:00Z,A,1,US\n"  # 2 ok
    "foo,A,3,EU\n"  # 3 bad timestamp
    "2024-01-01T00:10:00Z,,3,\n"  # 4 empty product
    "2024-01-01T00:10:00Z,A,-1,\n"  # 5 negative
    "2024-01-01T00:10:00Z,A,x,\n"  # 6 not a number
    "\n"  # 7 blank: skipped, not a row
    '2024-01-01T00:15:00Z,"B\n'  # 8-9 quoted newline in product: ok
    'b",2.5,"a, b"\n'
    "2024-01-01T00:20:00Z,A,inf,\n"  # 10 infinite
    "2024-01-01T00:20:00Z,A,NaN,\n"  # 11 NaN
    "2024-01-01T00:20:00Z,A,,\n"  # 12 missing count
    ",A,1,\n"  # 13 missing timestamp
    "2024-01-01T00:25:00Z,A,2\n"  # 14 too few fields
    "2024-01-01T00:25:00Z,A,2,US,extra\n"  # 15 too many fields
    "2024-01-01T00:30:00Z,A,0.25,US\n"  # 16 ok, fractional
)


def test_rejected_rows_have_file_line_column_value_reason(tmp_path):
    path = write(tmp_path, "bad.csv", BAD_ROWS)
    raw = read_reports(path)
    rejected = raw.rejected
    assert list(rejected.columns) == REJECTED_COLUMNS
    assert set(rejected["file"]) == {str(path)}
    got = rejected[["line", "column", "value", "reason"]].values.tolist()
    assert got == [
        [3, "timestamp", "foo", "is not a date"],
        [4, "product", "", "is missing"],
        [5, "reports", "-1", "is negative"],
        [6, "reports", "x", "is not a number"],
        [10, "reports", "inf", "is not finite"],
        [11, "reports", "NaN", "is not finite"],
        [12, "reports", "", "is missing"],
        [13, "timestamp", "", "is missing"],
        [14, "", "2024-01-01T00:25:00Z,A,2", "has 3 fields, expected 4"],
        [15, "", "2024-01-01T00:25:00Z,A,2,US,extra", "has 5 fields, expected 4"],
    ]
    assert raw.table["product"].tolist() == ["A", "B\nb", "A"]
    assert raw.table["reports"].tolist() == [1.0, 2.5, 0.25]
    assert raw.rows_read == 13 == len(raw.table) + len(raw.rejected)


def test_conservation_of_valid_counts(tmp_path):
    rng = np.random.default_rng(7)
    counts = rng.poisson(4, 200).astype(float) + rng.random(200).round(2)
    lines = [
        f"2024-01-01T{i // 60:02d}:{i % 60:02d}:00Z,P{i % 3},{c}" for i, c in enumerate(counts)
    ]
    bad = {5: "oops", 17: "-2", 60: ""}
    for i, value in bad.items():
        lines[i] = lines[i].rsplit(",", 1)[0] + f",{value}"
    raw = read_reports(write(tmp_path, "c.csv", "timestamp,product,reports\n" + "\n".join(lines)))
    valid = np.delete(counts, list(bad))
    assert raw.table["reports"].sum() == pytest.approx(valid.sum())
    assert raw.rejected["line"].tolist() == [i + 2 for i in sorted(bad)]
    assert raw.rows_read == 200


def test_bad_timestamp_after_the_first_block_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "_BLOCK_SIZE", 1024)  # pyarrow infers types per block
    lines = [f"2024-01-01T00:{i % 60:02d}:00Z,A,1" for i in range(300)]
    lines[250] = "not-a-date,A,1"
    raw = read_reports(
        write(tmp_path, "late.csv", "timestamp,product,reports\n" + "\n".join(lines))
    )
    assert raw.rejected[["line", "value"]].values.tolist() == [[252, "not-a-date"]]
    assert len(raw.table) == 299


def test_wide_file_cells(tmp_path):
    text = (
        "timestamp,A,B\n"
        "2024-01-01T00:00:00Z,1,\n"  # empty cell: missing, not rejected
        "2024-01-01T00:05:00Z,-3,2\n"  # bad cell rejected, the other cell kept
        "garbage,4,4\n"  # bad timestamp: whole row rejected once
    )
    raw = read_reports(write(tmp_path, "w.csv", text))
    assert raw.rejected[["line", "column", "reason"]].values.tolist() == [
        [3, "A", "is negative"],
        [4, "timestamp", "is not a date"],
    ]
    assert raw.table[["product", "reports"]].values.tolist() == [["A", 1.0], ["B", 2.0]]
    assert raw.rows_read == 3


def test_describe_rejected(tmp_path):
    raw = read_reports(write(tmp_path, "bad.csv", BAD_ROWS))
    text = describe_rejected(raw.rejected, limit=2)
    assert text.startswith("10 rows rejected: bad.csv line 3 (timestamp 'foo' is not a date)")
    assert "bad.csv line 4 (product '' is missing)" in text
    assert text.endswith("and 8 more")
    assert describe_rejected(raw.rejected.iloc[:0]) == "no rows rejected"


# ----------------------------------------------------------------------- file problems


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


# -------------------------------------------------------------------------- robustness

LONG = "timestamp,product,reports\n2024-01-01T00:00:00Z,A,1.5\n2024-01-01T00:05:00Z,B,2\n"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("plain.csv", LONG.encode()),
        ("gz.csv.gz", gzip.compress(LONG.encode())),
        ("sniffed.csv", gzip.compress(LONG.encode())),  # gzip without .gz
        ("bom.csv", b"\xef\xbb\xbf" + LONG.encode()),
        ("utf16.csv", LONG.encode("utf-16")),
        ("crlf.csv", LONG.replace("\n", "\r\n").encode()),
        ("tab.tsv", LONG.replace(",", "\t").encode()),
        ("semi.csv", LONG.replace(",", ";").replace("1.5", "1,5").encode()),
        ("quoted.csv", b'"timestamp","product","reports"\n' + LONG.split("\n", 1)[1].encode()),
        ("leading.csv", b"\n\n" + LONG.encode()),
    ],
)
def test_encodings_compression_delimiters(tmp_path, name, content):
    raw = read_reports(write(tmp_path, name, content))
    assert raw.table["product"].tolist() == ["A", "B"]
    assert raw.table["reports"].tolist() == [1.5, 2.0]
    assert len(raw.rejected) == 0


def test_lines_account_for_leading_blank_lines(tmp_path):
    path = write(tmp_path, "x.csv", "\n\ntimestamp,product\n2024-01-01,A\nfoo,A\n")
    assert read_reports(path).rejected["line"].tolist() == [5]


def test_semicolon_file_with_decimal_comma_and_bad_value(tmp_path):
    text = "Datum;Service;Anzahl\n31.01.2024 13:00;Post;1,5\n31.01.2024 13:05;Post;zwei\n"
    raw = read_reports(
        write(tmp_path, "de.csv", text),
        timestamp_col="Datum",
        count_col="Anzahl",
        tz="Europe/Berlin",
    )
    assert raw.table["reports"].tolist() == [1.5]
    assert raw.table["timestamp"].tolist() == utc("2024-01-31 12:00")
    assert raw.rejected[["line", "value", "reason"]].values.tolist() == [
        [3, "zwei", "is not a number"]
    ]


def test_quoted_fields_with_delimiters_and_newlines(tmp_path):
    text = (
        'timestamp,product,category\n2024-01-01T00:00:00Z,"Xbox, Live","login\nfailed"\n'
        '2024-01-01T00:01:00Z,"Say ""hi""",other\n'
    )
    raw = read_reports(write(tmp_path, "q.csv", text))
    assert raw.table["product"].tolist() == ["Xbox, Live", 'Say "hi"']
    assert raw.table["category"].tolist() == ["login\nfailed", "other"]


def test_windows_1252_bytes(tmp_path):
    content = "timestamp,product\n2024-01-01,Caf\xe9\n".encode("cp1252")
    raw = read_reports(write(tmp_path, "w.csv", content))
    assert raw.table["product"].tolist() == ["Café"]


def test_names_are_trimmed(tmp_path):
    raw = read_reports(
        write(tmp_path, "x.csv", "timestamp,product\n2024-01-01, A \n2024-01-01,A\n")
    )
    assert raw.table["product"].tolist() == ["A", "A"]
    assert list(raw.table["product"].cat.categories) == ["A"]


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


def test_several_files_keep_rejects_apart(tmp_path):
    a = write(tmp_path, "a.csv", "timestamp,product\n2024-01-01,A\nfoo,A\n")
    b = write(tmp_path, "b.csv", "timestamp,product,region\nbar,B,EU\n2024-01-02,B,EU\n")
    raw = read_reports([a, b])
    assert raw.rejected[["file", "line"]].values.tolist() == [[str(a), 3], [str(b), 2]]
    assert raw.table["region"].tolist()[1] == "EU" and pd.isna(raw.table["region"].iloc[0])


# --------------------------------------------------------- what spreadsheet exports do


@pytest.mark.parametrize(
    ("delimiter", "cells", "expected"),
    [
        (",", ['"1,234"', '"12,345,678.5"', "987"], [1234.0, 12345678.5, 987.0]),
        (",", ["1 234", "1'234", "5"], [1234.0, 1234.0, 5.0]),
        (";", ["1.234,5", "1.234.567", "2,5"], [1234.5, 1234567.0, 2.5]),
    ],
)
def test_counts_with_digit_groups(tmp_path, delimiter, cells, expected):
    rows = [f"2024-01-01T00:0{i}:00Z{delimiter}A{delimiter}{c}" for i, c in enumerate(cells)]
    header = delimiter.join(["timestamp", "product", "reports"])
    raw = read_reports(write(tmp_path, "x.csv", "\n".join([header, *rows]) + "\n"))
    assert raw.table["reports"].tolist() == expected
    assert len(raw.rejected) == 0


def test_broken_digit_groups_are_not_guessed(tmp_path):
    # "1,23" is no grouping of threes.
    text = ('timestamp,product,reports\n2024-01-01T00:00Z,A,"1,23"\n'
            '2024-01-01T00:01Z,A,"1,2345"\n2024-01-01T00:02Z,A,7\n')
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["reports"].tolist() == [7.0]
    assert raw.rejected["value"].tolist() == ["1,23", "1,2345"]
    assert set(raw.rejected["reason"]) == {"is not a number"}


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["900", "1.700", "12.500"], [900.0, 1700.0, 12500.0]),  # every point groups
        (["0.5", "1.700", "2"], [0.5, 1.7, 2.0]),                # a point is a decimal
        (["0.567", "1.234"], [0.567, 1.234]),                    # no group starts with 0
    ],
)
def test_a_point_in_a_decimal_comma_file_is_read_by_its_column(tmp_path, cells, expected):
    rows = "".join(f"2024-01-01T00:0{i}Z;A;{c}\n" for i, c in enumerate(cells))
    raw = read_reports(write(tmp_path, "y.csv", "timestamp;product;reports\n" + rows))
    assert raw.table["reports"].tolist() == expected


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ('"Jan 31, 2024 1:05 PM"', "2024-01-31 13:05"),
        ('"Jan 31, 2024, 1:05 PM"', "2024-01-31 13:05"),
        ('"January 31, 2024 1:05 PM"', "2024-01-31 13:05"),
        ("31-Jan-2024 13:05", "2024-01-31 13:05"),
        ("31 Jan 2024 1:05 PM", "2024-01-31 13:05"),
    ],
)
def test_timestamps_with_month_names(tmp_path, stamp, expected):
    raw = read_reports(write(tmp_path, "x.csv", f"timestamp,product\n{stamp},A\n"))
    assert raw.table["timestamp"].tolist() == utc(expected)
    assert len(raw.rejected) == 0


def test_preamble_lines_are_skipped_and_counted(tmp_path):
    text = ("# exported by a console, 2024-01-02\n\n# product: A\n"
            "timestamp,product\n2024-01-01,A\nfoo,A\n")
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["product"].tolist() == ["A"]
    assert raw.rejected["line"].tolist() == [6]


def test_excel_sep_line_sets_the_delimiter(tmp_path):
    # The header alone would sniff as ",": the sep= line says ";".
    text = "sep=;\ntime,utc;product;reports\n2024-01-01T00:00Z;A, B;3\n2024-01-01T00:05Z;A, B;x\n"
    raw = read_reports(write(tmp_path, "x.csv", text), timestamp_col="time,utc")
    assert raw.table["product"].tolist() == ["A, B"]
    assert raw.table["reports"].tolist() == [3.0]
    assert raw.rejected["line"].tolist() == [4]


def test_file_of_only_preamble_lines_is_an_error(tmp_path):
    path = write(tmp_path, "x.csv", "# nothing here\n\nsep=,\n")
    with pytest.raises(SpikesInputError, match="no header line"):
        read_reports(path)


def test_header_names_with_a_unit_in_brackets(tmp_path):
    text = "Time (UTC),Service,Reports [count]\n2024-01-01T00:00Z,A,3\n2024-01-01T00:05Z,B,4\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.kind == "counts"
    assert raw.table["reports"].tolist() == [3.0, 4.0]


def test_columns_without_a_role_are_listed_as_ignored(tmp_path):
    text = "timestamp,reports,baseline,,\n2024-01-01T00:00Z,3,2,,\n2024-01-01T00:05Z,4,2,,\n"
    raw = read_reports(write(tmp_path, "dd.csv", text))
    assert raw.table["product"].tolist() == ["dd", "dd"]
    assert raw.ignored == ("'dd.csv': baseline",)
    plain = "timestamp,product\n2024-01-01,A\n"
    assert read_reports(write(tmp_path, "p.csv", plain)).ignored == ()


def test_separate_date_and_time_columns_are_joined(tmp_path):
    text = ("Date,Time,Service,Reports\n2024-01-31,13:00,A,3\n2024-01-31,13:05,A,4\n"
            "2024-01-31,,A,5\n")
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["timestamp"].tolist() == utc("2024-01-31 13:00", "2024-01-31 13:05")
    assert raw.rejected[["line", "column", "reason"]].values.tolist() == [
        [4, "Date Time", "is missing"]]
    assert raw.ignored == ()


def test_time_col_names_the_time_of_a_wide_file(tmp_path):
    text = "Datum;Uhrzeit;Outlook;Teams\n31.01.2024;13:00;3;4\n31.01.2024;13:05;5;\n"
    raw = read_reports(write(tmp_path, "x.csv", text), timestamp_col="Datum",
                       time_col="Uhrzeit", tz="Europe/Berlin")
    assert raw.kind == "counts"
    assert sorted(set(raw.table["product"])) == ["Outlook", "Teams"]
    assert raw.table["timestamp"].tolist() == utc("2024-01-31 12:00", "2024-01-31 12:05",
                                                  "2024-01-31 12:00")


def test_timestamp_col_alone_turns_off_the_date_time_pairing(tmp_path):
    text = "date,time,product\n2024-01-31,2024-01-31T13:00Z,A\n"
    raw = read_reports(write(tmp_path, "x.csv", text), timestamp_col="time")
    assert raw.table["timestamp"].tolist() == utc("2024-01-31 13:00")
    assert raw.ignored == ("'x.csv': date",)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml", "ZIP archive (an Excel .xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(40), "Excel 97-2003 workbook"),
        (b"PAR1" + bytes(40) + b"PAR1", "Parquet file"),
        (b'[{"timestamp": "2024-01-01", "product": "A"}]', "looks like JSON"),
        (gzip.compress(b'{"rows": []}\n'), "looks like JSON"),
    ],
)
def test_files_that_are_not_csv_say_what_they_are(tmp_path, content, what):
    path = write(tmp_path, "upload.csv", content)
    with pytest.raises(SpikesInputError, match=r"'.*upload\.csv' (is|looks)") as err:
        read_reports(path)
    assert what in str(err.value) and "not CSV text" in str(err.value)
    blocks = reading.read_report_blocks(path, block_bytes=8)
    with pytest.raises(SpikesInputError, match="not CSV text"):
        list(blocks)


def test_bracketed_header_names_are_not_json(tmp_path):
    text = "[timestamp],[product]\n2024-01-01,A\n"
    raw = read_reports(write(tmp_path, "x.csv", text), timestamp_col="[timestamp]",
                       product_col="[product]")
    assert raw.table["product"].tolist() == ["A"]


def _day_rows(first: str, days: int, fmt: str, step_min: int = 60) -> list[str]:
    start = pd.Timestamp(first)
    return [f"{start + pd.Timedelta(minutes=step_min * i):{fmt}}"
            for i in range(days * 24 * 60 // step_min)]


@pytest.mark.parametrize(
    ("first", "fmt", "delimiter"),
    [
        ("2024-03-01", "%d.%m.%Y %H:%M:%S", ","),  # LibreOffice, comma export: day first
        ("2024-03-01", "%d/%m/%Y %H:%M", ","),     # UK
        ("2024-01-01", "%m/%d/%Y %H:%M", ","),     # US
        ("2024-01-01", "%m/%d/%Y %H:%M", ";"),     # US dates in a semicolon file
    ],
)
def test_day_and_month_order_follows_the_dates(tmp_path, first, fmt, delimiter):
    # No day above 12: both orders parse every date; the one whose dates lie a week
    # apart (not half a year) is the reading.
    stamps = _day_rows(first, 7, fmt)
    text = f"time{delimiter}product\n" + "".join(f"{t}{delimiter}A\n" for t in stamps)
    raw = read_reports(write(tmp_path, "x.csv", text))
    got = raw.table["timestamp"]
    assert got.min() == pd.Timestamp(first, tz="UTC")
    assert got.max() - got.min() == pd.Timedelta(days=7) - pd.Timedelta(hours=1)
    assert len(raw.rejected) == 0


def test_a_streamed_file_reads_its_dates_one_way(tmp_path):
    stamps = _day_rows("2024-03-01", 13, "%d/%m/%Y %H:%M", step_min=15)
    path = write(tmp_path, "uk.csv", "date,product\n" + "".join(f"{t},A\n" for t in stamps))
    blocks = list(reading.read_report_blocks(path, block_bytes=4000))
    assert len(blocks) > 5
    got = pd.concat([b.table["timestamp"] for b in blocks], ignore_index=True)
    assert got.is_monotonic_increasing
    assert got.iloc[-1] == pd.Timestamp("2024-03-13 23:45", tz="UTC")


@pytest.mark.parametrize("stamp", ["2024-03-04T00:00:50.6655549Z",
                                   "2024-03-04 00:00:50.665554912"])
def test_nanosecond_timestamps_are_cut_to_microseconds(tmp_path, stamp):
    raw = read_reports(write(tmp_path, "x.csv", f"timestamp,product\n{stamp},A\n"))
    assert raw.table["timestamp"].tolist() == [pd.Timestamp("2024-03-04 00:00:50.665554",
                                                            tz="UTC")]


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("45355.010417", "2024-03-04 00:15"),       # a spreadsheet serial day
        ("1706706000000000", "2024-01-31 13:00"),     # epoch microseconds
        ("1706706000000000000", "2024-01-31 13:00"),  # epoch nanoseconds
    ],
)
def test_numeric_timestamps_by_their_size(tmp_path, stamp, expected):
    raw = read_reports(write(tmp_path, "x.csv", f"timestamp,product\n{stamp},A\n"))
    assert raw.table["timestamp"].tolist() == utc(expected)


@pytest.mark.parametrize("name", ["report_count", "Number of reports", "Report Counts"])
def test_count_column_named_with_a_count_word(tmp_path, name):
    text = f"timestamp,service,{name}\n2024-01-01T00:00Z,A,5\n2024-01-01T00:15Z,A,6\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.kind == "counts" and raw.table["reports"].tolist() == [5.0, 6.0]
    assert raw.ignored == ()


def test_an_id_column_is_not_a_count(tmp_path):
    text = "timestamp,service,report_id\n2024-01-01T00:00Z,A,5\n2024-01-01T00:15Z,A,6\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.kind == "events" and raw.table["reports"].tolist() == [1.0, 1.0]
    assert raw.ignored == ("'x.csv': report_id",)


def test_wide_file_product_named_with_a_count_word_stays_a_product(tmp_path):
    text = "timestamp,Outlook,Count Financial\n2024-01-01T00:00Z,1,2\n2024-01-01T00:05Z,3,4\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert sorted(set(raw.table["product"])) == ["Count Financial", "Outlook"]


def test_lines_ended_by_a_bare_carriage_return(tmp_path):
    # Classic Mac OS line ends (Excel's "CSV (Macintosh)"), read whole and streamed.
    path = write(tmp_path, "mac.csv", "timestamp,product\r2024-01-01T00:00Z,A\rfoo,B\r"
                                      "2024-01-01T00:05Z,B\r")
    raw = read_reports(path)
    assert raw.table["product"].tolist() == ["A", "B"]
    assert raw.rejected["line"].tolist() == [3]
    blocks = list(reading.read_report_blocks(path, block_bytes=5))
    assert [p for b in blocks for p in b.table["product"]] == ["A", "B"]


def test_a_stray_legacy_byte_leaves_the_utf8_text_alone(tmp_path):
    text = "timestamp,product\n2024-01-01,Telefónica\n2024-01-02,Caf".encode() + b"\xe9\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["product"].tolist() == ["Telefónica", "Café"]


def test_long_headers_are_listed_in_part(tmp_path):
    header = ",".join(f"2024-01-{d:02d}" for d in range(1, 31))
    path = write(tmp_path, "x.csv", f"service,{header}\nA,{','.join(['1'] * 30)}\n")
    with pytest.raises(SpikesInputError, match="and 19 more") as err:
        read_reports(path)
    assert len(str(err.value)) < 600
    assert "is the table transposed" in str(err.value)


def _autumn_rows(descending: bool = False) -> list[str]:
    instants = pd.date_range("2024-11-03 04:00", "2024-11-03 08:00", freq="15min", tz="UTC")
    walls = instants.tz_convert("America/New_York").tz_localize(None)
    rows = [f"{w:%Y-%m-%d %H:%M},{p},5" for w in walls for p in ("Outlook", "Teams")]
    return rows[::-1] if descending else rows


@pytest.mark.parametrize("descending", [False, True])
def test_repeated_autumn_hour_in_a_long_file_is_read_per_product(tmp_path, descending):
    # Two products per timestamp interleave their rows: the repeated 01:xx hour is read
    # from each product's own order (oldest or newest first), not doubled.
    text = "timestamp,product,reports\n" + "\n".join(_autumn_rows(descending)) + "\n"
    raw = read_reports(write(tmp_path, "x.csv", text), tz="America/New_York")
    for product in ("Outlook", "Teams"):
        got = raw.table.loc[raw.table["product"] == product, "timestamp"].sort_values()
        expected = pd.date_range("2024-11-03 04:00", "2024-11-03 08:00", freq="15min",
                                 tz="UTC")
        assert got.tolist() == expected.tolist()


def test_repeated_autumn_hour_of_report_events(tmp_path):
    # Events with seconds, oldest first: the clock going back marks winter time.
    walls = ["00:59:10", "01:10:05", "01:40:00", "01:59:59", "01:05:00", "01:50:00",
             "02:10:00"]
    text = "timestamp,product\n" + "".join(f"2024-11-03 {w},A\n" for w in walls)
    raw = read_reports(write(tmp_path, "x.csv", text), tz="America/New_York")
    assert raw.table["timestamp"].is_monotonic_increasing
    assert raw.table["timestamp"].iloc[4] == pd.Timestamp("2024-11-03 06:05", tz="UTC")


def test_wide_file_leaves_out_a_text_column_and_refuses_a_repeated_product(tmp_path):
    text = "Timestamp,Outlook,Teams,Notes\n2024-01-01T00:00Z,1,2,maintenance\n" \
           "2024-01-01T00:05Z,3,4,\n"
    raw = read_reports(write(tmp_path, "notes.csv", text))
    assert sorted(set(raw.table["product"])) == ["Outlook", "Teams"]
    assert raw.ignored == ("'notes.csv': Notes (no number)",) and len(raw.rejected) == 0
    twice = write(tmp_path, "twice.csv", "time,Outlook,Teams,Outlook\n2024-01-01T00:00Z,1,2,3\n")
    with pytest.raises(SpikesInputError, match=r"'Outlook' appears twice .*columns 2 and 4"):
        read_reports(twice)


def test_product_option_picks_that_column_of_a_wide_file(tmp_path):
    text = "Timestamp,Outlook,Teams\n2024-01-01T00:00Z,1,2\n2024-01-01T00:05Z,3,4\n"
    raw = read_reports(write(tmp_path, "w.csv", text), product="teams")
    assert raw.kind == "counts"
    assert raw.table["product"].tolist() == ["teams", "teams"]
    assert raw.table["reports"].tolist() == [2.0, 4.0]
    assert raw.ignored == ("'w.csv': Outlook",)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2024-03-04 00:00 EST", "2024-03-04 05:00"),
        ("2024-03-04 06:00 CEST", "2024-03-04 04:00"),
        ("2024-03-04 00:00 UTC+1", "2024-03-03 23:00"),
        ("2024-03-04 00:00 GMT-05:30", "2024-03-04 05:30"),
        ("3/4/24 13:00", "2024-03-04 13:00"),
        ("03/04/2024 1:15PM", "2024-03-04 13:15"),
    ],
)
def test_zones_two_digit_years_and_joined_pm(tmp_path, stamp, expected):
    raw = read_reports(write(tmp_path, "x.csv", f"timestamp,product\n{stamp},A\n"))
    assert raw.table["timestamp"].tolist() == utc(expected)


def test_an_ambiguous_zone_abbreviation_is_not_guessed(tmp_path):
    text = "timestamp,product\n2024-03-04 00:00 CST,A\n2024-03-04 00:05 EST,A\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["timestamp"].tolist() == utc("2024-03-04 05:05")
    assert raw.rejected[["line", "reason"]].values.tolist() == [[2, "is not a date"]]


@pytest.mark.parametrize(
    ("stamp", "tz", "expected"),
    [
        ("03/01/2024 01:15 PM EST", None, "2024-03-01 18:15"),
        ("2024-03-01 01:15 PM UTC", None, "2024-03-01 13:15"),
        ("3/1/24 1:15PM", None, "2024-03-01 13:15"),
        ("2024-03-01 00:00 CST", "America/Chicago", "2024-03-01 06:00"),
        ("03/01/2024 12:00:00.123 AM", None, "2024-03-01 00:00:00.123"),
        ("2024-03-01T00:00:00,123Z", None, "2024-03-01 00:00:00.123"),
    ],
)
def test_twelve_hour_times_zones_and_comma_seconds(tmp_path, stamp, tz, expected):
    raw = read_reports(write(tmp_path, "x.csv", f'timestamp,product\n"{stamp}",A\n'), tz=tz)
    assert raw.table["timestamp"].tolist() == utc(expected)


def test_numeric_timestamps_with_a_stray_word_reject_only_the_word(tmp_path):
    text = "timestamp,product\n1709596800,A\nN/A,A\n1709597100,A\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["timestamp"].tolist() == utc("2024-03-05 00:00", "2024-03-05 00:05")
    assert raw.rejected[["line", "value"]].values.tolist() == [[3, "N/A"]]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["20240301", "20240302"], ["2024-03-01", "2024-03-02"]),        # yyyymmdd
        (["45356.0", "45356.0104"], ["2024-03-05 00:00", "2024-03-05 00:15"]),  # 4 decimals
    ],
)
def test_compact_dates_and_coarse_serials(tmp_path, cells, expected):
    rows = "".join(f"{c},A\n" for c in cells)
    raw = read_reports(write(tmp_path, "x.csv", "timestamp,product\n" + rows))
    assert raw.table["timestamp"].tolist() == utc(*expected)


def test_a_zone_in_the_timestamp_column_name_localises_naive_times(tmp_path):
    text = "Time (CET),product\n2024-01-01 10:00,A\n"
    path = write(tmp_path, "x.csv", text)
    assert read_reports(path).table["timestamp"].tolist() == utc("2024-01-01 09:00")
    assert read_reports(path, tz="UTC").table["timestamp"].tolist() == utc("2024-01-01 10:00")
    other = write(tmp_path, "y.csv", "Time (count),product\n2024-01-01 10:00,A\n")
    assert read_reports(other).table["timestamp"].tolist() == utc("2024-01-01 10:00")


def test_dates_of_one_day_leave_a_note_and_date_order_decides(tmp_path):
    path = write(tmp_path, "day.csv", "timestamp,product\n01/03/2024 00:05,A\n"
                                      "01/03/2024 00:10,A\n")
    raw = read_reports(path)
    assert raw.table["timestamp"].tolist() == utc("2024-01-03 00:05", "2024-01-03 00:10")
    assert len(raw.notes) == 1 and "read month first" in raw.notes[0]
    assert "--date-order dmy" in raw.notes[0]
    forced = read_reports(path, date_order="DMY")
    assert forced.table["timestamp"].tolist() == utc("2024-03-01 00:05", "2024-03-01 00:10")
    assert forced.notes == ()
    many = write(tmp_path, "week.csv", "timestamp,product\n" + "".join(
        f"{d:02d}/03/2024 00:05,A\n" for d in range(1, 8)))
    assert read_reports(many).notes == ()  # the spread of the dates decides
    with pytest.raises(SpikesInputError, match="unknown date order 'ymd'"):
        read_reports(path, date_order="ymd")


def test_cli_date_orders_are_the_readers():
    from spikes import cli

    assert cli.DATE_ORDERS == reading.DATE_ORDERS
    assert cli.FORMATS == reading.FORMATS


def test_a_commented_out_header_is_pointed_out(tmp_path):
    path = write(tmp_path, "x.csv", "# export\n#timestamp,product\n2024-01-01,A\n2024-01-02,B\n")
    with pytest.raises(SpikesInputError, match="'#timestamp,product' before it looks like the "
                                               "header: remove its '#'"):
        read_reports(path)


@pytest.mark.parametrize(
    ("header", "row", "kind", "ignored"),
    [
        ("#,timestamp,product,reports", "1,2024-01-01T00:00Z,A,3", "counts", ("#",)),
        ("timestamp,product,reports,Time (local)", "2024-01-01T00:00Z,A,3,x", "counts",
         ("Time (local)",)),
        ("timestamp,product,Name (display),reports", "2024-01-01T00:00Z,A,x,3", "counts",
         ("Name (display)",)),
        ("Date,Time (ms),product,reports", "2024-01-01T00:00Z,5,A,3", "counts", ("Time (ms)",)),
        ("created_at,service,text,like_count", "2024-01-01T00:00Z,A,hi,3", "events",
         ("text", "like_count")),
    ],
)
def test_headers_that_only_look_like_new_rules(tmp_path, header, row, kind, ignored):
    raw = read_reports(write(tmp_path, "x.csv", f"{header}\n{row}\n"))
    assert raw.kind == kind and len(raw.table) == 1
    assert raw.table["timestamp"].tolist() == utc("2024-01-01 00:00")
    assert raw.ignored == tuple(f"'x.csv': {c}" for c in ignored)


def test_a_first_block_of_one_day_sets_no_rule_for_the_next(tmp_path):
    # The first block's dates read both ways (one day): the next blocks decide for
    # themselves, from their own spread of dates.
    stamps = _day_rows("2024-03-01", 6, "%d/%m/%Y %H:%M", step_min=15)
    path = write(tmp_path, "uk.csv", "date,product\n" + "".join(f"{t},A\n" for t in stamps))
    blocks = list(reading.read_report_blocks(path, block_bytes=1200))
    later = pd.concat([b.table["timestamp"] for b in blocks[2:]], ignore_index=True)
    assert later.is_monotonic_increasing and later.iloc[-1].month == 3


@pytest.mark.parametrize(("header", "expected"), [("Time (PST)", "2024-07-01 18:00"),
                                                  ("time [Europe/Berlin]", "2024-07-01 08:00")])
def test_zone_names_in_the_header(tmp_path, header, expected):
    raw = read_reports(write(tmp_path, "x.csv", f"{header},product\n2024-07-01 10:00,A\n"))
    assert raw.table["timestamp"].tolist() == utc(expected)
