"""Trials and what the search found.

Each trial is one row of figures (:func:`trial_row`) ranked by :func:`rank`;
:func:`pareto_front` keeps the trials no other beats on every axis; :class:`TuningResult`
holds them all with the chosen settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.errors import SpikesInputError
from spikes.evaluation.tune.evaluator import SliceScores
from spikes.evaluation.tune.space import apply_params, params_of
from spikes.evaluation.tune.split import TimeSplit

if TYPE_CHECKING:
    from spikes.evaluation.evaluate import Evaluation

OBJECTIVES = ("f1", "f2", "f0.5", "recall_at_fa")
"""Objectives: F-beta for beta 1, 2 (recall weighs more), 0.5 (precision weighs more), and
recall among the settings within ``max_false_alarms_per_week`` (which it requires)."""
FIGURES = ("tp", "fp", "n_labels", "precision", "recall", "f1", "delay_median_min",
           "false_alarms_per_product_week")


@dataclass(frozen=True)
class TuningResult:
    """What :func:`tune` found.

    Attributes
    ----------
    trials : pd.DataFrame
        One row per trial: ``trial``, ``phase`` (``"base"``, ``"random"``, ``"refine"``),
        the settings of :data:`SEARCH_SPACE`, ``train_*`` and ``val_*`` figures
        (:data:`FIGURES`), ``objective`` (on train) and ``feasible``.
    pareto : pd.DataFrame
        The feasible trials not dominated on train in (recall up, false alarms per
        product-week down, median delay down), one per distinct outcome, sorted by false
        alarms; ``chosen`` marks the chosen one.
    config : DetectionConfig
        The chosen settings (the base with the chosen trial's values and, with
        ``per_product``, the overrides found).
    base : DetectionConfig
        The settings the search started from (trial 0).
    defaults, tuned : SliceScores
        Figures of `base` and of `config` on train and validation.
    chosen : int
        Trial number of the chosen settings.
    split : TimeSplit
        The time slices.
    objective : str
        One of :data:`OBJECTIVES`.
    max_false_alarms_per_week : float or None
        The feasibility limit on train.
    budget, seed : int
        Search budget (trials) and seed.
    interrupted : bool
        The search was stopped by Ctrl-C; the result is the best found so far.
    elapsed : float
        Seconds spent.
    groups : dict of str to list of str
        Per-product groups that received overrides, by group name.
    notes : tuple of str
        Things the user should know (no feasible trial, labels outside the data...).
    """

    trials: pd.DataFrame
    pareto: pd.DataFrame
    config: DetectionConfig
    base: DetectionConfig
    defaults: SliceScores
    tuned: SliceScores
    chosen: int
    split: TimeSplit
    objective: str
    max_false_alarms_per_week: float | None
    budget: int
    seed: int
    interrupted: bool = False
    elapsed: float = 0.0
    groups: dict[str, list[str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

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
        if trial == self.chosen:
            return self.config
        row = self.trials.loc[self.trials["trial"] == trial]
        if row.empty:
            raise SpikesInputError(f"tune: no trial {trial}")
        return apply_params(self.base, params_of(row.iloc[0]))


def _fbeta(ev: Evaluation, beta: float) -> float:
    p, r = ev.precision, ev.recall
    b2 = beta * beta
    return 0.0 if p + r == 0 else (1 + b2) * p * r / (b2 * p + r)


def objective_value(ev: Evaluation, objective: str) -> float:
    """The value of an objective of :data:`OBJECTIVES` (larger is better).

    Parameters
    ----------
    ev : Evaluation
        Figures on one slice.
    objective : str
        One of :data:`OBJECTIVES`.

    Returns
    -------
    float
    """
    if objective == "recall_at_fa":
        return ev.recall
    return _fbeta(ev, {"f1": 1.0, "f2": 2.0, "f0.5": 0.5}[objective])


def feasible(ev: Evaluation, limit: float | None) -> bool:
    """Whether the false alarms per product-week are within `limit` (always, without one).

    Parameters
    ----------
    ev : Evaluation
        Figures on one slice.
    limit : float or None
        Most false alarms per product-week.

    Returns
    -------
    bool
    """
    if limit is None:
        return True
    rate = ev.false_alarms_per_product_week
    return bool(math.isnan(rate) or rate <= limit + 1e-12)


def trial_row(trial: int, phase: str, params: dict[str, Any], scores: SliceScores,
              objective: str, limit: float | None) -> dict[str, Any]:
    """One row of ``TuningResult.trials``.

    Parameters
    ----------
    trial : int
        Trial number.
    phase : str
        ``"base"``, ``"random"`` or ``"refine"``.
    params : dict of str to object
        The trial's settings.
    scores : SliceScores
        Its figures.
    objective : str
        One of :data:`OBJECTIVES`.
    limit : float or None
        Feasibility limit of false alarms per product-week on train.

    Returns
    -------
    dict of str to object
        ``trial``, ``phase``, the settings, ``train_*`` and ``val_*`` figures
        (:data:`FIGURES`), ``objective`` and ``feasible``.
    """
    row: dict[str, Any] = {"trial": trial, "phase": phase, **params}
    for prefix, ev in (("train_", scores.train), ("val_", scores.validation)):
        for name in FIGURES:
            row[prefix + name] = getattr(ev, name)
    row["objective"] = objective_value(scores.train, objective)
    row["feasible"] = feasible(scores.train, limit)
    return row


def rank(row: dict[str, Any]) -> tuple:
    """Sort key of a trial, larger is better: feasible, objective, F1, smaller delay,
    earlier trial.

    Parameters
    ----------
    row : dict of str to object
        A trial's row (:func:`trial_row`).

    Returns
    -------
    tuple
    """
    delay = row["train_delay_median_min"]
    delay = math.inf if delay is None or math.isnan(delay) else delay
    return (bool(row["feasible"]), round(float(row["objective"]), 12),
            round(float(row["train_f1"]), 12), -delay, -int(row["trial"]))


def pareto_front(trials: pd.DataFrame) -> pd.DataFrame:
    """The feasible trials not dominated on train in recall (up), false alarms per
    product-week (down) and median delay (down).

    Precision is not a separate axis: with the same labels and product-weeks it follows
    from recall and false alarms. Trials with the same outcome (TP, FP, delay) appear once
    (the best-ranked of them).

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
    ranked = sorted(pool.to_dict("records"), key=rank, reverse=True)
    unique: dict[tuple, dict[str, Any]] = {}
    for row in ranked:
        delay = row["train_delay_median_min"]
        key = (row["train_tp"], row["train_fp"],
               None if delay is None or math.isnan(delay) else round(delay, 6))
        unique.setdefault(key, row)
    rows = list(unique.values())
    points = np.array([[r["train_recall"], -r["train_fp"],
                        -(math.inf if math.isnan(r["train_delay_median_min"])
                          else r["train_delay_median_min"])] for r in rows])
    keep = []
    for i, p in enumerate(points):
        dominated = np.any(np.all(points >= p, axis=1) & np.any(points > p, axis=1))
        if not dominated:
            keep.append(rows[i])
    front = pd.DataFrame(keep, columns=trials.columns)
    return front.sort_values(["train_false_alarms_per_product_week", "train_recall"]
                             ).reset_index(drop=True)
