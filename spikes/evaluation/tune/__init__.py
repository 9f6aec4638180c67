"""Fit the detection thresholds to labelled history, validated on a later time slice.

The search follows the pipeline's split between expensive scores and cheap thresholds:

1. the data is scored once per distinct score setting (only ``cusum_ratio`` is searched,
   on the small grid :data:`CUSUM_GRID`; each value is scored on first use and cached);
2. every trial re-thresholds those scores (:func:`spikes.detect.pipeline.find_incidents`) and
   scores the incidents with :func:`spikes.evaluation.evaluate.evaluate` separately on the two time
   slices of a :class:`TimeSplit` (incidents and labels go to the slice holding their
   onset; product-weeks are counted per slice);
3. the search itself: the base settings first (trial 0), then seeded random search over
   :data:`SEARCH_SPACE` (log-uniform where the scale is multiplicative), then a short
   coordinate refinement around the best trial (one step up or down per setting, steps
   halved when no step helps). The whole search uses ``budget`` trials at most;
4. the chosen setting maximises the objective on the *training* slice among the feasible
   trials (false alarms per product-week within the limit, when one is given); ties go to
   the smaller median delay, then to the earlier trial (so the base settings win a tie).
   The validation slice is only reported, never used to choose;
5. optionally (``per_product=True``), products whose volume differs from the median by
   more than :data:`VOLUME_FACTOR` (one group below, one above) and products with at least
   :data:`OWN_GROUP_MIN_LABELS` training labels (a group each) get their own
   ``min_ratio`` / ``min_excess_reports`` from a small grid around the chosen values,
   kept only when they raise the group's training objective and the overall one.


:func:`tune` returns a :class:`TuningResult`; :func:`tuned_toml` renders its chosen
configuration with a comment header; ``spikes tune`` (:mod:`spikes.cli.tune`) runs it from
the command line.

The modules, by concern:

- :mod:`~spikes.evaluation.tune.split`: the time split (:class:`TimeSplit`);
- :mod:`~spikes.evaluation.tune.evaluator`: figures of a configuration on the slices
  (:class:`SliceScores`, :func:`evaluate_config`, the cached scores of a search);
- :mod:`~spikes.evaluation.tune.space`: the searched settings (:data:`SEARCH_SPACE`);
- :mod:`~spikes.evaluation.tune.search`: the search (:func:`tune`, refinement, groups);
- :mod:`~spikes.evaluation.tune.results`: trials, their ranking, the Pareto front and
  :class:`TuningResult`;
- :mod:`~spikes.evaluation.tune.report`: text tables and the tuned TOML.

Everything is importable from here, as before the split.
"""

from __future__ import annotations

from spikes.evaluation.tune.evaluator import (
    SliceScores,
    evaluate_config,
    score_signature,
    slice_product_weeks,
)
from spikes.evaluation.tune.report import (
    format_pareto,
    format_summary,
    tuned_toml,
    tuning_header,
)
from spikes.evaluation.tune.results import FIGURES, OBJECTIVES, TuningResult, pareto_front
from spikes.evaluation.tune.search import (
    DEFAULT_BUDGET,
    EXCESS_STEPS,
    GROUP_MIN_LABELS,
    OWN_GROUP_MIN_LABELS,
    RANDOM_SHARE,
    RATIO_STEPS,
    REFINE_MIN_SCALE,
    VOLUME_FACTOR,
    gain_is_noise,
    tune,
)
from spikes.evaluation.tune.space import (
    CUSUM_GRID,
    PARAM_NAMES,
    REFINE_STEP,
    SEARCH_SPACE,
    Param,
)
from spikes.evaluation.tune.split import TimeSplit, time_split

__all__ = [
    "CUSUM_GRID",
    "DEFAULT_BUDGET",
    "EXCESS_STEPS",
    "FIGURES",
    "GROUP_MIN_LABELS",
    "OBJECTIVES",
    "OWN_GROUP_MIN_LABELS",
    "PARAM_NAMES",
    "RANDOM_SHARE",
    "RATIO_STEPS",
    "REFINE_MIN_SCALE",
    "REFINE_STEP",
    "SEARCH_SPACE",
    "VOLUME_FACTOR",
    "Param",
    "SliceScores",
    "TimeSplit",
    "TuningResult",
    "evaluate_config",
    "format_pareto",
    "format_summary",
    "gain_is_noise",
    "pareto_front",
    "score_signature",
    "slice_product_weeks",
    "time_split",
    "tune",
    "tuned_toml",
    "tuning_header",
]
