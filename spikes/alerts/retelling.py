"""What a route hears of an event it was told of, once a detection tells the outage anew.

:func:`spikes.alerts.continuity.carry` decides which event goes on with which; this module
writes the messages that the route then gets, from what it holds (a :class:`Run`, kept
up to date message by message): only news (a product or a severity it was not told of,
the end of what it was told), each under the key and id the route knows, numbered after
what it holds, never dated before it:

- :func:`retold`: a message of a told event under its own key (the detection still
  has it, or has it again): ``escalated`` for news of an event the route holds open (an
  ``open`` of an open event is no page a receiver can place), and ``open`` again
  ("detected again") before anything else of one it heard end, once a live step has it
  going on after that end;
- :func:`continued`: a message of a new event that goes on with a told one (another
  first onset, a part of a split), under the told key;
- :func:`reopening`, :func:`withdrawal`, :func:`whole_end`: the messages of no single
  event of the detection: an ``open`` again, a ``resolved`` of an outage no longer found
  (or joined to another event), the end of a split event once its last part is over.

A message of news never goes out under the ``message_id`` of a message the route holds
(other settings number an event's changes anew: the outbox, keyed by it, would drop the
news as a repeat).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from spikes.alerts.timeline import message_digest, severity_rank, utc_time

if TYPE_CHECKING:
    from spikes.alerts.records import Continuation, Told

__all__ = ["Run", "continued", "reopening", "retitled", "retold", "run_of", "whole_end",
           "withdrawal"]


@dataclass
class Run:
    """What the route has been told of an event so far.

    Parameters
    ----------
    products : set of str
        Every product it was told of.
    worst : int
        The worst severity it was told (:func:`~spikes.alerts.timeline.severity_rank`).
    resolved : bool
        Whether the latest it heard is the end.
    last_at : pd.Timestamp, optional
        The time of the latest message it got.
    sequence : int
        The largest sequence it holds (messages of no detection's own, an ``open``
        again, are numbered after it).
    """

    products: set[str]
    worst: int
    resolved: bool
    last_at: pd.Timestamp | None = None
    sequence: int = -1


def run_of(told: Told) -> Run:
    """What the route was told of an event, as a running state."""
    return Run(set(told.products), told.worst, told.resolved, utc_time(told.last["at"]),
               told.sequence)


def news(message: Mapping[str, Any], run: Run) -> bool:
    """Whether `message` tells the route something it was not told (and update `run`)."""
    if message["state"] == "resolved":
        if run.resolved:
            return False
        run.resolved = True
        return True
    products = {str(p["product"]) for p in message["products"]}
    worst = severity_rank(str(message["severity"]))
    if products <= run.products and worst <= run.worst:
        return False
    run.products |= products
    run.worst = max(run.worst, worst)
    run.resolved = False
    return True


def retold(message: dict[str, Any], told: Told, run: Run, *, live: bool) -> dict[str, Any] | None:
    """`message` of the told event `told` under its own key as the route should get it,
    or None when it tells the route nothing new (`run`: what it heard so far).

    A message dated after the end the route heard (a withdrawal, a ``resolved``) of an
    outage going on is, in a live step, an ``open`` again at its time (then news only):
    the route never hears an ``escalated`` or a ``resolved`` of an event it was told is
    over. A complete detection (``live`` False) leaves such news to the ``open`` again
    of :func:`spikes.alerts.continuity.carry` at the end of its data, when the outage is
    going on then.
    """
    at = utc_time(message["at"])
    going = message["state"] != "resolved"
    if (live and run.resolved and going and run.last_at is not None
            and at > run.last_at):
        news(message, run)
        return reopening(told, message, at, run)
    was_over, was_open = run.resolved, not run.resolved
    if not news(message, run):
        return None
    if was_over and going:  # news of an outage the route heard end, from before it
        run.resolved = True
        return None
    state = "escalated" if was_open and message["state"] == "open" else str(message["state"])
    known = str(told.last["event_id"])
    title = retitled(str(message["title"]), str(message["event_id"]), known,
                      str(message["state"]), state)
    message_id = str(message["message_id"])
    if message_id in told.ids:  # other settings numbered it as a change the route holds
        message_id = message_digest(told.key, int(message["sequence"]), state,
                                    f"news after {told.sequence}")
    run.last_at = max(at, run.last_at) if run.last_at is not None else at
    return {**message, "message_id": message_id, "event_id": known, "state": state,
            "title": title, "at": run.last_at.isoformat()}


def continued(message: dict[str, Any], c: Continuation, run: Run) -> dict[str, Any] | None:
    """`message` of the new event that `c` continues, under the told event's key; None
    when it tells the route nothing new."""
    state = str(message["state"])
    extra: list[dict[str, Any]] = []
    if state == "resolved":
        if run.resolved:
            return None
        run.resolved = True
        # Products the route was told of that the new event does not hold end too.
        named = {str(p["product"]) for p in message["products"]}
        extra = [{"product": p, "onset": message["onset"], "alerted_at": None,
                  "severity": message["severity"], "end": message.get("end") or message["at"],
                  "why": f"{p}: no longer detected (the detection of now finds no outage "
                         "of it then)", "known_event": ""}
                 for p in sorted(run.products - named)]
    else:
        products = {str(p["product"]) for p in message["products"]}
        worst = severity_rank(str(message["severity"]))
        if products <= run.products and worst <= run.worst:
            return None
        state = "open" if run.resolved else "escalated"
        run.products |= products
        run.worst = max(run.worst, worst)
        run.resolved = False
    sequence = c.first_sequence + int(message["sequence"])
    at = utc_time(message["at"])
    if run.last_at is not None and at < run.last_at:  # never before what it was told
        at = run.last_at
    run.last_at = at
    products = [*message["products"], *extra]
    if extra:  # the end names every product the route was told of
        title = _end_title(c.event_id, str(message["severity"]), products,
                           utc_time(message.get("end") or message["at"]))
    else:
        title = retitled(str(message["title"]), str(message["event_id"]), c.event_id,
                          str(message["state"]), state)
    # The parts of one told event number alike: their ids name the part.
    message_id = message_digest(c.of, sequence, state, c.key if c.part else "")
    return {**message, "message_id": message_id, "event_id": c.event_id,
            "event_key": c.of, "state": state, "sequence": sequence, "title": title,
            "at": at.isoformat(), "products": products}


def reopening(told: Told, latest: Mapping[str, Any], at: pd.Timestamp,
              run: Run) -> dict[str, Any]:
    """An ``open`` again, at `at`, of a told event the route heard end (or withdrawn)
    that the detection has going on (`latest`: its message then), numbered after what
    the route holds."""
    run.sequence += 1
    run.resolved = False
    run.last_at = at
    names = ", ".join(str(p["product"]) for p in latest["products"])
    return {**latest, "message_id": message_digest(told.key, run.sequence, "open", "again"),
            "event_id": told.last["event_id"], "event_key": told.key, "state": "open",
            "sequence": run.sequence, "at": at.isoformat(), "end": None,
            "title": f"{told.last['event_id']} open ({latest['severity']}): {names}, "
                     "detected again"}


def withdrawal(told: Told, at: pd.Timestamp, joined: str | None = None) -> dict[str, Any]:
    """The ``resolved`` message, at `at` (the end of the data that tell it), of a told
    event the detection no longer finds as such: not at all, or inside the event
    `joined` (its id as the route knows it)."""
    last = told.last
    sequence = told.sequence + 1
    names = ", ".join(str(p["product"]) for p in last["products"])
    if joined is None:
        said = "no longer detected"
        why = (f"no longer detected: a detection over the data up to "
               f"{at:%Y-%m-%d %H:%M} UTC, with the settings of now, finds no outage of "
               f"{names} then (the settings or the data changed since this event was "
               "opened)")
        each = "no longer detected (the detection of now finds no outage of it then)"
    else:
        said = f"now part of {joined}"
        why = (f"now part of event {joined}: a detection over the data up to "
               f"{at:%Y-%m-%d %H:%M} UTC, with the settings of now, has this outage of "
               f"{names} in that event; its messages go on there")
        each = f"now part of event {joined}"
    # Over as of now where no longer detected; going on (in the other event) if joined.
    products = [{**p, "end": p.get("end") or (at.isoformat() if joined is None else None),
                 "why": f"{p['product']}: {each}"} for p in last["products"]]
    return {**last, "message_id": message_digest(told.key, sequence, "resolved", "withdrawn"),
            "products": products,
            "event_key": told.key, "state": "resolved", "sequence": sequence,
            "at": at.isoformat(), "end": at.isoformat(), "why": why,
            "title": f"{last['event_id']} resolved ({last['severity']}): {names}, {said}"}


def whole_end(message: dict[str, Any], ends: Sequence[Mapping[str, Any]],
              before: Sequence[Mapping[str, Any]] = (),
              told: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """`message`, the ``resolved`` of the last part of a told event to end, as the told
    event's: every part's products in onset order (those of the parts at hand, `ends`,
    their latest messages; then `before`, the products of the parts over before, as
    their ends said them; then those of `told`, products the route was told of that no
    part names, over by the end), its worst severity, first onset and alert, last end."""
    products = [p for m in ends for p in m["products"]]
    named = {str(p["product"]) for p in products}
    for p in before:
        if str(p["product"]) not in named:
            products.append(dict(p))
            named.add(str(p["product"]))
    products += [{**p, "end": p.get("end") or message.get("end") or message["at"],
                  "why": f"{p['product']}: over (its part of this outage ended before)"}
                 for p in told if str(p["product"]) not in named]
    products.sort(key=lambda p: utc_time(p["onset"]))
    severities = [str(m["severity"]) for m in ends] + [str(p["severity"]) for p in before]
    worst = max(severities, key=severity_rank)
    end = max([utc_time(m["end"] or m["at"]) for m in ends]
              + [utc_time(p["end"]) for p in before if p.get("end")])
    return {**message, "products": products, "severity": worst,
            "onset": min(utc_time(p["onset"]) for p in products).isoformat(),
            "alerted_at": min(utc_time(m["alerted_at"]) for m in ends).isoformat(),
            "end": end.isoformat(), "why": "; ".join(str(p["why"]) for p in products),
            "title": _end_title(str(message["event_id"]), worst, products, end)}


def _end_title(event_id: str, severity: str, products: Sequence[Mapping[str, Any]],
               end: pd.Timestamp) -> str:
    """The title of an event's ``resolved``, naming every product of `products`."""
    names = ", ".join(str(p["product"]) for p in products)
    return f"{event_id} resolved ({severity}): {names}, over since {end:%Y-%m-%d %H:%M} UTC"


def retitled(title: str, old_id: str, new_id: str, old_state: str | None = None,
             new_state: str | None = None) -> str:
    """`title` (``"E0004 open (major): ..."``) under `new_id`, and under `new_state`
    where `old_state` is given and the title says it; a title that does not begin with
    `old_id` as it is.

    Parameters
    ----------
    title : str
        A message's title.
    old_id, new_id : str
        The event id it begins with, and the one to put instead.
    old_state, new_state : str, optional
        The state the title gives after the id, and the one to put instead.

    Returns
    -------
    str

    Examples
    --------
    >>> retitled("E0004 open (major): Outlook", "E0004", "E0002", "open", "escalated")
    'E0002 escalated (major): Outlook'
    >>> retitled("E0004 open (major): Outlook", "E0004", "E0002")
    'E0002 open (major): Outlook'
    """
    if old_state is not None:
        head = f"{old_id} {old_state} "
        if title.startswith(head):
            return f"{new_id} {new_state} " + title[len(head):]
    head = f"{old_id} "
    return f"{new_id} " + title[len(head):] if title.startswith(head) else title
