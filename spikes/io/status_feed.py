"""Reading vendors' status pages: when did the vendor first say something publicly?

Two shapes are read, told apart by their first character:

- **Statuspage JSON** (``/api/v2/incidents.json``): ``{"page": {"name": ...},
  "incidents": [{"id", "name", "status", "impact", "created_at", "started_at",
  "resolved_at", "components": [{"name"}], "incident_updates": [{"status", "body",
  "created_at", "affected_components": [{"name"}]}]}]}``. An incident's ``official_at``
  is the earliest of its ``created_at`` and its updates' ``created_at``: when the vendor
  first said something publicly. ``started_at`` is a start the vendor writes afterwards
  (often backdated to the real start), not a public word, so it is not used. Its
  components are those of ``components`` and of the updates' ``affected_components``.
- **Atom / RSS feeds** (``history.atom``, ``history.rss``; read with feedparser). The
  entries of one incident share a link (or, without a link, an id): one entry per
  incident as Statuspage writes them, or one per update. ``official_at`` is the earliest
  ``published``/``updated`` time of the incident's entries; ``resolved_at`` the latest
  time of an entry that says "resolved", else missing. Feeds carry no structured
  components: the names given (products, status components) that appear as words in an
  incident's titles or summaries are its components. Feeds have no impact (empty).

Both give one table, :data:`OFFICIAL_COLUMNS`, one row per official incident, sorted by
``official_at``; a feed's rows keep their plain ``text``, so that names known only later
(the products a live service has seen) can be looked for again
(:func:`find_components`). Bad input stops with a :class:`~spikes.errors.SpikesInputError` naming
the file, the incident or entry (0-based index) and the field.
"""

from __future__ import annotations

import calendar
import html
import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from spikes.errors import SpikesInputError

__all__ = ["OFFICIAL_COLUMNS", "empty_official", "find_components", "parse_feed",
           "parse_statuspage", "read_status_feed", "read_status_feeds"]

#: Columns of the official incidents table (``text``: the plain titles and summaries of
#: a feed's incident, where its components were found; empty for Statuspage JSON).
OFFICIAL_COLUMNS = ["source", "official_id", "title", "components", "official_at",
                    "resolved_at", "impact", "text"]
_TIME = "datetime64[us, UTC]"
_EXPECTED = ("expected a Statuspage JSON document (/api/v2/incidents.json: "
             '{"page": {...}, "incidents": [...]}) or an Atom/RSS feed (history.atom, '
             "history.rss)")
