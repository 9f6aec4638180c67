"""Speed of the scoring stage: ``fit_baseline`` and each detector's ``score``.

Run ``.venv/bin/python benchmarks/bench_scoring.py [PATH] [--repeat N]``. PATH is a
report file that :func:`spikes.io.buckets.load_reports` reads (for instance the 1,000
products x 28 days of 5-minute counts that ``bench_speed.py`` generates); without it the
same setup (``simulate(products=1000, days=28, bucket="5min", seed=7)``) is simulated in
memory. Each step is timed `N` times (default 3) on the loaded data and the best and the
median time are printed, with the peak memory of the process (``ru_maxrss``). Timings on
a shared machine are noisy: compare best times. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.baseline import Baseline, fit_baseline
from spikes.detect.detectors import CountTailDetector, CusumDetector
from spikes.model import ReportData

MANY = {"products": 1000, "days": 28, "bucket": "5min", "seed": 7, "volume": "mid"}


def load(path: Path | None) -> ReportData:
    """The counts to score: read from `path`, or simulated (:data:`MANY`)."""
    if path is not None:
        from spikes.io.buckets import load_reports

        return load_reports(path)
    from spikes.evaluation.simulate import simulate

    sim = simulate(**MANY)
    wide = sim.reports.pivot_table(index="timestamp", columns="product", values="reports",
                                   aggfunc="sum")
    index = pd.date_range(sim.expected.index[0], sim.expected.index[-1], freq=sim.bucket)
    return ReportData(counts=wide.reindex(index).astype(float).fillna(0.0),
                      bucket=pd.Timedelta(sim.bucket))


def timed(step: Callable[[], object], repeat: int) -> tuple[list[float], object]:
    """Wall-clock seconds of `repeat` calls of `step`, and its last result."""
    seconds = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = step()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def main(argv: list[str] | None = None) -> None:
    """Command line: time the scoring steps and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, help="report file (default: simulate)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per step")
    args = parser.parse_args(argv)

    data = load(args.path)
    counts, config = data.counts, DetectionConfig()
    rows: list[tuple[str, list[float]]] = []
    seconds, result = timed(lambda: fit_baseline(counts, data.bucket), args.repeat)
    baseline = cast(Baseline, result)
    rows.append(("fit_baseline", seconds))
    for detector in (CountTailDetector(), CusumDetector(ratio=config.cusum_ratio)):
        seconds, _ = timed(lambda d=detector: d.score(counts, baseline), args.repeat)
        rows.append((f"{type(detector).__name__}.score", seconds))

    n, p = counts.shape
    print(f"{p} products x {n} buckets of {data.bucket}, best and median of {args.repeat}")
    print(f"{'step':<28}{'best s':>10}{'median s':>10}")
    for name, seconds in rows:
        print(f"{name:<28}{min(seconds):>10.3f}{statistics.median(seconds):>10.3f}")
    total = sum(min(s) for _, s in rows)
    print(f"{'total (sum of best)':<28}{total:>10.3f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"peak memory (ru_maxrss): {peak:.0f} MB")


if __name__ == "__main__":
    main()
