"""The stream's results after each step: built incrementally (the incidents and events
kept while no incident record changed, only the events' chance following the span)
they equal those rebuilt from every record at every step, as the stream once did."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spikes.detect.stream import StreamDetector
from spikes.evaluation.simulate import simulate

SEED = 1


def _rebuilt(stream: StreamDetector) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The incidents and events rebuilt from the stream's records, its caches left as
    they were."""
    held = stream._results_cache, stream._table
    stream._results_cache, stream._table = None, None
    try:
        return stream.incidents(), stream.events()
    finally:
        stream._results_cache, stream._table = held


def test_incremental_results_equal_those_rebuilt_at_every_step() -> None:
    # Four products with outages, cascades over several of them (events of more than
    # one product, whose chance moves with the span), a product without data until
    # row 330 (the products with data change the chance too) and missing buckets. The
    # first day in one step, then one to three buckets at a time.
    sim = simulate(products=4, days=2, seed=SEED, outage_rate_per_week=30.0)
    counts = sim.counts()
    counts.iloc[:330, 3] = np.nan
    counts = counts.mask(np.random.default_rng(0).random(counts.shape) < 0.02)
    stream = StreamDetector(bucket=sim.bucket)
    stream.step(counts.iloc[:288])
    row, multi, kept, steps = 288, 0, 0, 0
    while row < len(counts):
        size = 1 + steps % 3
        held = stream._results_cache
        got = stream.step(counts.iloc[row : row + size])
        row, steps = row + size, steps + 1
        assert held is not None and stream._results_cache is not None
        kept += stream._results_cache[1] is held[1]  # the incidents were not rebuilt
        want, events = _rebuilt(stream)
        pd.testing.assert_frame_equal(got, want)
        pd.testing.assert_frame_equal(stream.events(), events)
        multi = max(multi, int(events["n_products"].max()) if len(events) else 0)
    assert multi >= 2  # the chance of an event of several products was compared
    assert len(want) >= 5
    assert kept >= steps // 3  # the incidents were kept across many steps
