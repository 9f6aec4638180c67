"""How soon could any detector raise the suites' outages? A floor under the alert delay.

Run ``.venv/bin/python benchmarks/bench_delay_floor.py [--write]`` (about 15 seconds).

The causal-detection issue asks for an alert delay of at most 2 buckets (median) and 6
(90th percentile) on every simulated suite, with at most 0.1 false alarms per
product-week. How fast an outage can be told from noise at that false-alarm rate is
bounded by information: a CUSUM that knows the true baseline and the true outage rates
bucket by bucket, with Lorden's threshold ``h = ln(buckets per week / 0.1)`` (one false
alarm per ten weeks), crosses it about when the Kullback-Leibler divergence of the
outage's counts from the baseline's, summed from the onset, reaches ``h``. Per bucket,
under Poisson counts (the least noisy count law; the simulator's extra noise only slows
detection), that divergence is ``m ln(m / b) - (m - b)`` for an outage rate ``m`` over a
baseline ``b``.

For every outage of each suite that starts after the first day (the warm-up), the floor
is the number of buckets from its onset (its onset bucket included) until that sum reaches
``h``; an outage whose sum never does (a low-volume outage too short or too mild) has no
finite floor, and counts as infinitely slow (a detector may still catch it when its
counts happen to run high, but not as a rule: a bound in expectation, not a strict
one). Compared with live `spikes`' alert delay (``alerted_at`` minus the onset, in
buckets: a bucket's alert comes at its end, and ``min_buckets = 2`` makes 2 the
earliest at 5 to 15 minutes, 6 at 1 minute, where it counts 5-minute grains) in
``RESULTS.md``. Seeds: the suites'
development seeds and the check seeds (+100).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suites import SUITES  # noqa: E402

from spikes.evaluation.simulate import simulate  # noqa: E402

OUT = Path(__file__).with_name("DELAY_FLOOR.md")
PRODUCTS, DAYS = 30, 21
BUDGET = 0.1
CHECK_OFFSET = 100
#: Buckets after an onset searched for the crossing.
REACH = 400


def floors(expected: pd.DataFrame, excess: pd.DataFrame, labels: pd.DataFrame,
           bucket: pd.Timedelta, budget: float = BUDGET) -> np.ndarray:
    """Buckets from each outage's onset until the Poisson KL divergence of its counts from
    the baseline's, summed, reaches Lorden's threshold (inf where it never does)."""
    h = np.log((pd.Timedelta(days=7) / bucket) / budget)
    first_day = expected.index[0] + pd.Timedelta(days=1)
    out = []
    for label in labels.itertuples(index=False):
        if label.onset < first_day:
            continue
        at = expected.index.get_loc(label.onset)
        base = expected[label.product].to_numpy(float)[at : at + REACH]
        rate = base + excess[label.product].to_numpy(float)[at : at + REACH]
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(rate > base, rate * np.log(rate / base) - (rate - base), 0.0)
        crossed = np.flatnonzero(np.cumsum(kl) >= h)
        out.append(float(crossed[0] + 1) if len(crossed) else np.inf)
    return np.array(out)


def run() -> pd.DataFrame:
    """The floor's median and 90th percentile per suite and seed."""
    rows = []
    for suite in SUITES:
        for name, offset in (("dev", 0), ("check", CHECK_OFFSET)):
            options = {**suite.options, "seed": suite.options["seed"] + offset}
            sim = simulate(products=PRODUCTS, days=DAYS, **options)
            bucket = pd.Timedelta(options["bucket"])
            found = floors(sim.expected, sim.excess, sim.labels, bucket)
            rows.append({"suite": f"{suite.key} {suite.name}",
                         "seeds": f"{name} {options['seed']}",
                         "outages after day 1": len(found),
                         "expected evidence never reaches h": int(np.isinf(found).sum()),
                         # Order statistics (an infinite floor stays infinite).
                         "floor median (buckets)": float(np.quantile(
                             found, 0.5, method="inverted_cdf")),
                         "floor p90 (buckets)": float(np.quantile(
                             found, 0.9, method="inverted_cdf"))})
    return pd.DataFrame(rows)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "never" if np.isinf(value) else f"{value:.1f}"
    return str(value)


def markdown(table: pd.DataFrame) -> str:
    """DELAY_FLOOR.md: the module docstring and the table."""
    intro = (__doc__ or "").split("\n\n", 1)[1].strip()
    lines = ["| " + " | ".join(map(str, table.columns)) + " |",
             "|" + "|".join("---" for _ in table.columns) + "|"]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(["# A floor under the alert delay (simulated suites)", "", intro, "",
                      *lines, ""])


def main(argv: list[str] | None = None) -> None:
    """Command line: print the table (and write DELAY_FLOOR.md with ``--write``)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUT.name}")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    table = run()
    print(table.to_string(index=False, formatters={c: _cell for c in table.columns
                                                   if c.startswith("floor")}))
    if args.write:
        OUT.write_text(markdown(table))
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
