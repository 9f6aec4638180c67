"""Tests for spikes.evaluation.nab: the NAB v1.1 scoring function on hand-computed cases."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.errors import SpikesInputError
from spikes.evaluation.evaluate import evaluate
from spikes.evaluation.nab import (
    DEFAULT_WINDOWS_PATH,
    NAB_DIR,
    REAL_TWEETS,
    CostMatrix,
    get_profile,
    nab_series,
    nab_windows,
    nab_windows_as_labels,
    normalised_score,
    null_score,
    perfect_score,
    probation_length,
    scaled_sigmoid,
    score_nab_corpus,
    score_nab_file,
)

STEP = pd.Timedelta("5min")
START = pd.Timestamp("2024-01-01T00:00Z")


def stamps(n: int) -> pd.DatetimeIndex:
    return pd.date_range(START, periods=n, freq=STEP)


def window(left: int, right: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Window from row ``left`` to row ``right`` (inclusive) of :func:`stamps`."""
    return (START + left * STEP, START + right * STEP)


def flags(n: int, *rows: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[list(rows)] = True
    return out


def S(x: float) -> float:
    """NAB's scaled sigmoid written out: 2 * sigmoid(-5 x) - 1 = 2 / (1 + e^(5x)) - 1."""
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def test_scaled_sigmoid_reference_values() -> None:
    # The values quoted in NAB's sweeper.py docstring.
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.0) == pytest.approx(S(3.0))
    assert scaled_sigmoid(3.01) == -1.0


def test_hand_computed_true_positive() -> None:
    # 20 rows; probation = floor(0.15 * 20) = 3 rows; one window on rows 10..14 (width 5).
    # A detection on row 12: position = -(right - i + 1) / width = -(14 - 12 + 1) / 5 = -0.6
    # score = A_TP * S(-0.6) / S(-1) = (2 / (1 + e^-3) - 1) / (2 / (1 + e^-5) - 1)
    expected = (2 / (1 + math.exp(-3)) - 1) / (2 / (1 + math.exp(-5)) - 1)
    assert expected == pytest.approx(0.9051482536 / 0.9866142982)
    result = score_nab_file(stamps(20), flags(20, 12), [window(10, 14)])
    assert result.score == pytest.approx(expected)
    assert (result.tp_score, result.fp_score, result.fn_score) == (pytest.approx(expected), 0, 0)
    assert (result.windows_detected, result.windows_missed, result.false_positives) == (1, 0, 0)
    assert result.windows["position"].iloc[0] == pytest.approx(-0.6)
    assert (result.tp_rows, result.fp_rows, result.fn_rows, result.tn_rows) == (1, 0, 4, 12)


def test_detection_on_first_and_last_row_of_window() -> None:
    first = score_nab_file(stamps(20), flags(20, 10), [window(10, 14)])
    assert first.score == pytest.approx(1.0)  # S(-5/5) / S(-1)
    last = score_nab_file(stamps(20), flags(20, 14), [window(10, 14)])
    assert last.score == pytest.approx(S(-1 / 5) / S(-1))


def test_earliest_detection_only() -> None:
    n, win = 20, [window(10, 14)]
    early_only = score_nab_file(stamps(n), flags(n, 11), win).score
    both = score_nab_file(stamps(n), flags(n, 11, 12, 13, 14), win).score
    late_only = score_nab_file(stamps(n), flags(n, 13), win).score
    assert both == pytest.approx(early_only)
    assert late_only < early_only


@pytest.mark.parametrize(
    ("n_rows", "expected"),
    [(0, 0), (19, 2), (20, 3), (100, 15), (5000, 750), (15902, 750), (100_000, 750)],
)
def test_probation_length(n_rows: int, expected: int) -> None:
    # min(floor(0.15 n), 0.15 * 5000)
    assert probation_length(n_rows) == expected


def test_probation_ignores_detections() -> None:
    # 100 rows: rows 0..14 are probationary; no window.
    n = 100
    assert score_nab_file(stamps(n), flags(n, 0, 5, 14), []).score == 0.0
    in_probation = score_nab_file(stamps(n), flags(n, 14), [])
    assert in_probation.false_positives == 0 and in_probation.probation_rows == 15
    # Row 15 is scored: a FP with no preceding window costs the full -A_FP.
    assert score_nab_file(stamps(n), flags(n, 15), []).score == pytest.approx(-0.11)


