"""Tests for spikes.evaluation.evaluate: each matching rule of EVALUATION.md on hand-made cases."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.evaluation.evaluate import (
    Evaluation,
    evaluate,
    product_weeks_from_span,
    read_incidents,
    read_labels,
)

T0 = pd.Timestamp("2024-03-01T12:00:00Z")


def at(minutes: float) -> pd.Timestamp:
    """A time ``minutes`` after the reference onset T0."""
    return T0 + pd.Timedelta(minutes=minutes)


def labels(*rows: tuple[str, float, float]) -> pd.DataFrame:
    """Labels from (product, onset minutes, end minutes) relative to T0."""
    return pd.DataFrame(
        {
            "product": [r[0] for r in rows],
            "onset": [at(r[1]) for r in rows],
            "end": [at(r[2]) for r in rows],
        }
    )


def incidents(*rows: tuple[str, float]) -> pd.DataFrame:
    """Incidents from (product, onset minutes) relative to T0."""
    return pd.DataFrame(
        {"product": [r[0] for r in rows], "onset": pd.to_datetime([at(r[1]) for r in rows])}
    )


# Each case: labels, incidents, expected (tp, fp, fn, duplicates), expected delays of TPs.
CASES = {
    "on time": ([("a", 0, 60)], [("a", 0)], (1, 0, 0, 0), [0.0]),
    "early by 5 min is a TP with delay -5": ([("a", 0, 60)], [("a", -5)], (1, 0, 0, 0), [-5.0]),
    "early by exactly 10 min is still a TP": (
        [("a", 0, 60)], [("a", -10)], (1, 0, 0, 0), [-10.0]
    ),
    "early by 11 min is a FP and a FN": ([("a", 0, 60)], [("a", -11)], (0, 1, 1, 0), []),
    "late within a long label": ([("a", 0, 120)], [("a", 100)], (1, 0, 0, 0), [100.0]),
    "at the label's end": ([("a", 0, 120)], [("a", 120)], (1, 0, 0, 0), [120.0]),
    "after the end of a long label": ([("a", 0, 120)], [("a", 121)], (0, 1, 1, 0), []),
    "short label: after end but before t0 + 30 min": (
        [("a", 0, 10)], [("a", 25)], (1, 0, 0, 0), [25.0]
    ),
    "short label: at t0 + 30 min exactly": ([("a", 0, 10)], [("a", 30)], (1, 0, 0, 0), [30.0]),
    "short label: after t0 + 30 min": ([("a", 0, 10)], [("a", 31)], (0, 1, 1, 0), []),
    "duplicates: earliest matched, others FP": (
        [("a", 0, 60)], [("a", 20), ("a", 2), ("a", 40)], (1, 2, 0, 2), [2.0]
    ),
    "other product does not match": ([("a", 0, 60)], [("b", 0)], (0, 1, 1, 0), []),
    "incident far from any label is FP": (
        [("a", 0, 60)], [("a", 5), ("a", 600)], (1, 1, 0, 0), [5.0]
    ),
    "no incidents": ([("a", 0, 60), ("b", 0, 60)], [], (0, 0, 2, 0), []),
    "no labels": ([], [("a", 0)], (0, 1, 0, 0), []),
    "two products, two labels": (
        [("a", 0, 60), ("b", 0, 60)], [("b", 3), ("a", 7)], (2, 0, 0, 0), [7.0, 3.0]
    ),
    # Overlapping labels of one product, matched literally label by label.
    "overlap: shared earliest candidate makes two TPs": (
        [("a", 0, 60), ("a", 5, 60)], [("a", 6), ("a", 30)], (2, 1, 0, 1), [6.0, 1.0]
    ),
    "overlap: match of one label is never a duplicate of another": (
        [("a", 0, 60), ("a", 50, 120)], [("a", 5), ("a", 55)], (2, 0, 0, 0), [5.0, 5.0]
    ),
    "overlap: non-earliest candidate of two labels is one duplicate": (
        [("a", 0, 60), ("a", 5, 60)], [("a", 1), ("a", 40)], (2, 1, 0, 1), [1.0, -4.0]
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_matching_rules(case: str) -> None:
    label_rows, incident_rows, (tp, fp, fn, dup), delays = CASES[case]
    ev = evaluate(incidents(*incident_rows), labels(*label_rows))
    assert (ev.tp, ev.fp, ev.fn, ev.duplicates) == (tp, fp, fn, dup)
    assert ev.n_labels == len(label_rows) and ev.n_incidents == len(incident_rows)
    got = ev.matches.loc[ev.matches["tp"], "delay_min"].tolist()
    assert got == pytest.approx(delays)
    assert len(ev.incident_status) == len(incident_rows)
    counts = ev.incident_status["status"].value_counts()
    assert counts.get("duplicate", 0) == dup
    assert counts.get("false_positive", 0) + counts.get("duplicate", 0) == fp


def test_statuses_and_tables() -> None:
    ev = evaluate(
        incidents(("a", 20), ("a", 2), ("a", 600), ("b", 0)), labels(("a", 0, 60))
    )
    assert ev.incident_status["status"].tolist() == [
        "duplicate", "tp", "false_positive", "false_positive"
    ]
    assert ev.incident_status["label"].tolist()[:2] == [0, 0]
    assert ev.incident_status["label"].isna().tolist() == [False, False, True, True]
    row = ev.matches.iloc[0]
    assert bool(row["tp"]) and row["matched_onset"] == at(2) and row["incident"] == 1
    assert row["n_candidates"] == 2
    by = ev.by_product.set_index("product")
    assert by.loc["a", ["tp", "fp", "fn"]].tolist() == [1, 2, 0]
    assert by.loc["b", ["tp", "fp", "fn", "n_labels"]].tolist() == [0, 1, 0, 0]
    assert by.loc["a", "precision"] == pytest.approx(1 / 3)


def test_ratios() -> None:
    ev = evaluate(
        incidents(("a", 0), ("a", 600), ("b", 0)),
        labels(("a", 0, 60), ("b", 0, 60), ("c", 0, 60), ("c", 1000, 1060)),
    )
    assert (ev.tp, ev.fp, ev.fn) == (2, 1, 2)
    assert ev.precision == pytest.approx(2 / 3)
    assert ev.recall == pytest.approx(2 / 4)
    assert ev.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))


@pytest.mark.parametrize(
    ("label_rows", "incident_rows", "expected"),
    [
        ([], [], (1.0, 1.0, 1.0)),  # nothing to find, nothing raised
        ([("a", 0, 60)], [], (0.0, 0.0, 0.0)),  # missed everything, raised nothing
        ([], [("a", 0)], (0.0, 1.0, 0.0)),  # only false alarms
    ],
)
def test_zero_division_conventions(label_rows, incident_rows, expected) -> None:
    ev = evaluate(incidents(*incident_rows), labels(*label_rows))
    assert (ev.precision, ev.recall, ev.f1) == expected


def test_delay_median_and_p90() -> None:
    # Ten labels, each detected with delays -5, 0, 1, ..., 8 minutes.
    delays = [-5, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    lab = labels(*[("a", 1000 * k, 1000 * k + 60) for k in range(10)])
    inc = incidents(*[("a", 1000 * k + d) for k, d in enumerate(delays)])
    ev = evaluate(inc, lab)
    assert ev.tp == 10
    assert ev.delay_median_min == pytest.approx(3.5)  # (3 + 4) / 2
    # numpy linear percentile: position 0.9 * 9 = 8.1 -> 7 + 0.1 * (8 - 7)
    assert ev.delay_p90_min == pytest.approx(7.1)
    assert ev.delay_p90_min == pytest.approx(np.percentile(delays, 90))


def test_delays_nan_without_tp() -> None:
    ev = evaluate(incidents(("a", 500)), labels(("a", 0, 60)))
    assert math.isnan(ev.delay_median_min) and math.isnan(ev.delay_p90_min)


def test_product_weeks() -> None:
    # 7 days of 5-minute buckets: start of first to start of last bucket + one bucket.
    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-07 23:55")
    assert product_weeks_from_span(start, end, 3) == pytest.approx(3.0)
    assert product_weeks_from_span(start, start, 1, bucket="1D") == pytest.approx(1 / 7)
    with pytest.raises(SpikesInputError):
        product_weeks_from_span(end, start, 1)
    ev = evaluate(incidents(("a", 0), ("a", 600), ("b", 9)), labels(("a", 0, 60)),
                  product_weeks=4.0)
    assert ev.fp == 2 and ev.false_alarms_per_product_week == pytest.approx(0.5)
    assert math.isnan(evaluate(incidents(("a", 600)), labels()).false_alarms_per_product_week)
    with pytest.raises(SpikesInputError, match="product_weeks"):
        evaluate(incidents(), labels(), product_weeks=0)


def test_custom_allowances_for_nab_windows() -> None:
    lab = labels(("a", 0, 300))
    early = evaluate(incidents(("a", -1)), lab, early_allowance=pd.Timedelta(0))
    assert (early.tp, early.fp) == (0, 1)
    assert evaluate(incidents(("a", 300)), lab, early_allowance=pd.Timedelta(0)).tp == 1


def test_json_is_nan_free() -> None:
    ev = evaluate(incidents(("a", 600)), labels(("a", 0, 60), ("b", 0, 60)))
    assert math.isnan(ev.delay_median_min)
    text = json.dumps(ev.to_dict(), allow_nan=False)
    back = json.loads(text)
    assert back["delay_median_min"] is None
    assert back["false_alarms_per_product_week"] is None
    assert back["matches"][0]["matched_onset"] is None
    assert back["matches"][0]["onset"] == "2024-03-01T12:00:00+00:00"
    assert back["by_product"]["a"]["fp"] == 1
    assert set(json.loads(json.dumps(ev.to_dict(tables=False)))) >= {"tp", "fp", "f1"}


def test_to_table_mentions_the_figures() -> None:
    ev = evaluate(incidents(("a", 5)), labels(("a", 0, 60)), product_weeks=1.0)
    table = ev.to_table()
    assert "TP 1" in table and "precision 1.000" in table and "median 5.0" in table
    assert isinstance(ev, Evaluation) and table.splitlines()[-1].startswith("a ")


def test_timezones_and_naive_text() -> None:
    lab = pd.DataFrame(
        {"product": ["a"], "onset": ["2024-03-01T12:00:00"], "end": ["2024-03-01T13:00Z"]}
    )
    inc = pd.DataFrame({"product": ["a"], "onset": ["2024-03-01T14:03:00+02:00"]})
    ev = evaluate(inc, lab)
    assert ev.tp == 1 and ev.delay_median_min == pytest.approx(3.0)
    assert str(ev.matches["onset"].dt.tz) == "UTC"


# --------------------------------------------------------------------------- reading


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_labels_and_incidents(tmp_path: Path) -> None:
    lab = read_labels(write(
        tmp_path, "labels.csv",
        "product,onset,end,event\nTeams,2024-03-01T12:00:00,2024-03-01T13:00:00Z,outage 1\n"
        "\nTeams,2024-03-02 08:00,2024-03-02 08:10,\n",
    ))
    assert lab["onset"].tolist() == [T0, pd.Timestamp("2024-03-02T08:00Z")]
    assert lab["event"].tolist() == ["outage 1", ""]
    inc = read_incidents(write(
        tmp_path, "incidents.csv", "product,onset,peak\nTeams,2024-03-01T12:04:00+00:00,9\n"
    ))
    assert inc.columns.tolist() == ["product", "onset", "peak"]
    ev = evaluate(tmp_path / "incidents.csv", tmp_path / "labels.csv")
    assert (ev.tp, ev.fn, ev.delay_median_min) == (1, 1, 4.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("product,onset,end\na,2024-01-01,2024-01-02\na,2024-01-01,2024-01-02\n"
         "a,2024-01-01,soon\n",
         "labels.csv line 4, column 'end': 'soon' is not a timestamp (expected ISO-8601,"),
        ("product,onset\na,2024-01-01\n",
         "labels.csv: missing column 'end' (found: product, onset; expected one named "
         "end/stop"),
        ("product,onset,end\na,2024-01-02T00:00,2024-01-01T00:00\n",
         "labels.csv line 2: end 2024-01-01T00:00:00+00:00 is before onset "
         "2024-01-02T00:00:00+00:00"),
        ("product,onset,end\na,2024-01-02,2024-01-01\n",  # the end of the day before
         "labels.csv line 2: end 2024-01-01T23:59:59.999999+00:00 is before onset "
         "2024-01-02T00:00:00+00:00"),
        ("product,onset,end\n,2024-01-01,2024-01-02\n",
         "labels.csv line 2, column 'product': empty"),
        ("product,onset,end\na,,2024-01-02\n", "labels.csv line 2, column 'onset': empty"),
        ("product,onset,end\na,now,2024-01-02\n", "'now' is not a timestamp"),
        ("product,onset,end\na,01/02/2024,2024-01-02\n",  # day or month first: refused
         "'01/02/2024' is 1 February 2024 day first or 2 January 2024 month first"),
        ("product,onset,end\na,2024-01-01\n", "labels.csv line 2: 2 fields (expected 3"),
        ("", "labels.csv: the file is empty"),
    ],
)
def test_label_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "labels.csv", text)
    with pytest.raises(SpikesInputError) as info:
        read_labels(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpikesInputError, match="cannot read the file"):
        read_incidents(tmp_path / "nope.csv")


def test_dataframe_inputs_are_validated() -> None:
    with pytest.raises(SpikesInputError, match=r"incidents: missing column 'onset'"):
        evaluate(pd.DataFrame({"product": ["a"]}), labels())
    with pytest.raises(SpikesInputError, match=r"labels row 0, column 'end': 'x' is not"):
        evaluate(incidents(), pd.DataFrame({"product": ["a"], "onset": [T0], "end": ["x"]}))
    with pytest.raises(SpikesInputError, match=r"labels row 1: end .* is before onset"):
        evaluate(incidents(), labels(("a", 0, 10), ("a", 10, 0)))
    with pytest.raises(SpikesInputError, match=r"incidents row 0, column 'onset': missing"):
        evaluate(pd.DataFrame({"product": ["a"], "onset": [pd.NaT]}), labels())
    with pytest.raises(SpikesInputError, match="early_allowance"):
        evaluate(incidents(), labels(), early_allowance=pd.Timedelta("-1min"))


@pytest.mark.parametrize("given", [None, [], pd.Series([1.0]), 3])
def test_tables_that_are_neither_frames_nor_paths_are_named(given) -> None:
    # They were "expected str, bytes or os.PathLike object" from inside the file reader.
    with pytest.raises(SpikesInputError, match=rf"incidents: a DataFrame or the path .* "
                                               rf"not a {type(given).__name__}$"):
        evaluate(given, labels())
    with pytest.raises(SpikesInputError, match="labels: a DataFrame or the path"):
        evaluate(incidents(), given)


def test_empty_untyped_incidents_table_scores_zero() -> None:
    # What a detector returns when it finds nothing may carry no dtype.
    labels = pd.DataFrame({"product": ["a"], "onset": ["2026-01-01T00:00"],
                           "end": ["2026-01-01T01:00"]})
    empty = pd.DataFrame({"product": pd.Series(dtype=object),
                          "onset": pd.Series(dtype=object)})
    result = evaluate(empty, labels)
    assert result.tp == 0 and result.fn == 1 and result.recall == 0.0


def test_label_columns_by_other_common_names(tmp_path: Path) -> None:
    path = write(tmp_path, "labels.csv", "Service,Start,Stop,note\na,2024-01-01,2024-01-02,x\n")
    lab = read_labels(path)
    assert lab.columns.tolist()[:3] == ["product", "onset", "end"]
    assert lab["product"].tolist() == ["a"] and lab["note"].tolist() == ["x"]
    two = write(tmp_path, "two.csv", "service,app,onset,end\na,b,2024-01-01,2024-01-02\n")
    # It said "missing column 'product'", listing both as names it expects.
    with pytest.raises(SpikesInputError, match="2 columns could be the 'product' column "
                       r"\('service', 'app'\); rename the one that is to 'product'"):
        read_labels(two)


@pytest.mark.parametrize("header", [
    "started_at,resolved_at,component,impact",  # a status page's history
    "created_on,resolved_on,service_name,urgency",  # an incident tracker's export
    "Product Name,Start Date,End-Date,note",
    "started_at,resolved_at,component,name",  # name: the incident's title
    "created_at,resolved_at,service,started_at",  # created_at: when it was filed
])
def test_labels_with_the_headers_of_common_exports(tmp_path: Path, header: str) -> None:
    # Each was refused ("missing column 'product'"), while the reports reader took
    # "Product Name" and "service_name".
    cells = {"product": "Outlook", "onset": "2026-01-22T19:00Z", "end": "2026-01-22T21:00Z"}
    names = header.split(",")
    order = ["onset", "end", "product", "x"] if names[0] != "Product Name" else [
        "product", "onset", "end", "x"]
    if names[-1] == "started_at":
        order = ["x", "end", "product", "onset"]
    row = ",".join(cells.get(k, "minor") for k in order)
    lab = read_labels(write(tmp_path, "labels.csv", f"{header}\n{row}\n"))
    assert lab[["product", "onset", "end"]].values.tolist() == [
        ["Outlook", pd.Timestamp("2026-01-22T19:00Z"), pd.Timestamp("2026-01-22T21:00Z")]]


@pytest.mark.parametrize("text", [
    "product;onset;end\nOutlook;2026-01-22T19:00Z;2026-01-22T21:00Z\n",  # European Excel
    "\ufeffproduct;onset;end\nOutlook;2026-01-22T19:00Z;2026-01-22T21:00Z\n",  # with a BOM
    "product,onset,end,,\nOutlook,2026-01-22T19:00Z,2026-01-22T21:00Z,,\n",  # trailing ,,
    "product\tonset\tend\nOutlook\t2026-01-22T19:00Z\t2026-01-22T21:00Z\n",
])
def test_labels_from_a_spreadsheet_are_read(tmp_path: Path, text: str) -> None:
    # Semicolons, tabs and a spreadsheet's empty trailing columns (which read as a column
    # '' twice) are the same labels.
    lab = read_labels(write(tmp_path, "labels.csv", text))
    assert lab["product"].tolist() == ["Outlook"]
    assert lab["end"].iloc[0] - lab["onset"].iloc[0] == pd.Timedelta("2h")


def test_an_empty_column_with_values_still_needs_a_name(tmp_path: Path) -> None:
    path = write(tmp_path, "labels.csv", "product,onset,end,\nA,2026-01-01,2026-01-02,x\n")
    lab = read_labels(path)  # a column '' with a value is kept, as any other column
    assert lab[""].tolist() == ["x"]


def test_cli_notes_a_labels_file_without_labels(tmp_path: Path, capsys) -> None:
    from spikes.cli import main

    incidents = write(tmp_path, "incidents.csv", "product,onset\nA,2026-01-05T10:00Z\n")
    labels = write(tmp_path, "labels.csv", "product,onset,end\n")
    assert main(["evaluate", "--incidents", str(incidents), "--labels", str(labels)]) == 0
    captured = capsys.readouterr()
    assert "holds no labels (a header only)" in captured.err and "FP 1" in captured.out


def test_labels_read_from_a_pipe(tmp_path: Path) -> None:
    # `--labels <(grep Outlook labels.csv)` or /dev/stdin: a stream that cannot be
    # rewound (sniffing the delimiter must not seek).
    import os
    import threading

    fifo = tmp_path / "labels.fifo"
    os.mkfifo(fifo)
    text = "product;onset;end\nOutlook;2026-01-22T19:00Z;2026-01-22T21:00Z\n"
    writer = threading.Thread(target=lambda: fifo.write_text(text))
    writer.start()
    try:
        lab = read_labels(fifo)
    finally:
        writer.join(timeout=10)
    assert lab["product"].tolist() == ["Outlook"]


def test_parquet_written_by_spikes_is_read_back(tmp_path: Path) -> None:
    # `analyze -o inc.parquet` then `evaluate --incidents inc.parquet` said "not a
    # readable UTF-8 CSV file".
    from spikes.io.output import write_table

    inc = pd.DataFrame({"product": ["=Outlook", "Teams"],
                        "onset": [at(0), at(60)], "alerted_at": [at(10), pd.NaT]})
    lab = pd.DataFrame({"product": ["=Outlook"], "onset": [at(-5)], "end": [at(30)]})
    write_table(inc, tmp_path / "inc.parquet")
    write_table(lab, tmp_path / "lab.pq")
    got = read_incidents(tmp_path / "inc.parquet")
    assert got["product"].tolist() == ["=Outlook", "Teams"]  # as written, no guard
    assert got["onset"].tolist() == [at(0), at(60)]
    assert got["alerted_at"].iloc[0] == at(10) and pd.isna(got["alerted_at"].iloc[1])
    result = evaluate(got, read_labels(tmp_path / "lab.pq"), product_weeks=1.0)
    assert (result.tp, result.fp, result.fn) == (1, 1, 0)
    (tmp_path / "bad.parquet").write_text("product,onset\n")
    with pytest.raises(SpikesInputError, match="bad.parquet: not a readable Parquet file"):
        read_incidents(tmp_path / "bad.parquet")


def test_a_time_beyond_what_pandas_holds_is_one_line(tmp_path: Path) -> None:
    # "9999-12-31" (a common "still open" end) was pandas' OutOfBoundsDatetime traceback.
    path = write(tmp_path, "labels.csv",
                 "product,onset,end\nA,2026-01-05T09:00Z,2026-01-05T10:00Z\n"
                 "B,2026-01-05T09:00Z,9999-12-31T00:00Z\n")
    with pytest.raises(SpikesInputError, match=(
            r"labels.csv line 3, column 'end': '9999-12-31T00:00Z' is outside the times "
            r"spikes handles \(1677-09-22 to 2262-04-11\)")):
        read_labels(path)
    path = write(tmp_path, "incidents.csv", "product,onset\nA,1200-01-01\n")
    with pytest.raises(SpikesInputError, match="line 2, column 'onset': '1200-01-01' is "
                                               "outside"):
        read_incidents(path)


def test_naive_times_are_read_in_the_zone_given(tmp_path: Path) -> None:
    # `--tz America/New_York` read the reports in New York time and the labels in UTC:
    # every outage missed, every incident a false alarm, without a word.
    path = write(tmp_path, "labels.csv", "product,onset,end\nA,2026-01-05 09:00,"
                                         "2026-01-05 10:00\n")
    lab = read_labels(path, tz="America/New_York")
    assert lab["onset"].iloc[0] == pd.Timestamp("2026-01-05T14:00Z")
    assert read_labels(path)["onset"].iloc[0] == pd.Timestamp("2026-01-05T09:00Z")
    inc = write(tmp_path, "inc.csv", "product,onset\nA,2026-01-05 09:05\n"
                                     "A,2026-01-05T09:05+00:00\n")
    got = read_incidents(inc, tz="America/New_York")["onset"].tolist()
    assert got == [pd.Timestamp("2026-01-05T14:05Z"), pd.Timestamp("2026-01-05T09:05Z")]
    skipped = write(tmp_path, "dst.csv", "product,onset,end\nA,2026-03-08 02:30,"
                                         "2026-03-08 04:00\n")
    with pytest.raises(SpikesInputError, match="line 2, column 'onset': '2026-03-08 02:30' "
                                               "cannot be read in time zone 'America/New_York' "
                                               r"\(it does not exist there, the hour the "
                                               "clocks skip\\)"):
        read_labels(skipped, tz="America/New_York")
    # (pandas' own advice, "try using the 'ambiguous' argument", was no help to a user)
    twice = write(tmp_path, "twice.csv", "product,onset,end\nA,2026-11-01 01:30,"
                                         "2026-11-01 04:00\n")
    with pytest.raises(SpikesInputError, match=r"'2026-11-01 01:30' cannot be read in time "
                       r"zone 'America/New_York' \(it occurs twice there, the hour the clocks "
                       r"go back\): give it with its UTC offset \(2026-11-01T01:30 then "
                       r"-04:00 or -05:00\)"):
        read_labels(twice, tz="America/New_York")
    with pytest.raises(SpikesInputError, match="unknown time zone 'Mars/Olympus'"):
        read_labels(path, tz="Mars/Olympus")


def test_the_cli_reads_labels_in_tz(tmp_path: Path, capsys) -> None:
    from spikes.cli import main

    incidents = write(tmp_path, "incidents.csv", "product,onset\nA,2026-01-05T14:05Z\n")
    labels = write(tmp_path, "labels.csv", "product,onset,end\nA,2026-01-05 09:00,"
                                           "2026-01-05 10:00\n")
    args = ["evaluate", "--incidents", str(incidents), "--labels", str(labels)]
    assert main(args) == 0
    assert "TP 0   FP 1 (duplicates 0)   FN 1" in capsys.readouterr().out
    assert main([*args, "--tz", "America/New_York"]) == 0
    assert "TP 1   FP 0 (duplicates 0)   FN 0" in capsys.readouterr().out


def test_an_end_given_as_a_date_is_the_end_of_that_day(tmp_path: Path) -> None:
    # "A,2026-01-14,2026-01-14" was a window of 30 minutes after midnight: an incident
    # at 15:40 that day was a false alarm and the label a miss, while
    # `explain --window A 2026-01-14 2026-01-14` (the end of that day) raised it.
    path = write(tmp_path, "labels.csv", "product,onset,end\nA,2026-01-14,2026-01-14\n"
                                         "B,2026-01-14,2026-01-14T06:00\n")
    lab = read_labels(path)
    assert lab["end"].tolist() == [pd.Timestamp("2026-01-14T23:59:59.999999Z"),
                                   pd.Timestamp("2026-01-14T06:00Z")]
    inc = pd.DataFrame({"product": ["A"], "onset": [pd.Timestamp("2026-01-14T15:40Z")]})
    result = evaluate(inc, lab, product_weeks=1.0)
    assert (result.tp, result.fp, result.fn) == (1, 0, 1)


def test_evaluate_data_puts_labels_on_its_grid_with_product_weeks_given(tmp_path, capsys):
    # With --product-weeks, --data was ignored: the same incident matched, then did not.
    from spikes.cli import main

    data = tmp_path / "data.csv"
    data.write_text("timestamp,product,reports\n" + "".join(
        f"2026-01-05T{h:02d}:00Z,A,5\n" for h in range(24)))
    (tmp_path / "inc.csv").write_text("product,onset,end\nA,2026-01-05T10:00Z,"
                                      "2026-01-05T10:00Z\n")
    (tmp_path / "lab.csv").write_text("product,onset,end\nA,2026-01-05T10:20Z,"
                                      "2026-01-05T10:40Z\n")
    for extra in ([], ["--product-weeks", "1"]):
        assert main(["evaluate", "--incidents", str(tmp_path / "inc.csv"), "--labels",
                     str(tmp_path / "lab.csv"), "--data", str(data), *extra]) == 0
        assert "TP 1   FP 0" in capsys.readouterr().out


def test_a_label_file_named_gz_that_is_not_gzip(tmp_path, capsys):
    from spikes.cli import main

    (tmp_path / "labels.csv.gz").write_text("product,onset,end\n")
    (tmp_path / "inc.csv").write_text("product,onset,end\n")
    assert main(["evaluate", "--incidents", str(tmp_path / "inc.csv"), "--labels",
                 str(tmp_path / "labels.csv.gz"), "--product-weeks", "1"]) == 2
    assert "not a readable UTF-8 CSV file (Not a gzipped file" in capsys.readouterr().err


@pytest.mark.parametrize("weeks", ["0", "-2", "nan", "inf"])
def test_cli_refuses_product_weeks_that_are_not_positive_by_the_flag_name(
        tmp_path: Path, capsys, weeks: str) -> None:
    # It said "product_weeks: 0.0 must be a number > 0" (the Python parameter), once the
    # files were read.
    from spikes.cli import main

    code = main(["evaluate", "--incidents", str(tmp_path / "missing.csv"), "--labels",
                 str(tmp_path / "missing.csv"), "--product-weeks", weeks])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("spikes evaluate: error: --product-weeks must be a number > 0, "
                           f"got {float(weeks):g}")
