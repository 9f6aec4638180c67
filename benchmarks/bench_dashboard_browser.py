"""First render of the dashboard in a real browser (headless Chromium).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_dashboard_browser.py [--repeat 3] [--data FILE]
        [--view overview|product|events]

Each repeat starts a fresh ``streamlit run app.py`` (headless, loopback, ``SPIKES_DATA=FILE``
when ``--data`` is given), waits for its health check, then opens the first page in a new
Chromium tab and polls the page every 50 ms until it is rendered: the app is mounted, the
script no longer runs, no skeleton is left, the page's heading is on it and every Plotly
chart on it is drawn. Printed, in seconds:

* ``cold``: the first visitor of a freshly started server (imports of the views, reading,
  scoring and thresholding, figures, the browser's drawing);
* ``warm``: a second visitor of the same server (the caches hit).

``--warm-up`` first asks the server's script health check
(``/_stcore/script-health-check``, enabled in ``.streamlit/config.toml``), which runs
the app once in a throw-away session as a deployment's readiness probe would: the
imports and the cached analysis are then ready before the first visitor, whose ``cold``
figure becomes that of a warmed server (the warm-up's own duration is printed apart).

``first paint`` is when the page first showed its heading (before its charts are drawn).
The load average of the machine is printed with each run: the machine is shared.
Targets (issue #14): first render < 3 s for the bundled sample, < 5 s for 1,000 products.
The server and the browser are stopped at the end whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from browser_check import (  # noqa: E402 (the script folder is not a package)
    DevTools,
    free_port,
    open_tab,
    probe,
    start_browser,
    start_server,
    stop,
    wait_healthy,
)

#: The page opened, what it must show when rendered, and how many charts it draws.
VIEWS = {
    "overview": ("/", "Products, on fire first", 0),
    "product": ("/?view=product", "Incidents:", 1),
    "events": ("/?view=events", "first mover first", 1),
}
POLL = 0.05
TIMEOUT = 180.0


async def time_page(devtools_url: str, url: str, heading: str,
                    min_plots: int) -> tuple[float, float]:
    """Seconds from navigation until `heading` first shows, and until the page is
    rendered (see the module docstring)."""
    tools = await DevTools.connect(devtools_url)
    try:
        target_id, session = await open_tab(tools)
        started = time.perf_counter()
        await tools.send("Page.navigate", {"url": url}, session)
        paint = None
        while time.perf_counter() - started < TIMEOUT:
            state = await probe(tools, session)
            elapsed = time.perf_counter() - started
            if state["exceptions"]:
                raise RuntimeError(f"{url}: the page shows an exception")
            if paint is None and heading in state["text"]:
                paint = elapsed
            if (state["app"] and not state["running"] and not state["skeleton"]
                    and heading in state["text"] and state["drawn"] >= min_plots
                    and state["drawn"] == state["plots"]):
                await tools.send("Target.closeTarget", {"targetId": target_id})
                return paint if paint is not None else elapsed, elapsed
            await asyncio.sleep(POLL)
        raise TimeoutError(f"{url} not rendered within {TIMEOUT:.0f} s")
    finally:
        await tools.close()


def warm_up(port: int) -> float:
    """Run the app once through the script health check; seconds it took."""
    started = time.perf_counter()
    url = f"http://127.0.0.1:{port}/_stcore/script-health-check"
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 (local)
        body = response.read().decode()
    if body.strip() != "ok":
        raise RuntimeError(f"script health check answered {body!r}")
    return time.perf_counter() - started


def one_run(chromium: str, data: str | None, view: str,
            warm: bool = False) -> dict[str, float]:
    """A fresh server and browser: the cold and the warm visit."""
    path, heading, plots = VIEWS[view]
    env_data = os.environ.get("SPIKES_DATA")
    server = browser = None
    with tempfile.TemporaryDirectory(prefix="spikes-bench-browser-") as tmp:
        try:
            if data:
                os.environ["SPIKES_DATA"] = data
            port = free_port()
            server = start_server(port, Path(tmp) / "streamlit.log")
            wait_healthy(port, server, 120.0)
            warmed = warm_up(port) if warm else None
            browser, devtools_url = start_browser(chromium, Path(tmp) / "profile")
            url = f"http://127.0.0.1:{port}{path}"
            cold_paint, cold = asyncio.run(time_page(devtools_url, url, heading, plots))
            warm_paint, warm = asyncio.run(time_page(devtools_url, url, heading, plots))
        finally:
            stop(browser, "chromium")
            stop(server, "streamlit")
            if env_data is None:
                os.environ.pop("SPIKES_DATA", None)
            else:
                os.environ["SPIKES_DATA"] = env_data
    out = {"warm-up": warmed} if warmed is not None else {}
    return {**out, "cold first paint": cold_paint, "cold": cold,
            "warm first paint": warm_paint, "warm": warm}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", help="report file (SPIKES_DATA); default: bundled sample")
    parser.add_argument("--view", choices=sorted(VIEWS), default="overview")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--warm-up", action="store_true",
                        help="run the app once through the script health check first")
    args = parser.parse_args()
    chromium = args.chromium if Path(args.chromium).exists() else shutil.which("chromium")
    if not chromium:
        print("no Chromium (apt-get install -y chromium)", file=sys.stderr)
        return 2
    print(f"data: {args.data or 'bundled sample'}, view: {args.view}, "
          f"{'warm-up, ' if args.warm_up else ''}"
          f"{len(os.sched_getaffinity(0))} core(s)")
    runs = []
    for i in range(args.repeat):
        load = os.getloadavg()[0]
        run = one_run(chromium, args.data, args.view, args.warm_up)
        runs.append(run)
        print(f"  run {i + 1}: " + ", ".join(f"{k} {v:5.2f} s" for k, v in run.items())
              + f" (load average {load:.2f})")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:18s} median {statistics.median(values):5.2f} s, "
              f"min {min(values):5.2f} s, max {max(values):5.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
