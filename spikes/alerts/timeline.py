"""The state changes of every event, as a live service learns them: the alert messages.

From a live incidents table (with ``alerted_at`` and ``event_id``), the counts and the
baseline they were detected in, :func:`event_messages` lists the messages of every event,
one per state change:

``open``
    at the event's first ``alerted_at``;
``escalated``
    when another product joins the event (its incident is raised) or the event's worst
    severity so far rises (a product's peak so far crosses 4x or 10x its baseline, see
    :func:`spikes.detect.incidents.severity_of`);
``resolved``
    when every incident of the event is over as the causal detector decides: its last
    elevated bucket followed by ``merge_gap`` of quiet buckets and one more (an elevated
    bucket right after ``merge_gap`` quiet ones still joins the incident, see
    :func:`spikes.detect.causal.live_incident_rows`), all closed by the end of the data.

Everything a message says comes from the data up to its time ``at``: the incidents
raised by then (the causal detector's incidents raised before ``at`` do not depend on
later data), each product's peak and reason from the buckets closed by then, the event
grouping of the incidents known then. A message at 19:10 cannot mention the 20:10 peak.
So recomputing the messages from a later detection gives the same messages, with the
same ``message_id`` (a hash of the event's first incident, the state and the message's
sequence number in its event): an outbox keyed by it never holds one twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spikes.detect.events import assign_events
from spikes.detect.incidents import SEVERITY_LEVELS, severity_of
from spikes.detect.reasons import incident_reason, local_offsets

if TYPE_CHECKING:
    from spikes.config import DetectionConfig
    from spikes.detect.baseline import Baseline
    from spikes.detect.pipeline import Analysis
    from spikes.model import ReportData

__all__ = ["MESSAGE_FIELDS", "STATES", "active_chains", "analysis_messages", "event_messages",
           "merge_gaps", "resolved_at"]

#: States of an event's messages.
STATES = ("open", "escalated", "resolved")
#: Keys of a message body.
MESSAGE_FIELDS = ("message_id", "event_id", "event_key", "state", "sequence", "at", "products",
                  "severity", "onset", "alerted_at", "end", "why", "title")
#: Severity names, least to worst.
SEVERITY_ORDER = tuple(name for _, name in reversed(SEVERITY_LEVELS))
_RANK = {name: rank for rank, name in enumerate(SEVERITY_ORDER)}


def event_key(message: Mapping[str, Any]) -> str:
    """The event a message belongs to, by its stable key (its first raised incident): an
    event id can move when a slow rise raised later joins two events, the key does not.
    Messages without a key (older outboxes) go by their event id."""
    return str(message.get("event_key", message["event_id"]))


def severity_rank(name: str) -> int:
    """Rank of a severity name (``minor`` 0, ``major`` 1, ``critical`` 2)."""
    return _RANK[name]


@dataclass
class _Path:
    """One incident's severity as its buckets close, and when it is over."""

    times: np.ndarray  # close time of each bucket from the onset to the end (ns, UTC)
    severity: list[str]  # severity of the peak so far after each of those buckets
    over_at: pd.Timestamp | None  # when the incident is known to be over, None if not yet

    def at(self, t: pd.Timestamp) -> str:
        """Severity as of `t` (the buckets closed by then)."""
        k = int(np.searchsorted(self.times, t.value, side="right")) - 1
        return self.severity[max(k, 0)]


@dataclass
class _Told:
    """What the messages of one event have said so far."""

    products: set[str] = field(default_factory=set)
    worst: int = -1
    resolved: bool = False
    sequence: int = 0


def resolved_at(end: pd.Timestamp, bucket: pd.Timedelta,
                merge_gap: str | pd.Timedelta) -> pd.Timestamp:
    """When the causal detector knows an incident whose last elevated bucket starts at
    `end` is over: ``merge_gap`` of quiet buckets and one more have closed after it.

    Parameters
    ----------
    end : pd.Timestamp
        Start of the incident's last elevated bucket (its ``end``).
    bucket : pd.Timedelta
        Bucket size.
    merge_gap : str or pd.Timedelta
        The configured ``merge_gap``.

    Returns
    -------
    pd.Timestamp
    """
    gap = int(pd.Timedelta(merge_gap) / pd.Timedelta(bucket))
    return pd.Timestamp(end) + (gap + 2) * pd.Timedelta(bucket)


