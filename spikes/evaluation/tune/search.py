"""The search: :func:`tune` and its parts.

The base settings first (trial 0), then seeded random search over
:data:`~spikes.evaluation.tune.space.SEARCH_SPACE`, then a short coordinate refinement
around the best trial (:func:`_refine`); optionally per-product overrides for groups of
products of outlying volume or with many labels (:func:`_tune_groups`). The package
docstring of :mod:`spikes.evaluation.tune` describes the whole procedure.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from spikes.config import DetectionConfig
from spikes.errors import SpikesInputError
from spikes.evaluation.tune.evaluator import Evaluator, label_notes
from spikes.evaluation.tune.results import (
    OBJECTIVES,
    TuningResult,
    feasible,
    objective_value,
    pareto_front,
    rank,
    trial_row,
)
from spikes.evaluation.tune.space import (
    SEARCH_SPACE,
    apply_params,
    base_params,
    params_of,
    trial_key,
)
from spikes.evaluation.tune.split import time_split

if TYPE_CHECKING:  # the pipeline (scipy) is imported on use: `spikes --help` stays quick
    from spikes.detect.pipeline import Scored
    from spikes.model import ReportData

DEFAULT_BUDGET = 60
RANDOM_SHARE = 0.7
"""Share of the budget (after the base trial) spent on random search; the rest refines."""
REFINE_MIN_SCALE = 1 / 8
VOLUME_FACTOR = 10.0
"""Per-product overrides: a product is of outlying volume when its mean reports per bucket
are more than this factor below or above the median product's."""
OWN_GROUP_MIN_LABELS = 8
"""Per-product overrides: a product with this many training labels is tuned on its own."""
GROUP_MIN_LABELS = 3
"""Per-product overrides: a group with fewer training labels is left at the global values."""
RATIO_STEPS = (0.8, 1.0, 1.25, 1.6)
EXCESS_STEPS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def gain_is_noise(best: dict[str, Any], base: dict[str, Any]) -> bool:
    """Whether a trial beats the (feasible) base settings on train by less than one
    label's worth of the objective (``1 / train labels``): too little to trust on held-out
    data, so the base settings are kept (a guard against overfitting the search)."""
    if not base["feasible"] or not best["feasible"]:
        return False
    margin = 1.0 / max(int(base.get("train_n_labels", 0) or 0), 1)
    return float(best["objective"]) - float(base["objective"]) < margin


