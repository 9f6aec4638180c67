"""Hostile and awkward input files, end to end (issue 6).

Each file of ``tests/corpus/`` is one case: read, bucketed and analysed by the whole
pipeline (``load_reports`` + ``analyze``) and by the command line (``spikes analyze``).
The expected outcome is either a one-line :class:`SpikesInputError` naming the file, the
row or column and what was expected (exit code 2 and one stderr line on the command line),
or a result asserted concretely. Big inputs are generated at test time. Also here: the
streaming path matches the in-memory one, safe CSV output, atomic writes, and the
dashboard's handling of untrusted names and upload size.
"""

from __future__ import annotations

import gzip
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.cli import main
from spikes.detect.pipeline import Analysis, analyze
from spikes.errors import SpikesInputError
from spikes.io import buckets, output, reading
from spikes.io.buckets import load_reports
from spikes.model import ReportData

CORPUS = Path(__file__).parent / "corpus"
ROOT = Path(__file__).parent.parent
UTC = "UTC"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


def rejected(data: ReportData) -> list[list]:
    return data.rejected[["line", "column", "value", "reason"]].values.tolist()


def totals(data: ReportData) -> dict[str, float]:
    return {str(k): float(v) for k, v in data.counts.sum().items()}


def series(data: ReportData, product: str) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in data.counts[product]]


def assert_sane(analysis: Analysis) -> None:
    """Detection survived: incidents well ordered and inside the data's span."""
    index = analysis.data.counts.index
    for row in analysis.incidents.itertuples():
        assert index[0] <= row.onset <= row.peak <= row.end <= index[-1], row


@dataclass(frozen=True)
class Case:
    """One corpus file: ``error`` fragments (all must appear in the message), or a
    ``check`` of the result; ``options`` are load_reports options (also given to the CLI)."""

    file: str
    error: tuple[str, ...] = ()
    check: Callable[[ReportData, Analysis], None] | None = None
    options: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- checks


def _rows_with_bad_fields(d: ReportData, a: Analysis) -> None:
    assert rejected(d) == [
        [3, "", "2024-01-01T00:05:00Z,A", "has 2 fields, expected 3"],
        [4, "", "2024-01-01T00:10:00Z,A,2,extra", "has 4 fields, expected 3"],
    ]
    assert series(d, "A") == [1.0, None, None, 4.0]
    assert d.rows_read == 4


def _non_numeric(d: ReportData, a: Analysis) -> None:
    assert rejected(d) == [[3, "reports", "two", "is not a number"],
                           [5, "reports", "0x10", "is not a number"]]
    assert series(d, "A") == [1.0, None, 3.0, None, 5.0]


def _negative(d: ReportData, a: Analysis) -> None:
    assert rejected(d) == [[3, "reports", "-2", "is negative"],
                           [5, "reports", "-0.5", "is negative"]]
    assert series(d, "A") == [1.0, None, 3.0]


def _fractional(d: ReportData, a: Analysis) -> None:
    assert rejected(d) == []
    assert series(d, "A") == [0.25, 1.5, 2.125]


def _nan(d: ReportData, a: Analysis) -> None:
    assert rejected(d) == [[3, "reports", "nan", "is not finite"],
                           [4, "reports", "nan", "is not finite"]]
    assert series(d, "A") == [1.0, None, None, 2.0]


def _infinite(d: ReportData, a: Analysis) -> None:
    assert rejected(d) == [[3, "reports", "inf", "is not finite"],
                           [4, "reports", "-inf", "is not finite"]]
    assert series(d, "A") == [1.0, None, None, 2.0]


def _too_large(d: ReportData, a: Analysis) -> None:
    # Two 1e308 in one bucket would sum to inf: rejected with a reason, the rest kept.
    reason = f"is too large (above {reading.MAX_COUNT:g})"
    assert rejected(d) == [[2, "reports", "1e+308", reason], [3, "reports", "1e+308", reason]]
    assert series(d, "A") == [1.0, 2.0]
    assert np.isfinite(a.baseline.expected.to_numpy()).all()


def _events_duplicated(d: ReportData, a: Analysis) -> None:
    # Events: every row is one report, duplicates included.
    assert series(d, "A") == [3.0, 1.0] and series(d, "B") == [1.0, 0.0]


