"""Scale-out of `spikes`: 1k, 3k and 10k products x 28 days of 5-minute buckets on Dask.

Run ``.venv/bin/python benchmarks/bench_scale.py [--sizes 1000 3000 10000] [--json OUT]``.

1. **Generate** long-format Parquet (``timestamp, product, reports``) with
   :func:`spikes.evaluation.simulate.simulate`, 250 products at a time (each chunk its own
   seed and product names), written chunk by chunk with row groups of 25 products, so
   memory stays bounded (10k products = 80.6 M rows). The 1k data is also written as CSV
   for (3).
2. **Dask**: :func:`spikes.engine.detect` on the Parquet files
   (:func:`spikes.io.datasets.open_dataset`: each worker reads its own products) on a
   ``LocalCluster`` of 2 single-threaded worker processes of at most 6 GB each. Wall time
   (scan + analysis, cluster start excluded and reported apart), time per product, and
   the peak resident memory of each worker (``ru_maxrss``, asked of the workers at the
   end) and of the driver.
3. **--jobs 2 on the 1k CSV**: ``load_reports`` + analysis with 2 workers, three ways,
   each in a fresh process: today's code before the engines (commit ``BEFORE``: threads
   for the scores, a forked pool for the incidents; extracted with ``git archive``), the
   local engine (:func:`spikes.engine.detect` with ``jobs=2``: joblib worker processes),
   and a Dask ``LocalCluster`` of 2 workers (cluster start included).

Results go to ``benchmarks/SCALE.md`` (the figures are written by hand from the JSON).
Generated files go to ``benchmarks/out/scale/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out" / "scale"
DAYS = 28
CHUNK = 250
ROW_GROUP_PRODUCTS = 25
WORKERS = 2
MEMORY_LIMIT = "6GB"
#: The last commit with the hand-made fork pool (for the --jobs comparison).
BEFORE = "8629b6d"


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def generate(products: int) -> dict[str, Any]:
    """Write ``p{products}.parquet`` (and the CSV for 1k) chunk by chunk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from spikes.evaluation.simulate import simulate

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"p{products}.parquet"
    csv = OUT / f"p{products}.csv" if products <= 1000 else None
    start = time.perf_counter()
    writer = None
    rows = 0
    for first in range(0, products, CHUNK):
        names = [f"P{i:05d}" for i in range(first, min(products, first + CHUNK))]
        reports = simulate(products=names, days=DAYS, seed=1000 + first // CHUNK).reports
        reports = reports.sort_values(["product", "timestamp"], kind="stable")
        reports["product"] = reports["product"].astype(str)
        table = pa.Table.from_pandas(reports, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=ROW_GROUP_PRODUCTS * len(reports) // len(names))
        if csv is not None:
            reports.to_csv(csv, mode="a" if first else "w", header=not first, index=False)
        rows += len(reports)
    if writer is not None:
        writer.close()
    return {"products": products, "rows": rows, "seconds": time.perf_counter() - start,
            "parquet_mb": path.stat().st_size / 1e6, "maxrss_mb": _maxrss_mb()}


def run_dask(products: int) -> dict[str, Any]:
    """:func:`spikes.engine.detect` on the Parquet data, 2 workers of 6 GB."""
    from spikes.engine.dask import DaskEngine
    from spikes.engine.run import detect
    from spikes.io.datasets import open_dataset

    started = time.perf_counter()
    engine = DaskEngine(jobs=WORKERS, memory_limit=MEMORY_LIMIT)
    ready = time.perf_counter()
    try:
        dataset = open_dataset([str(OUT / f"p{products}.parquet")])
        scanned = time.perf_counter()
        found = detect(dataset, engine=engine)
        done = time.perf_counter()
        workers = engine.client.run(_maxrss_mb)
    finally:
        engine.close()
    return {"products": products, "rows": dataset.rows, "cluster_start_seconds": ready - started,
            "scan_seconds": scanned - ready, "analysis_seconds": done - scanned,
            "seconds": done - ready, "ms_per_product": 1000 * (done - ready) / products,
            "incidents": len(found.incidents), "events": len(found.events),
            "worker_maxrss_mb": sorted(workers.values()), "driver_maxrss_mb": _maxrss_mb()}


def run_jobs(way: str) -> dict[str, Any]:
    """``load_reports`` + analysis of the 1k CSV with 2 workers, one `way`."""
    csv = str(OUT / "p1000.csv")
    start = time.perf_counter()
    from spikes.io.buckets import load_reports

    data = load_reports(csv)
    loaded = time.perf_counter()
    if way == "before":
        from spikes.detect.pipeline import analyze

        incidents = analyze(data, jobs=WORKERS).incidents
    else:
        from spikes.engine.run import detect

        incidents = detect(data, engine="local" if way == "local" else "dask",
                           jobs=WORKERS).incidents
    done = time.perf_counter()
    incidents.to_pickle(OUT / f"jobs-{way}.pkl")
    return {"way": way, "load_seconds": loaded - start, "analysis_seconds": done - loaded,
            "seconds": done - start, "incidents": len(incidents), "maxrss_mb": _maxrss_mb(),
            "children_maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def _child(mode: str, arg: str, pythonpath: str | None = None) -> dict[str, Any]:
    import os

    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    done = subprocess.run([sys.executable, __file__, "--child", mode, arg], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{mode} {arg} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _before_tree() -> str:
    """The code of :data:`BEFORE`, extracted once."""
    tree = OUT / f"before-{BEFORE}"
    if not (tree / "spikes").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE, "spikes"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return str(tree)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--skip-jobs", action="store_true", help="skip the --jobs comparison")
    parser.add_argument("--skip-dask", action="store_true", help="skip the Dask runs")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, arg = args.child
        body = {"generate": lambda: generate(int(arg)), "dask": lambda: run_dask(int(arg)),
                "jobs": lambda: run_jobs(arg)}[mode]
        print(json.dumps(body()))
        return 0
    results: dict[str, Any] = {"generate": [], "dask": [], "jobs": []}
    for size in args.sizes:
        if not (OUT / f"p{size}.parquet").exists() or (size <= 1000
                                                       and not (OUT / f"p{size}.csv").exists()):
            results["generate"].append(_child("generate", str(size)))
            print(results["generate"][-1], flush=True)
        if not args.skip_dask:
            results["dask"].append(_child("dask", str(size)))
            print(results["dask"][-1], flush=True)
    if not args.skip_jobs and 1000 in args.sizes:
        for way in ("before", "local", "dask", "before", "local"):
            result = _child("jobs", way, _before_tree() if way == "before" else None)
            results["jobs"].append(result)
            print(result, flush=True)
        import pandas as pd

        # The two engines of this code must agree; `before` is an older detector (the
        # hindsight pipeline of its day), whose incidents differ since live detection.
        local = pd.read_pickle(OUT / "jobs-local.pkl")
        results["jobs_identical"] = pd.read_pickle(OUT / "jobs-dask.pkl").equals(local)
        print("identical incidents (local engine, Dask):", results["jobs_identical"])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