def tune(
    data: ReportData | Scored,
    labels: pd.DataFrame,
    *,
    base: DetectionConfig | None = None,
    objective: str = "f1",
    max_false_alarms_per_week: float | None = None,
    budget: int = DEFAULT_BUDGET,
    seed: int = 0,
    split: float = 0.5,
    per_product: bool = False,
    progress: bool = False,
    callback: Callable[[int, int], None] | None = None,
) -> TuningResult:
    """Search detection settings that fit labelled outages, validated on later data.

    Parameters
    ----------
    data : ReportData or Scored
        The reports, or already-scored reports (e.g. the dashboard's, whose scores are
        then reused for their ``cusum_ratio``).
    labels : pd.DataFrame
        True outages ``product, onset, end`` (validated as by
        :func:`spikes.evaluation.evaluate.validate_labels`).
    base : DetectionConfig, optional
        Starting settings (trial 0), whose other fields and overrides the result keeps;
        the defaults when None (with a `Scored`, its configuration).
    objective : {"f1", "f2", "f0.5", "recall_at_fa"}
        What is maximised on the training slice.
    max_false_alarms_per_week : float, optional
        Settings whose training false alarms per product-week exceed this are infeasible.
        Required by ``"recall_at_fa"``.
    budget : int
        Trials at most, the base trial included (>= 1).
    seed : int
        Seed of the random search.
    split : float
        Share of the time span used for training (the earlier part), in (0, 1).
    per_product : bool
        Also tune per-product overrides of ``min_ratio`` and ``min_excess_reports`` for
        products of outlying volume or with many labels (see the notes of
        :mod:`spikes.evaluation.tune`).
    progress : bool
        Show a progress bar with the time left (tqdm; only on a terminal).
    callback : callable, optional
        Called as ``callback(done, budget)`` after each trial (e.g. a dashboard's bar).

    Returns
    -------
    TuningResult

    Raises
    ------
    SpikesInputError
        Bad settings, labels that cannot be read, or no label in the training slice.

    Notes
    -----
    Ctrl-C (KeyboardInterrupt) during the search stops it and returns the best trial so
    far with ``interrupted=True`` (an interrupt during the base trial propagates).

    Examples
    --------
    >>> from spikes.evaluation.simulate import simulate  # doctest: +SKIP
    >>> result = tune(data, sim.labels, budget=30, seed=1)  # doctest: +SKIP
    >>> result.tuned.validation.f1 >= result.defaults.validation.f1  # doctest: +SKIP
    True
    """
    from spikes.detect.pipeline import Scored, score_reports
    from spikes.evaluation.evaluate import validate_labels

    started = time.perf_counter()
    if objective not in OBJECTIVES:
        raise SpikesInputError(f"objective: {objective!r} is not one of {', '.join(OBJECTIVES)}")
    if max_false_alarms_per_week is not None and not (
            max_false_alarms_per_week >= 0 and math.isfinite(max_false_alarms_per_week)):
        raise SpikesInputError("max_false_alarms_per_week must be a number >= 0, got "
                               f"{max_false_alarms_per_week!r}")
    if objective == "recall_at_fa" and max_false_alarms_per_week is None:
        raise SpikesInputError("objective recall_at_fa needs a limit: give "
                               "--max-false-alarms-per-week")
    if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 1:
        raise SpikesInputError(f"budget: {budget!r} must be a whole number of trials >= 1")
    if isinstance(data, Scored):
        scored = data
        base = base or scored.config
    else:
        base = base or DetectionConfig()
        scored = None
    labels = validate_labels(labels)
    source_data = scored.data if scored is not None else data
    the_split = time_split(source_data.counts.index, source_data.bucket, split)
    notes = label_notes(labels, source_data, the_split)
    if scored is None:
        scored = score_reports(source_data, base)
    ev = Evaluator(scored, labels, the_split)
    if ev.labels_train.empty:
        raise SpikesInputError(
            f"tune: no labelled outage starts in the training slice ({the_split.describe()}); "
            "give labels for the earlier part of the data or a larger --split")

    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    seen: dict[tuple, dict[str, Any]] = {}
    bar = tqdm(total=budget, desc="tuning", unit="trial", disable=not progress or None,
               leave=False)
    interrupted = False

    def run(params: dict[str, Any], phase: str) -> dict[str, Any]:
        key = trial_key(params)
        if key in seen:
            return seen[key]
        row = trial_row(len(rows), phase, params, ev.evaluate(apply_params(base, params)),
                        objective, max_false_alarms_per_week)
        rows.append(row)
        seen[key] = row
        bar.update(1)
        best = max(rows, key=rank)
        bar.set_postfix_str(f"best {objective} {best['objective']:.3f}", refresh=False)
        if callback is not None:
            callback(len(rows), budget)
        return row

    try:
        run(base_params(base), "base")
    except KeyboardInterrupt:
        bar.close()
        raise
    try:
        n_random = min(budget - 1, max(0, round((budget - 1) * RANDOM_SHARE)))
        misses = 0
        while len(rows) < 1 + n_random and misses < 20 * budget:
            params = {p.name: p.sample(rng) for p in SEARCH_SPACE}
            if trial_key(params) in seen:
                misses += 1
                continue
            run(params, "random")
        _refine(run, rows, budget)
    except KeyboardInterrupt:
        interrupted = True
        notes = notes + (f"interrupted after {len(rows)} of {budget} trials: the best "
                         "settings found so far are kept",)
    finally:
        bar.close()

    trials = pd.DataFrame(rows)
    best = max(rows, key=rank)
    if best is not rows[0] and gain_is_noise(best, rows[0]):
        notes = notes + (
            f"the best trial beat the base settings on train by "
            f"{float(best['objective']) - float(rows[0]['objective']):.3f}, less than one "
            "label's worth: kept the base settings, a gain that small is noise",)
        best = rows[0]
    if not best["feasible"]:
        notes = notes + (
            f"no trial keeps training false alarms within {max_false_alarms_per_week} per "
            "product-week; chose the best trial regardless",)
    config = apply_params(base, params_of(pd.Series(best)))
    groups: dict[str, list[str]] = {}
    if per_product and not interrupted:
        config, groups = _tune_groups(ev, config, objective, max_false_alarms_per_week)
    defaults = ev.evaluate(base)
    tuned = ev.evaluate(config)
    pareto = pareto_front(trials)
    pareto["chosen"] = pareto["trial"] == best["trial"]
    return TuningResult(
        trials=trials, pareto=pareto, config=config, base=base, defaults=defaults,
        tuned=tuned, chosen=int(best["trial"]), split=the_split, objective=objective,
        max_false_alarms_per_week=max_false_alarms_per_week, budget=int(budget),
        seed=int(seed), interrupted=interrupted, elapsed=time.perf_counter() - started,
        groups=groups, notes=notes,
    )


