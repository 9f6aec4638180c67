"""What the driver adds to incidents once every product's incidents and events are known.

The workers build each partition's incidents with the product's own part of ``why``
(:func:`spikes.detect.reasons.add_reasons`). Events group incidents across partitions, and
the report breakdown and the calendar stay in the driver, so the rest is added here, in
one function that both drivers call: :func:`spikes.detect.pipeline.rethreshold` (data in
memory, the dashboard, the live service) and :func:`spikes.engine.run.detect` (the command
line, any engine).
"""

from __future__ import annotations

import pandas as pd

from spikes.detect.known_events import Calendar, known_event_labels
from spikes.detect.reasons import complete_reasons

__all__ = ["annotate_incidents"]


def annotate_incidents(incidents: pd.DataFrame, events: pd.DataFrame | None = None, *,
                       breakdown: pd.DataFrame | None = None,
                       bucket: pd.Timedelta | None = None,
                       calendar: Calendar | None = None) -> pd.DataFrame:
    """`incidents` with the driver's annotations.

    Parameters
    ----------
    incidents : pd.DataFrame
        Every incident, with event ids and the workers' ``why``.
    events : pd.DataFrame, optional
        :func:`spikes.detect.events.summarize_events` of them (the chance of an event).
    breakdown : pd.DataFrame, optional
        ``ReportData.breakdown``, where the input has region or category columns.
    bucket : pd.Timedelta, optional
        Bucket size (with `breakdown`).
    calendar : Calendar, optional
        Known-event windows.

    Returns
    -------
    pd.DataFrame
        A copy: ``why`` completed with the event and breakdown parts
        (:func:`spikes.detect.reasons.complete_reasons`); ``known_event`` set to the
        windows each onset lies in (:func:`spikes.detect.known_events.known_event_labels`),
        left as it was without a calendar.
    """
    out = incidents.copy()
    if out.empty:
        return out
    out["why"] = complete_reasons(out, events, breakdown, bucket)
    if calendar is not None:
        out["known_event"] = known_event_labels(out, calendar)
    return out
