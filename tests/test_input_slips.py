"""Slips in the files given to the reader (hunt43b F11, F12, F15): ``--product`` with a
region column, a Parquet file named ``.csv``, overlapping event exports and a copy of a
file under another name. Each test failed before its fix."""

from __future__ import annotations

import shutil

import pytest

from spikes.cli import main
from spikes.errors import SpikesInputError
from spikes.io.buckets import load_reports
from spikes.io.reading import read_reports
from tests.report_files import write

EXPORT = (
    "created_at,city,state,problem,note\n"
    "2026-01-22 19:00:00,Seattle,WA,Login,cannot log in\n"
    "2026-01-22 19:01:00,Austin,TX,Login,x\n"
    "2026-01-22 19:02:00,Boston,MA,Email,\n"
)


# --- F11: --product changes the product only ---------------------------------------------
def test_product_option_keeps_the_region_and_category_columns(tmp_path):
    # With --product, "state" and "problem" were ignored columns: the why lost its region.
    raw = read_reports(write(tmp_path, "export.csv", EXPORT), timestamp_col="created_at",
                       product="Outlook")
    assert raw.table["product"].tolist() == ["Outlook"] * 3
    assert raw.table["region"].tolist() == ["WA", "TX", "MA"]
    assert raw.table["category"].tolist() == ["Login", "Login", "Email"]
    assert sorted(c.split(": ")[1] for c in raw.ignored) == ["city", "note"]


def test_product_option_of_a_single_series_keeps_its_region(tmp_path):
    text = "timestamp,value,region\n2026-01-22T19:00Z,3,EU\n2026-01-22T19:05Z,4,US\n"
    raw = read_reports(write(tmp_path, "s.csv", text), fmt="single", product="Teams")
    assert raw.table["product"].tolist() == ["Teams", "Teams"]
    assert raw.table["region"].tolist() == ["EU", "US"]


def test_named_region_and_category_columns_still_win(tmp_path):
    raw = read_reports(write(tmp_path, "export.csv", EXPORT), timestamp_col="created_at",
                       product="Outlook", region_col="city")
    assert raw.table["region"].tolist() == ["Seattle", "Austin", "Boston"]


# --- F12: a Parquet file named .csv --------------------------------------------------------
def test_a_parquet_file_named_csv_is_told_to_be_named_parquet(tmp_path):
    path = write(tmp_path, "reports.csv", b"PAR1" + bytes(40) + b"PAR1")
    with pytest.raises(SpikesInputError) as err:
        read_reports(path)
    assert str(err.value) == (
        f"{str(path)!r} is a Parquet file, not CSV text: name it .parquet and spikes "
        "analyze reads it as Parquet (the other commands take CSV: "
        "pandas.read_parquet(f).to_csv(out))")


# --- F15: overlapping event exports, a copy under another name -----------------------------
def _events(hours: range, products: tuple[str, ...]) -> str:
    return "timestamp,product\n" + "".join(
        f"2026-01-05T{h:02d}:{10 + i:02d}:00Z,{p}\n" for h in hours
        for i, p in enumerate(products))


@pytest.mark.parametrize("streaming", [False, True])
def test_overlapping_event_exports_name_every_product(tmp_path, streaming):
    # Only the first product was named ("... reports of 'A' ..."), though all overlapped.
    a = write(tmp_path, "a.csv", _events(range(6), ("A", "B", "C")))
    b = write(tmp_path, "b.csv", _events(range(4, 9), ("A", "B", "C")))
    data = load_reports([a, b], streaming=streaming, block_bytes=64)
    assert [n for n in data.notes if "both hold reports" in n] == [
        f"{str(a)!r} and {str(b)!r} both hold reports of all 3 products ('A', 'B' and 'C') "
        "from 2026-01-05 04:10 to 2026-01-05 05:12 UTC: if they are overlapping exports of "
        "one feed, those reports count twice"]


def test_overlapping_exports_of_some_products_name_those(tmp_path):
    a = write(tmp_path, "a.csv", _events(range(6), ("A", "B", "C")))
    b = write(tmp_path, "b.csv", _events(range(4, 9), ("A", "B")) + "2026-01-05T09:00Z,C\n")
    note, = [n for n in read_reports([a, b]).notes if "both hold reports" in n]
    assert "both hold reports of 2 products ('A' and 'B') from" in note


@pytest.mark.parametrize("streaming", [False, True])
def test_a_copy_of_a_file_under_another_name_is_refused(tmp_path, streaming):
    # It was read twice, with only the overlap note: every count doubled.
    first = write(tmp_path, "events.csv", _events(range(6), ("A",)))
    copy = tmp_path / "copy.csv"
    shutil.copyfile(first, copy)
    with pytest.raises(SpikesInputError) as err:
        load_reports([first, copy], streaming=streaming)
    assert str(err.value) == (
        f"{str(copy)!r} holds the same bytes as {str(first)!r}, given before it: its "
        "reports would be counted twice; give each file once")
    other = write(tmp_path, "other.csv", _events(range(6, 12), ("A",)))  # same size
    assert other.stat().st_size == first.stat().st_size
    assert load_reports([first, other], streaming=streaming).counts["A"].sum() == 12


def test_the_command_line_refuses_a_copy_in_one_line(tmp_path, capsys):
    first = write(tmp_path, "events.csv", _events(range(6), ("A",)))
    shutil.copyfile(first, tmp_path / "copy.csv")
    assert main(["analyze", str(first), str(tmp_path / "copy.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds the same bytes as" in err


@pytest.mark.parametrize("streaming", [False, True])
def test_single_series_with_the_same_values_are_two_products(tmp_path, streaming):
    # Two NAB-style files (product = file name) with the same bytes are two products,
    # not a copy: the copy check refused them.
    text = "timestamp,value\n" + "".join(
        f"2026-01-05T{h:02d}:{m:02d}:00Z,0\n" for h in range(24) for m in range(0, 60, 5))
    zoom = write(tmp_path, "Zoom.csv", text)
    teams = write(tmp_path, "Teams.csv", text)
    data = load_reports([zoom, teams], streaming=streaming)
    assert sorted(map(str, data.counts.columns)) == ["Teams", "Zoom"]
