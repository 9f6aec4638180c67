"""The Cloud Monitoring case of ``bench_tune.py``: tune on the first half of each series,
apply to the second.

The series (read in place by :mod:`cloud_bench`, never copied; labels and ignored runs by
EVALUATION.md, "Cloud Monitoring series") have their own spans and buckets (one hour or
one minute). One search per bucket size, as one user with one monitoring system would
run it: the series of that size on one grid, each cut at its own middle (its second half
is left out, as missing data), with the labels whose onset lies in a series' first half.
A search that finds no label to tune on keeps the defaults (``spikes tune`` stops with an
error there). The settings each search writes (or its best trial, for ``--force``) are
applied by a live run over each whole series; the incidents and labels with an onset in
the series' second half are scored, pooled over the labelled series as ``cloud_bench.py``
pools them (incidents inside an ignored run removed); the unlabelled series' false alarms
per product-week are reported beside.

In the search itself, the runs ``cloud_bench.py`` ignores cannot be told apart: an incident
there counts as a false alarm while tuning (not in the scoring).
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.pipeline import find_incidents, score_reports
from spikes.errors import SpikesInputError
from spikes.evaluation.evaluate import evaluate
from spikes.evaluation.tune import tune
from spikes.model import ReportData, product_weeks

CLOUD = "Cloud Monitoring (17 real series, each split at its middle)"


def written(config: DetectionConfig) -> str:
    """The settings of `config` that differ from the defaults, as text (for the report)."""
    default = DetectionConfig().to_dict()["detection"]
    changed = {k: v for k, v in config.to_dict()["detection"].items() if default.get(k) != v}
    if not changed and not config.overrides:
        return ""
    shown = ", ".join(f"{k} = {v!r}" for k, v in changed.items())
    if config.overrides:
        shown += f" (and overrides for {len(config.overrides)} products)"
    return f"; written: {shown}"


def _middle(index: pd.DatetimeIndex, bucket: pd.Timedelta) -> pd.Timestamp:
    """The first instant of a series' second half, on its grid."""
    start, end = index[0], index[-1] + bucket
    return start + ((end - start) / bucket // 2) * bucket


def _group(data: Any, stems: list[str], bucket: pd.Timedelta
           ) -> tuple[ReportData, dict[str, pd.Timestamp]]:
    """The first halves of `stems` on one grid, and each series' middle."""
    columns, mids = {}, {}
    for stem in stems:
        values = data.series[stem].values
        mids[stem] = _middle(values.index, bucket)
        columns[stem] = values[values.index < mids[stem]]
    counts = pd.concat(columns, axis=1).sort_index()
    grid = pd.date_range(counts.index[0], counts.index[-1], freq=bucket, name="timestamp")
    return ReportData(counts=counts.reindex(grid).astype(float), bucket=bucket), mids


def _second_halves(data: Any, stems: list[str], mids: dict[str, pd.Timestamp],
                   config: DetectionConfig
                   ) -> tuple[pd.DataFrame, pd.DataFrame, float, int, float]:
    """Incidents and labels of the second halves of the labelled `stems` (live run over
    each whole series with `config`) and their product-weeks; the unlabelled series'
    incidents (false alarms) and product-weeks there."""
    from cloud_bench import drop_ignored

    incidents, labels, weeks, un_fp, un_weeks = [], [], 0.0, 0, 0.0
    for stem in stems:
        series = data.series[stem]
        counts = data.counts[stem]
        found = find_incidents(score_reports(ReportData(counts=counts, bucket=series.bucket),
                                             config), config)
        found = drop_ignored(found, data.ignored)
        found = found[found["onset"] >= mids[stem]]
        span = product_weeks(counts, series.bucket, mids[stem])
        if stem in data.labelled:
            lab = data.labels[(data.labels["product"] == stem)
                              & (data.labels["onset"] >= mids[stem])]
            incidents.append(found[["product", "onset", "alerted_at"]])
            labels.append(lab[["product", "onset", "end"]])
            weeks += span
        else:
            un_fp += len(found)
            un_weeks += span
    return (pd.concat(incidents, ignore_index=True), pd.concat(labels, ignore_index=True),
            weeks, un_fp, un_weeks)


def cloud_halves(budget: int) -> dict[str, Any] | None:
    """Defaults against tuned-then-applied on the second halves; None without the data.

    Parameters
    ----------
    budget : int
        Trials of each search.

    Returns
    -------
    dict or None
        The keyword arguments of ``bench_tune._row`` but ``name`` and ``same``.
    """
    from cloud_bench import prepare, read_all

    loaded = read_all()
    if loaded is None:
        return None
    data = prepare(loaded)
    by_bucket: dict[pd.Timedelta, list[str]] = {}
    for stem, series in data.series.items():
        by_bucket.setdefault(series.bucket, []).append(stem)
    configs: dict[str, list[DetectionConfig]] = {"defaults": [], "tuned": [], "forced": []}
    reasons, adopted, seconds, n_first, n_second = [], False, 0.0, 0, 0
    groups = []
    for bucket, stems in sorted(by_bucket.items()):
        first, mids = _group(data, stems, bucket)
        in_first = pd.Series([o < mids[p] if p in mids else False for p, o in
                              zip(data.labels["product"], data.labels["onset"], strict=True)],
                             index=data.labels.index, dtype=bool)
        mine = data.labels["product"].isin(stems)
        train = data.labels[mine & in_first]
        n_first += len(train)
        n_second += int((mine & ~in_first).sum())
        what = f"{len(stems)} series of {bucket / pd.Timedelta(minutes=1):g}-minute buckets"
        t0 = time.perf_counter()
        try:
            result = tune(first, train.reset_index(drop=True), budget=budget, seed=0)
        except SpikesInputError as exc:
            tuned = forced = DetectionConfig()
            reasons.append(f"{what}: defaults kept, not tuned ({exc})")
        else:
            tuned, forced = result.config, result.best_config
            adopted |= result.adopted
            reasons.append(f"{what}: {result.decision.reason}{written(result.config)}")
        seconds += time.perf_counter() - t0
        groups.append((stems, mids))
        configs["defaults"].append(DetectionConfig())
        configs["tuned"].append(tuned)
        configs["forced"].append(forced)
    f1, fa = {}, {}
    for key, per_group in configs.items():
        parts = [_second_halves(data, stems, mids, config)
                 for (stems, mids), config in zip(groups, per_group, strict=True)]
        incidents = pd.concat([p[0] for p in parts], ignore_index=True)
        labels = pd.concat([p[1] for p in parts], ignore_index=True)
        weeks = sum(p[2] for p in parts)
        f1[key] = evaluate(incidents, labels, product_weeks=weeks or None).f1
        un_weeks = sum(p[4] for p in parts)
        fa[key] = sum(p[3] for p in parts) / un_weeks if un_weeks else float("nan")
    reasons.append("unlabelled series, false alarms per product-week on the second halves: "
                   f"defaults {fa['defaults']:.2f}, tuned {fa['tuned']:.2f}")
    return {"n_first": n_first, "n_second": n_second, "defaults": f1["defaults"],
            "tuned": f1["tuned"], "forced": f1["forced"], "adopted": adopted,
            "seconds": seconds, "reason": "; ".join(reasons)}
