"""Tests of spikes.io.shapes: shapes, aliases, explicit columns, the product option,
date and time columns, headers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.io.buckets import load_reports
from spikes.io.reading import read_reports
from tests.report_files import utc, write

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


@pytest.mark.parametrize(("options", "column", "roles"), [
    ({"product_col": "count"}, "count", "product and the count"),
    ({"count_col": "product"}, "product", "product and the count"),
    ({"region_col": "timestamp"}, "timestamp", "timestamp and the region"),
])
def test_a_column_plays_one_role(tmp_path, options, column, roles):
    # --product-col count read each count as a product name (15 products "0.0"...).
    path = write(tmp_path, "x.csv", "timestamp,product,count\n2024-01-01 10:00,Mail,5\n")
    with pytest.raises(SpikesInputError) as err:
        read_reports(path, **options)
    message = str(err.value)
    assert f"column {column!r} is given as both the {roles} column" in message
    assert "x.csv" in message


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
    # --product names the product only: "state" is still the region (F11).
    assert raw.table["region"].tolist() == ["WA", "TX", "MA"]
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


def test_product_option_picks_that_column_of_a_wide_file(tmp_path):
    text = "Timestamp,Outlook,Teams\n2024-01-01T00:00Z,1,2\n2024-01-01T00:05Z,3,4\n"
    raw = read_reports(write(tmp_path, "w.csv", text), product="teams")
    assert raw.kind == "counts"
    assert raw.table["product"].tolist() == ["teams", "teams"]
    assert raw.table["reports"].tolist() == [2.0, 4.0]
    assert raw.ignored == ("'w.csv': Outlook",)


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


@pytest.mark.parametrize("name", ["report_count", "Number of reports", "Report Counts"])
def test_count_column_named_with_a_count_word(tmp_path, name):
    text = f"timestamp,service,{name}\n2024-01-01T00:00Z,A,5\n2024-01-01T00:15Z,A,6\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.kind == "counts" and raw.table["reports"].tolist() == [5.0, 6.0]
    assert raw.ignored == ()


@pytest.mark.parametrize("name", ["Product Name", "service_name", "Service ID",
                                  "Application Name"])
def test_product_column_named_with_a_product_word(tmp_path, name):
    # It was ignored: the file read as one product's counts (named after the file), its
    # products summed into one and their outages reported for it.
    text = (f"Time,{name},Count\n2024-01-01T00:00Z,Outlook,5\n2024-01-01T00:00Z,Teams,7\n"
            "2024-01-01T00:05Z,Outlook,6\n2024-01-01T00:05Z,Teams,8\n")
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert sorted(set(raw.table["product"])) == ["Outlook", "Teams"]
    assert raw.table.groupby("product")["reports"].sum().tolist() == [11.0, 15.0]
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


def test_wide_file_leaves_out_a_text_column_and_refuses_a_repeated_product(tmp_path):
    text = "Timestamp,Outlook,Teams,Notes\n2024-01-01T00:00Z,1,2,maintenance\n" \
           "2024-01-01T00:05Z,3,4,\n"
    raw = read_reports(write(tmp_path, "notes.csv", text))
    assert sorted(set(raw.table["product"])) == ["Outlook", "Teams"]
    assert raw.ignored == ("'notes.csv': Notes (no number)",) and len(raw.rejected) == 0
    twice = write(tmp_path, "twice.csv", "time,Outlook,Teams,Outlook\n2024-01-01T00:00Z,1,2,3\n")
    with pytest.raises(SpikesInputError, match=r"'Outlook' appears twice .*columns 2 and 4"):
        read_reports(twice)


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


def test_long_headers_are_listed_in_part(tmp_path):
    header = ",".join(f"2024-01-{d:02d}" for d in range(1, 31))
    path = write(tmp_path, "x.csv", f"service,{header}\nA,{','.join(['1'] * 30)}\n")
    with pytest.raises(SpikesInputError, match="and 19 more") as err:
        read_reports(path)
    assert len(str(err.value)) < 600
    assert "is the table transposed" in str(err.value)


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


@pytest.mark.parametrize("streaming", [False, True])
def test_product_names_that_differ_only_in_case_are_noted(tmp_path, streaming):
    # "Outlook" and "outlook" are two products, each with part of the reports: said.
    text = ("timestamp,product\n2024-01-01T00:00Z,Outlook\n2024-01-01T00:01Z,outlook\n"
            "2024-01-01T00:02Z,Teams\n")
    data = load_reports(write(tmp_path, "x.csv", text), streaming=streaming, block_bytes=40)
    assert sorted(data.counts.columns) == ["Outlook", "Teams", "outlook"]
    assert [n for n in data.notes if "differ only in case" in n] == [
        "products whose names differ only in case are read as different products: "
        "'Outlook' and 'outlook'; if they are one, write its name one way"]


def test_event_files_that_overlap_are_named(tmp_path):
    # Two exports of one feed, overlapping by an hour: its reports count twice (counts
    # are caught as repeated rows; events cannot tell, so the overlap is said).
    first = "timestamp,product\n" + "".join(f"2024-01-01T{h:02d}:10Z,A\n" for h in range(6))
    second = "timestamp,product\n" + "".join(f"2024-01-01T{h:02d}:20Z,A\n"
                                             for h in range(4, 9))
    a, b = write(tmp_path, "a.csv", first), write(tmp_path, "b.csv", second)
    raw = read_reports([a, b])
    assert [n for n in raw.notes if "both hold reports" in n] == [
        f"{str(a)!r} and {str(b)!r} both hold reports of 'A' from 2024-01-01 04:20 to "
        "2024-01-01 05:10 UTC: if they are overlapping exports of one feed, those reports "
        "count twice"]
    # Two tables of one name (two DataFrames): told apart by their place.
    frames = [pd.read_csv(a), pd.read_csv(b)]
    assert [n for n in read_reports(frames).notes if "both hold reports of 'A'" in n]
    # Read block by block (a big file's path, and `spikes ingest`'s): said alike.
    streamed = load_reports([a, b], streaming=True, block_bytes=40)
    assert [n for n in streamed.notes if "both hold reports" in n] == [
        n for n in raw.notes if "both hold reports" in n]
    apart = "timestamp,product\n2024-01-01T09:00Z,A\n"
    raw = read_reports([write(tmp_path, "a.csv", first), write(tmp_path, "c.csv", apart)])
    assert not [n for n in raw.notes if "both hold reports" in n]
    streamed = load_reports([write(tmp_path, "a.csv", first), write(tmp_path, "c.csv", apart)],
                            streaming=True, block_bytes=40)
    assert not [n for n in streamed.notes if "both hold reports" in n]


def test_a_wide_file_s_totals_column_is_left_out(tmp_path):
    # A spreadsheet's "Total" column was read as a product: every product's outage
    # showed in it too, one more incident per event.
    text = ("timestamp,Outlook,Teams,Total\n2024-01-01T00:00Z,1,2,3\n"
            "2024-01-01T00:05Z,4,N/A,4\n2024-01-01T00:10Z,5,6,11\n")
    raw = read_reports(write(tmp_path, "t.csv", text))
    assert sorted(set(raw.table["product"])) == ["Outlook", "Teams"]
    assert raw.ignored == ("'t.csv': Total (the sum of the other columns)",)
    # A column so named that is no sum of the others is a product.
    other = text.replace(",3\n", ",7\n")
    assert "Total" in set(read_reports(write(tmp_path, "u.csv", other)).table["product"])


@pytest.mark.parametrize("streaming", [False, True])
def test_a_totals_column_is_left_out_block_by_block_too(tmp_path, streaming):
    # Teams empty in the first half, Total = Outlook there: a block of those rows kept
    # Total as a product (no row had every cell), the whole file left it out.
    rows = []
    for i in range(400):
        t = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(minutes=5 * i)
        teams = "" if i < 200 else "3"
        rows.append(f"{t:%Y-%m-%dT%H:%MZ},2,{teams},{2 + (3 if teams else 0)}")
    path = write(tmp_path, "tot.csv", "timestamp,Outlook,Teams,Total\n" + "\n".join(rows) + "\n")
    data = load_reports(path, streaming=streaming, block_bytes=2000)
    assert sorted(data.counts.columns) == ["Outlook", "Teams"]


def test_grafana_series_time_value_export(tmp_path):
    # Read as one series named after the file, the products summed.
    text = ('"Series","Time","Value"\n"Outlook","2026-01-22 19:00:00","5"\n'
            '"Teams","2026-01-22 19:00:00","7"\n"Outlook","2026-01-22 19:05:00","6"\n')
    raw = read_reports(write(tmp_path, "grafana.csv", text))
    assert raw.table.groupby("product", observed=True)["reports"].sum().to_dict() == \
        {"Outlook": 11.0, "Teams": 7.0}


def test_a_product_with_rows_coarser_than_the_grid_is_named(tmp_path):
    # Hourly rows beside 5-minute ones landed whole in one 5-minute bucket, unsaid.
    times = pd.date_range("2026-01-22", periods=24 * 12, freq="5min")
    rows = [f"{t:%Y-%m-%dT%H:%MZ},Outlook,3" for t in times]
    rows += [f"{t:%Y-%m-%dT%H:%MZ},Teams,36" for t in times[::12]]
    data = load_reports(write(tmp_path, "x.csv", "timestamp,product,reports\n"
                              + "\n".join(rows) + "\n"))
    assert data.bucket == pd.Timedelta("5min")
    assert any("'Teams' has rows 1h apart" in n and "Outlook" not in n for n in data.notes)
