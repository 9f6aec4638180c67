"""The shape of a report file, from its header: which column plays which role.

Columns are found by name (:data:`ALIASES`, :data:`WORD_ALIASES`; a trailing unit in
brackets is ignored) or named by the caller, and the file is read as ``events``,
``long``, ``wide`` or ``single`` (see :mod:`spikes.io.reading`). A date and a time of day
in two columns are found as a pair. Whole-file problems of the header (no timestamp
column, an ambiguous name, a column missing for the forced shape) raise
:class:`~spikes.errors.SpikesInputError` with what was found and what to pass instead.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import pandas as pd

from spikes.errors import SpikesInputError
from spikes.io.sniffing import FRAME_NAME, Text
from spikes.io.timestamps import DateReading, names_zone

Format = Literal["events", "long", "wide", "single"]
"""A shape of report file."""

FORMATS: tuple[str, ...] = ("events", "long", "wide", "single")
"""Accepted values of ``fmt`` (the CLI's ``--format``)."""

ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "time", "ts", "date", "datetime", "created_at", "reported_at"),
    "product": ("product", "service", "name", "app", "series"),
    "count": ("reports", "count", "value", "n", "num_reports"),
    "region": ("region", "country", "location", "state"),
    "category": ("category", "problem", "issue", "type"),
}
"""Header names recognised for each role (lower case, compared after trimming, with or
without a trailing unit in brackets: ``Time (UTC)`` is a timestamp column)."""

WORD_ALIASES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "count": (frozenset({"reports", "count", "counts"}),
              frozenset({"report", "number", "of", "num", "total", "user"})),
    "product": (frozenset({"product", "service", "app", "application"}),
                frozenset({"name", "id", "title", "label"})),
}
"""Words that give a column its role when no name of :data:`ALIASES` matches whole: a name
made only of the first set's words and the second's, with one of the first. A count
column so named (``report_count``, ``Number of reports``; not ``like_count``) in files
with a product column (or ``product=``; a wide file's columns are products, whatever
their names); a product column of two words or more (``Product Name``, ``service_id``,
``Application Name``) in any file (read as one product's counts, its products were
summed into one)."""

_OPTION = {
    "timestamp": "--timestamp-col",
    "time": "--time-col",
    "product": "--product-col",
    "count": "--count-col",
    "region": "--region-col",
    "category": "--category-col",
}
_LISTED_COLUMNS = 12  # column names an error message lists
_UNIT_SUFFIX = re.compile(r"\s*(?:\([^()]*\)|\[[^\[\]]*\])$")


@dataclass(frozen=True)
class Options:
    """What the caller says about the files: a forced shape, column names by role
    (``explicit``), the product of a one-product file, the zone of naive times and the
    day/month order."""

    fmt: str | None
    explicit: dict[str, str | None]
    product: str | None
    tz: str | None
    date_order: str | None = None


@dataclass(frozen=True)
class Layout:
    """Which column (by position) plays which role in one file."""

    fmt: str
    timestamp: int
    product: int | None = None
    count: int | None = None
    region: int | None = None
    category: int | None = None
    wide: tuple[int, ...] = ()
    product_name: str | None = None
    time: int | None = None  # a separate time-of-day column joined to the timestamp's date
    # How the file's text dates are read, decided once for all blocks of a file.
    dates: DateReading = field(default_factory=lambda: DateReading(), compare=False)
    # Count columns that showed a decimal comma (read so in this block and the next).
    comma_columns: set[int] = field(default_factory=set, compare=False)

    @property
    def kind(self) -> Literal["events", "counts"]:
        """``events`` (one report per row) or ``counts``."""
        return "events" if self.fmt == "events" else "counts"

    def used(self) -> list[int]:
        """The columns read, in header order."""
        cols = [self.timestamp, self.time, self.product, self.count, self.region,
                self.category]
        return sorted({c for c in cols if c is not None} | set(self.wide))

    def stamp_columns(self) -> set[int]:
        """The columns the timestamp is read from."""
        return {self.timestamp} if self.time is None else {self.timestamp, self.time}


# ---------------------------------------------------------------------------- layouts


