"""Why each labelled outage that no incident matched was missed.

:func:`explain_misses` matches incidents to labels by the rules of EVALUATION.md (as
:func:`spikes.evaluation.evaluate.evaluate` does) and explains every missed label with
:func:`spikes.detect.explain.explain_window` over its matching window: whether a detector
alarmed at all, whether the product's calibration raised its thresholds above the
configured ones, or which test of an incident the stretches there failed.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from spikes.detect.explain import Replay, explain_window, outside_data, replay, require_live
from spikes.detect.pipeline import Analysis
from spikes.errors import SpikesInputError
from spikes.evaluation.evaluate import EARLY_ALLOWANCE, MIN_WINDOW, evaluate, validate_labels
from spikes.evaluation.tables import labels_on_grid
from spikes.io.zones import when
from spikes.model import bucket_text

MISS_COLUMNS = ["product", "onset", "end", "cause", "reason"]
"""Columns of :func:`explain_misses`."""


def explain_misses(analysis: Analysis, labels: pd.DataFrame,
                   display_tz: str | None = None) -> pd.DataFrame:
    """The labels no incident of `analysis` matches, each with why it was missed.

    Parameters
    ----------
    analysis : Analysis
        A live (causal) analysis of the data the labels are about.
    labels : pd.DataFrame
        ``product, onset, end`` (as :func:`spikes.evaluation.evaluate.read_labels` gives).
        An onset inside a bucket of the data (14:20 at hourly buckets) counts from the
        bucket's start, as in ``spikes explain`` (a label's onset is the first bucket of
        the rise; :func:`spikes.evaluation.tables.labels_on_grid`).
    display_tz : str, optional
        A zone to give the reasons' times in as well, for people (``--display-tz``):
        a column ``shown`` is added, the reason with its times there, each with its
        zone's abbreviation.

    Returns
    -------
    pd.DataFrame
        Columns :data:`MISS_COLUMNS` (and ``shown``), one row per missed label in the
        labels' order:
        ``cause`` is a key of :data:`spikes.detect.explain.CAUSES` but ``raised``;
        ``"onset outside the window"`` where an incident covers the label but began
        before its matching window (or after: too late to match); ``"not in the data"``
        for a label of a product or time the data do not hold. ``reason`` says it in
        words, with the figures (peak scores against thresholds, the stretches judged),
        its times in UTC.

    Raises
    ------
    SpikesInputError
        For a retrospective analysis or invalid labels.
    """
    require_live(analysis)
    labels, _ = labels_on_grid(validate_labels(labels), analysis.data.bucket)
    matches = evaluate(analysis.incidents, labels).matches
    rows = []
    replays: dict[str, Replay | str] = {}  # each product's walk, or why there is none
    for label in matches[~matches["tp"]].itertuples(index=False):
        if label.product not in replays:
            try:
                replays[label.product] = replay(analysis, label.product)
            except SpikesInputError as exc:
                replays[label.product] = str(exc)
        walked = replays[label.product]
        start = label.onset - EARLY_ALLOWANCE
        end = max(label.end, label.onset + MIN_WINDOW)
        cause, reason = _miss_reason(analysis, label.product, start, end, walked)
        rows.append([label.product, label.onset, label.end, cause, reason("UTC"),
                     *([] if display_tz is None else [reason(display_tz)])])
    return pd.DataFrame(rows, columns=MISS_COLUMNS + ([] if display_tz is None
                                                      else ["shown"]))


def _miss_reason(analysis: Analysis, product: str, start: pd.Timestamp, end: pd.Timestamp,
                 walked: Replay | str) -> tuple[str, Callable[[str], str]]:
    """The cause of a missed label whose matching window is ``[start, end]``, and its
    reason as a function of the zone its times are given in; `walked` is the product's
    replay, or why there is none."""
    index, bucket = analysis.data.counts.index, analysis.data.bucket
    if isinstance(walked, str):
        return "not in the data", lambda tz: walked
    if outside_data(start, end, index, bucket) is not None:  # a time the data do not hold
        return "not in the data", lambda tz: "explain: " + str(
            outside_data(start, end, index, bucket, tz))
    try:
        found = explain_window(analysis, product, start, end, replayed=walked)
    except SpikesInputError as exc:  # anything else the data cannot say of the window
        message = str(exc)
        return "not in the data", lambda tz: message
    cause = "onset outside the window" if found.cause == "raised" else found.cause

    def reason(tz: str) -> str:
        detail = found.summary(tz).split("\n", 1)[1].strip()
        if found.cause == "raised":  # an incident over the window, its onset outside it
            detail = (f"{detail}: its onset lies outside the label's matching window "
                      f"[onset - {bucket_text(EARLY_ALLOWANCE)}, max(end, onset + "
                      f"{bucket_text(MIN_WINDOW)})]")
        return (_cut_note(analysis, product, start, end, tz)
                + "; ".join(line.strip() for line in detail.splitlines()))

    return cause, reason


def _cut_note(analysis: Analysis, product: str, start: pd.Timestamp, end: pd.Timestamp,
              tz: str = "UTC") -> str:
    """What of a label's matching window ``[start, end)`` the product's data do not hold
    (they begin after its start, or end before its end), as a sentence, its times in the
    zone `tz`; "" when they hold all of it."""
    series = analysis.data.counts[product].dropna()
    if series.empty:
        return ""
    bucket = analysis.data.bucket
    first, last = series.index[0], series.index[-1] + bucket
    parts = []
    if first > start:
        parts.append(f"the data begin at {when(first, tz)}, "
                     f"{bucket_text(first - start)} after the window's start")
    if last < end:
        parts.append(f"the data end at {when(last, tz)}, "
                     f"{bucket_text(end - last)} before the window's end")
    if not parts:
        return ""
    held = max(min(end, last) - max(start, first), pd.Timedelta(0))
    return (f"{'; '.join(parts)} (the data hold {bucket_text(held)} of its "
            f"{bucket_text(end - start)}): ")
