"""What the day loop of the causal seasonal baseline
(:class:`spikes.detect.trailing._SeasonalFit`) carries from one day to the next: the
cached pools and per-day sums (:class:`_FitState`), the days taken as a new level until
they are judged (:class:`_Adoption`) and what a day's baseline rests on (:class:`_DayPlan`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class _FitState:
    """What the day loop of :class:`~spikes.detect.trailing._SeasonalFit` carries from
    one day to the next for a block of products: the cached day pools and, per day, the
    noise moments, the one-hour block statistics and the level sums (for the last days
    of each kind before weekdays and weekends are pooled apart, also over pools of their
    own kind; a day never recorded counts as one without normal data: zeros, no blocks),
    which products had data on an earlier day and on
    which day each one's data began (its warm-up day)."""

    def __init__(self, p: int) -> None:
        self.p = p
        self.cache: dict[tuple[int, int], np.ndarray] = {}
        self.excess_sum: dict[int, np.ndarray] = {}
        self.musq_sum: dict[int, np.ndarray] = {}
        self.level_y: dict[int, np.ndarray] = {}
        self.level_m: dict[int, np.ndarray] = {}
        # Level sums of the last days of each kind before weekdays and weekends are
        # pooled apart, against the pools of their own kind
        # (:func:`spikes.detect.trailing_level.level_factor`).
        self.level_y_kind: dict[int, np.ndarray] = {}
        self.level_m_kind: dict[int, np.ndarray] = {}
        self.block_stats: dict[int, np.ndarray] = {}
        self.adopted: dict[int, _Adoption] = {}
        # Per day, the products whose day stood high most of the time (a new level, where
        # a day has buckets enough to tell: see _SeasonalFit.finish).
        self.mostly_high: dict[int, np.ndarray] = {}
        # Per day, the products whose day fell far under its baseline and was left out
        # of the later level factors and noise (a holiday, a feed that sent zeros: see
        # spikes.detect.trailing_level.low_day).
        self.low_days: dict[int, np.ndarray] = {}
        # Per day with low products, the level sums (and those against the pool of its
        # kind, or None) it gives if the fall lasts (trailing_level.keep_low), and the
        # products for which it may (reports, no dead run).
        self.low_taken: dict[int, tuple] = {}
        # Per weekend day before weekdays and weekends are pooled apart, the sums that
        # fit its shape (trailing_level.weekend_shape).
        self.shape_sums: dict[int, np.ndarray] = {}
        # Per day before a lasting change of level (a new level taken and held), the
        # factor by which its reports are pooled, per product (absent: 1): the pools of
        # the days after it hold the new level (see _SeasonalFit.rebase).
        self.scale: dict[int, np.ndarray] = {}
        # Per kind of day (True: weekend) whose days a rebase scaled although the change
        # was taken on days of the other kind only: per such day, the factor it was
        # scaled by, per product (1: not), until the next day of that kind shows whether
        # it moved too (trailing_adopted.check_other_kind).
        self.unproven: dict[bool, dict[int, np.ndarray]] = {}
        # Per kind of day, the products whose days of that kind were put back at their
        # level after their latest lasting fall (of the other kind) scaled them: the
        # end of the fall leaves them there (trailing_adopted.check_other_kind,
        # end_fall).
        self.fall_skipped = {False: np.zeros(p, dtype=bool), True: np.zeros(p, dtype=bool)}
        self.put_back = np.zeros(p, dtype=bool)
        # Per product, the day its latest lasting fall was taken (-1: none), its first
        # day, the factor the days before it were pooled at, and per kind of day whether
        # the next day of that kind is still to judge whether it holds
        # (trailing_adopted.rebase_fall, open_falls, end_fall).
        self.fell_on = np.full(p, -1)
        self.fall_first = np.full(p, -1)
        self.fall_factor = np.ones(p)
        self.fall_open = {False: np.zeros(p, dtype=bool), True: np.zeros(p, dtype=bool)}
        self.had_data = np.zeros(p, dtype=bool)
        self.first_day = np.full(p, -1)  # each product's warm-up day (-1: no data yet)

    def saw(self, day: int, seen: np.ndarray) -> None:
        """Record the products with data on `day` (`seen`): its first for those without
        any before (their warm-up day)."""
        self.first_day[seen & ~self.had_data] = day
        self.had_data |= seen

    def rows_of(self, table: dict[int, np.ndarray], days: list[int]) -> np.ndarray:
        """The rows of `table` for `days`, one per day, as a ``(len(days), p)`` array."""
        zero = np.zeros(self.p)
        if not days:
            return np.zeros((0, self.p))
        return np.stack([table.get(d, zero) for d in days])

    def forget(self, before: int, cache_before: int) -> None:
        """Drop what no day from now on needs: per-day sums of days before `before`, cached
        pools of days before `cache_before`."""
        for table in (self.excess_sum, self.musq_sum, self.level_y, self.level_m,
                      self.level_y_kind, self.level_m_kind, self.block_stats,
                      self.mostly_high, self.low_days, self.low_taken,
                      self.shape_sums):
            for d in [d for d in table if d < before]:
                del table[d]
        for key in [k for k in self.cache if k[0] < cache_before]:
            del self.cache[key]
        for d in [d for d in self.scale if d < cache_before]:
            del self.scale[d]
        for d in [d for d in self.adopted if d < before]:
            del self.adopted[d]

    def rebased(self, day: int, grid: np.ndarray) -> np.ndarray:
        """A pool contribution of `day` (slots x (values, weights)) with its values at
        the products' level of now (:attr:`scale`)."""
        factor = self.scale.get(day)
        if factor is None:
            return grid
        out = grid.copy()
        out[:, : self.p] *= factor
        return out

    def drop_pools(self, day: int) -> None:
        """Forget the cached pool contributions that read the rows of `day` (its own, and
        the next day's, whose windows reach back into it)."""
        for key in [k for k in self.cache if k[0] in (day, day + 1)]:
            del self.cache[key]


