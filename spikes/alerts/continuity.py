"""One story per outage for a receiver, when a detection from scratch tells it otherwise.

An event's messages are keyed by its first raised incident (``event_key``: product and
onset). A live service that detects again from scratch, at a restart with other settings
(a tuned config) or over a store that changed, may find the same outage with another
first onset, or not at all. Without this module the receiver then hears a second ``open``
of an outage it is already paged for, and the first one is never resolved.

:func:`carry` keeps the receiver's story whole, route by route, from what the route was
told (the outbox) and the complete messages of the new detection:

- an event the route was told of, whose key the new detection no longer has (it
  *vanished*), is *continued* by a new event whose key the route has never seen and that
  shares a product with it at overlapping times (an incident the route did not hear end
  lasting its product's ``merge_gap`` past the last message it got): the new event's
  messages go out under the told event's key and id, numbered after what was told, and
  only those that tell the route something new: a product or a severity it was not told
  of (as ``escalated``, or ``open`` again after a ``resolved``), the end of what it was
  told;
- a vanished event that nothing continues gets a ``resolved`` message saying it is no
  longer detected (the route would otherwise keep it open for ever), when the detection
  covers its products and its time, that time including its incident's reach. While the
  data end before that reach (the outage may be going on, and the settings of now may
  raise it later than the old ones did: a longer ``min_duration``), it *awaits*
  (:class:`Awaiting`): the live steps after the detection continue it with the first new
  event raised by then that overlaps it, as a complete detection would have (or, raised
  again under its own key, go on with its own messages, news only), and withdraw it at
  the reach's end if none is. Only data decide it, as they do the end of an outage the
  detection has open: on the data clock, a replay that stops leaves it awaiting until
  later reports pass its reach (or a restart's detection decides anew). A detection
  that no live step follows (a batch run over a file, ``defer=False``) withdraws it at
  once;
- an event the route was never told of that holds, at overlapping times, a product the
  route was told of in an event still open that the detection has without it (the
  detection split the told event: a shorter ``event_window``) is a *part* of the told
  event: its messages go on under the told key as a continued event's, and the told
  event ends (``resolved``, naming every part's products, each with its own end and
  reason: a part over before a live step is remembered, :class:`PartEnd`) only once all
  its parts are over: no part's end is told as the outage's. Where the split leaves no
  part under the told event's key (it vanished), the first new event overlapping it
  continues it, and each later one holding, at overlapping times, a product it was told
  of that none of those holds is a part of it too (all of them are then its parts).

An event the route was told of that the detection has under its own key (the same first
onset) goes on the same way, in a complete detection and in every live step after it:
news only (see :mod:`spikes.alerts.retelling`), and, once the route heard it end or
withdrawn, an ``open`` again ("detected again") before anything else of it.

A continuation is decided once, when a complete detection first shows it, and stored
(:class:`Continuation`): later detections number the new event's messages the same way,
so the outbox keeps each once. Once both events are history (:func:`spent`: the route
heard the told one end, the new one is over or gone, both by the cut-off for history of a
wall-clock service) it changes nothing any more and is dropped, so the stored ones do not
grow with every restart for ever.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from spikes.alerts.records import Awaiting, Continuation, Coverage, PartEnd, Told
from spikes.alerts.retelling import (
    Run,
    continued,
    reopening,
    retold,
    run_of,
    whole_end,
    withdrawal,
)
from spikes.alerts.timeline import event_key, severity_rank, utc_time

__all__ = ["Awaiting", "Carried", "Continuation", "Coverage", "PartEnd", "Told", "carry",
           "carry_over", "spent"]


@dataclass(frozen=True)
class Carried:
    """What :func:`carry` decided for a route.

    Parameters
    ----------
    messages : list of dict
        The route's messages as its receiver should get them.
    continuations : list of Continuation
        The continuations decided now (to store).
    awaiting : list of Awaiting or None
        The told events awaiting now (to store in place of those given; None: those
        given, unchanged).
    part_ends : list of PartEnd
        The ends of parts of told events held back now, until their last part is over
        (to store: a later live step may no longer have these parts at hand).
    """

    messages: list[dict[str, Any]]
    continuations: list[Continuation]
    awaiting: list[Awaiting] | None
    part_ends: list[PartEnd] = field(default_factory=list)


def carry_over(messages: Sequence[dict[str, Any]], told: Mapping[str, Told],
               continuations: Sequence[Continuation],
               every_key: Iterable[str] | None = None, coverage: Coverage | None = None,
               settled_before: pd.Timestamp | None = None,
               ) -> tuple[list[dict[str, Any]], list[Continuation]]:
    """:func:`carry` without awaiting events: its messages and new continuations (a told
    event the detection does not find is withdrawn whenever the detection covers it,
    even while it may still be raised later)."""
    carried = carry(messages, told, continuations, every_key, coverage, settled_before,
                    defer=False)
    return carried.messages, carried.continuations


def carry(messages: Sequence[dict[str, Any]], told: Mapping[str, Told],
          continuations: Sequence[Continuation],
          every_key: Iterable[str] | None = None, coverage: Coverage | None = None,
          settled_before: pd.Timestamp | None = None, *,
          awaiting: Sequence[Awaiting] = (), until: pd.Timestamp | None = None,
          defer: bool = True,
          part_ends: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> Carried:
    """A route's messages as its receiver should get them (see the module docstring).

    Parameters
    ----------
    messages : sequence of dict
        The messages the route takes (:func:`spikes.alerts.routing.route_messages`), in
        time order.
    told : mapping of str to Told
        The events the route was told of, by key: all of them for a complete detection;
        for a live step at least those the `continuations` continue, those awaiting and
        those of `messages` (their messages go on with news only).
    continuations : sequence of Continuation
        The route's stored continuations.
    every_key : iterable of str, optional
        The keys of every event of a *complete* detection (all its messages from the
        start of its data, of every route); None when `messages` are only the latest
        (the live service's step): then no new continuation and no withdrawal is decided.
    coverage : Coverage, optional
        What the complete detection saw (required with `every_key`).
    settled_before : pd.Timestamp, optional
        Events the route heard end at or before this time are history: no new event
        continues them (its messages are left to the caller's rules for history).
    awaiting : sequence of Awaiting
        The route's stored awaiting events (read by a live step only: a complete
        detection decides them anew). Their told events must be in `told`.
    until : pd.Timestamp, optional
        End of the data of a live step: the awaiting events due by then are withdrawn.
    defer : bool
        Let a complete detection leave awaiting the told events it may raise later: for
        one that live steps follow as its data grow (the service). False for one that
        nothing follows (``spikes analyze --outbox`` over a file): its data are all
        there is, so they are withdrawn at once, at the end of its data.
    part_ends : mapping of str to sequence of dict, optional
        The stored ends of parts of told events (:class:`PartEnd`: the products of each
        part's ``resolved``, by the part's key), for the told events' ends.

    Returns
    -------
    Carried
        `messages` with the continued ones rewritten, then the withdrawals, in time
        order; the continuations decided now; the events awaiting now; the ends of
        parts held back now.
    """
    complete = every_key is not None
    present = set(every_key) if complete else set()
    latest = _latest(messages)  # each event's latest message
    # A stored continuation whose new event the complete detection no longer has is
    # stale: the told event is free again (another new event may continue it).
    by_key = {c.key: c for c in continuations if not complete or c.key in present}
    new: list[Continuation] = []
    withdrawn: list[dict[str, Any]] = []
    waiting: list[Awaiting] = []
    told = dict(told)
    if not complete:
        waiting, withdrawn = _awaited(messages, told, by_key, awaiting, until, new)
        for message in withdrawn:  # what the route hears of them goes on from there
            told[event_key(message)] = _after(told[event_key(message)], message)
    else:
        if coverage is None:
            raise ValueError("a complete detection needs its coverage")
        withdrawn = _decided(latest, told, by_key, new, waiting, coverage, present,
                             settled_before, defer=defer)
    out, ends = _retold_all(messages, latest, told, by_key, part_ends or {}, coverage,
                            complete=complete)
    out += withdrawn
    out.sort(key=lambda m: utc_time(m["at"]))
    return Carried(out, new, waiting, ends)


def _decided(latest: Mapping[str, dict[str, Any]], told: Mapping[str, Told],
             by_key: dict[str, Continuation], new: list[Continuation],
             waiting: list[Awaiting], coverage: Coverage, present: set[str],
             settled_before: pd.Timestamp | None, *, defer: bool) -> list[dict[str, Any]]:
    """A complete detection's decisions (see :func:`carry`): the new events that continue
    the told events it no longer has (added to `new` and `by_key`; all of them as the
    parts of one the detection split, when none keeps its key), the parts of the told
    events it split, and the told events it no longer finds (awaiting, added to
    `waiting`, or withdrawn: returned)."""
    taken = {c.of for c in by_key.values()}
    vanished = {k: t for k, t in told.items() if k not in present and k not in taken
                and not (t.resolved and settled_before is not None
                         and utc_time(t.last["at"]) <= utc_time(settled_before))}
    spans = {k: _spans(t.last, coverage) for k, t in vanished.items()}
    _continue_vanished(latest, told, by_key, new, vanished, spans)
    # The parts of a told event the detection split (its own key kept).
    still = [t for k, t in told.items() if not t.resolved and k in latest]
    for key, last in latest.items():
        if key in told or key in by_key or not still:
            continue
        whole = _split_from(last, latest, still, coverage)
        if whole is not None:
            continuation = _continuation(key, whole, part=True)
            new.append(continuation)
            by_key[key] = continuation
    # One the detection has inside another event (settings that join events) ends
    # as joined to it, not as no longer detected.
    current = {k: _spans(m, None) for k, m in latest.items()}

    def joined(t: Told) -> str | None:
        for k, now in current.items():
            if any(p in now and spans[t.key][p][0] <= now[p][1]
                   and now[p][0] <= spans[t.key][p][1] for p in spans[t.key]):
                known = by_key.get(k)
                name = (known.event_id if known is not None else
                        str(told[k].last["event_id"]) if k in told else
                        str(latest[k]["event_id"]))
                return None if name == str(t.last["event_id"]) else name
        return None

    withdrawn = []
    for t in vanished.values():
        if t.resolved or not _covered(t.last, coverage):
            continue
        name = joined(t)
        due = max(end for _, end in spans[t.key].values())
        if defer and name is None and due > utc_time(coverage.until):
            # Its incident may be going on past the data: it may yet be raised.
            waiting.append(Awaiting(t.key, str(t.last["event_id"]), due))
        else:
            withdrawn.append(withdrawal(t, utc_time(coverage.until), name))
    return withdrawn


def _continue_vanished(latest: Mapping[str, dict[str, Any]], told: Mapping[str, Told],
                       by_key: dict[str, Continuation], new: list[Continuation],
                       vanished: dict[str, Told],
                       spans: Mapping[str, Mapping[str, tuple[pd.Timestamp, pd.Timestamp]]]
                       ) -> None:
    """Continue each told event of `vanished` (their keys not in the detection) with the
    first new event that shares a product with it at overlapping times; a told event
    the route holds open that a later new event overlaps on a product none of its
    continuations holds was split: all of them go on as its parts. (`vanished` loses
    the told events continued.)"""
    by_product: dict[str, list[str]] = {}
    # The page the route holds open first (then the earlier onset).
    for k in sorted(vanished, key=lambda k: (vanished[k].resolved,
                                             utc_time(vanished[k].last["onset"]))):
        for product in spans[k]:
            by_product.setdefault(product, []).append(k)
    parts: dict[str, list[Continuation]] = {}  # told key -> its continuations decided now
    held: dict[str, set[str]] = {}  # told key -> the products of those new events
    for key, last in latest.items():
        if key in told or key in by_key:
            continue
        now = _spans(last, None)
        overlaps = [(p, k) for p, (start, end) in now.items() for k in by_product.get(p, ())
                    if spans[k][p][0] <= end and start <= spans[k][p][1]]
        match = next((k for _, k in overlaps if k in vanished), None)
        if match is not None:
            continuation = _continuation(key, vanished.pop(match))
            parts[match], held[match] = [continuation], set(now)
        else:
            match = next((k for p, k in overlaps if k in parts and not told[k].resolved
                          and p not in held[k]), None)
            if match is None:
                continue
            if len(parts[match]) == 1:  # the first was a part too
                first = parts[match][0]
                part = dataclasses.replace(first, part=True)
                new[new.index(first)] = by_key[first.key] = parts[match][0] = part
            continuation = _continuation(key, told[match], part=True)
            parts[match].append(continuation)
            held[match] |= set(now)
        new.append(continuation)
        by_key[key] = continuation


def _retold_all(messages: Sequence[dict[str, Any]], latest: Mapping[str, dict[str, Any]],
                told: Mapping[str, Told], by_key: Mapping[str, Continuation],
                part_ends: Mapping[str, Sequence[Mapping[str, Any]]],
                coverage: Coverage | None, *, complete: bool
                ) -> tuple[list[dict[str, Any]], list[PartEnd]]:
    """`messages` as the route should get them (see :func:`carry`), and the ends of
    parts held back now (to store)."""
    out: list[dict[str, Any]] = []
    held_back: list[PartEnd] = []
    runs: dict[str, Run] = {}
    threads = _threads(by_key, latest)
    part_of = {k: of for of, keys in threads.items() for k in keys}
    for message in messages:
        key = event_key(message)
        if key in part_of and message["state"] == "resolved":
            # A part's end is the told event's only once every part is over.
            of = part_of[key]
            ends = [latest[k] for k in threads[of]]
            at = utc_time(message["at"])
            if any(m["state"] != "resolved" or utc_time(m["at"]) > at for m in ends):
                if list(part_ends.get(key, ())) != list(message["products"]):
                    held_back.append(PartEnd(key, of, tuple(message["products"])))
                continue
            # Those over before (not at hand in a live step), as their ends said them.
            before = [p for k in _parts(of, by_key) if k not in threads[of]
                      for p in part_ends.get(k, ())]
            whole = told.get(of)
            message = whole_end(message, ends, before, () if whole is None or
                                of not in latest else whole.last["products"])
        continuation = by_key.get(key)
        if continuation is not None:
            # From what the route holds of the told event now (its continued messages
            # and an open again included); the continuation's own state without it.
            # The parts of a told event share what it was told.
            held = told.get(continuation.of)
            run = runs.setdefault(continuation.of if continuation.part else key,
                                  run_of(held) if held is not None else Run(
                                      set(continuation.products), continuation.worst,
                                      continuation.resolved))
            carried = continued(message, continuation, run)
        elif key in told:
            # A told event the detection has under its own key: what the route has not
            # heard yet (after a detection with other settings, not all of it is news),
            # under the id the route knows it by, never dated before what it was told.
            run = runs.setdefault(key, run_of(told[key]))
            carried = retold(message, told[key], run, live=not complete)
        else:
            carried = message
        if carried is not None:
            out.append(carried)
    if complete:
        assert coverage is not None
        for k, run in runs.items():
            of = by_key[k].of if k in by_key else k
            going = [latest[x] for x in threads.get(k, [k]) if x in latest
                     and latest[x]["state"] != "resolved"]
            if run.resolved and going and of in told:
                out.append(reopening(told[of], going[-1], utc_time(coverage.until), run))
    return out, held_back


def _parts(of: str, by_key: Mapping[str, Continuation]) -> list[str]:
    """The keys of the parts of the told event `of` (its own first)."""
    return [of, *(c.key for c in by_key.values() if c.part and c.of == of)]


def _after(told: Told, withdrawn: dict[str, Any]) -> Told:
    """What the route holds of `told` once it hears it `withdrawn`."""
    return Told(told.key, withdrawn, True, int(withdrawn["sequence"]), told.products,
                told.worst, told.ids)


def _continuation(key: str, told: Told, part: bool = False) -> Continuation:
    """The new event `key` continuing the told event `told` (as a `part` of it)."""
    return Continuation(
        key=key, of=told.key, event_id=str(told.last["event_id"]),
        first_sequence=told.sequence + 1,
        products=tuple(sorted(p["product"] for p in told.last["products"])),
        worst=severity_rank(str(told.last["severity"])), resolved=told.resolved, part=part)


def _split_from(last: Mapping[str, Any], latest: Mapping[str, dict[str, Any]],
                still: Sequence[Told], coverage: Coverage) -> Told | None:
    """The told event (of `still`: open, in the detection) that the new event whose
    latest message is `last` was split from: it holds, at overlapping times, a product
    the route was told of in it that the detection's told event no longer has."""
    now = _spans(last, None)
    for t in still:
        kept = {str(p["product"]) for p in latest[t.key]["products"]}
        moved = [p for p in now if p in t.products and p not in kept]
        if not moved:
            continue
        was = _spans(t.last, coverage)
        if any(p in was and was[p][0] <= now[p][1] and now[p][0] <= was[p][1]
               for p in moved):
            return t
    return None


def _threads(by_key: Mapping[str, Continuation], latest: Mapping[str, dict[str, Any]]
             ) -> dict[str, list[str]]:
    """The told events with parts (:attr:`Continuation.part`), by key: the keys of their
    parts among the events of `latest` (the told event's own first, when there; a part
    not there is over, in a live step)."""
    threads: dict[str, list[str]] = {}
    for c in by_key.values():
        if c.part and (c.key in latest or c.of in latest):
            keys = threads.setdefault(c.of, [c.of] if c.of in latest else [])
            if c.key in latest:
                keys.append(c.key)
    return threads


def _awaited(messages: Sequence[dict[str, Any]], told: Mapping[str, Told],
             by_key: dict[str, Continuation], awaiting: Sequence[Awaiting],
             until: pd.Timestamp | None, new: list[Continuation]
             ) -> tuple[list[Awaiting], list[dict[str, Any]]]:
    """A live step's decisions on the awaiting events: each raised again under its own
    key (the same first onset) by its due time awaits no more (its messages go on as a
    complete detection's would: news only, under the id the route knows); each other
    continued by the first new event (a key neither told nor continued) raised by its
    due time that overlaps it (added to `new` and `by_key`), or withdrawn at its due time
    once `until` reaches it; the others await on. (Raised by then: so that the steps'
    size, one bucket or many, does not change what the route hears.)

    Returns
    -------
    waiting : list of Awaiting
    withdrawn : list of dict
    """
    # The route heard it end since (or holds it no more): nothing awaits.
    left = [a for a in awaiting if a.key in told and not told[a.key].resolved]
    latest = _latest(messages)
    raised: dict[str, pd.Timestamp] = {}
    for message in messages:
        at = utc_time(message["at"])
        raised[event_key(message)] = min(raised.get(event_key(message), at), at)
    again = {a.key for a in left if a.key in raised and raised[a.key] <= utc_time(a.due)}
    left = [a for a in left if a.key not in again]
    for key, last in latest.items():
        if key in told or key in by_key or not left:
            continue
        now = _spans(last, None)
        match = next((a for a in left if raised[key] <= utc_time(a.due)
                      and _overlap(_due_spans(told[a.key].last, a.due), now)), None)
        if match is not None:
            continuation = _continuation(key, told[match.key])
            new.append(continuation)
            by_key[key] = continuation
            left.remove(match)
    if until is None:
        return left, []
    cut = utc_time(until)
    due = [a for a in left if utc_time(a.due) <= cut]
    return ([a for a in left if a not in due],
            [withdrawal(told[a.key], utc_time(a.due)) for a in due])


def _due_spans(message: Mapping[str, Any], due: pd.Timestamp
               ) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    """Each product's incident as an awaiting event's latest message tells it: onset to
    end, or to `due` for one not over."""
    return {str(p["product"]): (utc_time(p["onset"]),
                                utc_time(p["end"]) if p.get("end") else utc_time(due))
            for p in message["products"]}


def _overlap(a: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]],
             b: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]]) -> bool:
    """Whether two events share a product at overlapping times."""
    return any(p in b and a[p][0] <= b[p][1] and b[p][0] <= a[p][1] for p in a)


