"""Notes of ``spikes evaluate`` about its inputs: how to get the false-alarm rate, which
number of product-weeks it used, and incidents that are the labels themselves."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from spikes.cli import main

LABELS = ("product,onset,end,event\nA,2026-01-05T10:00Z,2026-01-05T11:00Z,1\n"
          "B,2026-01-05T14:00Z,2026-01-05T15:00Z,2\n")
INCIDENTS = ("product,onset,peak,end,alerted_at,severity\n"
             "A,2026-01-05T10:00Z,2026-01-05T10:05Z,2026-01-05T10:40Z,2026-01-05T10:10Z,major\n")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A labels file, an incidents file as ``analyze`` writes them (in part), and a
    day of hourly reports of products A and B."""
    out = {"labels": tmp_path / "labels.csv", "incidents": tmp_path / "incidents.csv",
           "data": tmp_path / "reports.csv"}
    out["labels"].write_text(LABELS, encoding="utf-8")
    out["incidents"].write_text(INCIDENTS, encoding="utf-8")
    out["data"].write_text("timestamp,product,reports\n" + "".join(
        f"2026-01-05T{h:02d}:00Z,{p},5\n" for h in range(24) for p in "AB"), encoding="utf-8")
    return out


def _evaluate(capsys: pytest.CaptureFixture[str], incidents: Path, labels: Path,
              *extra: str) -> tuple[str, str]:
    """Run ``spikes evaluate`` (it must succeed): its standard output and error."""
    assert main(["evaluate", "--incidents", str(incidents), "--labels", str(labels),
                 *extra]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


# --- F22 -----------------------------------------------------------------------------
def test_without_product_weeks_the_table_says_how_to_get_the_rate(files, capsys) -> None:
    # It printed "false alarms per product-week n/a (n/a product-weeks)".
    out, _ = _evaluate(capsys, files["incidents"], files["labels"])
    assert "false alarms per product-week n/a (pass --data or --product-weeks)" in out
    assert "n/a product-weeks" not in out


def test_product_weeks_with_data_says_which_number_is_used(files, capsys) -> None:
    # It used --product-weeks 3 silently, against the 0.3 product-weeks --data counts.
    out, err = _evaluate(capsys, files["incidents"], files["labels"], "--data",
                         str(files["data"]), "--product-weeks", "3")
    assert "(3.0 product-weeks)" in out
    assert ("note: the false-alarm rate uses --product-weeks 3, not the 0.3 product-weeks "
            "--data counts") in err
    _, err = _evaluate(capsys, files["incidents"], files["labels"], "--data",
                       str(files["data"]))
    assert "--product-weeks" not in err


def test_the_library_table_names_no_flag() -> None:
    import pandas as pd

    from spikes.evaluation.evaluate import evaluate

    one = pd.DataFrame({"product": ["A"], "onset": [pd.Timestamp("2026-01-05T10:00Z")],
                        "end": [pd.Timestamp("2026-01-05T11:00Z")]})
    table = evaluate(one, one).to_table()
    assert table.splitlines()[4] == ("false alarms per product-week n/a (product-weeks not "
                                     "given)")


# --- F23 -----------------------------------------------------------------------------
def test_the_labels_given_as_incidents_are_noted(files, capsys) -> None:
    # The same file twice scored F1 1.000 without a word.
    out, err = _evaluate(capsys, files["labels"], files["labels"])
    assert "F1 1.000" in out
    assert (f"note: --incidents and --labels are the same file ({files['labels']}): the "
            "labels are scored against themselves") in err


def test_a_copy_of_the_labels_given_as_incidents_is_noted(files, capsys, tmp_path) -> None:
    copy = tmp_path / "copy.csv"
    shutil.copy(files["labels"], copy)
    _, err = _evaluate(capsys, copy, files["labels"])
    assert "note: --incidents and --labels hold the same bytes" in err


def test_incidents_without_a_column_of_incidents_are_noted(files, capsys, tmp_path) -> None:
    # Swapped: the incidents file is another labels file.
    other = tmp_path / "other_labels.csv"
    other.write_text(LABELS.replace(",1\n", ",7\n"), encoding="utf-8")
    _, err = _evaluate(capsys, other, files["labels"])
    assert (f"note: {other} has none of the columns of an incidents file (peak, alerted_at, "
            "severity, ...): it looks like labels; were --incidents and --labels "
            "swapped?") in err


def test_real_incidents_get_no_note(files, capsys) -> None:
    _, err = _evaluate(capsys, files["incidents"], files["labels"], "--product-weeks", "1")
    assert "labels" not in err and "note" not in err


def test_a_minimal_incidents_file_gets_no_note(files, capsys, tmp_path) -> None:
    # product,onset is a valid incidents file (the docs allow it); it was "swapped?".
    minimal = tmp_path / "minimal.csv"
    minimal.write_text("product,onset\nA,2026-01-05T10:05Z\n", encoding="utf-8")
    _, err = _evaluate(capsys, minimal, files["labels"], "--product-weeks", "1")
    assert "swapped" not in err