def _counts_duplicated(d: ReportData, a: Analysis) -> None:
    # The documented rule (spikes.io.buckets.to_buckets): rows of one product and bucket are
    # summed, so a duplicated count row counts twice.
    assert series(d, "A") == [4.0, 1.0, 4.5]
    assert "summed" in buckets.to_buckets.__doc__


def _unsorted(d: ReportData, a: Analysis) -> None:
    assert d.counts.index.is_monotonic_increasing
    assert series(d, "A") == [1.0, 2.0, 3.0, None, None]
    assert series(d, "B") == [1.0, 2.0, None, None, 5.0]


def _mixed_offsets(d: ReportData, a: Analysis) -> None:
    # Four spellings of 12:00 UTC and one of 12:05 UTC.
    assert d.counts.index.tolist() == [ts("2024-06-01 12:00"), ts("2024-06-01 12:05")]
    assert series(d, "A") == [4.0, 1.0]


def _dst(d: ReportData, a: Analysis) -> None:
    # Europe/Berlin: 02:30 on 31 March does not exist (the hour the clocks skip): its row
    # is rejected with that reason, not added to the next hour's bucket (an hour of
    # reports piled into one bucket reads as an outage); 02:30 on 27 October happens
    # twice (CEST then CET: 00:30 and 01:30 UTC).
    seen = d.counts["A"][d.counts["A"] > 0]
    assert seen.index.tolist() == [
        ts("2024-03-31 00:30"), ts("2024-03-31 01:30"),
        ts("2024-10-26 23:30"), ts("2024-10-27 00:30"), ts("2024-10-27 01:30"),
        ts("2024-10-27 02:30"),
    ]
    assert seen.sum() == 6
    assert d.rejected["line"].tolist() == [3]
    assert "does not exist in the time zone" in d.rejected["reason"].iloc[0]


def _bom(d: ReportData, a: Analysis) -> None:
    assert d.products == ["Outlook"] and series(d, "Outlook") == [1.0, 1.0]


def _cafe(d: ReportData, a: Analysis) -> None:
    assert d.products == ["Café"] and series(d, "Café") == [1.0]


def _crlf(d: ReportData, a: Analysis) -> None:
    assert rejected(d) == [[3, "reports", "x", "is not a number"]]
    assert series(d, "A") == [1.0, None, 2.0]


def _semicolon(d: ReportData, a: Analysis) -> None:
    # 31.01.2024 13:00 Berlin = 12:00 UTC; "1,5" is 1.5.
    assert d.counts.index[0] == ts("2024-01-31 12:00")
    assert series(d, "Post") == [1.5, 2.25]
    assert rejected(d) == [[4, "Anzahl", "drei", "is not a number"]]


def _quoted(d: ReportData, a: Analysis) -> None:
    assert d.products == ["Say \"hi\"", "Xbox, Live"]
    assert totals(d) == {"Say \"hi\"": 1.0, "Xbox, Live": 2.0}
    assert d.breakdown is not None
    assert set(d.breakdown["category"]) == {"login\nfailed", "other"}
    assert rejected(d) == [[6, "timestamp", "not-a-date", "is not a date"]]


def _long_name(d: ReportData, a: Analysis) -> None:
    (name,) = d.products
    assert name == "Very Long Product " + "x" * 10_000
    assert series(d, name) == [1.0, 1.0]


def _non_ascii(d: ReportData, a: Analysis) -> None:
    assert totals(d) == {
        "\U0001f600 Emoji": 1.0, "e\u0301t\u00e9": 1.0, "\u05e9\u05d9\u05e8\u05d5\u05ea": 1.0,
        "\u202eevil\u202c": 1.0, "\u6f22\u5b57\u30b5\u30fc\u30d3\u30b9": 2.0,
    }


def _gzip(d: ReportData, a: Analysis) -> None:
    assert series(d, "A") == [3.0, 4.0] and d.kind == "counts"


def _single_bucket(d: ReportData, a: Analysis) -> None:
    assert len(d.counts) == 1 and totals(d) == {"A": 2.0, "B": 1.0}
    assert a.incidents.empty


def _single_row_counts(d: ReportData, a: Analysis) -> None:
    assert series(d, "A") == [3.0] and a.incidents.empty


def _zeros(d: ReportData, a: Analysis) -> None:
    assert len(d.counts) == 864 and totals(d) == {"A": 0.0}
    assert a.incidents.empty


def _one_report(d: ReportData, a: Analysis) -> None:
    assert totals(d) == {"Busy": 576.0, "Lonely": 1.0}
    assert "Lonely" not in set(a.incidents["product"])


