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


def format_summary(result: TuningResult) -> str:
    """Defaults against tuned settings, on train and validation, as a small text table.

    Parameters
    ----------
    result : TuningResult

    Returns
    -------
    str
    """
    lines = [f"{'':<20}{'precision':>10}{'recall':>8}{'F1':>7}{'delay':>8}{'FA/pw':>8}"
             f"{'TP':>5}{'FP':>5}{'labels':>8}"]
    for name, scores in (("defaults", result.defaults), ("tuned", result.tuned)):
        for part, ev in (("train", scores.train), ("validation", scores.validation)):
            lines.append(
                f"{name + ' ' + part:<20}{_f(ev.precision):>10}{_f(ev.recall):>8}"
                f"{_f(ev.f1):>7}{_f(ev.delay_median_min, 1):>8}"
                f"{_f(ev.false_alarms_per_product_week):>8}{ev.tp:>5}{ev.fp:>5}"
                f"{ev.n_labels:>8}")
    return "\n".join(lines)


def format_pareto(result: TuningResult, max_rows: int = 25) -> str:
    """The Pareto front as a text table, the chosen row marked with ``*``.

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
            f"{'gap':>6} {'cusum':>5} | {'P':>5} {'R':>5} {'F1':>5} {'delay':>5} "
            f"{'FA/pw':>6} | {'vP':>5} {'vR':>5} {'vF1':>5} {'vdel':>5} {'vFA/pw':>6}")
    lines = ["Pareto front (train figures | validation figures; * = chosen)", head]
    for r in front.to_dict("records"):
        lines.append(
            f"{'*' if r['chosen'] else ' '} {r['trial']:>5} {r['false_alarms_per_week']:>6.3g} "
            f"{r['min_ratio']:>5.3g} {r['min_buckets']:>4} {r['min_excess_reports']:>6.1f} "
            f"{r['merge_gap']:>6} {r['cusum_ratio']:>5.3g} | "
            f"{_f(r['train_precision'], 2):>5} {_f(r['train_recall'], 2):>5} "
            f"{_f(r['train_f1'], 2):>5} {_f(r['train_delay_median_min'], 0):>5} "
            f"{_f(r['train_false_alarms_per_product_week'], 3):>6} | "
            f"{_f(r['val_precision'], 2):>5} {_f(r['val_recall'], 2):>5} "
            f"{_f(r['val_f1'], 2):>5} {_f(r['val_delay_median_min'], 0):>5} "
            f"{_f(r['val_false_alarms_per_product_week'], 3):>6}")
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
    limit = result.max_false_alarms_per_week
    d, t = result.defaults, result.tuned
    lines = [
        "Tuned by `spikes tune` against labelled outages.",
        f"data: {', '.join(Path(s).name for s in sources) or '(in memory)'}",
        f"labels: {Path(labels_source).name if labels_source else '(in memory)'} "
        f"({d.train.n_labels} train, {d.validation.n_labels} validation)",
        f"slices: {result.split.describe()}",
        f"objective: {result.objective} on train"
        + (f", at most {limit:g} false alarms per product-week" if limit is not None else "")
        + f"; budget {result.budget} trials ({len(result.trials)} run), seed {result.seed}"
        + ("; INTERRUPTED, best so far" if result.interrupted else ""),
    ]
    if result.groups:
        lines.append("per-product overrides for: " + "; ".join(
            f"{g} ({len(ps)} products)" for g, ps in result.groups.items()))
    lines.append("scores (precision / recall / F1 / median delay min / false alarms per "
                 "product-week):")
    for name, scores in (("defaults", d), ("tuned", t)):
        for part, ev in (("train", scores.train), ("validation", scores.validation)):
            lines.append(
                f"  {name:<8} {part:<10} {_f(ev.precision)} / {_f(ev.recall)} / "
                f"{_f(ev.f1)} / {_f(ev.delay_median_min, 1)} / "
                f"{_f(ev.false_alarms_per_product_week)}")
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
        header += "\n(operating point picked by hand, not the chosen trial)"
    return (config or result.config).to_toml(header=header)
