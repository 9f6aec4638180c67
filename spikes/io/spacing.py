"""A change of a product's spacing inside count data (an export that went from 5-minute
to 15-minute rows): said, since on the grid of the finer bucket two buckets of three are
then missing and each row holds three buckets' reports (false outages).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spikes.model import bucket_text

#: Share of a product's gaps, in the last third of its rows, that must be one multiple
#: (2 or more) of the bucket, where its first third's are mostly one bucket.
STEADY = 0.8
#: Rows a product needs for its spacing to be judged (a third of them at least 10 gaps).
MIN_ROWS = 30


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
    for j, name in enumerate(counts.columns):
        rows = np.flatnonzero(known[:, j])
        if len(rows) < MIN_ROWS:
            continue
        gaps = np.diff(rows)
        third = len(gaps) // 3
        early, late = gaps[:third], gaps[-third:]
        values, times = np.unique(late, return_counts=True)
        step = int(values[np.argmax(times)])
        if (step < 2 or times.max() < STEADY * len(late)
                or (early == 1).mean() < STEADY):
            continue
        # Where the wide spacing begins: the first of the run of such gaps that ends it.
        other = np.flatnonzero(gaps != step)
        start = rows[other[-1] + 1] if len(other) else rows[0]
        found.append(f"{str(name)!r} has rows {bucket_text(step * bucket)} apart from "
                     f"{counts.index[start]:%Y-%m-%d %H:%M} UTC on ({bucket_text(bucket)} "
                     "before)")
    if not found:
        return ()
    shown = "; ".join(found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
    return (f"{shown}: on a grid of {bucket_text(bucket)}, the buckets between its rows are "
            "missing and each row holds several buckets' reports (read as outages); split "
            "the file, or pass --bucket at the coarser spacing",)
