"""Big-input benchmark: peak memory and time of ``spikes analyze`` on a huge events file.

Generates a CSV of raw report events (one row per report: ``timestamp,product``) under a
temporary folder (``/tmp`` by default), runs ``spikes analyze`` on it in a child process
and reports the child's peak resident memory (``ru_maxrss``) and wall time, then deletes
the file. Timestamps are naive (UTC). A file above ``spikes.io.buckets.STREAM_THRESHOLD``
(256 MB) is read by the streaming path; a smaller one too with ``--stream`` (the
threshold is lowered in the child); ``--naive`` also measures the in-memory path
(``load_reports(streaming=False)`` + ``analyze``) on the same file for comparison.

    python benchmarks/bench_big_input.py                     # 50 million events (~1.5 GB)
    python benchmarks/bench_big_input.py --events 2000000 --stream   # a quick run
    python benchmarks/bench_big_input.py --events 10000000 --naive
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from spikes.io.buckets import STREAM_THRESHOLD
from spikes.io.reading import estimate_size

PRODUCTS = [f"service-{i:02d}" for i in range(20)]
_CHUNK = 2_000_000

_CLI = """
import sys
import spikes.io.buckets
if sys.argv[1] == "stream":
    spikes.io.buckets.STREAM_THRESHOLD = 0
from spikes.cli import main
sys.exit(main(sys.argv[2:]))
"""

_NAIVE = """
import sys
from spikes.io.buckets import load_reports
from spikes.detect.pipeline import analyze
data = load_reports(sys.argv[1], streaming=False)
analysis = analyze(data)
print(len(data.products), "products,", len(data.counts), "buckets,",
      len(analysis.incidents), "incidents")
"""


def generate(path: Path, events: int, days: float, seed: int) -> None:
    """Write ``events`` report events over ``days`` days, with a daily cycle and a few
    outages, sorted by time, in chunks (bounded memory)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-01-05T00:00:00", "s").astype(np.int64)
    span = int(days * 86400)
    weights = rng.gamma(2.0, 1.0, len(PRODUCTS))
    weights /= weights.sum()
    products = pa.array(PRODUCTS)
    written = 0
    with pacsv.CSVWriter(path, pa.schema([("timestamp", pa.timestamp("s")),
                                          ("product", pa.dictionary(pa.int32(), pa.string()))]),
                         write_options=pacsv.WriteOptions(quoting_style="none")) as writer:
        for lo in range(0, events, _CHUNK):
            n = min(_CHUNK, events - lo)
            # Times of this chunk: a slice of the span, denser by day than by night.
            t0 = start + span * lo // events
            t1 = start + span * (lo + n) // events
            seconds = np.sort(rng.integers(t0, max(t1, t0 + 1), n))
            hour = (seconds // 3600) % 24
            keep_day = rng.random(n) < 0.4 + 0.6 * np.sin(np.pi * hour / 24) ** 2
            seconds = np.where(keep_day, seconds, seconds - seconds % 60)
            codes = rng.choice(len(PRODUCTS), n, p=weights).astype(np.int32)
            if lo // _CHUNK % 5 == 2:  # an outage: one product gets half the reports of an hour
                hour_start = seconds[n // 2] - seconds[n // 2] % 3600
                outage = (seconds >= hour_start) & (seconds < hour_start + 3600)
                codes[outage & (rng.random(n) < 0.5)] = lo // _CHUNK % len(PRODUCTS)
            table = pa.table({
                "timestamp": pa.array(seconds, type=pa.timestamp("s")),
                "product": pa.DictionaryArray.from_arrays(pa.array(codes), products),
            })
            writer.write_table(table)
            written += n
    assert written == events


def run(command: list[str]) -> tuple[float, float, str, int]:
    """Run a child; return its wall time (s), peak RSS (MB, the child's own
    ``ru_maxrss``), stdout and exit code."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode:
        sys.stderr.write(stderr)
    return elapsed, usage.ru_maxrss / 1024, stdout.strip(), child.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000_000,
                        help="number of report events to generate (default 50 million)")
    parser.add_argument("--days", type=float, default=28.0, help="days covered (default 28)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--tmp", default=tempfile.gettempdir(),
                        help="folder for the generated file (default: the temp folder)")
    parser.add_argument("--stream", action="store_true",
                        help="stream even a file below the threshold (for quick runs)")
    parser.add_argument("--naive", action="store_true",
                        help="afterwards, also measure the in-memory path (streaming=False)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.tmp, prefix="spikes-bench-") as folder:
        path = Path(folder) / "events.csv"
        started = time.perf_counter()
        generate(path, args.events, args.days, args.seed)
        size = path.stat().st_size
        print(f"generated {args.events:,} events, {size / 2**20:,.0f} MB, in "
              f"{time.perf_counter() - started:.1f} s: {path}")
        out = Path(folder) / "incidents.csv"
        streamed = args.stream or estimate_size(path) > STREAM_THRESHOLD
        command = [sys.executable, "-c", _CLI, "stream" if args.stream else "auto",
                   "analyze", str(path), "-o", str(out)]
        elapsed, peak, stdout, code = run(command)
        how = "streaming" if streamed else "in-memory (below the streaming threshold)"
        print(f"spikes analyze, {how}: exit {code}, {elapsed:.1f} s, peak RSS {peak:,.0f} MB")
        print("  " + stdout.splitlines()[0] if stdout else "  (no output)")
        if args.naive:
            elapsed, peak, stdout, code = run([sys.executable, "-c", _NAIVE, str(path)])
            print(f"in-memory (streaming=False): exit {code}, {elapsed:.1f} s, peak RSS "
                  f"{peak:,.0f} MB")
            print("  " + stdout if stdout else "  (no output)")
    print(f"file deleted; {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
