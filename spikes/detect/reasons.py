"""Why an incident is believed, in words: the ``why`` of incidents, the API and alerts.

:func:`incident_reason` describes one incident from the counts and the baseline it was
detected against, as of a given time (an alert sent at 19:10 may only say what was
known at 19:10), for example::

    Outlook: 1,391 reports in 5 min against 14.5 usual (96x); started 19:00, raised 19:10
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from spikes.detect.baseline import Baseline
    from spikes.model import ReportData

__all__ = ["add_reasons", "incident_reason"]


def _duration(bucket: pd.Timedelta) -> str:
    minutes = bucket / pd.Timedelta(minutes=1)
    if minutes < 60 or minutes % 60:
        return f"{minutes:g} min"
    hours = minutes / 60
    return "1 hour" if hours == 1 else f"{hours:g} hours"


def _time(value: pd.Timestamp, reference: pd.Timestamp) -> str:
    """`value` as HH:MM, with its date when it is not `reference`'s day."""
    if value.normalize() == reference.normalize():
        return value.strftime("%H:%M")
    return value.strftime("%Y-%m-%d %H:%M")


def _column(columns: pd.Index, product: str) -> object:
    """The label of `product`'s column (incidents name products as strings)."""
    if product in columns:
        return product
    return next(c for c in columns if str(c) == product)


def incident_reason(data: ReportData, baseline: Baseline, incident: Mapping[str, object],
                    as_of: pd.Timestamp | None = None) -> str:
    """One incident's reason in words, from what was known at `as_of`.

    Parameters
    ----------
    data : ReportData
        The counts the incident was detected in.
    baseline : Baseline
        The baseline it was detected against.
    incident : Mapping
        One row of an incidents table (``product``, ``onset``, ``end``, ``alerted_at``).
    as_of : pd.Timestamp, optional
        Describe the incident from the buckets up to this time only (the end of the
        incident when None).

    Returns
    -------
    str
        The peak bucket so far against its baseline, the onset and, for a live
        incident, when it was raised.
    """
    product = str(incident["product"])
    onset = pd.Timestamp(incident["onset"])
    end = pd.Timestamp(incident["end"]) if as_of is None else min(
        pd.Timestamp(incident["end"]), pd.Timestamp(as_of))
    column = _column(data.counts.columns, product)
    counts = data.counts[column].loc[onset:end]
    expected = baseline.expected[column].loc[onset:end]
    seen = counts.notna().to_numpy()
    if not seen.any():
        return f"{product}: started {_time(onset, onset)}"
    values = np.where(seen, counts.to_numpy(dtype=float), -np.inf)
    peak = int(np.argmax(values))
    reports, usual = float(counts.iloc[peak]), float(expected.iloc[peak])
    ratio = reports / max(usual, 1e-3)
    text = (f"{product}: {reports:,.0f} reports in {_duration(data.bucket)} against "
            f"{usual:,.1f} usual at {counts.index[peak]:%H:%M} ({ratio:,.0f}x); "
            f"started {_time(onset, onset)}")
    alerted = incident.get("alerted_at")
    if alerted is not None and not pd.isna(alerted):
        text += f", raised {_time(pd.Timestamp(alerted), onset)}"
    return text


def add_reasons(incidents: pd.DataFrame, data: ReportData, baseline: Baseline) -> pd.DataFrame:
    """`incidents` with its ``why`` column filled by :func:`incident_reason`."""
    out = incidents.copy()
    out["why"] = [incident_reason(data, baseline, row) for row in out.to_dict("records")]
    return out.astype({"why": "object"})