def _gaps(d: ReportData, a: Analysis) -> None:
    # Events: the 13 days without a report are real zeros on the grid.
    assert d.counts.index[0] == ts("2024-01-01") and d.counts.index[-1] == ts("2024-01-15 23:40")
    assert len(d.counts) == 15 * 288 - 3 and totals(d) == {"A": 144.0}


def _far_future(d: ReportData, a: Analysis) -> None:
    assert d.counts.index.tolist() == [ts("2999-12-31 23:50"), ts("2999-12-31 23:55")]
    assert series(d, "A") == [1.0, 2.0]


def _before_1970(d: ReportData, a: Analysis) -> None:
    assert d.counts.index[0] == ts("1969-12-30 06:00")
    a_series = d.counts["A"][d.counts["A"] > 0]
    assert a_series.to_dict() == {ts("1969-12-31 23:55"): 2.0, ts("1970-01-01"): 1.0}


def _year_10000(d: ReportData, a: Analysis) -> None:
    assert rejected(d) == [[3, "timestamp", "10000-01-01T00:00:00Z", "is not a date"]]
    assert totals(d) == {"A": 1.0}


def _epoch(d: ReportData, a: Analysis) -> None:
    assert d.counts.index.tolist() == [ts("2024-01-01 00:00"), ts("2024-01-01 00:05")]
    assert series(d, "A") == [1.0, 1.0] and series(d, "B") == [1.0, 0.0]


def _blank_products(d: ReportData, a: Analysis) -> None:
    assert rejected(d) == [[2, "product", "", "is missing"], [3, "product", "", "is missing"]]
    assert totals(d) == {"A": 1.0}


def _nul(d: ReportData, a: Analysis) -> None:
    assert totals(d) == {"A\x00B": 2.0}


def _formula(d: ReportData, a: Analysis) -> None:
    assert totals(d) == {"=HYPERLINK(\"http://evil\")": 1.0, "@SUM(A1)": 1.0}


def _html(d: ReportData, a: Analysis) -> None:
    assert totals(d) == {"<img src=x onerror=alert(1)>": 2.0}


def _wide(d: ReportData, a: Analysis) -> None:
    assert rejected(d) == [[3, "Outlook", "-3", "is negative"],
                           [4, "Teams", "abc", "is not a number"]]
    assert series(d, "Outlook") == [1.0, None, 4.0] and series(d, "Teams") == [None, 2.0, None]


# Where rejected rows leave holes, the bucket is given: inferring it from the remaining
# rows would (rightly) find a larger spacing.
FIVE_MINUTES = {"bucket": "5min"}

