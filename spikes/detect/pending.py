"""The stretches of a live walk (:class:`spikes.detect.causal.LiveWalk`) not yet raised.

When a detector alarms, the walk opens a pending stretch and judges it bucket by bucket
until it passes the tests of an incident (it is raised) or goes quiet (it is dropped).
Other detectors' evidence gets stretches of its own, with their own onsets, judged
beside the first; the first of them to pass is raised:

- a detector that alarms on the same bucket on a rise that began before the first
  stretch's onset (a CUSUM's slow build-up under a per-bucket alarm on its peak);
- a detector that did not alarm on that bucket and alarms later, while the first is
  pending (:class:`Rivals`).

Judging them side by side is causal: each decision at a bucket uses the data up to it,
whichever stretch the walk met first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from spikes.config import DetectionConfig
from spikes.detect.elevation import Elevation
from spikes.detect.incidents import _Stretch


@dataclass(frozen=True)
class Before:
    """The hours before a stretch's onset (outside earlier stretches), against which it
    must stand out (see :func:`spikes.detect.judging.failed_test`).

    Attributes
    ----------
    ratio : float or None
        Their reports over their baseline, without any allowance for noise: a stretch
        must run ``min_ratio`` times its baseline times this, so that a rise that only
        continues a level the product already ran at (a busy afternoon, a day of news,
        a level the baseline has not caught up with) is no outage, while a jump is.
        None where the stretch is unproven
        (:meth:`spikes.detect.causal.LiveWalk.unproven`).
    mean : float or None
        Their mean count where the stretch is unproven (until the end of the
        :data:`spikes.detect.causal.UNPROVEN` day after the warm-up, the warm-up
        included, and on the first day of its kind), in place of `ratio`: the baseline
        there rests on the day itself, on one earlier day or on no day of its kind, so
        the stretch must run ``cusum_ratio`` times the level of the hours before it in
        reports (a raw mean does not follow the daily cycle, whose rise over three hours
        reaches ``min_ratio``: the bar of the cold start,
        :func:`spikes.detect.causal.cold_config`). Hours without a report count as
        holding one report at least: after a silent first day, single reports over the
        next one are no outage against a rate of 0.
    head, reach : int
        Where `head` > 0 (a stretch of the cold start), the stretch must also hold a
        jump (:func:`spikes.detect.judging.first_jump`): `head` buckets whose mean runs
        ``cusum_ratio`` times that of the `reach` buckets before them. With no
        time-of-day history, a morning's rise keeps climbing over any level it started
        from, so that the stretch's mean reaches that jump in the end; an outage jumps.
    """

    ratio: float | None
    mean: float | None
    head: int = 0
    reach: int = 0


@dataclass
class Pending:
    """A stretch of the live walk not yet raised.

    Attributes
    ----------
    stretch : _Stretch
        Its onset (the detector's estimate, then the change-point search's), its last
        elevated bucket so far and its alarm.
    lo : int
        First bucket the onset search may reach.
    disp : float
        Dispersion in force at its alarm.
    previous : list of _Stretch
        The incidents raised before it (its context).
    alarming : set of str
        The detectors that alarm on its alarm bucket: a dropped stretch consumes the
        evidence of the cumulative ones among them.
    tests : DetectionConfig or None
        The settings it is judged by (None: it is not raised).
    level, prior, elevated
        The local level before its onset, the hours before it (:class:`Before`) and the
        elevation of its buckets against the level, set from its onset.
    located : bool
        Whether the change-point search has placed its onset.
    latest : int or None
        The latest start of its rise the search found
        (:func:`spikes.detect.detectors.onset.onset_bounds`): the onset it reports when
        raised; it is judged from the earliest.
    quiet : int
        Buckets since its last elevated one.
    failure : str
        The test it failed when last judged (a key of
        :data:`spikes.detect.judging.FAILURES`; ``"not elevated"`` until it is judged).
    held : bool
        Whether it passed its tests but is held as a fall's possible end
        (:meth:`spikes.detect.causal.LiveWalk.returns_to`).
    """

    stretch: _Stretch
    lo: int
    disp: float
    previous: list[_Stretch]
    alarming: set[str]
    tests: DetectionConfig | None
    level: float = 1.0
    prior: Before = Before(None, None)
    elevated: Elevation | None = None
    located: bool = False
    latest: int | None = None
    quiet: int = 0
    failure: str | None = "not elevated"
    held: bool = False

    def raise_at_latest(self) -> bool:
        """Raise it: it reports the latest start of its rise (:attr:`latest`). True."""
        if self.latest is not None:
            self.stretch.onset = self.latest
        return True


class Rivals:
    """The next alarm of each detector that did not alarm on a pending stretch's alarm
    bucket, searched a chunk at a time as the walk reaches it (each opens a pending
    stretch of its own, once).

    Parameters
    ----------
    finders : dict of str to callable
        Per detector, ``find(start, lo, hi)``: its first alarm at or after
        ``max(start, lo)`` and before `hi` as ``(alarm, rise start)``, or None.
    start : int
        First bucket searched (the one after the first stretch's alarm).
    n : int
        Number of buckets.
    """

    CHUNK = 64

    def __init__(self, finders: dict[str, Callable[[int, int, int], tuple[int, int] | None]],
                 start: int, n: int) -> None:
        self.finders, self.n = finders, n
        self.searched = dict.fromkeys(finders, start)
        self.found: dict[str, tuple[int, int]] = {}

    def at(self, u: int) -> list[tuple[str, int]]:
        """The detectors whose next alarm is at `u`, with the start of their rise."""
        out = []
        for name in list(self.finders):
            hit = self.found.get(name)
            while hit is None and self.searched[name] <= u:
                lo = self.searched[name]
                hi = min(self.n, lo + self.CHUNK)
                hit = self.finders[name](lo, lo, hi)
                self.searched[name] = hi if hi > lo else u + 1
            if hit is None:
                continue
            self.found[name] = hit
            if hit[0] <= u:
                del self.finders[name]
                if hit[0] == u:
                    out.append((name, hit[1]))
        return out
