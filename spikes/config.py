"""Every detection threshold in one place, with documented defaults and TOML round trip.

A configuration file looks like this (all keys optional)::

    [detection]
    min_ratio = 2.0
    false_alarms_per_week = 0.1

    [products."Microsoft Store"]   # per-product overrides
    min_ratio = 3.0
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spikes.errors import SpikesInputError

WEEK = pd.Timedelta(days=7)
#: Settings of all products together, which per-product overrides cannot change, and why.
GLOBAL_KEYS = {"event_window": "events group the incidents of several products",
               "mode": "a run detects live or with hindsight as a whole"}
#: Tables of a config file read by others (``[[notify]]``: :mod:`spikes.alerts.routing`).
#: Detection modes: live-grade (causal) or with hindsight (retrospective).
MODES = ("causal", "retrospective")
#: Tables of a configuration file read by their own parsers, not by DetectionConfig.
OTHER_TABLES = ("notify", "status_feed")


#: Largest whole-number setting (days, buckets): beyond, the walks would not end.
MAX_DAYS_OR_BUCKETS = 100_000
#: Settings written as durations with a unit (``"15min"``, ``"1h"``).
DURATION_KEYS = ("min_duration", "merge_gap", "event_window", "baseline_smoothing",
                 "onset_search")
#: Keys of the ``[status_feed]`` table (see :class:`StatusFeedConfig`).
STATUS_FEED_KEYS = ("components", "before", "after")


@dataclass(frozen=True, kw_only=True)
class DetectionConfig:
    """Thresholds and windows of the detection pipeline.

    Parameters
    ----------
    min_ratio : float
        Effect size: an incident's reports must be at least this many times the baseline,
        summed over the incident (live: from its onset to the bucket judged) and at its
        height (the best ``min_buckets`` consecutive buckets), and as many times the
        level of the hours before it. Keeps day-long mild level shifts (a launch day at
        1.5x) from being called outages. Default 2.0.
    cusum_ratio : float
        The rise the sustained-rise (CUSUM) detector is tuned for: its log-likelihood ratio
        compares "rate = cusum_ratio x baseline" with "rate = baseline". It is also the
        jump a live run asks of a stretch over the hours before it on a product's first
        two days (its first day, and the day after it), where no time-of-day history
        tells an outage from the daily rise (see :mod:`spikes.detect.causal`). Default 3.0.
    steep_ratio : float
        The rise of a second CUSUM chart, tuned for steep rises (a multi-chart CUSUM,
        as Lorden's for a change of unknown size): where an outage brings few reports
        (a quiet product, one-minute buckets), each report over a baseline is worth
        ``ln(steep_ratio)`` nats of evidence to it, against ``ln(cusum_ratio)`` to the
        chart above, so it proves a tenfold rise of a few reports sooner. It gathers
        evidence only from buckets that expect fewer than one report (elsewhere the tail
        detector sees such a rise in its first bucket). It runs at half the false-alarm
        budget (its threshold is the CUSUM's plus ``ln 2``), and only where it is above
        ``cusum_ratio``; 0 switches it off. Default 10.0.
    false_alarms_per_week : float
        Target false-alarm rate per product-week under normal traffic. The CUSUM threshold
        is ``ln(buckets per week / false_alarms_per_week)`` nats (Lorden's bound on the
        average run length) and the per-bucket tail threshold is the Bonferroni level
        ``false_alarms_per_week / buckets per week``. Default 0.1.
    cusum_threshold : float or None
        Override of the CUSUM threshold in nats; None derives it from the rate above.
    tail_threshold : float or None
        Override of the per-bucket tail threshold in -log10(p); None derives it.
    min_buckets : int
        An incident must span at least this many buckets, and hold up without its
        ``min_buckets - 1`` largest ones: one-bucket blips are not outages. Counted in
        buckets of 5 to 15 minutes: below 5 minutes a bucket of these rules is a run of
        5 minutes' worth of them (at 1-minute buckets the default sets aside the 5
        consecutive minutes with the most reports), and at longer buckets it is 1 (one
        hourly bucket can be an outage). Default 2.
    min_excess_reports : float
        An incident must carry at least this many reports above the baseline. Default 5.
    min_duration : str
        An outage worth an alert lasts at least this long: a live run raises an incident
        only once its reports have stayed elevated this long since its onset (a stretch
        that calms down sooner is dropped; the alert comes at least this long after the
        onset), and a retrospective run drops incidents from onset to end shorter than
        this. "Page me only for outages that last an hour" is ``min_duration = "1h"``.
        Default "0min": an incident is raised as soon as its evidence suffices.
    merge_gap : str
        Incidents of one product separated by at most this gap (a recovery aftershock)
        are one incident. Default "1h".
    event_window : str
        Incidents of different products whose onsets lie within this window of the
        previous member's onset form one event. Default "15min".
    baseline_days : int
        Days on each side of a bucket whose same time of day make its baseline. Default 14.
    baseline_smoothing : str
        Width of the time-of-day window pooled into each baseline value. Default "30min".
    weekly_min_days : int
        With at least this many days of data, weekdays and weekends get separate
        baselines. Default 14.
    utc_offset : str
        The local time of the product's users, as an offset from UTC (``"-5h"``: New
        York in winter; ``"+9h"``: Tokyo; ``"+5h30min"``: India), between -12h and
        +14h. The baseline's days, and so its weekdays and weekends, begin at their
        midnight (at the bucket that holds it): with UTC days, a workday product of the
        Americas leaves its weekday level for the weekend's baseline on Friday
        afternoon, and an Asian one its weekend baseline only hours into Monday. Data
        stay in UTC; daylight saving time is not followed (see `timezone`). Default
        "0h" (UTC).
    timezone : str or None
        The time zone of the product's users, an IANA name (``"Europe/Berlin"``,
        ``"America/New_York"``), whose daylight saving time the baseline follows: its
        days begin at the zone's standard-time midnight (as ``utc_offset`` at the
        zone's winter offset would set them; days of 24 hours all year), and each
        bucket's baseline pools the same local clock time on the earlier days, each
        pooled day moved by the change of the zone's offset between it and the day
        scored (offsets read at local noon; in ``retrospective`` mode each day is pooled
        on its own clock). Not with a ``utc_offset`` other than 0 in the same table
        (``[detection]`` or one product's): a product's own one replaces the other's
        ``[detection]`` setting. Default None: days and times of day as ``utc_offset``
        sets them.
    onset_search : str
        How long before a candidate's start the change-point search may place its
        onset. Default "1h".
    mode : {"causal", "retrospective"}
        ``causal`` (the default): every decision about a bucket uses data up to it only,
        as a live service makes it; each incident has the time it could have been raised
        (``alerted_at``). ``retrospective``: the baseline pools days on both sides of a
        bucket and thresholds and onsets see the whole series (hindsight, for
        post-mortems; no ``alerted_at``).
    calibrate : bool
        Raise each product's thresholds where its own history shows noise burstier than
        the model (see :func:`spikes.detect.detectors.base.calibrated_threshold`), so that real
        traffic keeps the false-alarm budget too. Thresholds are never lowered. Default
        True.
    """

    min_ratio: float = 2.0
    cusum_ratio: float = 3.0
    steep_ratio: float = 10.0
    false_alarms_per_week: float = 0.1
    cusum_threshold: float | None = None
    tail_threshold: float | None = None
    min_buckets: int = 2
    min_excess_reports: float = 5.0
    min_duration: str = "0min"
    merge_gap: str = "1h"
    event_window: str = "15min"
    baseline_days: int = 14
    baseline_smoothing: str = "30min"
    weekly_min_days: int = 14
    utc_offset: str = "0h"
    timezone: str | None = None
    onset_search: str = "1h"
    mode: str = "causal"
    calibrate: bool = True
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_positive(self, "min_ratio", minimum=1.0)
        _check_positive(self, "cusum_ratio", minimum=1.0, strict=True)
        if self.steep_ratio != 0:
            try:
                _check_positive(self, "steep_ratio", minimum=1.0, strict=True)
            except SpikesInputError as exc:
                raise SpikesInputError(f"{exc} (or 0: no steep chart)") from None
        _check_positive(self, "false_alarms_per_week", strict=True)
        for name in ("cusum_threshold", "tail_threshold"):
            if getattr(self, name) is not None:
                _check_positive(self, name, strict=True)
        _check_positive(self, "min_buckets", minimum=1)
        _check_positive(self, "min_excess_reports")
        _check_positive(self, "baseline_days", minimum=1)
        _check_positive(self, "weekly_min_days", minimum=1)
        for name in ("min_buckets", "baseline_days", "weekly_min_days"):
            value = getattr(self, name)
            if not (isinstance(value, int | np.integer) and value <= MAX_DAYS_OR_BUCKETS):
                raise SpikesInputError(f"config: {name} must be a whole number up to "
                                       f"{MAX_DAYS_OR_BUCKETS:,}, got {value!r}")
        if not isinstance(self.calibrate, bool | np.bool_):
            raise SpikesInputError(f"config: calibrate must be true or false, got "
                                   f"{self.calibrate!r}")
        for name in DURATION_KEYS:
            if unitless(getattr(self, name)):
                raise SpikesInputError(
                    f"config: {name} = {getattr(self, name)!r} has no unit (a number alone "
                    "would be nanoseconds): write e.g. '15min', '2h'")
            try:
                delta = pd.Timedelta(getattr(self, name))
            except (ValueError, TypeError) as exc:
                raise SpikesInputError(
                    f"config: {name} = {getattr(self, name)!r} is not a duration "
                    "(expected e.g. '15min', '1h')"
                ) from exc
            if pd.isna(delta):
                raise SpikesInputError(f"config: {name} = {getattr(self, name)!r} is not a "
                                       "duration (expected e.g. '15min', '1h')")
            if delta < pd.Timedelta(0):
                raise SpikesInputError(f"config: {name} must not be negative")
        utc_offset(self)  # its range and form
        self._check_timezone()
        if self.mode not in MODES:
            raise SpikesInputError(
                f"config: mode = {self.mode!r} is not one of {', '.join(MODES)}")
        tunable = {f.name for f in fields(self)} - {"overrides"}
        if not isinstance(self.overrides, dict) or not all(
                isinstance(v, dict) for v in self.overrides.values()):
            raise SpikesInputError(f"config: overrides must map product names to tables of "
                                   f"settings, got {self.overrides!r}")
        if any(not isinstance(k, str) for k in self.overrides):
            # Products are known by their names as text (a column 1 is product "1").
            object.__setattr__(self, "overrides", {str(k): v for k, v in
                                                   self.overrides.items()})
        if any(v is None for values in self.overrides.values() for v in values.values()):
            # None as [detection] has it: no override (a file cannot say None either).
            object.__setattr__(self, "overrides", {
                p: {k: v for k, v in values.items() if not (v is None and k in tunable
                                                           and getattr(self, k) is None)}
                for p, values in self.overrides.items()})
        for product, values in self.overrides.items():
            unknown = set(values) - tunable
            if unknown:
                raise SpikesInputError(
                    f"config: products.{product!r} has unknown keys {sorted(unknown)}; "
                    f"known keys: {sorted(tunable)}"
                )
            nulls = sorted(k for k, v in values.items() if v is None
                           and getattr(self, k) is not None)
            if nulls:
                raise SpikesInputError(
                    f"config: products.{product!r} sets {', '.join(nulls)} to None, which "
                    "no settings file can say (TOML has no null), so it would be lost on "
                    "saving: give a value, or leave the key out to use [detection]'s")
            shared = set(values) & set(GLOBAL_KEYS)
            if shared:
                raise SpikesInputError(
                    f"config: products.{product!r} sets {sorted(shared)}, which hold for all "
                    f"products together ({'; '.join(GLOBAL_KEYS[k] for k in sorted(shared))}); "
                    "set them in [detection]"
                )
            try:
                dataclasses.replace(self, overrides={}, **_own_clock(values))
            except SpikesInputError as exc:
                raise SpikesInputError(
                    str(exc).replace("config: ", f"config: products.{product!r}: ", 1)
                ) from None

    # --- derived thresholds -------------------------------------------------------
    def cusum_h(self, bucket: pd.Timedelta) -> float:
        """CUSUM threshold in nats for buckets of size `bucket`."""
        if self.cusum_threshold is not None:
            return float(self.cusum_threshold)
        per_week = WEEK / pd.Timedelta(bucket)
        return math.log(max(per_week / self.false_alarms_per_week, math.e))

    def tail_h(self, bucket: pd.Timedelta) -> float:
        """Per-bucket tail threshold in -log10(p) for buckets of size `bucket`."""
        if self.tail_threshold is not None:
            return float(self.tail_threshold)
        per_week = WEEK / pd.Timedelta(bucket)
        return -math.log10(min(self.false_alarms_per_week / per_week, 0.1))

    def unknown_products(self, products: Iterable[object]) -> list[str]:
        """Products with settings of their own (``[products."NAME"]``) that are not among
        `products`, in the order of the settings: names match exactly, so a typo or
        another capitalisation applies to nothing.

        Examples
        --------
        >>> DetectionConfig(overrides={"outlook": {"min_ratio": 3.0}}).unknown_products(
        ...     ["Outlook", "Teams"])
        ['outlook']
        """
        known = {str(p) for p in products}
        return [p for p in self.overrides if str(p) not in known]

    def for_product(self, product: str) -> DetectionConfig:
        """The configuration with `product`'s overrides applied."""
        values = self.overrides.get(str(product))
        if not values:
            return self
        return dataclasses.replace(self, overrides={}, **_own_clock(values))

    def _check_timezone(self) -> None:
        """Refuse a :attr:`timezone` that names no zone (spelt as spikes spells zones:
        ``europe/berlin`` is kept as ``Europe/Berlin``), or one given with a
        ``utc_offset`` other than 0."""
        if self.timezone is None:
            return
        from spikes.io.zones import spelt_zone

        if not isinstance(self.timezone, str):
            raise SpikesInputError(f"config: timezone = {self.timezone!r} is not a time zone "
                                   "(expected an IANA name such as 'Europe/Berlin')")
        zone = spelt_zone(self.timezone, f"config: timezone = {self.timezone!r}")
        if zone != self.timezone:
            object.__setattr__(self, "timezone", zone)
        if utc_offset(self) != pd.Timedelta(0):
            raise SpikesInputError(
                f"config: timezone = {self.timezone!r} and utc_offset = {self.utc_offset!r} "
                "are both set: the time zone sets the days (at its standard offset) and "
                "follows its daylight saving time; keep one of them")

    # --- TOML -------------------------------------------------------------------
    def __hash__(self) -> int:
        """A hash of every setting (frozen, yet its overrides are a dict)."""
        plain = tuple((f.name, getattr(self, f.name)) for f in fields(self)
                      if f.name != "overrides")
        return hash((plain, tuple(sorted((product, tuple(sorted(values.items())))
                                         for product, values in self.overrides.items()))))

    def to_dict(self) -> dict[str, Any]:
        """The settings as the document :meth:`from_dict` reads (and a TOML file holds):
        ``{"detection": {...}, "products": {name: {...}}}`` (``products`` only with
        overrides), with None left out (TOML has no null).

        Examples
        --------
        >>> config = DetectionConfig(min_ratio=3.0, overrides={"Teams": {"merge_gap": "2h"}})
        >>> DetectionConfig.from_dict(config.to_dict()) == config
        True
        """
        out: dict[str, Any] = {"detection": self._values()}
        if self.overrides:
            out["products"] = {p: {k: v for k, v in values.items() if v is not None}
                               for p, values in sorted(self.overrides.items())}
        return out

    def _values(self) -> dict[str, Any]:
        """The ``[detection]`` settings, None left out."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "overrides"}
        return {k: v for k, v in out.items() if v is not None}

    def to_toml(self, header: str = "") -> str:
        """Render as TOML text that :func:`load_config` reads back."""
        lines = [f"# {line}" if line else "#" for line in header.splitlines()]
        lines += ["[detection]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in self._values().items()]
        for product, values in sorted(self.overrides.items()):
            lines += ["", f"[products.{_toml_value(product)}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items() if v is not None]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> DetectionConfig:
        """Build from the parsed TOML document ``{"detection": {...}, "products": {...}}``."""
        unknown_tables = set(data) - {"detection", "products"} - set(OTHER_TABLES)
        _check_no_loose_settings(source, unknown_tables, cls)
        if unknown_tables:
            raise SpikesInputError(
                f"{source}: unknown table(s) {sorted(unknown_tables)}; "
                "expected [detection], [products.NAME], [[notify]] and [status_feed]"
            )
        for table in ("detection", "products"):
            if not isinstance(data.get(table, {}), dict):
                raise SpikesInputError(
                    f"{source}: {table} must be a table ([{table}]"
                    f"{'' if table == 'detection' else '.NAME'} with key = value lines), "
                    f"got {data[table]!r}")
        detection = dict(data.get("detection", {}))
        known = {f.name for f in fields(cls)} - {"overrides"}
        unknown = set(detection) - known
        if unknown:
            raise SpikesInputError(
                f"{source}: unknown key(s) {sorted(unknown)} in [detection]; "
                f"known keys: {sorted(known)}"
            )
        for key, value in detection.items():
            _check_type(source, key, value, cls)
        overrides = data.get("products", {})
        for product, values in overrides.items():
            if not isinstance(values, dict):
                raise SpikesInputError(
                    f"{source}: products.{product} must be a table ([products.{product!r}] "
                    f"with key = value lines), got {values!r}")
            unknown = set(values) - known
            if unknown:
                raise SpikesInputError(
                    f"{source}: unknown key(s) {sorted(unknown)} in [products.{product!r}]; "
                    f"known keys: {sorted(known)}"
                )
            for key, value in values.items():
                _check_type(source, f"products.{product}.{key}", value, cls, key)
        try:
            return cls(**detection, overrides={p: dict(v) for p, v in overrides.items()})
        except SpikesInputError as exc:
            raise SpikesInputError(f"{source}: {exc}") from None


def _own_clock(values: dict[str, Any]) -> dict[str, Any]:
    """A product's overrides as they apply: its own ``timezone`` or ``utc_offset``
    replaces both of ``[detection]``'s (the other one back to its default), so that a
    product of a zone can sit among products of a fixed offset and the other way round."""
    if "timezone" in values and "utc_offset" not in values:
        return {**values, "utc_offset": "0h"}
    if "utc_offset" in values and "timezone" not in values:
        return {**values, "timezone": None}
    return values


#: The range of :attr:`DetectionConfig.utc_offset` (the offsets of the world's time zones).
UTC_OFFSETS = (pd.Timedelta(hours=-12), pd.Timedelta(hours=14))


def unitless(value: object) -> bool:
    """Whether `value` is a duration written as a number without a unit (``"120"``,
    ``30``), other than zero: pandas reads it as nanoseconds, where a user meant minutes
    or seconds.

    Examples
    --------
    >>> [unitless(v) for v in ("120", " 1.5 ", 30, "0", "2h", pd.Timedelta("1h"),
    ...                        np.timedelta64(15, "m"))]
    [True, True, True, False, False, False, False]
    """
    if isinstance(value, bool | np.timedelta64):  # (np.timedelta64 is an np.integer)
        return False
    if isinstance(value, int | float | np.integer | np.floating):
        return value != 0
    if isinstance(value, str):
        text = value.strip()
        return bool(_NUMBER.fullmatch(text)) and float(text) != 0
    return False


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def utc_offset(config: DetectionConfig) -> pd.Timedelta:
    """The local time of `config`'s products as an offset from UTC
    (:attr:`DetectionConfig.utc_offset`).

    Raises
    ------
    SpikesInputError
        If it is not a duration in whole minutes within :data:`UTC_OFFSETS`.

    Examples
    --------
    >>> utc_offset(DetectionConfig(utc_offset="-5h"))
    Timedelta('-1 days +19:00:00')
    """
    text = config.utc_offset
    try:
        offset = pd.Timedelta(text)
    except (ValueError, TypeError):
        offset = None
    if (offset is None or offset % pd.Timedelta(minutes=1) != pd.Timedelta(0)
            or not UTC_OFFSETS[0] <= offset <= UTC_OFFSETS[1]):
        raise SpikesInputError(
            f"config: utc_offset = {text!r} is not an offset from UTC between -12h and "
            "+14h (expected e.g. '-5h', '+9h', '+5h30min')")
    return offset


def load_config(path: str | Path | None) -> DetectionConfig:
    """Read a TOML configuration file; None gives the defaults.

    Raises
    ------
    SpikesInputError
        If the file is missing, not TOML, or holds unknown keys or wrong types.
    """
    if path is None:
        return DetectionConfig()
    return DetectionConfig.from_dict(_read_toml(Path(path)), source=str(path))


@dataclass(frozen=True, kw_only=True)
class StatusFeedConfig:
    """How official status-page incidents are matched to incidents (the ``[status_feed]``
    table of a configuration file; see :mod:`spikes.evaluation.lead`)::

        [status_feed]
        before = "1h"     # official incidents from onset - before ...
        after = "6h"      # ... to end + after belong to an incident

        [status_feed.components]          # status component -> product(s)
        "Exchange Online" = ["Exchange Online", "Outlook"]
        "Microsoft Defender XDR" = "Microsoft Defender"

    Parameters
    ----------
    components : dict of str to tuple of str
        The products each status component stands for. A component not listed maps to
        the product of the same name (case-insensitive); a listed one only to the
        products given (list its own name too to keep it).
    before : str
        How long before an incident's onset an official incident still counts (a vendor
        that posts first gives a negative lead). Default "1h".
    after : str
        How long after an incident's end an official incident still counts: vendors
        acknowledge late, sometimes only once the crowd signal is over. Default "6h".
    """

    components: dict[str, tuple[str, ...]] = field(default_factory=dict)
    before: str = "1h"
    after: str = "6h"

    def __post_init__(self) -> None:
        for name in ("before", "after"):
            value = getattr(self, name)
            try:
                delta = None if unitless(value) else pd.Timedelta(value)
            except (ValueError, TypeError):
                delta = None
            if delta is None or pd.isna(delta) or delta < pd.Timedelta(0):
                raise SpikesInputError(
                    f"config: status_feed.{name} = {value!r} is not a duration >= 0 "
                    "(expected e.g. '1h', '30min')")

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> StatusFeedConfig:
        """Build from a parsed TOML document (only its ``[status_feed]`` table is read).

        Raises
        ------
        SpikesInputError
            Unknown keys, or values that are not durations, names or lists of names.
        """
        section = data.get("status_feed", {})
        if not isinstance(section, dict):
            raise SpikesInputError(f"{source}: status_feed should be a table")
        unknown = set(section) - {"components", "before", "after"}
        if unknown:
            raise SpikesInputError(
                f"{source}: unknown key(s) {sorted(unknown)} in [status_feed]; "
                "known keys: ['after', 'before', 'components']")
        for key in ("before", "after"):
            if key in section and not isinstance(section[key], str):
                raise SpikesInputError(f"{source}: status_feed.{key} should be a duration "
                                       f"such as '1h', got {section[key]!r}")
        raw = section.get("components", {})
        if not isinstance(raw, dict):
            raise SpikesInputError(f"{source}: status_feed.components should be a table "
                                   "of component = product or [products]")
        components: dict[str, tuple[str, ...]] = {}
        for component, products in raw.items():
            names = [products] if isinstance(products, str) else products
            if (not isinstance(names, list) or not names
                    or not all(isinstance(n, str) and n.strip() for n in names)):
                raise SpikesInputError(
                    f"{source}: status_feed.components.{component!r} should be a product "
                    f"name or a list of product names, got {products!r}")
            components[component.strip()] = tuple(n.strip() for n in names)
        try:
            return cls(components=components,
                       **{k: section[k] for k in ("before", "after") if k in section})
        except SpikesInputError as exc:
            raise SpikesInputError(f"{source}: {exc}") from None


def load_status_feed_config(path: str | Path | None) -> StatusFeedConfig:
    """Read the ``[status_feed]`` table of a TOML configuration file; None gives the
    defaults (every component maps to the product of its name, window 1 h before the
    onset to 6 h after the end).

    Raises
    ------
    SpikesInputError
        If the file is missing, not TOML, or its ``[status_feed]`` table is invalid.
    """
    if path is None:
        return StatusFeedConfig()
    return StatusFeedConfig.from_dict(_read_toml(Path(path)), source=str(path))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpikesInputError(f"{path}: cannot read config file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise SpikesInputError(f"{path}: not UTF-8 text (byte {exc.start}: "
                               f"{exc.object[exc.start:exc.start + 1]!r}); a TOML file is "
                               "UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpikesInputError(f"{path}: not valid TOML ({exc})") from None


def _check_positive(cfg: DetectionConfig, name: str, minimum: float = 0.0,
                    strict: bool = False) -> None:
    value = getattr(cfg, name)
    if isinstance(value, bool | np.bool_) or not isinstance(
            value, int | float | np.integer | np.floating) or math.isnan(value):
        raise SpikesInputError(f"config: {name} must be a number, got {value!r}")
    if value < minimum or (strict and value <= minimum):
        op = ">" if strict else ">="
        raise SpikesInputError(f"config: {name} must be {op} {minimum}, got {value!r}")


def _check_no_loose_settings(source: str, names: set[str], cls: type) -> None:
    """Refuse settings written above every table (``min_ratio = 2.5`` without
    ``[detection]``): TOML reads them as keys of the document, not of a table.

    Raises
    ------
    SpikesInputError
        Naming the table each of them belongs to.
    """
    detection = {f.name for f in fields(cls)} - {"overrides"}
    homes = {"detection": sorted(n for n in names if n in detection),
             "status_feed": sorted(n for n in names if n in STATUS_FEED_KEYS)}
    homes = {table: keys for table, keys in homes.items() if keys}
    if not homes:
        return
    parts = [f"{', '.join(keys)} {'is a setting' if len(keys) == 1 else 'are settings'} "
             f"of [{table}]" for table, keys in homes.items()]
    them = "it" if sum(map(len, homes.values())) == 1 else "them"
    where = "that table" if len(homes) == 1 else "those tables"
    raise SpikesInputError(f"{source}: {'; '.join(parts)}: put {them} under {where}")


def _check_type(source: str, where: str, value: Any, cls: type, key: str | None = None) -> None:
    """Refuse a value of the wrong kind for setting `key` (written at `where`), in words
    of the file: a duration without a unit, a whole number with a fraction, ...

    Raises
    ------
    SpikesInputError
        Naming the setting, the value and what to write instead.
    """
    key = key or where
    default = {f.name: f.default for f in fields(cls)}.get(key)
    if key == "timezone":
        problem = None if isinstance(value, str) else (
            f" = {_shown(value)} is not a time zone (expected an IANA name in quotes, "
            "such as 'Europe/Berlin')")
    elif isinstance(default, bool):
        problem = _not_a_bool(value)
    elif isinstance(default, str):
        problem = _not_text(key, value)
    elif isinstance(default, int):
        problem = _not_a_whole_number(key, value)
    else:
        problem = _not_a_number(value, none_able=default is None)
    if problem:
        raise SpikesInputError(f"{source}: {where}{problem}")


def _shown(value: Any) -> str:
    """`value` as a settings file writes it (``true``, ``30``, ``'soon'``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return repr(value)


def _quoted(value: Any) -> str:
    """A hint for a value written in quotes that should not be (``'2.5'``), else ''."""
    if isinstance(value, str) and (_NUMBER.fullmatch(value.strip())
                                   or value.strip() in ("true", "false")):
        return f": write it without quotes ({value.strip()})"
    return ""


def _not_a_bool(value: Any) -> str | None:
    """Why `value` is not a true/false setting, or None."""
    if isinstance(value, bool):
        return None
    return f" must be true or false, got {_shown(value)}{_quoted(value)}"


def _not_a_number(value: Any, none_able: bool = False) -> str | None:
    """Why `value` is not a number setting, or None; `none_able`: leaving it out
    (None) has a meaning of its own, which the message tells."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None
    out = f" must be a number, got {_shown(value)}{_quoted(value)}"
    return out + (" (or leave the key out to derive it)" if none_able else "")


def _not_a_whole_number(key: str, value: Any) -> str | None:
    """Why `value` is not the whole-number setting `key` (days, buckets), or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    hint = _quoted(value)
    if isinstance(value, float) and value.is_integer():
        hint = f": write {key} = {int(value)}"
    return f" must be a whole number, got {_shown(value)}{hint}"


def _not_text(key: str, value: Any) -> str | None:
    """Why `value` is not the text setting `key` (a duration, an offset, a mode), or
    None."""
    if isinstance(value, str):
        return None
    shown = _shown(value)
    number = (isinstance(value, int | float) and not isinstance(value, bool)
              and math.isfinite(value))
    if key != "utc_offset" and number and value < 0:
        number = False  # no duration of these is negative: not a duration at all
    if key == "mode":
        return f" = {shown} is not one of {', '.join(MODES)} (write it in quotes)"
    if key == "utc_offset":
        if number:
            return f" = {shown} has no unit: write an offset such as {_example(value, 'h')}"
        return f" = {shown} is not an offset from UTC (expected e.g. '-5h', '+9h', '+5h30min')"
    if number:
        return f" = {shown} has no unit: write a duration such as {_example(value, 'min')}"
    if key in DURATION_KEYS:
        return f" = {shown} is not a duration (expected e.g. '15min', '1h')"
    return f" must be text in quotes, got {shown}"


def _example(number: float, unit: str) -> str:
    """`number` with `unit`, as the setting could be written (``'30min'``, ``'+9h'``)."""
    text = str(int(number)) if float(number).is_integer() else repr(float(number))
    return f"'{'+' if unit == 'h' and number >= 0 else ''}{text}{unit}'"


def _toml_value(value: Any) -> str:
    """One value as TOML: text as a basic string (control characters escaped), numpy
    numbers as plain ones, a duration as whole seconds (``"1800s"``)."""
    if isinstance(value, str):
        return '"' + "".join(_TOML_ESCAPES.get(c, c if c.isprintable() or c == " "
                                                else f"\\U{ord(c):08x}")
                             for c in value) + '"'
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))
    if isinstance(value, pd.Timedelta | np.timedelta64) or hasattr(value, "total_seconds"):
        seconds = pd.Timedelta(value) / pd.Timedelta(seconds=1)
        return _toml_value(f"{int(seconds)}s" if seconds == int(seconds) else f"{seconds!r}s")
    raise SpikesInputError(f"config: {value!r} cannot be written as TOML")


#: Escapes of TOML's basic strings.
_TOML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
