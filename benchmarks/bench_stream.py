"""Time of one closed bucket for the streaming live detector, and its memory.

Streams 1,000 simulated products (5-minute buckets, ``spikes.evaluation.simulate``):
the first ``DAYS`` days in one step (the history), then one bucket at a time for a
further day, timing each step (median, p99, and the midnight bucket apart, where the
baseline plans the new day and the thresholds are recalibrated), and sampling the
process's resident memory. Run ``PYTHONPATH=. .venv/bin/python benchmarks/bench_stream.py
[--products 1000] [--days 7 28]``; the issue's target is < 0.5 s per closed bucket.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from spikes.detect.stream import StreamDetector
from spikes.evaluation.simulate import simulate


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(products: int, days: int, seed: int = 7) -> dict[str, float]:
    """Stream `days` days of history at once, then one day bucket by bucket."""
    counts = simulate(products=products, days=days + 1, bucket="5min", seed=seed).counts()
    per_day = 288
    history = days * per_day
    stream = StreamDetector(bucket="5min")
    started = time.perf_counter()
    stream.step(counts.iloc[:history])
    warm = time.perf_counter() - started
    times, midnight, memory = [], [], [rss_mb()]
    for row in range(history, len(counts)):
        part = counts.iloc[row : row + 1]
        t0 = time.perf_counter()
        stream.step(part)
        spent = time.perf_counter() - t0
        (midnight if part.index[0] == part.index[0].normalize() else times).append(spent)
        if row % 24 == 0:
            memory.append(rss_mb())
    steps = np.array(times)
    return {"products": products, "history_days": days, "history_step_s": warm,
            "median_s": float(np.median(steps)), "p99_s": float(np.percentile(steps, 99)),
            "max_s": float(steps.max()), "midnight_s": float(max(midnight, default=np.nan)),
            "rss_start_mb": memory[0], "rss_end_mb": memory[-1], "rss_max_mb": max(memory),
            "window_mb": stream.memory() / 2**20, "incidents": len(stream.incidents())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--days", type=int, nargs="+", default=[7, 28])
    args = parser.parse_args()
    rows = [run(args.products, d) for d in args.days]
    print(pd.DataFrame(rows).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
