"""Live-service benchmark: ingest rate and latency over loopback, and detection time.

Starts ``spikes serve --clock data`` on a free 127.0.0.1 port over a store in a temporary
folder, posts ``--batches`` JSON batches of ``--batch-size`` reports from ``--clients``
concurrent clients (a bounded load: each client waits for its answer before the next
request) and reports reports/s and the p50/p99 request latency. Then, in this process, it
fills a store with ``--products`` products over ``--days`` days and times one detection
after one more bucket closes (the live detector steps its streaming detector with the
closed bucket only, so this time does not grow with the history; the stream is built from
the store once, at the first detection). Everything it starts and writes is removed at the end.

    python benchmarks/bench_service.py                       # 2,000 batches of 1,000
    python benchmarks/bench_service.py --detection-only --products 1000 --days 7 28
    python benchmarks/bench_service.py --memory-only   # RSS over a 28-day replay
    python benchmarks/bench_service.py --ingest-only         # ingest only

The memory replay starts another ``spikes serve --clock data``, posts ``--memory-days``
of simulated long counts of ``--memory-products`` products in time order as ``text/csv``
batches and samples the service process's resident memory (``/proc/PID/status``) after
each batch: the first quarter's median against the last quarter's says whether memory
stays flat as the history grows.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from serving import TOKEN, serving


def _batches(n: int, size: int, products: int, start: pd.Timestamp) -> list[bytes]:
    """JSON bodies: reports spread over products, time moving forward by a second each."""
    import json

    rng = np.random.default_rng(0)
    bodies = []
    for b in range(n):
        t0 = start + pd.Timedelta(seconds=b)
        stamp = t0.strftime("%Y-%m-%dT%H:%M:%SZ")
        reports = [{"product": f"Product {int(p):04d}", "timestamp": stamp, "id": f"{b}-{i}"}
                   for i, p in enumerate(rng.integers(0, products, size))]
        bodies.append(json.dumps({"batch_id": f"bench-{b}", "reports": reports}).encode())
    return bodies


def bench_ingest(batches: int, size: int, clients: int, folder: Path) -> dict[str, float]:
    """Reports/s and latency percentiles of posting `batches` batches of `size`."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with serving(folder) as (_, url):
        bodies = _batches(batches, size, 1000, pd.Timestamp("2026-01-05", tz="UTC"))
        latencies: list[float] = []
        lock = threading.Lock()
        position = iter(range(len(bodies)))

        def client() -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
                while True:
                    with lock:
                        index = next(position, None)
                    if index is None:
                        return
                    started = time.perf_counter()
                    answer = http.post("/v1/reports", content=bodies[index])
                    answer.raise_for_status()
                    with lock:
                        latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    lat = np.array(latencies) * 1000
    return {"reports_per_s": batches * size / elapsed, "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)), "seconds": elapsed}


def bench_detection(products: int, days: float, folder: Path,
                    more: int = 5) -> dict[str, float]:
    """Seconds of one detection after one more bucket closes, `products` x `days` stored:
    the first flush builds the stream from the store (O(history), once); then each of
    `more` buckets is ingested, closed and detected (the stream is stepped with it)."""
    from spikes.evaluation.simulate import simulate
    from spikes.service.live import LiveDetector
    from spikes.service.store import Store

    sim = simulate(products=products, days=days, seed=0)
    reports = sim.reports.sort_values("timestamp", kind="stable")
    batch = pd.DataFrame({"product": reports["product"].astype(str),
                          "timestamp": reports["timestamp"], "count": reports["reports"],
                          "region": None, "category": None, "report_id": None})
    store = Store(folder / f"detect-{days:g}.duckdb")
    stamps = np.sort(batch["timestamp"].unique())
    cut = stamps[-more]
    try:
        live = LiveDetector(store, bucket=pd.Timedelta("5min"), clock="data")
        live.ingest(batch[batch["timestamp"] < cut], "history")
        started = time.perf_counter()
        live.flush()
        build = time.perf_counter() - started
        detects, ingests = [], []
        for k, stamp in enumerate(stamps[-more:]):
            started = time.perf_counter()
            live.ingest(batch[batch["timestamp"] == stamp], f"bucket-{k}")
            middle = time.perf_counter()
            live.flush()
            detects.append(time.perf_counter() - middle)
            ingests.append(middle - started)
        held = live.stream.memory() if live.stream is not None else 0
    finally:
        store.close()
    return {"detect_one_bucket_s": float(np.median(detects)), "detect_max_s": max(detects),
            "ingest_one_bucket_s": float(np.median(ingests)), "build_s": build,
            "rebuilds": live.rebuilds, "stream_mb": held / 1e6,
            "products": products, "days": days}


def _rss_mb(pid: int) -> float:
    """Resident set size of process `pid` in MB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_memory(products: int, days: float, hours_per_batch: float,
                 folder: Path) -> dict[str, object]:
    """RSS of a real ``spikes serve --clock data`` over a replay of `days` of simulated
    long counts of `products` products, posted in time order as ``text/csv`` batches of
    `hours_per_batch` hours, sampled after every batch (and after the final flush)."""
    from spikes.evaluation.simulate import simulate

    sim = simulate(products=products, days=days, seed=0)
    frame = sim.reports.sort_values(["timestamp", "product"], kind="stable")
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/csv"}
    samples: list[tuple[float, float, float]] = []  # (seconds, simulated day, RSS MB)
    with serving(folder, "--max-body", "100MB", store="memory.duckdb") as (process, url):
        start = frame["timestamp"].min()
        step = pd.Timedelta(hours=hours_per_batch)
        slot = ((frame["timestamp"] - start) // step).to_numpy()
        bounds = np.searchsorted(slot, np.arange(int(slot.max()) + 2))
        began = time.perf_counter()
        with httpx.Client(base_url=url, headers=headers, timeout=600) as http:
            for k in range(len(bounds) - 1):
                body = frame.iloc[bounds[k]:bounds[k + 1]].to_csv(index=False)
                http.post("/v1/reports", content=body, params={"batch_id": f"m{k}"}
                          ).raise_for_status()
                samples.append((time.perf_counter() - began, (k + 1) * hours_per_batch / 24,
                                _rss_mb(process.pid)))
            http.post("/v1/flush").raise_for_status()
            samples.append((time.perf_counter() - began, days, _rss_mb(process.pid)))
            metrics = dict(line.split() for line in http.get("/metrics").text.splitlines()
                           if not line.startswith("#"))
    rss = np.array([s[2] for s in samples])
    quarter = max(len(rss) // 4, 1)
    return {"samples": samples, "first_quarter_mb": float(np.median(rss[:quarter])),
            "last_quarter_mb": float(np.median(rss[-quarter:])), "max_mb": float(rss.max()),
            "seconds": samples[-1][0], "rows": len(frame),
            "detections": int(float(metrics["spikes_detection_runs_total"])),
            "last_detection_s": float(metrics["spikes_detection_seconds"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--days", type=float, nargs="+", default=[7, 28])
    parser.add_argument("--memory-only", action="store_true",
                        help="run only the memory replay")
    parser.add_argument("--detection-only", action="store_true",
                        help="run only the detection timing")
    parser.add_argument("--ingest-only", action="store_true",
                        help="run only the ingest rate and latency")
    parser.add_argument("--memory-products", type=int, default=100)
    parser.add_argument("--memory-days", type=float, default=28)
    parser.add_argument("--memory-hours-per-batch", type=float, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spikes-bench-service-") as tmp:
        if args.detection_only:
            _print_detection(args.products, args.days, Path(tmp))
            return
        if args.ingest_only:
            _print_ingest(args, Path(tmp))
            return
        memory = bench_memory(args.memory_products, args.memory_days,
                              args.memory_hours_per_batch, Path(tmp))
        print(f"memory over a {args.memory_days:g}-day replay ({args.memory_products} "
              f"products, {memory['rows']:,} count rows as text/csv batches of "
              f"{args.memory_hours_per_batch:g} h, data clock, {memory['seconds']:.0f} s, "
              f"{memory['detections']} detections, the last {memory['last_detection_s']:.2f} s):"
              f" service RSS median {memory['first_quarter_mb']:.0f} MB in the first quarter, "
              f"{memory['last_quarter_mb']:.0f} MB in the last, max {memory['max_mb']:.0f} MB")
        for seconds, day, rss in memory["samples"][::max(len(memory["samples"]) // 14, 1)]:
            print(f"  day {day:5.1f}  t {seconds:6.1f} s  RSS {rss:6.0f} MB")
        if args.memory_only:
            return
        _print_ingest(args, Path(tmp))
        _print_detection(args.products, args.days, Path(tmp))


def _print_ingest(args: argparse.Namespace, folder: Path) -> None:
    ingest = bench_ingest(args.batches, args.batch_size, args.clients, folder)
    print(f"ingest: {ingest['reports_per_s']:,.0f} reports/s over {ingest['seconds']:.1f} s "
          f"({args.batches} JSON batches of {args.batch_size}, {args.clients} clients); "
          f"latency p50 {ingest['p50_ms']:.0f} ms, p99 {ingest['p99_ms']:.0f} ms")


def _print_detection(products: int, days: list[float], folder: Path) -> None:
    for length in days:
        detect = bench_detection(products, length, folder)
        print(f"detection of one closed bucket, {products} products x {length:g} days of "
              f"history (stream stepped): median {detect['detect_one_bucket_s']:.2f} s, max "
              f"{detect['detect_max_s']:.2f} s over 5 buckets (ingest + close "
              f"{detect['ingest_one_bucket_s']:.2f} s); stream built from the store once in "
              f"{detect['build_s']:.1f} s, window held {detect['stream_mb']:.0f} MB, "
              f"{detect['rebuilds']} rebuild(s)")


if __name__ == "__main__":
    main()
