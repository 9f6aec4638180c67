"""A product of count data whose rows are further apart than the grid's bucket: one that
changed its spacing (an export that went from 5-minute to 15-minute rows), or one whose
rows are all coarser than the other products' (hourly beside 5-minute rows). Said, since
on the grid of the finer bucket the buckets between its rows are missing and each row
holds several buckets' reports.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spikes.model import bucket_text

#: Gaps of the wider spacing a product's rows must end with, and of one bucket before
#: them, for a change of spacing to be judged.
MIN_GAPS = 10
#: Share of the gaps before that run that must be one bucket.
STEADY = 0.8


def spacing_changes(counts: pd.DataFrame, bucket: pd.Timedelta) -> tuple[str, ...]:
    """A note naming the products of count data whose rows, from some time on, are a
    multiple of the bucket apart while they began a bucket apart (none where none is).

    Parameters
    ----------
    counts : pd.DataFrame
        Counts per bucket (NaN = missing), one column per product.
    bucket : pd.Timedelta
        The grid's bucket size.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> idx = pd.date_range("2026-01-05", periods=150, freq="5min", tz="UTC")
    >>> y = pd.Series(4.0, index=idx)
    >>> y.iloc[60:] = [12.0 if i % 3 == 0 else np.nan for i in range(90)]
    >>> note, = spacing_changes(y.to_frame("A"), pd.Timedelta("5min"))
    >>> note.split(" UTC")[0]
    "'A' has rows 15min apart from 2026-01-05 05:00"
    """
    found = []
    known = counts.notna().to_numpy()
    values = counts.to_numpy(dtype=float)
    for j, name in enumerate(counts.columns):
        rows = np.flatnonzero(known[:, j])
        if len(rows) < 2 * MIN_GAPS + 2:
            continue
        gaps = np.diff(rows)
        step = int(gaps[-1])
        if step < 2:
            continue
        # The run of gaps of that spacing (or missing rows of it: multiples) at the end.
        off = np.flatnonzero(gaps % step != 0)
        first = int(off[-1]) + 1 if len(off) else 0
        before = gaps[:first]
        if (len(gaps) - first < MIN_GAPS or len(before) < MIN_GAPS
                or (before == 1).mean() < STEADY):
            continue
        wide = np.median(values[rows[first:], j])
        fine = np.median(values[rows[max(first - 3 * MIN_GAPS, 0) : first], j])
        # Several buckets' reports (about `step` times the rows before), not rows of one
        # bucket with others missing between them: nearer `step` times than once, on a
        # log scale.
        if wide < np.sqrt(step) * fine:
            continue
        found.append(f"{str(name)!r} has rows {bucket_text(step * bucket)} apart from "
                     f"{counts.index[rows[first]]:%Y-%m-%d %H:%M} UTC on "
                     f"({bucket_text(bucket)} before)")
    if not found:
        return ()
    shown = "; ".join(found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
    return (f"{shown}: on a grid of {bucket_text(bucket)}, the buckets between its rows are "
            "missing and each row holds several buckets' reports (read as outages); split "
            "the file, or pass --bucket at the coarser spacing",)


def coarser_products(counts: pd.DataFrame, bucket: pd.Timedelta) -> tuple[str, ...]:
    """A note naming the products of count data whose rows are all a multiple of the
    bucket apart (the grid follows other products' finer rows), none where none is.

    Parameters
    ----------
    counts : pd.DataFrame
        Counts per bucket (NaN = missing), one column per product.
    bucket : pd.Timedelta
        The grid's bucket size.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> idx = pd.date_range("2026-01-05", periods=240, freq="5min", tz="UTC")
    >>> frame = pd.DataFrame({"A": 4.0, "B": [36.0 if i % 12 == 0 else np.nan
    ...                                        for i in range(240)]}, index=idx)
    >>> note, = coarser_products(frame, pd.Timedelta("5min"))
    >>> note.split(":")[0]
    "'B' has rows 1h apart"
    """
    found = []
    known = counts.notna().to_numpy()
    for j, name in enumerate(counts.columns):
        rows = np.flatnonzero(known[:, j])
        if len(rows) < MIN_GAPS + 1:
            continue
        gaps = np.diff(rows)
        step = int(np.median(gaps))
        if step < 2 or (gaps % step != 0).any() or (gaps == step).mean() < STEADY:
            continue
        found.append((str(name), step))
    if not found:
        return ()
    shown = "; ".join(f"{name!r} has rows {bucket_text(step * bucket)} apart"
                      for name, step in found[:5])
    shown += f"; and {len(found) - 5} more" if len(found) > 5 else ""
    every = len(found) == counts.shape[1]
    grid = ("the bucket asked for" if every else "the other products' rows")
    return (f"{shown}: the grid is {bucket_text(bucket)} ({grid}), so each row lands "
            "in one bucket with the buckets between missing; pass --bucket at the rows' "
            "spacing" + ("" if every else ", or analyze such products in a run of their "
                         "own"),)
