"""Tables of the dashboard: the overview, incidents, events and report breakdowns.

Each is a :class:`pandas.DataFrame` as shown to a person (local times as text, rounded
numbers), a pure function of the analysis and a few display choices.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from spikes.detect.pipeline import Analysis, product_status
from spikes.detect.reason_zone import reason_shown
from spikes.detect.reasons import chance_text
from spikes.evaluation.lead import signed_minutes
from spikes.ui.dashboard.formatting import default_range, duration_text, fmt_time
from spikes.ui.dashboard.theme import STATUS_LABELS


def overview_table(analysis: Analysis, tz: str = "UTC", hours: float = 24,
                   status: pd.DataFrame | None = None,
                   max_points: int | None = None) -> pd.DataFrame:
    """One row per product, worst first: status, latest reports against the baseline, a
    sparkline of the last `hours` and the current and last incident onset.

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`spikes.detect.pipeline.analyze`.
    tz : str
        Time zone of the onset times shown.
    hours : float
        Length of the sparkline.
    status : pd.DataFrame, optional
        Output of :func:`spikes.detect.pipeline.product_status` when already computed.
    max_points : int, optional
        Most points of a sparkline: longer ones keep the highest count of each run of
        consecutive buckets (for display only: a one-bucket peak stays visible); None
        keeps every bucket.

    Returns
    -------
    pd.DataFrame
        Columns ``product``, ``status`` (with a coloured marker), ``reports``,
        ``baseline``, ``ratio``, ``trend`` (list of reports per bucket), ``current_onset``,
        ``current_alerted_at`` (when a live run raised it), ``last_onset`` (text in `tz`,
        empty when none), ``last_lead`` (the last incident's lead over the vendor's
        status page, e.g. ``+23 min``; empty without a match), ``incidents``.
    """
    status = product_status(analysis) if status is None else status
    leads = _last_leads(analysis.incidents)
    counts = analysis.data.counts
    start, _ = default_range(analysis, hours)
    recent = np.nan_to_num(counts.loc[start:].to_numpy(dtype=float), nan=0.0)
    recent = pd.DataFrame(peak_thinned(recent, max_points), columns=counts.columns)
    rows = []
    for row in status.itertuples(index=False):
        trend = recent[row.product].to_numpy(dtype=float)
        baseline = float(row.latest_baseline)
        # A product without data now has no reports now (not those of its last data),
        # an outage whose feed stopped included.
        stale = row.status == "no data" or row.latest < counts.index[-1]
        reports = float("nan") if stale else float(row.latest_reports)
        rows.append(
            {
                "product": row.product,
                "status": STATUS_LABELS.get(row.status, row.status),
                "reports": reports,
                "baseline": round(baseline, 1),
                "ratio": round(reports / baseline, 1) if baseline > 0 and reports == reports
                else float("nan"),
                "trend": [0.0 if math.isnan(v) else v for v in trend],
                "current_onset": fmt_time(row.current_onset, tz),
                "current_alerted_at": fmt_time(row.current_alerted_at, tz),
                "last_onset": fmt_time(row.last_onset, tz),
                "last_lead": leads.get(row.product, ""),
                "incidents": int(row.incidents),
            }
        )
    return pd.DataFrame(rows, columns=["product", "status", "reports", "baseline", "ratio",
                                       "trend", "current_onset", "current_alerted_at",
                                       "last_onset", "last_lead", "incidents"])


def peak_thinned(values: np.ndarray, max_points: int | None) -> np.ndarray:
    """Rows of `values` (buckets x products) thinned to at most `max_points` rows, each
    the maximum of a run of consecutive rows (the last run may be shorter).

    Parameters
    ----------
    values : np.ndarray
        Two-dimensional, one row per bucket.
    max_points : int or None
        Most rows kept; None or at least ``len(values)`` keeps `values` as it is.

    Returns
    -------
    np.ndarray
        ``ceil(len(values) / step)`` rows with ``step = ceil(len(values) / max_points)``.
    """
    n = len(values)
    if max_points is None or n <= max_points:
        return values
    if max_points < 1:
        raise ValueError(f"peak_thinned: max_points must be at least 1, got {max_points}")
    step = math.ceil(n / max_points)
    return np.maximum.reduceat(values, np.arange(0, n, step), axis=0)


def _last_leads(incidents: pd.DataFrame) -> dict[str, str]:
    """Each product's last incident's lead over the status page, as text."""
    if incidents.empty or "lead_minutes" not in incidents:
        return {}
    last = incidents.sort_values("onset", kind="stable").groupby("product").tail(1)
    return {str(p): signed_minutes(v)
            for p, v in zip(last["product"], last["lead_minutes"], strict=True)}


def incident_table(incidents: pd.DataFrame, tz: str = "UTC",
                   product: str | None = None, *, bucket: pd.Timedelta) -> pd.DataFrame:
    """Incidents as shown to a person: local times, rounded numbers, newest first.

    Parameters
    ----------
    incidents : pd.DataFrame
        ``Analysis.incidents``.
    tz : str
        Time zone of the times.
    product : str, optional
        Keep only this product's incidents.
    bucket : pd.Timedelta
        Bucket size of the data: an incident lasts from its onset to the end of its last
        bucket (``end`` is that bucket's start).

    Returns
    -------
    pd.DataFrame
        Columns ``event``, ``product``, ``onset``, ``raised`` (``alerted_at``: when a live
        run raised it; empty in retrospective mode), ``status page`` (the lead over the
        vendor's status page, ``+23 min``: raised 23 min before the vendor first said
        something; from the onset in retrospective mode; empty without a match),
        ``peak``, ``end`` (text in `tz`), ``duration``, ``severity``, ``peak reports``,
        ``baseline``, ``excess reports``, ``ratio``, ``detectors``, ``ongoing``,
        ``known event`` (the calendar window its onset lies in, empty when none) and
        ``why`` (the reason in words, its times in `tz`: :func:`reason_shown`).
    """
    columns = ["event", "product", "onset", "raised", "status page", "peak", "end",
               "duration", "severity", "peak reports", "baseline", "excess reports", "ratio",
               "detectors", "ongoing", "known event", "why"]
    if incidents.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    own = incidents if product is None else incidents[incidents["product"] == product]
    own = own.sort_values(["onset", "product"], ascending=False, kind="stable")
    out = pd.DataFrame(
        {
            "event": own["event_id"].astype(str),
            "product": own["product"].astype(str),
            "onset": [fmt_time(t, tz) for t in own["onset"]],
            "raised": [fmt_time(t, tz) for t in own["alerted_at"]],
            "status page": [signed_minutes(v) for v in own["lead_minutes"]]
            if "lead_minutes" in own else "",
            "peak": [fmt_time(t, tz) for t in own["peak"]],
            "end": [fmt_time(t, tz) for t in own["end"]],
            "duration": [duration_text(e + bucket - o)
                         for o, e in zip(own["onset"], own["end"], strict=True)],
            "severity": own["severity"].astype(str),
            "peak reports": own["peak_reports"].astype(float).round(0),
            "baseline": own["baseline_reports"].astype(float).round(1),
            "excess reports": own["excess_reports"].astype(float).round(0),
            "ratio": own["ratio"].astype(float).round(1),
            "detectors": own["detectors"].astype(str),
            "ongoing": own["ongoing"].astype(bool),
            "known event": _text(own, "known_event"),
            "why": _reasons(own, tz),
        },
        columns=columns,
    )
    return out.reset_index(drop=True)


def _reasons(incidents: pd.DataFrame, tz: str) -> pd.Series:
    """The ``why`` of each incident with its times in `tz` (:func:`reason_shown`), empty
    where it has none (or when there is no such column)."""
    if "why" not in incidents or tz == "UTC":
        return _text(incidents, "why")
    return pd.Series([reason_shown(incident, tz) for incident in incidents.to_dict("records")],
                     index=incidents.index, dtype="object")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """A text column of `frame`, empty where missing (or when there is no such column)."""
    if column not in frame:
        return pd.Series("", index=frame.index, dtype="object")
    return frame[column].fillna("").astype(str)


def breakdown_shares(analysis: Analysis, product: str, incident: pd.Series | None,
                     dimension: str, top: int = 8) -> pd.DataFrame | None:
    """Share of a product's reports by region or category during one incident and in
    normal times (every bucket outside the product's incidents).

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`spikes.detect.pipeline.analyze`.
    product : str
        The product.
    incident : pd.Series, optional
        One row of ``Analysis.incidents``; None compares nothing and returns None.
    dimension : {"category", "region"}
        What to break the reports down by.
    top : int
        Most values shown; the rest are summed into ``other``.

    Returns
    -------
    pd.DataFrame or None
        Index = the values of `dimension`, columns ``during incident`` and
        ``normal times`` (shares summing to 1), sorted by share during the incident; None
        when the data has no such breakdown or no report in the incident.
    """
    breakdown = analysis.data.breakdown
    if incident is None or breakdown is None or dimension not in breakdown.columns:
        return None
    own = breakdown[breakdown["product"] == product]
    if own.empty or (own[dimension].astype(str) == "unknown").all():
        return None
    bucket = analysis.data.bucket
    onset, end = incident["onset"], incident["end"] + bucket
    during = (own["timestamp"] >= onset) & (own["timestamp"] < end)
    normal = np.ones(len(own), dtype=bool)
    incidents = analysis.incidents
    mine = incidents[incidents["product"] == product] if len(incidents) else incidents
    stamps = own["timestamp"]
    for row in mine.itertuples(index=False):
        normal &= ~((stamps >= row.onset) & (stamps < row.end + bucket)).to_numpy()
    sums = pd.DataFrame(
        {
            "during incident": own.loc[during.to_numpy()].groupby(dimension)["reports"].sum(),
            "normal times": own.loc[normal].groupby(dimension)["reports"].sum(),
        }
    ).fillna(0.0)
    if sums["during incident"].sum() <= 0:
        return None
    sums = sums.sort_values(["during incident", "normal times"], ascending=False)
    if len(sums) > top:
        head, rest = sums.iloc[: top - 1], sums.iloc[top - 1:]
        sums = pd.concat([head, rest.sum().to_frame("other").T])
    total = sums.sum()
    shares = sums / total.where(total > 0, 1.0)
    shares.index = shares.index.astype(str)
    shares.index.name = dimension
    return shares


def event_table(events: pd.DataFrame, tz: str = "UTC",
                incidents: pd.DataFrame | None = None) -> pd.DataFrame:
    """Events as shown to a person, biggest (most products) first, then newest.

    Parameters
    ----------
    events : pd.DataFrame
        ``Analysis.events``.
    tz : str
        Time zone of the times.
    incidents : pd.DataFrame, optional
        ``Analysis.incidents``, for the ``status page`` column.

    Returns
    -------
    pd.DataFrame
        Columns ``event``, ``onset``, ``end``, ``first product``, ``products``,
        ``n products``, ``by chance`` (how likely so many products start together by
        coincidence, see :func:`spikes.detect.events.summarize_events`), ``status page``
        (the event's lead over the status pages: the first official word about any of its
        products minus the first alert of its incidents (onset in retrospective mode);
        empty without `incidents` or a match), ``severity``, ``excess reports``,
        ``ongoing``.
    """
    columns = ["event", "onset", "end", "first product", "products", "n products",
               "by chance", "status page", "severity", "excess reports", "ongoing"]
    if events.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    ev = events.sort_values(["n_products", "onset"], ascending=[False, False])
    chances = ev["chance"] if "chance" in ev else pd.Series(np.nan, index=ev.index)
    leads = _event_leads(incidents)
    return pd.DataFrame(
        {
            "event": ev["event_id"].astype(str),
            "onset": [fmt_time(t, tz) for t in ev["onset"]],
            "end": [fmt_time(t, tz) for t in ev["end"]],
            "first product": ev["first_product"].astype(str),
            "products": ev["products"].astype(str),
            "n products": ev["n_products"].astype(int),
            "by chance": [_chance_text(p, n) for p, n in zip(chances, ev["n_products"],
                                                            strict=True)],
            "status page": [leads.get(e, "") for e in ev["event_id"]],
            "severity": ev["severity"].astype(str),
            "excess reports": ev["excess_reports"].astype(float).round(0),
            "ongoing": ev["ongoing"].astype(bool),
        },
        columns=columns,
    ).reset_index(drop=True)


def _event_leads(incidents: pd.DataFrame | None) -> dict[str, str]:
    """Each event's lead over the status pages, as text: its first official word minus
    its first alert (or onset, without ``alerted_at``)."""
    if incidents is None or incidents.empty or "official_at" not in incidents:
        return {}
    table = incidents[incidents["official_at"].notna()]
    if table.empty:
        return {}
    reference = incidents["alerted_at"].where(incidents["alerted_at"].notna(),
                                               incidents["onset"])
    first_alert = reference.groupby(incidents["event_id"]).min()
    first_word = table.groupby("event_id")["official_at"].min()
    return {str(e): signed_minutes((at - first_alert[e]) / pd.Timedelta(minutes=1))
            for e, at in first_word.items()}


def _chance_text(chance: float, n_products: int) -> str:
    """``chance`` of an event for a person: "-" for one product, else a probability."""
    if n_products <= 1 or pd.isna(chance):
        return "-"
    return chance_text(chance)


def event_members(analysis: Analysis, event_id: str, tz: str = "UTC") -> pd.DataFrame:
    """The incidents of one event, first mover first, with their delay after it.

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`spikes.detect.pipeline.analyze`.
    event_id : str
        The event.
    tz : str
        Time zone of the times.

    Returns
    -------
    pd.DataFrame
        The columns of :func:`incident_table` with ``after first`` after ``product``, in
        order of onset (then product, as on the event timeline).
    """
    incidents = analysis.incidents
    members = incidents[incidents["event_id"] == event_id].sort_values(["onset", "product"])
    table = incident_table(members, tz, bucket=analysis.data.bucket
                           ).iloc[::-1].reset_index(drop=True)
    if members.empty:
        table.insert(2, "after first", pd.Series(dtype="object"))
        return table
    first = members["onset"].iloc[0]
    table.insert(2, "after first", [f"+{duration_text(t - first)}" if t > first else "first"
                                    for t in members["onset"]])
    return table


def default_event(events: pd.DataFrame) -> str | None:
    """The event to show first: the one with most products (the latest among equals).

    Parameters
    ----------
    events : pd.DataFrame
        ``Analysis.events``.

    Returns
    -------
    str or None
        An ``event_id``, or None without events.
    """
    if events.empty:
        return None
    ev = events.sort_values(["n_products", "onset"], ascending=[False, False])
    return str(ev["event_id"].iloc[0])
