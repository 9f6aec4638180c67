"""Score detected incidents against labelled outages, exactly as ``EVALUATION.md`` says.

Matching, for each label (product ``p``, onset ``t0``, end ``t1``):

- candidates are the incidents of ``p`` whose onset lies in
  ``[t0 - early_allowance, max(t1, t0 + min_window)]`` (both ends included);
- if there is a candidate the label is a true positive, matched to the earliest one, and
  its delay is that onset minus ``t0`` in minutes;
- the other candidates of that label are duplicates, i.e. false positives;
- every incident matched to no label is a false positive.

For the NAB windows, pass ``early_allowance=pd.Timedelta(0)`` and the window as
``onset..end`` (see :func:`spikes.evaluation.nab.nab_windows_as_labels`).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spikes.errors import SpikesInputError
from spikes.evaluation.tables import (  # noqa: F401 - read_* and validate_* live on here
    COLUMN_ALIASES,
    INCIDENT_COLUMNS,
    LABEL_COLUMNS,
    LABEL_DELIMITERS,
    is_missing,
    read_incidents,
    read_labels,
    validate_incidents,
    validate_labels,
)

STATUS_TP = "tp"
STATUS_DUPLICATE = "duplicate"
STATUS_FP = "false_positive"
WEEK = pd.Timedelta(days=7)
DEFAULT_BUCKET = pd.Timedelta("5min")
EARLY_ALLOWANCE = pd.Timedelta("10min")
MIN_WINDOW = pd.Timedelta("30min")
BY_PRODUCT_COLUMNS = [
    "product", "n_labels", "n_incidents", "tp", "fp", "fn", "precision", "recall", "f1",
]


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Evaluation:
    """The figures of ``EVALUATION.md`` for one set of incidents against one set of labels.

    Attributes
    ----------
    tp : int
        Labels with at least one candidate (detected outages).
    fp : int
        Incidents that are the match of no label: duplicates plus unmatched incidents.
    fn : int
        Labels with no candidate.
    n_labels, n_incidents : int
        Sizes of the inputs.
    precision : float
        ``tp / (tp + fp)``. With no incident at all: 1.0 when there is no label either,
        0.0 otherwise.
    recall : float
        ``tp / n_labels``; 1.0 when there is no label.
    f1 : float
        Harmonic mean of precision and recall; 0.0 when both are 0.
    delay_median_min, delay_p90_min : float
        Median and 90th percentile (numpy, linear interpolation) of the delays of the true
        positives, in minutes; NaN when there is no true positive.
    alert_delay_median_min, alert_delay_p90_min : float
        The same of the alert delays (``alerted_at`` of the matched incident minus the
        label's onset): how long after the outage began a live run raised it. NaN when
        the incidents have no ``alerted_at`` (a retrospective run).
    false_alarms_per_product_week : float
        ``fp / product_weeks``; NaN when the number of product-weeks was not given.
    duplicates : int
        Incidents that are a non-earliest candidate of some label and the match of none
        (they are included in ``fp``).
    product_weeks : float
        Product-weeks of data, NaN when not given.
    matches : pd.DataFrame
        One row per label: ``product``, ``onset``, ``end``, ``event``, ``tp`` (bool),
        ``matched_onset`` (NaT when missed), ``delay_min`` (NaN when missed),
        ``alert_delay_min`` (NaN when missed or without ``alerted_at``),
        ``n_candidates``, ``incident`` (row of the matched incident, <NA> when missed).
    incident_status : pd.DataFrame
        The incidents with ``status`` (``"tp"``, ``"duplicate"`` or ``"false_positive"``)
        and ``label`` (row of the label matched, or of the first label it is a duplicate
        candidate of; <NA> for a plain false positive).
    by_product : pd.DataFrame
        Per product (union of labelled and detected products, sorted): ``n_labels``,
        ``n_incidents``, ``tp``, ``fp``, ``fn``, ``precision``, ``recall``, ``f1``.
    """

    tp: int
    fp: int
    fn: int
    n_labels: int
    n_incidents: int
    precision: float
    recall: float
    f1: float
    delay_median_min: float
    delay_p90_min: float
    false_alarms_per_product_week: float
    duplicates: int
    alert_delay_median_min: float = math.nan
    alert_delay_p90_min: float = math.nan
    product_weeks: float = math.nan
    matches: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    incident_status: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    by_product: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def to_dict(self, *, tables: bool = True) -> dict[str, Any]:
        """Return the figures as JSON-serialisable values (NaN and NaT become ``None``).

        Parameters
        ----------
        tables : bool
            Include ``matches``, ``incident_status`` (lists of records) and
            ``by_product`` (records keyed by product).

        Returns
        -------
        dict
            Scalars first, then the tables; timestamps as ISO-8601 strings.
        """
        out: dict[str, Any] = {
            name: _json_value(getattr(self, name))
            for name in (
                "n_labels", "n_incidents", "tp", "fp", "fn", "duplicates", "precision",
                "recall", "f1", "delay_median_min", "delay_p90_min",
                "alert_delay_median_min", "alert_delay_p90_min",
                "false_alarms_per_product_week", "product_weeks",
            )
        }
        if tables:
            out["by_product"] = {
                rec["product"]: {k: v for k, v in rec.items() if k != "product"}
                for rec in _records(self.by_product)
            }
            out["matches"] = _records(self.matches)
            out["incident_status"] = _records(self.incident_status)
        return out

    def to_table(self, *, no_weeks: str = "product-weeks not given") -> str:
        """Return a compact human-readable summary with the per-product breakdown.

        Parameters
        ----------
        no_weeks : str
            Said in brackets after the false-alarm rate when the number of product-weeks
            was not given (how to give it: the command line names its flags).

        Returns
        -------
        str
            A few lines of text, no trailing newline.
        """
        weeks = (f"{_fmt(self.product_weeks, 1)} product-weeks"
                 if not math.isnan(self.product_weeks) else no_weeks)
        lines = [
            f"labels {self.n_labels}   incidents {self.n_incidents}   TP {self.tp}   "
            f"FP {self.fp} (duplicates {self.duplicates})   FN {self.fn}",
            f"precision {_fmt(self.precision)}   recall {_fmt(self.recall)}   "
            f"F1 {_fmt(self.f1)}",
            f"onset delay (min): median {_fmt(self.delay_median_min, 1)}   "
            f"p90 {_fmt(self.delay_p90_min, 1)}",
            f"alert delay (min): median {_fmt(self.alert_delay_median_min, 1)}   "
            f"p90 {_fmt(self.alert_delay_p90_min, 1)}",
            f"false alarms per product-week {_fmt(self.false_alarms_per_product_week)}"
            f" ({weeks})",
        ]
        if len(self.by_product):
            width = max(7, *(len(str(p)) for p in self.by_product["product"]))
            lines.append("")
            lines.append(
                f"{'product':<{width}}  labels  incid.   TP   FP   FN  prec.  recall     F1"
            )
            for rec in self.by_product.itertuples(index=False):
                lines.append(
                    f"{rec.product:<{width}}  {rec.n_labels:>6}  {rec.n_incidents:>6}"
                    f" {rec.tp:>4} {rec.fp:>4} {rec.fn:>4}  {_fmt(rec.precision):>5}"
                    f"  {_fmt(rec.recall):>6}  {_fmt(rec.f1):>5}"
                )
        return "\n".join(lines)


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _json_value(value: Any) -> Any:
    """Convert one cell or scalar to a JSON-serialisable value."""
    if is_missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, int | str):
        return value
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[Hashable, Any]]:
    return [
        {str(k): _json_value(v) for k, v in zip(frame.columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def product_weeks_from_span(
    data_start: pd.Timestamp | str,
    data_end: pd.Timestamp | str,
    n_products: int,
    bucket: pd.Timedelta | str = DEFAULT_BUCKET,
) -> float:
    """Product-weeks of data covered by a span of buckets.

    Parameters
    ----------
    data_start, data_end : pd.Timestamp or str
        Start of the first bucket and start of the last bucket of the data.
    n_products : int
        Number of products observed over the span.
    bucket : pd.Timedelta or str
        Bucket size; the last bucket counts in full.

    Returns
    -------
    float
        ``(data_end - data_start + bucket) / 7 days * n_products``.

    Raises
    ------
    SpikesInputError
        ``data_end`` is before ``data_start``, or a negative count or bucket.

    Examples
    --------
    >>> product_weeks_from_span("2024-01-01", "2024-01-07 23:55", 2)
    2.0
    """
    start, end = pd.Timestamp(data_start), pd.Timestamp(data_end)
    step = pd.Timedelta(bucket)
    if end < start:
        raise SpikesInputError(f"data end {end} is before data start {start}")
    if n_products < 0 or step < pd.Timedelta(0):
        raise SpikesInputError("number of products and bucket size must not be negative")
    return float((end - start + step) / WEEK * n_products)


def _table_path(value: Any, name: str) -> str | Path:
    """`value` as the path of a table file, or a clear error for anything else."""
    if isinstance(value, str | os.PathLike):
        return value
    raise SpikesInputError(f"{name}: a DataFrame or the path of a CSV or Parquet file, "
                           f"not a {type(value).__name__}")


def _as_nonnegative_timedelta(value: Any, name: str) -> pd.Timedelta:
    from spikes.config import unitless

    if unitless(value):
        raise SpikesInputError(f"{name}: {value!r} has no unit (a number alone would be "
                               "nanoseconds): write e.g. '10min'")
    try:
        delta = pd.Timedelta(value)
    except (TypeError, ValueError):
        raise SpikesInputError(f"{name}: {value!r} is not a duration (e.g. '10min')") from None
    if pd.isna(delta) or delta < pd.Timedelta(0):
        raise SpikesInputError(f"{name}: {value!r} must be a duration >= 0")
    return delta


def match_labels(
    incidents: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    early_allowance: pd.Timedelta,
    min_window: pd.Timedelta,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Match validated incidents to validated labels.

    Parameters
    ----------
    incidents, labels : pd.DataFrame
        Outputs of :func:`validate_incidents` and :func:`validate_labels`.
    early_allowance, min_window : pd.Timedelta
        See :func:`evaluate`.

    Returns
    -------
    matches, incident_status : pd.DataFrame
        As the attributes of :class:`Evaluation`.
    """
    onsets = pd.DatetimeIndex(incidents["onset"]).tz_convert(None).to_numpy()
    alerted = (pd.DatetimeIndex(incidents["alerted_at"]) if "alerted_at" in incidents
               else pd.DatetimeIndex([pd.NaT] * len(incidents), tz="UTC"))
    products = incidents["product"].to_numpy()
    n_inc = len(incidents)
    matched_by = np.full(n_inc, -1)
    candidate_of = np.full(n_inc, -1)
    rows = []
    for j, label in enumerate(labels.itertuples(index=False)):
        lo = label.onset - early_allowance
        hi = max(label.end, label.onset + min_window)
        mask = (
            (products == label.product)
            & (onsets >= lo.tz_convert(None).to_datetime64())
            & (onsets <= hi.tz_convert(None).to_datetime64())
        )
        cand = np.flatnonzero(mask)
        first = int(cand[np.argmin(onsets[cand])]) if cand.size else -1
        for i in cand:
            if candidate_of[i] < 0:
                candidate_of[i] = j
        if first >= 0 and matched_by[first] < 0:
            matched_by[first] = j
        matched_onset = incidents["onset"].iloc[first] if first >= 0 else pd.NaT
        rows.append(
            {
                "tp": first >= 0,
                "matched_onset": matched_onset,
                "delay_min": (matched_onset - label.onset).total_seconds() / 60.0
                if first >= 0 else math.nan,
                "alert_delay_min": (alerted[first] - label.onset).total_seconds() / 60.0
                if first >= 0 and not pd.isna(alerted[first]) else math.nan,
                "n_candidates": int(cand.size),
                "incident": first if first >= 0 else pd.NA,
            }
        )
    extra = pd.DataFrame(rows, columns=["tp", "matched_onset", "delay_min", "alert_delay_min",
                                        "n_candidates", "incident"])
    matches = pd.concat([labels.reset_index(drop=True), extra], axis=1)
    matches["tp"] = matches["tp"].astype(bool)
    matches["matched_onset"] = pd.to_datetime(matches["matched_onset"], utc=True)
    matches["delay_min"] = matches["delay_min"].astype(float)
    matches["alert_delay_min"] = matches["alert_delay_min"].astype(float)
    matches["n_candidates"] = matches["n_candidates"].astype(int)
    matches["incident"] = matches["incident"].astype("Int64")
    status = np.where(matched_by >= 0, STATUS_TP,
                      np.where(candidate_of >= 0, STATUS_DUPLICATE, STATUS_FP))
    label_of = np.where(matched_by >= 0, matched_by, candidate_of)
    incident_status = incidents.reset_index(drop=True).copy()
    incident_status["status"] = status.astype(object)
    incident_status["label"] = pd.array(
        [int(v) if v >= 0 else pd.NA for v in label_of], dtype="Int64"
    )
    return matches, incident_status


def _median_p90(values: np.ndarray) -> tuple[float, float]:
    """Median and 90th percentile (linear), NaN for no values."""
    if not values.size:
        return math.nan, math.nan
    return float(np.median(values)), float(np.percentile(values, 90, method="linear"))


def _ratios(tp: int, fp: int, n_labels: int) -> tuple[float, float, float]:
    """Precision, recall and F1 with the 0/0 conventions of :class:`Evaluation`."""
    if tp + fp == 0:
        precision = 1.0 if n_labels == 0 else 0.0
    else:
        precision = tp / (tp + fp)
    recall = 1.0 if n_labels == 0 else tp / n_labels
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return precision, recall, f1


def _by_product(matches: pd.DataFrame, incident_status: pd.DataFrame) -> pd.DataFrame:
    products = sorted(set(matches["product"]) | set(incident_status["product"]))
    rows = []
    for product in products:
        m = matches[matches["product"] == product]
        s = incident_status[incident_status["product"] == product]
        tp = int(m["tp"].sum())
        fp = int((s["status"] != STATUS_TP).sum())
        precision, recall, f1 = _ratios(tp, fp, len(m))
        rows.append([product, len(m), len(s), tp, fp, len(m) - tp, precision, recall, f1])
    return pd.DataFrame(rows, columns=BY_PRODUCT_COLUMNS)


def evaluate(
    incidents: pd.DataFrame | str | Path,
    labels: pd.DataFrame | str | Path,
    *,
    product_weeks: float | None = None,
    early_allowance: pd.Timedelta = EARLY_ALLOWANCE,
    min_window: pd.Timedelta = MIN_WINDOW,
) -> Evaluation:
    """Score incidents against labels by the rules of ``EVALUATION.md``.

    Parameters
    ----------
    incidents : pd.DataFrame or path
        Detected incidents (at least ``product``, ``onset``); a path is read with
        :func:`read_incidents`, a table is validated the same way.
    labels : pd.DataFrame or path
        True outages (``product``, ``onset``, ``end``); as ``incidents``.
    product_weeks : float, optional
        Product-weeks of data (see :func:`product_weeks_from_span`), for the false-alarm
        rate; without it the rate is NaN.
    early_allowance : pd.Timedelta
        How long before a label's onset an incident onset still counts (10 min; 0 for the
        NAB windows).
    min_window : pd.Timedelta
        A label accepts onsets up to ``max(end, onset + min_window)`` (30 min).

    Returns
    -------
    Evaluation
        Counts, ratios, delays and the per-label, per-incident and per-product tables.

    Raises
    ------
    SpikesInputError
        Invalid input tables or settings.

    Notes
    -----
    Overlapping labels of one product are matched literally, label by label:

    - each label takes its own earliest candidate, even if that incident is also the
      match of another label (each such label is a TP, so one incident can make two TPs;
      precision is then ``tp / (tp + fp)`` with ``tp`` counting labels, as written);
    - an incident that is the match of some label is never a false positive, even if it
      is a non-earliest candidate of another label;
    - an incident that is only ever a non-earliest candidate is one duplicate, counted
      once however many labels it is a candidate of.

    Ties between candidates with the same onset go to the first in input order. Delays
    can be negative (down to ``-early_allowance``).

    Examples
    --------
    >>> inc = pd.DataFrame({"product": ["a"], "onset": ["2024-01-01T00:05"]})
    >>> lab = pd.DataFrame({"product": ["a"], "onset": ["2024-01-01T00:00"],
    ...                     "end": ["2024-01-01T01:00"]})
    >>> ev = evaluate(inc, lab)
    >>> (ev.tp, ev.fp, ev.fn, ev.delay_median_min)
    (1, 0, 0, 5.0)
    """
    early = _as_nonnegative_timedelta(early_allowance, "early_allowance")
    window = _as_nonnegative_timedelta(min_window, "min_window")
    if product_weeks is not None and (
            isinstance(product_weeks, bool) or not isinstance(product_weeks, numbers.Real)
            or not (product_weeks > 0 and math.isfinite(product_weeks))):
        raise SpikesInputError(f"product_weeks: {product_weeks!r} must be a number > 0")
    inc = (validate_incidents(incidents) if isinstance(incidents, pd.DataFrame)
           else read_incidents(_table_path(incidents, "incidents")))
    lab = (validate_labels(labels) if isinstance(labels, pd.DataFrame)
           else read_labels(_table_path(labels, "labels")))
    matches, incident_status = match_labels(inc, lab, early_allowance=early, min_window=window)
    tp = int(matches["tp"].sum())
    fp = int((incident_status["status"] != STATUS_TP).sum())
    duplicates = int((incident_status["status"] == STATUS_DUPLICATE).sum())
    precision, recall, f1 = _ratios(tp, fp, len(lab))
    delays = matches.loc[matches["tp"], "delay_min"].to_numpy(dtype=float)
    median, p90 = _median_p90(delays)
    alert_median, alert_p90 = _median_p90(
        matches.loc[matches["tp"], "alert_delay_min"].dropna().to_numpy(dtype=float))
    weeks = math.nan if product_weeks is None else float(product_weeks)
    return Evaluation(
        tp=tp,
        fp=fp,
        fn=len(lab) - tp,
        n_labels=len(lab),
        n_incidents=len(inc),
        precision=precision,
        recall=recall,
        f1=f1,
        delay_median_min=median,
        delay_p90_min=p90,
        alert_delay_median_min=alert_median,
        alert_delay_p90_min=alert_p90,
        false_alarms_per_product_week=fp / weeks if product_weeks is not None else math.nan,
        duplicates=duplicates,
        product_weeks=weeks,
        matches=matches,
        incident_status=incident_status,
        by_product=_by_product(matches, incident_status),
    )
