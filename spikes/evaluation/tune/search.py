"""The search: :func:`tune` and the tuning procedure it validates.

The package docstring of :mod:`spikes.evaluation.tune` describes the whole procedure; in
short: one grid over the threshold settings on cached scores, a coordinate search over
the other settings that the number of labels allows, shrinkage toward the base settings,
the procedure run once per forward-chaining fold (on its training blocks only) and once on
all blocks, and the adopt rule of :mod:`~spikes.evaluation.tune.decision` on the folds'
validation blocks.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from spikes.config import DetectionConfig
from spikes.errors import SpikesInputError
from spikes.evaluation.tune.decision import OBJECTIVES, Goal, decide, utility
from spikes.evaluation.tune.evaluator import label_notes
from spikes.evaluation.tune.results import TuningResult, fold_table, pareto_front, trial_row
from spikes.evaluation.tune.space import (
    FA_GRID,
    MIN_LABELS_PER_SETTING,
    RATIO_GRID,
    SEARCH_SPACE,
    SHRINK,
    THRESHOLD_SETTINGS,
    apply_params,
    base_params,
    distance,
    trial_key,
    tuned_settings,
    typed,
)
from spikes.evaluation.tune.split import DEFAULT_FOLDS, forward_folds
from spikes.evaluation.tune.tallies import Tally, TrialSet

if TYPE_CHECKING:  # the pipeline (scipy) is imported on use: `spikes --help` stays quick
    from spikes.detect.pipeline import Scored
    from spikes.model import ReportData

DEFAULT_BUDGET = 300
"""Trials at most (the threshold grid alone is 56). The search on all the data runs first
and the folds' searches share what is left: at 200, the folds of a 28-day tuning with
70 labels ran out (``benchmarks/bench_tune.py``, "only outages over an hour labelled":
the last fold stopped at a grid point, its validation fell to the base's, and the
base was kept although the search on all the data had found ``min_duration = 60min``);
at 300 every fold completes its search there."""
ROUNDS = 2
"""Rounds of the coordinate search over the tuned settings."""
PRODUCT_MIN_LABELS = 2 * MIN_LABELS_PER_SETTING
"""Per-product overrides: a product needs this many labels of its own (in the blocks a
procedure trains on) to get its own ``false_alarms_per_week`` and ``min_ratio``."""
# Names of the former search, kept so that old imports work.
GROUP_MIN_LABELS = OWN_GROUP_MIN_LABELS = PRODUCT_MIN_LABELS


@dataclass
class Choice:
    """What the procedure chose on some blocks: a trial for all products, and a trial
    for each product with enough labels of its own."""

    trial: int
    products: dict[str, int] = field(default_factory=dict)

    def trial_for(self, product: str) -> int:
        """The trial whose settings `product` runs with."""
        return self.products.get(product, self.trial)


def gain_is_noise(best: dict[str, Any], base: dict[str, Any]) -> bool:
    """Whether a trial beats the base settings on train by less than one label's worth
    of the objective (``1 / train labels``): too little to trust, so the base is kept."""
    if not base.get("feasible", True) or not best.get("feasible", True):
        return False
    margin = 1.0 / max(int(base.get("train_n_labels", 0) or 0), 1)
    return float(best["objective"]) - float(base["objective"]) < margin


class _Search:
    """The trials of one search (each run once) and the tuning procedure over them."""

    def __init__(self, ts: TrialSet, base: DetectionConfig, goal: Goal, budget: int,
                 bar: Any, callback: Callable[[int, int], None] | None) -> None:
        self.ts, self.base, self.goal, self.budget = ts, base, goal, budget
        self.base_params = base_params(base)
        self.params: list[dict[str, Any]] = []
        self.phases: list[str] = []
        self.tallies: list[Tally] = []
        self.seen: dict[tuple, int] = {}
        self.stopped = False
        self._bar, self._callback = bar, callback

    # --- trials -------------------------------------------------------------------------
    def run(self, params: dict[str, Any], phase: str) -> int | None:
        """Index of the trial with `params` (run now if new; None when out of budget)."""
        params = {k: typed(k, v) for k, v in params.items()}
        key = trial_key(params)
        if key in self.seen:
            return self.seen[key]
        if self.stopped or len(self.params) >= self.budget:
            return None
        tally = self.ts.tally(apply_params(self.base, params))
        self.seen[key] = len(self.params)
        self.params.append(params)
        self.phases.append(phase)
        self.tallies.append(tally)
        self._bar.update(1)
        if self._callback is not None:
            self._callback(len(self.params), self.budget)
        return self.seen[key]

    def grid(self, around: dict[str, Any], phase: str) -> list[int]:
        """The threshold grid with the other settings of `around`, nearest to the base
        first (so that a small budget searches near the base)."""
        points = [{**around, "false_alarms_per_week": fa, "min_ratio": r}
                  for fa, r in itertools.product(FA_GRID, RATIO_GRID)]
        points.sort(key=lambda p: distance(p, self.base_params))
        return [i for i in (self.run(p, phase) for p in points) if i is not None]

    # --- figures on some units ------------------------------------------------------------
    def _sums(self, i: int, mask: np.ndarray) -> tuple[float, float]:
        t = self.tallies[i]
        return float(t.tp[mask].sum()), float(t.fp[mask].sum())

    def value(self, i: int, mask: np.ndarray) -> float:
        """The objective of trial `i` on the units of `mask`."""
        tp, fp = self._sums(i, mask)
        return float(utility(self.goal, tp, fp, self.ts.n_labels[mask].sum(),
                             self.ts.weeks[mask].sum()))

    def _score(self, i: int, mask: np.ndarray, anchor: dict[str, Any]) -> tuple:
        shrunk = self.value(i, mask) - SHRINK * distance(self.params[i], anchor)
        return (round(shrunk, 12), -i)

    # --- the procedure --------------------------------------------------------------------
    def choose(self, blocks: range, names: tuple[str, ...], per_product: bool) -> Choice:
        """The tuning procedure on `blocks`: grid, coordinate search over `names`,
        shrinkage, the base kept within one label's worth; then per-product thresholds
        where labels allow."""
        mask = self.ts.mask(blocks)
        trial = self._choose_trial(mask, 0, names)
        choice = Choice(trial)
        if not per_product:
            return choice
        for product in sorted(set(self.ts.unit_product)):
            if set(self.base.overrides.get(str(product), {})) & set(THRESHOLD_SETTINGS):
                # Its own thresholds hold in every trial (the base's override): no trial
                # measured it with others, so none is chosen for it.
                continue
            own = self.ts.mask(blocks, [product])
            if self.ts.n_labels[own].sum() < PRODUCT_MIN_LABELS:
                continue
            best = self._choose_trial(own, trial, THRESHOLD_SETTINGS)
            if best != trial:
                choice.products[product] = best
        return choice

    def _choose_trial(self, mask: np.ndarray, start: int, names: tuple[str, ...]) -> int:
        anchor = self.params[start]
        others = {k: v for k, v in anchor.items() if k not in THRESHOLD_SETTINGS}
        pool = [start] + [i for i in self.grid(anchor, "grid")
                          if all(self.params[i][k] == v for k, v in others.items())]
        extra = [p for p in SEARCH_SPACE if p.name in names]
        starts = dict.fromkeys([max(pool, key=lambda i: self._score(i, mask, anchor)), start])
        ends = [self._coordinate(i, mask, anchor, extra) for i in starts]
        best = max(ends, key=lambda i: self._score(i, mask, anchor))
        margin = self.goal.margin(self.ts.n_labels[mask].sum(), self.ts.weeks[mask].sum())
        if self.value(best, mask) - self.value(start, mask) < margin - 1e-12:
            return start
        return best

    def _coordinate(self, best: int, mask: np.ndarray, anchor: dict[str, Any],
                    extra: list[Any]) -> int:
        """Coordinate search from trial `best`: each setting over its grid in turn."""
        for _ in range(ROUNDS):
            before = best
            for param in extra:
                tried = [self.run({**self.params[best], param.name: v}, "coordinate")
                         for v in param.grid]
                pool = [best] + [i for i in tried if i is not None]
                best = max(pool, key=lambda i: self._score(i, mask, anchor))
            if best == before:
                break
        return best

    def outcome(self, choice: Choice, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """True and false positives per unit of `mask` under `choice`."""
        products = self.ts.unit_product[mask]
        rows = np.array([choice.trial_for(p) for p in products], dtype=int)
        units = np.flatnonzero(mask)
        tp = np.array([self.tallies[r].tp[u] for r, u in zip(rows, units, strict=True)])
        fp = np.array([self.tallies[r].fp[u] for r, u in zip(rows, units, strict=True)])
        return tp.astype(float), fp.astype(float)

    def config(self, choice: Choice) -> DetectionConfig:
        """The configuration of a choice (per-product thresholds as overrides)."""
        config = apply_params(self.base, self.params[choice.trial])
        if not choice.products:
            return config
        overrides = {p: dict(v) for p, v in config.overrides.items()}
        for product, i in choice.products.items():
            own = {k: self.params[i][k] for k in THRESHOLD_SETTINGS}
            overrides[product] = {**overrides.get(product, {}), **own}
        return dataclasses.replace(config, overrides=overrides)


def _check(objective: str, limit: float | None, min_recall: float | None, budget: Any,
           folds: Any) -> None:
    if objective not in OBJECTIVES:
        raise SpikesInputError(f"objective: {objective!r} is not one of {', '.join(OBJECTIVES)}")
    if limit is not None and not (limit >= 0 and math.isfinite(limit)):
        raise SpikesInputError(f"max_false_alarms_per_week must be a number >= 0, got {limit!r}")
    if min_recall is not None and not 0 <= min_recall <= 1:
        raise SpikesInputError(f"min_recall must be a fraction in [0, 1], got {min_recall!r}")
    if objective == "recall_at_fa" and limit is None:
        raise SpikesInputError("objective recall_at_fa needs a limit: give "
                               "--max-false-alarms-per-week")
    if objective == "fa_at_recall" and min_recall is None:
        raise SpikesInputError("objective fa_at_recall needs a minimum: give --min-recall")
    if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 1:
        raise SpikesInputError(f"budget: {budget!r} must be a whole number of trials >= 1")


def _allowance(value: pd.Timedelta | str | None) -> pd.Timedelta | None:
    """`value` as a duration >= 0 (None stays None: the scorer's default)."""
    if value is None:
        return None
    try:
        delta = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise SpikesInputError(f"early_allowance: {value!r} is not a duration "
                               "(expected e.g. '0min', '10min')") from None
    if pd.isna(delta) or delta < pd.Timedelta(0):
        raise SpikesInputError(f"early_allowance: {value!r} must be a duration >= 0")
    return delta


#: Blocks of the forward-chaining folds shorter than this get a note: a block of hours
#: holds one part of the day (and few outages), so a fold trained on mornings is
#: validated on an evening.
SHORTEST_BLOCK = pd.Timedelta(days=1)


def _per_product_note(ts: TrialSet, k: int, final: Choice) -> str:
    """What ``per_product`` did: which products had labels enough for thresholds of
    their own, and which got them."""
    counted = {str(p): int(ts.n_labels[ts.mask(range(k + 1), [p])].sum())
               for p in sorted(set(ts.unit_product))}
    able = [p for p, n in counted.items() if n >= PRODUCT_MIN_LABELS]
    if not able:
        top = max(counted.values(), default=0)
        return (f"per product: no product has {PRODUCT_MIN_LABELS} labels of its own (at "
                f"most {top}): every product keeps the shared settings")
    own = sorted(str(p) for p in final.products)
    got = (f"{', '.join(map(repr, own))} got thresholds of their own" if own else
           "none got thresholds of its own (none beat the shared ones by a label's worth)")
    return (f"per product: {len(able)} product(s) with {PRODUCT_MIN_LABELS} labels or more; "
            f"{got}")


def tune(
    data: ReportData | Scored,
    labels: pd.DataFrame,
    *,
    base: DetectionConfig | None = None,
    objective: str = "f1",
    max_false_alarms_per_week: float | None = None,
    min_recall: float | None = None,
    budget: int = DEFAULT_BUDGET,
    seed: int = 0,
    folds: int = DEFAULT_FOLDS,
    per_product: bool = False,
    force: bool = False,
    early_allowance: pd.Timedelta | str | None = None,
    progress: bool = False,
    callback: Callable[[int, int], None] | None = None,
    tz: str = "UTC",
) -> TuningResult:
    """Tune detection settings to labelled outages; adopt them only when they help on
    later data.

    The procedure (run on some blocks of time): the threshold grid
    (``false_alarms_per_week`` x ``min_ratio``, on cached scores) and a coordinate search
    over the further settings that the labels allow (one per
    :data:`~spikes.evaluation.tune.space.MIN_LABELS_PER_SETTING` labels); each trial's
    objective is shrunk toward the base settings
    (:data:`~spikes.evaluation.tune.space.SHRINK` per grid span moved), and the base is
    kept unless the best trial beats it by one label's worth. It runs once per
    forward-chaining fold on that fold's training blocks and once on all blocks.

    **Adopt rule**: the folds' choices, each on its own validation block, are compared
    with the base settings on the same blocks, paired per unit (a product in a block, at
    most a week), by a bootstrap of the gain in the objective; the settings chosen on all
    blocks are adopted only when the lower end of the 90 % interval is above 0 and the
    gain is at least one label's worth (one false alarm for ``fa_at_recall``). Otherwise
    the base settings are kept (``result.config is result.base``) and
    ``result.decision.reason`` says why, with the numbers; ``force=True`` adopts them
    anyway.

    Parameters
    ----------
    data : ReportData or Scored
        The reports, or already-scored reports (their scores are reused).
    labels : pd.DataFrame
        True outages ``product, onset, end``.
    base : DetectionConfig, optional
        The settings to beat (the defaults when None; with a `Scored`, its
        configuration). Its mode (live by default) is the mode tuned.
    objective : {"f1", "f2", "f0.5", "recall_at_fa", "fa_at_recall"}
        What is maximised (see :data:`~spikes.evaluation.tune.decision.OBJECTIVES`).
    max_false_alarms_per_week : float, optional
        Limit of false alarms per product-week (required by ``"recall_at_fa"``, a soft
        constraint of the others).
    min_recall : float, optional
        Minimum recall (required by ``"fa_at_recall"``).
    budget : int
        Trials at most, the base trial included (>= 1).
    seed : int
        Seed of the bootstrap.
    folds : int
        Forward-chaining folds (the span is cut into ``folds + 1`` blocks).
    per_product : bool
        Own ``false_alarms_per_week`` / ``min_ratio`` for products with at least
        :data:`PRODUCT_MIN_LABELS` labels of their own (not for a product whose base
        settings override them: every trial ran it with its own).
    force : bool
        Adopt the tuned settings even when the rule keeps the base.
    early_allowance : pd.Timedelta or str, optional
        How long before a label's onset an incident onset still matches it (EVALUATION.md:
        10 minutes, the default; 0 for labels that are windows, such as NAB's).
    progress : bool
        Show a progress bar (tqdm; only on a terminal).
    callback : callable, optional
        Called as ``callback(done, budget)`` after each trial.
    tz : str
        The zone of the times its messages give (``--display-tz``; the result, the
        TOML written from it included, keeps UTC).

    Returns
    -------
    TuningResult

    Raises
    ------
    SpikesInputError
        Bad settings, labels that cannot be read, or no label in the data span.

    Notes
    -----
    Ctrl-C (KeyboardInterrupt) stops running new trials; the procedure is then completed
    with the trials run so far (``interrupted=True``).

    Examples
    --------
    >>> result = tune(data, sim.labels)  # doctest: +SKIP
    >>> print(result.decision.reason)  # doctest: +SKIP
    kept the base settings, the interval reaches 0: validation f1 0.861 tuned vs ...
    """
    from spikes.detect.pipeline import Scored, score_reports
    from spikes.evaluation.evaluate import validate_labels
    from spikes.evaluation.tables import labels_on_grid
    from spikes.io.zones import when
    from spikes.model import bucket_text

    started = time.perf_counter()
    _check(objective, max_false_alarms_per_week, min_recall, budget, folds)
    allowance = _allowance(early_allowance)
    goal = Goal(objective, max_false_alarms_per_week, min_recall)
    if isinstance(data, Scored):
        scored, base = data, base or data.config
        if base.mode != scored.config.mode:
            scored = score_reports(scored.data, base)
    else:
        base = base or DetectionConfig()
        scored = None
    source = scored.data if scored is not None else data
    labels, moved = labels_on_grid(validate_labels(labels), source.bucket)
    the_folds = forward_folds(source.counts.index, source.bucket, folds)
    notes = label_notes(labels, source, the_folds, counted=False)
    if moved:
        notes = (f"{moved} label onset(s) lie inside a {bucket_text(source.bucket)} bucket "
                 "of the data and count from that bucket's start (a label's onset is the "
                 "first bucket of the rise)", *notes)
    block = (the_folds.end - the_folds.start) / (the_folds.n_folds + 1)
    if block < SHORTEST_BLOCK:
        notes = (*notes, f"blocks of {block.round('1min')}: under a day, a fold's validation "
                         "misses the time of day its training saw; give fewer --folds")
    known = labels[labels["product"].isin({str(p) for p in source.counts.columns})]
    blocks = the_folds.block_of(known["onset"])
    empty = sum(1 for fold in range(the_folds.n_folds) if not (blocks == fold + 1).any())
    if empty:
        notes = (*notes, f"{empty} of {the_folds.n_folds} folds validate on a block without "
                         "a label: they measure false alarms only; give fewer --folds")
    if base.mode != "causal":
        notes = ("retrospective base settings: detection with hindsight, so a block's "
                 "incidents depend on later blocks and the validation figures are not "
                 "out-of-sample (tune a live base for figures a live service gets)", *notes)
    if scored is None:
        scored = score_reports(source, base)
    ts = TrialSet(scored, labels, the_folds, allowance)
    if ts.labels.empty:
        raise SpikesInputError("tune: no labelled outage starts in the data span "
                               f"({the_folds.describe(tz)})")
    if not ts.n_labels[ts.mask(range(1, the_folds.n_folds + 1))].any():
        # Every label in the first block, which only trains: nothing could show that a
        # setting helps, and the rule would decide on no label.
        said = "".join(f"; {note}" for note in notes)  # e.g. labels of unknown products
        raise SpikesInputError(
            "tune: no labelled outage starts in a validation block ("
            f"{the_folds.describe(tz)}): all {len(ts.labels)} fall before "
            f"{when(the_folds.edges[1], tz)}, in the first block, which only "
            f"trains; label outages across the span, or give fewer --folds{said}")
    bar = tqdm(total=budget, desc="tuning", unit="trial", disable=not progress or None,
               leave=False)
    search = _Search(ts, base, goal, budget, bar, callback)
    search.run(search.base_params, "base")
    k = the_folds.n_folds
    # The folds validate the very search run on all blocks: the same settings are tuned.
    # The search on all blocks runs first, so that the budget never cuts short the one
    # whose settings are written (the folds reuse its trials; a fold cut short by the
    # budget validates a weaker search, which errs toward keeping the base).
    names = tuned_settings(int(ts.n_labels.sum()))
    interrupted = False
    try:
        final = search.choose(range(k + 1), names, per_product)
        choices = [search.choose(range(f + 1), names, per_product) for f in range(k)]
    except KeyboardInterrupt:
        interrupted, search.stopped = True, True
        notes += (f"interrupted after {len(search.params)} trials: the procedure was "
                  "completed with the trials run so far",)
        final = search.choose(range(k + 1), names, per_product)
        choices = [search.choose(range(f + 1), names, per_product) for f in range(k)]
    finally:
        bar.close()
    if len(search.params) >= budget:
        notes += (f"the budget of {budget} trials was used up; a larger budget (--budget, the "
                  "dashboard's Budget) searches further",)

    val_units = [ts.mask([f + 1]) for f in range(k)]
    tuned_parts = [search.outcome(c, m) for c, m in zip(choices, val_units, strict=True)]
    base_parts = [search.outcome(Choice(0), m) for m in val_units]
    every = np.concatenate([np.flatnonzero(m) for m in val_units])
    decision = decide(goal,
                      tuple(np.concatenate(x) for x in zip(*base_parts, strict=True)),
                      tuple(np.concatenate(x) for x in zip(*tuned_parts, strict=True)),
                      ts.n_labels[every].astype(float), ts.weeks[every], seed=seed,
                      same=final.trial == 0 and not final.products, forced=force)
    best_config = search.config(final)
    config = best_config if decision.adopted else base
    fold_configs = [search.config(c) for c in choices]
    folds_frame, defaults, tuned = fold_table(ts, base, fold_configs, best_config, choices)
    rows = [trial_row(i, search.phases[i], search.params[i], search.tallies[i], ts, goal,
                      search.base_params) for i in range(len(search.params))]
    trials = pd.DataFrame(rows)
    limits = [f"recall >= {min_recall:g}" if min_recall is not None else "",
              f"false alarms <= {max_false_alarms_per_week:g} per product-week"
              if max_false_alarms_per_week is not None else ""]
    if any(limits) and len(trials) and not trials["feasible"].astype(bool).any():
        notes += (f"no setting tried met {' and '.join(x for x in limits if x)} on all "
                  "blocks: the choice and the front below break it (the best reached is "
                  "shown); a limit the data cannot meet is no limit",)
    pareto = pareto_front(trials)
    if final.trial not in set(pareto["trial"]):  # a base kept though dominated: shown too
        pareto = pd.concat([pareto, trials[trials["trial"] == final.trial]], ignore_index=True)
    pareto["chosen"] = pareto["trial"] == final.trial
    tuned_names = names
    notes += (f"tuned {', '.join(tuned_names)} ({int(ts.n_labels.sum())} labels; one "
              f"setting per {MIN_LABELS_PER_SETTING} labels)",)
    if per_product:
        notes += (_per_product_note(ts, k, final),)
    return TuningResult(
        trials=trials, pareto=pareto, config=config, base=base, defaults=defaults,
        tuned=tuned, chosen=final.trial, folds=the_folds, objective=objective,
        max_false_alarms_per_week=max_false_alarms_per_week, min_recall=min_recall,
        budget=int(budget), seed=int(seed), interrupted=interrupted,
        elapsed=time.perf_counter() - started,
        groups={p: [p] for p in final.products}, notes=notes, decision=decision,
        best_config=best_config, fold_scores=folds_frame, tuned_settings=tuned_names,
    )
