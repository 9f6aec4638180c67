"""The time zone the command line prints times in: ``--display-tz``.

Times are computed and written to files in UTC (ISO-8601 with their offset, ``+00:00``);
``--display-tz ZONE`` changes only the times a command prints for people, each with its
zone's abbreviation (``2026-01-22 20:05 CET``, ``2026-07-01 14:05 CEST``), so that an
on-call engineer reads local times and still sees which offset each one is at (the
clocks change within a range). ZONE is read as ``--tz`` reads it
(:func:`spikes.io.zones.zone_name`): an IANA name in any case (``europe/berlin``) or a
fixed offset (``UTC+01:00``, ``+05:30``). Without the option the zone of the environment
variable ``SPIKES_DISPLAY_TZ`` is taken (an analyst's zone, set once in a shell profile),
else UTC; printed times say which.
"""

from __future__ import annotations

import argparse
import os

from spikes.io.zones import UTC_NAMES, spelt_zone

__all__ = ["DEFAULT_ZONE", "ENVIRONMENT", "UTC_ALIASES", "add_display_tz_option",
           "chosen_display_zone", "display_zone"]

#: The zone times are printed in without ``--display-tz`` (nor :data:`ENVIRONMENT`).
DEFAULT_ZONE = "UTC"
#: The environment variable whose zone is the default of ``--display-tz``.
ENVIRONMENT = "SPIKES_DISPLAY_TZ"
#: Names of the zone UTC (and of zones always at its time) that ``--display-tz`` prints
#: as UTC, so that the notes of times written in UTC are left out as without the option
#: (:data:`spikes.io.zones.UTC_NAMES`).
UTC_ALIASES = UTC_NAMES


def add_display_tz_option(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--display-tz ZONE`` to a command; `what` names the times it prints."""
    parser.add_argument(
        "--display-tz", metavar="ZONE", default=None,
        help=f"time zone of {what}, each printed with its zone (2026-01-22 20:05 CET): an "
             "IANA name, e.g. Europe/Berlin (any case), or a fixed offset, e.g. UTC+01:00 "
             f"(default: the environment variable {ENVIRONMENT}, else UTC); files written "
             "keep UTC times (ISO-8601 with offset)")


def display_zone(value: str | None) -> str:
    """The zone ``--display-tz`` names, spelt as spikes uses it; without the option (None)
    the zone of :data:`ENVIRONMENT`, else :data:`DEFAULT_ZONE`
    (:func:`chosen_display_zone`).

    Parameters
    ----------
    value : str or None
        ``--display-tz`` as given (None: not given).

    Returns
    -------
    str
        The zone (names of UTC as ``"UTC"``).

    Raises
    ------
    SpikesInputError
        For a value that names no zone, saying whose it is (``--display-tz``'s or the
        environment variable's).

    Examples
    --------
    >>> display_zone(None), display_zone("europe/berlin"), display_zone("UTC+1")
    ('UTC', 'Europe/Berlin', 'Etc/GMT-1')
    >>> display_zone("Etc/UTC"), display_zone("+00:00")
    ('UTC', 'UTC')
    """
    return chosen_display_zone(value) or DEFAULT_ZONE


def chosen_display_zone(value: str | None) -> str | None:
    """The zone a person chose to read times in: ``--display-tz`` (`value`) where given,
    else the environment variable :data:`ENVIRONMENT` where set (not blank), spelt as
    spikes uses it (names of UTC as ``"UTC"``); None where neither says (times are then
    printed in :data:`DEFAULT_ZONE`). The option wins: the variable is not read when it
    is given.

    Parameters
    ----------
    value : str or None
        ``--display-tz`` as given (None: not given).

    Returns
    -------
    str or None
        The zone, or None where neither the option nor the variable names one.

    Raises
    ------
    SpikesInputError
        For a value that names no zone, saying whose it is.

    Examples
    --------
    >>> chosen_display_zone("Etc/Zulu"), chosen_display_zone("asia/tokyo")
    ('UTC', 'Asia/Tokyo')
    """
    whose = "--display-tz"
    if value is None:
        value = os.environ.get(ENVIRONMENT, "").strip() or None
        whose = f"{ENVIRONMENT} (the environment's default for --display-tz)"
    if value is None:
        return None
    return spelt_zone(value, whose)
