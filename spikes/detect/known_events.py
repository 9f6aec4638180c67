"""Known events: planned windows (maintenance, releases, expected surges) of a calendar.

A :class:`Calendar` holds windows ``[start, end)`` per product (or ``*`` for every
product). They do two things in the pipeline:

- **baseline**: the buckets of a product that overlap one of its windows are kept out of
  its baseline's history, as outage-masked buckets are
  (:meth:`Calendar.mask`, used by :func:`spikes.detect.pipeline.score_reports`), so a
  surge during a maintenance does not raise the usual volume of the following days;
- **incidents**: an incident whose onset lies in a window of its product gets the
  window's kind and note in ``known_event`` (:func:`known_event_labels`); it is still
  reported (the surge was real), and notifications can tell it apart.

The windows are known ahead (planned), so using them at any time is causal. The reader of
calendar files is :func:`spikes.io.calendar.read_calendar`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ALL_PRODUCTS", "CALENDAR_COLUMNS", "Calendar", "known_event_labels"]

#: The product name of a window that holds for every product.
ALL_PRODUCTS = "*"
#: Columns of :attr:`Calendar.windows`.
CALENDAR_COLUMNS = ["product", "start", "end", "kind", "note"]


def _empty_windows() -> pd.DataFrame:
    return pd.DataFrame({
        "product": pd.Series(dtype="object"),
        "start": pd.Series(dtype="datetime64[us, UTC]"),
        "end": pd.Series(dtype="datetime64[us, UTC]"),
        "kind": pd.Series(dtype="object"),
        "note": pd.Series(dtype="object"),
    })


@dataclass(frozen=True)
class Calendar:
    """Known-event windows.

    Attributes
    ----------
    windows : pd.DataFrame
        Columns :data:`CALENDAR_COLUMNS`: ``product`` (a name, or ``*`` for all),
        ``start`` and ``end`` (UTC, ``start < end``, the window is ``[start, end)``),
        ``kind`` (maintenance, release, expected surge, ...) and ``note`` (may be empty),
        sorted by start.
    source : str
        Where the windows come from (a file name), for messages.

    Examples
    --------
    >>> cal = Calendar.from_records([("Outlook", "2026-01-13 15:00", "2026-01-13 18:00",
    ...                               "maintenance", "mailbox migration")])
    >>> cal.windows["kind"].tolist()
    ['maintenance']
    """

    windows: pd.DataFrame = field(default_factory=_empty_windows)
    source: str = "calendar"

    @classmethod
    def from_records(cls, records: Iterable[tuple], source: str = "calendar") -> Calendar:
        """A calendar from ``(product, start, end, kind[, note])`` tuples; naive times are
        UTC. No checks beyond the types: :func:`spikes.io.calendar.read_calendar` checks
        a file line by line."""
        rows = [tuple(r) + ("",) * (5 - len(r)) for r in records]
        if not rows:
            return cls(source=source)
        frame = pd.DataFrame(rows, columns=CALENDAR_COLUMNS)
        for column in ("start", "end"):
            stamps = [pd.Timestamp(v) for v in frame[column]]
            frame[column] = pd.Series(
                [t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC") for t in stamps],
                index=frame.index).astype("datetime64[us, UTC]")
        for column in ("product", "kind", "note"):
            frame[column] = frame[column].fillna("").astype(str).astype(object)
        frame = frame.sort_values(["start", "product"], kind="stable").reset_index(drop=True)
        return cls(windows=frame, source=source)

    def __len__(self) -> int:
        return len(self.windows)

    def for_products(self, products: Iterable[str]) -> pd.DataFrame:
        """The windows that hold for any of `products` (their own and ``*``)."""
        wanted = {str(p) for p in products} | {ALL_PRODUCTS}
        return self.windows[self.windows["product"].isin(wanted)]

    def unknown_products(self, products: Iterable[str]) -> list[str]:
        """Products named by windows that are not among `products` (``*`` aside), in
        order of appearance: such windows apply to nothing in this data."""
        known = {str(p) for p in products} | {ALL_PRODUCTS}
        return list(dict.fromkeys(p for p in self.windows["product"] if p not in known))

    def mask(self, index: pd.DatetimeIndex, columns: Iterable[object],
             bucket: pd.Timedelta) -> np.ndarray:
        """Buckets that overlap a window of their product, as a boolean array.

        Parameters
        ----------
        index : pd.DatetimeIndex
            Bucket starts (UTC).
        columns : iterable
            Product column labels (matched by ``str(label)``).
        bucket : pd.Timedelta
            Bucket size: bucket ``[t, t + bucket)`` overlaps window ``[start, end)`` when
            ``t < end`` and ``t + bucket > start``.

        Returns
        -------
        np.ndarray
            Shape ``(len(index), len(columns))``, True inside a window.
        """
        names = [str(c) for c in columns]
        out = np.zeros((len(index), len(names)), dtype=bool)
        if not len(self.windows) or not len(index):
            return out
        position = {name: j for j, name in enumerate(names)}
        stamps = index.as_unit("us").asi8
        step = pd.Timedelta(bucket).value // 1000
        starts, ends = _micros(self.windows["start"]), _micros(self.windows["end"])
        for product, start, end in zip(self.windows["product"], starts, ends, strict=True):
            lo = int(np.searchsorted(stamps, start - step, side="right"))
            hi = int(np.searchsorted(stamps, end, side="left"))
            if hi <= lo:
                continue
            if product == ALL_PRODUCTS:
                out[lo:hi, :] = True
            elif product in position:
                out[lo:hi, position[product]] = True
        return out


def _micros(stamps: pd.Series) -> np.ndarray:
    """UTC times as int64 microseconds since the epoch."""
    values = pd.to_datetime(stamps, utc=True)
    return values.dt.as_unit("us").astype("int64").to_numpy()


def known_event_labels(incidents: pd.DataFrame, calendar: Calendar | None) -> pd.Series:
    """``known_event`` of each incident: the windows its onset lies in.

    Parameters
    ----------
    incidents : pd.DataFrame
        Incidents with ``product`` and ``onset``.
    calendar : Calendar or None
        The known events; None gives no label.

    Returns
    -------
    pd.Series
        Per incident (same index), ``"kind: note"`` (``"kind"`` without a note) of each
        window of its product or of ``*`` with ``start <= onset < end``, joined by
        ``"; "``; empty text when none.
    """
    out = pd.Series([""] * len(incidents), index=incidents.index, dtype="object")
    if calendar is None or not len(calendar) or incidents.empty:
        return out
    windows = calendar.windows
    onsets = _micros(incidents["onset"])
    starts, ends = _micros(windows["start"]), _micros(windows["end"])
    products = incidents["product"].astype(str).to_numpy()
    everyone = np.arange(len(incidents))
    of_product = pd.Series(everyone).groupby(products, sort=False).indices
    labels: list[list[str]] = [[] for _ in range(len(incidents))]
    for product, kind, note, start, end in zip(windows["product"], windows["kind"],
                                               windows["note"], starts, ends, strict=True):
        rows = everyone if product == ALL_PRODUCTS else of_product.get(product)
        if rows is None:
            continue
        inside = rows[(onsets[rows] >= start) & (onsets[rows] < end)]
        text = f"{kind}: {note}" if note else str(kind)
        for i in inside:
            labels[i].append(text)
    out[:] = ["; ".join(dict.fromkeys(parts)) for parts in labels]
    return out