def test_window_inside_probation_is_not_scored() -> None:
    # Window on rows 2..8 lies inside the probation (15 rows): not a FN, not scored.
    n, win = 100, [window(2, 8), window(50, 59)]
    result = score_nab_file(stamps(n), flags(n, 3), win)
    assert result.n_windows == 1 and result.windows_missed == 1
    assert result.score == pytest.approx(-1.0)
    assert null_score(stamps(n), win) == pytest.approx(-1.0)
    # A window straddling the end of the probation only counts rows after it.
    straddle = score_nab_file(stamps(n), flags(n, 12, 16), [window(10, 19)])
    assert straddle.windows["first_detection"].iloc[0] == 16
    assert straddle.score == pytest.approx(S(-(19 - 16 + 1) / 10) / S(-1))


def test_false_positive_weighting() -> None:
    n, win = 100, [window(40, 44)]  # width 5, right edge row 44
    # Before any window: -A_FP.
    assert score_nab_file(stamps(n), flags(n, 20), win).fp_score == pytest.approx(-0.11)
    # Just after: position (i - right) / (width - 1) = 1 / 4; score A_FP * S(0.25).
    just_after = score_nab_file(stamps(n), flags(n, 45), win).fp_score
    assert just_after == pytest.approx(0.11 * S(0.25))
    assert -0.11 < just_after < 0
    # Two widths after: position 8 / 4 = 2 -> A_FP * S(2), close to -A_FP.
    assert score_nab_file(stamps(n), flags(n, 52), win).fp_score == pytest.approx(0.11 * S(2))
    # More than 3 (width - 1) after: exactly -A_FP.
    assert score_nab_file(stamps(n), flags(n, 57), win).fp_score == pytest.approx(-0.11)
    # Between two windows, relative to the preceding one (width 3, right edge 62).
    two = [window(40, 44), window(60, 62), window(80, 89)]
    assert score_nab_file(stamps(n), flags(n, 63), two).fp_score == pytest.approx(
        0.11 * S(1 / 2)
    )
    # FP score adds up.
    assert score_nab_file(stamps(n), flags(n, 20, 45), win).fp_score == pytest.approx(
        -0.11 + 0.11 * S(0.25)
    )


def test_profiles() -> None:
    assert get_profile("standard") == CostMatrix(tp=1.0, fp=0.11, fn=1.0)
    assert get_profile("reward_low_FP") == get_profile("reward_low_FP_rate")
    n, win = 100, [window(40, 44)]
    assert score_nab_file(stamps(n), flags(n, 20), win, "reward_low_FP_rate").score == (
        pytest.approx(-1.0 - 0.22)
    )
    assert score_nab_file(stamps(n), flags(n), win, "reward_low_FN_rate").score == -2.0
    with pytest.raises(SpikesInputError, match="unknown NAB profile"):
        get_profile("lenient")


def test_null_and_perfect_normalisation() -> None:
    n, win = 200, [window(40, 49), window(100, 104), window(150, 179)]
    null = null_score(stamps(n), win)
    assert null == score_nab_file(stamps(n), flags(n), win).score == -3.0
    assert perfect_score(win) == 3.0
    perfect = score_nab_file(stamps(n), flags(n, 40, 100, 150), win).score
    assert perfect == pytest.approx(3.0)
    assert normalised_score(perfect, 3.0, null) == pytest.approx(100.0)
    assert normalised_score(null, 3.0, null) == 0.0
    with pytest.raises(SpikesInputError):
        normalised_score(0.0, 1.0, 1.0)


def test_corpus_score() -> None:
    n = 200
    windows = {"x": [window(40, 49)], "y": [window(100, 104), window(150, 159)]}
    perfect = {"x": (stamps(n), flags(n, 40)), "y": (stamps(n), flags(n, 100, 150))}
    assert score_nab_corpus(perfect, windows).normalised == pytest.approx(100.0)
    none = {k: (ts, np.zeros(n, dtype=bool)) for k, (ts, _) in perfect.items()}
    result = score_nab_corpus(none, windows)
    assert (result.normalised, result.raw, result.null, result.perfect) == (0.0, -3, -3, 3)
    half = {"x": (stamps(n), flags(n, 40)), "y": (stamps(n), flags(n))}
    assert score_nab_corpus(half, windows).normalised == pytest.approx(100 * 2 / 6)
    with pytest.raises(SpikesInputError, match="no NAB windows"):
        score_nab_corpus({"z": (stamps(n), flags(n))}, windows)


