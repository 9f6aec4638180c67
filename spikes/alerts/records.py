"""What a route was told of an event, and what the continuity decided, as records.

:class:`Told` (read from the outbox), :class:`Continuation`, :class:`Awaiting` and
:class:`PartEnd` (the decisions of :mod:`spikes.alerts.continuity`, stored in the outbox)
and :class:`Coverage` (what a complete detection saw): shared by the continuity, the
messages it writes (:mod:`spikes.alerts.retelling`) and the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from spikes.alerts.timeline import severity_rank

__all__ = ["Awaiting", "Continuation", "Coverage", "PartEnd", "Told"]


@dataclass(frozen=True)
class Told:
    """What a route was last told of an event.

    Parameters
    ----------
    key : str
        The event's key.
    last : dict
        Its latest message held for the route (by time, then sequence).
    resolved : bool
        Whether that message is a ``resolved`` (the route heard it end).
    sequence : int
        The largest sequence of its messages held (that of `last` by default).
    products : frozenset of str
        Every product its messages held named (`last`'s at least).
    worst : int
        The worst severity they told (:func:`~spikes.alerts.timeline.severity_rank`).
    ids : frozenset of str
        The ``message_id`` of every message of it held (a message of news under one of
        these ids would be taken for the one held, and dropped).
    """

    key: str
    last: dict[str, Any]
    resolved: bool = False
    sequence: int = -1
    products: frozenset[str] = frozenset()
    worst: int = -1
    ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.sequence < 0:
            object.__setattr__(self, "sequence", int(self.last["sequence"]))
        named = frozenset(str(p["product"]) for p in self.last["products"])
        object.__setattr__(self, "products", self.products | named)
        object.__setattr__(self, "worst", max(self.worst,
                                              severity_rank(str(self.last["severity"]))))


@dataclass(frozen=True)
class Continuation:
    """A new event's messages told under an earlier event's key.

    Parameters
    ----------
    key : str
        The new event's key (of the detection now).
    of : str
        The told event's key.
    event_id : str
        The told event's id, kept in the continued messages.
    first_sequence : int
        The continued messages' sequences are this plus their own.
    products : tuple of str
        The products the route was told of.
    worst : int
        The worst severity it was told of (:func:`~spikes.alerts.timeline.severity_rank`).
    resolved : bool
        Whether it was told the event ended.
    part : bool
        The new event is a part of the told one, which the detection still has (split
        by other settings): the told event ends once all its parts are over.
    """

    key: str
    of: str
    event_id: str
    first_sequence: int
    products: tuple[str, ...]
    worst: int
    resolved: bool = False
    part: bool = False


@dataclass(frozen=True)
class Awaiting:
    """A told event a complete detection does not find, whose incident may still be
    going on at the end of its data (see the module docstring).

    Parameters
    ----------
    key : str
        The told event's key.
    event_id : str
        Its id as the route knows it.
    due : pd.Timestamp
        The end of its incident's reach (UTC): it is withdrawn once the data pass this
        time with no new event continuing it.
    """

    key: str
    event_id: str
    due: pd.Timestamp


@dataclass(frozen=True)
class PartEnd:
    """The end of one part of a told event that other settings split, held back until
    its last part is over (:func:`spikes.alerts.continuity.carry`), so that the told
    event's end names the part's products with their own ends and reasons.

    Parameters
    ----------
    key : str
        The part's event key (the told event's own, for the part that kept it).
    of : str
        The told event's key.
    products : tuple of dict
        The ``products`` of the part's ``resolved`` message.
    """

    key: str
    of: str
    products: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Coverage:
    """What a detection saw: its products and the span of its data.

    Parameters
    ----------
    products : frozenset of str
    start, until : pd.Timestamp
        Start of its first bucket, end of its last (UTC).
    merge_gap : pd.Timedelta
        Its ``merge_gap``: an incident the route did not hear end reaches this far past
        the last message it got (:func:`spikes.alerts.continuity.carry`).
    gaps : mapping of str to pd.Timedelta, optional
        The products whose own ``merge_gap`` (a per-product override) differs from
        `merge_gap`, with theirs (:func:`spikes.alerts.timeline.merge_gaps`): their
        incidents reach that far instead.
    """

    products: frozenset[str]
    start: pd.Timestamp
    until: pd.Timestamp
    merge_gap: pd.Timedelta = pd.Timedelta("1h")
    gaps: Mapping[str, pd.Timedelta] = field(default_factory=dict, hash=False)

    def reach(self, product: str) -> pd.Timedelta:
        """How far past the route's last message an incident of `product` it did not
        hear end may go on: the product's own ``merge_gap``."""
        return pd.Timedelta(self.gaps.get(product, self.merge_gap))
