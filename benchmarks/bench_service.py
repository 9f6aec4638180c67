"""Live-service benchmark: ingest rate and latency over loopback, and detection time.

Starts ``spikes serve --clock data`` on a free 127.0.0.1 port over a store in a temporary
folder, posts ``--batches`` JSON batches of ``--batch-size`` reports from ``--clients``
concurrent clients (a bounded load: each client waits for its answer before the next
request) and reports reports/s and the p50/p99 request latency. Then, in this process, it
fills a store with ``--products`` products over ``--days`` days and times one detection
after one more bucket closes (v1 re-runs the causal detector over the closed history, so
this time grows with the history). Everything it starts and writes is removed at the end.

    python benchmarks/bench_service.py                       # 200 batches of 1,000
    python benchmarks/bench_service.py --products 1000 --days 7
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

TOKEN = "bench-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    port = _free_port()
    (folder / "token").write_text(TOKEN)
    process = subprocess.Popen(
        [sys.executable, "-m", "spikes", "serve", "--store", str(folder / "bench.duckdb"),
         "--port", str(port), "--clock", "data", "--token-file", str(folder / "token")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
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
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    lat = np.array(latencies) * 1000
    return {"reports_per_s": batches * size / elapsed, "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)), "seconds": elapsed}


def bench_detection(products: int, days: float, folder: Path) -> dict[str, float]:
    """Seconds of one detection after one more bucket closes, `products` x `days` stored."""
    from spikes.evaluation.simulate import simulate
    from spikes.service.live import LiveDetector
    from spikes.service.store import Store

    sim = simulate(products=products, days=days, seed=0)
    reports = sim.reports.sort_values("timestamp", kind="stable")
    batch = pd.DataFrame({"product": reports["product"].astype(str),
                          "timestamp": reports["timestamp"], "count": reports["reports"],
                          "region": None, "category": None, "report_id": None})
    store = Store(folder / "detect.duckdb")
    try:
        live = LiveDetector(store, bucket=pd.Timedelta("5min"), clock="data")
        last = batch["timestamp"].max()
        live.ingest(batch[batch["timestamp"] < last], "history")
        live.flush()
        live.ingest(batch[batch["timestamp"] == last], "last")
        started = time.perf_counter()
        live.flush()
        seconds = time.perf_counter() - started
    finally:
        store.close()
    return {"detect_one_bucket_s": seconds, "products": products, "days": days}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--days", type=float, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spikes-bench-service-") as tmp:
        ingest = bench_ingest(args.batches, args.batch_size, args.clients, Path(tmp))
        print(f"ingest: {ingest['reports_per_s']:,.0f} reports/s over {ingest['seconds']:.1f} s "
              f"({args.batches} JSON batches of {args.batch_size}, {args.clients} clients); "
              f"latency p50 {ingest['p50_ms']:.0f} ms, p99 {ingest['p99_ms']:.0f} ms")
        detect = bench_detection(args.products, args.days, Path(tmp))
        print(f"detection of one closed bucket, {args.products} products x {args.days:g} days "
              f"of history (v1, whole history): {detect['detect_one_bucket_s']:.2f} s")


if __name__ == "__main__":
    main()
