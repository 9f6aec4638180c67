"""Group incidents of several products that start together into events (a shared cause)."""

from __future__ import annotations

import pandas as pd

from spikes.model import INCIDENT_COLUMNS

EVENT_COLUMNS = [
    "event_id",
    "onset",
    "end",
    "first_product",
    "products",
    "n_products",
    "excess_reports",
    "severity",
    "ongoing",
]
_SEVERITY_RANK = {"minor": 0, "major": 1, "critical": 2}


def assign_events(incidents: pd.DataFrame, window: str | pd.Timedelta) -> pd.DataFrame:
    """Give every incident an ``event_id``; incidents that start together share one.

    Incidents are taken in onset order; one whose onset lies within `window` of the
    previous incident's onset joins that incident's event (single linkage, so a chain
    reaction of products failing one after another minutes apart is one event). Events
    are numbered ``E0001``, ``E0002``... in order of their first onset.

    Parameters
    ----------
    incidents : pd.DataFrame
        Incidents with at least ``product`` and ``onset``.
    window : str or pd.Timedelta
        Largest gap between consecutive onsets inside one event.

    Returns
    -------
    pd.DataFrame
        The incidents sorted by onset then product, with an ``event_id`` column.
    """
    out = incidents.sort_values(["onset", "product"], kind="stable").reset_index(drop=True)
    if out.empty:
        out["event_id"] = pd.Series(dtype="object")
        return out[[c for c in INCIDENT_COLUMNS if c in out.columns]]
    gaps = out["onset"].diff() > pd.Timedelta(window)
    number = gaps.cumsum() + 1
    out["event_id"] = [f"E{n:04d}" for n in number]
    return out


def summarize_events(incidents: pd.DataFrame) -> pd.DataFrame:
    """One row per event: first mover, products in order of onset, span, size.

    Parameters
    ----------
    incidents : pd.DataFrame
        Output of :func:`assign_events`.

    Returns
    -------
    pd.DataFrame
        Columns :data:`EVENT_COLUMNS`, sorted by onset.
    """
    if incidents.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in EVENT_COLUMNS})
    # Within an event, incidents in onset order (ties keep their order: by product).
    ordered = incidents.sort_values(["event_id", "onset"], kind="stable")
    groups = ordered.groupby("event_id", sort=True)
    rank = ordered["severity"].map(_SEVERITY_RANK).fillna(-1).groupby(ordered["event_id"])
    names = {v: k for k, v in _SEVERITY_RANK.items()}
    table = pd.DataFrame(
        {
            "onset": groups["onset"].first(),
            "end": groups["end"].max(),
            "first_product": groups["product"].first(),
            "products": groups["product"].agg(", ".join),
            "n_products": groups["product"].nunique().astype(int),
            "excess_reports": groups["excess_reports"].sum().astype(float),
            "severity": rank.max().map(names),
            "ongoing": groups["ongoing"].any().astype(bool),
        }
    )
    table = table.rename_axis("event_id").reset_index()[EVENT_COLUMNS]
    return table.sort_values("onset", kind="stable").reset_index(drop=True)