def _refine(run: Callable[[dict[str, Any], str], dict[str, Any]],
            rows: list[dict[str, Any]], budget: int) -> None:
    """Coordinate steps around the best trial until the budget is spent or steps vanish."""
    scale = 1.0
    while len(rows) < budget and scale >= REFINE_MIN_SCALE:
        improved = False
        for param in SEARCH_SPACE:
            for direction in (1, -1):
                if len(rows) >= budget:
                    return
                best = max(rows, key=rank)
                params = params_of(pd.Series(best))
                params[param.name] = param.step(params[param.name], direction, scale)
                row = run(params, "refine")
                if row is not best and rank(row) > rank(best):
                    improved = True
                    break
        if not improved:
            scale /= 2


def _volume_groups(ev: Evaluator) -> dict[str, list[str]]:
    counts = ev.data.counts
    volume = counts.mean(axis=0, skipna=True)
    median = float(volume.median())
    train_labels = ev.labels_train["product"].value_counts()
    groups: dict[str, list[str]] = {}
    for product, v in volume.items():
        name = str(product)
        if int(train_labels.get(name, 0)) >= OWN_GROUP_MIN_LABELS:
            groups[name] = [name]
        elif median > 0 and v * VOLUME_FACTOR < median:
            groups.setdefault("low volume", []).append(name)
        elif median > 0 and v > VOLUME_FACTOR * median:
            groups.setdefault("high volume", []).append(name)
    return {g: ps for g, ps in groups.items()
            if int(train_labels.reindex(ps).fillna(0).sum()) >= GROUP_MIN_LABELS}


def _tune_groups(ev: Evaluator, config: DetectionConfig, objective: str,
                 limit: float | None) -> tuple[DetectionConfig, dict[str, list[str]]]:
    """Per-group overrides of min_ratio and min_excess_reports, on a grid around the
    chosen values; kept when they raise the group's and the overall training objective."""
    whole = ev.evaluate(config).train
    base_rank = (feasible(whole, limit), objective_value(whole, objective))
    overrides = {p: dict(v) for p, v in config.overrides.items()}
    kept: dict[str, list[str]] = {}
    ratio_range = next(p for p in SEARCH_SPACE if p.name == "min_ratio")
    for group, products in _volume_groups(ev).items():
        start = ev.evaluate(config, products).train
        best_value = (feasible(start, limit), objective_value(start, objective))
        best_values: dict[str, float] | None = None
        excess0 = max(config.min_excess_reports, 1.0)
        for r in RATIO_STEPS:
            for e in EXCESS_STEPS:
                values = {"min_ratio": float(f"{max(config.min_ratio * r, 1.0):.3g}"),
                          "min_excess_reports": round(excess0 * e, 1)}
                if values["min_ratio"] > ratio_range.high * 1.5:
                    continue
                trial = dataclasses.replace(
                    config, overrides={**overrides, **{p: {**overrides.get(p, {}), **values}
                                                       for p in products}})
                got = ev.evaluate(trial, products).train
                value = (feasible(got, limit), objective_value(got, objective))
                if value > best_value:
                    best_value, best_values = value, values
        if best_values is None:
            continue
        candidate = {**overrides, **{p: {**overrides.get(p, {}), **best_values}
                                     for p in products}}
        trial = dataclasses.replace(config, overrides=candidate)
        got = ev.evaluate(trial).train
        if (feasible(got, limit), objective_value(got, objective)) > base_rank:
            overrides, config = candidate, trial
            base_rank = (feasible(got, limit), objective_value(got, objective))
            kept[group] = list(products)
    return config, kept
