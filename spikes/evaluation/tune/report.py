"""What a search found, for people: text tables and the tuned TOML.

:func:`format_summary` and :func:`format_pareto` are what ``spikes tune`` prints;
:func:`tuned_toml` writes the chosen configuration with the :func:`tuning_header` comment
block (what it was tuned on and the scores reached).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from spikes.config import DetectionConfig
from spikes.evaluation.tune.results import TuningResult


def _f(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.{digits}f}"


def format_decision(result: TuningResult) -> str:
    """The decision in one line (adopted or kept, why, the numbers).

    Parameters
    ----------
    result : TuningResult

    Returns
    -------
    str
    """
    if result.decision is None:
        return "no decision"
    return result.decision.reason


def format_folds(result: TuningResult) -> str:
    """Per-fold figures of the base and the tuned settings, on train and validation.

    Parameters
    ----------
    result : TuningResult

    Returns
    -------
    str
    """
    lines = [f"{'fold':<5}{'settings':<19}{'slice':<11}{'P':>6}{'R':>6}{'F1':>7}"
             f"{'FA/pw':>7}{'alert min':>10}{'p90':>6}{'TP':>5}{'FP':>5}{'labels':>7}"]
    for r in result.fold_scores.to_dict("records"):
        lines.append(
            f"{r['fold']!s:<5}{r['settings']:<19}{r['slice']:<11}{_f(r['precision'], 2):>6}"
            f"{_f(r['recall'], 2):>6}{_f(r['F1']):>7}{_f(r['FA/pw'], 3):>7}"
            f"{_f(r['alert delay median (min)'], 0):>10}{_f(r['alert delay p90 (min)'], 0):>6}"
            f"{r['TP']:>5}{r['FP']:>5}{r['labels']:>7}")
    return "\n".join(lines)


def format_summary(result: TuningResult) -> str:
    """The decision, then the base against the tuned settings: per fold, and pooled.

    Parameters
    ----------
    result : TuningResult

    Returns
    -------
    str
    """
    lines = [format_decision(result), "", format_folds(result), "",
             f"{'':<20}{'precision':>10}{'recall':>8}{'F1':>7}{'alert':>7}{'FA/pw':>8}"
             f"{'TP':>5}{'FP':>5}{'labels':>8}"]
    # The settings to beat: the defaults, or a base of the caller's (tune --config).
    beaten = "defaults" if result.base == DetectionConfig() else "base"
    for name, scores in ((beaten, result.defaults), ("tuned", result.tuned)):
        for part, ev in (("all", scores.train), ("validation", scores.validation)):
            lines.append(
                f"{name + ' ' + part:<20}{_f(ev.precision):>10}{_f(ev.recall):>8}"
                f"{_f(ev.f1):>7}{_f(ev.alert_delay_median_min, 0):>7}"
                f"{_f(ev.false_alarms_per_product_week):>8}{ev.tp:>5}{ev.fp:>5}"
                f"{ev.n_labels:>8}")
    lines.append("(all = every block, in-sample; validation = the folds' validation blocks, "
                 "tuned = each fold's own choice)")
    return "\n".join(lines)


def format_pareto(result: TuningResult, max_rows: int = 25) -> str:
    """The trade-off (Pareto front on all blocks), the chosen row marked with ``*``.

    Parameters
    ----------
    result : TuningResult
    max_rows : int
        Longer fronts are thinned evenly (the chosen row is always shown).

    Returns
    -------
    str
    """
    front = result.pareto
    if len(front) > max_rows:
        picks = set(np.linspace(0, len(front) - 1, max_rows - 1).round().astype(int))
        picks |= set(np.flatnonzero(front["chosen"].to_numpy()))
        front = front.iloc[sorted(picks)]
    head = (f"  {'trial':>5} {'fa/wk':>6} {'ratio':>5} {'bkts':>4} {'excess':>6} "
            f"{'last':>6} {'gap':>6} {'cusum':>5} | {'P':>5} {'R':>5} {'F1':>5} {'alert':>5} "
            f"{'FA/pw':>6} | {'vP':>5} {'vR':>5} {'vF1':>5} {'vFA/pw':>6}")
    lines = ["Trade-off (Pareto front; figures on all blocks | on the validation blocks; "
             "* = chosen)", head]
    for r in front.to_dict("records"):
        lines.append(
            f"{'*' if r['chosen'] else ' '} {r['trial']:>5} {r['false_alarms_per_week']:>6.3g} "
            f"{r['min_ratio']:>5.3g} {r['min_buckets']:>4} {r['min_excess_reports']:>6.1f} "
            f"{r['min_duration']:>6} {r['merge_gap']:>6} {r['cusum_ratio']:>5.3g} | "
            f"{_f(r['all_precision'], 2):>5} {_f(r['all_recall'], 2):>5} "
            f"{_f(r['all_f1'], 2):>5} {_f(r['all_alert_delay_median_min'], 0):>5} "
            f"{_f(r['all_false_alarms_per_product_week'], 3):>6} | "
            f"{_f(r['val_precision'], 2):>5} {_f(r['val_recall'], 2):>5} "
            f"{_f(r['val_f1'], 2):>5} {_f(r['val_false_alarms_per_product_week'], 3):>6}")
    if len(result.pareto) > len(front):
        lines.append(f"  ({len(result.pareto) - len(front)} more rows not shown)")
    return "\n".join(lines)


def tuning_header(result: TuningResult, sources: Sequence[str] = (),
                  labels_source: str = "") -> str:
    """The comment block of a tuned TOML: what it was tuned on and the scores reached.

    Parameters
    ----------
    result : TuningResult
    sources : sequence of str
        Names of the report files.
    labels_source : str
        Name of the labels file.

    Returns
    -------
    str
        Lines without the leading ``#`` (:meth:`DetectionConfig.to_toml` adds it).
    """
    from spikes.evaluation.tune.decision import Goal

    goal = Goal(result.objective, result.max_false_alarms_per_week, result.min_recall)
    d = result.defaults
    lines = [
        "Tuned by `spikes tune` against labelled outages.",
        f"data: {', '.join(Path(s).name for s in sources) or '(in memory)'}",
        f"labels: {Path(labels_source).name if labels_source else '(in memory)'} "
        f"({d.train.n_labels} in the data span, {d.validation.n_labels} in validation blocks)",
        f"folds: {result.folds.describe()}",
        f"objective: {result.objective} ({goal.describe()}); tuned "
        f"{', '.join(result.tuned_settings)}; {len(result.trials)} trials (budget "
        f"{result.budget}), seed {result.seed}"
        + ("; INTERRUPTED" if result.interrupted else ""),
        f"decision: {format_decision(result)}",
        "these settings: " + ("the tuned ones" if result.adopted else "the base settings "
                              "(defaults or --config), the tuned ones were not adopted"),
    ]
    if result.groups:
        lines.append("per-product thresholds for: " + ", ".join(result.groups))
    lines.append("per fold (precision / recall / F1 / FA per product-week / median alert "
                 "delay min; 'tuned' is each fold's own choice, trained on the blocks "
                 "before its validation block: out-of-sample figures; these settings, "
                 "chosen on all blocks, score higher on them in-sample):")
    for r in result.fold_scores.to_dict("records"):
        lines.append(
            f"  fold {r['fold']!s:<3} {r['settings']:<18} {r['slice']:<10} "
            f"{_f(r['precision'])} / {_f(r['recall'])} / {_f(r['F1'])} / {_f(r['FA/pw'])} / "
            f"{_f(r['alert delay median (min)'], 1)}")
    lines.extend(f"note: {n}" for n in result.notes)
    return "\n".join(lines)


def tuned_toml(result: TuningResult, sources: Sequence[str] = (),
               labels_source: str = "", config: DetectionConfig | None = None) -> str:
    """The chosen configuration as TOML with the :func:`tuning_header` comment block.

    Parameters
    ----------
    result : TuningResult
    sources : sequence of str
        Names of the report files.
    labels_source : str
        Name of the labels file.
    config : DetectionConfig, optional
        Another operating point to write (e.g. ``result.config_of(trial)``) instead of
        the chosen one.

    Returns
    -------
    str
        Text that :func:`spikes.config.load_config` reads back.
    """
    header = tuning_header(result, sources, labels_source)
    if config is not None and config != result.config:
        header += "\n(operating point picked by hand, not the decision above)"
    return (config or result.config).to_toml(header=header)
