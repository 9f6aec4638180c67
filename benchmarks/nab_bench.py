"""The NAB realTweets files: every detector with its defaults, scored by F1 (windows as
labels, no early allowance, per EVALUATION.md) and by NAB's normalised standard score.

Each file (``timestamp,value``, 5-minute rows with odd seconds) is read with
:func:`spikes.evaluation.nab.nab_series`, its timestamps floored to the 5-minute grid (missing rows
become NaN) and handed to every detector as a one-column counts table. An incident onset
(a bucket start) is mapped back to the file row that fell into that bucket, so that the
F1 and the NAB scorer see the file's own timestamps. Every incident onset is one detection.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
from peers import reported_seconds
from scoring import score

from spikes.evaluation.evaluate import product_weeks_from_span
from spikes.evaluation.nab import nab_series, nab_windows, nab_windows_as_labels, score_nab_corpus

NAB_DIR = Path("/work/shared/realdata/nab")
FILES = ["AAPL", "AMZN", "CRM", "CVS", "FB"]
BUCKET = pd.Timedelta("5min")
PUBLISHED = {
    "ARTime": 83.8, "earthgecko Skyline": 77.8, "contextOSE": 76.0, "HTM java": 70.1,
    "numenta": 66.1, "knncad": 68.6, "Twitter ADVec": 66.0, "windowed Gaussian": 64.8,
}
"""Published normalised standard scores on exactly these five files."""


def load(folder: Path = NAB_DIR) -> dict[str, tuple[pd.Series, pd.DataFrame]] | None:
    """Series and grid counts per file stem; None when the folder is absent."""
    tweets = folder / "realTweets"
    if not tweets.is_dir():
        return None
    out = {}
    for name in FILES:
        series = nab_series(tweets / f"Twitter_volume_{name}.csv")
        floored = series.index.floor(BUCKET)
        grid = pd.date_range(floored.min(), floored.max(), freq=BUCKET, name="timestamp")
        counts = pd.DataFrame({series.name: series.to_numpy()}, index=floored)
        counts = counts[~counts.index.duplicated()].reindex(grid)
        out[str(series.name)] = (series, counts)
    return out


def to_rows(onsets: pd.Series, series: pd.Series) -> pd.DatetimeIndex:
    """The file row timestamps of the buckets starting at ``onsets``."""
    floored = series.index.floor(BUCKET)
    pos = np.searchsorted(floored.to_numpy(), pd.DatetimeIndex(onsets).to_numpy(), "left")
    return series.index[np.clip(pos, 0, len(series) - 1)]


def run(peers: list[ModuleType], folder: Path = NAB_DIR) -> dict[str, Any]:
    """Score every peer (defaults) on the realTweets files.

    Returns
    -------
    dict
        ``available`` (bool), ``note``, and per peer ``results[name]`` with the F1
        figures, ``nab_score``, ``nab_files`` (per file: windows, detected, false
        positives) and ``seconds``; ``published`` scores for reference.
    """
    files = load(folder)
    if files is None:
        return {"available": False, "note": f"{folder / 'realTweets'} is absent: NAB skipped"}
    windows = {k: v for k, v in nab_windows(folder / "labels" / "combined_windows.json").items()
               if k in files}
    labels = nab_windows_as_labels(windows)
    weeks = sum(product_weeks_from_span(c.index[0], c.index[-1], 1, BUCKET)
                for _, c in files.values())
    results: dict[str, Any] = {}
    for peer in peers:
        try:
            tables, seconds = [], 0.0
            for series, counts in files.values():
                start = time.perf_counter()
                inc = peer.detect(counts, BUCKET, **peer.DEFAULTS)
                seconds += reported_seconds(peer, time.perf_counter() - start)
                tables.append(inc.assign(onset=to_rows(inc["onset"], series)))
        except Exception as exc:  # noqa: BLE001 - a peer that fails is reported, not fatal
            results[peer.NAME] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        incidents = pd.concat(tables, ignore_index=True)
        figs, _ = score(incidents, labels, weeks, BUCKET, seconds,
                        early_allowance=pd.Timedelta(0))
        # An online detector detects at the row it has just read: for `spikes`, the bucket
        # whose end is its alerted_at; for a peer without one, its onset.
        detected = (incidents["alerted_at"].fillna(incidents["onset"] + BUCKET) - BUCKET
                    if "alerted_at" in incidents else incidents["onset"])
        detections = {stem: (series.index,
                             pd.Series(to_rows(detected[incidents["product"] == stem], series))
                             .sort_values())
                      for stem, (series, _) in files.items()}
        nab = score_nab_corpus(detections, windows)
        figs["nab_score"] = nab.normalised
        figs["nab_files"] = {stem: {k: int(v) for k, v in row.items()
                                    if k in ("windows", "detected", "false_positives")}
                             for stem, row in nab.files.iterrows()}
        results[peer.NAME] = figs
    return {"available": True, "files": list(files), "windows": len(labels),
            "results": results, "published": PUBLISHED}