def file_layout(text: Text, options: Options) -> Layout:
    """Decide the shape of the file and the position of each column."""
    finder = _ColumnFinder(text.name, text.header, options.explicit)
    ts, time = finder.timestamp_columns()
    if ts is None:
        dated = pd.to_datetime(pd.Series(text.header), errors="coerce", format="ISO8601")
        transposed = (" (the header holds dates: is the table transposed, one row per "
                      "product? time must run down the rows)"
                      if dated.notna().sum() > len(text.header) // 2 else "")
        commented = _commented_header(text)
        hint = (f" (the comment line {commented!r} before it looks like the header: "
                "remove its '#')" if commented else transposed)
        raise SpikesInputError(
            f"no timestamp column in {text.name!r}: columns found: {finder.listing()}; "
            f"expected one named {'/'.join(ALIASES['timestamp'])}, or pass --timestamp-col"
            + hint
        )
    shaped = _shape(text, finder, options, ts, time)
    dates = DateReading(dayfirst=text.delimiter == ";", order=options.date_order,
                        notes=list(shaped.dates.notes))
    layout = replace(shaped, time=time, dates=dates)
    _check_distinct_roles(layout, text)
    return layout


def _check_distinct_roles(layout: Layout, text: Text) -> None:
    """One column plays one role: ``--product-col count`` on a long file would read each
    count as its own product name."""
    roles: dict[int, str] = {}
    for role in ("timestamp", "time", "product", "count", "region", "category"):
        column = getattr(layout, role)
        if column is None:
            continue
        if column in roles:
            raise SpikesInputError(
                f"{text.name!r}: column {text.header[column]!r} is given as both the "
                f"{roles[column]} and the {role} column; each role needs its own column "
                "(check --timestamp-col, --product-col, --count-col, --region-col and "
                "--category-col)")
        roles[column] = role
    for column in layout.wide:
        if column in roles:
            raise SpikesInputError(
                f"{text.name!r}: column {text.header[column]!r} is given as the "
                f"{roles[column]} column and read as a product's counts")


def _shape(text: Text, finder: _ColumnFinder, options: Options, ts: int,
           time: int | None) -> Layout:
    """The layout of a file whose timestamp is in column `ts` (and `time`)."""
    stamps = {ts} if time is None else {ts, time}
    fmt = options.fmt
    if fmt == "wide":
        return _wide_layout(text, finder, ts, stamps)
    if fmt == "single":
        return _single_layout(text, finder, ts, options.product, stamps)
    if options.product is not None:
        count = finder.find("count", by_words=True) if fmt != "events" else None
        if count is None and fmt != "events":
            # A wide file's column named like the product: its counts (--product Outlook).
            count = finder.named(options.product)
        if fmt == "long" and count is None:
            raise finder.missing("count", "--format long")
        # --product names the product only: regions and categories are found as
        # without it (a one-service export's "state" column is its region).
        return Layout(
            fmt="events" if count is None else "long",
            timestamp=ts,
            count=count,
            region=finder.find("region"),
            category=finder.find("category"),
            product_name=options.product,
        )
    prod = finder.find("product", by_words=True)
    if (prod is not None and fmt is None and finder.explicit.get("product") is None
            and finder.find("count", by_words=True) is None
            and _counts_named_like_a_product(text, prod, ts, stamps)):
        layout = _wide_layout(text, finder, ts, stamps)
        layout.dates.notes.append(
            f"read as a wide file (one column per product): {text.header[prod]!r} holds "
            "numbers, as other columns do, not product names; pass --product-col "
            f"{text.header[prod]!r} if it names the product of each report")
        return layout
    if prod is not None or fmt in ("events", "long"):
        return _long_layout(finder, ts, prod, fmt)
    if finder.find("count") is not None:
        return _single_layout(text, finder, ts, None, stamps)
    return _wide_layout(text, finder, ts, stamps)


def _first_rows(text: Text, rows: int = 50) -> list[list[str]]:
    """The first `rows` data rows, split."""
    body = text.body
    head = bytes(body[: 1 << 16]).decode("utf-8", errors="replace").splitlines()
    if len(body) > 1 << 16:
        head = head[:-1]  # cut short
    lines = [line for line in head if line.strip()][:rows]
    return list(csv.reader(lines, delimiter=text.delimiter))


def _counts_named_like_a_product(text: Text, prod: int, ts: int, stamps: set[int]) -> bool:
    """Whether the column found as the product (``App`` beside ``Web`` and ``API``) is a
    wide file's product: in the first rows it holds numbers that vary, as another column
    does, on a grid of times (a product column holds names; report events with numeric
    product ids repeat a few ids, and stay events)."""
    rows = _first_rows(text)

    def cells(column: int) -> list[str]:
        return [row[column].strip() for row in rows if column < len(row)]

    def numbers_only(column: int) -> bool:  # one number at least, empty cells aside
        given = [c for c in cells(column) if c]
        return bool(given) and all(_NUMBER.fullmatch(c) for c in given)

    mine = [c for c in cells(prod) if c]
    if not (numbers_only(prod) and len(mine) >= 2 and len(set(mine)) >= len(mine) / 2
            and any(numbers_only(i) for i in range(len(text.header))
                    if i not in stamps and i != prod)):
        return False
    times = pd.to_datetime(pd.Series(cells(ts), dtype=object), errors="coerce", utc=True,
                           format="mixed")
    if len(times) < 2 or times.isna().any():
        return False
    steps = times.diff().iloc[1:]  # distinct and evenly spaced: one row per bucket
    return bool((steps > pd.Timedelta(0)).all() and steps.nunique() == 1)


_NUMBER = re.compile(r"[+-]?(?:\d[\d,.' \u00a0]*)(?:[eE][+-]?\d+)?")


def _long_layout(finder: _ColumnFinder, ts: int, prod: int | None, fmt: str | None) -> Layout:
    if prod is None:
        raise SpikesInputError(
            f"--format {fmt} needs a product column in {finder.name!r}: columns found: "
            f"{finder.listing()}; expected one named {'/'.join(ALIASES['product'])}, "
            "or pass --product-col NAME, or --product NAME for a one-product file"
        )
    count = None if fmt == "events" else finder.find("count", by_words=True)
    if fmt == "long" and count is None:
        raise finder.missing("count", "--format long")
    return Layout(
        fmt="events" if count is None else "long",
        timestamp=ts,
        product=prod,
        count=count,
        region=finder.find("region"),
        category=finder.find("category"),
    )


def _single_layout(text: Text, finder: _ColumnFinder, ts: int, product: str | None,
                   stamps: set[int]) -> Layout:
    count = finder.find("count")
    if count is None:
        others = [i for i in range(len(text.header)) if i not in stamps]
        if len(others) != 1:
            raise finder.missing("count", "--format single")
        count = others[0]
    return Layout(
        fmt="single",
        timestamp=ts,
        count=count,
        region=finder.find("region"),
        category=finder.find("category"),
        # A table in memory has no file name: its count column names the product.
        product_name=product or (text.header[count] if text.name == FRAME_NAME
                                  else _stem(text.name)),
    )


def _wide_layout(text: Text, finder: _ColumnFinder, ts: int, stamps: set[int]) -> Layout:
    wide = tuple(i for i in range(len(text.header)) if i not in stamps)
    seen: dict[str, int] = {}
    for i in wide:
        name = text.header[i]
        if name and name in seen:
            raise SpikesInputError(
                f"column {name!r} appears twice in the header of {text.name!r} (columns "
                f"{seen[name] + 1} and {i + 1}): a wide file has one column per product; "
                "rename or remove one of them"
            )
        seen[name] = i
    if not wide:
        raise SpikesInputError(
            f"{text.name!r} has only a timestamp column ({text.header[ts]}): pass "
            "--product NAME to count each row as one report of that product"
        )
    return Layout(fmt="wide", timestamp=ts, wide=wide)


# ---------------------------------------------------------------------- column names


class _ColumnFinder:
    """Find the column of a role: explicit name first, then aliases (one match only)."""

    def __init__(self, name: str, header: list[str], explicit: dict[str, str | None]) -> None:
        self.name = name
        self.header = header
        self.explicit = explicit
        self.normalised = [h.strip().lower() for h in header]
        # "Time (UTC)" or "reports [count]": the name without its trailing unit.
        self.bare = [_UNIT_SUFFIX.sub("", h) for h in self.normalised]

    def listing(self) -> str:
        """The header's names for a message (the first :data:`_LISTED_COLUMNS` of them)."""
        names = ", ".join(repr(h) for h in self.header[:_LISTED_COLUMNS]) or "(none)"
        hidden = len(self.header) - _LISTED_COLUMNS
        return names + (f" and {hidden} more" if hidden > 0 else "")

    def find(self, role: str, *, explicit_only: bool = False, exclude: int | None = None,
             by_words: bool = False) -> int | None:
        wanted = self.explicit.get(role)
        if wanted is not None:
            return self._explicit(role, wanted)
        if explicit_only:
            return None
        # Whole names first, then names without a unit in brackets ("Time (UTC)").
        hits = [i for i, h in enumerate(self.normalised) if h in ALIASES[role] and i != exclude]
        if not hits:
            hits = [i for i, b in enumerate(self.bare) if b in ALIASES[role] and i != exclude]
        if not hits and by_words and role in WORD_ALIASES:
            # "report_count", "Number of reports": a name made of the role's words.
            # A product column by words takes two ("Product Name"): a column called
            # "Application" alone may be a product of a wide file.
            words = 2 if role == "product" else 1
            hits = [i for i, h in enumerate(self.normalised)
                    if _is_made_of(h, WORD_ALIASES[role], words) and i != exclude]
        if len(hits) > 1:
            names = " and ".join(repr(self.header[i]) for i in hits)
            raise SpikesInputError(
                f"ambiguous header in {self.name!r}: columns {names} could each be the "
                f"{role} column; pass {_OPTION[role]} NAME to choose"
            )
        return hits[0] if hits else None

    def named(self, name: str) -> int | None:
        """The one column called `name` (compared trimmed and in lower case), if any."""
        hits = [i for i, h in enumerate(self.normalised) if h == name.strip().lower()]
        return hits[0] if len(hits) == 1 else None

    def timestamp_columns(self) -> tuple[int | None, int | None]:
        """The timestamp column, and a separate time-of-day column: the one named by
        ``--time-col``, or without options a header with exactly one ``date`` and one
        ``time`` column (``Date,Time,Service,Reports``)."""
        time = self.find("time", explicit_only=True)
        if time is None and self.explicit.get("timestamp") is None:
            dates = [i for i, h in enumerate(self.normalised) if h == "date"]
            # "Time" or "Time (UTC)", not "Time (ms)": a duration.
            times = [i for i, (h, b) in enumerate(zip(self.normalised, self.header, strict=True))
                     if h == "time" or (self.bare[i] == "time" and names_zone(b))]
            if len(dates) == 1 and len(times) == 1:
                return dates[0], times[0]
        return self.find("timestamp", exclude=time), time

    def _explicit(self, role: str, wanted: str) -> int:
        key = wanted.strip()
        for candidates in (self.header, self.normalised):
            target = key if candidates is self.header else key.lower()
            if target in candidates:
                return candidates.index(target)
        raise SpikesInputError(
            f"column {wanted!r} ({_OPTION[role]}) not found in {self.name!r}: "
            f"columns found: {self.listing()}"
        )

    def missing(self, role: str, why: str) -> SpikesInputError:
        return SpikesInputError(
            f"{why} needs a {role} column in {self.name!r}: columns found: "
            f"{self.listing()}; expected one named {'/'.join(ALIASES[role])}, "
            f"or pass {_OPTION[role]} NAME"
        )


def _is_made_of(name: str, words: tuple[frozenset[str], frozenset[str]],
                least: int = 1) -> bool:
    """Whether `name`'s words (at least `least` of them) are all in ``words[0] |
    words[1]``, one of them in the first (see :data:`WORD_ALIASES`)."""
    tokens = re.findall(r"[a-z0-9]+", name)  # "Service 01" is a product, not a role
    found = set(tokens)
    key, extra = words
    return len(tokens) >= least and bool(found & key) and found <= key | extra


def _stem(name: str) -> str:
    base = Path(name).name
    for suffix in (".gz", ".csv", ".tsv", ".txt"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
    return base or name


def _commented_header(text: Text) -> str | None:
    """The last ``#`` line before the header when, without its ``#``, it names a
    timestamp column (a header commented out by the tool that wrote the file)."""
    head_start = bytes(text.data[: text.start]).rstrip(b"\r\n")
    preamble = head_start[: max(head_start.rfind(b"\n"), 0)].decode("utf-8", "replace")
    comments = [line.strip() for line in preamble.splitlines() if line.strip().startswith("#")]
    if not comments:
        return None
    names = [n.strip().lower() for n in comments[-1].lstrip("#").split(text.delimiter)]
    return comments[-1] if set(names) & set(ALIASES["timestamp"]) else None


def ignored_columns(text: Text, layout: Layout) -> tuple[str, ...]:
    """The file's named columns that no role uses, as ``'file': column`` (unnamed ones,
    such as the trailing empty columns of spreadsheet exports, are left out)."""
    used = set(layout.used())
    return tuple(f"{Path(text.name).name!r}: {name}"
                 for i, name in enumerate(text.header) if i not in used and name)
