"""Tests of spikes.io.sniffing: encodings, compression, delimiters, line ends,
preamble lines, files that are not CSV text."""

from __future__ import annotations

import gzip

import pytest

from spikes.errors import SpikesInputError
from spikes.io import reading
from spikes.io.reading import read_reports
from tests.report_files import LONG, write


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("plain.csv", LONG.encode()),
        ("gz.csv.gz", gzip.compress(LONG.encode(), mtime=0)),
        ("sniffed.csv", gzip.compress(LONG.encode(), mtime=0)),  # gzip without .gz
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


def test_windows_1252_bytes(tmp_path):
    content = "timestamp,product\n2024-01-01,Caf\xe9\n".encode("cp1252")
    raw = read_reports(write(tmp_path, "w.csv", content))
    assert raw.table["product"].tolist() == ["Café"]


def test_a_stray_legacy_byte_leaves_the_utf8_text_alone(tmp_path):
    text = "timestamp,product\n2024-01-01,Telefónica\n2024-01-02,Caf".encode() + b"\xe9\n"
    raw = read_reports(write(tmp_path, "x.csv", text))
    assert raw.table["product"].tolist() == ["Telefónica", "Café"]


def test_lines_ended_by_a_bare_carriage_return(tmp_path):
    # Classic Mac OS line ends (Excel's "CSV (Macintosh)"), read whole and streamed.
    path = write(tmp_path, "mac.csv", "timestamp,product\r2024-01-01T00:00Z,A\rfoo,B\r"
                                      "2024-01-01T00:05Z,B\r")
    raw = read_reports(path)
    assert raw.table["product"].tolist() == ["A", "B"]
    assert raw.rejected["line"].tolist() == [3]
    blocks = list(reading.read_report_blocks(path, block_bytes=5))
    assert [p for b in blocks for p in b.table["product"]] == ["A", "B"]


def test_bare_carriage_returns_with_a_line_feed_inside_a_quoted_cell(tmp_path):
    # A note typed over two lines in a cell of a "CSV (Macintosh)" export: its LF is
    # inside quotes; the CRs still end the lines (the file was refused as a header
    # without rows).
    path = write(tmp_path, "mac.csv", 'timestamp,product,note\r2024-01-01T00:00Z,A,"two\n'
                                      'lines"\r2024-01-01T00:05Z,B,x\r')
    raw = read_reports(path)
    assert raw.table["product"].tolist() == ["A", "B"]


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


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml", "ZIP archive (an Excel .xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(40), "Excel 97-2003 workbook"),
        (b"PAR1" + bytes(40) + b"PAR1", "Parquet file"),
        (b'[{"timestamp": "2024-01-01", "product": "A"}]', "looks like JSON"),
        (gzip.compress(b'{"rows": []}\n', mtime=0), "looks like JSON"),
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


@pytest.mark.parametrize(("head", "what"), [
    (b"BZh91AY&SY", "bzip2-compressed"), (b"\xfd7zXZ\x00\x00", "xz-compressed"),
    (b"\x28\xb5\x2f\xfd\x00", "zstd-compressed"), (b"7z\xbc\xaf\x27\x1c\x00", "7-Zip"),
])
def test_other_compressions_are_named(tmp_path, head, what):
    # They were "no timestamp column" with the binary header shown.
    path = tmp_path / "x.csv.bin"
    path.write_bytes(head + bytes(range(256)))
    with pytest.raises(SpikesInputError, match=f"is an? {what}"):
        read_reports(path)


def test_names_in_an_unknown_8_bit_encoding_stay_apart(tmp_path):
    # Shift-JIS (Japanese Excel): bytes Windows-1252 leaves undefined all became U+FFFD,
    # and two products differing only there were read as one.
    text = ("timestamp,product\n2024-01-01T00:00Z,堰サービス\n"
            "2024-01-01T00:01Z,燕サービス\n").encode("shift_jis")
    path = tmp_path / "x.csv"
    path.write_bytes(text)
    assert read_reports(path).table["product"].nunique() == 2