def test_detections_as_timestamps() -> None:
    n, win = 20, [window(10, 14)]
    by_rows = score_nab_file(stamps(n), flags(n, 12), win).score
    # A detection between rows 11 and 12 marks row 12 (the first row at or after it).
    between = [START + 11 * STEP + pd.Timedelta("1min")]
    assert score_nab_file(stamps(n), between, win).score == pytest.approx(by_rows)
    assert score_nab_file(stamps(n).tz_convert(None), [START + 12 * STEP], win).score == (
        pytest.approx(by_rows)
    )
    with pytest.raises(SpikesInputError, match="after the last row"):
        score_nab_file(stamps(n), [START + 30 * STEP], win)
    with pytest.raises(SpikesInputError, match="one per row"):
        score_nab_file(stamps(n), np.zeros(5, dtype=bool), win)


def test_bad_windows() -> None:
    with pytest.raises(SpikesInputError, match="overlaps"):
        score_nab_file(stamps(50), flags(50), [window(10, 20), window(15, 30)])
    with pytest.raises(SpikesInputError, match="no row"):
        score_nab_file(stamps(50), flags(50), [window(60, 70)])


def test_positional_scoring_with_repeated_timestamps() -> None:
    # NAB scores rows by position; a repeated timestamp is a row like any other.
    ts = list(stamps(30))
    ts[20] = ts[19]
    win = [(ts[10], ts[14])]
    result = score_nab_file(ts, flags(30, 12), win)
    assert result.score == pytest.approx(S(-0.6) / S(-1))


# --------------------------------------------------------------------------- real files


needs_data = pytest.mark.skipif(not DEFAULT_WINDOWS_PATH.exists(), reason="no NAB data")


@needs_data
def test_nab_windows_loader() -> None:
    windows = nab_windows()
    assert len(windows) == 12
    aapl = windows["Twitter_volume_AAPL"]
    assert len(aapl) == 4
    assert aapl[0] == (pd.Timestamp("2015-03-03 04:37:53Z"), pd.Timestamp("2015-03-04 13:37:53Z"))
    labels = nab_windows_as_labels(windows)
    assert len(labels) == sum(len(w) for w in windows.values())
    assert set(labels.columns) == {"product", "onset", "end", "event"}


@needs_data
def test_real_tweets_null_and_perfect() -> None:
    windows = nab_windows()
    files = {}
    for ticker in REAL_TWEETS:
        series = nab_series(NAB_DIR / "realTweets" / f"Twitter_volume_{ticker}.csv")
        files[series.name] = (series.index, np.zeros(len(series), dtype=bool))
    assert len(files["Twitter_volume_AAPL"][0]) == 15902
    null = score_nab_corpus(files, windows)
    assert (null.raw, null.null, null.perfect, null.normalised) == (-16.0, -16.0, 16.0, 0.0)
    starts = {k: (ts, [s for s, _ in windows[k]]) for k, (ts, _) in files.items()}
    assert score_nab_corpus(starts, windows).normalised == pytest.approx(100.0)
    # The same windows through the EVALUATION.md matching (no early allowance).
    incidents = nab_windows_as_labels({k: windows[k] for k in files})[["product", "onset"]]
    ev = evaluate(incidents, nab_windows_as_labels({k: windows[k] for k in files}),
                  early_allowance=pd.Timedelta(0))
    assert (ev.tp, ev.fp, ev.fn) == (16, 0, 0)


def test_nab_series_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("timestamp,value\n2015-01-01 00:00:00,1\n2015-01-01 00:05:00,oops\n")
    with pytest.raises(SpikesInputError, match=r"x.csv line 3, column 'value': 'oops'"):
        nab_series(path)
    path.write_text("time,value\n2015-01-01 00:00:00,1\n")
    with pytest.raises(SpikesInputError, match="missing column 'timestamp'"):
        nab_series(path)
    path.write_text("timestamp,value\n2015-01-01 00:00:00,1.5\n")
    series = nab_series(path)
    assert series.name == "x" and series.iloc[0] == 1.5 and str(series.index.tz) == "UTC"
