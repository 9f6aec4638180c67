"""Every detection figure of live `spikes` (defaults) on the benchmark's data, in about a
minute, and what moved between two runs: the check that a change of the detection
leaves the figures it should not touch bit-identical.

Run (from the repository root; ``PYTHONPATH`` picks the source tree measured)::

    .venv/bin/python benchmarks/live_figures.py OUT.json            # every part
    .venv/bin/python benchmarks/live_figures.py OUT.json --parts suites nab
    .venv/bin/python benchmarks/live_figures.py OUT.json --seed-offset 500   # fresh seeds
    .venv/bin/python benchmarks/live_figures.py --compare BEFORE.json AFTER.json

Parts: ``suites`` (A-E at full size, with their budget rows), ``families`` (the second
and third simulators and the outages injected into NAB, :mod:`generalisation`), ``nab``,
``cloud`` (defaults only, no oracle grid) and ``budget`` (NAB and Cloud Monitoring rows).
With ``--seed-offset K`` the simulated sets and the injection are drawn with their seeds
plus K: seeds no default was chosen on (the real series are the same whatever K).
``run_benchmark.py`` is the full report (every peer, the check seeds, speed); this is the
live detector alone, for comparing two trees.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import budget
import cloud_bench
import generalisation
import nab_bench
import scoring
import suites
from peers import spikes_default

HERE = Path(__file__).resolve().parent
PARTS = ("suites", "families", "nab", "cloud", "budget")
#: The figures kept of each data set (``scoring.figures`` has more).
KEPT = ("precision", "recall", "f1", "tp", "fp", "fn", "alert_delay_median_min",
        "alert_delay_p90_min", "nab_score")


def _kept(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if k in KEPT}


def measure(parts: tuple[str, ...] = PARTS, seed_offset: int = 0) -> dict[str, Any]:
    """The figures of live `spikes` on the chosen parts.

    Parameters
    ----------
    parts : tuple of str
        Among :data:`PARTS`.
    seed_offset : int
        Added to the seeds of the simulated sets and of the injection.

    Returns
    -------
    dict
        One entry per data set (its :data:`KEPT` figures) or budget row (its alerts).
    """
    out: dict[str, Any] = {}
    if "suites" in parts:
        for suite in suites.SUITES:
            seeded = dataclasses.replace(
                suite, options={**suite.options, "seed": suite.options["seed"] + seed_offset})
            data = suites.build(seeded, workdir=HERE / "out" / "live-figures", products=30,
                                days=21)
            incidents = spikes_default.detect(data.counts, data.bucket)
            out[f"suite {suite.key}"] = _kept(scoring.score(
                incidents, data.labels, data.product_weeks, data.bucket, 0.0)[0])
            for row in budget.rows(suite.key, [(data.counts, data.bucket)],
                                   budget.matching_windows(data.labels)):
                out[f"budget suite {suite.key} b={row['b']}"] = row["alerts"]
    if "families" in parts:
        with _offset_seeds(seed_offset):
            families = generalisation.run([spikes_default])
        for name, entry in families["datasets"].items():
            if entry.get("available"):
                out[f"family {name}"] = _kept(entry["results"]["spikes"])
    if "nab" in parts:
        nab = nab_bench.run([spikes_default])
        if nab.get("available"):
            result = nab["results"]["spikes"]
            out["nab"] = {**_kept(result), "files": result["nab_files"]}
    if "cloud" in parts:
        cloud = cloud_bench.run([spikes_default], oracle=False)
        if cloud.get("available"):
            result = cloud["results"]["spikes"]["defaults"]
            out["cloud"] = {**_kept(result), "series": result["per_series"]}
    if "budget" in parts:
        for row in budget.nab_rows() + budget.cloud_rows():
            out[f"budget {row['dataset']} b={row['b']}"] = row["alerts"]
    return out


@contextlib.contextmanager
def _offset_seeds(offset: int) -> Iterator[None]:
    """Add `offset` to the generalisation benchmark's seeds for the time of a block."""
    g = generalisation
    saved = (dict(g.FAMILY_SEEDS), dict(g.FAMILY3_SEEDS), g.NAB_SEED)
    g.FAMILY_SEEDS.update({k: v + offset for k, v in g.FAMILY_SEEDS.items()})
    g.FAMILY3_SEEDS.update({k: v + offset for k, v in g.FAMILY3_SEEDS.items()})
    g.NAB_SEED += offset
    try:
        yield
    finally:
        g.FAMILY_SEEDS.update(saved[0])
        g.FAMILY3_SEEDS.update(saved[1])
        g.NAB_SEED = saved[2]


def differences(before: Any, after: Any, path: str = "") -> Iterator[str]:
    """The figures that differ between two results of :func:`measure`, one line each
    (NaN equals NaN)."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            yield from differences(before.get(key), after.get(key),
                                   f"{path} / {key}" if path else str(key))
    elif before != after and not (isinstance(before, float) and isinstance(after, float)
                                  and math.isnan(before) and math.isnan(after)):
        yield f"{path}: {before} -> {after}"


def main(argv: list[str] | None = None) -> int:
    """Command line; exit status 1 when ``--compare`` finds a difference."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, help="where the figures go (JSON)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--seed-offset", type=int, default=0)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"),
                        help="list the figures that differ between two outputs")
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.loads(p.read_text(encoding="utf-8")) for p in args.compare)
        lines = list(differences(before, after))
        print("\n".join(lines) if lines else "identical")
        return 1 if lines else 0
    if args.out is None:
        parser.error("give OUT.json, or --compare BEFORE AFTER")
    start = time.perf_counter()
    figures = measure(tuple(args.parts), args.seed_offset)
    args.out.write_text(json.dumps(figures, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(figures)} entries) in {time.perf_counter() - start:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
