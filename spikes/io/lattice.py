"""The grid of times a file of counts is written on, and its rows a little off it.

A scraper that polls every 5 minutes stamps its counts a few seconds early or late
(``12:04:57``, ``12:10:02``); flooring such times to the bucket grid puts two rows of a
product in one bucket and leaves the next one empty: a doubled peak, an outage's onset a
bucket early, a gap. Counts are written on a lattice of times, their spacing apart at one
phase (:func:`find_lattice`: ``21:42:53``, ``21:47:53`` ... is one at an odd phase, whose
rows each keep their own bucket); a row within a quarter of the spacing of a lattice
point is taken as that point's (:func:`snap`), then floored to the grid as before. Report
events are never moved: each is a report at its own time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Share of the spacing within which a row is taken as its nearest lattice point: a
#: quarter, well inside the half at which a row could be either neighbour's.
TOLERANCE = 0.25
#: Share of a file's rows that must lie within the tolerance of the lattice for it to be
#: one: rows at any time (irregular sampling) are floored as they are.
ON_LATTICE = 0.5
_SECOND = 1_000_000  # microseconds
#: Bucket sizes exports are written at, in seconds (1 s to a day).
USUAL_SPACINGS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200,
                  10800, 14400, 21600, 43200, 86400)
#: How close, as a share, a file's most common spacing must lie to one of
#: :data:`USUAL_SPACINGS` to be taken as it.
USUAL_CLOSE = 0.02


@dataclass(frozen=True)
class Lattice:
    """Times ``phase + k x spacing`` (microseconds since the epoch), and how far from one
    a row may lie to be taken as it."""

    spacing: int
    phase: int
    tolerance: int


def find_lattice(stamps: np.ndarray, spacing: int) -> Lattice | None:
    """The lattice of count rows `stamps` (microseconds since the epoch) whose most
    common spacing is `spacing`: the most common phase, to the second; None where under
    :data:`ON_LATTICE` of the rows lie within :data:`TOLERANCE` of it, or none lies off it
    (nothing to move).

    Examples
    --------
    >>> minute = 60 * _SECOND
    >>> stamps = np.array([0, 5, 10, 15]) * minute + np.array([0, -3, 2, 0]) * _SECOND
    >>> find_lattice(stamps, 5 * minute)
    Lattice(spacing=300000000, phase=0, tolerance=75000000)
    >>> find_lattice(np.array([0, 5, 10]) * minute, 5 * minute) is None  # all on it
    True
    """
    if spacing < 2 * _SECOND or not len(stamps):
        return None
    seconds = (stamps % spacing) // _SECOND
    values, counts = np.unique(seconds, return_counts=True)
    phase = int(values[np.argmax(counts)]) * _SECOND
    tolerance = int(spacing * TOLERANCE)
    off = _offsets(stamps, phase, spacing)
    near = np.abs(off) <= tolerance
    if near.mean() < ON_LATTICE or not (near & (off != 0)).any():
        return None
    return Lattice(spacing, phase, tolerance)


def snap(stamps: np.ndarray, lattice: Lattice) -> tuple[np.ndarray, int]:
    """`stamps` with those within the lattice's tolerance of a lattice point moved onto
    it, and how many were moved.

    Examples
    --------
    >>> minute = 60 * _SECOND
    >>> lattice = Lattice(5 * minute, 0, 75 * _SECOND)
    >>> moved, n = snap(np.array([297, 602, 900, 1020]) * _SECOND, lattice)
    >>> (moved // _SECOND).tolist(), n
    ([300, 600, 900, 1020], 2)
    """
    off = _offsets(stamps, lattice.phase, lattice.spacing)
    move = (off != 0) & (np.abs(off) <= lattice.tolerance)
    return np.where(move, stamps - off, stamps), int(move.sum())


def _offsets(stamps: np.ndarray, phase: int, spacing: int) -> np.ndarray:
    """Each stamp's signed distance to its nearest lattice point (in ``[-spacing / 2,
    spacing / 2)``)."""
    off = (stamps - phase) % spacing
    return np.where(off >= spacing - spacing // 2, off - spacing, off)


def usual_spacing(seconds: int) -> int:
    """The usual bucket size within :data:`USUAL_CLOSE` of `seconds` (the most common gap
    between a product's rows), else `seconds` itself: a scraper's timing makes the most
    common gap of a 5-minute series 297 or 303 seconds as well as 300, and a grid of 297
    seconds slides across the reports' own.

    Examples
    --------
    >>> usual_spacing(297), usual_spacing(3590), usual_spacing(270), usual_spacing(47)
    (300, 3600, 270, 47)
    """
    near = [u for u in USUAL_SPACINGS if abs(seconds - u) <= USUAL_CLOSE * u]
    return near[0] if near else seconds
