"""A bounded window of the latest rows of per-bucket arrays, addressed by absolute row.

The streaming detector (:mod:`spikes.detect.stream`) keeps the last days of counts,
baselines, scores and thresholds, not the whole history: rows are appended as buckets
close and the oldest are dropped once nothing needs them, so memory stays flat.
"""

from __future__ import annotations

import numpy as np


class Ring:
    """Named 2-D arrays (rows = buckets, columns = products) sharing one row window.

    Row ``r`` of the series is row ``r - origin`` of each array. Arrays are kept in
    Fortran order (time down each column), as the batch code keeps its series, so that
    numpy reduces a slice of them in the same order (and to the same bits).

    Parameters
    ----------
    fields : dict of str to (dtype, fill)
        Each array's type and the value of rows and columns not yet written.
    columns : int
        Number of columns.
    origin : int
        Absolute row of the first row.
    """

    def __init__(self, fields: dict[str, tuple[type, object]], columns: int,
                 origin: int = 0) -> None:
        self.fields = dict(fields)
        self.columns = columns
        self.origin = origin
        self.size = 0  # rows held
        self.data = {name: np.full((64, columns), fill, dtype=dtype, order="F")
                     for name, (dtype, fill) in self.fields.items()}

    @property
    def stop(self) -> int:
        """Absolute row after the last one held."""
        return self.origin + self.size

    def __getitem__(self, name: str) -> np.ndarray:
        """The rows held of array `name` (a view)."""
        return self.data[name][: self.size]

    def extend(self, rows: int) -> slice:
        """Append `rows` rows (filled with each array's fill value); their local slice."""
        need = self.size + rows
        capacity = len(next(iter(self.data.values())))
        if need > capacity:
            new = max(need, 2 * capacity)
            for name, (dtype, fill) in self.fields.items():
                grown = np.full((new, self.columns), fill, dtype=dtype, order="F")
                grown[: self.size] = self.data[name][: self.size]
                self.data[name] = grown
        for name, (_, fill) in self.fields.items():
            self.data[name][self.size : need] = fill
        start, self.size = self.size, need
        return slice(start, need)

    def add_columns(self, count: int) -> None:
        """Append `count` columns, filled with each array's fill value."""
        for name, (dtype, fill) in self.fields.items():
            old = self.data[name]
            grown = np.full((len(old), self.columns + count), fill, dtype=dtype, order="F")
            grown[:, : self.columns] = old
            self.data[name] = grown
        self.columns += count

    def forget(self, before: int) -> None:
        """Drop the rows before absolute row `before` (once they are a quarter of the
        rows held or more, so that the copy is amortised); the arrays shrink to twice
        the rows kept."""
        drop = min(before, self.stop) - self.origin
        if drop <= 0 or drop * 4 < self.size:
            return
        keep = self.size - drop
        capacity = max(64, 2 * keep)
        for name, (dtype, fill) in self.fields.items():
            kept = np.full((capacity, self.columns), fill, dtype=dtype, order="F")
            kept[:keep] = self.data[name][drop : self.size]
            self.data[name] = kept
        self.origin += drop
        self.size = keep

    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return sum(a.nbytes for a in self.data.values())
