"""`spikes` itself, with its default settings: ``analyze(data, DetectionConfig())``, live
(causal) detection."""

from __future__ import annotations

from typing import Any

import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.pipeline import analyze
from spikes.model import ReportData

NAME = "spikes"
LABEL = "spikes (defaults)"
DEFAULTS: dict[str, Any] = {}
GRID: dict[str, list[Any]] = {}
QUICK_GRID: dict[str, list[Any]] = {}


def detect(counts: pd.DataFrame, bucket: pd.Timedelta,
           config: DetectionConfig | None = None) -> pd.DataFrame:
    """Run the whole `spikes` pipeline with its defaults.

    Parameters
    ----------
    counts : pd.DataFrame
        Wide counts per bucket and product (as ``ReportData.counts``).
    bucket : pd.Timedelta
        Bucket size.
    config : DetectionConfig, optional
        Another configuration (the budget rule sets ``false_alarms_per_week``); the
        defaults when None.

    Returns
    -------
    pd.DataFrame
        ``product, onset, end, alerted_at`` (the other incident columns of `spikes` are
        dropped).
    """
    data = ReportData(counts=counts, bucket=bucket)
    incidents = analyze(data, config or DetectionConfig()).incidents
    return incidents[["product", "onset", "end", "alerted_at"]].reset_index(drop=True)
