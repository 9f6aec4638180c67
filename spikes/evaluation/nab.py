"""The Numenta Anomaly Benchmark (NAB v1.1) scorer, re-implemented for binary detections.

This follows NAB's own scorer (``nab/sweeper.py`` of numenta/NAB at the v1.1 snapshot
ea702d75, with the normalisation of ``nab/runner.py`` and the profiles of
``config/profiles.json``), for detections given as one boolean per row (NAB's
``anomaly_score >= threshold``):

- the first ``min(floor(0.15 * n), 0.15 * 5000)`` rows are probationary: detections there
  are ignored, and a window with no row after the probation is not scored at all;
- a window (rows ``left..right``, ``width = right - left + 1``) scores the best (the
  earliest) detection in it: ``A_TP * S(-(right - i + 1) / width) / S(-1)`` with
  ``S(x) = 2 / (1 + exp(5 x)) - 1`` (and ``S(x) = -1`` for ``x > 3``), so a detection on
  the window's first row scores exactly ``A_TP``; later detections in the window add
  nothing; a window with no detection scores ``-A_FN``;
- a detection outside every window scores ``A_FP * S((i - r) / (w - 1))`` where ``r`` and
  ``w`` are the last row and width of the closest preceding window (just after a window
  this is close to 0, more than 3 widths after it ``-A_FP``); with no preceding window it
  scores ``-A_FP``;
- the normalised score is ``100 * (raw - null) / (perfect - null)``, with ``null`` the
  score of no detection at all (NAB's null detector) and ``perfect = A_TP * windows``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spikes.errors import SpikesInputError

NAB_DIR = Path("/work/shared/realdata/nab")
DEFAULT_WINDOWS_PATH = NAB_DIR / "labels" / "combined_windows.json"
REAL_TWEETS = ("AAPL", "AMZN", "CRM", "CVS", "FB")
PROBATION_PERCENT = 0.15


@dataclass(frozen=True)
class CostMatrix:
    """NAB application profile weights (all positive; signs are applied by the scorer).

    Attributes
    ----------
    tp, fp, fn : float
        ``tpWeight``, ``fpWeight``, ``fnWeight`` of ``config/profiles.json``. NAB's
        ``tnWeight`` (1.0) is not used by its scorer: true negatives score 0.
    """

    tp: float
    fp: float
    fn: float


PROFILES: dict[str, CostMatrix] = {
    "standard": CostMatrix(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": CostMatrix(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": CostMatrix(tp=1.0, fp=0.11, fn=2.0),
}
_ALIASES = {"reward_low_FP": "reward_low_FP_rate", "reward_low_FN": "reward_low_FN_rate"}

Window = tuple[pd.Timestamp, pd.Timestamp]


def get_profile(profile: str | CostMatrix) -> CostMatrix:
    """Return the cost matrix of a NAB profile name (or a :class:`CostMatrix` as is).

    Parameters
    ----------
    profile : str or CostMatrix
        ``"standard"``, ``"reward_low_FP_rate"`` (alias ``"reward_low_FP"``) or
        ``"reward_low_FN_rate"`` (alias ``"reward_low_FN"``).

    Returns
    -------
    CostMatrix

    Raises
    ------
    SpikesInputError
        Unknown profile name.
    """
    if isinstance(profile, CostMatrix):
        return profile
    name = _ALIASES.get(profile, profile)
    if name not in PROFILES:
        raise SpikesInputError(
            f"unknown NAB profile {profile!r} (expected one of: {', '.join(PROFILES)})"
        )
    return PROFILES[name]


# --------------------------------------------------------------------------- loading


def _utc(stamps: Any) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(pd.to_datetime(stamps))
    return index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")


def nab_windows(path: str | Path = DEFAULT_WINDOWS_PATH) -> dict[str, list[Window]]:
    """Load NAB anomaly windows, keyed by the data file's stem.

    Parameters
    ----------
    path : str or Path
        A ``combined_windows.json`` (``{"dir/file.csv": [[start, end], ...]}``).

    Returns
    -------
    dict of str to list of (pd.Timestamp, pd.Timestamp)
        E.g. ``{"Twitter_volume_AAPL": [(start, end), ...]}``; timestamps UTC (NAB's are
        naive), windows sorted by start.

    Raises
    ------
    SpikesInputError
        Unreadable file, bad JSON or a malformed window.
    """
    name = str(path)
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except OSError as exc:
        raise SpikesInputError(f"{name}: cannot read the file ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise SpikesInputError(f"{name}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(raw, dict):
        raise SpikesInputError(f"{name}: expected an object of file -> windows")
    out: dict[str, list[Window]] = {}
    for key, windows in raw.items():
        stem = Path(key).stem
        parsed = []
        for k, window in enumerate(windows):
            try:
                start, end = (pd.Timestamp(t) for t in window)
                start, end = _utc([start, end])
            except (TypeError, ValueError):
                raise SpikesInputError(
                    f"{name}: {key} window {k}: {window!r} is not a [start, end] pair of "
                    "timestamps"
                ) from None
            if end < start:
                raise SpikesInputError(f"{name}: {key} window {k}: end before start")
            parsed.append((start, end))
        out[stem] = sorted(parsed)
    return out


def nab_windows_as_labels(windows: Mapping[str, Sequence[Window]]) -> pd.DataFrame:
    """Turn NAB windows into a label table for :func:`spikes.evaluation.evaluate.evaluate`.

    Parameters
    ----------
    windows : mapping of str to list of (start, end)
        As returned by :func:`nab_windows`.

    Returns
    -------
    pd.DataFrame
        ``product`` (file stem), ``onset`` (window start), ``end`` (window end),
        ``event`` (``"<stem> window <k>"``). Score it with ``early_allowance=0``.
    """
    rows = [
        (stem, start, end, f"{stem} window {k}")
        for stem, wins in windows.items()
        for k, (start, end) in enumerate(wins)
    ]
    frame = pd.DataFrame(rows, columns=["product", "onset", "end", "event"])
    for column in ("onset", "end"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def nab_series(path: str | Path) -> pd.Series:
    """Load one NAB data file.

    Parameters
    ----------
    path : str or Path
        CSV with columns ``timestamp,value``.

    Returns
    -------
    pd.Series
        Float values named by the file's stem, on a UTC ``DatetimeIndex`` named
        ``timestamp``, in file order. NAB scores rows by position and its files are not all
        strictly increasing (``ec2_request_latency_system_failure`` repeats 2014-03-09
        03:00, ``machine_temperature_system_failure`` steps back an hour on 2014-01-07),
        so the order is kept as it is.

    Raises
    ------
    SpikesInputError
        Unreadable file, missing column or unparsable cell.
    """
    name = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SpikesInputError(f"{name}: cannot read as CSV ({exc})") from exc
    for column in ("timestamp", "value"):
        if column not in frame.columns:
            found = ", ".join(map(str, frame.columns)) or "none"
            raise SpikesInputError(f"{name}: missing column {column!r} (found: {found})")
    stamps = pd.to_datetime(frame["timestamp"], format="ISO8601", errors="coerce")
    values = pd.to_numeric(frame["value"], errors="coerce")
    for column, parsed, expected in (
        ("timestamp", stamps, "an ISO-8601 timestamp"), ("value", values, "a number")
    ):
        bad = np.flatnonzero(parsed.isna().to_numpy())
        if bad.size:
            i = int(bad[0])
            raise SpikesInputError(
                f"{name} line {i + 2}, column {column!r}: {frame[column].iloc[i]!r} is not "
                f"{expected}"
            )
    index = _utc(stamps).rename("timestamp")
    return pd.Series(values.to_numpy(dtype=float), index=index, name=Path(name).stem)


# --------------------------------------------------------------------------- scoring


def probation_length(n_rows: int, probation_percent: float = PROBATION_PERCENT) -> int:
    """Number of leading rows whose detections NAB ignores.

    NAB (``getProbationPeriod``, ``Sweeper._getProbationaryLength``) uses
    ``min(floor(p * n), p * 5000)`` and scores rows with index ``>=`` that value, so the
    count of ignored rows is its ceiling: 750 for ``p = 0.15`` and long files.

    Parameters
    ----------
    n_rows : int
        Rows in the file.
    probation_percent : float
        NAB's ``probationaryPercent`` (0.15).

    Returns
    -------
    int

    Examples
    --------
    >>> probation_length(100), probation_length(15902)
    (15, 750)
    """
    return math.ceil(min(math.floor(probation_percent * n_rows), probation_percent * 5000))


def scaled_sigmoid(position: float) -> float:
    """NAB's scaled sigmoid ``2 / (1 + exp(5 x)) - 1``, and -1 for ``x > 3``.

    Parameters
    ----------
    position : float
        Relative position: -1 at a window's first row, 0 at its right edge, > 0 after it.

    Returns
    -------
    float
        In (-1, 1): 0.98661 at -1, 0 at 0, -0.98661 at 1.
    """
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


@dataclass(frozen=True)
class NabFileScore:
    """NAB score of one data file.

    Attributes
    ----------
    score : float
        Raw NAB score: ``tp_score + fp_score + fn_score``.
    tp_score, fp_score, fn_score : float
        Contributions of detected windows, of detections outside windows, of missed
        windows.
    n_windows : int
        Windows scored (those with at least one row after the probation).
    windows_detected, windows_missed : int
        Scored windows with and without a detection.
    false_positives : int
        Detections outside windows after the probation.
    probation_rows : int
        Leading rows ignored.
    tp_rows, fp_rows, fn_rows, tn_rows : int
        NAB's per-row counts after the probation (detections in / outside windows, rows
        in / outside windows without detection).
    profile : CostMatrix
        Weights used.
    windows : pd.DataFrame
        One row per window: ``start``, ``end``, ``left``, ``right`` (row indices),
        ``scored`` (bool), ``first_detection`` (row, <NA> if none), ``position``,
        ``score``.
    """

    score: float
    tp_score: float
    fp_score: float
    fn_score: float
    n_windows: int
    windows_detected: int
    windows_missed: int
    false_positives: int
    probation_rows: int
    tp_rows: int
    fp_rows: int
    fn_rows: int
    tn_rows: int
    profile: CostMatrix
    windows: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


def _detection_mask(detections: Any, index: pd.DatetimeIndex) -> np.ndarray:
    """Boolean detection per row from a mask or from detection timestamps."""
    values = np.asarray(detections)
    n = len(index)
    if values.dtype == bool or np.issubdtype(values.dtype, np.number):
        if values.shape != (n,):
            raise SpikesInputError(
                f"detections: {values.size} flags for {n} rows (expected one per row)"
            )
        if not np.isin(values, [0, 1]).all():
            raise SpikesInputError("detections: flags must be booleans or 0/1")
        return values.astype(bool)
    mask = np.zeros(n, dtype=bool)
    if values.size == 0:
        return mask
    if not index.is_monotonic_increasing:
        raise SpikesInputError(
            "detections: timestamps are not in order, so give one flag per row instead"
        )
    stamps = _utc(list(values.ravel()))
    rows = index.searchsorted(stamps, side="left")
    if (rows >= n).any():
        late = stamps[int(np.flatnonzero(rows >= n)[0])]
        raise SpikesInputError(
            f"detection at {late.isoformat()} is after the last row ({index[-1].isoformat()})"
        )
    mask[rows] = True
    return mask


def _first_equal(index: pd.DatetimeIndex, stamp: pd.Timestamp) -> int | None:
    hits = np.flatnonzero(index == stamp)
    return int(hits[0]) if hits.size else None


def _window_rows(index: pd.DatetimeIndex, windows: Sequence[Window]) -> list[tuple[int, int]]:
    """Row span of each window, checked.

    As NAB, a window whose limits are row timestamps runs from the first row equal to its
    start to the first row equal to its end. Otherwise (the timestamps must then be
    sorted) it covers the rows within its limits.
    """
    spans = []
    for start, end in windows:
        s, e = _utc([start, end])
        left, right = _first_equal(index, s), _first_equal(index, e)
        if left is None or right is None:
            if not index.is_monotonic_increasing:
                raise SpikesInputError(
                    f"NAB window [{s}, {e}]: its limits are not row timestamps and the "
                    "timestamps are not in order"
                )
            left = int(index.searchsorted(s, side="left"))
            right = int(index.searchsorted(e, side="right")) - 1
        if right < left:
            raise SpikesInputError(f"NAB window [{s}, {e}] contains no row of the series")
        if spans and left <= spans[-1][1]:
            raise SpikesInputError(f"NAB window [{s}, {e}] overlaps the previous window")
        spans.append((left, right))
    return spans


def score_nab_file(
    timestamps: Any,
    detections: Any,
    windows: Sequence[Window],
    profile: str | CostMatrix = "standard",
    *,
    probation_percent: float = PROBATION_PERCENT,
) -> NabFileScore:
    """Score binary detections on one NAB file with NAB's scoring function.

    Parameters
    ----------
    timestamps : array-like of datetime
        The file's row timestamps (naive = UTC); rows are scored by position, as in NAB.
    detections : array-like
        Either one bool (or 0/1) per row, or detection timestamps; a timestamp marks the
        first row at or after it (the timestamps must then be in order).
    windows : sequence of (start, end)
        The file's anomaly windows (see :func:`nab_windows`); not overlapping. NAB's window
        limits are row timestamps; otherwise a window covers the rows within its limits.
    profile : str or CostMatrix
        NAB profile (``"standard"`` by default).
    probation_percent : float
        Share of leading rows ignored (NAB's 0.15), capped at ``probation_percent * 5000``.

    Returns
    -------
    NabFileScore

    Raises
    ------
    SpikesInputError
        Bad detections, empty or overlapping windows.

    Notes
    -----
    A window of one row has ``width - 1 = 0``; NAB would divide by zero when scoring a
    false positive after it. Here such a false positive scores ``-A_FP`` (as if far).
    """
    costs = get_profile(profile)
    index = _utc(timestamps)
    n = len(index)
    detected = _detection_mask(detections, index)
    spans = _window_rows(index, sorted(windows))
    probation = probation_length(n, probation_percent)
    scored = detected & (np.arange(n) >= probation)
    max_tp = scaled_sigmoid(-1.0)

    in_window = np.zeros(n, dtype=bool)
    rows = []
    tp_score = fn_score = 0.0
    for (left, right), (start, end) in zip(spans, sorted(windows), strict=True):
        width = right - left + 1
        in_window[left:right + 1] = True
        is_scored = right >= probation
        hits = np.flatnonzero(scored[left:right + 1]) + left
        first = int(hits[0]) if hits.size else None
        position = -(right - first + 1) / width if first is not None else math.nan
        if not is_scored:
            value = 0.0
        elif first is None:
            value = -costs.fn
            fn_score += value
        else:
            value = max(-costs.fn, scaled_sigmoid(position) * costs.tp / max_tp)
            tp_score += value
        rows.append((start, end, left, right, is_scored, first, position, value))

    fp_rows = np.flatnonzero(scored & ~in_window)
    rights = np.array([r for _, r in spans], dtype=int)
    widths = np.array([r - left + 1 for left, r in spans], dtype=int)
    fp_score = 0.0
    for i in fp_rows:
        k = int(np.searchsorted(rights, i, side="left")) - 1  # last window ending before i
        if k < 0 or widths[k] <= 1:
            unweighted = -1.0
        else:
            unweighted = scaled_sigmoid((i - rights[k]) / (widths[k] - 1))
        fp_score += unweighted * costs.fp

    table = pd.DataFrame(
        rows,
        columns=["start", "end", "left", "right", "scored", "first_detection", "position",
                 "score"],
    )
    table["first_detection"] = table["first_detection"].astype("Int64")
    after = np.arange(n) >= probation
    window_scored = table["scored"].to_numpy(dtype=bool)
    detected_windows = table["first_detection"].notna().to_numpy()
    return NabFileScore(
        score=tp_score + fp_score + fn_score,
        tp_score=tp_score,
        fp_score=fp_score,
        fn_score=fn_score,
        n_windows=int(window_scored.sum()),
        windows_detected=int((window_scored & detected_windows).sum()),
        windows_missed=int((window_scored & ~detected_windows).sum()),
        false_positives=int(fp_rows.size),
        probation_rows=probation,
        tp_rows=int((scored & in_window).sum()),
        fp_rows=int(fp_rows.size),
        fn_rows=int((after & in_window & ~detected).sum()),
        tn_rows=int((after & ~in_window & ~detected).sum()),
        profile=costs,
        windows=table,
    )


def null_score(
    timestamps: Any,
    windows: Sequence[Window],
    profile: str | CostMatrix = "standard",
    *,
    probation_percent: float = PROBATION_PERCENT,
) -> float:
    """Raw score of no detection at all (NAB's null detector) on one file.

    Parameters
    ----------
    timestamps, windows, profile, probation_percent
        As :func:`score_nab_file`.

    Returns
    -------
    float
        ``-A_FN`` times the number of scored windows.
    """
    empty = np.zeros(len(timestamps), dtype=bool)
    return score_nab_file(
        timestamps, empty, windows, profile, probation_percent=probation_percent
    ).score


def perfect_score(windows: Sequence[Window], profile: str | CostMatrix = "standard") -> float:
    """Raw score of a perfect detector on one file, as NAB's normalisation defines it.

    Parameters
    ----------
    windows : sequence of (start, end)
        The file's windows.
    profile : str or CostMatrix
        NAB profile.

    Returns
    -------
    float
        ``A_TP`` times the number of windows (a detection on each window's first row).
    """
    return len(windows) * get_profile(profile).tp


def normalised_score(raw_total: float, perfect_total: float, null_total: float) -> float:
    """NAB's normalised score, 0 for the null detector and 100 for a perfect one.

    Parameters
    ----------
    raw_total, perfect_total, null_total : float
        Raw scores summed over the same files.

    Returns
    -------
    float
        ``100 * (raw - null) / (perfect - null)``.

    Raises
    ------
    SpikesInputError
        ``perfect_total == null_total`` (no window to score).

    Examples
    --------
    >>> normalised_score(-2.0, 4.0, -4.0)
    25.0
    """
    if perfect_total == null_total:
        raise SpikesInputError("NAB normalisation: perfect and null scores are equal")
    return 100.0 * (raw_total - null_total) / (perfect_total - null_total)


@dataclass(frozen=True)
class NabCorpusScore:
    """NAB score of a set of files.

    Attributes
    ----------
    normalised : float
        :func:`normalised_score` of the totals.
    raw, null, perfect : float
        Totals over the files.
    files : pd.DataFrame
        Per file (index = stem): ``raw``, ``null``, ``perfect``, ``windows``,
        ``detected``, ``false_positives``.
    """

    normalised: float
    raw: float
    null: float
    perfect: float
    files: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


def score_nab_corpus(
    detections: Mapping[str, tuple[Any, Any]],
    windows: Mapping[str, Sequence[Window]],
    profile: str | CostMatrix = "standard",
    *,
    probation_percent: float = PROBATION_PERCENT,
) -> NabCorpusScore:
    """Score several NAB files and normalise the totals.

    Parameters
    ----------
    detections : mapping of str to (timestamps, detections)
        Per file stem, the file's row timestamps and its detections (as
        :func:`score_nab_file`).
    windows : mapping of str to list of (start, end)
        As :func:`nab_windows`; every stem of ``detections`` must be present.
    profile : str or CostMatrix
        NAB profile.
    probation_percent : float
        As :func:`score_nab_file`.

    Returns
    -------
    NabCorpusScore

    Raises
    ------
    SpikesInputError
        A file has no windows entry, or as :func:`score_nab_file`.

    Notes
    -----
    NAB normalises over its whole 58-file corpus; the figure for a subset (e.g. the five
    realTweets files here) uses the null and perfect totals of that subset only.
    """
    rows = []
    for stem, (stamps, flags) in detections.items():
        if stem not in windows:
            raise SpikesInputError(f"no NAB windows for {stem!r}")
        wins = windows[stem]
        result = score_nab_file(stamps, flags, wins, profile,
                                probation_percent=probation_percent)
        null = null_score(stamps, wins, profile, probation_percent=probation_percent)
        rows.append((stem, result.score, null, perfect_score(wins, profile), len(wins),
                     result.windows_detected, result.false_positives))
    files = pd.DataFrame(
        rows, columns=["file", "raw", "null", "perfect", "windows", "detected",
                       "false_positives"]
    ).set_index("file")
    raw, null, perfect = (float(files[c].sum()) for c in ("raw", "null", "perfect"))
    return NabCorpusScore(
        normalised=normalised_score(raw, perfect, null), raw=raw, null=null, perfect=perfect,
        files=files,
    )