def spent(continuations: Sequence[Continuation], told: Mapping[str, Told],
          messages: Sequence[dict[str, Any]], every_key: Iterable[str],
          settled_before: pd.Timestamp | None) -> list[Continuation]:
    """The continuations a complete detection shows to be history: dropping them
    changes no message the route will get.

    One is history when the route heard the told event end (its latest message held is
    a ``resolved``) at or before `settled_before`, and the new event is not in the
    detection, or over by then in it (its latest message a ``resolved`` at or before
    `settled_before`): a later detection then leaves the told event alone (it is settled,
    see :func:`carry_over`) and the new event's messages are history the caller leaves
    out (an event over by the cut-off that the route holds no message of under its own
    key), as they would be with the continuation. Without a cut-off (a replay, the data
    clock, which pages all the history again) none is.

    Parameters
    ----------
    continuations : sequence of Continuation
        The route's stored continuations.
    told : mapping of str to Told
        Every event the route was told of, by key.
    messages : sequence of dict
        The route's messages of the complete detection (before :func:`carry_over`).
    every_key : iterable of str
        The keys of every event of the detection.
    settled_before : pd.Timestamp, optional
        The cut-off for history (:func:`carry_over`).

    Returns
    -------
    list of Continuation
    """
    if settled_before is None:
        return []
    cut = utc_time(settled_before)
    present = set(every_key)
    latest = _latest(messages)

    def over(message: Mapping[str, Any] | None) -> bool:
        return (message is not None and message["state"] == "resolved"
                and utc_time(message["at"]) <= cut)

    return [c for c in continuations
            if c.of in told and over(told[c.of].last)
            and (c.key not in present or c.key not in latest or over(latest[c.key]))]