CASES = [
    Case("empty.csv", error=("'", "empty.csv", "is empty", "header line")),
    Case("blank_lines_only.csv", error=("blank_lines_only.csv", "is empty")),
    Case("header_only.csv", error=("header_only.csv", "no data rows", "timestamp, product")),
    Case("unknown_columns.csv",
         error=("unknown_columns.csv", "no timestamp column", "'when', 'what', 'how_many'",
                "--timestamp-col")),
    Case("timestamp_column_only.csv",
         error=("timestamp_column_only.csv", "only a timestamp column", "--product")),
    Case("text_columns_without_product.csv",
         error=("text_columns_without_product.csv", "column 'city'", "not numeric",
                "--product-col")),
    Case("ambiguous_count_columns.csv",
         error=("ambiguous_count_columns.csv", "'count' and 'reports'", "--count-col")),
    Case("rows_with_missing_and_extra_fields.csv", check=_rows_with_bad_fields,
         options={"bucket": "5min"}),
    Case("counts_non_numeric.csv", check=_non_numeric, options=FIVE_MINUTES),
    Case("counts_all_non_numeric.csv",
         error=("counts_all_non_numeric.csv", "no usable row", "line 2", "reports 'one'",
                "is not a number")),
    Case("counts_negative.csv", check=_negative, options=FIVE_MINUTES),
    Case("counts_fractional.csv", check=_fractional),
    Case("counts_nan.csv", check=_nan, options=FIVE_MINUTES),
    Case("counts_infinite.csv", check=_infinite, options=FIVE_MINUTES),
    Case("counts_too_large_to_sum.csv", check=_too_large),
    Case("events_duplicated_timestamps.csv", check=_events_duplicated),
    Case("counts_duplicated_rows.csv", check=_counts_duplicated),
    Case("unsorted_rows.csv", check=_unsorted),
    Case("mixed_utc_offsets.csv", check=_mixed_offsets),
    Case("naive_local_times_across_dst.csv", check=_dst, options={"tz": "Europe/Berlin"}),
    Case("utf8_bom.csv", check=_bom),
    Case("utf16_with_bom.csv", check=_cafe),
    Case("utf16_without_bom.csv", check=_cafe),
    Case("windows_1252_bytes.csv", check=_cafe),
    Case("crlf_line_ends.csv", check=_crlf, options=FIVE_MINUTES),
    Case("semicolon_delimiter_decimal_comma.csv", check=_semicolon,
         options={"timestamp_col": "Zeit", "product_col": "Dienst", "count_col": "Anzahl",
                  "tz": "Europe/Berlin"}),
    Case("semicolon_delimiter_decimal_comma.csv",
         error=("semicolon_delimiter_decimal_comma.csv", "no timestamp column", "'Zeit'",
                "--timestamp-col")),
    Case("quoted_fields_with_commas_and_newlines.csv", check=_quoted),
    Case("unterminated_quote.csv",
         error=("unterminated_quote.csv", "line 3", "quoted field is never closed")),
    Case("very_long_product_name.csv", check=_long_name),
    Case("non_ascii_product_names.csv", check=_non_ascii),
    Case("gzip_compressed.csv.gz", check=_gzip),
    Case("gzip_corrupt.csv.gz", error=("gzip_corrupt.csv.gz", "not a valid gzip file")),
    Case("binary_garbage.bin", error=("binary_garbage.bin", "no timestamp column")),
    Case("single_bucket.csv", check=_single_bucket),
    Case("single_row_counts.csv",
         error=("single_row_counts.csv", "cannot infer the bucket size", "--bucket")),
    Case("single_row_counts.csv", check=_single_row_counts, options={"bucket": "5min"}),
    Case("all_zero_counts.csv", check=_zeros),
    Case("product_with_one_report.csv", check=_one_report),
    Case("gaps_of_days.csv", check=_gaps),
    Case("far_future_timestamps.csv", check=_far_future),
    Case("before_1970_timestamps.csv", check=_before_1970),
    Case("year_10000_timestamp.csv", check=_year_10000),
    Case("stray_far_future_timestamp.csv",
         error=("stray_far_future_timestamp.csv", "nothing between", "2200-01-01",
                "stray timestamp")),
    # A mistyped year among two weeks of data: a small grid (105,000 buckets), refused
    # all the same (it stretched the span to a year, and every rate per week shrank).
    Case("stray_mistyped_year.csv",
         error=("stray_mistyped_year.csv", "nothing between", "2027-01-19", "mistyped year")),
    Case("stray_epoch_zero_timestamp.csv",
         error=("stray_epoch_zero_timestamp.csv", "nothing between", "1970-01-01",
                "stray timestamp")),
    Case("epoch_seconds.csv", check=_epoch),
    Case("all_rows_rejected.csv",
         error=("all_rows_rejected.csv", "no usable row", "line 2", "timestamp 'yesterday'",
                "is not a date")),
    Case("empty_and_blank_product_names.csv", check=_blank_products),
    Case("nul_bytes.csv", check=_nul),
    Case("formula_product_names.csv", check=_formula),
    Case("html_product_name.csv", check=_html),
    Case("wide_with_bad_cells.csv", check=_wide, options=FIVE_MINUTES),
]


def _id(case: Case) -> str:
    return case.file + ("" if not case.options else "+" + "+".join(case.options))


