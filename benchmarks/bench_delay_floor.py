"""How soon could any detector raise the simulated outages? A floor under the alert delay.

Run ``.venv/bin/python benchmarks/bench_delay_floor.py [--write]`` (about 12 seconds).

The causal-detection issue asks for an alert delay of at most 2 buckets (median) and 6
(90th percentile) on every simulated data set, with at most 0.1 false alarms per
product-week. How fast an outage can be told from noise at that false-alarm rate is
bounded by information: a CUSUM that knows the true baseline and the true outage rates
bucket by bucket, with Lorden's threshold ``h = ln(buckets per week / 0.1)`` (one false
alarm per ten weeks), crosses it about when the Kullback-Leibler divergence of the
outage's counts from the baseline's, summed from the onset, reaches ``h``. Per bucket,
under Poisson counts (the least noisy count law; the simulator's extra noise only slows
detection), that divergence is ``m ln(m / b) - (m - b)`` for an outage rate ``m`` over a
baseline ``b``.

For every outage of each data set that starts after the first day (the warm-up), the
floor is the number of buckets from its onset (its onset bucket included) until that sum
reaches ``h``; an outage whose sum never does (a low-volume outage too short or too mild)
has no finite floor, and counts as infinitely slow (a detector may still catch it when
its counts happen to run high, but not as a rule: a bound in expectation, not a strict
one). Compared with live `spikes`' alert delay (``alerted_at`` minus the onset, in
buckets: a bucket's alert comes at its end, and ``min_buckets = 2`` makes 2 the
earliest at 5 to 15 minutes, 6 at 1 minute, where it counts 5-minute grains) in
``RESULTS.md``. Seeds: the suites' development seeds and the check seeds (+100).

A second floor takes each simulator's own count noise instead of Poisson's, as far as
the simulator exposes it: every simulator draws its counts gamma-Poisson (negative
binomial) with a shape ``k`` per product, and the per-bucket divergence is then ``m ln(m
(b + k) / (b (m + k))) + k ln((b + k) / (m + k))`` (``evidence.count_kl``, shared with
``bench_burst_ceiling.py``). The shapes: the suites' from ``Simulation.noise`` (10-60;
the suites' autocorrelated log-normal multiplier, log-sd 0.05-0.2 with a 45-minute time
constant, is not in the truth's baseline and is left out, so their own-law floor is
still a looser one), family 2's and family 3's from ``generate(..., return_truth=True)``
(``dispersion_k``: 10-200 and 3-60; their drift and family 3's AR(1) noise are in the
truth's baseline, so the law given it is exactly negative binomial). The column "own
law" gives the range of ``k`` over the data set's products.

Data sets beyond the suites: the second simulator's families (``sim_family2``: drift,
minute, hourly, quiet; 30 products x 28 days, the generalisation benchmark's seeds and,
as check seeds, ``bench_burst_ceiling.py``'s other seeds, + 1000) and the third's
(``sim_family3``: mixed, partial, plateau, autocorr_tz, bursts; 36 x 28, the
generalisation benchmark's seeds and its check seeds, + 2000). Family 2's outage excess
is the truth's ``outage_excess``, summed up to the product's next outage (the suites'
sums run, as before, 400 buckets from the onset whatever follows; cut at the next outage,
one more outage on each of suite B's seeds and on E's dev seed would never reach h under
Poisson, and no median or 90th percentile would move); family 3's is its outage's own
multiplier (``sim_family3.outage_multiplier``) on the truth's baseline; curiosity and
news bursts are not outages and add no evidence. The live column is live `spikes`' alert
delay (median / 90th percentile, over its true positives: the outages it missed have
none, so it is not measured on the same outages as the floor) in ``results.json`` (the
last full run) where that run has the same data set and seed ("-" where it has not:
family 2's check seeds).

The delay targets are reachable in expectation under a floor when its median is at most
2 and its 90th percentile at most 6. Where they are not, the tightest delay target any
detector could be held to on that data set, in expectation, is the floor itself (read per
data set: median at most max(2, floor median), p90 at most max(6, floor p90)); live
`spikes` cannot alert before 2 buckets anyway (6 at 1 minute).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sim_family2  # noqa: E402
import sim_family3  # noqa: E402
from bench_burst_ceiling import OTHER_SEED_OFFSET  # noqa: E402
from evidence import count_kl  # noqa: E402
from generalisation import (  # noqa: E402
    FAMILY3_CHECK_OFFSET,
    FAMILY3_SEEDS,
    FAMILY3_SIZES,
    FAMILY_SEEDS,
    SIZES,
)
from suites import SUITES  # noqa: E402

from spikes.evaluation.simulate import simulate  # noqa: E402

OUT = Path(__file__).with_name("DELAY_FLOOR.md")
RESULTS = Path(__file__).with_name("results.json")
PRODUCTS, DAYS = 30, 21
BUDGET = 0.1
CHECK_OFFSET = 100
#: Buckets after an onset searched for the crossing.
REACH = 400
#: The issue's alert-delay targets, in buckets: median and 90th percentile.
TARGET_MEDIAN, TARGET_P90 = 2.0, 6.0


def lorden(bucket: pd.Timedelta, budget: float = BUDGET) -> float:
    """Lorden's threshold at `budget` false alarms per product-week."""
    return float(np.log((pd.Timedelta(days=7) / bucket) / budget))


