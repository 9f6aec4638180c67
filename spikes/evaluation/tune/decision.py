"""Objectives on counted outcomes and the rule that adopts tuned settings.

An objective is a number computed from summed counts (true positives, false positives,
labels, product-weeks), larger is better (:func:`utility`). The adopt rule
(:func:`decide`) compares the tuned procedure with the base settings on the validation
blocks of the forward-chaining folds, paired unit by unit (a product in a block, at most a
week long), with a bootstrap over those units:

    adopt only when the lower end of the 90 % bootstrap interval of the gain is above 0
    **and** the gain itself is at least one label's worth (``1 / validation labels`` for
    the F-scores and recall; one false alarm, ``1 / validation product-weeks``, for
    ``fa_at_recall``).

Otherwise the base settings are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OBJECTIVES = ("f1", "f2", "f0.5", "recall_at_fa", "fa_at_recall")
"""Objectives: F-beta for beta 1, 2 (recall weighs more), 0.5 (precision weighs more);
``recall_at_fa``: recall with at most ``max_false_alarms_per_week`` false alarms per
product-week; ``fa_at_recall``: fewest false alarms per product-week with recall at least
``min_recall``."""
BOOTSTRAP = 2000
"""Bootstrap resamples of the adopt rule."""
CONFIDENCE = 0.90
"""Two-sided level of the bootstrap interval; its lower end must be above 0."""
RECALL_SHORTFALL_COST = 10.0
"""``fa_at_recall``: false alarms per product-week that one unit of recall below the
minimum costs (0.1 short = one false alarm per product-week more)."""
MIN_LIMIT = 0.05
"""``recall_at_fa``: the excess over the limit is measured in units of at least this many
false alarms per product-week (so that a limit of 0 still has a scale)."""


@dataclass(frozen=True)
class Goal:
    """An objective with its limits.

    Attributes
    ----------
    objective : str
        One of :data:`OBJECTIVES`.
    max_false_alarms_per_week : float or None
        Limit of false alarms per product-week (a constraint of every objective when
        given; required by ``recall_at_fa``).
    min_recall : float or None
        Minimum recall (required by ``fa_at_recall``).
    """

    objective: str = "f1"
    max_false_alarms_per_week: float | None = None
    min_recall: float | None = None

    def margin(self, n_labels: float, weeks: float) -> float:
        """One label's worth of this objective (one false alarm for ``fa_at_recall``)."""
        if self.objective == "fa_at_recall":
            return 1.0 / max(weeks, 1e-9)
        return 1.0 / max(n_labels, 1.0)

    def describe(self) -> str:
        """The objective in words, with every limit given (each is a hard limit of the
        choice, :func:`is_feasible`, whatever the objective)."""
        text = {"f1": "best F1", "f2": "best F2", "f0.5": "best F0.5",
                "recall_at_fa": "best recall", "fa_at_recall": "fewest false alarms"
                }[self.objective]
        limits = []
        if self.max_false_alarms_per_week is not None:
            limits.append(f"at most {self.max_false_alarms_per_week:g} FA/pw")
        if self.min_recall is not None:
            limits.append(f"recall >= {self.min_recall:g}")
        return " with ".join([text, " and ".join(limits)]) if limits else text


def figures(tp: np.ndarray, fp: np.ndarray, n: np.ndarray, weeks: np.ndarray
            ) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and false alarms per product-week from summed counts
    (arrays of the same shape; 0 where undefined, NaN false-alarm rate without weeks)."""
    tp, fp, n, weeks = (np.asarray(x, dtype=float) for x in (tp, fp, n, weeks))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1e-12), 0.0)
        recall = np.where(n > 0, tp / np.maximum(n, 1e-12), 0.0)
        f1 = np.where(precision + recall > 0,
                      2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
        rate = np.where(weeks > 0, fp / np.maximum(weeks, 1e-12), np.nan)
    return {"precision": precision, "recall": recall, "f1": f1, "fa": rate}


def utility(goal: Goal, tp: np.ndarray, fp: np.ndarray, n: np.ndarray, weeks: np.ndarray
            ) -> np.ndarray:
    """The objective's value (larger is better) from summed counts.

    Constraints are soft, so that the value can be compared and bootstrapped: over the
    false-alarm limit, the value drops by the excess in units of the limit (at least
    :data:`MIN_LIMIT`); below the minimum recall, by :data:`RECALL_SHORTFALL_COST` false
    alarms per product-week per unit of recall.

    Parameters
    ----------
    goal : Goal
    tp, fp, n, weeks : array-like
        Summed true positives, false positives, labels and product-weeks.

    Returns
    -------
    np.ndarray
    """
    f = figures(tp, fp, n, weeks)
    rate = np.nan_to_num(f["fa"], nan=0.0)
    if goal.objective == "fa_at_recall":
        short = np.maximum(0.0, float(goal.min_recall or 0.0) - f["recall"])
        return -rate - RECALL_SHORTFALL_COST * short
    if goal.objective == "recall_at_fa":
        value = f["recall"]
    else:
        beta = {"f1": 1.0, "f2": 2.0, "f0.5": 0.5}[goal.objective]
        p, r, b2 = f["precision"], f["recall"], beta * beta
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(p + r > 0, (1 + b2) * p * r / np.maximum(b2 * p + r, 1e-12), 0.0)
    if goal.max_false_alarms_per_week is not None:
        limit = float(goal.max_false_alarms_per_week)
        value = value - np.maximum(0.0, rate - limit) / max(limit, MIN_LIMIT)
    return value


def is_feasible(goal: Goal, tp: float, fp: float, n: float, weeks: float) -> bool:
    """Whether summed counts meet the goal's hard limits (false alarms, recall)."""
    f = figures(tp, fp, n, weeks)
    ok = True
    if goal.max_false_alarms_per_week is not None and weeks > 0:
        ok &= bool(f["fa"] <= goal.max_false_alarms_per_week + 1e-12)
    if goal.min_recall is not None:
        ok &= bool(f["recall"] >= goal.min_recall - 1e-12)
    return bool(ok)


