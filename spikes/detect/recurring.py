"""When a time of day counts as recurring, its level the usual one although masked as an
outage: the thresholds the live fit's rules (:mod:`spikes.detect.trailing_recurring`) and
their hindsight form (:mod:`spikes.detect.hindsight_recurring`) share.
"""

#: Factor within which the levels of the pooled days at a time of day must agree for
#: a time of day masked on all of them to be pooled unmasked
#: (:func:`~spikes.detect.trailing_recurring.unmask_stuck`): each day within twice the
#: others, as a rise under twice the usual level (``min_ratio``'s default) is no outage.
STUCK_AGREEMENT = 2.0
#: Pooled days on which a time of day must have been seen, at levels that agree, before
#: it counts as recurring and is pooled alone
#: (:func:`~spikes.detect.trailing_recurring.with_recurring`): a peak at that time on
#: three days is that time's usual level.
RECURRING_DAYS = 3
#: Standard deviations (Poisson) by which a time of day's own reports on the pooled days
#: must differ from what its window's mean says of them before it is pooled alone: a
#: shape the smoothing window cannot follow (a peak of a few buckets), not noise. Far
#: beyond any noise of a day's 288 times of day; overdispersed traffic passes it more
#: easily, where its own pool of many reports is precise enough anyway. (5 cost one
#: outage each on two check suites; 8 and 12 learn the daily peaks alike.)
RECURRING_Z = 8.0
#: Pooled days of the same day of the week on which a time of day must have been seen, at
#: levels that agree, before it counts as recurring weekly and is taken from those days
#: alone (:func:`~spikes.detect.trailing_recurring._with_weekly`): the same rush two weeks
#: running is that weekday's usual level at that time (a pool of about two weeks holds two
#: of each day of the week).
WEEKLY_DAYS = 2
#: Factor by which the level of those days must stand above the pool's other days'
#: (:func:`~spikes.detect.trailing_recurring._with_weekly`): a rise under twice the usual
#: level is no outage (``min_ratio``'s default), so nothing smaller is raised week after
#: week.
WEEKLY_RISE = 2.0
