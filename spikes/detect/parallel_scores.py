"""Scores of many products in forked worker processes, handed back through shared memory.

Fitting the baselines is many small numpy calls, so threads hold the GIL for much of it;
worker processes do not. Sending a worker's frames back through a pipe would cost what
they gain (pickling 400 MB of baseline and scores takes about as long as a second of
scoring saves), so before forking, the parent maps one anonymous shared block per frame
(``mmap.mmap(-1, n)``: shared with the children it forks, and its pages cost nothing
until written), laid out as the whole frame, time running down each product's column.
Each worker writes the columns of its products straight into them and sends back only
the small parts (per-product series, the detectors); the parent wraps the blocks as the
frames without copying them.

Linux only (forked workers inherit the mappings); elsewhere
:func:`spikes.detect.pipeline.score_reports` scores in threads, whose parts
:func:`concat_parts` joins.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spikes.detect.baseline import Baseline

#: The baseline's frames (one value per bucket and product) and their types; the rest of
#: a :class:`~spikes.detect.baseline.Baseline` is small and travels by pipe.
BASELINE_FRAMES = {"expected": np.float64, "normal": np.bool_,
                   "dispersion_path": np.float64, "inflation_path": np.float64,
                   "learning": np.bool_, "cold": np.bool_, "unshaped": np.bool_,
                   "returns": np.float64}
#: The frames a part may lack (most hold no rise held as a fall's end), with the value
#: of its products where another part has one.
OPTIONAL_FRAMES = {"returns": 0.0}
#: Type of every detector's scores.
SCORE_DTYPE = np.float64
#: Marks a frame written into its shared block (in a worker's answer).
SHARED = "shared"

#: A task's scoring: its baseline, scores by detector name, detectors by product.
Scoring = tuple[Baseline, dict[str, pd.DataFrame], dict[str, Any]]


def processes_available() -> bool:
    """Whether scores can be computed in forked workers here
    (:func:`spikes.engine.base.can_fork`: Linux, not in a daemon process).

    Returns
    -------
    bool
    """
    from spikes.engine.base import can_fork

    return can_fork()


class SharedFrames:
    """Anonymous shared blocks, one per frame, each laid out as the whole frame.

    Parameters
    ----------
    dtypes : dict of str to numpy dtype
        Each frame's name and value type.
    shape : tuple of int
        Buckets and products of every frame.
    """

    def __init__(self, dtypes: dict[str, Any], shape: tuple[int, int]) -> None:
        self.shape = shape
        self.dtypes = {name: np.dtype(t) for name, t in dtypes.items()}
        size = shape[0] * shape[1]
        # mmap(-1, n) is MAP_SHARED | MAP_ANONYMOUS: children forked later share it, and
        # it is not a file of /dev/shm (whose size Docker limits to 64 MB).
        self.blocks = {name: mmap.mmap(-1, max(1, size * t.itemsize))
                       for name, t in self.dtypes.items()}

    def array(self, name: str) -> np.ndarray:
        """Frame `name`'s block as an array (buckets x products, Fortran order)."""
        t = self.dtypes[name]
        flat = np.frombuffer(self.blocks[name], dtype=t, count=self.shape[0] * self.shape[1])
        return flat.reshape(self.shape, order="F")

    def write(self, name: str, frame: pd.DataFrame | None,
              columns: slice | np.ndarray) -> Any:
        """Write `frame` (the values of products `columns`) into its block.

        Returns
        -------
        object
            :data:`SHARED` when written; None for no frame; the frame itself when it has
            no block or not its type (to be sent back as it is).
        """
        if frame is None:
            return None
        t = self.dtypes.get(name)
        if t is None or not (frame.dtypes == t).all():
            return frame
        self.array(name)[:, columns] = frame.to_numpy()
        return SHARED


@dataclass(frozen=True)
class PartAnswer:
    """What a worker sends back of one task: all but the frames written to shared blocks.

    Attributes
    ----------
    frames : dict of str to object
        Per baseline frame and score (``score:NAME``): :data:`SHARED`, None or the frame.
    baseline : dict of str to object
        The baseline's other fields (per-product series, method, causal).
    detectors : dict of str to object
        Detectors by product.
    """

    frames: dict[str, Any]
    baseline: dict[str, Any]
    detectors: dict[str, Any]


@dataclass
class _Run:
    """What the forked workers inherit: the scoring, its tasks and the shared blocks."""

    score: Callable[[Any], Scoring]
    tasks: Sequence[tuple[Any, list]]
    at: list[slice | np.ndarray]
    shared: SharedFrames


