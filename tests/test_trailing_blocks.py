"""A product's trailing baseline does not depend on the products fitted beside it:
numpy sums a lone column pairwise but the rows of several columns one after the other,
so the fit sums a lone product as it does a block (``_column_total``), and with it the
scores of ``analyze`` do not depend on ``jobs`` (how products are chunked)."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from spikes.config import DetectionConfig
from spikes.detect import pipeline
from spikes.detect.pipeline import analyze, score_reports
from spikes.detect.trailing import fit_trailing_baseline
from spikes.evaluation.simulate import simulate
from spikes.model import ReportData

FIELDS = ("expected", "normal", "dispersion_path", "inflation_path", "learning", "cold",
          "unshaped", "dispersion", "inflation")


def _counts(seed: int, bucket: str) -> pd.DataFrame:
    counts = simulate(products=8, days=5, seed=seed, bucket=bucket).counts()
    rng = np.random.default_rng(seed)
    counts = counts.mask(rng.random(counts.shape) < 0.03)  # missing buckets
    counts.iloc[: len(counts) // 4, 2] = np.nan  # a product that starts later
    return counts


@pytest.mark.parametrize(("seed", "bucket"), [(1, "5min"), (3, "5min"), (2, "1h")])
def test_product_fitted_alone_equals_within_a_block(seed: int, bucket: str) -> None:
    counts = _counts(seed, bucket)
    step = pd.Timedelta(bucket)
    blocks = [list(counts.columns), list(counts.columns[:2]), list(counts.columns[:3])]
    fits = [fit_trailing_baseline(counts[cols], step) for cols in blocks]
    for name in counts.columns[:3]:
        alone = fit_trailing_baseline(counts[[name]], step)
        for fit in fits:
            if name not in fit.expected.columns:
                continue
            for field in FIELDS:
                got, want = getattr(alone, field), getattr(fit, field)
                if isinstance(got, pd.DataFrame):
                    pd.testing.assert_frame_equal(got, want[[name]], check_exact=True)
                else:
                    pd.testing.assert_series_equal(got, want[[name]], check_exact=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers (Linux only)")
def test_jobs_do_not_change_results_with_a_product_alone_in_a_chunk(
        monkeypatch: pytest.MonkeyPatch) -> None:
    counts = _counts(1, "5min")
    data = ReportData(counts=counts, bucket=pd.Timedelta("5min"))
    # A group of two products (their own baseline days): with two jobs, one per chunk.
    names = [str(c) for c in counts.columns[:2]]
    config = DetectionConfig(overrides={n: {"baseline_days": 7} for n in names})
    monkeypatch.setattr(pipeline, "MIN_PRODUCTS_PER_JOB", 1)
    one, two = (score_reports(data, config, jobs=jobs) for jobs in (1, 2))
    for field in ("expected", "dispersion_path", "inflation_path"):
        pd.testing.assert_frame_equal(getattr(one.baseline, field),
                                      getattr(two.baseline, field), check_exact=True)
    for name in one.scores:
        pd.testing.assert_frame_equal(one.scores[name], two.scores[name], check_exact=True)
    a, b = (analyze(data, config, jobs=jobs) for jobs in (1, 2))
    pd.testing.assert_frame_equal(a.incidents, b.incidents, check_exact=True)
    pd.testing.assert_frame_equal(a.events, b.events, check_exact=True)