def crossing(base: np.ndarray, rate: np.ndarray, h: float, shape: float = np.inf) -> float:
    """Buckets until the summed divergence of counts at `rate` from those at `base`
    reaches `h` (inf where it never does), under gamma-Poisson counts of shape `shape`
    (Poisson with ``inf``)."""
    crossed = np.flatnonzero(np.cumsum(count_kl(rate, base, shape)) >= h)
    return float(crossed[0] + 1) if len(crossed) else np.inf


def floors(expected: pd.DataFrame, excess: pd.DataFrame, labels: pd.DataFrame,
           bucket: pd.Timedelta, budget: float = BUDGET,
           shapes: pd.Series | None = None) -> np.ndarray:
    """Buckets from each outage's onset until the KL divergence of its counts from the
    baseline's, summed, reaches Lorden's threshold (inf where it never does): Poisson
    counts, or gamma-Poisson of each product's shape in `shapes`."""
    h = lorden(bucket, budget)
    return np.array([crossing(base, rate, h, np.inf if shapes is None else shapes[product])
                     for product, base, rate in _windows(expected, excess, labels)])


def _windows(expected: pd.DataFrame, excess: pd.DataFrame, labels: pd.DataFrame
             ) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Each outage after the first day: product, baseline and outage rate from its onset."""
    first_day = expected.index[0] + pd.Timedelta(days=1)
    for label in labels.itertuples(index=False):
        if label.onset < first_day:
            continue
        at = expected.index.get_loc(label.onset)
        base = expected[label.product].to_numpy(float)[at : at + REACH]
        yield label.product, base, base + excess[label.product].to_numpy(float)[at : at + REACH]


def _family2_excess(expected: pd.DataFrame, outage_excess: pd.DataFrame,
                    labels: pd.DataFrame) -> Iterator[tuple[Any, pd.DataFrame]]:
    """Family 2: each label with the truth's outage excess of its product up to (not
    including) the product's next outage's onset."""
    for product, own in labels.groupby("product", sort=False):
        onsets = sorted(own["onset"])
        for label in own.itertuples(index=False):
            later = [t for t in onsets if t > label.onset]
            excess = outage_excess[[product]].copy()
            if later:
                excess.loc[later[0]:, product] = 0.0
            yield label, excess


def _family3_excess(expected: pd.DataFrame, labels: pd.DataFrame, tail: int
                    ) -> Iterator[tuple[Any, pd.DataFrame]]:
    """Family 3: each label with its own outage's excess on the truth's baseline."""
    n = len(expected)
    for label in labels.itertuples(index=False):
        mult = sim_family3.outage_multiplier(n, expected.index.get_loc(label.onset),
                                             label.ramp_buckets, label.buckets, label.ratio,
                                             tail)
        base = expected[label.product].to_numpy(float)
        yield label, pd.DataFrame({label.product: base * (mult - 1)}, index=expected.index)


def _per_label(expected: pd.DataFrame, pairs: Iterator[tuple[Any, pd.DataFrame]],
               bucket: pd.Timedelta, shapes: pd.Series | None) -> np.ndarray:
    """Floors of labels that each come with their own excess."""
    out: list[float] = []
    for label, excess in pairs:
        one = pd.DataFrame([{"product": label.product, "onset": label.onset}])
        out += list(floors(expected, excess, one, bucket, shapes=shapes))
    return np.array(out)


def _quantiles(found: np.ndarray) -> tuple[float, float]:
    """Median and 90th percentile as order statistics (an infinite floor stays infinite)."""
    if not len(found):
        return np.nan, np.nan
    return (float(np.quantile(found, 0.5, method="inverted_cdf")),
            float(np.quantile(found, 0.9, method="inverted_cdf")))


def _row(name: str, seeds: str, poisson: np.ndarray, own: np.ndarray | None,
         shapes: pd.Series | None, law: str, live: tuple[float, float] | None
         ) -> dict[str, object]:
    median, p90 = _quantiles(poisson)
    row: dict[str, object] = {
        "data set": name, "seeds": seeds, "outages after day 1": len(poisson),
        "expected evidence never reaches h": int(np.isinf(poisson).sum()),
        "floor median (buckets)": median, "floor p90 (buckets)": p90}
    if own is None or shapes is None:
        row.update({"own law": "n/a: not exposed", "own law: never reaches h": "n/a",
                    "own-law floor median": "n/a", "own-law floor p90": "n/a"})
    else:
        own_median, own_p90 = _quantiles(own)
        row.update({"own law": f"{law} k {shapes.min():.1f}-{shapes.max():.1f}",
                    "own law: never reaches h": int(np.isinf(own).sum()),
                    "own-law floor median": own_median, "own-law floor p90": own_p90})
    row["live spikes alert median / p90"] = (
        "-" if live is None else f"{live[0]:.1f} / {live[1]:.1f}")
    return row


def _live(results: dict[str, Any], kind: str, key: str, seed: int
          ) -> tuple[float, float] | None:
    """Live spikes' alert delay (median, p90) in the last full run, if it has this data
    set at this seed (None otherwise)."""
    try:
        if kind == "suite":
            entry = results["suites"][key]
            if entry["seed"] == seed:
                if results["quick"] or (entry["products"], entry["days"]) != (PRODUCTS, DAYS):
                    return None
                figs = entry["peers"]["spikes"]["defaults"]
            else:
                check = results["check"]["suites"][key]
                if check["seed"] != seed:
                    return None
                figs = check["spikes"]
        elif kind == "family2":
            if seed != FAMILY_SEEDS[key] or results["generalisation"]["quick"]:
                return None
            figs = results["generalisation"]["datasets"][key]["results"]["spikes"]
        else:
            if seed == FAMILY3_SEEDS[key] and not results["generalisation"]["quick"]:
                figs = results["generalisation"]["datasets"][
                    sim_family3.dataset_name(key)]["results"]["spikes"]
            else:
                check = results["family3_check"]["families"][key]
                if check["seed"] != seed:
                    return None
                figs = check["spikes"]
    except KeyError:
        return None
    return float(figs["alert_delay_median_buckets"]), float(figs["alert_delay_p90_buckets"])


def run(results: dict[str, Any] | None = None) -> pd.DataFrame:
    """The floors' medians and 90th percentiles per data set and seed."""
    if results is None:
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    rows = []
    for suite in SUITES:
        for name, offset in (("dev", 0), ("check", CHECK_OFFSET)):
            options = {**suite.options, "seed": suite.options["seed"] + offset}
            sim = simulate(products=PRODUCTS, days=DAYS, **options)
            bucket = pd.Timedelta(options["bucket"])
            found = floors(sim.expected, sim.excess, sim.labels, bucket)
            shapes = None if sim.noise is None else sim.noise["gamma_shape"]
            own = (None if shapes is None
                   else floors(sim.expected, sim.excess, sim.labels, bucket, shapes=shapes))
            rows.append(_row(f"{suite.key} {suite.name}", f"{name} {options['seed']}", found,
                             own, shapes, "NB (AR(1) log-normal left out)",
                             _live(results, "suite", suite.key, options["seed"])))
    size = SIZES["full"]
    for family in sim_family2.FAMILIES:
        for name, offset in (("dev", 0), ("check", OTHER_SEED_OFFSET)):
            seed = FAMILY_SEEDS[family] + offset
            counts, labels, truth = sim_family2.generate(
                size["products"], size["days"], seed=seed, family=family, return_truth=True)
            bucket = counts.index[1] - counts.index[0]
            expected, shapes = truth["expected"], truth["dispersion_k"]
            pairs = list(_family2_excess(expected, truth["outage_excess"], labels))
            found = _per_label(expected, iter(pairs), bucket, None)
            own = _per_label(expected, iter(pairs), bucket, shapes)
            rows.append(_row(f"family 2: {family}", f"{name} {seed}", found, own, shapes, "NB",
                             _live(results, "family2", family, seed)))
    size = FAMILY3_SIZES["full"]
    for family, dev_seed in FAMILY3_SEEDS.items():
        for name, offset in (("dev", 0), ("check", FAMILY3_CHECK_OFFSET)):
            seed = dev_seed + offset
            counts, labels, truth = sim_family3.generate(
                size["products"], size["days"], seed=seed, family=family, return_truth=True)
            expected, shapes = truth["expected"], truth["dispersion_k"]
            tail = sim_family3.FAMILIES[family]["tail_buckets"]
            pairs = list(_family3_excess(expected, labels, tail))
            found = _per_label(expected, iter(pairs), sim_family3.BUCKET, None)
            own = _per_label(expected, iter(pairs), sim_family3.BUCKET, shapes)
            rows.append(_row(sim_family3.dataset_name(family), f"{name} {seed}", found, own,
                             shapes, "NB", _live(results, "family3", family, seed)))
    return pd.DataFrame(rows)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "never" if np.isinf(value) else f"{value:.1f}"
    return str(value)


