"""Lead over the vendor's status page: how much earlier than the official word did we know?

Pure functions over an incidents table (:data:`spikes.model.INCIDENT_COLUMNS`) and an
official incidents table (:data:`spikes.io.status_feed.OFFICIAL_COLUMNS`).

The matching rule (:func:`match_official`):

1. An official incident names products through its components: a component maps to the
   products listed for it in :class:`~spikes.config.StatusFeedConfig` ``components``,
   else to the product of the same name (names compared case-insensitively).
2. An incident of product ``p`` accepts official incidents of ``p`` whose ``official_at``
   lies in its window ``[onset - before, end + after]`` (default 1 h before the onset to
   6 h after the end). Vendors acknowledge late, typically 20 to 60 minutes after users
   notice and for short outages often only after the crowd signal is over, hence the
   long tail after the end; an official incident up to an hour before the onset is the
   vendor speaking first (a negative lead), earlier than that it is most likely about
   something else.
3. Each official incident belongs to at most one incident per product: of the incidents
   whose window holds its ``official_at``, the one with the latest onset (the most recent
   outage, or one that began within the hour after the notice: the vendor spoke first),
   so that a late notice is not credited to an earlier outage of the same product.
4. An incident's ``official_at`` is the earliest ``official_at`` of the official
   incidents it got (a follow-up notice does not change when the vendor first spoke).
   ``lead_minutes = official_at - alerted_at`` in minutes: positive when spikes raised
   the incident before the status page said so. Without ``alerted_at`` (retrospective
   runs, which decide with hindsight) the lead is measured from the onset: the lead from
   onset, in hindsight, an upper bound of what a live run gets.
5. With ``as_of`` (a live service), official incidents published after ``as_of`` are not
   known yet and are left out: nothing decided at ``t`` uses the status page after ``t``.

An incident with no official incident has ``official_at`` NaT and ``lead_minutes`` NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spikes.config import StatusFeedConfig
from spikes.io.status_feed import find_components
from spikes.model import INCIDENT_DTYPES, annotate_defaults

__all__ = ["LeadSummary", "OfficialFeed", "add_lead", "component_products", "lead_summary",
           "match_official"]

MATCH_COLUMNS = ["official_id", "official_source", "official_title", "official_at",
                 "lead_minutes", "lead_from"]


def component_products(components: tuple[str, ...] | list[str],
                       mapping: dict[str, tuple[str, ...]] | None = None) -> set[str]:
    """The products (lower case) that status components stand for.

    Parameters
    ----------
    components : sequence of str
        Component names of one official incident.
    mapping : dict, optional
        Component -> products (``StatusFeedConfig.components``); a component not in it
        stands for the product of its own name. Keys compare case-insensitively.

    Returns
    -------
    set of str
        Lower-case product names.

    Examples
    --------
    >>> sorted(component_products(["Exchange Online", "Teams"],
    ...                           {"exchange online": ("Outlook", "Exchange Online")}))
    ['exchange online', 'outlook', 'teams']
    """
    lower = {key.strip().lower(): value for key, value in (mapping or {}).items()}
    out: set[str] = set()
    for component in components:
        key = str(component).strip().lower()
        out.update(p.strip().lower() for p in lower.get(key, (key,)))
    return out


def match_official(incidents: pd.DataFrame, official: pd.DataFrame,
                   config: StatusFeedConfig | None = None, *,
                   as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Match each incident to the official incident of its product (rule in the module
    docstring).

    Parameters
    ----------
    incidents : pd.DataFrame
        ``product``, ``onset``, ``end`` and, when known, ``alerted_at`` (UTC).
    official : pd.DataFrame
        Official incidents (:func:`spikes.io.status_feed.read_status_feeds`).
    config : StatusFeedConfig, optional
        Component mapping and window; the defaults when None.
    as_of : pd.Timestamp, optional
        Leave out official incidents published after this time (a live run).

    Returns
    -------
    pd.DataFrame
        Indexed like `incidents`: ``official_id``, ``official_source``,
        ``official_title`` (empty when unmatched), ``official_at`` (NaT),
        ``lead_minutes`` (NaN) and ``lead_from`` (``"alerted_at"`` or ``"onset"``: what
        the lead is measured from).
    """
    config = config or StatusFeedConfig()
    before, after = pd.Timedelta(config.before), pd.Timedelta(config.after)
    n = len(incidents)
    onset = _utc(incidents["onset"]) if n else pd.DatetimeIndex([], tz="UTC")
    end = _utc(incidents["end"]) if "end" in incidents else onset
    alerted = (_utc(incidents["alerted_at"]) if "alerted_at" in incidents
               else pd.DatetimeIndex([pd.NaT] * n, tz="UTC"))
    from_onset = np.asarray(alerted.isna())
    reference = alerted.where(~from_onset, onset)
    products = np.array([str(p).strip().lower() for p in incidents["product"]], dtype=object)
    lo, hi, starts = _naive(onset - before), _naive(end + after), _naive(onset)
    best = np.full(n, -1)
    best_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    known = official
    if as_of is not None and len(official):
        cut = pd.Timestamp(as_of)
        cut = cut.tz_localize("UTC") if cut.tzinfo is None else cut
        known = official[np.asarray(_utc(official["official_at"]) <= cut)]
    at_all = _naive(_utc(known["official_at"])) if len(known) else np.array([])
    for k, components in enumerate(known["components"] if len(known) else []):
        at = at_all[k]
        for product in component_products(tuple(components), config.components):
            inside = np.flatnonzero((products == product) & (lo <= at) & (at <= hi))
            if not inside.size:
                continue
            i = int(inside[np.argmax(starts[inside])])
            if best[i] < 0 or at < best_at[i]:
                best[i], best_at[i] = k, at
    matched = best >= 0
    official_at = pd.DatetimeIndex(best_at).tz_localize("UTC")
    lead = ((official_at - reference) / pd.Timedelta(minutes=1)).to_numpy(dtype=float)
    rows = known.iloc[best[matched]] if matched.any() else known.iloc[[]]

    def text(column: str) -> np.ndarray:
        out = np.full(n, "", dtype=object)
        out[matched] = rows[column].astype(str).to_numpy()
        return out

    return pd.DataFrame({
        "official_id": text("official_id"),
        "official_source": text("source"),
        "official_title": text("title"),
        "official_at": pd.Series(official_at, index=incidents.index).astype(
            INCIDENT_DTYPES["official_at"]),
        "lead_minutes": np.where(matched, lead, np.nan),
        "lead_from": np.where(from_onset, "onset", "alerted_at").astype(object),
    }, index=incidents.index, columns=MATCH_COLUMNS)