def _pick(run: _Run, i: int) -> tuple[_Run, int]:
    """Task `i` of the inherited run (what :meth:`LocalEngine.map_parts` selects)."""
    return run, i


def _score_task(picked: tuple[_Run, int]) -> PartAnswer:
    """Score task `i` in a worker, its frames written into the shared blocks."""
    run, i = picked
    baseline, scores, detectors = run.score(run.tasks[i])
    at, shared = run.at[i], run.shared
    frames = {name: shared.write(name, getattr(baseline, name), at) for name in BASELINE_FRAMES}
    frames.update({f"score:{n}": shared.write(f"score:{n}", s, at) for n, s in scores.items()})
    rest = {"dispersion": baseline.dispersion, "inflation": baseline.inflation,
            "method": baseline.method, "causal": baseline.causal}
    return PartAnswer(frames=frames, baseline=rest, detectors=detectors)


def score_in_processes(score: Callable[[Any], Scoring], tasks: Sequence[tuple[Any, list]],
                       counts: pd.DataFrame, score_names: Sequence[str], jobs: int
                       ) -> tuple[Baseline, dict[str, pd.DataFrame], dict[str, Any]]:
    """Run ``score(task)`` for every task in `jobs` forked workers, the frames returned
    through shared blocks.

    Parameters
    ----------
    score : callable
        ``score(task)`` is a task's baseline, scores by name and detectors by product.
    tasks : sequence of tuple
        ``(config, products)`` pairs: every product of `counts` in exactly one task.
    counts : pd.DataFrame
        The counts (their index and columns are those of every frame).
    score_names : sequence of str
        Every score a task may return (those not in it come back by pipe).
    jobs : int
        Worker processes.

    Returns
    -------
    baseline : Baseline
    scores : dict of str to pd.DataFrame
    detectors : dict of str to object
        Detectors by product.
    """
    from spikes.detect.incidents import preload_for_workers
    from spikes.engine.base import LocalEngine

    columns = counts.columns
    dtypes = dict(BASELINE_FRAMES) | {f"score:{n}": SCORE_DTYPE for n in score_names}
    shared = SharedFrames(dtypes, counts.shape)
    at = [_positions(columns.get_indexer(products)) for _, products in tasks]
    run = _Run(score=score, tasks=tasks, at=at, shared=shared)
    engine = LocalEngine(jobs=jobs)
    preload_for_workers(engine, len(tasks))
    answers = engine.map_parts(_score_task, run, list(range(len(tasks))), select=_pick,
                               desc="scores")
    baseline, scores = _assemble(answers, at, shared, counts)
    detectors = {p: d for a in answers for p, d in a.detectors.items()}
    return baseline, scores, detectors


def joined_series(parts: Sequence[pd.Series], columns: pd.Index) -> pd.Series:
    """Per-product series of the parts as one, in the order of `columns` and indexed by
    them (as one part of all products is: ``pd.concat`` would turn an index of strings
    of type object into one of type str)."""
    return pd.concat(parts).reindex(columns)


def concat_parts(parts: list[tuple[Baseline, dict[str, pd.DataFrame]]],
                 columns: pd.Index) -> tuple[Baseline, dict[str, pd.DataFrame]]:
    """The baselines and scores of parts of the products (scored by threads) as those of
    all products, in the order of `columns`.

    Parameters
    ----------
    parts : list of (Baseline, dict of str to pd.DataFrame)
        Each part's baseline and scores by detector name.
    columns : pd.Index
        Every product, each in exactly one part.

    Returns
    -------
    baseline : Baseline
    scores : dict of str to pd.DataFrame
    """
    if len(parts) == 1:
        return parts[0]
    names = dict.fromkeys(n for _, s in parts for n in s)
    missing = [n for n in names if any(n not in s for _, s in parts)]
    if missing:  # every group has the same detectors today; never drop one silently
        raise ValueError(f"scores {missing} are missing from some product groups")
    baselines = [b for b, _ in parts]
    methods = {b.method for b in baselines}
    baseline = Baseline(
        expected=_side_by_side([b.expected for b in baselines], columns),
        dispersion=joined_series([b.dispersion for b in baselines], columns),
        normal=_side_by_side([b.normal for b in baselines], columns),
        method=methods.pop() if len(methods) == 1 else "daily",
        inflation=joined_series([b.inflation for b in baselines], columns),
        dispersion_path=_paths([b.dispersion_path for b in baselines], columns),
        inflation_path=_paths([b.inflation_path for b in baselines], columns),
        causal=all(b.causal for b in baselines),
        learning=_paths([b.learning for b in baselines], columns),
        cold=_paths([b.cold for b in baselines], columns),
        unshaped=_paths([b.unshaped for b in baselines], columns),
        returns=_paths([b.returns for b in baselines], columns, OPTIONAL_FRAMES["returns"],
                       [b.expected.columns for b in baselines]),
    )
    scores = {n: _side_by_side([s[n] for _, s in parts], columns) for n in names}
    return baseline, scores


