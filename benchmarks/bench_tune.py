"""Benchmark of ``spikes tune``: 30 products x 14 days of 5-minute data, default budget.

Run ``.venv/bin/python benchmarks/bench_tune.py`` (target: under 2 minutes on 2 cores).
``--quality`` also measures held-out F1 (tune on the first 14 days, validate on the last
14) on 28-day simulations: the standard mid-volume case and cases where the defaults fit
less well (low volume, 1-minute low volume, mild outages, and a team that labels only
major outages, peak >= 10x, so that the defaults' smaller incidents count as false alarms).
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from spikes.evaluation.simulate import simulate
from spikes.evaluation.tune import DEFAULT_BUDGET, format_summary, tune
from spikes.model import ReportData

#: Simulation arguments per case; ``major_only`` keeps only labels with peak >= that ratio.
CASES = {
    "mid (5min)": {},
    "major outages only labelled (5min)": {"outage_rate_per_week": 2.0, "major_only": 10.0},
    "low volume (5min)": {"volume": "low"},
    "low volume (1min)": {"volume": "low", "bucket": "1min"},
    "mild outages (5min)": {"mild": True},
    "mild, low volume (5min)": {"mild": True, "volume": "low"},
}


def as_data(sim) -> ReportData:  # noqa: ANN001
    """Counts of a simulation as :class:`ReportData`."""
    counts = sim.reports.pivot(index="timestamp", columns="product", values="reports")
    counts.index = pd.DatetimeIndex(counts.index)
    return ReportData(counts=counts.astype(float), bucket=sim.bucket)


def bench_speed(seed: int) -> float:
    """Seconds to tune 30 products x 14 days of 5-minute data with the default budget."""
    sim = simulate(products=30, days=14, seed=seed)
    data = as_data(sim)
    start = time.perf_counter()
    result = tune(data, sim.labels, budget=DEFAULT_BUDGET, seed=0)
    elapsed = time.perf_counter() - start
    print(f"speed: 30 products x 14 days (5 min), budget {DEFAULT_BUDGET}: "
          f"{len(result.trials)} trials in {elapsed:.1f} s "
          f"({elapsed / len(result.trials):.2f} s per trial) "
          f"-> {'OK' if elapsed < 120 else 'TOO SLOW'} (target < 120 s)")
    return elapsed


def bench_quality(seed: int, cases: list[str]) -> None:
    """Held-out F1, defaults against tuned, on 28-day simulations split 14 / 14."""
    for name in cases:
        args = dict(CASES[name])
        major_only = args.pop("major_only", None)
        sim = simulate(products=30, days=28, seed=seed, **args)
        labels = sim.labels if major_only is None else sim.labels[sim.labels["ratio"]
                                                                  >= major_only]
        start = time.perf_counter()
        result = tune(as_data(sim), labels, budget=DEFAULT_BUDGET, seed=0)
        d, t = result.defaults.validation.f1, result.tuned.validation.f1
        print(f"\n{name}: validation F1 defaults {d:.3f} -> tuned {t:.3f} ({t - d:+.3f}); "
              f"{time.perf_counter() - start:.0f} s")
        print(format_summary(result))


def main() -> None:
    """Command line of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="simulation seed (default 1)")
    parser.add_argument("--quality", action="store_true", help="also measure held-out F1")
    parser.add_argument("--case", action="append", choices=list(CASES),
                        help="quality case(s) to run (default all)")
    args = parser.parse_args()
    bench_speed(args.seed)
    if args.quality:
        bench_quality(args.seed, args.case or list(CASES))


if __name__ == "__main__":
    main()