def merge_gaps(config: DetectionConfig, products: Iterable[object]) -> dict[str, pd.Timedelta]:
    """The products of `products` whose ``merge_gap`` an override of `config` sets apart
    from its own, with theirs: their incidents are over after their own gap, as the
    detector has them (:func:`resolved_at`).

    Examples
    --------
    >>> from spikes.config import DetectionConfig
    >>> merge_gaps(DetectionConfig(overrides={"Teams": {"merge_gap": "3h"}}),
    ...            ["Teams", "Outlook"])
    {'Teams': Timedelta('0 days 03:00:00')}
    """
    default = pd.Timedelta(config.merge_gap)
    own = {str(p): pd.Timedelta(config.for_product(str(p)).merge_gap)
           for p, values in config.overrides.items() if "merge_gap" in values}
    wanted = set(map(str, products))
    return {p: gap for p, gap in own.items() if p in wanted and gap != default}


def analysis_messages(analysis: Analysis, until: pd.Timestamp | None = None,
                      since: pd.Timestamp | None = None) -> list[dict[str, Any]]:
    """:func:`event_messages` of a live :class:`~spikes.detect.pipeline.Analysis`.

    Parameters
    ----------
    analysis : Analysis
        A live (causal) analysis.
    until : pd.Timestamp, optional
        End of the data the detector has seen (the end of its last bucket by default).
    since : pd.Timestamp, optional
        Only the events with a message after this time (see :func:`event_messages`).

    Returns
    -------
    list of dict
    """
    data, config = analysis.data, analysis.config
    if until is None:
        index = data.counts.index
        until = index[-1] + data.bucket if len(index) else pd.Timestamp(0, tz="UTC")
    products = analysis.incidents["product"].unique()
    return event_messages(analysis.incidents, data, analysis.baseline,
                          merge_gap=config.merge_gap, event_window=config.event_window,
                          until=until, since=since,
                          offsets=local_offsets(analysis.scored.config, products),
                          gaps=merge_gaps(config, products))


def event_messages(incidents: pd.DataFrame, data: ReportData, baseline: Baseline, *,
                   merge_gap: str | pd.Timedelta, event_window: str | pd.Timedelta,
                   until: pd.Timestamp, since: pd.Timestamp | None = None,
                   offsets: Mapping[str, pd.Timedelta | str] | None = None,
                   gaps: Mapping[str, str | pd.Timedelta] | None = None
                   ) -> list[dict[str, Any]]:
    """Every event's messages up to `until`, in time order.

    Parameters
    ----------
    incidents : pd.DataFrame
        Live incidents (:data:`spikes.model.INCIDENT_COLUMNS`, with ``alerted_at``).
    data : ReportData
        The counts they were detected in.
    baseline : Baseline
        The (causal) baseline they were detected against.
    merge_gap, event_window : str or pd.Timedelta
        The detection's settings of those names.
    until : pd.Timestamp
        End of the data the detector has seen: no message is later.
    since : pd.Timestamp, optional
        Only the events that have a message after this time (a live service that has
        already enqueued the earlier ones): all the messages of those events, from
        their first, and none of the others. The events are grouped, and numbered, over
        all the incidents given, but `data` and `baseline` are read only for the
        incidents of single-linkage chains (onsets within `event_window` of the next)
        that hold such an event: they need to cover those only, from their onsets.
    offsets : mapping of str to pd.Timedelta or str, optional
        The products whose baseline's days are local days, with their offsets
        (:func:`spikes.detect.reasons.local_offsets`): their reasons give the weekday and
        time of the peak in their local time too.
    gaps : mapping of str to str or pd.Timedelta, optional
        The products whose ``merge_gap`` differs from `merge_gap` (a per-product
        override: :func:`merge_gaps`), with theirs.

    Returns
    -------
    list of dict
        One body per message, keys :data:`MESSAGE_FIELDS`, times as ISO-8601 text,
        sorted by ``at`` then event (of all events when `since` is None).
        ``products`` lists the event's products in onset order, each with
        ``product``, ``onset``, ``alerted_at``, ``severity`` (of its peak so far),
        ``end`` (once over), ``why`` and ``known_event``.

    Raises
    ------
    ValueError
        When the incidents have no ``alerted_at`` (a retrospective analysis).
    """
    if "alerted_at" not in incidents or (len(incidents)
                                         and incidents["alerted_at"].isna().all()):
        raise ValueError("alerts need live incidents (with alerted_at), not a "
                         "retrospective analysis")
    until = utc_time(until)
    since = None if since is None else utc_time(since)
    table = incidents[incidents["alerted_at"].notna() & (incidents["alerted_at"] <= until)]
    table = table.reset_index(drop=True)
    if table.empty:
        return []
    if "known_event" not in table:
        table = table.assign(known_event="")
    active = (np.ones(len(table), dtype=bool) if since is None else
              active_chains(table, data.bucket, merge_gap, event_window, since,
                            gaps=gaps))
    if not active.any():
        return []
    gaps = gaps or {}
    paths: list[_Path] = [_severity_path(row, data, baseline,
                                         gaps.get(str(row["product"]), merge_gap), until)
                          if on
                          else _Path(np.empty(0, dtype=np.int64), [], None)
                          for row, on in zip(table.to_dict("records"), active, strict=True)]
    times = set(pd.to_datetime(table.loc[active, "alerted_at"]))
    for path in paths:
        if not len(path.severity):
            continue
        changes = np.flatnonzero([a != b for a, b in zip(path.severity[:-1],
                                                         path.severity[1:], strict=True)])
        times.update(pd.Timestamp(int(path.times[k + 1]), tz="UTC") for k in changes)
        if path.over_at is not None:
            times.add(path.over_at)
    records = table.to_dict("records")
    alerted = table["alerted_at"]
    told: dict[str, _Told] = {}
    messages: list[dict[str, Any]] = []
    groups: dict[str, list[int]] = {}
    known_before = -1
    for t in sorted(x for x in times if x <= until):
        known = np.flatnonzero((alerted <= t).to_numpy())
        if len(known) != known_before:  # the grouping changes only as incidents are raised
            known_before = len(known)
            # Nothing raised yet (a severity change of the first incident before its
            # alert): no event to tell of.
            grouped = (assign_events(table.loc[known, ["product", "onset", "alerted_at"]]
                                     .assign(row=known), event_window)
                       if len(known) else pd.DataFrame({"event_id": [], "row": []}))
            groups = {str(e): rows.tolist()
                      for e, rows in grouped.groupby("event_id", sort=True)["row"]}
        for event_id, rows in groups.items():
            if not active[rows[0]]:  # a chain is active as a whole
                continue
            message = _change(t, event_id, rows, records, paths, told, data, baseline,
                              offsets)
            if message is not None:
                messages.append(message)
    return messages


