"""The dashboard's first page kept light (issue 14): thinned sparklines, the latest
incidents, charts on request, and the server warm-up through the script health check
(a real ``streamlit run`` process on a loopback port)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("plotly")
pytest.importorskip("streamlit")

from streamlit.testing.v1 import AppTest  # noqa: E402

from spikes.config import DetectionConfig  # noqa: E402
from spikes.detect.pipeline import analyze, product_status  # noqa: E402
from spikes.io.buckets import load_reports  # noqa: E402
from spikes.ui.dashboard import overview_table  # noqa: E402
from spikes.ui.dashboard.tables import peak_thinned  # noqa: E402
from spikes.ui.overview_view import CHARTS_KEY, RECENT_INCIDENTS, SPARK_POINTS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 120


def test_peak_thinned_keeps_every_peak_and_bounds_the_length() -> None:
    rng = np.random.default_rng(4)
    values = rng.poisson(5.0, size=(288, 3)).astype(float)
    values[137, 1] = 400.0  # a one-bucket spike
    thin = peak_thinned(values, 96)
    assert thin.shape == (96, 3)
    assert thin[137 // 3, 1] == 400.0
    np.testing.assert_array_equal(thin.max(axis=0), values.max(axis=0))
    np.testing.assert_array_equal(thin[0], values[0:3].max(axis=0))
    assert peak_thinned(values, None) is values and peak_thinned(values, 288) is values
    assert peak_thinned(values[:7], 3).shape == (3, 3)  # steps of 3: 3 + 3 + 1 rows
    with pytest.raises(ValueError, match="max_points"):
        peak_thinned(values, 0)


def test_overview_table_thins_sparklines_for_display_only() -> None:
    data = load_reports([ROOT / "data" / "reports.csv.gz"])
    analysis = analyze(data, DetectionConfig())
    status = product_status(analysis)
    full = overview_table(analysis, status=status)
    thin = overview_table(analysis, status=status, max_points=SPARK_POINTS)
    assert len(full["trend"].iloc[0]) > SPARK_POINTS >= len(thin["trend"].iloc[0])
    for a, b in zip(full["trend"], thin["trend"], strict=True):
        assert max(a) == max(b)
    assert full.drop(columns="trend").equals(thin.drop(columns="trend"))


def test_overview_lists_latest_incidents_and_draws_charts_on_request() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("plotly_chart")  # no Plotly on the first page by default
    latest = next(d.value for d in at.dataframe if "raised" in d.value.columns)
    assert 0 < len(latest) <= RECENT_INCIDENTS
    assert list(latest["onset"]) == sorted(latest["onset"], reverse=True)
    trend = at.dataframe(key="overview_table").value["trend"]
    assert all(len(t) <= SPARK_POINTS for t in trend)
    at.toggle(key=CHARTS_KEY).set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 (local)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_server_warm_up_runs_the_app_through_the_script_health_check() -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", APP, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}/_stcore"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _get(f"{base}/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("streamlit did not answer within 60 s")
        started = time.monotonic()
        assert _get(f"{base}/script-health-check") == (200, "ok")  # the first run
        first = time.monotonic() - started
        started = time.monotonic()
        assert _get(f"{base}/script-health-check") == (200, "ok")
        again = time.monotonic() - started
        assert again < first  # imports and the cached analysis are kept for visitors
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
