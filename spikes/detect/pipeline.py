"""The detection pipeline: baseline and scores once, then cheap thresholding.

:func:`score_reports` does the expensive part (baseline, every detector's score) and
:func:`find_incidents` the cheap part (thresholds, incidents, events), so that tuning and
the dashboard's sliders re-run only the latter. :func:`analyze` runs both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from spikes.config import WEEK, DetectionConfig, utc_offset
from spikes.detect.annotate import annotate_incidents
from spikes.detect.baseline import Baseline, fit_baseline
from spikes.detect.causal import live_incident_rows
from spikes.detect.detectors import (
    CountTailDetector,
    CusumDetector,
    Detector,
    SteepCusumDetector,
)
from spikes.detect.detectors.base import product_thresholds
from spikes.detect.events import assign_events, summarize_events
from spikes.detect.incidents import BLIP, incident_rows, preload_for_workers
from spikes.detect.inputs import check_arguments, check_counts, check_grid
from spikes.detect.known_events import Calendar
from spikes.detect.live_thresholds import calibration_start, threshold_paths
from spikes.detect.parallel_scores import (
    concat_parts,
    processes_available,
    score_in_processes,
)
from spikes.detect.reasons import add_reasons, local_offsets
from spikes.detect.trailing import fit_trailing_baseline
from spikes.errors import SpikesInputError
from spikes.model import (
    ANNOTATION_COLUMNS,
    INCIDENT_DTYPES,
    ReportData,
    annotate_defaults,
    empty_incidents,
)

if TYPE_CHECKING:
    from spikes.engine.base import Engine

PROGRESS_MIN_PRODUCTS = 50
#: Known products named in the error about unknown ones.
KNOWN_SHOWN = 5
#: Fewest products per worker process for which ``jobs > 1`` is worth a process.
MIN_PRODUCTS_PER_JOB = 50
#: Chunks per worker process (smaller chunks balance the load and move the progress bar).
CHUNKS_PER_JOB = 8
#: Settings that change the scores (the rest only change thresholding).
SCORE_KEYS = ("baseline_days", "baseline_smoothing", "weekly_min_days", "utc_offset",
              "timezone", "cusum_ratio", "steep_ratio", "mode")
#: Product states, worst first (see :func:`product_status`).
STATUS_ORDER = ("outage", "recovering", "elevated", "no data", "normal")
STATUS_COLUMNS = [
    "product",
    "status",
    "latest",
    "latest_reports",
    "latest_baseline",
    "current_onset",
    "current_alerted_at",
    "last_onset",
    "incidents",
]


def default_detectors(config: DetectionConfig) -> list[Detector]:
    """The detectors `spikes` runs: the count-tail detector, the CUSUM and the CUSUM
    chart of steep rises (off, never alarming, unless ``steep_ratio`` is above
    ``cusum_ratio``)."""
    return [CountTailDetector(), CusumDetector(ratio=config.cusum_ratio),
            SteepCusumDetector.for_config(config)]


@dataclass(frozen=True)
class Scored:
    """Scores of every detector, with the baseline they were computed against.

    Attributes
    ----------
    data : ReportData
        The input.
    baseline : Baseline
        Seasonal baseline of every product.
    scores : dict of str to pd.DataFrame
        Each detector's score per bucket and product, by detector name.
    detectors : dict of str to dict of str to Detector
        Per product, its detectors by name (products whose overrides change score
        settings have their own).
    config : DetectionConfig
        The configuration the scores were computed with.
    calendar : Calendar or None
        Known-event windows kept out of the baseline's history; incidents whose onset
        lies in one are labelled (``known_event``) by :func:`rethreshold`.
    """

    data: ReportData
    baseline: Baseline
    scores: dict[str, pd.DataFrame]
    detectors: dict[str, dict[str, Detector]]
    config: DetectionConfig
    calendar: Calendar | None = None


@dataclass(frozen=True)
class Analysis:
    """Everything :func:`analyze` found.

    Attributes
    ----------
    scored : Scored
        Baseline and scores.
    incidents : pd.DataFrame
        Columns :data:`spikes.model.INCIDENT_COLUMNS`, sorted by onset.
    events : pd.DataFrame
        Columns :data:`spikes.detect.events.EVENT_COLUMNS`.
    config : DetectionConfig
        The thresholds applied.
    """

    scored: Scored
    incidents: pd.DataFrame
    events: pd.DataFrame
    config: DetectionConfig

    @property
    def data(self) -> ReportData:
        """The input data."""
        return self.scored.data

    @property
    def baseline(self) -> Baseline:
        """The seasonal baseline."""
        return self.scored.baseline


def score_reports(data: ReportData, config: DetectionConfig | None = None,
                  jobs: int = 1, calendar: Calendar | None = None, *,
                  processes: bool = True) -> Scored:
    """Fit the baseline and compute every detector's scores.

    Products whose overrides change score settings are scored in their own group.
    Products are independent: with ``jobs > 1`` and enough products (at least
    :data:`MIN_PRODUCTS_PER_JOB` per job) they are scored in chunks by `jobs` forked
    worker processes on Linux, whose frames come back through shared memory
    (:mod:`spikes.detect.parallel_scores`), elsewhere by `jobs` threads (which run on
    separate cores only while numpy works); the result is the same.

    Parameters
    ----------
    data : ReportData
        Reports per bucket.
    config : DetectionConfig, optional
        Settings; the defaults when None.
    jobs : int
        Worker processes, or threads off Linux (1: none).
    calendar : Calendar, optional
        Known-event windows: the buckets of a product inside one of its windows are kept
        out of its baseline's history (see :mod:`spikes.detect.known_events`).
    processes : bool
        Whether `jobs` may be forked worker processes (False: threads; e.g. beside a
        Dask client, whose threads a forked child would find holding their locks).

    Returns
    -------
    Scored
    """
    check_arguments(data, config, calendar)
    config = config or DetectionConfig()
    check_counts(data)
    check_grid(data, config)
    window_mask = (calendar.mask(data.counts.index, data.counts.columns, data.bucket)
                   if calendar is not None and len(calendar) else None)
    groups: dict[tuple, list[str]] = {}
    for product in data.counts.columns:
        own = config.for_product(str(product))
        groups.setdefault(tuple(getattr(own, k) for k in SCORE_KEYS), []).append(product)
    tasks = []
    for products in groups.values():
        own = config.for_product(str(products[0]))
        pieces = max(1, min(int(jobs), len(products) // MIN_PRODUCTS_PER_JOB))
        tasks += [(own, list(chunk)) for chunk in
                  np.array_split(np.array(products, dtype=object), pieces)]

    def score(task: tuple[DetectionConfig, list[str]]) -> tuple[Baseline, dict, dict]:
        own, products = task
        counts = data.counts[products]
        fit = fit_trailing_baseline if own.mode == "causal" else fit_baseline
        exclude = None
        if window_mask is not None:
            exclude = window_mask[:, data.counts.columns.get_indexer(products)]
        baseline = fit(
            counts,
            data.bucket,
            days=own.baseline_days,
            smoothing=own.baseline_smoothing,
            weekly_min_days=own.weekly_min_days,
            exclude=exclude,
            utc_offset=utc_offset(own),
            timezone=own.timezone,
        )
        detectors = {d.name: d for d in default_detectors(own)}
        tail_counts = counts
        if baseline.learning is not None:
            # Warm-up (no time-of-day history yet): no evidence, so that nothing built on
            # a provisional baseline carries over (a CUSUM would drain for days); the
            # per-bucket tail detector scores a product's first day against the cold start.
            cold = baseline.cold if baseline.cold is not None else False
            tail_counts = counts.mask(baseline.learning & ~cold)
            counts = counts.mask(baseline.learning)
        scores = {name: d.score(tail_counts if name == CountTailDetector.name else counts,
                                baseline) for name, d in detectors.items()}
        return baseline, scores, dict.fromkeys(map(str, products), detectors)

    if len(tasks) > 1 and jobs > 1 and processes and processes_available():
        names = sorted({d.name for own, _ in tasks for d in default_detectors(own)})
        baseline, scores, product_detectors = score_in_processes(
            score, tasks, data.counts, names, int(jobs))
        return Scored(data=data, baseline=baseline, scores=scores,
                      detectors=product_detectors, config=config, calendar=calendar)
    if len(tasks) > 1 and jobs > 1:
        with ThreadPoolExecutor(min(int(jobs), len(tasks))) as pool:
            done = list(pool.map(score, tasks))
    else:
        done = [score(task) for task in tasks]
    product_detectors = {p: d for _, _, own_detectors in done for p, d in own_detectors.items()}
    baseline, scores = concat_parts([(b, s) for b, s, _ in done], data.counts.columns)
    return Scored(data=data, baseline=baseline, scores=scores, detectors=product_detectors,
                  config=config, calendar=calendar)


def find_incidents(scored: Scored, config: DetectionConfig | None = None,
                   products: Iterable[str] | None = None,
                   progress: bool = False, jobs: int = 1,
                   engine: Engine | str | None = None) -> pd.DataFrame:
    """Threshold the scores and build incidents with event ids.

    Products are independent here, so with ``jobs > 1`` (or an `engine`) they are shared
    out in partitions among the engine's workers (:mod:`spikes.engine`: worker processes
    of the local engine, or a Dask cluster); the result is the same as in one process.

    Parameters
    ----------
    scored : Scored
        Output of :func:`score_reports`.
    config : DetectionConfig, optional
        Thresholds; those of `scored` when None. Score settings (see :data:`SCORE_KEYS`)
        are taken from `scored`.
    products : iterable of str, optional
        Restrict to these products.
    progress : bool
        Show a progress bar (on a terminal, with more than 50 products).
    jobs : int
        Worker processes of the local engine when no `engine` is given (1, the default:
        everything runs in this process). Takes effect with at least
        :data:`MIN_PRODUCTS_PER_JOB` products per process.
    engine : Engine or {"local", "dask"}, optional
        Where the partitions run (see :func:`spikes.engine.make_engine`); an engine
        given as an object is left open.

    Returns
    -------
    pd.DataFrame
        Incidents, columns :data:`spikes.model.INCIDENT_COLUMNS`, sorted by onset. Their
        ``why`` holds the product's own part of the reason only, and ``known_event`` is
        empty: :func:`rethreshold` (and :func:`analyze`) add the rest
        (:func:`spikes.detect.annotate.annotate_incidents`).

    Raises
    ------
    SpikesInputError
        If `products` names a product that is not in the data.
    """
    from spikes.engine.base import product_partitions
    from spikes.engine.choice import make_engine

    config = config or scored.config
    known = [str(c) for c in scored.data.counts.columns]
    wanted = known if products is None else _known_products(products, known)
    show = progress and len(wanted) > PROGRESS_MIN_PRODUCTS
    if engine is None and min(int(jobs), len(wanted) // MIN_PRODUCTS_PER_JOB) <= 1:
        table = incident_table(_incident_records(scored, config, wanted, show))
        return incidents_with_events([_with_reasons(table, scored)], config)
    owned = engine is None or isinstance(engine, str)
    runner = make_engine(engine or "local", jobs=jobs) if owned else engine
    try:
        parts = product_partitions(wanted, runner.jobs)
        preload_for_workers(runner, len(parts))
        tables = runner.map_parts(scored_partition_incidents, scored, parts,
                                  select=select_products, args=(config,),
                                  sizes=[len(p) for p in parts], progress=show,
                                  desc="incidents")
    finally:
        if owned:
            runner.close()
    return incidents_with_events(tables, config)


def scored_partition_incidents(scored: Scored, config: DetectionConfig) -> pd.DataFrame:
    """Incidents (no event ids) of every product of an already-scored partition: what the
    engine's workers run for :func:`find_incidents`, with each incident's ``why``
    (:func:`spikes.detect.reasons.add_reasons`)."""
    table = incident_table(_incident_records(scored, config, scored.data.products, False))
    return _with_reasons(table, scored)


def _with_reasons(table: pd.DataFrame, scored: Scored) -> pd.DataFrame:
    """`table` with each incident's own reason (:func:`~spikes.detect.reasons.add_reasons`),
    its peak's weekday and time in the local time of the days its baseline was fitted on
    (the scores' settings, as the live walk's days)."""
    offsets = local_offsets(scored.config, table["product"].unique()) if len(table) else {}
    return add_reasons(table, scored.data, scored.baseline, offsets)


def analyze_partition(counts: pd.DataFrame, bucket: pd.Timedelta,
                      config: DetectionConfig,
                      calendar: Calendar | None = None) -> pd.DataFrame:
    """Incidents of a partition of products, from their counts: the pure function that
    :mod:`spikes.engine` maps over product partitions.

    Products are independent up to the event ids, so the incidents of all partitions,
    put together by :func:`incidents_with_events`, are those of :func:`analyze` on all
    products at once.

    Parameters
    ----------
    counts : pd.DataFrame
        Reports per bucket of the partition's products, on the grid of the whole data
        (the same index for every partition).
    bucket : pd.Timedelta
        Bucket size.
    config : DetectionConfig
        Settings (per-product overrides included).
    calendar : Calendar, optional
        Known-event windows kept out of the baselines (see :func:`score_reports`).

    Returns
    -------
    pd.DataFrame
        Incidents without ``event_id`` (:func:`incident_table`); ``attrs["latest"]``
        holds each product's latest bucket (:func:`latest_buckets`).
    """
    scored = score_reports(ReportData(counts=counts, bucket=bucket), config,
                           calendar=calendar)
    table = scored_partition_incidents(scored, config)
    table.attrs["latest"] = latest_buckets(scored)  # for product_status of the whole run
    return table


def incident_table(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Incident records as a typed table, without event ids."""
    if not rows:
        return empty_incidents().drop(columns=["event_id", *ANNOTATION_COLUMNS])
    incidents = pd.DataFrame(rows)
    # All NaT (a retrospective run) makes a naive column: give it its zone first.
    incidents["alerted_at"] = pd.to_datetime(incidents["alerted_at"], utc=True)
    later = {"event_id", *ANNOTATION_COLUMNS}
    return incidents.astype({c: t for c, t in INCIDENT_DTYPES.items() if c not in later})


