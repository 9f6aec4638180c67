"""Robustness of the defaults to other noise: the same outages under other count noise.

Run ``.venv/bin/python benchmarks/bench_noise.py [--products 20 --days 21]``.

`spikes simulate` draws overdispersed counts with an autocorrelated drift. Data seen in
the field may be calmer or burstier. Here the simulator's outages (its expected baseline
and outage excess, no blips) are redrawn under three noise models, and `spikes` runs with
its defaults on each:

* ``poisson``: independent Poisson counts (the calmest count data can be);
* ``gamma-poisson``: Poisson counts of a rate multiplied per bucket by a Gamma(3, 1/3)
  factor (coefficient of variation 0.58: far burstier than the simulator's);
* ``simulator``: the simulator's own counts, for reference (blips off).

Figures per bucket size: F1, precision, recall and false alarms per product-week,
averaged over three seeds. The false-alarm budget of the defaults is 0.1 per
product-week: the per-product calibration should hold it under every noise model.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

from spikes.detect.pipeline import analyze
from spikes.evaluation.evaluate import evaluate
from spikes.evaluation.simulate import simulate
from spikes.model import ReportData

SETUPS = (("5min", "mid"), ("1min", "low"), ("15min", "mid"))
SEEDS = (11, 12, 13)
NOISES = ("poisson", "gamma-poisson", "simulator")


def redraw(rates: np.ndarray, noise: str, rng: np.random.Generator) -> np.ndarray:
    """Counts of the expected `rates` under a noise model (see the module docstring)."""
    if noise == "poisson":
        return rng.poisson(rates).astype(float)
    if noise == "gamma-poisson":
        return rng.poisson(rates * rng.gamma(3.0, 1.0 / 3.0, rates.shape)).astype(float)
    raise ValueError(f"unknown noise {noise!r}")


def run(products: int, days: int) -> pd.DataFrame:
    """Figures per noise model and bucket size, averaged over :data:`SEEDS`."""
    rows = []
    for bucket, volume in SETUPS:
        for noise in NOISES:
            figures = []
            for seed in SEEDS:
                sim = simulate(products=products, days=days, seed=seed, bucket=bucket,
                               volume=volume, blips=False)
                if noise == "simulator":
                    counts = sim.counts()
                else:
                    rates = (sim.expected + sim.excess).to_numpy()
                    counts = pd.DataFrame(redraw(rates, noise, np.random.default_rng(seed)),
                                          index=sim.expected.index,
                                          columns=sim.expected.columns)
                found = analyze(ReportData(counts=counts, bucket=pd.Timedelta(bucket)))
                ev = evaluate(found.incidents, sim.labels[["product", "onset", "end"]],
                              product_weeks=products * days / 7)
                figures.append((ev.f1, ev.precision, ev.recall,
                                ev.false_alarms_per_product_week))
            f1, precision, recall, alarms = np.mean(figures, axis=0)
            rows.append({"bucket": bucket, "volume": volume, "noise": noise, "f1": f1,
                         "precision": precision, "recall": recall,
                         "false_alarms_per_product_week": alarms})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    """Command line: print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=20, help="products per suite")
    parser.add_argument("--days", type=int, default=21, help="days per suite")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    table = run(args.products, args.days)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
