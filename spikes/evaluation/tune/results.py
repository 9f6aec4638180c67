"""Trials and what the search found.

Each trial is one row of figures (:func:`trial_row`): on all blocks (``all_*``) and on the
validation blocks pooled (``val_*``, the same settings on every block);
:func:`pareto_front` keeps the trials no other beats on recall, false alarms and delay;
:func:`fold_table` gives the per-fold figures of the base and the tuned settings;
:class:`TuningResult` holds them all with the decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.errors import SpikesInputError
from spikes.evaluation.tune.decision import OBJECTIVES, Decision, Goal, figures, utility
from spikes.evaluation.tune.evaluator import SliceScores
from spikes.evaluation.tune.space import apply_params, distance, params_of
from spikes.evaluation.tune.split import Folds

if TYPE_CHECKING:
    from spikes.evaluation.evaluate import Evaluation
    from spikes.evaluation.tune.tallies import Tally, TrialSet

__all__ = ["FIGURES", "OBJECTIVES", "TuningResult", "fold_table", "pareto_front", "trial_row"]

FIGURES = ("tp", "fp", "n_labels", "precision", "recall", "f1",
           "false_alarms_per_product_week")
"""Figures of a trial on a set of blocks (``all_*`` and ``val_*`` columns)."""
FOLD_COLUMNS = ("fold", "settings", "slice", "from", "to", "precision", "recall", "F1",
                "FA/pw", "delay median (min)", "alert delay median (min)",
                "alert delay p90 (min)", "TP", "FP", "labels")


@dataclass(frozen=True)
class TuningResult:
    """What :func:`~spikes.evaluation.tune.search.tune` found and decided.

    Attributes
    ----------
    trials : pd.DataFrame
        One row per trial: ``trial``, ``phase`` (``"base"``, ``"grid"``,
        ``"coordinate"``), the settings of :data:`SEARCH_SPACE`, ``all_*`` and ``val_*``
        figures (:data:`FIGURES`), ``all_delay_median_min``,
        ``all_alert_delay_median_min``, ``objective`` (on all blocks), ``feasible`` and
        ``distance`` (from the base settings).
    pareto : pd.DataFrame
        Trials not dominated on all blocks in recall (up), false positives (down) and
        alert delay (down); ``chosen`` marks the trial the procedure chose.
    config : DetectionConfig
        The settings to use: `best_config` when adopted, else `base`.
    base : DetectionConfig
        The settings to beat (defaults or ``--config``).
    best_config : DetectionConfig
        The settings the procedure chose on all blocks (adopted or not).
    defaults, tuned : SliceScores
        ``train``: `base` / `best_config` on all blocks (in-sample); ``validation``:
        `base` / each fold's choice on the validation blocks pooled.
    chosen : int
        Trial of `best_config` (per-product overrides aside).
    folds : Folds
        The forward-chaining folds.
    objective : str
        One of :data:`OBJECTIVES`.
    max_false_alarms_per_week, min_recall : float or None
        The limits of the objective.
    budget, seed : int
        Trials at most; bootstrap seed.
    interrupted : bool
        Stopped by Ctrl-C (the procedure used the trials run so far).
    elapsed : float
        Seconds spent.
    groups : dict of str to list of str
        Products with their own thresholds (overrides), each a group of its own.
    notes : tuple of str
        Things the user should know.
    decision : Decision or None
        The adopt rule's outcome (:class:`~spikes.evaluation.tune.decision.Decision`).
    fold_scores : pd.DataFrame
        Per fold, for ``base`` and ``tuned`` (that fold's choice), on ``train`` and
        ``validation``: precision, recall, F1, FA/pw, delays, TP, FP, labels.
    tuned_settings : tuple of str
        The settings the labels allowed to tune.
    """

    trials: pd.DataFrame
    pareto: pd.DataFrame
    config: DetectionConfig
    base: DetectionConfig
    defaults: SliceScores
    tuned: SliceScores
    chosen: int
    folds: Folds
    objective: str
    max_false_alarms_per_week: float | None
    budget: int
    seed: int
    min_recall: float | None = None
    interrupted: bool = False
    elapsed: float = 0.0
    groups: dict[str, list[str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    decision: Decision | None = None
    best_config: DetectionConfig | None = None
    fold_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    tuned_settings: tuple[str, ...] = ()

    @property
    def adopted(self) -> bool:
        """Whether the tuned settings were adopted (``config`` is not the base)."""
        return bool(self.decision is not None and self.decision.adopted)

    def config_of(self, trial: int) -> DetectionConfig:
        """The configuration of one trial (the chosen one includes its overrides).

        Parameters
        ----------
        trial : int
            A value of ``trials["trial"]``.

        Returns
        -------
        DetectionConfig
        """
        if trial == self.chosen and self.best_config is not None:
            return self.best_config
        row = self.trials.loc[self.trials["trial"] == trial]
        if row.empty:
            raise SpikesInputError(f"tune: no trial {trial}")
        return apply_params(self.base, params_of(row.iloc[0]))


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def trial_row(trial: int, phase: str, params: dict[str, Any], tally: Tally, ts: TrialSet,
              goal: Goal, base: dict[str, Any]) -> dict[str, Any]:
    """One row of ``TuningResult.trials``.

    Parameters
    ----------
    trial : int
        Trial number.
    phase : str
        ``"base"``, ``"grid"`` or ``"coordinate"``.
    params : dict of str to object
        The trial's settings.
    tally : Tally
        Its outcome per unit.
    ts : TrialSet
        The units.
    goal : Goal
        The objective.
    base : dict of str to object
        The base settings (for ``distance``).

    Returns
    -------
    dict of str to object
    """
    from spikes.evaluation.tune.decision import is_feasible

    row: dict[str, Any] = {"trial": trial, "phase": phase, **params}
    for prefix, mask in (("all_", ts.mask(range(ts.folds.n_folds + 1))),
                         ("val_", ts.mask(range(1, ts.folds.n_folds + 1)))):
        tp, fp = float(tally.tp[mask].sum()), float(tally.fp[mask].sum())
        n, weeks = float(ts.n_labels[mask].sum()), float(ts.weeks[mask].sum())
        f = figures(tp, fp, n, weeks)
        row.update({prefix + "tp": int(tp), prefix + "fp": int(fp), prefix + "n_labels": int(n),
                    prefix + "precision": float(f["precision"]),
                    prefix + "recall": float(f["recall"]), prefix + "f1": float(f["f1"]),
                    prefix + "false_alarms_per_product_week": float(f["fa"])})
        if prefix == "all_":
            row["objective"] = float(utility(goal, tp, fp, n, weeks))
            row["feasible"] = is_feasible(goal, tp, fp, n, weeks)
    row["all_delay_median_min"] = _nan(tally.delay_median_min)
    row["all_alert_delay_median_min"] = _nan(tally.alert_delay_median_min)
    row["distance"] = distance(params, base)
    return row


def _delay(row: dict[str, Any]) -> float:
    for name in ("all_alert_delay_median_min", "all_delay_median_min"):
        value = row.get(name)
        if value is not None and not math.isnan(value):
            return float(value)
    return math.inf


def pareto_front(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials not dominated on all blocks in recall (up), false positives (down) and
    median alert delay (down; the onset delay in retrospective mode).

    Precision is not a separate axis: with the same labels and product-weeks it follows
    from recall and false positives. Trials with the same outcome appear once (the one
    nearest the base settings). Feasible trials only, when there are any.

    Parameters
    ----------
    trials : pd.DataFrame
        ``TuningResult.trials``.

    Returns
    -------
    pd.DataFrame
        The front, sorted by false alarms then recall, with a fresh index.
    """
    if trials.empty:
        return trials.copy()
    pool = trials[trials["feasible"].astype(bool)]
    if pool.empty:
        pool = trials
    ordered = sorted(pool.to_dict("records"), key=lambda r: (r["distance"], r["trial"]))
    unique: dict[tuple, dict[str, Any]] = {}
    for row in ordered:
        unique.setdefault((row["all_tp"], row["all_fp"], round(_delay(row), 6)), row)
    rows = list(unique.values())
    points = np.array([[r["all_recall"], -r["all_fp"], -_delay(r)] for r in rows])
    keep = [rows[i] for i, p in enumerate(points)
            if not np.any(np.all(points >= p, axis=1) & np.any(points > p, axis=1))]
    front = pd.DataFrame(keep, columns=trials.columns)
    return front.sort_values(["all_false_alarms_per_product_week", "all_recall"]
                             ).reset_index(drop=True)


def _fold_row(fold: int | str, settings: str, part: str, span: tuple, ev: Evaluation
              ) -> dict[str, Any]:
    return dict(zip(FOLD_COLUMNS, (
        str(fold), settings, part, span[0], span[1], round(ev.precision, 3), round(ev.recall, 3),
        round(ev.f1, 3), round(ev.false_alarms_per_product_week, 3), ev.delay_median_min,
        ev.alert_delay_median_min, ev.alert_delay_p90_min, ev.tp, ev.fp, ev.n_labels),
        strict=True))


def fold_table(ts: TrialSet, base: DetectionConfig, fold_configs: list[DetectionConfig],
               best: DetectionConfig, choices: list[Any]
               ) -> tuple[pd.DataFrame, SliceScores, SliceScores]:
    """Per-fold figures of the base settings and of each fold's choice, and the pooled
    figures (:class:`SliceScores`) of ``TuningResult.defaults`` and ``.tuned``.

    Parameters
    ----------
    ts : TrialSet
        Units and cached incidents.
    base : DetectionConfig
        The base settings.
    fold_configs : list of DetectionConfig
        Each fold's choice.
    best : DetectionConfig
        The choice on all blocks.
    choices : list
        Each fold's :class:`~spikes.evaluation.tune.search.Choice` (unused but for the
        trial number shown).

    Returns
    -------
    pd.DataFrame, SliceScores, SliceScores
    """
    folds = ts.folds
    base_inc = ts.incidents(base)
    rows = []
    tuned_val = []
    for k, config in enumerate(fold_configs):
        inc = ts.incidents(config)
        for name, incidents in (("base", base_inc), (f"tuned (trial {choices[k].trial})", inc)):
            for part, span in (("train", folds.train_span(k)),
                               ("validation", folds.validation_span(k))):
                rows.append(_fold_row(k + 1, name, part, span, ts.evaluation(incidents, *span)))
        tuned_val.append(ts.counted(inc, *folds.validation_span(k)))
    pooled = (folds.edges[1], folds.end)
    defaults = SliceScores(train=ts.evaluation(base_inc, folds.start, folds.end),
                           validation=ts.evaluation(base_inc, *pooled))
    # An incident that finds labels of two folds' validation blocks (overlapping labels
    # across their edge) is selected by both: it is one incident of the pooled blocks.
    selected = pd.concat(tuned_val, ignore_index=True).drop_duplicates(
        ["product", "onset", "alerted_at"], ignore_index=True)
    tuned = SliceScores(train=ts.evaluation(ts.incidents(best), folds.start, folds.end),
                        validation=ts.evaluation(selected, *pooled, selected=True))
    for name, scores in (("base", defaults), ("tuned", tuned)):
        rows.append(_fold_row("all", name, "validation", pooled, scores.validation))
    return pd.DataFrame(rows, columns=list(FOLD_COLUMNS)), defaults, tuned
