"""Group incidents of several products that start together into events (a shared cause)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spikes.model import INCIDENT_COLUMNS

_EMPTY_TYPES = {"onset": "datetime64[us, UTC]", "end": "datetime64[us, UTC]",
                "n_products": "int64", "excess_reports": "float64", "ongoing": "bool",
                "chance": "float64"}
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
    "chance",
]
_SEVERITY_RANK = {"minor": 0, "major": 1, "critical": 2}


def assign_events(incidents: pd.DataFrame, window: str | pd.Timedelta) -> pd.DataFrame:
    """Give every incident an ``event_id``; incidents that start together share one.

    Incidents are taken in onset order; one whose onset lies within `window` of the
    previous incident's onset joins that incident's event (single linkage, so a chain
    reaction of products failing one after another minutes apart is one event), unless
    its product already has an incident in that event: a product's next incident is a
    new event. Events are numbered ``E0001``, ``E0002``... in order of their first
    onset; live incidents (with ``alerted_at``) in the order their events were first
    raised, so that the ids already announced do not change, but in one case: an
    incident raised later whose onset lies between two events' (a slow rise) joins them
    into one, which keeps the earlier's id, and the ids of the events raised after them
    move down by one. Alerts follow an event by its ``event_key`` (its first raised
    incident), which does not move (:mod:`spikes.alerts.timeline`).

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
    apart = (out["onset"].diff() > pd.Timedelta(window)).to_numpy()
    number, members, groups = 0, set(), []
    for far, product in zip(apart, out["product"], strict=True):
        if far or product in members or not groups:
            number, members = number + 1, set()
        members.add(product)
        groups.append(number)
    group = pd.Series(groups, index=out.index)
    if "alerted_at" in out and out["alerted_at"].notna().any():
        # Live incidents: events are numbered in the order they were first raised, so
        # that an incident raised later with an earlier onset (a slow rise) does not
        # renumber events already announced.
        first = out["alerted_at"].groupby(group).min()
        order = first.sort_values(kind="stable").index
        group = group.map({g: i + 1 for i, g in enumerate(order)})
    out["event_id"] = [f"E{g:04d}" for g in group]
    return out


def summarize_events(incidents: pd.DataFrame, *, span: pd.Timedelta | None = None,
                     products: int | None = None,
                     window: str | pd.Timedelta | None = None) -> pd.DataFrame:
    """One row per event: first mover, products in order of onset, span, size, and how
    likely a grouping like it is by chance.

    ``chance`` answers "is this a shared cause?". With many products, unrelated
    incidents also start within minutes of each other and chain into events. Onsets of
    the other products are taken as a Poisson process at the data's own rate ``r``
    (all incidents over `span`, times the share ``(products - 1) / products``). An
    onset is then followed by another within `window` with probability
    ``q = 1 - exp(-r window)``; a chain of :func:`assign_events` starts where an onset
    does not follow the one before it within `window` (probability ``1 - q``) and
    reaches ``n`` incidents with probability ``q ** (n - 1)`` (the gaps are
    independent). The data then holds about ``incidents (1 - q) q ** (n - 1)`` chance
    chains of ``n`` or more, and ``chance = 1 - exp(-that)`` is the probability of at
    least one: of a chance grouping at least this large. A few
    products failing together among a dozen is far below 1 %; among a thousand
    products with thousands of incidents, the same grouping is likely coincidence.
    NaN without `span`, `products` and `window`; 1 for single-product events.

    Parameters
    ----------
    incidents : pd.DataFrame
        Output of :func:`assign_events`.
    span : pd.Timedelta, optional
        Time covered by the data.
    products : int, optional
        Number of products in the data.
    window : str or pd.Timedelta, optional
        The event window :func:`assign_events` used.

    Returns
    -------
    pd.DataFrame
        Columns :data:`EVENT_COLUMNS`, sorted by onset.
    """
    if incidents.empty:  # the column types of a table with events
        return pd.DataFrame({c: pd.Series(dtype=_EMPTY_TYPES.get(c, "object"))
                             for c in EVENT_COLUMNS})
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
            "excess_reports": groups["excess_reports"].sum().astype(float).round(1),
            "severity": rank.max().map(names),
            "ongoing": groups["ongoing"].any().astype(bool),
        }
    )
    table["chance"] = _chance(table["n_products"].to_numpy(dtype=float), len(incidents),
                              span, products, window)
    table = table.rename_axis("event_id").reset_index()[EVENT_COLUMNS]
    return table.sort_values("onset", kind="stable").reset_index(drop=True)


def event_chance(events: pd.DataFrame, n_incidents: int, *,
                 span: pd.Timedelta | None = None, products: int | None = None,
                 window: str | pd.Timedelta | None = None) -> np.ndarray:
    """The ``chance`` column of `events` for another span or number of products: that
    of :func:`summarize_events` on the same incidents with these arguments (the other
    columns do not depend on them).

    Parameters
    ----------
    events : pd.DataFrame
        Output of :func:`summarize_events`.
    n_incidents : int
        Number of the incidents it summarised.
    span, products, window
        As in :func:`summarize_events`.

    Returns
    -------
    np.ndarray
        One chance per row of `events`, in its order.

    Examples
    --------
    >>> incidents = pd.DataFrame({
    ...     "event_id": ["E0001", "E0001"], "product": ["a", "b"],
    ...     "onset": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 10:05"], utc=True),
    ...     "end": pd.to_datetime(["2026-01-01 11:00", "2026-01-01 11:00"], utc=True),
    ...     "excess_reports": [10.0, 5.0], "severity": ["minor", "major"],
    ...     "ongoing": [False, False]})
    >>> day = summarize_events(incidents, span=pd.Timedelta(days=1), products=10,
    ...                        window="10min")
    >>> week = summarize_events(incidents, span=pd.Timedelta(days=7), products=10,
    ...                         window="10min")
    >>> chance = event_chance(day, 2, span=pd.Timedelta(days=7), products=10,
    ...                       window="10min")
    >>> bool(np.array_equal(chance, week["chance"].to_numpy()))
    True
    """
    return _chance(events["n_products"].to_numpy(dtype=float), n_incidents, span,
                   products, window)


def _chance(n: np.ndarray, n_incidents: int, span: pd.Timedelta | None,
            products: int | None, window: str | pd.Timedelta | None) -> np.ndarray:
    """Probability of a chance grouping of at least `n` products (see summarize_events)."""
    if span is None or products is None or window is None or span <= pd.Timedelta(0) \
            or products < 2:
        return np.where(n > 1, np.nan, 1.0)
    rate = n_incidents / (span / pd.Timedelta(minutes=1)) * (products - 1) / products
    follow = -np.expm1(-rate * (pd.Timedelta(window) / pd.Timedelta(minutes=1)))
    # Chains start where an onset is not followed up by the one before it (1 - q), and
    # reach n members with probability q ** (n - 1).
    expected = n_incidents * (1.0 - follow) * follow ** np.maximum(n - 1, 0)
    return np.where(n > 1, -np.expm1(-expected), 1.0)
