"""The baseline's days: where each begins and what kind it is.

Days begin at the products' local midnight (:attr:`spikes.config.DetectionConfig.
utc_offset`; UTC midnight by default), and the baselines pool weekdays and weekend days
apart. :func:`day_grid` places a series' first day; :func:`first_days_of_kind` finds
the first day of each kind after a product's warm-up, whose level no earlier day shows;
:func:`first_rows` groups products by their first data, from which their days count.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig, utc_offset
from spikes.errors import SpikesInputError

#: Day of the week (Monday = 0) from which a day is a weekend day (Saturday, Sunday): the
#: baselines pool and scale weekend days apart from weekdays.
SATURDAY = 5
#: The offset from UTC of days that begin at UTC midnight (see :func:`day_grid`).
UTC = pd.Timedelta(0)


def check_utc_index(index: pd.Index) -> None:
    """Refuse counts whose index is not a UTC DatetimeIndex: their days and weekends
    would be read on the index's own clock.

    Raises
    ------
    SpikesInputError
        Saying what the index is and how to make it UTC.
    """
    if isinstance(index, pd.DatetimeIndex) and index.tz is not None and str(index.tz) == "UTC":
        return
    if not isinstance(index, pd.DatetimeIndex):
        given = f"not a {type(index).__name__}"
    elif index.tz is None:
        given = "not a naive one (index.tz_localize('UTC') makes it UTC)"
    else:
        given = f"not one in {index.tz} (index.tz_convert('UTC') converts it)"
    raise SpikesInputError(f"the counts need a UTC DatetimeIndex (bucket start times), "
                           f"{given}; spikes.io.buckets.load_reports makes one")


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
    shift = day_shift(bucket, utc_offset)
    local = (first + shift).normalize()
    return local - shift, int(local.day_of_week)


def standard_offset(zone: str, at: pd.Timestamp) -> pd.Timedelta:
    """The standard (winter) offset of the IANA zone `zone` in the year of `at`: the
    lesser of its offsets on 1 January and 1 July (Europe/Berlin +1h, Australia/Sydney
    +10h, Europe/Dublin 0h). The days of a product with a :attr:`~spikes.config.
    DetectionConfig.timezone` begin at this offset's midnight all year (days of 24 hours;
    in summer at 01:00 local time).

    Examples
    --------
    >>> [str(standard_offset(z, pd.Timestamp("2026-03-01", tz="UTC")))
    ...  for z in ("Europe/Berlin", "America/New_York", "Australia/Sydney")]
    ['0 days 01:00:00', '-1 days +19:00:00', '0 days 10:00:00']
    """
    year = pd.Timestamp(at).year
    return min(pd.Timedelta(pd.Timestamp(f"{year}-{month}-01 12:00", tz="UTC")
                            .tz_convert(zone).utcoffset()) for month in (1, 7))


def noon_offset(zone: str, day_start: pd.Timestamp) -> pd.Timedelta:
    """The offset from UTC of the IANA zone `zone` on the day that begins at
    `day_start`, read at its noon (clocks change at night): the clock a day of a product
    with a :attr:`~spikes.config.DetectionConfig.timezone` is pooled on.

    Examples
    --------
    >>> str(noon_offset("Europe/Berlin", pd.Timestamp("2026-03-28 23:00", tz="UTC")))
    '0 days 02:00:00'
    """
    return pd.Timedelta((day_start + pd.Timedelta(hours=12)).tz_convert(zone).utcoffset())


def days_offset(config: DetectionConfig, at: pd.Timestamp) -> pd.Timedelta:
    """The offset from UTC at whose midnight the baseline's days of `config` (one
    product's settings) begin, for data from `at` on: the standard offset of its
    :attr:`~spikes.config.DetectionConfig.timezone` where it has one
    (:func:`standard_offset`), else its ``utc_offset``.

    Examples
    --------
    >>> at = pd.Timestamp("2026-07-01", tz="UTC")
    >>> str(days_offset(DetectionConfig(timezone="America/New_York"), at))
    '-1 days +19:00:00'
    >>> str(days_offset(DetectionConfig(utc_offset="+9h"), at))
    '0 days 09:00:00'
    """
    if config.timezone is None:
        return utc_offset(config)
    return standard_offset(config.timezone, at)


def pool_shift(before: pd.Timedelta, after: pd.Timedelta, bucket: pd.Timedelta) -> float:
    """Buckets by which a pooled day at offset `before` is moved to match a day at
    offset `after` on the wall clock: ``(after - before) / bucket``, a part of a bucket
    where the bucket does not divide the change (the pools then blend the two buckets
    around the time, :meth:`spikes.detect.trailing._SeasonalFit.aligned`); none for
    buckets of a day or more.

    Examples
    --------
    >>> winter, summer = pd.Timedelta("1h"), pd.Timedelta("2h")
    >>> [pool_shift(winter, summer, pd.Timedelta(b)) for b in ("5min", "1h", "2h", "1D")]
    [12.0, 1.0, 0.5, 0.0]
    >>> pool_shift(summer, winter, pd.Timedelta("15min"))
    -4.0
    """
    bucket = pd.Timedelta(bucket)
    if before == after or bucket >= pd.Timedelta(days=1):
        return 0.0
    return (pd.Timedelta(after) - pd.Timedelta(before)) / bucket


def nearest_slots(shift: float) -> int:
    """`shift` (:func:`pool_shift`) in whole buckets, for what cannot be blended
    (flags): the nearest, a half towards none.

    Examples
    --------
    >>> [nearest_slots(x) for x in (12.0, 0.5, -0.5, 0.75, -1.5)]
    [12, 0, 0, 1, -1]
    """
    whole = math.floor(abs(shift))
    return int(math.copysign(whole + (abs(shift) - whole > 0.5), shift))


def day_shift(bucket: pd.Timedelta, utc_offset: pd.Timedelta = UTC) -> pd.Timedelta:
    """The shift from UTC of the baseline's days: `utc_offset` rounded up to whole
    buckets, as days begin at the bucket that holds the local midnight (a bucket's day
    is the calendar day of its start plus this shift).

    Examples
    --------
    >>> [str(day_shift(pd.Timedelta("1h"), pd.Timedelta(x))) for x in ("9h", "5h30min", "-3h30min")]
    ['0 days 09:00:00', '0 days 06:00:00', '-1 days +21:00:00']
    """
    return math.ceil(pd.Timedelta(utc_offset) / bucket) * pd.Timedelta(bucket)


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


#: Days of data from which :func:`weekly_offsets` reads a product's week (two weeks: two
#: of each day of the week).
WEEK_FIT_DAYS = 14
#: Weekend level (over the weekdays') from which :func:`weekly_offsets` calls a week's
#: step clear: a step of under a fifth either way is within what the baseline's level
#: factor follows day by day, wherever the day boundary lies.
CLEAR_WEEKEND = (0.8, 1.25)
#: How much better (relatively, in absolute deviation) the best offset must fit than
#: every offset two hours or more away for :func:`weekly_offsets` to call it clear: two
#: weeks of a bursty product can make a wrong offset fit almost as well.
CLEAR_MARGIN = 0.01


def weekly_offsets(counts: pd.DataFrame, bucket: pd.Timedelta) -> pd.DataFrame:
    """The UTC offset whose local weekend best explains each product's weekly rhythm.

    Hourly log counts (``log(1 + n)``) net of their hour of day's median are fitted, for
    each whole-hour offset from -12h to +14h, with two levels: one on the local weekend
    (Saturday and Sunday at that offset), one on the weekdays, each the median of its
    hours; the offset with the least absolute deviation wins. A look at the whole
    series (hindsight): it suggests a setting (:attr:`spikes.config.DetectionConfig.
    utc_offset`), it decides nothing.

    Measured by ``benchmarks/bench_local_days.py`` (``LOCAL_DAYS.md``): on
    ``sim_local_week.py`` (weekends at 0.4x-1.3x in the users' local time; 480 products:
    20 at 3 bucket sizes and 8 seeds), 137 named as clear from 14 days of data, 135 of
    them within an hour of the truth; 162 from 28 days, all within an hour. On the suites
    of ``suites.py`` (another simulator: audiences that mix regions, weekends at
    0.6x-1.25x in the home region's time; 300 products at the development and check
    seeds), 92 named, all within an hour of the home region's offset. The rest have too
    mild a week, or too noisy a fortnight, to tell.

    Parameters
    ----------
    counts : pd.DataFrame
        Reports per bucket (UTC index, one column per product, NaN = missing).
    bucket : pd.Timedelta
        Bucket size (at most an hour).

    Returns
    -------
    pd.DataFrame
        One row per product with :data:`WEEK_FIT_DAYS` days of data or more:
        ``product``, ``utc_offset`` (hours), ``weekend_level`` (the weekend's level over
        the weekdays', at that offset) and ``clear`` (the weekend level is outside
        :data:`CLEAR_WEEKEND`, and the offset fits :data:`CLEAR_MARGIN` better than any
        two hours or more away).
    """
    check_utc_index(counts.index)
    columns = ["product", "utc_offset", "weekend_level", "clear"]
    if counts.empty or pd.Timedelta(bucket) > pd.Timedelta(hours=1):
        return pd.DataFrame(columns=columns)
    hourly = counts.resample("1h").sum(min_count=1)
    enough = hourly.notna().sum() * pd.Timedelta(hours=1) >= pd.Timedelta(days=WEEK_FIT_DAYS)
    hourly = hourly.loc[:, enough]
    if hourly.empty:
        return pd.DataFrame(columns=columns)
    logs = np.log1p(hourly)
    hours = hourly.index.hour.to_numpy()
    net = (logs - logs.groupby(hours).transform("median")).to_numpy()
    of_week = hourly.index.day_of_week.to_numpy() * 24 + hours
    # UTC first, then farther and farther from it: a tie (no weekly rhythm) stays at UTC.
    offsets = sorted(range(-12, 15), key=lambda h: (abs(h), h))
    costs = np.full((len(offsets), net.shape[1]), np.inf)
    steps = np.zeros((len(offsets), net.shape[1]))
    for i, offset in enumerate(offsets):
        weekend = (of_week + offset) % (7 * 24) >= SATURDAY * 24
        with warnings.catch_warnings():  # a product without data on one side: no fit
            warnings.simplefilter("ignore", RuntimeWarning)
            high = np.nanmedian(net[weekend], axis=0)
            low = np.nanmedian(net[~weekend], axis=0)
        cost = (np.nansum(np.abs(net[weekend] - high), axis=0)
                + np.nansum(np.abs(net[~weekend] - low), axis=0))
        fitted = ~np.isnan(high) & ~np.isnan(low)
        costs[i, fitted], steps[i, fitted] = cost[fitted], (high - low)[fitted]
    first = np.argmin(costs, axis=0)  # the first of equal costs: the one nearest UTC
    cols = np.arange(net.shape[1])
    best, cost = np.asarray(offsets)[first], costs[first, cols]
    level = np.exp(steps[first, cols])
    far = np.abs(np.asarray(offsets)[:, None] - best[None, :]) >= 2
    runner_up = np.where(far, costs, np.inf).min(axis=0)
    margin = np.divide(runner_up - cost, cost, out=np.zeros_like(cost),
                       where=np.isfinite(runner_up) & (cost > 0))
    clear = (((level < CLEAR_WEEKEND[0]) | (level > CLEAR_WEEKEND[1]))
             & (margin >= CLEAR_MARGIN))
    return pd.DataFrame({"product": list(hourly.columns), "utc_offset": best,
                         "weekend_level": level, "clear": clear}, columns=columns)


def offset_suggestions(counts: pd.DataFrame, bucket: pd.Timedelta,
                       config: DetectionConfig) -> pd.DataFrame:
    """The products whose week clearly follows a time zone more than an hour from their
    ``utc_offset`` (:func:`weekly_offsets`), with the offset their days would take.

    Parameters
    ----------
    counts : pd.DataFrame
        Reports per bucket (UTC index, one column per product).
    bucket : pd.Timedelta
        Bucket size.
    config : DetectionConfig
        The settings in force (each product's ``utc_offset``).

    Returns
    -------
    pd.DataFrame
        ``product``, ``utc_offset`` (hours), ``weekend_level``, in the order of `counts`.
    """
    fits = weekly_offsets(counts, bucket)
    if fits.empty:
        return fits[["product", "utc_offset", "weekend_level"]]
    at = counts.index[0] if len(counts.index) else pd.Timestamp(0, tz="UTC")
    in_force = np.array([days_offset(config.for_product(str(p)), at) / pd.Timedelta(hours=1)
                         for p in fits["product"]])
    away = fits["clear"].to_numpy() & (np.abs(fits["utc_offset"].to_numpy() - in_force) > 1)
    return fits.loc[away, ["product", "utc_offset", "weekend_level"]].reset_index(drop=True)


def suggestion_texts(suggestions: pd.DataFrame) -> list[str]:
    """Each row of :func:`offset_suggestions` as ``"NAME +9h (weekends at 0.45x)"``."""
    return [f"{row.product} {row.utc_offset:+d}h (weekends at {row.weekend_level:.2f}x)"
            for row in suggestions.itertuples()]


def first_rows(counts: np.ndarray) -> dict[int, list[int]]:
    """The columns of `counts` (rows x products, NaN = missing) by the row of their first
    data, earliest first; columns without data are left out.

    Examples
    --------
    >>> first_rows(np.array([[1.0, np.nan, np.nan], [2.0, 3.0, np.nan]]))
    {0: [0], 1: [1]}
    """
    seen = ~np.isnan(counts)
    has = seen.any(axis=0)
    first = np.argmax(seen, axis=0)
    out: dict[int, list[int]] = {}
    for column in np.flatnonzero(has):
        out.setdefault(int(first[column]), []).append(int(column))
    return dict(sorted(out.items()))
