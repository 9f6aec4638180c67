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
configuration with a comment header; :func:`add_tune_parser` registers ``spikes tune``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from spikes.config import DetectionConfig
from spikes.errors import SpikesInputError
from spikes.model import product_weeks as slice_product_weeks

if TYPE_CHECKING:  # the pipeline (scipy) is imported on use: `spikes --help` stays quick
    from spikes.detect.pipeline import Scored
    from spikes.evaluation.evaluate import Evaluation
    from spikes.model import ReportData

__all__ = [
    "CUSUM_GRID",
    "OBJECTIVES",
    "SEARCH_SPACE",
    "Param",
    "SliceScores",
    "TimeSplit",
    "TuningResult",
    "evaluate_config",
    "format_pareto",
    "format_summary",
    "pareto_front",
    "score_signature",
    "slice_product_weeks",
    "time_split",
    "tune",
    "tuned_toml",
    "tuning_header",
]

OBJECTIVES = ("f1", "f2", "f0.5", "recall_at_fa")
"""Objectives: F-beta for beta 1, 2 (recall weighs more), 0.5 (precision weighs more), and
recall among the settings within ``max_false_alarms_per_week`` (which it requires)."""
CUSUM_GRID = (1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
"""Values of the score setting ``cusum_ratio`` the search may pick (each costs a re-scoring).
Values above 5 pay at low volume, where a sustained rise must be large to be seen."""
DEFAULT_BUDGET = 60
RANDOM_SHARE = 0.7
"""Share of the budget (after the base trial) spent on random search; the rest refines."""
REFINE_STEP = 0.15
"""First coordinate step, as a share of a setting's (log) range; halved when stuck."""
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
FIGURES = ("tp", "fp", "n_labels", "precision", "recall", "f1", "delay_median_min",
           "false_alarms_per_product_week")


@dataclass(frozen=True)
class Param:
    """One searched setting of :class:`~spikes.config.DetectionConfig`.

    Parameters
    ----------
    name : str
        Field of the configuration.
    low, high : float
        Range searched (minutes for ``kind="minutes"``).
    kind : {"log", "log1p", "int", "minutes", "grid"}
        How values are drawn: log-uniform, log-uniform in ``1 + value`` (ranges starting
        at 0), uniform integers, log-uniform durations rounded to 5 minutes (written as
        ``"45min"``), or one of `grid`.
    grid : tuple of float
        The values of a ``"grid"`` setting.
    """

    name: str
    low: float
    high: float
    kind: Literal["log", "log1p", "int", "minutes", "grid"]
    grid: tuple[float, ...] = ()

    def sample(self, rng: np.random.Generator) -> Any:
        """A random value."""
        if self.kind == "grid":
            return float(self.grid[int(rng.integers(len(self.grid)))])
        if self.kind == "int":
            return int(rng.integers(int(self.low), int(self.high) + 1))
        return self._from_unit(float(rng.random()))

    def step(self, value: Any, direction: int, scale: float) -> Any:
        """The value one coordinate step up (``direction=1``) or down (``-1``)."""
        if self.kind in ("grid", "int"):
            values = self.grid if self.kind == "grid" else tuple(
                range(int(self.low), int(self.high) + 1))
            i = int(np.argmin([abs(v - float(_number(value))) for v in values]))
            j = min(max(i + direction, 0), len(values) - 1)
            return float(values[j]) if self.kind == "grid" else int(values[j])
        return self._from_unit(self._to_unit(value) + direction * REFINE_STEP * scale)

    def _from_unit(self, u: float) -> Any:
        u = min(max(u, 0.0), 1.0)
        if self.kind == "log1p":
            lo, hi = math.log1p(self.low), math.log1p(self.high)
            return round(math.expm1(lo + u * (hi - lo)), 1)
        value = math.exp(math.log(self.low) + u * math.log(self.high / self.low))
        if self.kind == "minutes":
            return f"{max(5, int(round(value / 5.0)) * 5)}min"
        return float(f"{value:.3g}")

    def _to_unit(self, value: Any) -> float:
        v = float(_number(value))
        if self.kind == "log1p":
            lo, hi = math.log1p(self.low), math.log1p(self.high)
            return (math.log1p(max(v, 0.0)) - lo) / (hi - lo)
        return (math.log(max(v, 1e-12)) - math.log(self.low)) / math.log(self.high / self.low)


def _number(value: Any) -> float:
    """A setting as a number (durations in minutes)."""
    if isinstance(value, str):
        return pd.Timedelta(value) / pd.Timedelta(minutes=1)
    return float(value)


SEARCH_SPACE: tuple[Param, ...] = (
    Param("false_alarms_per_week", 0.01, 3.0, "log"),
    Param("min_ratio", 1.3, 10.0, "log"),
    Param("min_buckets", 1, 4, "int"),
    Param("min_excess_reports", 0.0, 30.0, "log1p"),
    Param("merge_gap", 15, 180, "minutes"),
    Param("cusum_ratio", 1.5, 8.0, "grid", CUSUM_GRID),
)
"""The searched settings. ``event_window`` is not searched: the scoring rules do not see
events. ``cusum_ratio`` is the only score setting (see :data:`CUSUM_GRID`)."""
PARAM_NAMES = tuple(p.name for p in SEARCH_SPACE)


# --------------------------------------------------------------------------- the split
@dataclass(frozen=True)
class TimeSplit:
    """A time-ordered split of the data span: train = ``[start, split)``, validation =
    ``[split, end)``.

    Attributes
    ----------
    start : pd.Timestamp
        Start of the first bucket.
    split : pd.Timestamp
        First instant of the validation slice (on the bucket grid).
    end : pd.Timestamp
        End of the last bucket (its start plus the bucket size).
    """

    start: pd.Timestamp
    split: pd.Timestamp
    end: pd.Timestamp

    def which(self, onsets: pd.Series) -> np.ndarray:
        """True where an onset belongs to the training slice (before `split`)."""
        stamps = pd.DatetimeIndex(pd.to_datetime(onsets, utc=True))
        return np.asarray(stamps < self.split, dtype=bool)

    def describe(self) -> str:
        """One line: the dates of both slices."""
        fmt = "%Y-%m-%d %H:%M"
        return (f"train {self.start:{fmt}} to {self.split:{fmt}} UTC, validation "
                f"{self.split:{fmt}} to {self.end:{fmt}} UTC")


def time_split(index: pd.DatetimeIndex, bucket: pd.Timedelta, fraction: float = 0.5
               ) -> TimeSplit:
    """Split a bucket grid in time: the first `fraction` of the span trains.

    Parameters
    ----------
    index : pd.DatetimeIndex
        Bucket starts (sorted, UTC).
    bucket : pd.Timedelta
        Bucket size.
    fraction : float
        Share of the span in the training slice, in (0, 1).

    Returns
    -------
    TimeSplit

    Raises
    ------
    SpikesInputError
        If `fraction` is not in (0, 1) or the data is shorter than two buckets.

    Examples
    --------
    >>> idx = pd.date_range("2026-01-01", periods=4 * 288, freq="5min", tz="UTC")
    >>> time_split(idx, pd.Timedelta("5min")).split
    Timestamp('2026-01-03 00:00:00+0000', tz='UTC')
    """
    if not 0.0 < fraction < 1.0 or not math.isfinite(fraction):
        raise SpikesInputError(f"split: {fraction!r} must be a fraction in (0, 1), e.g. 0.5")
    if len(index) < 2:
        raise SpikesInputError("tune: the data has fewer than two buckets; nothing to split")
    start, end = index[0], index[-1] + bucket
    buckets = round((end - start) / bucket * fraction)
    buckets = min(max(buckets, 1), len(index) - 1)
    return TimeSplit(start=start, split=start + buckets * bucket, end=end)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class SliceScores:
    """One configuration's figures on both slices.

    Attributes
    ----------
    train, validation : Evaluation
        :func:`spikes.evaluation.evaluate.evaluate` on each slice.
    """

    train: Evaluation
    validation: Evaluation


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
        return _apply(self.base, _params_of(row.iloc[0]))


# --------------------------------------------------------------------------- evaluation
def _apply(base: DetectionConfig, params: dict[str, Any]) -> DetectionConfig:
    return dataclasses.replace(base, **params)


def _params_of(row: pd.Series) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in SEARCH_SPACE:
        value = row[p.name]
        if p.kind == "minutes":
            out[p.name] = str(value)
        elif p.kind == "int":
            out[p.name] = int(value)
        else:
            out[p.name] = float(value)
    return out


def _base_params(base: DetectionConfig) -> dict[str, Any]:
    return {name: getattr(base, name) for name in PARAM_NAMES}


def _key(params: dict[str, Any]) -> tuple:
    return tuple(str(params[name]) for name in PARAM_NAMES)


def score_signature(config: DetectionConfig) -> tuple:
    """What the scores of `config` depend on (its and its overrides' score settings):
    two configurations with the same signature share their scores."""
    from spikes.detect.pipeline import SCORE_KEYS

    own = tuple(repr(getattr(config, k)) for k in SCORE_KEYS)
    overrides = tuple(sorted(
        (p, k, repr(v)) for p, values in config.overrides.items()
        for k, v in values.items() if k in SCORE_KEYS
    ))
    return own, overrides


def _typed_incidents(incidents: pd.DataFrame) -> pd.DataFrame:
    """``product, onset`` with a UTC datetime dtype, also when empty."""
    return pd.DataFrame({
        "product": incidents["product"].astype(str).to_numpy(dtype=object),
        "onset": pd.DatetimeIndex(pd.to_datetime(incidents["onset"], utc=True)),
    })


class _Evaluator:
    """Scores (cached per score setting), split labels and product-weeks of one run."""

    def __init__(self, scored: Scored, labels: pd.DataFrame, split: TimeSplit) -> None:
        from spikes.detect.pipeline import find_incidents, score_reports
        from spikes.evaluation.evaluate import evaluate

        self._evaluate, self._find, self._score = evaluate, find_incidents, score_reports
        self.data = scored.data
        self.split = split
        self._scored = {score_signature(scored.config): scored}
        in_train = split.which(labels["onset"])
        self.labels_train = labels[in_train].reset_index(drop=True)
        self.labels_val = labels[~in_train].reset_index(drop=True)
        counts, bucket = self.data.counts, self.data.bucket
        self.weeks_train = slice_product_weeks(counts, bucket, split.start, split.split)
        self.weeks_val = slice_product_weeks(counts, bucket, split.split, split.end)

    def scored_for(self, config: DetectionConfig) -> Scored:
        key = score_signature(config)
        if key not in self._scored:
            self._scored[key] = self._score(self.data, config)
        return self._scored[key]

    def incidents(self, config: DetectionConfig, products: Sequence[str] | None = None
                  ) -> pd.DataFrame:
        return _typed_incidents(self._find(self.scored_for(config), config,
                                           products=products))

    def evaluate(self, config: DetectionConfig, products: Sequence[str] | None = None
                 ) -> SliceScores:
        incidents = self.incidents(config, products)
        in_train = self.split.which(incidents["onset"])
        train_labels, val_labels = self.labels_train, self.labels_val
        weeks_train, weeks_val = self.weeks_train, self.weeks_val
        if products is not None:
            wanted = set(products)
            train_labels = train_labels[train_labels["product"].isin(wanted)]
            val_labels = val_labels[val_labels["product"].isin(wanted)]
            counts = self.data.counts[list(products)]
            weeks_train = slice_product_weeks(counts, self.data.bucket, self.split.start,
                                              self.split.split)
            weeks_val = slice_product_weeks(counts, self.data.bucket, self.split.split,
                                            self.split.end)
        return SliceScores(
            train=self._evaluate(incidents[in_train], train_labels,
                                 product_weeks=weeks_train or None),
            validation=self._evaluate(incidents[~in_train], val_labels,
                                      product_weeks=weeks_val or None),
        )


def _fbeta(ev: Evaluation, beta: float) -> float:
    p, r = ev.precision, ev.recall
    b2 = beta * beta
    return 0.0 if p + r == 0 else (1 + b2) * p * r / (b2 * p + r)


def _objective_value(ev: Evaluation, objective: str) -> float:
    if objective == "recall_at_fa":
        return ev.recall
    return _fbeta(ev, {"f1": 1.0, "f2": 2.0, "f0.5": 0.5}[objective])


def _feasible(ev: Evaluation, limit: float | None) -> bool:
    if limit is None:
        return True
    rate = ev.false_alarms_per_product_week
    return bool(math.isnan(rate) or rate <= limit + 1e-12)


def _row(trial: int, phase: str, params: dict[str, Any], scores: SliceScores,
         objective: str, limit: float | None) -> dict[str, Any]:
    row: dict[str, Any] = {"trial": trial, "phase": phase, **params}
    for prefix, ev in (("train_", scores.train), ("val_", scores.validation)):
        for name in FIGURES:
            row[prefix + name] = getattr(ev, name)
    row["objective"] = _objective_value(scores.train, objective)
    row["feasible"] = _feasible(scores.train, limit)
    return row


def gain_is_noise(best: dict[str, Any], base: dict[str, Any]) -> bool:
    """Whether a trial beats the (feasible) base settings on train by less than one
    label's worth of the objective (``1 / train labels``): too little to trust on held-out
    data, so the base settings are kept (a guard against overfitting the search)."""
    if not base["feasible"] or not best["feasible"]:
        return False
    margin = 1.0 / max(int(base.get("train_n_labels", 0) or 0), 1)
    return float(best["objective"]) - float(base["objective"]) < margin


def _rank(row: dict[str, Any]) -> tuple:
    """Sort key of a trial, larger is better: feasible, objective, F1, smaller delay,
    earlier trial."""
    delay = row["train_delay_median_min"]
    delay = math.inf if delay is None or math.isnan(delay) else delay
    return (bool(row["feasible"]), round(float(row["objective"]), 12),
            round(float(row["train_f1"]), 12), -delay, -int(row["trial"]))


# --------------------------------------------------------------------------- search
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
        products of outlying volume or with many labels (see the module notes).
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
    notes = _label_notes(labels, source_data, the_split)
    if scored is None:
        scored = score_reports(source_data, base)
    ev = _Evaluator(scored, labels, the_split)
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
        key = _key(params)
        if key in seen:
            return seen[key]
        row = _row(len(rows), phase, params, ev.evaluate(_apply(base, params)),
                   objective, max_false_alarms_per_week)
        rows.append(row)
        seen[key] = row
        bar.update(1)
        best = max(rows, key=_rank)
        bar.set_postfix_str(f"best {objective} {best['objective']:.3f}", refresh=False)
        if callback is not None:
            callback(len(rows), budget)
        return row

    try:
        run(_base_params(base), "base")
    except KeyboardInterrupt:
        bar.close()
        raise
    try:
        n_random = min(budget - 1, max(0, round((budget - 1) * RANDOM_SHARE)))
        misses = 0
        while len(rows) < 1 + n_random and misses < 20 * budget:
            params = {p.name: p.sample(rng) for p in SEARCH_SPACE}
            if _key(params) in seen:
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
    best = max(rows, key=_rank)
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
    config = _apply(base, _params_of(pd.Series(best)))
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


def _label_notes(labels: pd.DataFrame, data: ReportData, split: TimeSplit) -> tuple[str, ...]:
    products = {str(p) for p in data.counts.columns}
    notes = []
    if len(labels) and not set(labels["product"]) & products:
        example = ", ".join(sorted(set(labels["product"]))[:3])
        raise SpikesInputError(
            f"labels name none of the {len(products)} products in the data (e.g. {example}); "
            "are they the labels of this data?")
    unknown = int((~labels["product"].isin(products)).sum())
    if unknown:
        notes.append(f"{unknown} label(s) of products not in the data count as missed")
    outside = int(((labels["onset"] < split.start) | (labels["onset"] >= split.end)).sum())
    if outside:
        notes.append(f"{outside} label(s) start outside the data span and count as missed")
    return tuple(notes)


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
                best = max(rows, key=_rank)
                params = _params_of(pd.Series(best))
                params[param.name] = param.step(params[param.name], direction, scale)
                row = run(params, "refine")
                if row is not best and _rank(row) > _rank(best):
                    improved = True
                    break
        if not improved:
            scale /= 2


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
    ranked = sorted(pool.to_dict("records"), key=_rank, reverse=True)
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


def _volume_groups(ev: _Evaluator) -> dict[str, list[str]]:
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


def _tune_groups(ev: _Evaluator, config: DetectionConfig, objective: str,
                 limit: float | None) -> tuple[DetectionConfig, dict[str, list[str]]]:
    """Per-group overrides of min_ratio and min_excess_reports, on a grid around the
    chosen values; kept when they raise the group's and the overall training objective."""
    whole = ev.evaluate(config).train
    base_rank = (_feasible(whole, limit), _objective_value(whole, objective))
    overrides = {p: dict(v) for p, v in config.overrides.items()}
    kept: dict[str, list[str]] = {}
    ratio_range = next(p for p in SEARCH_SPACE if p.name == "min_ratio")
    for group, products in _volume_groups(ev).items():
        start = ev.evaluate(config, products).train
        best_value = (_feasible(start, limit), _objective_value(start, objective))
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
                value = (_feasible(got, limit), _objective_value(got, objective))
                if value > best_value:
                    best_value, best_values = value, values
        if best_values is None:
            continue
        candidate = {**overrides, **{p: {**overrides.get(p, {}), **best_values}
                                     for p in products}}
        trial = dataclasses.replace(config, overrides=candidate)
        got = ev.evaluate(trial).train
        if (_feasible(got, limit), _objective_value(got, objective)) > base_rank:
            overrides, config = candidate, trial
            base_rank = (_feasible(got, limit), _objective_value(got, objective))
            kept[group] = list(products)
    return config, kept


def evaluate_config(data: ReportData | Scored, labels: pd.DataFrame, config: DetectionConfig,
                    split: float | TimeSplit = 0.5) -> tuple[SliceScores, TimeSplit]:
    """Figures of one configuration on the two time slices (e.g. a loaded TOML result).

    Parameters
    ----------
    data : ReportData or Scored
        The reports or already-scored reports (re-scored when `config`'s score settings
        differ).
    labels : pd.DataFrame
        True outages.
    config : DetectionConfig
        Settings to evaluate.
    split : float or TimeSplit
        Share of the time span in the training slice, or the slices themselves (e.g.
        ``TuningResult.split``).

    Returns
    -------
    SliceScores, TimeSplit
    """
    from spikes.detect.pipeline import Scored, score_reports
    from spikes.evaluation.evaluate import validate_labels

    scored = data if isinstance(data, Scored) else score_reports(data, config)
    the_split = split if isinstance(split, TimeSplit) else time_split(
        scored.data.counts.index, scored.data.bucket, split)
    labels = validate_labels(labels)
    _label_notes(labels, scored.data, the_split)
    return _Evaluator(scored, labels, the_split).evaluate(config), the_split


# --------------------------------------------------------------------------- reporting
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


