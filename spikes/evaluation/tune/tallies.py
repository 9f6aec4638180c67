"""What every trial of a search shares, and each trial's outcome counted per unit.

A search runs the detector over the whole series once per trial (live detection is causal,
so the incidents it raises in a block do not depend on later data) and counts the outcome
per **unit**: one product in one block of :class:`~spikes.evaluation.tune.split.Folds`, cut
further into chunks of at most a week. Every figure of a fold (its training blocks, its
validation block, one product) is then a sum over units, and the paired bootstrap of the
adopt rule resamples units. :class:`TrialSet` holds the cached scores, the units, the
labels and product-weeks per unit; :meth:`TrialSet.tally` gives a trial's :class:`Tally`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.evaluation.tune.evaluator import ScoreCache
from spikes.evaluation.tune.split import Folds

if TYPE_CHECKING:  # the pipeline (scipy) is imported on use: `spikes --help` stays quick
    from spikes.detect.pipeline import Scored
    from spikes.evaluation.evaluate import Evaluation

CHUNK = pd.Timedelta(days=7)
"""Units are at most this long (a product-week)."""


@dataclass(frozen=True)
class Tally:
    """One trial's outcome per unit.

    Attributes
    ----------
    tp, fp : np.ndarray
        True positives (labels found) and false positives (incidents matching no label,
        duplicates included) per unit.
    delay_median_min, alert_delay_median_min : float
        Median onset and alert delays over all matched labels (minutes).
    """

    tp: np.ndarray
    fp: np.ndarray
    delay_median_min: float
    alert_delay_median_min: float


class TrialSet(ScoreCache):
    """Scores (cached per score setting), units, labels and product-weeks of one search.

    Parameters
    ----------
    scored : Scored
        The reports scored with one configuration (other score settings are scored on
        first use).
    labels : pd.DataFrame
        Validated true outages.
    folds : Folds
        The blocks.
    early_allowance : pd.Timedelta, optional
        How early an incident onset may be and still match a label (see
        :class:`~spikes.evaluation.tune.evaluator.ScoreCache`).

    Attributes
    ----------
    unit_product, unit_block : np.ndarray
        Product (str) and block of each unit.
    n_labels, weeks : np.ndarray
        Labels and product-weeks per unit.
    labels : pd.DataFrame
        The labels inside the span of a product of the data (with a ``unit`` column).
    """

    def __init__(self, scored: Scored, labels: pd.DataFrame, folds: Folds,
                 early_allowance: pd.Timedelta | None = None) -> None:
        super().__init__(scored, early_allowance)
        self.folds = folds
        self._incidents: dict[tuple, pd.DataFrame] = {}
        # The whole-series matching of an incidents frame, by the frame's identity (the
        # frame is kept: its id is not reused while it is here).
        self._matched: dict[int, tuple[pd.DataFrame, Evaluation]] = {}
        products = [str(p) for p in self.data.counts.columns]
        self._product_pos = {p: i for i, p in enumerate(products)}
        starts: list[pd.Timestamp] = []
        blocks: list[int] = []
        for b in range(folds.n_folds + 1):
            t = folds.edges[b]
            while t < folds.edges[b + 1]:
                starts.append(t)
                blocks.append(b)
                t = t + CHUNK
        self._chunk_starts = pd.DatetimeIndex(starts)
        ends = []
        for i, start in enumerate(starts):
            block_end = folds.edges[blocks[i] + 1]
            ends.append(min(start + CHUNK, block_end))
        n_chunks = len(starts)
        self.unit_product = np.repeat(np.array(products, dtype=object), n_chunks)
        self.unit_block = np.tile(np.array(blocks), len(products))
        self.weeks = _weeks_per_unit(self.data.counts, self.data.bucket, starts, ends)
        inside = labels["product"].astype(str).isin(self._product_pos) & (
            labels["onset"] >= folds.start) & (labels["onset"] < folds.end)
        self.labels = labels[inside].reset_index(drop=True)
        self.labels["unit"] = self._units(self.labels["product"], self.labels["onset"])
        self.n_labels = np.bincount(self.labels["unit"], minlength=len(self.unit_product))

    # --- units --------------------------------------------------------------------------
    def _units(self, products: pd.Series, onsets: pd.Series) -> np.ndarray:
        """Unit of each (product, onset) inside the span."""
        if len(products) == 0:
            return np.zeros(0, dtype=int)
        stamps = pd.DatetimeIndex(pd.to_datetime(onsets, utc=True)).as_unit("ns").asi8
        chunk = np.searchsorted(self._chunk_starts.as_unit("ns").asi8, stamps, "right") - 1
        chunk = np.clip(chunk, 0, len(self._chunk_starts) - 1)
        pos = np.array([self._product_pos[str(p)] for p in products], dtype=int)
        return pos * len(self._chunk_starts) + chunk

    def mask(self, blocks: range | list[int], products: list[str] | None = None
             ) -> np.ndarray:
        """Units of `blocks` (of `products` only, when given)."""
        keep = np.isin(self.unit_block, list(blocks))
        if products is not None:
            keep &= np.isin(self.unit_product, list(products))
        return keep

    # --- trials -------------------------------------------------------------------------
    def incidents(self, config: DetectionConfig) -> pd.DataFrame:
        """Incidents of `config` over the whole series (``product, onset, alerted_at``),
        cached by configuration."""
        key = (config.to_toml(),)
        if key not in self._incidents:
            found = self._find(self.scored_for(config), config)
            self._incidents[key] = pd.DataFrame({
                "product": found["product"].astype(str).to_numpy(dtype=object),
                "onset": pd.DatetimeIndex(pd.to_datetime(found["onset"], utc=True)),
                "alerted_at": pd.DatetimeIndex(pd.to_datetime(found["alerted_at"], utc=True)),
            })
            if len(self._incidents) > 64:  # bound the memory of a long search
                self._incidents.pop(next(iter(self._incidents)))
        return self._incidents[key]

    def tally(self, config: DetectionConfig) -> Tally:
        """The outcome of `config` per unit.

        Parameters
        ----------
        config : DetectionConfig

        Returns
        -------
        Tally
        """
        incidents = self.incidents(config)
        ev = self._whole(incidents)
        n = len(self.unit_product)
        found = ev.matches["tp"].to_numpy(dtype=bool)
        tp = np.bincount(self.labels["unit"].to_numpy()[found], minlength=n)
        status = ev.incident_status
        false = (status["status"] != "tp").to_numpy()
        fp = np.bincount(self._units(status["product"][false], status["onset"][false]),
                         minlength=n)
        return Tally(tp=tp, fp=fp, delay_median_min=ev.delay_median_min,
                     alert_delay_median_min=ev.alert_delay_median_min)

    def _whole(self, incidents: pd.DataFrame) -> Evaluation:
        """`incidents` matched to every label over the whole series, once per frame (the
        search's tally and each span of the fold table read the same matching)."""
        held = self._matched.get(id(incidents))
        if held is None or held[0] is not incidents:
            held = (incidents, self._evaluate(incidents,
                                              self.labels[["product", "onset", "end"]]))
            self._matched[id(incidents)] = held
            if len(self._matched) > 64:  # bound the memory of a long search
                self._matched.pop(next(iter(self._matched)))
        return held[1]

    def counted(self, incidents: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
                ) -> pd.DataFrame:
        """The incidents that count on ``[start, end)`` as :meth:`tally` counts them: the
        match of each label whose onset is in the span (wherever the incident's onset is:
        one raised just after a block edge for an outage labelled just before it is that
        label's true positive, not a false alarm of the next block; one that matched two
        overlapping labels on either side of an edge counts in both spans), and the
        incidents with an onset in the span that match no label.

        Parameters
        ----------
        incidents : pd.DataFrame
            ``product, onset, alerted_at`` of the whole series.
        start, end : pd.Timestamp
            The span.

        Returns
        -------
        pd.DataFrame
            ``product, onset, alerted_at``.
        """
        labels = self.labels
        whole = self._whole(incidents)
        status = whole.incident_status
        label_in = ((labels["onset"] >= start) & (labels["onset"] < end)).to_numpy()
        matched = (status["status"] == "tp").to_numpy()
        onset_in = ((status["onset"] >= start) & (status["onset"] < end)).to_numpy()
        # A match counts in the span of every label it found (one incident may find two
        # overlapping labels on either side of an edge: a hit of each block, as the
        # search's units count it); an incident that matches no label, by its onset.
        found = whole.matches["tp"].to_numpy(dtype=bool) & label_in
        finds_here = np.zeros(len(status), dtype=bool)
        finds_here[whole.matches.loc[found, "incident"].to_numpy(dtype=int)] = True
        keep = np.where(matched, finds_here, onset_in)
        return status.loc[keep, ["product", "onset", "alerted_at"]].reset_index(drop=True)

    def evaluation(self, incidents: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp,
                   products: list[str] | None = None, *, selected: bool = False
                   ) -> Evaluation:
        """Figures of `incidents` on ``[start, end)`` by the rules of EVALUATION.md, as
        :meth:`tally` counts them: the labels with an onset in the span, the incidents
        that count there (:meth:`counted`), the product-weeks of the span.

        Parameters
        ----------
        incidents : pd.DataFrame
            ``product, onset, alerted_at`` of the whole series.
        start, end : pd.Timestamp
            The span.
        products : list of str, optional
            Only these products.
        selected : bool
            `incidents` are those that count in the span already (of several settings,
            each over its own part of the span).

        Returns
        -------
        Evaluation
        """
        from spikes.model import product_weeks

        inc = incidents if selected else self.counted(incidents, start, end)
        lab = self.labels[(self.labels["onset"] >= start) & (self.labels["onset"] < end)]
        counts = self.data.counts
        if products is not None:
            inc = inc[inc["product"].isin(products)]
            lab = lab[lab["product"].isin(products)]
            counts = counts[[c for c in counts.columns if str(c) in set(products)]]
        weeks = product_weeks(counts, self.data.bucket, start, end)
        return self._evaluate(inc, lab[["product", "onset", "end"]],
                              product_weeks=weeks or None)


def _weeks_per_unit(counts: pd.DataFrame, bucket: pd.Timedelta, starts: list[pd.Timestamp],
                    ends: list[pd.Timestamp]) -> np.ndarray:
    """Product-weeks of data per unit (product-major, chunk-minor), as
    :func:`spikes.model.product_weeks` counts them."""
    seen = ~np.isnan(counts.to_numpy(dtype=float))
    index = counts.index
    out = np.zeros((counts.shape[1], len(starts)))
    for c, (start, end) in enumerate(zip(starts, ends, strict=True)):
        rows = (index >= start) & (index < end)
        part = seen[rows]
        if part.size == 0:
            continue
        first = np.argmax(part, axis=0)
        last = len(part) - 1 - np.argmax(part[::-1], axis=0)
        spans = np.where(part.any(axis=0), last - first + 1, 0)
        out[:, c] = spans * (bucket / pd.Timedelta(days=7))
    return out.reshape(-1)
