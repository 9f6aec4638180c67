"""Scoring of one incident table (through `spikes.evaluation.evaluate`, i.e. EVALUATION.md) and a
diagnosis of what a detector misses and what it raises falsely."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from spikes.evaluation.evaluate import Evaluation, evaluate

SNR_BANDS = [(0.0, 3.0), (3.0, 5.0), (5.0, 10.0), (10.0, math.inf)]
NEAR = pd.Timedelta("2h")


def figures(ev: Evaluation, bucket: pd.Timedelta, seconds: float) -> dict[str, Any]:
    """The table's figures of one evaluation (delays also in buckets)."""
    minutes = bucket / pd.Timedelta(minutes=1)
    return {
        "precision": ev.precision, "recall": ev.recall, "f1": ev.f1,
        "delay_median_min": ev.delay_median_min, "delay_p90_min": ev.delay_p90_min,
        "delay_median_buckets": ev.delay_median_min / minutes,
        "delay_p90_buckets": ev.delay_p90_min / minutes,
        "alert_delay_median_min": ev.alert_delay_median_min,
        "alert_delay_p90_min": ev.alert_delay_p90_min,
        "alert_delay_median_buckets": ev.alert_delay_median_min / minutes,
        "alert_delay_p90_buckets": ev.alert_delay_p90_min / minutes,
        "false_alarms_per_product_week": ev.false_alarms_per_product_week,
        "tp": ev.tp, "fp": ev.fp, "fn": ev.fn, "duplicates": ev.duplicates,
        "n_incidents": ev.n_incidents, "seconds": seconds,
    }


def score(incidents: pd.DataFrame, labels: pd.DataFrame, product_weeks: float,
          bucket: pd.Timedelta, seconds: float, **options: Any) -> tuple[dict, Evaluation]:
    """Evaluate incidents against labels and return the figures and the evaluation."""
    columns = ["product", "onset", "end", "alerted_at"] if "alerted_at" in incidents else [
        "product", "onset", "end"]
    ev = evaluate(incidents[columns], labels, product_weeks=product_weeks, **options)
    return figures(ev, bucket, seconds), ev


def _overlaps(product: str, start: pd.Timestamp, end: pd.Timestamp, table: pd.DataFrame,
              lo: str, hi: str, pad: pd.Timedelta) -> pd.DataFrame:
    own = table[table["product"] == product]
    return own[(own[lo] - pad <= end) & (own[hi] + pad >= start)]


def _miss_reason(label: Any, incidents: pd.DataFrame) -> str:
    near = _overlaps(label.product, label.onset - NEAR, label.end, incidents, "onset", "end",
                     pd.Timedelta(0))
    if near.empty:
        return "no incident"
    if (near["onset"] < label.onset - pd.Timedelta("10min")).any():
        return "incident starts >10 min early"
    return "incident onset after the label's window"


def _band(snr: float) -> str:
    for lo, hi in SNR_BANDS:
        if lo <= snr < hi:
            return f"snr {lo:g}-{hi:g}" if math.isfinite(hi) else f"snr >= {lo:g}"
    return "snr n/a"


def elevated_buckets(label: Any, counts: pd.DataFrame, expected: pd.DataFrame) -> int:
    """Buckets of a label's span whose observed count is clearly above the true baseline:
    at least twice it and 3 Poisson standard deviations above it."""
    y = counts.loc[label.onset:label.end, label.product].to_numpy(dtype=float)
    mu = expected.loc[label.onset:label.end, label.product].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return int(((y >= 2 * mu) & (y - mu >= 3 * np.sqrt(mu + 1))).sum())


