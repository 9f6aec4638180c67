"""A whole analysis on an engine: partitions of products out, incidents and events back.

:func:`detect` is what ``spikes analyze`` runs. The driver cuts the products into
partitions; each worker builds the counts of its partition (from data sent to it, or by
reading the files itself), computes the baseline, the scores and the incidents
(:func:`spikes.detect.pipeline.analyze_partition`) and sends back only the incident
rows; the driver puts them together and assigns event ids, which need every product's
incidents, then adds what needs every product or the driver's data
(:func:`spikes.detect.annotate.annotate_incidents`: the event and breakdown parts of
``why``, ``known_event`` from the calendar). The scores never leave the workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.annotate import annotate_incidents
from spikes.detect.events import summarize_events
from spikes.detect.incidents import preload_for_workers
from spikes.detect.known_events import Calendar
from spikes.detect.pipeline import analyze_partition, incidents_with_events
from spikes.engine.base import Engine, product_partitions
from spikes.engine.choice import make_engine
from spikes.io.datasets import ProductDataset, read_partition
from spikes.model import ReportData

__all__ = ["Detection", "detect"]


@dataclass(frozen=True)
class Detection:
    """What :func:`detect` found, and the facts about the input that a summary needs.

    Attributes
    ----------
    incidents : pd.DataFrame
        Columns :data:`spikes.model.INCIDENT_COLUMNS`, sorted by onset, with event ids:
        the same as :attr:`spikes.detect.pipeline.Analysis.incidents`.
    events : pd.DataFrame
        Columns :data:`spikes.detect.events.EVENT_COLUMNS`.
    config : DetectionConfig
        The settings applied.
    products : tuple of str
        Every product of the input.
    index : pd.DatetimeIndex
        The time grid.
    bucket : pd.Timedelta
        Bucket size.
    data : ReportData or None
        The input when it was read into memory (for its notes), else None.
    calendar : Calendar or None
        The known-event windows applied.
    repeated : int
        Rows of count files beyond one per product and bucket, summed into it (a
        duplicated or overlapping file?); for data in memory, see ``data.repeated``.
    latest : tuple of dict
        Each product's latest bucket with data, its reports, baseline and tail score
        (:func:`spikes.detect.pipeline.latest_buckets`), so that
        :func:`spikes.detect.pipeline.product_status` tells each product's state now.
    """

    incidents: pd.DataFrame
    events: pd.DataFrame
    config: DetectionConfig
    products: tuple[str, ...]
    index: pd.DatetimeIndex
    bucket: pd.Timedelta
    data: ReportData | None = None
    calendar: Calendar | None = None
    repeated: int = 0
    latest: tuple[dict[str, object], ...] = ()


def detect(source: ReportData | ProductDataset, config: DetectionConfig | None = None, *,
           engine: Engine | str = "local", jobs: int = 1, scheduler: str | None = None,
           progress: bool = False, calendar: Calendar | None = None) -> Detection:
    """Find the incidents and events of every product, partitions run by an engine.

    The result does not depend on the engine, `jobs` or the partitions: the incidents
    are those of :func:`spikes.detect.pipeline.analyze` (same rows, order, event ids).

    Parameters
    ----------
    source : ReportData or ProductDataset
        Data in memory (partitions of its counts are sent to the workers), or files
        (:func:`spikes.io.datasets.open_dataset`: each worker reads its partitions'
        rows itself, so the whole table is never on one node).
    config : DetectionConfig, optional
        Settings; the defaults when None.
    engine : Engine or {"local", "dask"}
        Where partitions run; a name makes an engine for this run (with `jobs` and
        `scheduler`, see :func:`spikes.engine.base.make_engine`) and closes it after,
        an :class:`Engine` object is left open.
    jobs : int
        Worker processes of an engine made here (0: one per CPU core; 1 with
        ``local``: in this process).
    scheduler : str, optional
        Address of a running Dask scheduler (``engine="dask"``).
    progress : bool
        Show a progress bar over products.
    calendar : Calendar, optional
        Known-event windows (:func:`spikes.io.calendar.read_calendar`): sent to the
        workers, which keep them out of the baselines; incidents whose onset lies in one
        get its kind and note in ``known_event``.

    Returns
    -------
    Detection

    Raises
    ------
    SpikesInputError
        For bad input (in the driver, or raised by a worker).
    """
    config = config or DetectionConfig()
    owned = isinstance(engine, str)
    runner = make_engine(engine, jobs=jobs, scheduler=scheduler) if owned else engine
    try:
        return _detect(source, config, runner, progress, calendar)  # type: ignore[arg-type]
    finally:
        if owned:
            runner.close()  # type: ignore[union-attr]


def _detect(source: ReportData | ProductDataset, config: DetectionConfig, engine: Engine,
            progress: bool, calendar: Calendar | None) -> Detection:
    if isinstance(source, ProductDataset):
        products, index, bucket, data = source.products, source.index, source.bucket, None
        parts = product_partitions(products, engine.jobs, bounded=True)
        items: list[tuple] = [(source, part, config, calendar) for part in parts]
        function = dataset_partition
    else:
        data, bucket, index = source, source.bucket, source.counts.index
        products = tuple(source.products)
        parts = product_partitions(products, engine.jobs)
        columns = _column_groups(source.counts, parts)
        items = [(source.counts[cols], bucket, config, calendar) for cols in columns]
        function = analyze_partition
    preload_for_workers(engine, len(parts))
    tables = engine.map(function, items, sizes=[len(p) for p in parts],
                        progress=progress and len(products) > 1, desc="products")
    repeated = sum(int(t.attrs.get("repeated", 0)) for t in tables)
    order = {str(p): i for i, p in enumerate(products)}
    latest = sorted((row for t in tables for row in t.attrs.get("latest", [])),
                    key=lambda row: order.get(str(row["product"]), len(order)))
    incidents = incidents_with_events(tables, config)
    events = summarize_events(incidents, span=len(index) * bucket, products=len(products),
                              window=config.event_window)
    incidents = annotate_incidents(incidents, events, bucket=bucket, calendar=calendar,
                                   breakdown=None if data is None else data.breakdown)
    return Detection(incidents=incidents, events=events, config=config,
                     products=tuple(products), index=index, bucket=bucket, data=data,
                     calendar=calendar, repeated=repeated, latest=tuple(latest))


def dataset_partition(dataset: ProductDataset, products: Sequence[str],
                      config: DetectionConfig, calendar: Calendar | None = None
                      ) -> pd.DataFrame:
    """Worker body for files: read the partition's rows, then
    :func:`~spikes.detect.pipeline.analyze_partition`."""
    counts = read_partition(dataset, products)
    table = analyze_partition(counts, dataset.bucket, config, calendar)
    table.attrs["repeated"] = counts.attrs.get("repeated", 0)
    return table


def _column_groups(counts: pd.DataFrame, parts: list[list[str]]) -> list[list[object]]:
    """The column labels of each partition (products are named by ``str(label)``)."""
    if len(parts) == 1:
        return [list(counts.columns)]
    label = {str(c): c for c in counts.columns}
    return [[label[p] for p in part] for part in parts]