@dataclass
class _Adoption:
    """A day taken as a new level (pooled whole) for some products, until a later day of
    its kind shows whether the level held (see
    :meth:`spikes.detect.trailing._SeasonalFit.fall_back`).

    Attributes
    ----------
    jump : np.ndarray
        Per product, the day's reports over its baseline (NaN where not adopted).
    masked : np.ndarray
        The day's normal flags had it been taken as an outage (rows x products).
    level_y, level_m : np.ndarray
        Its level sums with those flags.
    open : np.ndarray
        Products whose level is still to be judged.
    kind_sums : tuple of np.ndarray or None
        Its level sums with those flags against the pool of its own kind (for the last
        days of each kind before weekdays and weekends are pooled apart), else None.
    rise : np.ndarray or None
        Per product, its reports over its pools (before the level factor) after its
        change point (:func:`spikes.detect.trailing_adopted.rise_of`): the level it moved
        to, by which the days before it are pooled once it held
        (:meth:`spikes.detect.trailing._SeasonalFit.rebase`).
    rebased : np.ndarray
        Per product, whether the change it took has had the days before it rebased
        (by its own judgement or by that of a day taken as the same level).
    """

    jump: np.ndarray
    masked: np.ndarray
    level_y: np.ndarray
    level_m: np.ndarray
    open: np.ndarray
    kind_sums: tuple[np.ndarray, np.ndarray] | None = None
    rise: np.ndarray | None = None
    rebased: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.rebased is None:
            self.rebased = np.zeros(len(self.jump), dtype=bool)


@dataclass
class _LevelWatch:
    """The running judgement, bucket by bucket, of the new levels taken on earlier days
    of a day's kind (:func:`spikes.detect.trailing_watch.judge_bucket`).

    Attributes
    ----------
    days : list of int
        The days taken as a new level for some product and still to be judged.
    jumps : np.ndarray
        ``(len(days), products)``: each day's reports over its baseline (NaN where its
        level is not open).
    high : np.ndarray
        ``(len(days), slots, products)``: the times of day at which each day stood high
        (not kept as normal had it been taken as an outage, and observed): only there is
        a level that held told from one that fell back.
    reports, expected, squares, seen : np.ndarray
        ``(len(days), products)``: the day's reports so far at those times of day, their
        baseline, its squares and the buckets with both.
    fell : np.ndarray
        Products whose level fell back during the day.
    """

    days: list[int]
    jumps: np.ndarray
    high: np.ndarray
    reports: np.ndarray
    expected: np.ndarray
    squares: np.ndarray
    seen: np.ndarray
    fell: np.ndarray
    # Per product, whether the day judges a fall taken as its level (None: for none),
    # and whether its fall ended (trailing_adopted.end_fall).
    falls: np.ndarray | None = None
    ended: np.ndarray | None = None

    def active(self) -> bool:
        """Whether a level (or a fall) is still to be judged."""
        return bool(np.isfinite(self.jumps).any()) or bool(
            self.falls is not None and self.falls.any())


@dataclass
class _DayPlan:
    """What a day's baseline rests on, known at its first bucket (earlier days only);
    where a level taken earlier falls back during the day, its later rows change
    (:attr:`watch`)."""

    pool: list[int]
    raw: np.ndarray  # unscaled pooled mean per row of the day
    mu: np.ndarray  # baseline per row of the day (raw times the level factor)
    alpha: np.ndarray  # dispersion of the day, per product
    inflation: np.ndarray  # variance inflation of the day, per product
    later: np.ndarray  # weight of the days other than the warm-up in each row's pool
    level: np.ndarray  # level factor of the day, per product
    watch: _LevelWatch | None = None  # new levels judged as the day goes (None: none)
    # Per product, the earlier days with normal data the level factor rests on (of its
    # kind until weekdays and weekends are pooled apart; None: not counted).
    level_days: np.ndarray | None = None
    # Per row, the level factor where the products' weekend has another shape (None:
    # `level` for every row; see trailing_level.weekend_shape).
    scale: np.ndarray | None = None
    # Per product, whether the day is unproven for it: its weekend needs a shape no day
    # shows yet (trailing_level.weekend_shape), or it is the first day of a kind a fall
    # taken as its level did not show (trailing_adopted.after_fall). None: for none.
    unshaped: np.ndarray | None = None
    # Per row and product, the level before a fall taken as its level over the fall's,
    # on the rows where a rise to it is held until the day judges the fall, -1 on the
    # rows after a judgement that took the fall back, 0 elsewhere
    # (trailing_adopted.held_returns). None: for none.
    returns: np.ndarray | None = None