_RESOLVED = re.compile(r"\bresolved\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def empty_official() -> pd.DataFrame:
    """An empty official incidents table with its column types."""
    return _table([])


def _table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=OFFICIAL_COLUMNS)
    for column in ("official_at", "resolved_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype(_TIME)
    frame["text"] = frame["text"].fillna("")
    for column in ("source", "official_id", "title", "impact", "components", "text"):
        frame[column] = frame[column].astype(object)
    return frame.sort_values(["official_at", "source", "official_id"],
                             kind="stable").reset_index(drop=True)


def read_status_feeds(paths: Iterable[str | Path], names: Sequence[str] = ()) -> pd.DataFrame:
    """Read several status feeds into one table (see :func:`read_status_feed`).

    Parameters
    ----------
    paths : iterable of str or Path
        Statuspage JSON files and Atom/RSS feeds, in any mix.
    names : sequence of str
        Product and component names to look for in feed entries.

    Returns
    -------
    pd.DataFrame
        Columns :data:`OFFICIAL_COLUMNS`, sorted by ``official_at``.
    """
    frames = [read_status_feed(path, names) for path in paths]
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_official()
    return _table(pd.concat(frames, ignore_index=True).to_dict("records"))


def read_status_feed(path: str | Path, names: Sequence[str] = ()) -> pd.DataFrame:
    """Read one status feed: a Statuspage JSON file or an Atom/RSS feed.

    Parameters
    ----------
    path : str or Path
        The file.
    names : sequence of str
        Product and component names to look for, as words (case-insensitive), in the
        titles and summaries of an Atom/RSS feed (its only components). Unused for
        Statuspage JSON, whose components are structured.

    Returns
    -------
    pd.DataFrame
        Columns :data:`OFFICIAL_COLUMNS`: ``source`` (the page's or feed's title, else
        the file name), ``official_id``, ``title``, ``components`` (tuple of str),
        ``official_at`` and ``resolved_at`` (UTC; ``resolved_at`` NaT when unknown or
        not resolved), ``impact`` (empty when not given).

    Raises
    ------
    SpikesInputError
        The file cannot be read, is neither format, or an incident or entry lacks a
        field or has a wrong value (the message names the file, the incident or entry
        and the field).

    Examples
    --------
    >>> table = read_status_feed("data/status_feed_sample.json")  # doctest: +SKIP
    >>> table.loc[0, ["title", "official_at"]]  # doctest: +SKIP
    """
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SpikesInputError(f"{name}: cannot read the status feed ({exc.strerror})") from None
    start = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start in (b"{", b"["):
        try:
            document = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise SpikesInputError(f"{name}: not UTF-8 text ({exc.reason})") from None
        except json.JSONDecodeError as exc:
            raise SpikesInputError(f"{name}: not valid JSON at line {exc.lineno}, column "
                                   f"{exc.colno} ({exc.msg})") from None
        return parse_statuspage(document, name, Path(path).name)
    if start == b"<":
        return parse_feed(raw, name, names, Path(path).name)
    raise SpikesInputError(f"{name}: neither JSON nor XML; {_EXPECTED}")


# --------------------------------------------------------------------------- Statuspage


def parse_statuspage(document: Any, source: str = "statuspage",
                     fallback: str | None = None) -> pd.DataFrame:
    """Official incidents of a parsed Statuspage ``incidents.json`` document.

    Parameters
    ----------
    document : Any
        The parsed JSON.
    source : str
        Name of the document in error messages (the file).
    fallback : str, optional
        The ``source`` of the rows when the page has no name (default: `source`).

    Returns
    -------
    pd.DataFrame
        As :func:`read_status_feed`.

    Raises
    ------
    SpikesInputError
        Not the Statuspage shape, or a missing or wrong field (named with the
        incident's index and id).
    """
    if not isinstance(document, dict) or not isinstance(document.get("incidents"), list):
        raise SpikesInputError(f"{source}: JSON without an 'incidents' list; {_EXPECTED}")
    page = document.get("page")
    page_name = page.get("name") if isinstance(page, dict) else None
    label = page_name.strip() if isinstance(page_name, str) and page_name.strip() else (
        fallback or source)
    rows = []
    for i, incident in enumerate(document["incidents"]):
        where = f"{source}: incident {i}"
        if not isinstance(incident, dict):
            raise SpikesInputError(f"{where}: expected an object, got {_kind(incident)}")
        official_id = incident.get("id")
        if isinstance(official_id, bool) or not isinstance(official_id, str | int) or (
                not str(official_id).strip()):
            raise SpikesInputError(f"{where}, field 'id': {official_id!r} (expected the "
                                   "incident's id, a non-empty string)")
        where = f"{where} (id {str(official_id)!r})"
        title = incident.get("name")
        if not isinstance(title, str):
            raise SpikesInputError(f"{where}, field 'name': {title!r} (expected the "
                                   "incident's title, a string)")
        created = _timestamp(incident.get("created_at"), f"{where}, field 'created_at'")
        times = [created]
        components = _component_names(incident.get("components"), f"{where}, field "
                                                                    "'components'")
        named: list[tuple[pd.Timestamp, list[str]]] = []  # when each update named what
        updates = incident.get("incident_updates", [])
        if updates is None:
            updates = []
        if not isinstance(updates, list):
            raise SpikesInputError(f"{where}, field 'incident_updates': expected a list, "
                                   f"got {_kind(updates)}")
        for j, update in enumerate(updates):
            at = f"{where}, incident_updates[{j}]"
            if not isinstance(update, dict):
                raise SpikesInputError(f"{at}: expected an object, got {_kind(update)}")
            times.append(_timestamp(update.get("created_at"), f"{at}, field 'created_at'"))
            named.append((times[-1], _component_names(update.get("affected_components"),
                                                      f"{at}, field 'affected_components'")))
        resolved = incident.get("resolved_at")
        impact = incident.get("impact")
        if impact is not None and not isinstance(impact, str):
            raise SpikesInputError(f"{where}, field 'impact': {impact!r} (expected a string "
                                   "such as 'minor', 'major', 'critical')")
        # A component counts from the first time the vendor named it: the incident's own
        # list (its current state) from the first word, unless an update named it first
        # later; one row per time the components named so far grew.
        first_said = min(times)
        mentioned = {name for _, names in named for name in names}
        steps = [(first_said, [c for c in components if c not in mentioned]), *named]
        for at, so_far in _growing(steps):
            rows.append({
                "source": label,
                "official_id": str(official_id).strip(),
                "title": title.strip(),
                "components": so_far,
                "official_at": at,
                "resolved_at": pd.NaT if resolved is None else _timestamp(
                    resolved, f"{where}, field 'resolved_at'"),
                "impact": impact or "",
                "text": "",
            })
    return _table(rows)


def _growing(steps: list[tuple[pd.Timestamp, list[str]]]
             ) -> list[tuple[pd.Timestamp, tuple[str, ...]]]:
    """The components named by each time, at the first time and whenever they grow (in
    time order; one row even when nothing is named)."""
    ordered = sorted(steps, key=lambda step: step[0])
    out: list[tuple[pd.Timestamp, tuple[str, ...]]] = []
    so_far: dict[str, None] = {}
    for at, names in ordered:
        before = len(so_far)
        so_far.update(dict.fromkeys(names))
        if len(so_far) > before:
            out.append((at, tuple(so_far)))
    return out or [(ordered[0][0], ())]


def _component_names(values: Any, where: str) -> list[str]:
    """Names of a list of components (objects with a ``name``, or names)."""
    if values is None:
        return []
    if not isinstance(values, list):
        raise SpikesInputError(f"{where}: expected a list of components, got {_kind(values)}")
    names = []
    for k, value in enumerate(values):
        name = value.get("name") if isinstance(value, dict) else value
        if not isinstance(name, str) or not name.strip():
            raise SpikesInputError(f"{where}[{k}]: {value!r} (expected a component with a "
                                   "'name')")
        names.append(name.strip())
    return names


def _timestamp(value: Any, where: str) -> pd.Timestamp:
    """An ISO-8601 time as a UTC Timestamp (naive = UTC)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise SpikesInputError(f"{where}: missing (expected an ISO-8601 time such as "
                               "2026-01-22T19:38:00Z)")
    if not isinstance(value, str):
        raise SpikesInputError(f"{where}: {value!r} is not a time (expected an ISO-8601 "
                               "string)")
    try:
        stamp = pd.Timestamp(datetime.fromisoformat(value.strip()))
        stamp.as_unit("ns")  # within the range of the data's times (1677-2262)
    except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
        raise SpikesInputError(f"{where}: {value!r} is not a time (expected ISO-8601, "
                               "such as 2026-01-22T19:38:00Z, between 1677 and 2262)"
                               ) from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string"}.get(
        type(value), type(value).__name__)


# --------------------------------------------------------------------------- Atom / RSS


def parse_feed(content: bytes, source: str = "feed", names: Sequence[str] = (),
               fallback: str | None = None) -> pd.DataFrame:
    """Official incidents of an Atom or RSS feed.

    Parameters
    ----------
    content : bytes
        The feed's bytes (never a URL: nothing is fetched).
    source : str
        Name of the feed in error messages (the file).
    names : sequence of str
        Names to look for as components in titles and summaries.
    fallback : str, optional
        The ``source`` of the rows when the feed has no title (default: `source`).

    Returns
    -------
    pd.DataFrame
        As :func:`read_status_feed`.

    Raises
    ------
    SpikesInputError
        Not a feed, or an entry without a link or id, or without a readable
        published/updated time (named by its 0-based index in the file).
    """
    from xml.sax import SAXParseException

    import feedparser

    parsed = feedparser.parse(content)
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        detail = f" ({problem})" if problem else ""
        raise SpikesInputError(f"{source}: XML but not an Atom or RSS feed{detail}; "
                               f"{_EXPECTED}")
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and isinstance(problem, SAXParseException):
        # A feed cut short (a failed download): the entries after the break would be
        # lost without a word.
        raise SpikesInputError(f"{source}: not well-formed XML ({problem}); is the file "
                               "complete?")
    feed_title = str(parsed.feed.get("title") or "").strip()
    label = feed_title or fallback or source
    groups: dict[str, list[tuple[int, Any, pd.Timestamp, pd.Timestamp]]] = {}
    for i, entry in enumerate(parsed.entries):
        where = f"{source}: entry {i}"
        key = str(entry.get("link") or entry.get("id") or "").strip()
        if not key:
            raise SpikesInputError(f"{where}: no link or id (expected one, shared by the "
                                   "entries of one incident)")
        where = f"{where} ({key})"
        times = [_feed_time(entry, field, where) for field in ("published", "updated")]
        times = [t for t in times if t is not None]
        if not times:
            raise SpikesInputError(f"{where}: no published or updated time (expected one, "
                                   "e.g. <published>2026-01-22T19:38:00Z</published>)")
        groups.setdefault(key, []).append((i, entry, min(times), max(times)))
    patterns = _patterns(names)
    rows = []
    for key, entries in groups.items():
        entries.sort(key=lambda e: (e[2], e[0]))
        texts = [_entry_text(entry) for _, entry, _, _ in entries]
        resolved = [last for (_, _, _, last), text in zip(entries, texts, strict=True)
                    if _RESOLVED.search(text)]
        words = " \n ".join(texts)
        rows.append({
            "source": label,
            "official_id": key,
            "title": _plain(entries[0][1].get("title", "")),
            "components": tuple(name for name, pattern in patterns if pattern.search(words)),
            "official_at": entries[0][2],
            "resolved_at": max(resolved) if resolved else pd.NaT,
            "impact": "",
            "text": words,
        })
    return _table(rows)


def find_components(official: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """`official` with the `names` that appear as words in a feed incident's ``text``
    added to its ``components`` (Statuspage rows, without text, are left as they are).

    Parameters
    ----------
    official : pd.DataFrame
        Official incidents (:data:`OFFICIAL_COLUMNS`).
    names : sequence of str
        Product or component names.

    Returns
    -------
    pd.DataFrame
        A copy.
    """
    out = official.copy()
    if out.empty or "text" not in out:
        return out
    patterns = _patterns(names)
    out["components"] = [
        tuple(dict.fromkeys([*components, *(name for name, pattern in patterns
                                            if text and pattern.search(text))]))
        for components, text in zip(out["components"], out["text"], strict=True)]
    return out


def _patterns(names: Sequence[str]) -> list[tuple[str, re.Pattern[str]]]:
    """A whole-word, case-insensitive pattern per distinct name."""
    return [(name, re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)", re.IGNORECASE))
            for name in dict.fromkeys(n.strip() for n in names if n and n.strip())]


def _feed_time(entry: Any, field: str, where: str) -> pd.Timestamp | None:
    """An entry's ``published`` or ``updated`` time in UTC; None when absent."""
    # dict.get: feedparser's own get maps a missing "updated" to "published" (with a
    # deprecation warning); only the entry's own fields count here
    text = dict.get(entry, field)
    if not text:
        return None
    parsed = dict.get(entry, f"{field}_parsed")
    if parsed is None:
        raise SpikesInputError(f"{where}, field {field!r}: {text!r} is not a date (expected "
                               "RFC 3339 or RFC 822, e.g. 2026-01-22T19:38:00Z)")
    return pd.Timestamp(calendar.timegm(parsed), unit="s", tz="UTC")


def _entry_text(entry: Any) -> str:
    """Title and summary (and content) of an entry as plain text."""
    parts = [entry.get("title", ""), entry.get("summary", "")]
    parts += [c.get("value", "") for c in entry.get("content", []) or []]
    return " \n ".join(_plain(p) for p in parts if p)


def _plain(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", str(text))).split())
