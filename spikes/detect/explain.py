"""Why a live run raised an incident in a time window of a product, or why it did not.

The question an on-call team asks after a quiet night that was not quiet: "users said
Outlook was down from 02:10; why did nothing fire?" :func:`explain_window` answers it for
a live (causal) analysis by walking the product again with a trace
(:class:`spikes.detect.causal.LiveWalk`), exactly as the incidents were found, and says
which of these happened in the window:

- ``raised``: an incident of the product overlaps the window (with its ``alerted_at``);
- ``no data``: the product has no count in the window (count rows missing: no data);
- a stretch was opened by a detector's alarm and judged, but **dropped**, with the test
  it failed (the keys of :data:`spikes.detect.judging.FAILURES`: ``ratio``, ``before``,
  ``jump``, ``small``, ``blip``, ``warm-up``, ``not elevated``);
- ``pending``: the window's stretches are still open at the end of the data, not raised
  so far (the test they fail so far is said): undecided, the next buckets decide;
- ``calibration``: no alarm, but a detector's score reached the threshold the settings
  ask for (``false_alarms_per_week`` under the noise model); the product's own history
  was burstier than the model, and its calibrated threshold was higher;
- ``warm-up``: no alarm, and the window lies in the product's first
  :data:`~spikes.detect.causal.WARMUP` of data, where only a cold-start jump is raised;
- ``no alarm``: no detector's score reached even the configured threshold: the counts
  did not carry the evidence.

Each answer comes with the figures behind it: every detector's peak score in the window
against the threshold in force there and the configured one, and the stretches judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spikes.detect.causal import live_incident_rows, warmup_buckets
from spikes.detect.judging import FAILURES, JudgedStretch
from spikes.detect.pipeline import Analysis, LiveInputs, select_products
from spikes.errors import SpikesInputError
from spikes.io.typed_times import parse_time, read_typed_time, typed_time_in_utc
from spikes.io.zones import when, zone_name

#: Causes of :func:`explain_window`, from the most to the least conclusive: where
#: several apply to a window, the first is its cause.
CAUSES = ("raised", "no data", *FAILURES, "pending", "earlier", "calibration", "no alarm")

_NO_ALARM = {
    "no data": "no data: the product has no count in the window (rows missing from the "
               "input are no data, not zero: nothing to judge there)",
    "earlier": "no alarm of its own: a detector is at its threshold in force there, on a "
               "stretch that began before the window (explain a window that starts "
               "earlier)",
    "calibration": "no alarm: a detector reached the threshold the settings ask for, but "
                   "this product's history was burstier than the noise model and its "
                   "calibrated threshold was higher",
    "warm-up": "no alarm: the window lies in the product's warm-up (its first day of "
               "data), where only a jump over the hours before is raised",
    "no alarm": "no alarm: no detector reached even the threshold the settings ask for "
                "(the counts did not carry the evidence)",
}


@dataclass(frozen=True)
class Explanation:
    """What a live run did in one product's window (:func:`explain_window`).

    Attributes
    ----------
    product : str
        The product.
    start, end : pd.Timestamp
        The window (bucket starts, both included).
    cause : str
        One of :data:`CAUSES`.
    reason : str
        The cause in words.
    incidents : pd.DataFrame
        The product's incidents that overlap the window (``onset, alerted_at, end,
        peak_ratio``).
    detectors : pd.DataFrame
        One row per detector: ``detector, peak`` (its largest score in the window; for
        a CUSUM, its largest rise from its lowest point since the onset search's reach
        before the window, which is what alarms),
        ``peak_at``, ``threshold`` (in force at that bucket: calibrated on the product's
        history) and ``configured`` (what the settings ask for under the noise model).
    stretches : pd.DataFrame
        The stretches judged whose onset or alarm lies in the window: ``onset, alarm,
        judged_until, detectors, verdict, failure``.
    bucket : pd.Timedelta
        The data's bucket size.
    """

    product: str
    start: pd.Timestamp
    end: pd.Timestamp
    cause: str
    reason: str
    incidents: pd.DataFrame
    detectors: pd.DataFrame
    stretches: pd.DataFrame
    bucket: pd.Timedelta = pd.Timedelta(0)

    def summary(self, tz: str = "UTC") -> str:
        """The explanation as lines of text for people, its times in the zone `tz`
        (``spikes explain --display-tz``), each with its zone's abbreviation."""
        reason = (_raised_reason(self.incidents.iloc[0], tz)
                  if self.cause == "raised" and len(self.incidents) else self.reason)
        lines = [f"{self.product}, {when(self.start, tz)} to {when(self.end, tz)}: "
                 f"{self.cause}", f"  {reason}"]
        scored = self.detectors if self.cause != "no data" else self.detectors.iloc[:0]
        for row in scored.itertuples(index=False):  # (no data: no score to show)
            at = "" if pd.isna(row.peak_at) else f" at {when(row.peak_at, tz)}"
            lines.append(f"  {row.detector}: peak {row.peak:.3g}{at}, threshold "
                         f"{row.threshold:.3g} in force (configured {row.configured:.3g})")
        for row in self.stretches.itertuples(index=False):
            # (pandas 3 reads a column of texts and None as text, None as NaN)
            why = "" if pd.isna(row.failure) else f": {FAILURES[row.failure]}"
            # judged_until is the start of the bucket judged last; a raised stretch is
            # raised at its end (alerted_at), as the incident line says.
            at = row.judged_until + (self.bucket if row.verdict == "raised" else
                                     pd.Timedelta(0))
            alarm = when(row.alarm, tz).split(" ", 1)[1]  # its clock time and zone
            lines.append(f"  stretch from {when(row.onset, tz)} (alarm {alarm}, "
                         f"{row.detectors}) {row.verdict} "
                         f"{'at' if row.verdict == 'raised' else 'with the bucket of'} "
                         f"{when(at, tz)}{why}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Replay:
    """One product's live walk replayed with a trace (:func:`replay`): what
    :func:`explain_window` reads. Replay a product once to explain many of its windows.

    Attributes
    ----------
    product : str
        The product.
    arguments : dict
        The walk's inputs (:meth:`spikes.detect.pipeline.LiveInputs.walk_arguments`).
    trace : list of JudgedStretch
        Every stretch the walk judged, with its verdict.
    """

    product: str
    arguments: dict[str, object]
    trace: list[JudgedStretch]


def require_live(analysis: Analysis) -> None:
    """Raise :class:`~spikes.errors.SpikesInputError` unless `analysis` is live (causal):
    explanations replay the live walk, which a retrospective analysis has not run."""
    if not analysis.scored.baseline.causal:
        raise SpikesInputError("explain: the analysis is retrospective (hindsight); "
                               "explanations are of live (causal) runs, the default")


def replay(analysis: Analysis, product: str) -> Replay:
    """Replay the live walk of `product` in `analysis` with a trace.

    Parameters
    ----------
    analysis : Analysis
        A live (causal) analysis, from :func:`spikes.detect.pipeline.analyze`.
    product : str
        The product.

    Returns
    -------
    Replay

    Raises
    ------
    SpikesInputError
        For a retrospective analysis or an unknown product.
    """
    require_live(analysis)
    scored = analysis.scored
    names = {str(c) for c in scored.data.counts.columns}
    if str(product) not in names:
        known = ", ".join(sorted(names)[:10]) + (", ..." if len(names) > 10 else "")
        raise SpikesInputError(f"explain: no product {product!r} in the data "
                               f"(products: {known})")
    product = str(product)
    arguments = LiveInputs(select_products(scored, [product])).walk_arguments(
        product, analysis.config)
    trace: list[JudgedStretch] = []
    live_incident_rows(**arguments, trace=trace)
    return Replay(product, arguments, trace)


def explain_window(analysis: Analysis, product: str, start: object, end: object, *,
                   replayed: Replay | None = None, tz: str | None = None,
                   dayfirst: bool = False, display_tz: str = "UTC") -> Explanation:
    """Why a live run raised an incident of `product` in ``[start, end]``, or why not.

    Parameters
    ----------
    analysis : Analysis
        A live (causal) analysis, from :func:`spikes.detect.pipeline.analyze`.
    product : str
        The product.
    start, end : str or pd.Timestamp
        The window; times without an offset are UTC, or local to `tz`. An end given as a
        date without a time (``"2026-01-22"``) is the end of that day. A time as printed
        in `display_tz` (``2026-01-22 20:05 CET``) is read there: its abbreviation must
        be that of `display_tz` at that time.
    replayed : Replay, optional
        The product's walk, already replayed (:func:`replay` of `analysis` and
        `product`); replayed here when None.
    tz : str, optional
        IANA time zone of `start` and `end` where they have no offset (default UTC).
    dayfirst : bool
        Read a numeric date such as ``09/01/2026`` day first (9 January).
    display_tz : str
        Zone of the times its errors give (``--display-tz``; default UTC), each with its
        zone's abbreviation, and of bounds given with an abbreviation.

    Returns
    -------
    Explanation

    Raises
    ------
    SpikesInputError
        For a retrospective analysis, an unknown product, or a window outside the data
        or ending before it starts.
    """
    if replayed is None:
        replayed = replay(analysis, product)
    product, arguments, trace = replayed.product, replayed.arguments, replayed.trace
    scored = analysis.scored
    index = scored.data.counts.index
    tz = zone_name(tz)  # "europe/berlin", "UTC+1": as --tz takes them
    t0 = typed_time_in_utc(start, "explain: start", tz, dayfirst=dayfirst,
                           display_tz=display_tz)
    # "2026-01-22" (or "2026-01-22 CET"): up to the end of that day (23 to 25 hours)
    t1 = typed_time_in_utc(end, "explain: end", tz, dayfirst=dayfirst, display_tz=display_tz,
                           end=True)
    if t1 < t0:
        raise SpikesInputError(f"explain: the window ends ({when(t1, display_tz)}) before "
                               f"it starts ({when(t0, display_tz)})")
    outside = outside_data(t0, t1, index, scored.data.bucket, display_tz)
    if outside is not None:
        raise SpikesInputError(f"explain: {outside}")
    a = int(index.searchsorted(t0.floor(scored.data.bucket)))
    b = int(index.searchsorted(t1, side="right")) - 1
    own = arguments["config"]
    detectors = arguments["detectors"]
    peaks = []
    reach = int(pd.Timedelta(own.onset_search) / scored.data.bucket)
    for name, detector in detectors.items():
        score = arguments["scores"][name][a : b + 1]
        if detector.cumulative:
            # What alarms is a CUSUM's rise from its trough, not its level (which drains
            # slowly after an outage): the rise from its lowest point since the onset
            # search's reach before the window.
            full = np.nan_to_num(arguments["scores"][name][max(a - reach, 0) : b + 1])
            score = (full - np.minimum.accumulate(full))[-len(score):]
        threshold = arguments["thresholds"][name][a : b + 1]
        configured = detector.default_threshold(own, scored.data.bucket)
        known = ~np.isnan(score)
        at = int(np.argmax(np.where(known, score, -np.inf))) if known.any() else None
        peaks.append({"detector": name,
                      "peak": float(score[at]) if at is not None else float("nan"),
                      "peak_at": index[a + at] if at is not None else pd.NaT,
                      "threshold": float(threshold[at if at is not None else 0]),
                      "configured": float(configured),
                      "reached_configured": bool(known.any()
                                                 and np.nanmax(score) >= configured),
                      "reached": bool(known.any() and (score[known]
                                                       >= threshold[known]).any())})
    peak_table = pd.DataFrame(peaks)
    stretches = pd.DataFrame(
        [{"onset": index[s.onset], "alarm": index[s.alarm], "judged_until": index[s.last],
          "detectors": "+".join(s.detectors), "verdict": s.verdict, "failure": s.failure}
         for s in trace if a <= s.onset <= b or a <= s.alarm <= b],
        columns=["onset", "alarm", "judged_until", "detectors", "verdict", "failure"])
    incidents = analysis.incidents
    mine = incidents[(incidents["product"].astype(str) == product)
                     & (pd.DatetimeIndex(incidents["onset"]) <= index[b])
                     & (pd.DatetimeIndex(incidents["end"]) >= index[a])]
    mine = mine[[c for c in ("onset", "alerted_at", "end", "peak_ratio") if c in mine]]
    cause, reason = _cause(mine, stretches, peak_table, a, b, arguments, scored.data.bucket)
    return Explanation(product, index[a], index[b], cause, reason,
                       mine.reset_index(drop=True),
                       peak_table.drop(columns=["reached_configured", "reached"]), stretches,
                       scored.data.bucket)


def outside_data(start: pd.Timestamp, end: pd.Timestamp, index: pd.DatetimeIndex,
                 bucket: pd.Timedelta, tz: str = "UTC") -> str | None:
    """What is wrong with a window that lies wholly outside the data.

    Parameters
    ----------
    start, end : pd.Timestamp
        The window (aware, UTC).
    index : pd.DatetimeIndex
        The data's buckets (their starts, UTC).
    bucket : pd.Timedelta
        The buckets' size.
    tz : str
        The zone of the times in the text (``--display-tz``).

    Returns
    -------
    str or None
        The window and the data's span, in `tz`; None when the window holds some of the
        data.

    Examples
    --------
    >>> index = pd.date_range("2026-01-22", periods=12, freq="5min", tz="UTC")
    >>> print(outside_data(index[0] - pd.Timedelta("2h"), index[0] - pd.Timedelta("1h"),
    ...                    index, pd.Timedelta("5min"), "Europe/Berlin").replace(" lies", "\\n"))
    the window 2026-01-21 23:00 CET to 2026-01-22 00:00 CET
     outside the data (2026-01-22 01:00 CET to 2026-01-22 01:55 CET)
    >>> outside_data(index[2], index[5], index, pd.Timedelta("5min")) is None
    True
    """
    if end >= index[0] and start < index[-1] + bucket:
        return None
    return (f"the window {when(start, tz)} to {when(end, tz)} lies outside the data "
            f"({when(index[0], tz)} to {when(index[-1], tz)})")


def _raised_reason(incident: pd.Series, tz: str = "UTC") -> str:
    """The reason of a window that raised `incident`: its onset and when it was raised,
    in the zone `tz`."""
    alerted = incident.get("alerted_at")
    raised = "" if pd.isna(alerted) else f", raised at {when(alerted, tz)}"
    return f"incident from {when(incident['onset'], tz)}{raised}"


def _cause(incidents: pd.DataFrame, stretches: pd.DataFrame, peaks: pd.DataFrame, a: int,
           b: int, arguments: dict[str, object], bucket: pd.Timedelta) -> tuple[str, str]:
    """The window's cause (a key of :data:`CAUSES`) and the reason in words."""
    if len(incidents):
        return "raised", _raised_reason(incidents.iloc[0])
    y = np.asarray(arguments["y"])
    if np.isnan(y[a : b + 1]).all():
        return "no data", _NO_ALARM["no data"]
    judged = stretches[stretches["verdict"] != "raised"]
    if len(judged):
        failures = [f for f in judged["failure"] if not pd.isna(f)]
        # The most conclusive failure of the window's stretches.
        failure = min(failures, key=CAUSES.index) if failures else "not elevated"
        verdicts = sorted(set(judged["verdict"]))
        if verdicts == ["pending"]:
            # Open at the end of the data: undecided, not dismissed (a 28x bucket that is
            # the data's last has had no chance to last).
            return "pending", (f"{len(judged)} stretch(es) pending at the end of the data, "
                               f"not raised so far ({FAILURES[failure]}): the next "
                               f"buckets decide; it is raised once it passes")
        return failure, (f"{len(judged)} stretch(es) {' / '.join(verdicts)}: "
                         f"{FAILURES[failure]}")
    seen = np.flatnonzero(~np.isnan(y))
    if len(seen) and a < int(seen[0]) + warmup_buckets(bucket):
        return "warm-up", _NO_ALARM["warm-up"]
    if peaks["reached"].any():
        return "earlier", _NO_ALARM["earlier"]
    if peaks["reached_configured"].any():
        return "calibration", _NO_ALARM["calibration"]
    return "no alarm", _NO_ALARM["no alarm"]


def has_offset(value: object, dayfirst: bool = False, display_tz: str = "UTC") -> bool:
    """Whether a bound of a window carries its own offset (``2026-01-22T14:00Z``,
    ``2026-01-22T15:00+01:00``, an aware time) or zone as printed (``2026-01-22 15:00
    CET``, read in the display zone): it is that time, whatever zone the naive ones are
    read in.

    Parameters
    ----------
    value : str or pd.Timestamp
        The bound, as given to :func:`explain_window`.
    dayfirst : bool
        Read a numeric date day first.
    display_tz : str
        The zone times are printed in (whose abbreviations, with those of the other
        zones, are read as such).

    Returns
    -------
    bool
        True for a time with its offset or zone; False for a naive one, and for a text
        that is no time (:func:`explain_window` says what is wrong with it).

    Examples
    --------
    >>> [has_offset(v) for v in ("2026-01-22T14:00Z", "2026-01-22 14:00", "soon",
    ...                          "2026-01-22 15:00 CET")]
    [True, False, False, True]
    """
    try:
        stamp, label, _ = read_typed_time(value, display_tz, dayfirst)
    except (TypeError, ValueError):
        return False
    return stamp.tzinfo is not None or label is not None


def local_time(value: object, tz: str, dayfirst: bool = False) -> pd.Timestamp:
    """A naive bound of a window as the time it names in the zone `tz`.

    Parameters
    ----------
    value : str or pd.Timestamp
        The bound, without an offset.
    tz : str
        The zone to read it in.
    dayfirst : bool
        Read a numeric date day first.

    Returns
    -------
    pd.Timestamp
        The time, aware in `tz`.

    Raises
    ------
    ValueError
        For a text that is no time, or a wall time that `tz` skips or repeats.

    Examples
    --------
    >>> local_time("2026-01-22 14:00", "Europe/Berlin").isoformat()
    '2026-01-22T14:00:00+01:00'
    """
    return parse_time(value, dayfirst).tz_localize(tz)


__all__ = ["CAUSES", "Explanation", "Replay", "explain_window", "has_offset", "local_time",
           "outside_data", "replay"]