def _paths(frames: list[pd.DataFrame | None], columns: pd.Index, fill: float | None = None,
           names: list[pd.Index] | None = None) -> pd.DataFrame | None:
    """Per-bucket paths of the parts side by side (None when the parts have none; where
    only some have and `fill` is given, the products `names` of the others hold it)."""
    if all(f is None for f in frames) or fill is None and any(f is None for f in frames):
        return None
    if any(f is None for f in frames):
        like = next(f for f in frames if f is not None)
        assert names is not None
        frames = [pd.DataFrame(fill, index=like.index, columns=part) if f is None else f
                  for f, part in zip(frames, names, strict=True)]
    return _side_by_side(frames, columns)  # type: ignore[arg-type]


def _side_by_side(frames: list[pd.DataFrame], columns: pd.Index) -> pd.DataFrame:
    """Frames of the same index joined column-wise, in the order of `columns`, as one
    array with time running down each column (as the parts are): every product's series
    stays contiguous, and ``to_numpy`` returns it without a copy."""
    names = pd.Index([c for f in frames for c in f.columns])
    order = names.get_indexer(columns)
    out = np.empty((len(frames[0]), len(columns)), dtype=frames[0].dtypes.iloc[0], order="F")
    start = 0
    at = np.empty(len(names), dtype=np.int64)
    at[order] = np.arange(len(columns))
    for frame in frames:
        stop = start + frame.shape[1]
        out[:, at[start:stop]] = frame.to_numpy()
        start = stop
    return pd.DataFrame(out, index=frames[0].index, columns=columns, copy=False)


def _positions(indexer: np.ndarray) -> slice | np.ndarray:
    """Columns `indexer` as a slice when consecutive (a plain copy into the block)."""
    if len(indexer) and (np.diff(indexer) == 1).all():
        return slice(int(indexer[0]), int(indexer[-1]) + 1)
    return indexer


def _assemble(answers: list[PartAnswer], at: list[slice | np.ndarray], shared: SharedFrames,
              counts: pd.DataFrame) -> tuple[Baseline, dict[str, pd.DataFrame]]:
    """The whole baseline and scores from the workers' answers, as
    :func:`concat_parts` joins the parts of threads."""

    def whole(name: str) -> pd.DataFrame | None:
        parts = [a.frames.get(name) for a in answers]
        if all(p is None for p in parts) or (name not in OPTIONAL_FRAMES
                                             and any(p is None for p in parts)):
            return None
        if all(isinstance(p, str) for p in parts):
            return pd.DataFrame(shared.array(name), index=counts.index, columns=counts.columns,
                                copy=False)
        # Some part came back by pipe, or without the frame: put them side by side (as
        # threads' parts are).
        first = next(p for p in parts if p is not None)
        dtype = shared.dtypes[name] if isinstance(first, str) else first.dtypes.iloc[0]
        out = np.full(counts.shape, OPTIONAL_FRAMES.get(name, 0), dtype=dtype, order="F")
        for p, cols in zip(parts, at, strict=True):
            if p is not None:
                out[:, cols] = (shared.array(name)[:, cols] if isinstance(p, str)
                                else p.to_numpy())
        return pd.DataFrame(out, index=counts.index, columns=counts.columns, copy=False)

    rests = [a.baseline for a in answers]
    methods = {r["method"] for r in rests}
    columns = counts.columns
    baseline = Baseline(
        expected=whole("expected"),
        dispersion=joined_series([r["dispersion"] for r in rests], columns),
        normal=whole("normal"),
        method=methods.pop() if len(methods) == 1 else "daily",
        inflation=joined_series([r["inflation"] for r in rests], columns),
        dispersion_path=whole("dispersion_path"),
        inflation_path=whole("inflation_path"),
        causal=all(r["causal"] for r in rests),
        learning=whole("learning"),
        cold=whole("cold"),
        unshaped=whole("unshaped"),
        returns=whole("returns"),
    )
    names = [k for k in dict.fromkeys(k for a in answers for k in a.frames)
             if k.startswith("score:")]
    missing = [k.removeprefix("score:") for k in names
               if any(a.frames.get(k) is None for a in answers)]
    if missing:  # every group has the same detectors today; never drop one silently
        raise ValueError(f"scores {missing} are missing from some product groups")
    scores = {k.removeprefix("score:"): whole(k) for k in names}
    return baseline, scores  # type: ignore[return-value]