def active_chains(table: pd.DataFrame, bucket: pd.Timedelta,
                  merge_gap: str | pd.Timedelta, event_window: str | pd.Timedelta,
                  since: pd.Timestamp, *,
                  gaps: Mapping[str, str | pd.Timedelta] | None = None) -> np.ndarray:
    """Which incidents may have a message after `since`, with their whole chain.

    A chain is a run of incidents whose onsets are within `event_window` of the next
    (the events' single linkage, before a repeated product splits it): events never
    straddle two chains, so a chain's messages depend on its incidents only.

    Parameters
    ----------
    table : pd.DataFrame
        Live incidents (``onset``, ``end``, ``alerted_at``).
    bucket : pd.Timedelta
        Bucket size.
    merge_gap, event_window : str or pd.Timedelta
        The detection's settings of those names.
    since : pd.Timestamp
        Time after which messages are wanted (without an offset: UTC).
    gaps : mapping of str to str or pd.Timedelta, optional
        The products whose ``merge_gap`` differs from `merge_gap`, with theirs
        (:func:`merge_gaps`).

    Returns
    -------
    np.ndarray of bool
        Per incident: its chain holds an incident raised after `since` or not over by
        it (:func:`resolved_at`; severity changes happen before that).
    """
    onset = pd.to_datetime(table["onset"])
    order = np.argsort(onset.to_numpy(), kind="stable")
    apart = onset.iloc[order].diff() > pd.Timedelta(event_window)
    chain = np.empty(len(table), dtype=np.int64)
    chain[order] = np.cumsum(apart.to_numpy())
    step = pd.Timedelta(bucket)
    gap = np.full(len(table), int(pd.Timedelta(merge_gap) / step), dtype=np.int64)
    if gaps:
        own = {str(p): int(pd.Timedelta(g) / step) for p, g in gaps.items()}
        gap = table["product"].astype(str).map(own).fillna(pd.Series(gap, index=table.index)
                                                           ).to_numpy(dtype=np.int64)
    over = pd.to_datetime(table["end"]) + pd.to_timedelta((gap + 2) * step)
    since = utc_time(since)
    late = ((pd.to_datetime(table["alerted_at"]) > since) | (over > since)).to_numpy()
    return np.isin(chain, chain[late])


