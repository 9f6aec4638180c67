"""Simulations as files: CSV with ISO-8601 UTC timestamps."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from spikes.errors import SpikesInputError
from spikes.evaluation.simulate.rendering import LABEL_COLUMNS, Simulation
from spikes.io.output import check_csv_name, write_text_atomic


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

    Raises
    ------
    SpikesInputError
        If both paths name one file, a name asks for another format (``.parquet``,
        ``.xlsx``...), or a file cannot be written (a missing folder, a folder's name).
    """
    paths = [Path(reports_path), Path(labels_path)]
    if paths[0].resolve() == paths[1].resolve():
        raise SpikesInputError(f"{paths[0]}: the reports and the labels need two files")
    for path in paths:
        check_csv_name(path)
    reports = sim.reports.assign(timestamp=_iso(sim.reports["timestamp"]))
    labels = sim.labels[list(label_columns or LABEL_COLUMNS)].copy()
    for col in ("onset", "end"):
        if col in labels:
            labels[col] = _iso(labels[col])
    for frame, path in zip((reports, labels), paths, strict=True):
        write_text_atomic(path, frame.to_csv(index=False, float_format="%.4g"))


def _iso(times: pd.Series) -> pd.Series:
    """``2026-01-22T19:05:00+00:00`` strings."""
    # (utc=True: an empty column, of no outage, has no zone to convert from.)
    seconds = pd.DatetimeIndex(pd.to_datetime(times, utc=True)).tz_localize(None).as_unit("s")
    text = np.datetime_as_string(seconds.to_numpy(), unit="s")
    return pd.Series(np.char.add(text.astype(str), "+00:00"), index=times.index)