def _verdict(median: object, p90: object) -> str:
    """Whether a floor leaves the delay targets reachable in expectation, and if not why."""
    if not isinstance(median, float) or not isinstance(p90, float):
        return "n/a"
    missed = [f"median {_cell(median)} > {TARGET_MEDIAN:g}"] if median > TARGET_MEDIAN else []
    missed += [f"p90 {_cell(p90)} > {TARGET_P90:g}"] if p90 > TARGET_P90 else []
    return "reachable" if not missed else "out of reach (" + ", ".join(missed) + ")"


def reachability(table: pd.DataFrame) -> list[str]:
    """One line per data set: are the delay targets reachable under each floor?"""
    lines = []
    for name, rows in table.groupby("data set", sort=False):
        parts = []
        for label, median, p90 in (("Poisson floor", "floor median (buckets)",
                                    "floor p90 (buckets)"),
                                   ("Own-law floor", "own-law floor median",
                                    "own-law floor p90")):
            verdicts = [f"{r['seeds'].split()[0]} {_verdict(r[median], r[p90])}"
                        for _, r in rows.iterrows()]
            whole = {v.split(" ", 1)[1] for v in verdicts}
            if whole == {"reachable"}:
                parts.append(f"{label}: reachable on every seed")
            elif whole == {"n/a"}:
                parts.append(f"{label}: n/a (noise law not exposed)")
            else:
                parts.append(f"{label}: " + "; ".join(verdicts))
        lines.append(f"- **{name}** - " + ". ".join(parts) + ".")
    return lines


