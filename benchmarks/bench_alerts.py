"""Alert latency: from the acknowledgement of the batch that closes a bucket to the
webhook's receipt of the message about it.

Starts ``spikes serve --clock data --notify URL`` on a free 127.0.0.1 port over a store in a
temporary folder, and a local webhook receiver. The bundled sample before ``--start`` is
posted as one CSV batch per day and flushed (history, not measured); from ``--start`` on,
each 5-minute bucket of reports is posted as its own CSV batch, in time order, the next
one once the service has run the detection this batch triggered (a live service gets a
bucket every five minutes, far slower than this). A message about time ``at`` can be
computed once the buckets before ``at`` are closed: its bucket closes with the first
batch whose newest report is at least one bucket (the lateness) past ``at``. Its latency
is its receipt time minus that batch's acknowledgement (the final flush's, for the
messages the flush closes). Writes nothing outside the temporary folder.

    python benchmarks/bench_alerts.py                    # from 2026-01-22 12:00
    python benchmarks/bench_alerts.py --start 2026-01-21
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from serving import TOKEN, serving

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "reports.csv.gz"
BUCKET = pd.Timedelta("5min")


class _Receiver:
    """A webhook that records when each message arrived."""

    def __init__(self) -> None:
        self.got: list[tuple[float, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.got.append((time.perf_counter(), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _runs(client: httpx.Client) -> int:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("spikes_detection_runs_total "):
            return int(float(line.split()[1]))
    return 0


def _wait_runs(client: httpx.Client, above: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while _runs(client) <= above and time.monotonic() < deadline:
        time.sleep(0.01)


def run(start: pd.Timestamp, folder: Path) -> dict:
    """Replay the sample; the latency of every message from `start` on."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    header, rows = lines[0], lines[1:]
    stamps = pd.to_datetime([r[:25] for r in rows], utc=True)
    receiver = _Receiver()
    try:
        with (serving(folder, "--notify", receiver.url) as (_, url),
              httpx.Client(base_url=url, timeout=120, headers={
                  "Authorization": f"Bearer {TOKEN}", "Content-Type": "text/csv"}) as client):
            history = np.flatnonzero(stamps < start)
            days = pd.Series(history).groupby(stamps[history].floor("D")).agg(list)
            for day, positions in days.items():
                body = "\n".join([header, *(rows[i] for i in positions)]) + "\n"
                client.post(f"/v1/reports?batch_id=history-{day:%Y%m%d}", content=body.encode())
            client.post("/v1/flush")
            time.sleep(2.0)  # the history's messages leave (not measured)
            warm = len(receiver.got)
            closes: list[tuple[pd.Timestamp, float]] = []  # (closed until, ack time)
            detect_seconds = []
            live = np.flatnonzero(stamps >= start)
            buckets = pd.Series(live).groupby(stamps[live].floor(BUCKET)).agg(list)
            closed = start
            for bucket_start, positions in buckets.items():
                body = "\n".join([header, *(rows[i] for i in positions)]) + "\n"
                before = _runs(client)
                answer = client.post(f"/v1/reports?batch_id=b-{bucket_start:%Y%m%d%H%M}",
                                     content=body.encode())
                acked = time.perf_counter()
                answer.raise_for_status()
                newest = stamps[positions].max()
                closes.append(((newest - BUCKET).floor(BUCKET), acked))
                if closes[-1][0] > closed:  # a bucket closed: wait for its detection
                    closed = closes[-1][0]
                    _wait_runs(client, before)
                    detect_seconds.append(time.perf_counter() - acked)
            before = _runs(client)
            client.post("/v1/flush")
            closes.append((stamps.max().floor(BUCKET) + BUCKET, time.perf_counter()))
            _wait_runs(client, before)
            time.sleep(2.0)
    finally:
        receiver.server.shutdown()
    latencies, listed = [], []
    for received, body in receiver.got[warm:]:
        at = pd.Timestamp(body["at"])
        acked = next(t for end, t in closes if end >= at)
        latencies.append(received - acked)
        listed.append((body["at"][:16], body["event_id"], body["state"],
                       round(received - acked, 3)))
    lat = np.array(latencies)
    return {"messages": len(lat), "buckets": len(buckets),
            "median_s": float(np.median(lat)) if len(lat) else float("nan"),
            "p95_s": float(np.percentile(lat, 95)) if len(lat) else float("nan"),
            "max_s": float(lat.max()) if len(lat) else float("nan"),
            "detection_median_s": float(np.median(detect_seconds)),
            "detection_max_s": float(np.max(detect_seconds)), "listed": listed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2026-01-22 12:00",
                        help="first bucket replayed one by one (UTC)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = run(pd.Timestamp(args.start, tz="UTC"), Path(folder))
    for row in result.pop("listed"):
        print(*row)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
