"""Figures of a configuration on the two time slices.

:class:`Evaluator` holds what every trial of one search shares: the scores (computed once
per score setting and cached, see :func:`score_signature`), the labels and product-weeks of
each slice. :func:`evaluate_config` evaluates one configuration on its own (e.g. a loaded
TOML result). Both return :class:`SliceScores`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from spikes.config import DetectionConfig
from spikes.errors import SpikesInputError
from spikes.evaluation.tune.split import TimeSplit, time_split
from spikes.model import product_weeks as slice_product_weeks

if TYPE_CHECKING:  # the pipeline (scipy) is imported on use: `spikes --help` stays quick
    from spikes.detect.pipeline import Scored
    from spikes.evaluation.evaluate import Evaluation
    from spikes.model import ReportData


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


class ScoreCache:
    """The scores of one data set per score setting (see
    :func:`spikes.detect.pipeline.score_reports`), computed on first use, and the
    detector's and scorer's functions: what every trial of a search shares.

    Parameters
    ----------
    scored : Scored
        The reports scored with one configuration.
    early_allowance : pd.Timedelta, optional
        How long before a label's onset an incident onset still matches it (see
        :func:`spikes.evaluation.evaluate.evaluate`; its 10 minutes when None, 0 for
        labels that are windows, as NAB's).
    """

    def __init__(self, scored: Scored, early_allowance: pd.Timedelta | None = None) -> None:
        from spikes.detect.pipeline import find_incidents, score_reports
        from spikes.evaluation.evaluate import evaluate

        evaluate = (evaluate if early_allowance is None
                    else functools.partial(evaluate, early_allowance=early_allowance))
        self._evaluate, self._find, self._score = evaluate, find_incidents, score_reports
        self.data = scored.data
        self._scored = {score_signature(scored.config): scored}

    def scored_for(self, config: DetectionConfig) -> Scored:
        """The scores of `config`'s score settings (computed on first use).

        Parameters
        ----------
        config : DetectionConfig

        Returns
        -------
        Scored
        """
        key = score_signature(config)
        if key not in self._scored:
            self._scored[key] = self._score(self.data, config)
        return self._scored[key]


class Evaluator(ScoreCache):
    """Scores (cached per score setting), split labels and product-weeks of one run.

    Parameters
    ----------
    scored : Scored
        The reports scored with one configuration (more score settings are scored on
        first use).
    labels : pd.DataFrame
        Validated true outages.
    split : TimeSplit
        The time slices.

    Attributes
    ----------
    data : ReportData
        The reports.
    split : TimeSplit
        The time slices.
    labels_train, labels_val : pd.DataFrame
        The labels whose onset falls in each slice.
    weeks_train, weeks_val : float
        Product-weeks of data in each slice.
    """

    def __init__(self, scored: Scored, labels: pd.DataFrame, split: TimeSplit) -> None:
        super().__init__(scored)
        self.split = split
        in_train = split.which(labels["onset"])
        self.labels_train = labels[in_train].reset_index(drop=True)
        self.labels_val = labels[~in_train].reset_index(drop=True)
        counts, bucket = self.data.counts, self.data.bucket
        self.weeks_train = slice_product_weeks(counts, bucket, split.start, split.split)
        self.weeks_val = slice_product_weeks(counts, bucket, split.split, split.end)

    def incidents(self, config: DetectionConfig, products: Sequence[str] | None = None
                  ) -> pd.DataFrame:
        """Incidents of `config` (of `products` only when given), ``product, onset``.

        Parameters
        ----------
        config : DetectionConfig
        products : sequence of str, optional

        Returns
        -------
        pd.DataFrame
            ``product`` (str) and ``onset`` (UTC), also when empty.
        """
        return _typed_incidents(self._find(self.scored_for(config), config,
                                           products=products))

    def evaluate(self, config: DetectionConfig, products: Sequence[str] | None = None
                 ) -> SliceScores:
        """Figures of `config` on both slices (only `products` when given: their labels,
        incidents and product-weeks).

        Parameters
        ----------
        config : DetectionConfig
        products : sequence of str, optional

        Returns
        -------
        SliceScores
        """
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


def label_notes(labels: pd.DataFrame, data: ReportData, split: TimeSplit, *,
                counted: bool = True) -> tuple[str, ...]:
    """What the user should know about the labels: those of products not in the data and
    those outside the data span (both count as missed where `counted`, as
    :func:`evaluate_config` counts them; the search of ``spikes tune`` leaves them out of
    its scores: no setting can find them).

    Parameters
    ----------
    labels : pd.DataFrame
        Validated true outages.
    data : ReportData
        The reports.
    split : TimeSplit
        The time slices.
    counted : bool
        Whether the scores the notes go with count those labels as missed.

    Returns
    -------
    tuple of str
        Notes, empty when all is well.

    Raises
    ------
    SpikesInputError
        If the labels name none of the products in the data.
    """
    products = {str(p) for p in data.counts.columns}
    notes = []
    if len(labels) and not set(labels["product"]) & products:
        theirs = ", ".join(sorted(set(labels["product"]))[:3])
        ours = ", ".join(sorted(products)[:3])
        raise SpikesInputError(
            f"labels name none of the {len(products)} products in the data (the data: "
            f"{ours}{', ...' if len(products) > 3 else ''}; the labels: {theirs}"
            f"{', ...' if labels['product'].nunique() > 3 else ''}); are they the labels "
            "of this data?")
    absent = ~labels["product"].isin(products)
    unknown = int(absent.sum())
    fate = "count as missed" if counted else "are left out of the scores"
    if unknown:
        names = sorted(set(labels.loc[absent, "product"].astype(str)))
        shown = ", ".join(map(repr, names[:10])) + (
            f" and {len(names) - 10} more" if len(names) > 10 else "")
        notes.append(f"{unknown} label(s) of products not in the data ({shown}) {fate}")
    outside = int(((labels["onset"] < split.start) | (labels["onset"] >= split.end)).sum())
    if outside:
        notes.append(f"{outside} label(s) start outside the data span and {fate}")
    return tuple(notes)


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
    label_notes(labels, scored.data, the_split)
    return Evaluator(scored, labels, the_split).evaluate(config), the_split