def out_of_reach(table: pd.DataFrame) -> list[str]:
    """The data sets whose delay targets are out of reach on some seed, per floor."""
    out = []
    for label, median, p90 in (("the Poisson floor", "floor median (buckets)",
                                "floor p90 (buckets)"),
                               ("the own-law floor", "own-law floor median",
                                "own-law floor p90")):
        names = [f"{r['data set']} ({r['seeds'].split()[0]})" for _, r in table.iterrows()
                 if _verdict(r[median], r[p90]).startswith("out of reach")]
        out.append(f"Out of reach under {label} (data set and seed): "
                   + (", ".join(names) if names else "none") + ".")
    return out


def markdown(table: pd.DataFrame) -> str:
    """DELAY_FLOOR.md: the module docstring, the table and the targets' reachability."""
    intro = (__doc__ or "").split("\n\n", 1)[1].strip()
    lines = ["| " + " | ".join(map(str, table.columns)) + " |",
             "|" + "|".join("---" for _ in table.columns) + "|"]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    verdicts = ["## Are the delay targets reachable?", "",
                f"Median <= {TARGET_MEDIAN:g} and p90 <= {TARGET_P90:g} buckets, in "
                "expectation, under each floor (dev and check seeds):", "",
                *reachability(table), "", *out_of_reach(table)]
    return "\n".join(["# A floor under the alert delay (simulated data sets)", "", intro, "",
                      *lines, "", *verdicts, ""])


def main(argv: list[str] | None = None) -> None:
    """Command line: print the table (and write DELAY_FLOOR.md with ``--write``)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUT.name}")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    started = time.perf_counter()
    table = run()
    seconds = time.perf_counter() - started
    with pd.option_context("display.width", 250, "display.max_columns", None):
        print(table.to_string(index=False, formatters={
            c: _cell for c in table.columns if "median" in c or "p90" in c}))
    print("\n".join(reachability(table) + out_of_reach(table)))
    print(f"{seconds:.1f} s")
    if args.write:
        OUT.write_text(markdown(table))
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