def test_every_corpus_file_has_a_case() -> None:
    assert {p.name for p in CORPUS.iterdir()} == {c.file for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_pipeline(case: Case) -> None:
    path = CORPUS / case.file
    if case.error:
        with pytest.raises(SpikesInputError) as err:
            analyze(load_reports(path, **case.options))
        message = str(err.value)
        assert "\n" not in message and "\r" not in message
        for fragment in case.error:
            assert fragment in message, message
        return
    data = load_reports(path, **case.options)
    analysis = analyze(data)
    assert data.rows_read >= len(data.rejected)
    assert_sane(analysis)
    assert case.check is not None
    case.check(data, analysis)


def _argv(case: Case) -> list[str]:
    flags = {"tz": "--tz", "bucket": "--bucket", "timestamp_col": "--timestamp-col",
             "product_col": "--product-col", "count_col": "--count-col"}
    out = []
    for key, value in case.options.items():
        out += [flags[key], value]
    return out


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_cli(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "incidents.csv"
    code = main(["analyze", str(CORPUS / case.file), "-o", str(out), *_argv(case)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if case.error:
        assert code == 2
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("spikes analyze: error: ") and case.file in err
        assert not out.exists()
    else:
        assert code == 0
        assert out.exists()
        assert len(err.strip().splitlines()) <= 1  # the rejected rows, if any, in one line


def test_cli_in_a_real_process_is_one_line_without_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "spikes", "analyze", str(CORPUS / "unterminated_quote.csv")],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "unterminated_quote.csv' line 3" in done.stderr


# --------------------------------------------------------------- generated big inputs


def _minute_year_csv(path: Path) -> np.ndarray:
    """A 1-minute count series over 2023 (525,600 rows) with an outage on 1 July."""
    index = np.arange(np.datetime64("2023-01-01T00:00"), np.datetime64("2024-01-01T00:00"))
    rng = np.random.default_rng(11)
    minute = np.arange(len(index))
    rate = 4.0 + 3.0 * np.sin(np.pi * (minute % 1440) / 1440) ** 2
    counts = rng.poisson(rate)
    outage = slice(181 * 1440 + 600, 181 * 1440 + 660)  # 2023-07-01 10:00-11:00
    counts[outage] += rng.poisson(60.0, 60)
    stamps = np.char.add(np.datetime_as_string(index, unit="m"), "Z,A,")
    lines = np.char.add(stamps, counts.astype(str))
    path.write_text("timestamp,product,reports\n" + "\n".join(lines.tolist()) + "\n")
    return counts


def test_one_minute_series_over_a_year(tmp_path: Path) -> None:
    path = tmp_path / "minute_year.csv"
    counts = _minute_year_csv(path)
    data = load_reports(path)
    assert data.bucket == pd.Timedelta(minutes=1)
    assert len(data.counts) == 525_600 and data.counts.index[0] == ts("2023-01-01")
    assert data.counts["A"].sum() == counts.sum() and data.rejected.empty
    analysis = analyze(data)
    assert_sane(analysis)
    hits = analysis.incidents[(analysis.incidents["onset"] >= ts("2023-07-01 09:50"))
                              & (analysis.incidents["onset"] <= ts("2023-07-01 10:10"))]
    assert len(hits) == 1


# ------------------------------------------------------------------ streaming path


def _mixed_file(tmp_path: Path) -> Path:
    """Events with quotes, commas, newlines in names, regions, bad rows; gzip."""
    rng = np.random.default_rng(5)
    n = 6000
    seconds = np.sort(rng.integers(0, 3 * 86400, n))
    names = np.array(["Outlook", 'Teams, "Live"', "Ünïcode 漢", "=cmd", "multi\nline"])
    products = rng.choice(names, n)
    regions = rng.choice(["US", "EU", ""], n)
    lines = ["timestamp,product,region"]
    start = pd.Timestamp("2024-01-01", tz=UTC)
    for s, p, r in zip(seconds, products, regions, strict=True):
        quoted = '"' + p.replace('"', '""') + '"'
        lines.append(f"{(start + pd.Timedelta(seconds=int(s))).isoformat()},{quoted},{r}")
    lines[300] = "garbage,A,US"
    lines[4500] = "2024-01-02T00:00:00Z,,US"
    lines[5000] = "2024-01-02T00:00:00Z,A,US,extra"
    path = tmp_path / "mixed.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


@pytest.mark.parametrize("fmt", ["events", "counts"])
def test_streaming_matches_in_memory(tmp_path: Path, fmt: str) -> None:
    if fmt == "events":
        path = _mixed_file(tmp_path)
    else:
        path = tmp_path / "counts.csv"
        _minute_year_csv(path)
        text = path.read_text().splitlines()[:20_000]
        text[777] = text[777].rsplit(",", 1)[0] + ",-4"
        path.write_text("\n".join(text) + "\n")
    whole = load_reports(path, streaming=False)
    streamed = load_reports(path, streaming=True, block_bytes=4000 if fmt == "events" else 40_000)
    pd.testing.assert_frame_equal(whole.counts, streamed.counts, check_exact=True)
    assert whole.counts.index.freq == streamed.counts.index.freq
    pd.testing.assert_frame_equal(whole.rejected, streamed.rejected)
    if whole.breakdown is not None:
        pd.testing.assert_frame_equal(whole.breakdown, streamed.breakdown)
    assert (whole.rows_read, whole.kind, whole.bucket, whole.sources) == (
        streamed.rows_read, streamed.kind, streamed.bucket, streamed.sources)
    assert len(whole.rejected) == (3 if fmt == "events" else 1)


def test_streaming_is_chosen_above_the_threshold(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = _mixed_file(tmp_path)
    calls: list[int] = []
    original = reading.read_report_blocks

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(buckets, "read_report_blocks", spy)
    load_reports(path)
    assert not calls
    monkeypatch.setattr(buckets, "STREAM_THRESHOLD", 1000)
    data = load_reports(path)
    assert calls and data.counts.sum().sum() == data.rows_read - len(data.rejected)


def test_streaming_reads_in_bounded_blocks(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """No block handed to the parser is much larger than the block size."""
    path = _mixed_file(tmp_path)
    sizes: list[int] = []
    original = reading._read_text  # noqa: SLF001

    def spy(text, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        sizes.append(len(text.data))
        return original(text, *args, **kwargs)

    monkeypatch.setattr(reading, "_read_text", spy)
    blocks = list(reading.read_report_blocks(path, block_bytes=4096))
    assert len(blocks) == len(sizes) > 20
    assert max(sizes) <= 2 * 4096
    assert sum(b.rows_read for b in blocks) == 6000


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("empty.csv", b"", ["empty.csv", "is empty"]),
        ("header.csv", b"timestamp,product\n", ["header.csv", "no data rows"]),
        ("bad.csv", b"timestamp,product\nfoo,A\n", ["bad.csv", "no usable row", "line 2"]),
        ("open.csv", b'timestamp,product\n2024-01-01,"A\n2024-01-02,B\n',
         ["open.csv", "line 2", "never closed"]),
        ("bad.csv.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage",
         ["bad.csv.gz", "gzip"]),
    ],
)
def test_streaming_whole_file_errors(tmp_path: Path, name: str, content: bytes,
                                     fragments: list[str]) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SpikesInputError) as err:
        load_reports(path, streaming=True, block_bytes=8)
    assert all(f in str(err.value) for f in fragments), str(err.value)


# ------------------------------------------------------------------------ safe output

# Leading tabs and carriage returns are trimmed from names on reading; the unit tests of
# spikes.io.output cover them.
FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]


def test_cli_incidents_csv_neutralises_formula_names(tmp_path: Path) -> None:
    """Every product has an outage, so every formula name reaches the incidents CSV."""
    index = pd.date_range("2024-01-01", periods=288 * 7, freq="5min", tz=UTC)
    rng = np.random.default_rng(2)
    rows = []
    for name in FORMULAS:
        counts = rng.poisson(10, len(index))
        counts[1500:1512] += 200
        rows.append(pd.DataFrame({"timestamp": index, "product": name, "reports": counts}))
    source = tmp_path / "formulas.csv"
    pd.concat(rows).to_csv(source, index=False)
    out, events = tmp_path / "incidents.csv", tmp_path / "events.csv"
    assert main(["analyze", str(source), "-o", str(out), "--events-output", str(events)]) == 0
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert set(written["product"]) == {"'" + name for name in FORMULAS}
    for path in (out, events):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in table.columns:
            for cell in table[column]:
                assert not cell.startswith(("=", "+", "@", "\t", "\r"))
                if cell.startswith("-"):  # only negative numbers may start with "-"
                    float(cell)


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    path = tmp_path / "incidents.csv"
    path.write_text("old content\n")

    def crash(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "replace", crash)
    with pytest.raises(OSError, match="No space"):
        output.write_csv(pd.DataFrame({"product": ["A"]}), path)
    assert path.read_text() == "old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["incidents.csv"]


def test_crash_while_writing_keeps_the_old_file(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash half-way through the text (here: in the middle of writing) never touches
    the named file."""
    path = tmp_path / "incidents.csv"
    path.write_text("old content\n")
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, handle) -> None:  # noqa: ANN001
            self.handle = handle

        def __enter__(self):  # noqa: ANN204
            return self

        def __exit__(self, *exc) -> None:  # noqa: ANN002
            self.handle.close()

        def write(self, text: str) -> int:
            self.handle.write(text[: len(text) // 2])
            raise KeyboardInterrupt

    monkeypatch.setattr(output.os, "fdopen", lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))
    with pytest.raises(KeyboardInterrupt):
        output.write_csv(pd.DataFrame({"product": ["A"] * 100}), path)
    assert path.read_text() == "old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["incidents.csv"]


def test_temp_file_is_next_to_the_named_path(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is written outside the folder the user named."""
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(output.os, "replace", spy)
    target = tmp_path / "sub" / "out.csv"
    target.parent.mkdir()
    output.write_csv(pd.DataFrame({"a": [1]}), target)
    ((src, dst),) = seen
    assert Path(src).parent == target.parent and Path(dst) == target
    assert [p.name for p in target.parent.iterdir()] == ["out.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]


# ----------------------------------------------------------------------- dashboard

_HTML_SINKS = re.compile(r"unsafe_allow_html\s*=\s*True|st\.html\(|components\.html\(")


def test_dashboard_sources_render_no_raw_html() -> None:
    """No call in app.py or spikes/dashboard.py turns text into raw HTML."""
    sources = [ROOT / "app.py", ROOT / "spikes" / "dashboard.py"]
    present = [p for p in sources if p.exists()]
    if not present:
        pytest.skip("the dashboard is not there yet")
    for path in present:
        hits = [line.strip() for line in path.read_text().splitlines()
                if _HTML_SINKS.search(line)]
        assert hits == [], f"{path.name}: {hits}"


def test_dashboard_upload_limit_is_explicit() -> None:
    config = ROOT / ".streamlit" / "config.toml"
    if not config.exists():
        pytest.skip(".streamlit/config.toml is not there yet")
    settings = tomllib.loads(config.read_text())
    limit = settings.get("server", {}).get("maxUploadSize")
    assert isinstance(limit, int) and 1 <= limit <= 1024


def _app_test():  # noqa: ANN202
    testing = pytest.importorskip("streamlit.testing.v1")
    if not (ROOT / "app.py").exists():
        pytest.skip("app.py is not there yet")
    return testing.AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


_MARKDOWN_KINDS = ("markdown", "caption", "error", "warning", "info", "success", "title",
                   "header", "subheader")
HTML_NAME = "<img src=x onerror=alert(1)>"


def _markdown_elements(at) -> list:  # noqa: ANN001
    return [e for kind in _MARKDOWN_KINDS for e in getattr(at, kind, [])]


@pytest.mark.parametrize("view", ["overview", "product", "data"])
def test_dashboard_shows_html_names_as_text(view: str) -> None:
    at = _app_test()
    at.query_params["view"] = view
    at.query_params["product"] = HTML_NAME
    at.session_state["spikes_upload"] = {
        "name": "<b>x</b>.csv",
        "data": (CORPUS / "html_product_name.csv").read_bytes(),
        "options": {},
    }
    at.run()
    assert not at.exception
    elements = _markdown_elements(at)
    assert elements
    for element in elements:
        assert not getattr(element.proto, "allow_html", False), element.value
        assert "<img" not in str(element.value) and "<b>" not in str(element.value)
    captions = " ".join(str(e.value) for e in at.caption)
    assert "\\<b\\>x\\</b\\>" in captions  # the file name, escaped for Markdown
    if view == "overview":  # the name reaches the status table as plain text
        assert HTML_NAME in set(at.dataframe[0].value["product"])


def test_dashboard_shows_input_errors_in_an_error_box() -> None:
    at = _app_test()
    at.session_state["spikes_upload"] = {
        "name": "unterminated_quote.csv",
        "data": (CORPUS / "unterminated_quote.csv").read_bytes(),
        "options": {},
    }
    at.run()
    assert not at.exception
    errors = " ".join(str(e.value) for e in at.error)
    assert "unterminated" in errors and "never closed" in errors


def test_streaming_keeps_the_ignored_columns(tmp_path: Path) -> None:
    lines = ["# export\ntimestamp,product,reports,note"]
    lines += [f"2024-01-01T{h:02d}:{m:02d}:00Z,A,\"1,{m:03d}\",x"
              for h in range(24) for m in range(0, 60, 5)]
    path = tmp_path / "noted.csv"
    path.write_text("\n".join(lines) + "\n")
    whole = load_reports(path, streaming=False)
    streamed = load_reports(path, streaming=True, block_bytes=2000)
    assert whole.ignored == streamed.ignored == ("'noted.csv': note",)
    pd.testing.assert_frame_equal(whole.counts, streamed.counts, check_exact=True)
    assert whole.counts["A"].iloc[1] == 1005.0
