"""Safe output: formula neutralisation, ISO-8601 times, atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.io.output import neutralize_formula, to_safe_csv, write_csv


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\tx", "'\tx"), ("\rx", "'\rx"), ("Outlook", "Outlook"), (-2.0, -2.0)],
)
def test_neutralize_formula(value: object, expected: object) -> None:
    assert neutralize_formula(value) == expected


def test_csv_has_offsets_and_no_formulas() -> None:
    frame = pd.DataFrame({"product": ["=HYPERLINK(\"x\")"],
                          "onset": pd.to_datetime(["2026-01-22T19:00"], utc=True),
                          "excess_reports": [-3.0]})
    text = to_safe_csv(frame)
    assert "2026-01-22T19:00:00+00:00" in text
    assert "'=HYPERLINK" in text
    assert ",-3.0" in text


def test_atomic_replace(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    path.write_text("old")
    write_csv(pd.DataFrame({"a": [1]}), path)
    assert path.read_text() == "a\n1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["incidents.csv"]


def test_a_written_file_has_the_mode_the_umask_gives_or_the_one_it_replaces(
        tmp_path: Path) -> None:
    # Written through mkstemp, every output was 0600: readable by its owner alone.
    from spikes.io.output import write_table

    frame = pd.DataFrame({"a": [1]})
    old = os.umask(0o022)
    try:
        for name in ("new.csv", "new.csv.gz", "new.parquet"):
            write_table(frame, tmp_path / name)
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
        os.umask(0o077)
        write_table(frame, tmp_path / "private.csv")
        assert stat.S_IMODE((tmp_path / "private.csv").stat().st_mode) == 0o600
        kept = tmp_path / "kept.csv"
        kept.write_text("old")
        kept.chmod(0o640)
        write_table(frame, kept)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpikesInputError, match="does not exist"):
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "no" / "x.csv")


def test_a_parquet_name_that_is_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    # A Parquet dataset folder (as Spark writes them) as -o ended in IsADirectoryError.
    from spikes.io.output import write_table

    (tmp_path / "out.parquet").mkdir()
    with pytest.raises(SpikesInputError, match="out.parquet: cannot write, it is a folder"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.parquet")


def test_products_guarded_against_formulas_read_back_as_they_were(tmp_path) -> None:
    # An incidents CSV guards "=cmd" as "'=cmd" for spreadsheets; evaluate reads the
    # product back as "=cmd", so that it matches its label (it counted a false alarm and
    # a miss). A name that only starts with a quote keeps it.
    from spikes.evaluation.evaluate import evaluate, read_incidents, read_labels

    names = ["=cmd", "+1 Service", "'quoted", "Xbox, Live", "'=x", "''-y"]
    onset = pd.Timestamp("2026-01-05 10:00", tz="UTC")
    incidents = pd.DataFrame({"product": names, "onset": onset,
                              "end": onset + pd.Timedelta("30min")})
    write_csv(incidents, tmp_path / "incidents.csv")
    write_csv(incidents, tmp_path / "labels.csv")
    assert "'=cmd" in (tmp_path / "incidents.csv").read_text()
    got, labels = read_incidents(tmp_path / "incidents.csv"), read_labels(tmp_path / "labels.csv")
    assert got["product"].tolist() == names and labels["product"].tolist() == names
    assert evaluate(got, labels).tp == len(names)


@pytest.mark.parametrize("name", ["incidents.xlsx", "incidents.json", "incidents.zip"])
def test_a_table_is_not_written_under_another_formats_name(tmp_path, name) -> None:
    # CSV text in "incidents.xlsx" is a file Excel calls corrupt.
    from spikes.errors import SpikesInputError
    from spikes.io.output import write_table

    frame = pd.DataFrame({"product": ["A"]})
    with pytest.raises(SpikesInputError, match=r"writes CSV or Parquet .* name the file .csv"):
        write_table(frame, tmp_path / name)
    assert not (tmp_path / name).exists()
    assert write_table(frame, tmp_path / "incidents.txt").read_text().startswith("product")


def test_a_table_named_csv_gz_is_gzip_and_reads_back(tmp_path) -> None:
    import gzip

    from spikes.io.output import write_table

    frame = pd.DataFrame({"product": ["=cmd", "A"], "n": [1, 2]})
    path = write_table(frame, tmp_path / "incidents.csv.gz")
    assert gzip.decompress(path.read_bytes()).decode().splitlines()[1] == "'=cmd,1"
    assert pd.read_csv(path)["n"].tolist() == [1, 2]
    from spikes.evaluation.evaluate import read_incidents

    written = write_table(frame.assign(onset="2026-01-05T10:00Z"), tmp_path / "i.csv.gz")
    assert read_incidents(written)["product"].tolist() == ["=cmd", "A"]


def test_an_output_in_a_missing_folder_is_refused_before_the_work(tmp_path, capsys):
    # Found only after the whole run, once -o was written (exit 2, a fresh incidents
    # file left behind).
    from pathlib import Path

    from spikes.cli import main

    sample = Path(__file__).resolve().parents[1] / "data" / "reports.csv.gz"
    out = tmp_path / "incidents.csv"
    assert main(["analyze", str(sample), "-o", str(out), "--events-output",
                 str(tmp_path / "nowhere" / "events.csv")]) == 2
    err = capsys.readouterr().err
    assert "--events-output" in err and "folder" in err and "does not exist" in err
    assert not out.exists()


def test_parquet_drops_the_working_attrs_without_a_warning(tmp_path: Path) -> None:
    # The incidents table carries the latest bucket per product in attrs (Timestamps);
    # pyarrow warned "Could not serialize pd.DataFrame.attrs" on every -o x.parquet.
    import warnings

    from spikes.io.output import write_table

    frame = pd.DataFrame({"product": ["Outlook"],
                          "onset": pd.to_datetime(["2026-01-22T19:00"], utc=True)})
    frame.attrs["latest"] = {"Outlook": pd.Timestamp("2026-01-22T20:00", tz="UTC")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_table(frame, tmp_path / "out.parquet")
    back = pd.read_parquet(tmp_path / "out.parquet")
    assert back["onset"].iloc[0] == frame["onset"].iloc[0]
    assert frame.attrs["latest"]["Outlook"].hour == 20  # the caller's frame is untouched
