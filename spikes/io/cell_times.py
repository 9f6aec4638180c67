"""Times of a hand-made table's column (labels, incidents, calendars) that are not
ISO-8601, read as report files read them: ``22/01/2026 19:00``, ``1/22/2026 7:00 PM``,
``Jan 22, 2026 7:00 PM``, day or month first as a date order says or as the column's
dates show; where they cannot show it, refused with the advice to say it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from spikes.errors import SpikesInputError
from spikes.io.timestamps import DateReading, read_time_texts

__all__ = ["read_time_cells"]


def read_time_cells(texts: Sequence[str], wheres: Sequence[str], tz: str | None = None,
                    date_order: str | None = None) -> list[pd.Timestamp]:
    """Times of a column: ISO-8601 ones by themselves, the others read together as
    report files read them (:func:`spikes.io.timestamps.read_time_texts`), in the
    day/month order `date_order` gives, else in the one order that reads more of them.

    Parameters
    ----------
    texts : sequence of str
        The cells (of one column, or of the columns a table's times share an order in).
    wheres : sequence of str
        Where each cell is, for messages (``"labels.csv line 3, column 'onset'"``).
    tz : str, optional
        Zone of naive times (they are returned naive: wall-clock times there).
    date_order : {"dmy", "mdy"}, optional
        Day/month order of numeric dates; None: the dates decide.

    Returns
    -------
    list of pd.Timestamp
        Aware (UTC) where the text gave an offset, naive otherwise.

    Raises
    ------
    SpikesInputError
        For a text that is no time, and for numeric dates that read as other days day
        first and month first when nothing among them tells which (no day above 12) and
        `date_order` is not given.

    Examples
    --------
    >>> read_time_cells(["22/01/2026 19:00", "01/02/2026 08:00"], ["a", "b"])
    [Timestamp('2026-01-22 19:00:00'), Timestamp('2026-02-01 08:00:00')]
    """
    stamps: list[pd.Timestamp | None] = []
    for text in texts:  # ISO-8601 by itself; the others together, below
        try:
            stamps.append(pd.Timestamp(datetime.fromisoformat(text)))
        except ValueError:
            stamps.append(None)
    others = [i for i, stamp in enumerate(stamps) if stamp is None]
    if others:
        read = _read_others([texts[i] for i in others], [wheres[i] for i in others], tz,
                            date_order)
        for i, stamp in zip(others, read, strict=True):
            stamps[i] = stamp
    return stamps  # type: ignore[return-value]


def _read_others(texts: Sequence[str], wheres: Sequence[str], tz: str | None,
                 date_order: str | None) -> list[pd.Timestamp]:
    """The times of :func:`read_time_cells` that are not ISO-8601."""
    series = pd.Series(list(texts), dtype=object)
    orders = (date_order,) if date_order else ("dmy", "mdy")
    readings = [read_time_texts(series, tz, DateReading(order=order)) for order in orders]
    values, aware = readings[0]
    if len(readings) == 2:
        (dmy, _), (mdy, _) = readings
        read_dmy, read_mdy = int((~np.isnat(dmy)).sum()), int((~np.isnat(mdy)).sum())
        differ = np.flatnonzero(~np.isnat(dmy) & ~np.isnat(mdy) & (dmy != mdy))
        if read_dmy == read_mdy and differ.size:
            i = int(differ[0])
            day, month = pd.Timestamp(dmy[i]), pd.Timestamp(mdy[i])
            raise SpikesInputError(
                f"{wheres[i]}: {texts[i]!r} is {day.day} {day:%B %Y} day first or "
                f"{month.day} {month:%B %Y} month first, and no date of the column has a "
                "day above 12 to tell: pass --date-order dmy or mdy (or write the dates "
                "as ISO-8601, 2026-01-22)")
        if read_mdy > read_dmy:
            values, aware = readings[1]
    bad = np.flatnonzero(np.isnat(values))
    if bad.size:
        i = int(bad[0])
        raise SpikesInputError(
            f"{wheres[i]}: {texts[i]!r} is not a timestamp (expected ISO-8601, such as "
            "2026-01-22T19:00, or a date and time as report files write them, such as "
            "22/01/2026 19:00 or Jan 22, 2026 7:00 PM)")
    return [pd.Timestamp(value, tz="UTC") if given else pd.Timestamp(value)
            for value, given in zip(values, aware, strict=True)]