def add_lead(incidents: pd.DataFrame, official: pd.DataFrame,
             config: StatusFeedConfig | None = None, *,
             as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """`incidents` with ``official_at`` and ``lead_minutes`` filled from `official`.

    Parameters
    ----------
    incidents, official, config, as_of
        As :func:`match_official`.

    Returns
    -------
    pd.DataFrame
        A copy with every annotation column (:func:`spikes.model.annotate_defaults`);
        ``official_at`` and ``lead_minutes`` are NaT / NaN where nothing matched.

    Examples
    --------
    >>> inc = pd.DataFrame({"product": ["Outlook"],
    ...                     "onset": [pd.Timestamp("2026-01-22 19:00", tz="UTC")],
    ...                     "end": [pd.Timestamp("2026-01-22 22:40", tz="UTC")],
    ...                     "alerted_at": [pd.Timestamp("2026-01-22 19:10", tz="UTC")]})
    >>> off = pd.DataFrame({"source": ["page"], "official_id": ["1"], "title": ["Mail"],
    ...                     "components": [("Outlook",)],
    ...                     "official_at": [pd.Timestamp("2026-01-22 19:38", tz="UTC")]})
    >>> float(add_lead(inc, off)["lead_minutes"].iloc[0])
    28.0
    """
    out = annotate_defaults(incidents)
    if out.empty:
        return out
    found = match_official(out, official, config, as_of=as_of)
    out["official_at"] = found["official_at"]
    out["lead_minutes"] = found["lead_minutes"].astype(float)
    return out


@dataclass(frozen=True)
class OfficialFeed:
    """Official incidents and how to match them: what a live service is given.

    Attributes
    ----------
    official : pd.DataFrame
        :data:`spikes.io.status_feed.OFFICIAL_COLUMNS`.
    config : StatusFeedConfig
        Component mapping and window.
    """

    official: pd.DataFrame
    config: StatusFeedConfig

    def annotate(self, incidents: pd.DataFrame,
                 as_of: pd.Timestamp | None = None) -> pd.DataFrame:
        """:func:`add_lead` of `incidents`, with the official incidents known at `as_of`."""
        return add_lead(incidents, self.named(incidents), self.config, as_of=as_of)

    def match(self, incidents: pd.DataFrame,
              as_of: pd.Timestamp | None = None) -> pd.DataFrame:
        """:func:`match_official` of `incidents`, with the official incidents known at
        `as_of`."""
        return match_official(incidents, self.named(incidents), self.config, as_of=as_of)

    def named(self, incidents: pd.DataFrame) -> pd.DataFrame:
        """The official incidents with the incidents' products also looked for in feed
        entries (a live service learns its products as reports arrive)."""
        names = sorted(set(map(str, incidents["product"]))) if len(incidents) else []
        return find_components(self.official, names)


@dataclass(frozen=True)
class LeadSummary:
    """The lead over the status page of a set of incidents.

    Attributes
    ----------
    incidents : int
        Incidents considered.
    matched : int
        Of them, those with an official incident.
    median_minutes : float
        Median ``lead_minutes`` of the matched ones (NaN when none).
    from_onset : int
        Matched incidents whose lead is measured from the onset (no ``alerted_at``:
        retrospective, hindsight).
    """

    incidents: int
    matched: int
    median_minutes: float
    from_onset: int

    def to_text(self) -> str:
        """One line, e.g. ``lead over the status page: median +28 min (5 of 16 incidents
        matched an official incident; from alerted_at)``."""
        if not self.matched:
            return (f"lead over the status page: no official incident matched any of "
                    f"{self.incidents} incidents")
        basis = ("from alerted_at" if not self.from_onset else
                 "from onset, hindsight" if self.from_onset == self.matched else
                 f"from alerted_at; {self.from_onset} from onset, hindsight")
        return (f"lead over the status page: median {signed_minutes(self.median_minutes)} "
                f"({self.matched} of {self.incidents} incidents matched an official "
                f"incident; {basis})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (NaN as None)."""
        median = None if math.isnan(self.median_minutes) else self.median_minutes
        return {"lead_incidents": self.incidents, "lead_matched": self.matched,
                "lead_median_min": median, "lead_from_onset": self.from_onset}


def lead_summary(incidents: pd.DataFrame) -> LeadSummary:
    """Summarise the ``lead_minutes`` of an incidents table.

    Parameters
    ----------
    incidents : pd.DataFrame
        With ``lead_minutes`` (NaN = unmatched) and, when known, ``alerted_at``.

    Returns
    -------
    LeadSummary
    """
    lead = pd.to_numeric(incidents.get("lead_minutes", pd.Series(dtype=float)),
                         errors="coerce").to_numpy(dtype=float)
    matched = ~np.isnan(lead)
    if "alerted_at" in incidents and len(incidents):
        no_alert = np.asarray(_utc(incidents["alerted_at"]).isna())
    else:
        no_alert = np.ones(len(incidents), dtype=bool)
    return LeadSummary(incidents=len(incidents), matched=int(matched.sum()),
                       median_minutes=float(np.median(lead[matched])) if matched.any()
                       else math.nan,
                       from_onset=int((matched & no_alert).sum()))


def signed_minutes(minutes: float) -> str:
    """``+23 min``, ``-4 min``, ``0 min``; empty for NaN."""
    if minutes is None or math.isnan(minutes):
        return ""
    rounded = round(minutes)
    return f"{rounded:+d} min" if rounded else "0 min"


def _utc(values: Any) -> pd.DatetimeIndex:
    stamps = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    return stamps.as_unit("ns")


def _naive(stamps: pd.DatetimeIndex) -> np.ndarray:
    """UTC times as a naive ``datetime64[ns]`` array."""
    return stamps.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]")
