"""Safe output: formula neutralisation, ISO-8601 times, atomic writes."""

from __future__ import annotations

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


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpikesInputError, match="does not exist"):
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "no" / "x.csv")


def test_products_guarded_against_formulas_read_back_as_they_were(tmp_path) -> None:
    # An incidents CSV guards "=cmd" as "'=cmd" for spreadsheets; evaluate reads the
    # product back as "=cmd", so that it matches its label (it counted a false alarm and
    # a miss). A name that only starts with a quote keeps it.
    from spikes.evaluation.evaluate import evaluate, read_incidents, read_labels

    names = ["=cmd", "+1 Service", "'quoted", "Xbox, Live"]
    onset = pd.Timestamp("2026-01-05 10:00", tz="UTC")
    incidents = pd.DataFrame({"product": names, "onset": onset,
                              "end": onset + pd.Timedelta("30min")})
    write_csv(incidents, tmp_path / "incidents.csv")
    write_csv(incidents, tmp_path / "labels.csv")
    assert "'=cmd" in (tmp_path / "incidents.csv").read_text()
    got, labels = read_incidents(tmp_path / "incidents.csv"), read_labels(tmp_path / "labels.csv")
    assert got["product"].tolist() == names and labels["product"].tolist() == names
    assert evaluate(got, labels).tp == len(names)