@dataclass(frozen=True)
class Decision:
    """The outcome of the adopt rule.

    Attributes
    ----------
    adopted : bool
        Whether the tuned settings were adopted.
    base, tuned : float
        The objective of the base settings and of the tuned procedure on the pooled
        validation blocks.
    gain : float
        ``tuned - base``.
    low, high : float
        The 90 % paired bootstrap interval of the gain.
    margin : float
        One label's worth (the gain must reach it).
    n_labels : int
        Labels in the validation blocks.
    reason : str
        One line: what was decided and why, with the numbers.
    """

    adopted: bool
    base: float
    tuned: float
    gain: float
    low: float
    high: float
    margin: float
    n_labels: int
    reason: str


def decide(goal: Goal, base: tuple[np.ndarray, np.ndarray], tuned: tuple[np.ndarray, np.ndarray],
           n: np.ndarray, weeks: np.ndarray, *, seed: int = 0, same: bool = False,
           forced: bool = False) -> Decision:
    """The adopt rule: paired bootstrap over units of the gain of `tuned` over `base`.

    Parameters
    ----------
    goal : Goal
    base, tuned : (np.ndarray, np.ndarray)
        True and false positives per validation unit of the base settings and of the
        tuned procedure (each fold's own choice on its validation block).
    n, weeks : np.ndarray
        Labels and product-weeks per validation unit.
    seed : int
        Seed of the bootstrap.
    same : bool
        The final tuned settings are the base settings (nothing to adopt).
    forced : bool
        ``--force``: the tuned settings are written whatever the rule says.

    Returns
    -------
    Decision
    """
    name = goal.objective
    b_tp, b_fp = base
    t_tp, t_fp = tuned
    value_b = float(utility(goal, b_tp.sum(), b_fp.sum(), n.sum(), weeks.sum()))
    value_t = float(utility(goal, t_tp.sum(), t_fp.sum(), n.sum(), weeks.sum()))
    gain = value_t - value_b
    units = len(n)
    if units:
        rng = np.random.default_rng(seed)
        w = rng.multinomial(units, np.full(units, 1.0 / units), size=BOOTSTRAP).astype(float)
        diff = (utility(goal, w @ t_tp, w @ t_fp, w @ n, w @ weeks)
                - utility(goal, w @ b_tp, w @ b_fp, w @ n, w @ weeks))
        tail = (1 - CONFIDENCE) / 2 * 100
        low, high = (float(x) for x in np.percentile(diff, [tail, 100 - tail]))
    else:
        low = high = 0.0
    margin = goal.margin(float(n.sum()), float(weeks.sum()))
    worth = "one false alarm's worth" if name == "fa_at_recall" else "one label's worth"
    shown = (f"validation {_value_name(goal)} {value_t:.3f} tuned vs {value_b:.3f} base, "
             f"gain {gain:+.3f} (90% interval {low:+.3f} to {high:+.3f}; {worth} "
             f"{margin:.3f}; {int(n.sum())} validation labels")
    if _penalised(goal):  # a score is no recall nor rate: the figures behind it
        shown += "; " + "; ".join(
            f"{who} " + _figures_text(tp.sum(), fp.sum(), n.sum(), weeks.sum())
            for who, tp, fp in (("tuned", t_tp, t_fp), ("base", b_tp, b_fp)))
    shown += ")"
    clear = low > 0 and gain >= margin - 1e-12
    if same:
        adopted, reason = False, ("kept the base settings, no other setting beat them on all "
                                  f"data by {worth}: {shown}")
    elif clear:
        adopted, reason = True, f"adopted the tuned settings: {shown}"
    elif forced:
        adopted, reason = True, f"wrote the tuned settings (--force), not shown to help: {shown}"
    else:
        why = "the interval reaches 0" if low <= 0 else f"the gain is under {worth}"
        adopted, reason = False, f"kept the base settings, {why}: {shown}"
    return Decision(adopted=adopted, base=value_b, tuned=value_t, gain=gain, low=low,
                    high=high, margin=margin, n_labels=int(n.sum()), reason=reason)


def _penalised(goal: Goal) -> bool:
    """Whether the objective's value is a score with penalties (not a plain F-score)."""
    return goal.objective in ("recall_at_fa", "fa_at_recall") or (
        goal.max_false_alarms_per_week is not None)


def _value_name(goal: Goal) -> str:
    """What :func:`utility` gives for `goal`, in words for the decision line."""
    if goal.objective == "recall_at_fa":
        return (f"recall_at_fa score (recall, less the false alarms per product-week "
                f"over {goal.max_false_alarms_per_week:g} in units of that limit)")
    if goal.objective == "fa_at_recall":
        return (f"fa_at_recall score (minus the false alarms per product-week, less "
                f"{RECALL_SHORTFALL_COST:g} per unit of recall under {goal.min_recall:g})")
    if goal.max_false_alarms_per_week is not None:
        return (f"{goal.objective} score ({goal.objective}, less the false alarms per "
                f"product-week over {goal.max_false_alarms_per_week:g} in units of that "
                "limit)")
    return goal.objective


def _figures_text(tp: float, fp: float, n: float, weeks: float) -> str:
    """Recall, precision and false alarms per product-week of summed counts."""
    f = figures(tp, fp, n, weeks)
    rate = f"{float(f['fa']):.3f} FA/pw" if weeks > 0 else "FA/pw unknown"
    return f"recall {float(f['recall']):.3f}, precision {float(f['precision']):.3f}, {rate}"