def diagnose(ev: Evaluation, incidents: pd.DataFrame, distractors: pd.DataFrame,
             bucket: pd.Timedelta, counts: pd.DataFrame | None = None,
             expected: pd.DataFrame | None = None) -> dict[str, Any]:
    """Break misses down by SNR band and reason, and false alarms by what caused them.

    Parameters
    ----------
    ev : Evaluation
        Evaluation of ``incidents`` against labels with ``snr`` and ``ratio``.
    incidents : pd.DataFrame
        The incidents evaluated (``product, onset, end``).
    distractors : pd.DataFrame
        ``product, start, end, kind`` of the simulation.
    bucket : pd.Timedelta
    counts, expected : pd.DataFrame, optional
        Observed counts and true baseline: with them each missed label also gets the
        number of its buckets that are clearly elevated in the data (one = blip-like).

    Returns
    -------
    dict
        ``misses_by_band`` (labels and misses per SNR band), ``miss_reasons``,
        ``false_alarms`` (counts by kind: duplicate, blip, level_shift, near an outage,
        other), ``missed_snr3_by_elevated_buckets`` and ``missed`` (the missed labels with
        SNR >= 3, at most 15).
    """
    matches = ev.matches.copy()
    matches["band"] = matches["snr"].astype(float).map(_band)
    bands = matches.groupby("band")["tp"].agg(labels="size", detected="sum")
    bands["missed"] = bands["labels"] - bands["detected"]
    missed = matches[~matches["tp"]]
    reasons = [_miss_reason(m, incidents) for m in missed.itertuples(index=False)]
    missed = missed.assign(reason=reasons, minutes=(missed["end"] - missed["onset"]
                                                    + bucket) / pd.Timedelta(minutes=1))
    have_truth = counts is not None and expected is not None
    missed["elevated"] = ([elevated_buckets(m, counts, expected)
                           for m in missed.itertuples(index=False)] if have_truth else -1)
    kinds: dict[str, int] = {}
    status = ev.incident_status
    for row in status[status["status"] != "tp"].itertuples(index=False):
        kind = "duplicate" if row.status == "duplicate" else _fp_kind(row, incidents,
                                                                       distractors, ev, bucket)
        kinds[kind] = kinds.get(kind, 0) + 1
    hard = missed[missed["snr"] >= 3].sort_values("snr", ascending=False)
    elevated = (hard["elevated"].clip(upper=2).map({0: "0", 1: "1", 2: ">= 2"})
                .value_counts().to_dict() if have_truth else {})
    return {
        "misses_by_band": {b: {k: int(v) for k, v in r.items()} for b, r in bands.iterrows()},
        "miss_reasons": {k: int(v) for k, v in pd.Series(reasons, dtype=object)
                         .value_counts().items()},
        "false_alarms": kinds,
        "missed_snr3_by_elevated_buckets": {str(k): int(v) for k, v in elevated.items()},
        "missed": [
            {"product": m.product, "onset": m.onset.isoformat(), "snr": round(float(m.snr), 2),
             "ratio": round(float(m.ratio), 2), "minutes": float(m.minutes),
             "elevated_buckets": int(m.elevated), "reason": m.reason}
            for m in hard.head(15).itertuples(index=False)
        ],
    }


def _fp_kind(row: Any, incidents: pd.DataFrame, distractors: pd.DataFrame, ev: Evaluation,
             bucket: pd.Timedelta) -> str:
    end = row.end if "end" in incidents.columns and not pd.isna(row.end) else row.onset
    for kind, pad in (("blip", bucket), ("level_shift", pd.Timedelta(0))):
        table = distractors[distractors["kind"] == kind]
        if not _overlaps(row.product, row.onset, end, table, "start", "end", pad).empty:
            return kind
    labels = ev.matches
    if not _overlaps(row.product, row.onset, end, labels, "onset", "end", NEAR).empty:
        return "near an outage (split or mislocated)"
    return "other (noise)"


def best_of(results: list[dict[str, Any]]) -> int:
    """Position of the best result: highest F1, then fewest false alarms."""
    keys = [(r["f1"], -np.nan_to_num(r["false_alarms_per_product_week"], nan=1e9))
            for r in results]
    return int(max(range(len(keys)), key=keys.__getitem__))
