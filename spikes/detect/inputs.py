"""What the detection checks of its input before it runs: counts that are numbers, on one
regular UTC grid of the bucket, one column per product (as
:func:`spikes.io.buckets.load_reports` makes them); every problem one clear line."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.days import check_utc_index
from spikes.errors import SpikesInputError
from spikes.model import ReportData, bucket_text

__all__ = ["check_counts", "check_grid"]


def check_arguments(data: object, config: object, calendar: object = None) -> None:
    """The types of :func:`spikes.detect.pipeline.analyze`'s arguments, each refused with
    what to give instead.

    Raises
    ------
    SpikesInputError
    """
    from spikes.detect.known_events import Calendar

    if not isinstance(data, ReportData):
        raise SpikesInputError(
            f"the data: a ReportData (spikes.io.buckets.load_reports gives one; or "
            f"ReportData(counts=frame, bucket='5min')), not a {type(data).__name__}")
    if config is not None and not isinstance(config, DetectionConfig):
        raise SpikesInputError(
            f"config: a DetectionConfig (DetectionConfig(min_ratio=3.0), or "
            f"spikes.config.load_config('spikes.toml')), not a {type(config).__name__}")
    if calendar is not None and not isinstance(calendar, Calendar):
        raise SpikesInputError(
            f"calendar: a Calendar (spikes.io.calendar.read_calendar('calendar.csv')), not "
            f"a {type(calendar).__name__}")


def check_counts(data: ReportData) -> None:
    """Counts must be numbers (not text, times or true/false), finite and non-negative
    (NaN = missing is fine)."""
    counts = data.counts
    if not isinstance(counts, pd.DataFrame):
        raise SpikesInputError(f"the counts need a DataFrame (one column per product), not "
                               f"a {type(counts).__name__}")
    _check_product_names(counts.columns)
    for column, dtype in counts.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype) or not (
                pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_object_dtype(dtype)):
            raise SpikesInputError(f"counts of {column!r}: {dtype} values (expected numbers "
                                   f"of reports)")
    try:
        values = counts.to_numpy(dtype=float)
    except (TypeError, ValueError):  # an object column of text, or of pd.NA
        for j, column in enumerate(counts.columns):
            try:
                counts.iloc[:, j].to_numpy(dtype=float)
            except (TypeError, ValueError) as exc:
                raise SpikesInputError(
                    f"counts of {column!r}: not all numbers ({exc}); give numbers, NaN "
                    f"where a count is missing (or a numeric dtype such as Float64)"
                ) from None
        raise
    bad = np.isinf(values) | (values < 0)
    if bad.any():
        row, col = (int(i[0]) for i in np.nonzero(bad))
        raise SpikesInputError(
            f"counts of {data.counts.columns[col]!r} at {data.counts.index[row]}: "
            f"{float(values[row, col])!r} (expected a finite count >= 0)"
        )


def _check_product_names(columns: pd.Index) -> None:
    """Products are one level of names: a column of several levels (a MultiIndex, a tuple)
    has no one name to show, configure or group by."""
    if isinstance(columns, pd.MultiIndex):
        raise SpikesInputError(
            f"the counts' columns have {columns.nlevels} levels; "
            f"give one column per product with one name each, e.g. counts.columns = "
            f"['/'.join(map(str, c)) for c in counts.columns]")
    for column in columns:
        if isinstance(column, tuple):
            raise SpikesInputError(
                f"counts column {column!r}: a tuple, not a product name; give each "
                f"product one name (text), e.g. {'/'.join(map(str, column))!r}")


def check_grid(data: ReportData, config: DetectionConfig) -> None:
    """The counts must be one regular UTC grid of ``data.bucket`` with unique products
    (what :func:`spikes.io.buckets.load_reports` gives): a missing row would shift every
    later day of the seasonal baseline. Live detection also needs a bucket that divides
    a day (it compares each bucket with the same time of day on earlier days)."""
    counts, bucket = data.counts, pd.Timedelta(data.bucket)
    if counts.shape[1] == 0:
        raise SpikesInputError("the data hold no product (no column of counts)")
    # Products are known by their names as text: 1 and "1" are one product.
    names = pd.Index([str(c) for c in counts.columns])
    duplicated = names[names.duplicated()]
    if len(duplicated):
        raise SpikesInputError(
            f"product {duplicated[0]!r} has more than one column of counts (columns are "
            f"products by their names as text)")
    index = counts.index
    check_utc_index(index)
    if bucket <= pd.Timedelta(0):
        raise SpikesInputError(f"the bucket must be a positive duration, not {bucket}")
    # In the index's own unit (years past 2262 do not fit nanoseconds).
    steps = np.diff(index.asi8)
    wrong = np.flatnonzero(steps != bucket // pd.Timedelta(1, unit=index.unit))
    size = bucket_text(bucket)
    if len(wrong):
        i = int(wrong[0])
        raise SpikesInputError(
            f"the counts are not a regular grid of {size}: {index[i + 1]} follows "
            f"{index[i]} (give every bucket a row, NaN where there is no data; "
            "spikes.io.buckets.load_reports does)")
    day = pd.Timedelta(days=1)
    if (any(config.for_product(str(p)).mode == "causal" for p in counts.columns)
            and (bucket > day or day.value % bucket.value)):
        raise SpikesInputError(
            f"live detection compares each bucket with the same time of day on earlier "
            f"days, so the bucket must divide a day (1, 5, 10, 15, 30 min, 1 h, 1 day, "
            f"...), not {size}: re-bucket the data (--bucket) or detect with "
            "hindsight (retrospective mode: analyze --retrospective, or mode = "
            "\"retrospective\" in --config)")
