"""Start-up of the command line: wall and CPU time of short ``spikes`` commands.

Run ``.venv/bin/python benchmarks/startup.py [--repeat 5] [--serve]`` from the repository
root (about 30 seconds; a minute with ``--serve``). Each command runs ``--repeat`` times
in a fresh ``python -m spikes`` child process; the table gives the median wall time and
the median CPU time (user + system, the child's own ``wait4`` usage) of the runs:

- ``--version`` and ``--help``: the parser alone (importing :mod:`spikes.cli`);
- ``analyze --help``: the same, through a sub-command's parser;
- ``analyze`` on a one-day slice of the bundled ``data/reports.csv.gz`` (written to a
  temporary folder; the work is small, so most of the time is importing the pipeline);
- ``analyze`` on the whole bundled ``data/reports.csv.gz`` (15 days, 14 products), for
  scale;
- with ``--serve``: ``spikes serve --clock data`` over a new store until ``/healthz``
  answers 200 (wall time from the start of the child; CPU time read from
  ``/proc/PID/stat`` at that moment).

The last table is of ``python -X importtime -c "import spikes.cli"``: the modules of
:mod:`spikes.cli`'s import that take the most time (cumulative, one run), so that a heavy
library that comes back at module level shows itself.

Most of the test suite's time is subprocesses like these (``tests/test_cli.py``,
``tests/test_service.py``, ...), so their start-up is the suite's floor on 2 cores.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from serving import free_port, stop

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "reports.csv.gz"
#: The libraries whose presence after ``import spikes.cli`` the table reports.
HEAVY = ("pandas", "scipy", "ruptures", "dask", "distributed", "duckdb", "fastapi",
         "uvicorn", "httpx", "apprise", "streamlit", "plotly", "tqdm")


def run(command: list[str]) -> tuple[float, float]:
    """Run a child to its end with its output discarded; return its wall and CPU time
    (s). A failing child stops the benchmark with its stderr."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, text=True,
                                 cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status):
            err.seek(0)
            raise SystemExit(f"{' '.join(command)} failed:\n{err.read()}")
    return elapsed, usage.ru_utime + usage.ru_stime


def one_day(path: Path) -> None:
    """Write the first day of the bundled sample (all its products) to `path`."""
    with gzip.open(DATA, "rt", encoding="utf-8") as src, path.open("w") as dst:
        header = src.readline()
        dst.write(header)
        for line in src:
            if not line.startswith("2026-01-08"):
                break
            dst.write(line)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux ``/proc``); NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    # After the command name: state is field 3, utime 14 and stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve_once(folder: Path) -> tuple[float, float]:
    """Start ``spikes serve`` over a new store in `folder`; return the wall time until
    ``/healthz`` answers 200 and the service's CPU time then."""
    port = free_port()
    token = folder / "token"
    token.write_text("startup-bench-token")
    store = folder / f"startup-{port}.duckdb"
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "spikes", "serve", "--store", str(store), "--host",
         "127.0.0.1", "--port", str(port), "--clock", "data", "--token-file", str(token)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            while True:
                if child.poll() is not None:
                    raise SystemExit("spikes serve exited before answering /healthz")
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.perf_counter() - started > 60:
                    raise SystemExit("spikes serve did not answer /healthz in 60 s")
                time.sleep(0.01)
        return time.perf_counter() - started, _cpu_seconds(child.pid)
    finally:
        stop(child)


def import_table(limit: int) -> tuple[list[tuple[str, float]], list[str]]:
    """The `limit` slowest modules (cumulative ms) of ``import spikes.cli``, and which of
    :data:`HEAVY` it loads."""
    code = ("import sys, spikes.cli; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        rows.append((name.rstrip(), int(cumulative) / 1000))
    rows.sort(key=lambda row: -row[1])
    return rows[:limit], done.stdout.split()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of each command; the median is shown (default 5)")
    parser.add_argument("--serve", action="store_true",
                        help="also time `spikes serve` until its first healthy answer")
    parser.add_argument("--imports", type=int, default=15,
                        help="rows of the import-time table (default 15; 0: none)")
    args = parser.parse_args(argv)
    spikes = [sys.executable, "-m", "spikes"]
    with tempfile.TemporaryDirectory(prefix="spikes-startup-") as tmp:
        folder = Path(tmp)
        day = folder / "one_day.csv"
        one_day(day)
        commands = {
            "--version": [*spikes, "--version"],
            "--help": [*spikes, "--help"],
            "analyze --help": [*spikes, "analyze", "--help"],
            "analyze (1 day)": [*spikes, "analyze", str(day)],
            "analyze data/reports.csv.gz": [*spikes, "analyze", str(DATA)],
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        if args.serve:
            times["serve to /healthz"] = []
        # Round-robin, so that a busy moment of the machine spreads over the commands.
        for _ in range(args.repeat):
            for name, command in commands.items():
                times[name].append(run(command))
            if args.serve:
                times["serve to /healthz"].append(serve_once(folder))
    print(f"command line start-up, median of {args.repeat} runs ({os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]})")
    print(f"{'command':<36} {'wall s':>8} {'CPU s':>8}")
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{'spikes ' + name:<36} {wall:8.2f} {cpu:8.2f}")
    if args.imports:
        rows, heavy = import_table(args.imports)
        print(f"\nimport spikes.cli: slowest modules (cumulative ms, one run); loads: "
              f"{', '.join(heavy) or 'none of ' + ', '.join(HEAVY)}")
        for name, ms in rows:
            print(f"{name:<60} {ms:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
