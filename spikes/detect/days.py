"""The baseline's days: where each begins and what kind it is.

Days begin at the products' local midnight (:attr:`spikes.config.DetectionConfig.
utc_offset`; UTC midnight by default), and the baselines pool weekdays and weekend days
apart. :func:`day_grid` places a series' first day; :func:`first_days_of_kind` finds
the first day of each kind after a product's warm-up, whose level no earlier day shows.
"""

from __future__ import annotations

import math

import pandas as pd

#: Day of the week (Monday = 0) from which a day is a weekend day (Saturday, Sunday): the
#: baselines pool and scale weekend days apart from weekdays.
SATURDAY = 5
#: The offset from UTC of days that begin at UTC midnight (see :func:`day_grid`).
UTC = pd.Timedelta(0)


def day_grid(first: pd.Timestamp, bucket: pd.Timedelta,
             utc_offset: pd.Timedelta = UTC) -> tuple[pd.Timestamp, int]:
    """Where the baseline's first day begins (UTC) and its day of the week, for a series
    that starts at `first`, whose products' days begin at their local midnight.

    Local time is UTC plus `utc_offset` (:attr:`spikes.config.DetectionConfig.utc_offset`).
    Every day begins at a bucket: the one that holds the local midnight (India's, 18:30
    UTC, at 18:00 with hourly buckets).

    Parameters
    ----------
    first : pd.Timestamp
        First bucket of the series (UTC).
    bucket : pd.Timedelta
        Bucket size.
    utc_offset : pd.Timedelta
        The products' local time as an offset from UTC.

    Returns
    -------
    tuple of (pd.Timestamp, int)
        The UTC time of the local midnight on or before `first`, and the day of the week
        of that local day (Monday 0).

    Examples
    --------
    >>> first = pd.Timestamp("2026-01-09 20:00", tz="UTC")  # a Friday evening
    >>> start, dow = day_grid(first, pd.Timedelta("1h"), pd.Timedelta("+9h"))
    >>> str(start), dow  # Tokyo's Saturday began at 15:00 UTC
    ('2026-01-09 15:00:00+00:00', 5)
    >>> start, dow = day_grid(first, pd.Timedelta("1h"), pd.Timedelta("-5h"))
    >>> str(start), dow
    ('2026-01-09 05:00:00+00:00', 4)
    >>> str(day_grid(first, pd.Timedelta("1h"), pd.Timedelta("+5h30min"))[0])
    '2026-01-09 18:00:00+00:00'
    >>> str(day_grid(first, pd.Timedelta("1h"), pd.Timedelta("-3h30min"))[0])
    '2026-01-09 03:00:00+00:00'
    """
    # Days begin at the bucket that holds the local midnight.
    shift = math.ceil(pd.Timedelta(utc_offset) / bucket) * pd.Timedelta(bucket)
    local = (first + shift).normalize()
    return local - shift, int(local.day_of_week)


def first_days_of_kind(warm_until: pd.Timestamp, bucket: pd.Timedelta,
                       utc_offset: pd.Timedelta = UTC) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first weekday and the first weekend day on or after the day in which a
    product's warm-up ends: days of a kind no earlier day of the product's history
    (after its warm-up) shows, whose level the baseline cannot know yet.

    Parameters
    ----------
    warm_until : pd.Timestamp
        End of the product's warm-up.
    bucket : pd.Timedelta
        Bucket size (the days begin at a bucket: :func:`day_grid`).
    utc_offset : pd.Timedelta
        The product's local time as an offset from UTC: its days begin at local midnight.

    Returns
    -------
    tuple of pd.Timestamp
        The first weekday and the first weekend day (when they begin, in UTC).

    Examples
    --------
    >>> hour = pd.Timedelta("1h")
    >>> days = first_days_of_kind(pd.Timestamp("2026-01-06 09:00", tz="UTC"), hour)  # a Tuesday
    >>> [str(day.date()) for day in days]
    ['2026-01-06', '2026-01-10']
    >>> [str(day.date()) for day in first_days_of_kind(pd.Timestamp("2026-01-11", tz="UTC"), hour)]
    ['2026-01-12', '2026-01-11']

    In New York (UTC - 5 hours), the first weekend day begins on Saturday at 05:00 UTC:

    >>> days = first_days_of_kind(pd.Timestamp("2026-01-06 09:00", tz="UTC"), hour,
    ...                           pd.Timedelta("-5h"))
    >>> [str(day) for day in days]
    ['2026-01-06 05:00:00+00:00', '2026-01-10 05:00:00+00:00']
    """
    day, dow = day_grid(warm_until, bucket, utc_offset)
    weekday = day if dow < SATURDAY else day + pd.Timedelta(days=7 - dow)
    weekend = day if dow >= SATURDAY else day + pd.Timedelta(days=SATURDAY - dow)
    return weekday, weekend
