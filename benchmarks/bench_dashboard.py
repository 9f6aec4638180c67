"""Render timings of the dashboard on the bundled data.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_dashboard.py [--repeat 5]

Prints, in milliseconds:

* the library calls one page needs (read + bucket, score, rethreshold + status, figures);
* ``first render``: a fresh Python process (Streamlit imported, as in a server) running
  the whole app once through ``streamlit.testing.v1.AppTest`` (importing spikes, SciPy and
  Plotly, reading, scoring, every element of the overview): what the first visitor of a
  freshly started server waits for on the server side;
* ``new session``: a second session on a warm server (the caches hit);
* reruns after a widget change, as a user triggers them: a threshold slider (a new value
  each time, so ``rethreshold`` really runs), a product change and a range change in the
  product view.

AppTest measures the server side (the script run); the browser's drawing comes on top
(``benchmarks/bench_dashboard_browser.py`` times the first page in headless Chromium,
see ``benchmarks/DASHBOARD.md``).
Targets (issue #4): first render < 3 s, slider rerun < 1 s, on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
DATA = ROOT / "data" / "reports.csv.gz"

COLD = f"""
import time
from streamlit.testing.v1 import AppTest  # a server has Streamlit loaded before any visit
t0 = time.perf_counter()
at = AppTest.from_file({APP!r}, default_timeout=300)
at.run()
assert not at.exception, [e.value for e in at.exception]
print(time.perf_counter() - t0)
"""


def ms(seconds: float) -> str:
    return f"{1000 * seconds:8.0f} ms"


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def library(repeat: int) -> None:
    from spikes.config import DetectionConfig
    from spikes.detect.pipeline import product_status, rethreshold, score_reports
    from spikes.io.buckets import load_reports
    from spikes.ui import dashboard as dash

    print("library calls (best of", repeat, "runs)")
    t, data = timed(lambda: load_reports([DATA]), repeat)
    print(f"  read + bucket            {ms(t)}")
    config = DetectionConfig()
    t, scored = timed(lambda: score_reports(data, config), repeat)
    print(f"  score_reports            {ms(t)}")
    t, analysis = timed(lambda: rethreshold(scored, config), repeat)
    print(f"  rethreshold              {ms(t)}")
    t, status = timed(lambda: product_status(analysis), repeat)
    print(f"  product_status           {ms(t)}")
    t, _ = timed(lambda: dash.overview_figure(analysis, status=status), repeat)
    print(f"  overview_figure          {ms(t)}")
    start, end = dash.default_range(analysis)
    t, _ = timed(lambda: dash.product_figure(analysis, "Outlook", start, end), repeat)
    print(f"  product_figure           {ms(t)}")
    event = dash.default_event(analysis.events)
    t, _ = timed(lambda: dash.event_figure(analysis, event), repeat)
    print(f"  event_figure             {ms(t)}")


def app_timings(repeat: int) -> dict[str, float]:
    from streamlit.testing.v1 import AppTest

    out = subprocess.run([sys.executable, "-c", COLD], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, check=True)
    first = float(out.stdout.strip().splitlines()[-1])
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()  # warm this process's caches
    t = time.perf_counter()
    at2 = AppTest.from_file(APP, default_timeout=300)
    at2.run()
    session = time.perf_counter() - t
    slider = []
    for value in (2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0)[:max(repeat, 3)]:
        at2.slider(key="min_ratio").set_value(value)
        t = time.perf_counter()
        at2.run()
        slider.append(time.perf_counter() - t)
        assert not at2.exception
    at2.session_state["view"] = "Product"
    at2.run()
    product = []
    for name in ("Outlook", "Gmail", "Slack", "Zoom", "AWS")[:max(repeat, 3)]:
        at2.selectbox(key="product").set_value(name)
        t = time.perf_counter()
        at2.run()
        product.append(time.perf_counter() - t)
        assert not at2.exception
    ranged = []
    for label in ("Last 3 days", "All", "Last 7 days", "Last 24 h")[:max(repeat, 3)]:
        button = next(b for b in at2.button if b.label == label)
        button.click()
        t = time.perf_counter()
        at2.run()
        ranged.append(time.perf_counter() - t)
        assert not at2.exception
    return {"first render (fresh process)": first, "new session (warm server)": session,
            "slider rerun (median)": statistics.median(slider),
            "slider rerun (max)": max(slider),
            "product change rerun (median)": statistics.median(product),
            "range change rerun (median)": statistics.median(ranged)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"bundled data: {DATA.relative_to(ROOT)}, {cores} core(s), Python "
          f"{sys.version.split()[0]}")
    library(args.repeat)
    print("dashboard (AppTest, server side)")
    for name, seconds in app_timings(args.repeat).items():
        print(f"  {name:30s}{ms(seconds)}")
    print("targets: first render < 3000 ms, slider rerun < 1000 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