def _latest(messages: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each event's latest message, by key (first seen first)."""
    latest: dict[str, dict[str, Any]] = {}
    for message in messages:
        key = event_key(message)
        if key not in latest or int(message["sequence"]) >= int(latest[key]["sequence"]):
            latest[key] = message
    return latest


def _spans(message: Mapping[str, Any], reach: Coverage | None
           ) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    """Each product's incident as a message tells it: onset to end; one not over lasts
    its product's ``merge_gap`` (:meth:`Coverage.reach`) past the message's time (what a
    route heard), for ever when `reach` is None (the detection of now)."""
    spans = {}
    for product in message["products"]:
        name, end = str(product["product"]), product.get("end")
        last = (pd.Timestamp.max.tz_localize("UTC") if reach is None
                else utc_time(message["at"]) + reach.reach(name))
        spans[name] = (utc_time(product["onset"]), utc_time(end) if end else last)
    return spans


def _covered(told: Mapping[str, Any], coverage: Coverage) -> bool:
    """Whether the detection saw the told event's products over its whole time, up to
    after its latest message (else it cannot say the outage is not there)."""
    products = {str(p["product"]) for p in told["products"]}
    return (products <= coverage.products
            and utc_time(coverage.start) <= utc_time(told["onset"])
            and utc_time(coverage.until) >= utc_time(told["at"]))