def incidents_with_events(tables: Sequence[pd.DataFrame],
                          config: DetectionConfig) -> pd.DataFrame:
    """The incidents of product partitions as one table, sorted by onset, with event ids
    (:func:`spikes.detect.events.assign_events`, which needs every product's incidents)."""
    parts = [t for t in tables if len(t)]
    if not parts:
        return empty_incidents()
    incidents = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    return annotate_defaults(assign_events(incidents, config.event_window))


def select_products(scored: Scored, products: Sequence[str]) -> Scored:
    """`scored` restricted to `products` (a partition to send to a worker)."""
    columns = [c for c in scored.data.counts.columns if str(c) in set(products)]
    base = scored.baseline

    def cut(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        return None if frame is None else frame[columns]

    baseline = dataclasses.replace(
        base, expected=base.expected[columns], dispersion=base.dispersion[columns],
        normal=base.normal[columns],
        inflation=None if base.inflation is None else base.inflation[columns],
        dispersion_path=cut(base.dispersion_path), inflation_path=cut(base.inflation_path),
        learning=cut(base.learning), cold=cut(base.cold), unshaped=cut(base.unshaped),
        returns=cut(base.returns))
    return Scored(data=dataclasses.replace(scored.data, counts=scored.data.counts[columns],
                                           breakdown=None),
                  baseline=baseline,
                  scores={n: s[columns] for n, s in scored.scores.items()},
                  detectors={str(c): scored.detectors[str(c)] for c in columns},
                  config=scored.config, calendar=scored.calendar)


def _known_products(products: Iterable[str], known: list[str]) -> list[str]:
    """`products` as the strings that name them in incidents, all of them in `known`,
    each once (a name given twice gave its incidents twice).

    Raises
    ------
    SpikesInputError
        Naming the products that are not in `known`.
    """
    wanted = list(dict.fromkeys(str(p) for p in products))
    present = set(known)
    unknown = list(dict.fromkeys(p for p in wanted if p not in present))
    if unknown:
        shown = ", ".join(map(repr, known[:KNOWN_SHOWN])) + (", ..." if len(known) > KNOWN_SHOWN
                                                            else "")
        raise SpikesInputError(
            f"unknown product{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))}: the data has {len(known)} "
            f"product{'' if len(known) == 1 else 's'}" + (f" ({shown})" if known else "")
        )
    return wanted


def _incident_records(scored: Scored, config: DetectionConfig, wanted: list[str],
                      show: bool) -> list[dict[str, object]]:
    """Incident records (dicts, without event ids) of the products `wanted`."""
    data = scored.data
    position = {str(c): i for i, c in enumerate(data.counts.columns)}
    if scored.baseline.causal:
        return _live_records(scored, config, wanted, show, position)
    mu_all = scored.baseline.expected.to_numpy(dtype=float)
    y_all = data.counts.to_numpy(dtype=float)
    score_arrays = {n: s.to_numpy(dtype=float) for n, s in scored.scores.items()}
    alpha_all = scored.baseline.dispersion.to_numpy(dtype=float)
    inflation = scored.baseline.inflation
    inflation_all = np.ones(len(alpha_all)) if inflation is None else inflation.to_numpy(float)
    rows: list[dict[str, object]] = []
    for product in tqdm(wanted, desc="incidents", unit="product", disable=not show or None,
                        leave=False):
        j = position[product]
        own = for_bucket(config.for_product(product), data.bucket)
        detectors = scored.detectors[product]
        weeks = np.count_nonzero(~np.isnan(y_all[:, j])) * (data.bucket / WEEK)
        maxima = {name: det.excursion_maxima(score_arrays[name][:, j])
                  for name, det in detectors.items()}
        thresholds = product_thresholds(detectors, maxima, weeks, own, data.bucket,
                                        hindsight=True)
        candidates = {name: det.candidates(score_arrays[name][:, j], thresholds[name])
                      for name, det in detectors.items()}
        if not any(candidates.values()):
            continue
        rows.extend(
            incident_rows(product, y_all[:, j], mu_all[:, j], data.counts.index,
                          candidates, own, alpha=float(alpha_all[j]),
                          inflation=float(inflation_all[j]))
        )
    return rows


def _live_records(scored: Scored, config: DetectionConfig, wanted: list[str], show: bool,
                  position: dict[str, int]) -> list[dict[str, object]]:
    """Incident records of the products `wanted` as a live run raises them
    (:func:`spikes.detect.causal.live_incident_rows`)."""
    inputs = LiveInputs(scored, position)
    rows: list[dict[str, object]] = []
    for product in tqdm(wanted, desc="incidents", unit="product", disable=not show or None,
                        leave=False):
        rows.extend(live_incident_rows(**inputs.walk_arguments(product, config)))
    return rows


class LiveInputs:
    """The arrays a live walk of each product reads, taken out of `scored` once.

    Parameters
    ----------
    scored : Scored
        A causal analysis's scores (``scored.baseline.causal``).
    position : dict of str to int, optional
        Column of each product in the counts (default: from the counts' columns).
    """

    def __init__(self, scored: Scored, position: dict[str, int] | None = None) -> None:
        data = scored.data
        self.scored, self.bucket, self.index = scored, data.bucket, data.counts.index
        self.position = position or {str(c): i for i, c in enumerate(data.counts.columns)}
        self.y = data.counts.to_numpy(dtype=float)
        self.mu = scored.baseline.expected.to_numpy(dtype=float)
        self.scores = {n: s.to_numpy(dtype=float) for n, s in scored.scores.items()}
        self.alpha = np.broadcast_to(scored.baseline.dispersion_at(), self.y.shape)
        inflation = scored.baseline.inflation_at()
        self.inflation = (np.ones_like(self.y) if inflation is None
                          else np.broadcast_to(inflation, self.y.shape))
        self.cold, self.unshaped = (None if frame is None else frame.to_numpy(dtype=bool)
                                    for frame in (scored.baseline.cold,
                                                  scored.baseline.unshaped))
        returns = scored.baseline.returns
        self.returns = None if returns is None else returns.to_numpy(dtype=float)
        days = self.index.normalize()
        self.day_starts = np.flatnonzero(np.concatenate([[True], days[1:] != days[:-1]]))

    def walk_arguments(self, product: str, config: DetectionConfig) -> dict[str, object]:
        """Keyword arguments of :func:`~spikes.detect.causal.live_incident_rows` for
        `product` under `config` (its per-bucket thresholds calibrated as a live run
        calibrates them: :func:`~spikes.detect.live_thresholds.threshold_paths`)."""
        j = self.position[product]
        own = for_bucket(config.for_product(product), self.bucket)
        # The walk's days are the baseline's (the scores' settings, whatever `config`
        # thresholds them with).
        days = self.scored.config.for_product(product)
        if (own.utc_offset, own.timezone) != (days.utc_offset, days.timezone):
            own = dataclasses.replace(own, utc_offset=days.utc_offset, timezone=days.timezone)
        detectors = self.scored.detectors[product]
        scores = {name: self.scores[name][:, j] for name in detectors}
        seen = np.flatnonzero(~np.isnan(self.y[:, j]))
        history_from = calibration_start(int(seen[0]), self.bucket) if len(seen) else 0
        thresholds = threshold_paths(detectors, scores, own, self.bucket, self.day_starts,
                                     history_from=history_from)
        tail = scores.get(CountTailDetector.name)
        if tail is None:
            tail = np.zeros(len(self.index))
        return {"product": product, "y": self.y[:, j], "mu": self.mu[:, j],
                "index": self.index, "scores": scores, "thresholds": thresholds,
                "detectors": detectors, "tail": tail, "config": own,
                "alpha": self.alpha[:, j], "inflation": self.inflation[:, j],
                "cold": None if self.cold is None else self.cold[:, j],
                "unshaped": None if self.unshaped is None else self.unshaped[:, j],
                "returns": None if self.returns is None else self.returns[:, j]}


def for_bucket(config: DetectionConfig, bucket: pd.Timedelta) -> DetectionConfig:
    """`config` as it applies to buckets of size `bucket`: ``min_buckets`` (no one-bucket
    blips) holds for buckets of up to :data:`~spikes.detect.incidents.BLIP`; a longer
    bucket holds more than a burst of a few minutes, and one such bucket can be an outage
    when its evidence is strong (hourly and daily exports). Below 5 minutes, the rules
    of ``min_buckets`` count 5 minutes' worth of buckets as one
    (:func:`spikes.detect.incidents.blip_grain`)."""
    if bucket > BLIP and config.min_buckets > 1:
        return dataclasses.replace(config, min_buckets=1)
    return config


def analyze(data: ReportData, config: DetectionConfig | None = None,
            progress: bool = False, jobs: int = 1,
            engine: Engine | str | None = None,
            calendar: Calendar | None = None) -> Analysis:
    """Run the whole pipeline: baseline, detectors, incidents, events.

    Parameters
    ----------
    data : ReportData
        Reports per bucket, from :func:`spikes.io.buckets.load_reports`.
    config : DetectionConfig, optional
        Settings; the defaults when None.
    progress : bool
        Show a progress bar when there are many products.
    jobs : int
        Worker processes (threads off Linux, or beside another engine) for the scores,
        and worker processes of the local engine for the incidents of many products (see
        :func:`score_reports` and :func:`find_incidents`); the result does not depend on
        it.
    engine : Engine or {"local", "dask"}, optional
        Where the incidents of product partitions are built (:mod:`spikes.engine`);
        the result does not depend on it. The scores stay in this process, since an
        :class:`Analysis` holds them: for data that does not fit one machine, use
        :func:`spikes.engine.detect`, which computes scores in the workers too.
    calendar : Calendar, optional
        Known-event windows (:func:`spikes.io.calendar.read_calendar`): kept out of the
        baselines, and incidents whose onset lies in one get its kind and note in
        ``known_event``.

    Returns
    -------
    Analysis
    """
    from spikes.engine.base import LocalEngine

    config = config or DetectionConfig()
    # Scores fork worker processes only where the incidents' engine runs here too.
    local = engine is None or engine == "local" or isinstance(engine, LocalEngine)
    scored = score_reports(data, config, jobs=jobs, calendar=calendar, processes=local)
    return rethreshold(scored, config, progress=progress, jobs=jobs, engine=engine)


def rethreshold(scored: Scored, config: DetectionConfig, progress: bool = False,
                jobs: int = 1, engine: Engine | str | None = None) -> Analysis:
    """Incidents and events of already-scored data under new thresholds, the incidents
    annotated (:func:`spikes.detect.annotate.annotate_incidents`: the event and
    breakdown parts of ``why``, ``known_event`` from ``scored.calendar``)."""
    incidents = find_incidents(scored, config, progress=progress, jobs=jobs, engine=engine)
    data = scored.data
    # The products that could have failed: those with data (a column without any yet is
    # no product to the stream, which is not given it).
    events = summarize_events(incidents, span=len(data.counts.index) * data.bucket,
                              products=int(data.counts.notna().any().sum()),
                              window=config.event_window)
    incidents = annotate_incidents(incidents, events, breakdown=data.breakdown,
                                   bucket=data.bucket, calendar=scored.calendar)
    return Analysis(scored=scored, incidents=incidents, events=events,
                    config=config)


def product_status(analysis: Analysis, elevated_surprise: float = 2.0) -> pd.DataFrame:
    """Each product's state at its latest bucket with data, worst first.

    ``outage`` when an incident is ongoing; ``recovering`` when the last incident ended
    less than ``merge_gap`` before the latest bucket (reports are back down, but a rise
    now would still be the same incident: one quiet bucket does not end an outage);
    ``elevated`` when the latest bucket is improbably high (tail surprise >=
    `elevated_surprise`, i.e. p <= 1 %) without an incident; ``no data`` when the
    product's data end before the data's latest bucket (its feed stopped: its figures
    are of its own latest bucket with data, not of now); ``normal`` otherwise.

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`analyze`.
    elevated_surprise : float
        -log10 p from which the latest bucket counts as elevated.

    Returns
    -------
    pd.DataFrame
        Columns :data:`STATUS_COLUMNS`, in the order of :data:`STATUS_ORDER`, then by
        product. ``current_onset`` is the onset of the outage going on or recovering,
        ``current_alerted_at`` when a live run raised it (NaT in retrospective mode).
    """
    if isinstance(analysis, Analysis):
        rows, now = latest_buckets(analysis.scored), analysis.data.counts.index[-1]
    elif hasattr(analysis, "latest") and hasattr(analysis, "index"):  # engine.run.Detection
        rows, now = list(analysis.latest), analysis.index[-1]
    else:
        raise SpikesInputError(f"product_status needs an Analysis (what analyze returns), "
                               f"not a {type(analysis).__name__}")
    return status_table(rows, analysis.incidents, analysis.config, elevated_surprise,
                        now=now)


def latest_buckets(scored: Scored) -> list[dict[str, object]]:
    """Each product's latest bucket with data, as :func:`status_table` takes them:
    ``product``, ``latest``, ``latest_reports``, ``latest_baseline``, ``surprise`` (the
    tail detector's score there; 0 without that detector).

    Parameters
    ----------
    scored : Scored

    Returns
    -------
    list of dict
        In the order of the products.
    """
    counts = scored.data.counts
    expected = scored.baseline.expected
    tail = scored.scores.get(CountTailDetector.name)
    rows: list[dict[str, object]] = []
    for product in counts.columns:
        series = counts[product]
        seen = series.dropna()
        latest = seen.index[-1] if len(seen) else counts.index[-1]
        rows.append({
            "product": str(product),
            "latest": latest,
            "latest_reports": float(series.get(latest, np.nan)),
            "latest_baseline": float(expected.at[latest, product]),
            "surprise": float(tail.at[latest, product]) if tail is not None else 0.0,
        })
    return rows


def status_table(latest: list[dict[str, object]], incidents: pd.DataFrame,
                 config: DetectionConfig, elevated_surprise: float = 2.0, *,
                 now: pd.Timestamp | None = None) -> pd.DataFrame:
    """The table of :func:`product_status` from each product's latest bucket with data.

    Parameters
    ----------
    latest : list of dict
        Per product, in column order: ``product``, ``latest`` (its latest bucket with
        data, the last bucket without any), ``latest_reports``, ``latest_baseline`` and
        ``surprise`` (tail surprise of that bucket). A product without any data (its
        ``latest_reports`` NaN) has ``no data``.
    incidents : pd.DataFrame
        The incidents so far.
    config : DetectionConfig
        Settings (``merge_gap`` per product).
    elevated_surprise : float
        -log10 p from which the latest bucket counts as elevated.
    now : pd.Timestamp, optional
        The data's latest bucket: a product whose latest bucket with data is earlier has
        ``no data`` (unless an outage of it is going on or recovering).

    Returns
    -------
    pd.DataFrame
        As :func:`product_status`.
    """
    rows = []
    # Incidents name products by str(label), whatever the type of the column label. One
    # grouping and plain arrays: a filter of every incident per product took 15 s at
    # 10,000 products.
    n = len(incidents)
    names = incidents["product"].astype(str).to_numpy() if n else np.array([], dtype=object)
    groups = pd.Series(np.arange(n)).groupby(names, sort=False).indices if n else {}
    onsets = pd.DatetimeIndex(incidents["onset"]) if n else pd.DatetimeIndex([], tz="UTC")
    # Naive UTC datetime64 in the data's own unit (nanoseconds overflow past 2262).
    ends = (pd.DatetimeIndex(incidents["end"]).tz_convert("UTC").tz_localize(None)
            .to_numpy() if n else np.array([], dtype="datetime64[us]"))
    alerted = pd.DatetimeIndex(incidents["alerted_at"]) if n else onsets
    going = incidents["ongoing"].astype(bool).to_numpy() if n else np.array([], dtype=bool)
    default_gap = pd.Timedelta(config.merge_gap)
    none = np.array([], dtype=np.int64)
    for item in latest:
        product = str(item["product"])
        latest_at = pd.Timestamp(item["latest"])
        own = groups.get(product, none)
        surprise = float(item["surprise"])  # type: ignore[arg-type]
        gap = (pd.Timedelta(config.for_product(product).merge_gap)
               if product in config.overrides else default_gap)
        ongoing = own[going[own]]
        since = latest_at - gap
        recent = own[ends[own] >= (since.tz_convert("UTC").tz_localize(None)
                                   if since.tzinfo else since).to_datetime64()]
        # Without data since before now, a product is "no data" (not elevated on a stale
        # bucket), unless an outage of it is going on, or ended within merge_gap of now.
        silent = (now is not None and latest_at < now) or pd.isna(item["latest_reports"])
        if len(ongoing):
            status = "outage"
        elif len(recent) and not (silent and now - gap > latest_at):
            status, ongoing = "recovering", recent
        elif silent:
            status = "no data"
        elif surprise >= elevated_surprise:
            status = "elevated"
        else:
            status = "normal"
        rows.append(
            {
                "product": product,
                "status": status,
                "latest": item["latest"],
                "latest_reports": item["latest_reports"],
                "latest_baseline": item["latest_baseline"],
                "current_onset": onsets[ongoing[-1]] if len(ongoing) else pd.NaT,
                "current_alerted_at": alerted[ongoing[-1]] if len(ongoing) else pd.NaT,
                "last_onset": onsets[own].max() if len(own) else pd.NaT,
                "incidents": len(own),
            }
        )
    table = pd.DataFrame(rows, columns=STATUS_COLUMNS)
    table["_rank"] = table["status"].map({s: i for i, s in enumerate(STATUS_ORDER)})
    return table.sort_values(["_rank", "product"]).drop(columns="_rank").reset_index(drop=True)


def products_with_incidents(incidents: pd.DataFrame) -> Sequence[str]:
    """Products that have at least one incident, in order of first onset."""
    if incidents.empty:
        return []
    return list(dict.fromkeys(incidents.sort_values("onset")["product"]))
