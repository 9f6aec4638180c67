"""Tune the detection thresholds to labelled history, and adopt them only when they help
on later data.

The search follows the pipeline's split between expensive scores and cheap thresholds,
and is validated the way it will be used: tuned on the past, applied to what comes next.

1. **Folds** (:mod:`~spikes.evaluation.tune.split`): the span is cut into ``folds + 1``
   blocks; fold ``k`` trains on blocks ``0..k`` and validates on block ``k + 1``
   (forward chaining, as scikit-learn's ``TimeSeriesSplit``). Detection runs once over
   the whole series per trial: live detection (the default mode, kept unless the base
   configuration says otherwise) is causal, so the incidents raised in a block do not
   depend on later data. Outcomes are counted per unit, a product in a block (at most a
   week), :mod:`~spikes.evaluation.tune.tallies`.
2. **Search** (:mod:`~spikes.evaluation.tune.search`): the grid of the two threshold
   settings (``false_alarms_per_week`` x ``min_ratio``, re-thresholding cached scores),
   then a coordinate search over the further settings of :data:`SEARCH_SPACE` that the
   labels allow: one setting per :data:`MIN_LABELS_PER_SETTING` (10) labels, never fewer
   than the two threshold settings. Each trial's objective is shrunk toward the base
   settings (:data:`SHRINK` per grid span moved), and the base is kept unless the best
   trial beats it by one label's worth. Per-product thresholds (``per_product=True``)
   only for products with :data:`PRODUCT_MIN_LABELS` (20) labels of their own. The search
   on all blocks runs first, so that a budget used up never cuts short the one whose
   settings are written.
3. **Adopt rule** (:mod:`~spikes.evaluation.tune.decision`): the procedure runs on each
   fold's training blocks; its choices are scored on their validation blocks against the
   base settings on the same blocks, paired per unit, with a bootstrap (2,000 resamples)
   of the gain in the objective. The settings the procedure chooses on all blocks are
   adopted only when the lower end of the 90 % interval is above 0 and the gain is at
   least one label's worth (``1 / validation labels``; one false alarm for
   ``fa_at_recall``). Otherwise the base settings are kept and the one-line reason gives
   the numbers; ``force=True`` adopts anyway.
4. **Matching** is EVALUATION.md's; ``early_allowance=0`` for labels that are windows
   (NAB).
5. **Objectives**: ``f1`` (also ``f2``, ``f0.5``); ``recall_at_fa`` (at most
   ``max_false_alarms_per_week``, then the best recall); ``fa_at_recall`` (recall at
   least ``min_recall``, then the fewest false alarms).

:func:`tune` returns a :class:`TuningResult`; :func:`tuned_toml` renders its configuration
with a comment header (the decision, the fold figures); ``spikes tune``
(:mod:`spikes.cli.tune`) runs it from the command line. :func:`evaluate_config` scores one
configuration on a two-slice :class:`TimeSplit` (e.g. a loaded TOML).

Everything is importable from here.
"""

from __future__ import annotations

from spikes.evaluation.tune.decision import OBJECTIVES, Decision, Goal, decide, utility
from spikes.evaluation.tune.evaluator import (
    SliceScores,
    evaluate_config,
    score_signature,
    slice_product_weeks,
)
from spikes.evaluation.tune.report import (
    format_decision,
    format_folds,
    format_pareto,
    format_summary,
    tuned_toml,
    tuning_header,
)
from spikes.evaluation.tune.results import FIGURES, TuningResult, pareto_front
from spikes.evaluation.tune.search import (
    DEFAULT_BUDGET,
    PRODUCT_MIN_LABELS,
    gain_is_noise,
    tune,
)
from spikes.evaluation.tune.space import (
    CUSUM_GRID,
    FA_GRID,
    MIN_LABELS_PER_SETTING,
    PARAM_NAMES,
    RATIO_GRID,
    SEARCH_SPACE,
    SHRINK,
    THRESHOLD_SETTINGS,
    Param,
    tuned_settings,
)
from spikes.evaluation.tune.split import DEFAULT_FOLDS, Folds, TimeSplit, forward_folds, time_split

__all__ = [
    "CUSUM_GRID",
    "DEFAULT_BUDGET",
    "DEFAULT_FOLDS",
    "FA_GRID",
    "FIGURES",
    "MIN_LABELS_PER_SETTING",
    "OBJECTIVES",
    "PARAM_NAMES",
    "PRODUCT_MIN_LABELS",
    "RATIO_GRID",
    "SEARCH_SPACE",
    "SHRINK",
    "THRESHOLD_SETTINGS",
    "Decision",
    "Folds",
    "Goal",
    "Param",
    "SliceScores",
    "TimeSplit",
    "TuningResult",
    "decide",
    "evaluate_config",
    "format_decision",
    "format_folds",
    "format_pareto",
    "format_summary",
    "forward_folds",
    "gain_is_noise",
    "pareto_front",
    "score_signature",
    "slice_product_weeks",
    "time_split",
    "tune",
    "tuned_settings",
    "tuned_toml",
    "tuning_header",
    "utility",
]
