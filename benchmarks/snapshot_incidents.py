"""Snapshot the incidents `spikes analyze` finds, to compare two versions bit for bit.

Run ``.venv/bin/python benchmarks/snapshot_incidents.py OUT_DIR [--mode MODE]`` with
one version checked out, then again with the other, and compare the two folders with
``--compare DIR_A DIR_B``. It goes through the command line only (``spikes simulate``
and ``spikes analyze``), so that any two versions of the package can be compared
whatever their internal layout.

Data sets: the bundled sample (``data/reports.csv.gz``), the five simulated suites of the
benchmark (A-E with their seeds, 30 products x 28 days) and the 1,000-product speed data
(1,000 products x 28 days of 5-minute buckets, seed 7). Generated inputs go to
``benchmarks/out/snapshot/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "out" / "snapshot"
SPIKES = [sys.executable, "-m", "spikes"]

# key -> arguments of `spikes simulate` (the suites' options of benchmarks/suites.py).
SIMULATED: dict[str, list[str]] = {
    "A": ["--bucket", "5min", "--volume", "mid", "--seed", "101"],
    "B": ["--bucket", "1min", "--volume", "low", "--seed", "102"],
    "C": ["--bucket", "15min", "--volume", "mid", "--seed", "103"],
    "D": ["--bucket", "5min", "--volume", "mid", "--level-shifts", "--missing-rate", "0.02",
          "--seed", "104"],
    "E": ["--bucket", "5min", "--volume", "mid", "--mild", "--seed", "105"],
    "many": ["--products", "1000", "--bucket", "5min", "--volume", "mid", "--seed", "7"],
}


def _run(args: list[str]) -> None:
    subprocess.run(args, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def inputs() -> dict[str, Path]:
    """Generate (once) and return the input CSV of every data set."""
    WORK.mkdir(parents=True, exist_ok=True)
    paths = {"sample": ROOT / "data" / "reports.csv.gz"}
    for key, options in SIMULATED.items():
        path = WORK / f"{key}-reports.csv"
        if not path.exists():
            size = [] if key == "many" else ["--products", "30"]
            _run([*SPIKES, "simulate", "-o", str(path), "--labels-out",
                  str(WORK / f"{key}-labels.csv"), "--days", "28", *size, *options])
        paths[key] = path
    return paths


def snapshot(out: Path, extra: list[str]) -> None:
    """Write ``<key>-incidents.csv`` and ``<key>-events.csv`` of every data set to `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for key, path in inputs().items():
        _run([*SPIKES, "analyze", str(path), "-o", str(out / f"{key}-incidents.csv"),
              "--events-output", str(out / f"{key}-events.csv"), *extra])
        print(f"{key}: {_digest(out / f'{key}-incidents.csv')}", flush=True)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def compare(a: Path, b: Path) -> int:
    """Print whether every file of `a` is byte-identical in `b`; return an exit code."""
    differ = 0
    for file in sorted(a.glob("*.csv")):
        other = b / file.name
        same = other.exists() and file.read_bytes() == other.read_bytes()
        rows = sum(1 for _ in file.open()) - 1
        print(f"{file.name:24} {rows:6d} rows  {'identical' if same else 'DIFFERENT'}")
        differ += not same
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    """Command line: ``OUT_DIR [-- ANALYZE_ARGS]`` or ``--compare A B``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    parser.add_argument("analyze_args", nargs=argparse.REMAINDER,
                        help="extra arguments of `spikes analyze`, after --")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if args.out is None:
        parser.error("give OUT_DIR or --compare A B")
    snapshot(args.out, [a for a in args.analyze_args if a != "--"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
