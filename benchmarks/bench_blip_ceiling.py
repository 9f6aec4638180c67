"""A blip-aware ceiling for the simulated suites: one-bucket outages look like blips.

Run ``.venv/bin/python benchmarks/bench_blip_ceiling.py [--write]`` (about 10 seconds).

The suites' ceiling (``suites.ceiling``, "ceiling F1" in ``RESULTS.md``) is a detector
that finds exactly the outages with SNR >= 3, with no false alarm. On suite C (15-minute
buckets) it is 1.000, yet no detector that keeps the suite's blips quiet can reach it.
The simulator's blip (``random_distractors``) is always exactly one bucket at 5-20x the
normal rate, whatever the bucket size, about one per product-week: at 15-minute buckets,
a 15-minute burst. And ``outage_profile`` works in whole buckets: an outage whose rise,
hold and decay fit in about two buckets (at 15 minutes, a sharp outage planned up to
about 37 minutes or a plateau up to about 22; at 5 minutes, a sharp one up to about 12)
becomes one bucket at its peak (2.5-50x), then one bucket at 1.55x, the level at which
the simulator closes every decay, just above the label's end level (``END_LEVEL``,
1.5x). Such an outage differs from a blip only in that closing bucket, and under the
suites' overdispersed count noise a bucket at 1.55x is weak evidence: while diagnosing
suite C's misses it was significant at p <= 1 % after 3 of 11 missed one-bucket outages
and after 2 of 71 blips, and a rule that read it (next bucket >= 1.3x), picked in
hindsight, raised about one blip for each outage it gained. A detector that raises no
one-bucket blip raises almost none of these outages either.

**One-bucket outage**, from the simulation's ground truth (``Simulation.expected`` and
``Simulation.excess``, which ``suites.build`` keeps as ``SuiteData.expected`` and
``.excess``; no random draw is replayed and the simulator is unchanged): the true
multiplier of each bucket of the label (onset to end) is ``1 + excess / expected``; an
outage is one-bucket when every bucket of its label but its peak is at most the closing
level, 1.55x (``suites.closing_excess``, read off the simulator's own profile of its
shortest outage). A recovery surge, a ramp's first bucket or a longer decay above that
level makes an outage longer than one bucket. The cut has a wide margin on these ten data
sets: the second-highest bucket of every other outage is at least 1.75x (C dev; 1.92x
on E dev, 2.03-2.55x on the eight others), so any cut between 1.55x and 1.75x finds the
same outages. **Blip-aware ceiling**: precision 1, finding the outages with
SNR >= 3 that are not one-bucket, scored with ``evaluate`` like the SNR ceiling (in a
suite without blips none would be set aside; all five simulate them). Like the SNR
ceiling it is a reference, not a strict bound: a detector may still catch a one-bucket
outage whose closing bucket happens to run high (live ``spikes`` catches 3 of C dev's
13 and 1 of C check's 10, against 60 of the other 69 and 67 of the other 75), and it
says nothing of the false-alarm budget or the delay. ``suites.build`` now
adds it to each suite's ceiling, so the next full run shows it in ``RESULTS.md``
("blip-aware ceiling F1"). "Live spikes F1" is the last full run's (``results.json``).

**Cross-check with the study that found these outages** (the diagnosis of suite C's
misses): it called an outage one-bucket when its planned profile (replayed from
``simulate``'s draws) had at most one bucket at >= 2x. On C check both rules find the
same 10 outages (the closing-level rule's are always among the 2x rule's), blip-aware F1
0.938 (75 of 85). On C dev the 2x rule finds 17: these 13 and four ramps that rise over
two buckets, 1.90x then 2.79x, 1.75x then 2.50x, 1.84x then 2.67x and 1.94x then 2.89x
(Service 26 01-05 22:00, Service 23 01-05 23:30, Service 26 01-09 06:15, Service 02
01-21 08:45). Those are two elevated buckets, not a peak and its closing bucket, and
live ``spikes`` misses them for other reasons (the warm-up, the ratio test on the first
day, no alarm twice), not by its blip test. So the blip-aware ceiling of C dev is 0.914
(69 of 82), not the study's 0.885 (its 65 of 82 gives 0.884). The last two columns
apply the 2x rule to every suite; it also takes two mild three-bucket decays on E dev
(2.66x, 1.96x, 1.55x and 2.52x, 1.92x, 1.55x, ...).

What it means for the issue's target F1 >= 0.92 per suite: the 1.000 of C overstated
the gap to live ``spikes`` (0.137 dev, 0.123 check); against the blip-aware ceiling it is
0.051 and 0.060. C dev's ceiling, 0.914, is under the target: F1 0.92 at precision 1
takes 70 of its 82 outages, all 69 that are not one-bucket and one of the 13 that look
like its blips, with no false alarm; a detector meets it there only by luck on a closing
bucket. B dev is under the target already by its SNR ceiling (0.919: evidence,
``DELAY_FLOOR.md``). A, D and E lose only 1-4 outages each
(0.979-0.995): their gaps to the target are the detector's. Seeds: the suites'
development seeds and the check seeds (+100).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import suites  # noqa: E402

from spikes.evaluation.evaluate import evaluate  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "BLIP_CEILING.md"
RESULTS = HERE / "results.json"
WORKDIR = HERE / "out" / "blip-ceiling"
PRODUCTS, DAYS = 30, 21
CHECK_OFFSET = 100
TARGET_F1 = 0.92
#: The rule of the study that found the one-bucket outages (the diagnosis of suite C's
#: misses): at most one bucket of the label at >= 2x the normal rate. Cross-check only.
DOUBLING = 1.0


def doubling_outages(labels: pd.DataFrame, expected: pd.DataFrame,
                     excess: pd.DataFrame) -> pd.Series:
    """The study's rule: outages with at most one bucket at >= 2x the normal rate.

    Parameters
    ----------
    labels : pd.DataFrame
        The simulation's labels.
    expected, excess : pd.DataFrame
        True expected reports without outages, and the outages' expected extra reports.

    Returns
    -------
    pd.Series
        Boolean, aligned with `labels`.
    """
    out = [int((ratio >= DOUBLING).sum()) <= 1
           for ratio in suites.label_excess(labels, expected, excess)]
    return pd.Series(out, index=labels.index, dtype=bool)


def _f1_without(labels: pd.DataFrame, aside: pd.Series, product_weeks: float) -> float:
    """F1 of the detector that finds the SNR >= 3 outages except those set `aside`."""
    keep = (labels["snr"] >= suites.CEILING_SNR) & ~aside
    return evaluate(labels.loc[keep, ["product", "onset", "end"]], labels,
                    product_weeks=product_weeks).f1


def live_f1(results: dict[str, Any], key: str, check: bool, n_labels: int) -> float:
    """Live spikes' F1 on a suite in the last full benchmark run (``results.json``).

    NaN when the run has no such figure, or its suite had another number of outages (not
    the same simulation).
    """
    try:
        entry = results["check"]["suites"][key] if check else results["suites"][key]
        figures = entry["spikes"] if check else entry["summary"]["spikes"]
        same = entry["ceiling"]["n_labels"] == n_labels
        return float(figures["f1"]) if same else float("nan")
    except (KeyError, TypeError):
        return float("nan")


def suite_row(suite: suites.Suite, check: bool, results: dict[str, Any]) -> dict[str, Any]:
    """The ceilings of one suite at its development or check seed."""
    seed = suite.options["seed"] + (CHECK_OFFSET if check else 0)
    data = suites.build(replace(suite, options={**suite.options, "seed": seed}),
                        products=PRODUCTS, days=DAYS, workdir=WORKDIR)
    c, labels = data.ceiling, data.labels
    detectable = labels["snr"] >= suites.CEILING_SNR
    one = suites.one_bucket_outages(labels, data.expected, data.excess)
    doubling = doubling_outages(labels, data.expected, data.excess)
    return {
        "suite": f"{suite.key} {suite.name}", "seed": f"{'check' if check else 'dev'} {seed}",
        "bucket": suite.options["bucket"], "outages": len(labels),
        "SNR >= 3": int(detectable.sum()), "one-bucket outages": int(one.sum()),
        "of them SNR >= 3": int((one & detectable).sum()), "one-bucket blips": c["n_blips"],
        "SNR ceiling recall": c["recall"], "SNR ceiling F1": c["f1"],
        "blip-aware recall": c["blip_aware_recall"], "blip-aware F1": c["blip_aware_f1"],
        "live spikes F1": live_f1(results, suite.key, check, len(labels)),
        "study's rule (<= 1 bucket at 2x)": int(doubling.sum()),
        "blip-aware F1, study's rule": _f1_without(labels, doubling & (c["n_blips"] > 0),
                                                   data.product_weeks),
    }


def run() -> pd.DataFrame:
    """Every suite at its development and its check seed."""
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    return pd.DataFrame([suite_row(suite, check, results)
                         for suite in suites.SUITES for check in (False, True)])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if np.isnan(value) else f"{value:.3f}"
    return str(value)


def verdict(row: pd.Series) -> str:
    """One suite and seed: is its blip-aware ceiling above the F1 target?"""
    head = (f"- {row['suite']}, {row['seed']}: blip-aware ceiling F1 "
            f"{row['blip-aware F1']:.3f} (SNR ceiling {row['SNR ceiling F1']:.3f}; live "
            f"spikes {_cell(row['live spikes F1'])}): ")
    if row["SNR ceiling F1"] < TARGET_F1:
        return head + "**under the target** already by the SNR ceiling (evidence, not blips)."
    if row["blip-aware F1"] < TARGET_F1:
        return head + ("**under the target**: reaching it takes outages that look like the "
                       "suite's one-bucket blips.")
    if np.isnan(row["live spikes F1"]):
        return head + "within reach."
    return head + (f"within reach; gap to the blip-aware ceiling "
                   f"{row['blip-aware F1'] - row['live spikes F1']:.3f}.")


def verdicts(table: pd.DataFrame) -> list[str]:
    """:func:`verdict` of every row."""
    return [verdict(row) for _, row in table.iterrows()]


def markdown(table: pd.DataFrame) -> str:
    """BLIP_CEILING.md: the module docstring, the table and the verdicts."""
    intro = (__doc__ or "").split("\n\n", 1)[1].strip()
    lines = ["| " + " | ".join(map(str, table.columns)) + " |",
             "|" + "|".join("---" for _ in table.columns) + "|"]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(["# A blip-aware ceiling for the simulated suites", "", intro, "",
                      *lines, "", f"## What it means for F1 >= {TARGET_F1}", "",
                      *verdicts(table), ""])


def main(argv: list[str] | None = None) -> None:
    """Command line: print the table (and write BLIP_CEILING.md with ``--write``)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUT.name}")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    table = run()
    seconds = time.perf_counter() - start
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\n".join(verdicts(table)))
    print(f"{seconds:.1f} s")
    if args.write:
        OUT.write_text(markdown(table))
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
