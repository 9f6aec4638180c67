"""Why an incident is believed, in words: the ``why`` of incidents, the API and alerts.

A reason has up to three parts, for example::

    Outlook: 1,391 reports in 5 min against 15.3 usual on a Thursday at 20:10 UTC (91x,
    p < 1e-30); started 19:00, raised 19:10; with Exchange Online, Microsoft Store,
    Microsoft Defender and Microsoft Purview within 10 min (event E0010, chance < 0.01 %);
    top problem 'Sending or receiving mail (451 4.3.2)' 88 % against 0 % usually;
    US-West 27 % (usually 3 %), Canada 13 % (usually 1 %).

1. **the product's own evidence** (:func:`add_reasons`, run where the incidents are built,
   per partition of products): the peak bucket against its baseline, the weekday and time
   of the peak, the ratio, the p-value of the peak under the noise model (negative
   binomial with the dispersion in force at that bucket), the onset and, live, when it
   was raised; on a product's first day of data (the cold start) the baseline is said
   to be the mean of the hours before, which it is; times are UTC, and for a product
   whose days are local (``utc_offset``, :func:`local_offsets`) the weekday and time its
   baseline stands for are given in its local time too;
2. **the event** (:func:`event_reason`): the other products of its event in onset
   order, the span of their onsets, the event id and how likely such a grouping is by
   chance (:func:`spikes.detect.events.summarize_events`);
3. **what people report** (:func:`breakdown_reason`, where the input has region or
   category columns): the top problem during the incident against its usual share for
   that product before the onset, and the regions whose share rose (or that none
   stands out).

Parts 2 and 3 need every product's incidents and the breakdown, which only the driver
has: :func:`complete_reasons`, called by
:func:`spikes.detect.annotate.annotate_incidents`, adds them after events are assigned (in
:func:`spikes.detect.pipeline.rethreshold` and :func:`spikes.engine.run.detect`).
:func:`incident_reason` writes all three for one incident as of a given time (an alert
sent at 19:10 says only what was known at 19:10).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from spikes.detect.days import day_shift, standard_offset
from spikes.detect.noise import upper_tail_surprise
from spikes.io.zones import zone_label

if TYPE_CHECKING:
    from spikes.config import DetectionConfig
    from spikes.detect.baseline import Baseline
    from spikes.model import ReportData

__all__ = [
    "DAY_US",
    "WEEKDAYS",
    "add_reasons",
    "breakdown_reason",
    "chance_text",
    "clock_text",
    "complete_reasons",
    "event_reason",
    "incident_reason",
    "local_offsets",
    "micros",
    "p_value_text",
    "zone_text",
]

#: History before an incident's onset whose reports make the usual shares.
USUAL_HISTORY = pd.Timedelta(days=14)
#: The value the bucketing gives a missing region or category.
UNKNOWN = "unknown"
#: Largest p-value surprise shown as such (-log10 p); beyond it "p < 1e-30".
MAX_SHOWN_SURPRISE = 30


def p_value_text(surprise: float) -> str:
    """A p-value given as ``-log10 p``, for a person.

    Examples
    --------
    >>> [p_value_text(s) for s in (45.0, 7.4, 2.52, 0.7, 0.0)]
    ['p < 1e-30', 'p = 4e-8', 'p = 0.003', 'p = 0.2', 'p = 1']
    """
    if not np.isfinite(surprise) or surprise >= MAX_SHOWN_SURPRISE:
        return f"p < 1e-{MAX_SHOWN_SURPRISE}"
    p = 10.0 ** -max(float(surprise), 0.0)
    if p >= 0.001:
        return f"p = {p:.1g}"
    mantissa, exponent = f"{p:.0e}".split("e")
    return f"p = {mantissa}e{int(exponent)}"


def local_offsets(config: DetectionConfig, products: Iterable[object]
                  ) -> dict[str, pd.Timedelta | str]:
    """The products of `products` whose days are local days
    (:attr:`~spikes.config.DetectionConfig.utc_offset` not 0, or a
    :attr:`~spikes.config.DetectionConfig.timezone`, per product where `config`
    overrides it), with their offsets (or zones): their reasons name the weekday and time
    of the peak as their baseline does, in their local time.

    Examples
    --------
    >>> from spikes.config import DetectionConfig
    >>> config = DetectionConfig(overrides={"Line": {"utc_offset": "+9h"}})
    >>> local_offsets(config, ["Line", "Slack"])
    {'Line': Timedelta('0 days 09:00:00')}
    >>> local_offsets(DetectionConfig(timezone="Europe/Berlin"), ["Slack"])
    {'Slack': 'Europe/Berlin'}
    """
    from spikes.config import utc_offset

    def clock(own: DetectionConfig) -> pd.Timedelta | str:
        return own.timezone if own.timezone is not None else utc_offset(own)

    zero = pd.Timedelta(0)
    base = clock(config)
    own = {str(p): clock(config.for_product(str(p))) for p, values in
           config.overrides.items() if "utc_offset" in values or "timezone" in values}
    if isinstance(base, pd.Timedelta) and base == zero and all(
            isinstance(v, pd.Timedelta) and v == zero for v in own.values()):
        return {}
    out = {}
    for product in map(str, products):
        offset = own.get(product, base)
        if isinstance(offset, str) or offset != zero:
            out[product] = offset
    return out


def zone_text(offset: pd.Timedelta) -> str:
    """An offset from UTC as a person reads it.

    Examples
    --------
    >>> [zone_text(pd.Timedelta(x)) for x in ("9h", "-3h30min", "0h")]
    ['UTC+09:00', 'UTC-03:30', 'UTC']
    """
    minutes = int(offset / pd.Timedelta(minutes=1))
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _duration(delta: pd.Timedelta) -> str:
    minutes = delta / pd.Timedelta(minutes=1)
    if minutes < 1 or minutes % 1:  # 10-second buckets: "10 s", not "0.166667 min"
        return f"{delta / pd.Timedelta(seconds=1):g} s"
    if minutes < 60 or minutes % 60:
        return f"{minutes:g} min"
    hours = minutes / 60
    return "1 hour" if hours == 1 else f"{hours:g} hours"


def _ratio(ratio: float) -> str:
    return f"{ratio:,.1f}x" if ratio < 10 else f"{ratio:,.0f}x"


def _names(names: list[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _stamp(value: object) -> pd.Timestamp | None:
    """A UTC timestamp, or None for a missing value."""
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")


def _peak_rows(data: ReportData, incidents: pd.DataFrame, columns: np.ndarray,
               as_of: pd.Timestamp | None) -> np.ndarray:
    """Row of each incident's peak bucket among the buckets closed by `as_of` (all of
    the incident when None), -1 where none of its buckets is known yet."""
    index = data.counts.index
    if as_of is None and "peak" in incidents:
        return index.get_indexer(pd.DatetimeIndex(incidents["peak"]).tz_convert("UTC"))
    values = data.counts.to_numpy(dtype=float)
    # Buckets known at `as_of` are those that have ended by then.
    # (Bucket starts are whole microseconds: a time finer than that is floored to one.)
    last_known = (len(index) - 1 if as_of is None
                  else int(index.searchsorted((as_of - data.bucket).floor("us"),
                                              side="right")) - 1)
    first = index.searchsorted(pd.DatetimeIndex(incidents["onset"]).tz_convert("UTC"))
    last = index.searchsorted(pd.DatetimeIndex(incidents["end"]).tz_convert("UTC"),
                              side="right") - 1
    out = np.full(len(incidents), -1)
    for i, (lo, hi, j) in enumerate(zip(first, np.minimum(last, last_known), columns,
                                        strict=True)):
        if hi < lo or j < 0:
            continue
        segment = values[lo : hi + 1, j]
        if np.isnan(segment).all():
            continue
        out[i] = lo + int(np.argmax(np.where(np.isnan(segment), -np.inf, segment)))
    return out


def _own_reasons(incidents: pd.DataFrame, data: ReportData, baseline: Baseline,
                 as_of: pd.Timestamp | None = None,
                 offsets: Mapping[str, pd.Timedelta | str] | None = None) -> list[str]:
    """Part 1 of the reason of every incident (see the module docstring), vectorised
    over incidents: the peaks, their baselines, p-values and times are looked up and
    formatted at once. A product of `offsets` (:func:`local_offsets`) has the weekday
    and time its baseline stands for given in its local time, the UTC time beside."""
    if incidents.empty:
        return []
    position = {str(c): j for j, c in enumerate(data.counts.columns)}
    columns = np.array([position.get(str(p), -1) for p in incidents["product"]])
    rows = _peak_rows(data, incidents, columns, as_of)
    known = (rows >= 0) & (columns >= 0)
    r, c = np.where(known, rows, 0), np.where(known, columns, 0)
    reports = data.counts.to_numpy(dtype=float)[r, c]
    usual = baseline.expected.to_numpy(dtype=float)[r, c]
    alpha = np.broadcast_to(baseline.dispersion_at(), data.counts.shape)[r, c]
    surprise = upper_tail_surprise(reports, usual, alpha, prefilter_z=-np.inf)
    peak = data.counts.index[r]
    peak_us = peak.as_unit("us").asi8.tolist()
    products = incidents["product"].astype(str).tolist()
    peaks = np.asarray(peak_us, dtype=np.int64)
    # Each product's offset and the shift of its baseline's days (the offset rounded up
    # to whole buckets: days begin at the bucket that holds the local midnight), in us.
    offset_us = shift_us = np.zeros(len(products), dtype=np.int64)
    zones: list[str | None] = [None] * len(products)
    named: list[str | None] = [None] * len(products)  # a zone's name at the peak
    if offsets:
        micro = pd.Timedelta(microseconds=1)
        own = {p: (offsets[p] // micro, day_shift(data.bucket, offsets[p]) // micro)
               for p in set(products) & set(offsets) if not isinstance(offsets[p], str)}
        offset_us = np.array([own.get(p, (0, 0))[0] for p in products], dtype=np.int64)
        shift_us = np.array([own.get(p, (0, 0))[1] for p in products], dtype=np.int64)
        for i, p in enumerate(products):
            zone = offsets.get(p)
            if isinstance(zone, str):
                # A zone: its clock at the peak (and its name there); its days at its
                # standard midnight.
                local = peak[i].tz_convert(zone)
                zones[i], named[i] = zone, zone_label(local)
                offset_us[i] = local.utcoffset() // micro
                shift_us[i] = day_shift(data.bucket, standard_offset(zone, peak[i])) // micro
    local_us = peaks + offset_us
    # The weekday of the baseline's day of the peak. 1970-01-01, day 0 of the epoch, was
    # a Thursday (3 counting from Monday).
    weekday = [WEEKDAYS[d] for d in (((peaks + shift_us) // DAY_US + 3) % 7).tolist()]
    clock_day = [WEEKDAYS[d] for d in ((local_us // DAY_US + 3) % 7).tolist()]
    onset_us = _as_micros(incidents["onset"]).tolist()
    raised: list[int | None] = [None] * len(incidents)
    if "alerted_at" in incidents:
        alerted = pd.to_datetime(incidents["alerted_at"], utc=True)
        shown = alerted.notna().to_numpy()
        if as_of is not None:
            shown = shown & (alerted <= as_of).to_numpy()
        values = _as_micros(alerted.fillna(pd.Timestamp(0, tz="UTC")))
        raised = [int(v) if ok else None for v, ok in zip(values, shown, strict=True)]
    size = _duration(data.bucket)
    ratio = reports / np.maximum(usual, 1e-3)
    # On a product's first day (the cold start) the baseline is the mean of the hours
    # before, not the usual level of that time of day.
    cold = (np.zeros(len(incidents), dtype=bool) if baseline.cold is None
            else baseline.cold.to_numpy(dtype=bool)[r, c] & known)
    texts = []
    for i, product in enumerate(products):
        if not known[i]:
            texts.append(f"{product}: started {clock_text(onset_us[i], onset_us[i])} UTC")
            continue
        at = f"{clock_text(peak_us[i], peak_us[i])} UTC"
        if cold[i]:
            against = f"{usual[i]:,.1f} in the hours before (its first day of data) at {at}"
        elif offset_us[i] or (zones[i] is not None and named[i] != "UTC"):
            # (a zone at offset 0 at the peak, London's winter, still names its clock)
            local = int(local_us[i])
            zone = (zone_text(pd.Timedelta(int(offset_us[i]), unit="us")) if zones[i] is None
                    else named[i])
            # The bucket that holds a local midnight starts on the day before it (an
            # offset of a part of a bucket: India's at hourly buckets).
            starts = "" if clock_day[i] == weekday[i] else f"{clock_day[i]} "
            against = (f"{usual[i]:,.1f} usual on a {weekday[i]} at "
                       f"{starts}{clock_text(local, local)} {zone} ({at})")
        else:
            against = f"{usual[i]:,.1f} usual on a {weekday[i]} at {at}"
        text = (f"{product}: {reports[i]:,.0f} reports in {size} against {against} "
                f"({_ratio(ratio[i])}, {p_value_text(surprise[i])}); "
                f"started {clock_text(onset_us[i], peak_us[i])}")
        if raised[i] is not None:
            text += f", raised {clock_text(raised[i], peak_us[i])}"
        texts.append(text)
    return texts


#: Names of the days of the week, Monday first (as ``Timestamp.weekday`` counts them).
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: Microseconds in a day.
DAY_US = 86_400_000_000
_MINUTE_US = 60_000_000


def _as_micros(stamps: pd.Series) -> np.ndarray:
    """UTC times as int64 microseconds since the epoch."""
    return pd.to_datetime(stamps, utc=True).dt.as_unit("us").astype("int64").to_numpy()


def clock_text(value: int, reference: int) -> str:
    """A time as the reasons write it: HH:MM, with its date when it is not on the day of
    `reference` (plain arithmetic, as thousands of reasons are written at once).

    Parameters
    ----------
    value, reference : int
        Microseconds since the epoch, UTC (:func:`micros`).

    Returns
    -------
    str
        ``"19:05"``, or ``"2026-01-21 23:55"`` on another day than `reference`.

    Examples
    --------
    >>> at = micros(pd.Timestamp("2026-01-22 19:05"))
    >>> clock_text(at, at), clock_text(at - 20 * 3_600_000_000, at)
    ('19:05', '2026-01-21 23:05')
    """
    minutes = value // _MINUTE_US % 1440
    hm = f"{minutes // 60:02d}:{minutes % 60:02d}"
    if value // DAY_US == reference // DAY_US:
        return hm
    return f"{pd.Timestamp(value, unit='us'):%Y-%m-%d} {hm}"


def add_reasons(incidents: pd.DataFrame, data: ReportData, baseline: Baseline,
                offsets: Mapping[str, pd.Timedelta | str] | None = None) -> pd.DataFrame:
    """`incidents` with ``why`` set to the product's own evidence (part 1 of the module
    docstring), as it is known at each incident's end.

    Parameters
    ----------
    incidents : pd.DataFrame
        Incidents of products of `data` (``product``, ``onset``, ``peak``, ``end``,
        ``alerted_at``).
    data : ReportData
        The counts they were detected in.
    baseline : Baseline
        The baseline they were detected against.
    offsets : mapping of str to pd.Timedelta or str, optional
        The products whose baseline's days are local days, with their offsets from UTC
        or their time zones
        (:func:`local_offsets` of the scores' settings): the weekday and time of their
        peak are given in their local time as well.

    Returns
    -------
    pd.DataFrame
        A copy with a ``why`` column.
    """
    out = incidents.copy()
    out["why"] = pd.Series(_own_reasons(out, data, baseline, offsets=offsets),
                           index=out.index, dtype="object")
    return out


def chance_text(chance: float) -> str:
    """An event's ``chance`` for a person ("< 0.01 %", "3.2 %")."""
    return "< 0.01 %" if chance < 1e-4 else f"{100 * chance:.2g} %"


def _known_by(incidents: pd.DataFrame, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """The incidents known at `as_of`: started by then and, live, raised by then."""
    if as_of is None or incidents.empty:
        return incidents
    onset = pd.to_datetime(incidents["onset"], utc=True)
    keep = onset < as_of
    if "alerted_at" in incidents:
        alerted = pd.to_datetime(incidents["alerted_at"], utc=True)
        keep &= alerted.isna() | (alerted <= as_of)
    return incidents[keep]


def event_reason(incident: Mapping[str, object], incidents: pd.DataFrame,
                 events: pd.DataFrame | None = None,
                 as_of: pd.Timestamp | None = None) -> str:
    """Part 2 of a reason: the other products of the incident's event.

    Parameters
    ----------
    incident : Mapping
        One incident with ``product``, ``onset`` and ``event_id``.
    incidents : pd.DataFrame
        The incidents known (with event ids): the members of its event are taken from
        them.
    events : pd.DataFrame, optional
        :func:`~spikes.detect.events.summarize_events` of them, for the ``chance``.
    as_of : pd.Timestamp, optional
        Leave out incidents not started (or, live, not raised) by then.

    Returns
    -------
    str
        ``"with A (first), B and C within 10 min (event E0010, chance < 0.01 %)"``; empty
        when the event has no other product.
    """
    event = incident.get("event_id")
    if event is None or pd.isna(event) or incidents.empty:
        return ""
    known = _known_by(incidents, None if as_of is None else _stamp(as_of))
    members = known[known["event_id"] == event].sort_values(["onset", "product"],
                                                            kind="stable")
    chance = _chances(events).get(str(event), np.nan)
    names = [str(p) for p in members["product"]]
    product = str(incident["product"])
    if product not in names:
        return ""
    texts = _event_texts(names, _onset_micros(members), str(event), chance)
    return texts[names.index(product)]


def _onset_micros(incidents: pd.DataFrame) -> np.ndarray:
    return _as_micros(incidents["onset"])


def _chances(events: pd.DataFrame | None) -> dict[str, float]:
    """``chance`` by event id (empty without events)."""
    if events is None or events.empty or "chance" not in events:
        return {}
    return dict(zip(events["event_id"].astype(str), events["chance"].astype(float),
                    strict=True))


def _event_texts(names: list[str], onsets: np.ndarray, event: str,
                 chance: float) -> list[str]:
    """The event part of each member of one event, given in onset order (`names`, and
    `onsets` in microseconds); empty texts for an event of one product."""
    if len(names) < 2:
        return [""] * len(names)
    span = pd.Timedelta(int(onsets.max() - onsets.min()), unit="us")
    when = f"within {_duration(span)}" if span > pd.Timedelta(0) else "at the same time"
    tail = f" {when} (event {event}"
    if not pd.isna(chance):
        tail += f", chance {chance_text(float(chance))}"
    tail += ")"
    out = []
    for k in range(len(names)):
        others = names[:k] + names[k + 1:]
        if k:
            others[0] += " (first)"
        out.append(f"with {_names(others)}{tail}")
    return out


class _BreakdownIndex:
    """A breakdown (``timestamp, product, region, category, reports``) indexed for many
    look-ups: sorted by product then time, values as codes, each product a slice."""

    def __init__(self, breakdown: pd.DataFrame) -> None:
        products, names = pd.factorize(breakdown["product"])
        times = _as_micros(breakdown["timestamp"])
        if len(times) < 2 or bool(np.all(times[1:] >= times[:-1])):
            # Sorted by time (as the bucketing writes it): a stable sort by product keeps
            # each product's rows in time order.
            order = np.argsort(products, kind="stable")
        else:
            order = np.lexsort((times, products))
        self.times = times[order]
        self.reports = breakdown["reports"].to_numpy(dtype=float)[order]
        self.codes: dict[str, np.ndarray] = {}
        self.values: dict[str, np.ndarray] = {}
        for dimension in ("category", "region"):
            codes, values = pd.factorize(breakdown[dimension])
            self.codes[dimension] = codes[order]
            self.values[dimension] = np.asarray(values, dtype=object).astype(str)
        sorted_products = products[order]
        edges = np.flatnonzero(sorted_products[1:] != sorted_products[:-1]) + 1
        starts = np.concatenate([[0], edges]).astype(int)
        stops = np.concatenate([edges, [len(order)]]).astype(int)
        self.slices = {} if not len(order) else {
            str(names[sorted_products[a]]): (int(a), int(b))
            for a, b in zip(starts, stops, strict=True)}

    def shares(self, product: str, start: int, stop: int, usual_from: int,
               skip: list[tuple[int, int]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per dimension, reports by value during ``[start, stop]`` and in the usual
        history ``[usual_from, start)`` without the spans `skip` (times in us)."""
        a, b = self.slices.get(product, (0, 0))
        times = self.times[a:b]
        i0, i1, i2 = np.searchsorted(times, [usual_from, start, stop + 1])
        weights = self.reports[a + i0 : a + i1].copy()
        for lo, hi in skip:
            j0, j1 = np.searchsorted(times[i0:i1], [lo, hi + 1])
            weights[j0:j1] = 0.0
        out = {}
        for dimension, codes in self.codes.items():
            k = len(self.values[dimension])
            during = np.bincount(codes[a + i1 : a + i2], self.reports[a + i1 : a + i2], k)
            usual = np.bincount(codes[a + i0 : a + i1], weights, k)
            out[dimension] = (during, usual)
        return out

    def text(self, shares: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
        """Part 3 of a reason from :meth:`shares`."""
        parts = []
        for dimension in ("category", "region"):
            during, usual = shares[dimension]
            values = self.values[dimension]
            total, usual_total = during.sum(), usual.sum()
            candidates = np.where(values != UNKNOWN, during, -1.0)
            if total <= 0 or candidates.max() <= 0:
                continue
            top = int(np.argmax(candidates))
            share = f"{100 * during[top] / total:.0f} %"
            before = (f"{100 * usual[top] / usual_total:.0f} %" if usual_total > 0 else None)
            if dimension == "category":
                text = f"top problem '{values[top]}' {share}"
                parts.append(text + (f" against {before} usually" if before else ""))
            elif before is None:  # no usual shares to compare with
                parts.append(f"{values[top]} {share}")
            else:
                parts.append(_region_text(during, usual, values))
        return "; ".join(parts)


#: A region is named where its share rose by at least this much (percentage points) ...
REGION_RISE = 5.0
#: ... and more than chance explains: binomial upper tail of its reports under its usual
#: share below this, over the regions tried (Bonferroni).
REGION_P = 0.01


def _region_text(during: np.ndarray, usual: np.ndarray, values: np.ndarray) -> str:
    """The regions where an incident's reports concentrate: those whose share rose
    against the product's usual shares (by :data:`REGION_RISE` points or more, and more
    than the binomial noise of the incident's reports explains, :data:`REGION_P`), the
    most risen first, at most two; when none did, "no region stands out" with the top
    one. (The top region alone was named: during a North American outage, "US-East 59 %
    (usually 87 %)", a region that fell, while US-West rose from 3 % to 27 %.)"""
    from scipy.stats import binom

    known = values != UNKNOWN
    total, usual_total = during.sum(), usual.sum()
    share = 100 * during / total
    before = 100 * usual / usual_total
    # A usual share of 0 in the history is not impossible: half a report's prior.
    expected = (usual + 0.5) / (usual_total + 0.5 * len(usual))
    tail = binom.sf(np.round(during) - 1, np.round(total), expected)
    rise = share - before
    risen = np.flatnonzero(known & (rise >= REGION_RISE)
                           & (tail < REGION_P / max(int(known.sum()), 1)))
    risen = risen[np.argsort(-rise[risen], kind="stable")][:2]
    if len(risen):
        return ", ".join(f"{values[i]} {share[i]:.0f} % (usually {before[i]:.0f} %)"
                         for i in risen)
    top = int(np.argmax(np.where(known, during, -1.0)))
    return (f"no region stands out (top: {values[top]} {share[top]:.0f} %, usually "
            f"{before[top]:.0f} %)")


def micros(value: pd.Timestamp) -> int:
    """Microseconds since the epoch (``Timestamp.value`` is in nanoseconds).

    Parameters
    ----------
    value : pd.Timestamp
        A time (aware, or naive UTC).

    Returns
    -------
    int
        Its microseconds since 1970-01-01 UTC, as :func:`clock_text` takes them.
    """
    return int(value.value // 1000)


def _breakdown_reasons(index: _BreakdownIndex, incidents: pd.DataFrame,
                       bucket: pd.Timedelta, as_of: pd.Timestamp | None = None,
                       history: pd.DataFrame | None = None) -> list[str]:
    """Part 3 of the reason of each of `incidents`; the usual shares leave out the
    earlier incidents of the same product in `history` (default: `incidents`)."""
    history = incidents if history is None else history
    spans: dict[str, list[tuple[int, int]]] = {}
    for row in history.itertuples(index=False):
        spans.setdefault(str(row.product), []).append(
            (micros(_stamp(row.onset)), micros(_stamp(row.end))))
    last_known = None if as_of is None else micros(as_of - bucket)
    out = []
    for row in incidents.itertuples(index=False):
        product = str(row.product)
        onset = micros(_stamp(row.onset))
        stop = micros(_stamp(row.end))
        if last_known is not None:
            stop = min(stop, last_known)
        if stop < onset:
            out.append("")
            continue
        skip = [(lo, hi) for lo, hi in spans.get(product, []) if lo < onset]
        usual_from = onset - int(USUAL_HISTORY / pd.Timedelta(microseconds=1))
        out.append(index.text(index.shares(product, onset, stop, usual_from, skip)))
    return out


def breakdown_reason(breakdown: pd.DataFrame | None, incident: Mapping[str, object],
                     bucket: pd.Timedelta, *, incidents: pd.DataFrame | None = None,
                     as_of: pd.Timestamp | None = None) -> str:
    """Part 3 of a reason: what people report during the incident against usual.

    Parameters
    ----------
    breakdown : pd.DataFrame or None
        ``ReportData.breakdown`` (``timestamp, product, region, category, reports``).
    incident : Mapping
        One incident (``product``, ``onset``, ``end``).
    bucket : pd.Timedelta
        Bucket size.
    incidents : pd.DataFrame, optional
        The product's other incidents: those that started before this one are left out
        of the usual shares.
    as_of : pd.Timestamp, optional
        Use only the buckets closed by then.

    Returns
    -------
    str
        ``"top problem 'Login' 88 % against 5 % usually; US-East 59 % (usually 31 %)"``:
        the most reported category during the incident and the regions whose share
        rose (:func:`_region_text`; "no region stands out" when none did), with their
        shares of the product's reports in the :data:`USUAL_HISTORY` before its onset
        (leaving out earlier incidents: causal); empty without a breakdown or reports.
    """
    if breakdown is None or breakdown.empty:
        return ""
    row = pd.DataFrame([{k: incident[k] for k in ("product", "onset", "end")}])
    history = row if incidents is None else incidents
    own = breakdown[breakdown["product"].astype(str) == str(incident["product"])]
    return _breakdown_reasons(_BreakdownIndex(own), row, pd.Timedelta(bucket),
                              None if as_of is None else _stamp(as_of), history)[0]


def incident_reason(data: ReportData, baseline: Baseline, incident: Mapping[str, object],
                    as_of: pd.Timestamp | None = None, *,
                    incidents: pd.DataFrame | None = None,
                    events: pd.DataFrame | None = None,
                    offsets: Mapping[str, pd.Timedelta | str] | None = None) -> str:
    """One incident's whole reason in words, from what was known at `as_of`.

    Parameters
    ----------
    data : ReportData
        The counts the incident was detected in (with its ``breakdown``, if any, for
        the part on what people report).
    baseline : Baseline
        The baseline it was detected against.
    incident : Mapping
        One row of an incidents table (``product``, ``onset``, ``end``, ``alerted_at``;
        ``event_id`` for the event part).
    as_of : pd.Timestamp, optional
        Describe the incident from the buckets closed by this time only (an alert's
        time); the whole incident when None.
    incidents : pd.DataFrame, optional
        The incidents known at `as_of` (with event ids): the other products of its
        event, and the earlier incidents left out of the usual shares. Without them the
        event part is left out.
    events : pd.DataFrame, optional
        Their events (:func:`~spikes.detect.events.summarize_events`), for the chance.
    offsets : mapping of str to pd.Timedelta or str, optional
        As :func:`add_reasons`.

    Returns
    -------
    str
        The parts of the module docstring that apply, separated by ``"; "``, ending
        with a full stop.
    """
    as_of = None if as_of is None else _stamp(as_of)
    row = pd.DataFrame([dict(incident)])
    if as_of is not None:
        row = row.drop(columns="peak", errors="ignore")  # the peak so far is looked for
    parts = [_own_reasons(row, data, baseline, as_of, offsets)[0]]
    if incidents is not None:
        parts.append(event_reason(incident, incidents, events, as_of=as_of))
    own = None
    if incidents is not None and len(incidents):
        own = incidents[incidents["product"].astype(str) == str(incident["product"])]
    parts.append(breakdown_reason(data.breakdown, incident, data.bucket,
                                  incidents=own, as_of=as_of))
    return "; ".join(p for p in parts if p) + "."


def _event_reasons(incidents: pd.DataFrame, events: pd.DataFrame | None) -> list[str]:
    """The event part of every incident (all of them known: no `as_of`)."""
    out = [""] * len(incidents)
    if "event_id" not in incidents or incidents.empty:
        return out
    chances = _chances(events)
    ids = incidents["event_id"].astype(str).to_numpy()
    products = incidents["product"].astype(str).to_numpy()
    onsets = _onset_micros(incidents)
    order = np.lexsort((products, onsets, ids))  # by event, then onset, then product
    cuts = np.flatnonzero(ids[order][1:] != ids[order][:-1]) + 1
    for group in np.split(order, cuts):
        if len(group) < 2:
            continue
        event = str(ids[group[0]])
        texts = _event_texts(products[group].tolist(), onsets[group], event,
                             chances.get(event, np.nan))
        for at, text in zip(group, texts, strict=True):
            out[at] = text
    return out


def complete_reasons(incidents: pd.DataFrame, events: pd.DataFrame | None = None,
                     breakdown: pd.DataFrame | None = None,
                     bucket: pd.Timedelta | None = None) -> pd.Series:
    """The ``why`` of every incident with the event and breakdown parts added to the
    product's own part (:func:`add_reasons`) and a full stop.

    Parameters
    ----------
    incidents : pd.DataFrame
        All incidents, with event ids and the ``why`` of :func:`add_reasons`.
    events : pd.DataFrame, optional
        Their events, for the chance.
    breakdown : pd.DataFrame, optional
        ``ReportData.breakdown``; the breakdown part is left out without it.
    bucket : pd.Timedelta, optional
        Bucket size (needed with `breakdown`).

    Returns
    -------
    pd.Series
        The new ``why`` per incident (same index).
    """
    own = incidents["why"] if "why" in incidents else pd.Series("", index=incidents.index)
    own = own.fillna("").astype(str)
    event = _event_reasons(incidents, events)
    if breakdown is not None and not breakdown.empty and bucket is not None and len(incidents):
        said = _breakdown_reasons(_BreakdownIndex(breakdown), incidents, pd.Timedelta(bucket))
    else:
        said = [""] * len(incidents)
    texts = ["; ".join(p for p in parts if p) for parts in zip(own, event, said, strict=True)]
    return pd.Series([t + "." if t else "" for t in texts], index=incidents.index,
                     dtype="object")