def _severity_path(row: dict[str, Any], data: ReportData, baseline: Baseline,
                   merge_gap: str | pd.Timedelta, until: pd.Timestamp) -> _Path:
    """The severity of the incident's peak so far after each of its buckets."""
    column = _column(data.counts.columns, str(row["product"]))
    onset, end = pd.Timestamp(row["onset"]), pd.Timestamp(row["end"])
    counts = data.counts[column].loc[onset:end].to_numpy(dtype=float)
    expected = baseline.expected[column].loc[onset:end].to_numpy(dtype=float)
    index = data.counts.loc[onset:end].index
    severity, best = [], -1
    for k, value in enumerate(counts):
        if not np.isnan(value) and (best < 0 or value > counts[best]):
            best = k
        if best < 0:
            severity.append(SEVERITY_ORDER[0])
        else:
            usual = expected[best]
            usual = 0.0 if np.isnan(usual) else usual
            severity.append(severity_of(counts[best] / max(usual, 1e-3)))
    if not severity:
        severity = [str(row.get("severity") or SEVERITY_ORDER[0])]
        index = pd.DatetimeIndex([onset])
    over = resolved_at(end, data.bucket, merge_gap)
    closes = (index + data.bucket).as_unit("ns").asi8
    return _Path(times=closes, severity=severity, over_at=over if over <= until else None)


def message_digest(key: str, sequence: int, state: str, why: str = "") -> str:
    """A message's ``message_id``: a hash of its event's key, its sequence and state (and
    `why`, for a message that is no detection's own: a withdrawal, an open again, see
    :mod:`spikes.alerts.continuity`)."""
    text = f"{key}|{sequence}|{state}" + (f"|{why}" if why else "")
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def utc_time(value: object) -> pd.Timestamp:
    """A time as a UTC timestamp (one without an offset is UTC)."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")


def _column(columns: pd.Index, product: str) -> object:
    if product in columns:
        return product
    return next(c for c in columns if str(c) == product)


def _change(t: pd.Timestamp, event_id: str, rows: Sequence[int],
            records: Sequence[dict[str, Any]], paths: Sequence[_Path],
            told: dict[str, _Told], data: ReportData,
            baseline: Baseline,
            offsets: Mapping[str, pd.Timedelta | str] | None = None) -> dict[str, Any] | None:
    """The message of the event made of `rows` at `t`, if its state changed."""
    members = sorted(rows, key=lambda i: (records[i]["onset"], str(records[i]["product"])))
    first = records[min(rows, key=lambda i: (records[i]["alerted_at"], records[i]["onset"],
                                             str(records[i]["product"])))]
    key = f"{first['product']}|{pd.Timestamp(first['onset']).isoformat()}"
    severities = {i: paths[i].at(t) for i in members}
    over = {i: paths[i].over_at is not None and paths[i].over_at <= t for i in members}
    products = {str(records[i]["product"]) for i in members}
    before = told.get(key)
    worst_now = max(severity_rank(s) for s in severities.values())
    if before is None:
        state, before = "open", _Told()
        told[key] = before
    elif not products <= before.products or worst_now > before.worst:
        state = "escalated"
    elif all(over.values()) and not before.resolved:
        state = "resolved"
    else:
        return None
    sequence = before.sequence
    before.products |= products
    before.worst = max(before.worst, worst_now)
    before.resolved = state == "resolved"
    before.sequence += 1
    as_of = t  # the buckets that have ended by the time of the message
    listed = []
    for i in members:
        row = records[i]
        known = row.get("known_event")
        listed.append({
            "product": str(row["product"]),
            "onset": _iso(row["onset"]),
            "alerted_at": _iso(row["alerted_at"]),
            "severity": severities[i],
            "end": _iso(row["end"]) if over[i] else None,
            "why": incident_reason(data, baseline, row, as_of=as_of, offsets=offsets),
            "known_event": "" if known is None or pd.isna(known) else str(known),
        })
    worst = SEVERITY_ORDER[before.worst]
    digest = message_digest(key, sequence, state)
    onset = min(pd.Timestamp(records[i]["onset"]) for i in members)
    end = max(pd.Timestamp(records[i]["end"]) for i in members)
    names = ", ".join(p["product"] for p in listed)
    title = f"{event_id} {state} ({worst}): {names}"
    if state == "resolved":
        title += f", over since {end:%Y-%m-%d %H:%M} UTC"
    else:
        title += f", since {onset:%Y-%m-%d %H:%M} UTC"
    return {
        "message_id": digest,
        "event_id": event_id,
        "event_key": key,
        "state": state,
        "sequence": sequence,
        "at": _iso(t),
        "products": listed,
        "severity": worst,
        "onset": _iso(onset),
        "alerted_at": _iso(min(pd.Timestamp(records[i]["alerted_at"]) for i in members)),
        "end": _iso(end) if state == "resolved" else None,
        "why": "; ".join(p["why"] for p in listed),
        "title": title,
    }


def _iso(value: object) -> str:
    return pd.Timestamp(value).tz_convert("UTC").isoformat()
