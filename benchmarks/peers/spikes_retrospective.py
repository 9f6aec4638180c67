"""`spikes` with hindsight: ``DetectionConfig(mode="retrospective")``.

Its baseline pools days on both sides of a bucket and its thresholds and onsets see the
whole series, so its figures are retrospective (EVALUATION.md, "Live rules"): shown for
post-mortem use, never ranked beside the online detectors.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.pipeline import analyze
from spikes.model import ReportData

NAME = "spikes-retro"
LABEL = "spikes retrospective (hindsight; not comparable with online detectors)"
DEFAULTS: dict[str, Any] = {}
GRID: dict[str, list[Any]] = {}
QUICK_GRID: dict[str, list[Any]] = {}


def detect(counts: pd.DataFrame, bucket: pd.Timedelta) -> pd.DataFrame:
    """Run the whole `spikes` pipeline with hindsight.

    Parameters
    ----------
    counts : pd.DataFrame
        Wide counts per bucket and product (as ``ReportData.counts``).
    bucket : pd.Timedelta
        Bucket size.

    Returns
    -------
    pd.DataFrame
        ``product, onset, end``.
    """
    data = ReportData(counts=counts, bucket=bucket)
    incidents = analyze(data, DetectionConfig(mode="retrospective")).incidents
    return incidents[["product", "onset", "end"]].reset_index(drop=True)
