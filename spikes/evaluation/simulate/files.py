"""Simulations as files: CSV with ISO-8601 UTC timestamps."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from spikes.evaluation.simulate.rendering import LABEL_COLUMNS, Simulation


def write_simulation(sim: Simulation, reports_path: str | Path, labels_path: str | Path, *,
                     label_columns: Sequence[str] | None = None) -> None:
    """Write reports and labels as CSV with ISO-8601 UTC timestamps (``+00:00``).

    Parameters
    ----------
    sim : Simulation
        What to write.
    reports_path, labels_path : str or Path
        Output files; a ``.gz`` suffix compresses (reproducibly: no time stamp in the
        gzip header).
    label_columns : sequence of str, optional
        Columns of the labels file; default all of :data:`LABEL_COLUMNS`.
    """
    reports = sim.reports.assign(timestamp=_iso(sim.reports["timestamp"]))
    labels = sim.labels[list(label_columns or LABEL_COLUMNS)].copy()
    for col in ("onset", "end"):
        if col in labels:
            labels[col] = _iso(labels[col])
    for frame, path in ((reports, reports_path), (labels, labels_path)):
        path = Path(path)
        compression = {"method": "gzip", "mtime": 0} if path.suffix == ".gz" else None
        frame.to_csv(path, index=False, compression=compression, float_format="%.4g")


def _iso(times: pd.Series) -> pd.Series:
    """``2026-01-22T19:05:00+00:00`` strings."""
    # (utc=True: an empty column, of no outage, has no zone to convert from.)
    seconds = pd.DatetimeIndex(pd.to_datetime(times, utc=True)).tz_localize(None).as_unit("s")
    text = np.datetime_as_string(seconds.to_numpy(), unit="s")
    return pd.Series(np.char.add(text.astype(str), "+00:00"), index=times.index)
