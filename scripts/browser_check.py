"""Real-browser check of the dashboard: start it, load it in headless Chromium, screenshot.

Usage (from the repository root)::

    .venv/bin/python scripts/browser_check.py [--out docs] [--chromium /usr/bin/chromium]

It starts ``streamlit run app.py`` headless on a free local port, opens the overview, the
Outlook product view (``?view=product&product=Outlook``) and the events view
(``?view=events``, the Microsoft 365 event) in headless Chromium, waits
until the page has finished rendering (the script is no longer running, the expected text
is on the page, every Plotly chart is drawn and the page has stopped changing), saves
``overview.png``, ``product_outlook.png`` and ``events.png`` in ``--out`` and exits
non-zero if a page shows an exception or traceback, or lacks the product list. The server
and the browser are stopped at the end whatever happens; every wait is bounded.

Chromium is driven through its DevTools protocol (with the ``websockets`` client, which
Streamlit's server already installs): Chromium's ``--screenshot`` with ``--virtual-time-budget``
shoots before Streamlit's WebSocket-driven page has drawn anything. Nothing is installed
here; ``.ci/run`` installs Debian's ``chromium`` when it is missing.

Exit codes: 0 all checks passed, 1 a check failed, 2 the check could not run (no Chromium,
the server or the browser did not start).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect as websocket_connect

ROOT = Path(__file__).resolve().parents[1]
#: The products of the bundled data's Microsoft 365 chain reaction, first mover first.
MS365 = ["Outlook", "Exchange Online", "Microsoft Store", "Microsoft Defender",
         "Microsoft Purview"]
SERVER_TIMEOUT = 90.0
BROWSER_TIMEOUT = 30.0
PAGE_TIMEOUT = 90.0
COMMAND_TIMEOUT = 30.0
WINDOW = (1400, 1800)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
]

#: Collects the page's state: whether Streamlit is still running the script, its text (data
#: grids' cells included), the exceptions shown and how many Plotly charts are drawn.
PROBE_JS = r"""
(() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
  const drawn = plots.filter(p => p.querySelector('.main-svg .cartesianlayer')).length;
  const inputs = Array.from(document.querySelectorAll('input'))
                      .map(i => i.value || i.getAttribute('aria-label') || '').join('\n');
  // Data grids draw on a canvas; their cells are also in an accessibility table.
  const grids = Array.from(document.querySelectorAll('[data-testid="stDataFrame"]'))
                     .map(g => g.textContent || '').join('\n');
  const skeleton = document.querySelectorAll('[data-testid="stSkeleton"]').length;
  return JSON.stringify({
    app: !!app,
    running: !!(status && /running/i.test(status.innerText || '')),
    text: (document.body ? document.body.innerText : '') + '\n' + inputs + '\n' + grids,
    svgText: Array.from(document.querySelectorAll('.js-plotly-plot text'))
                 .map(t => t.textContent).join('\n'),
    exceptions: document.querySelectorAll('[data-testid="stException"]').length,
    plots: plots.length,
    drawn: drawn,
    skeleton: skeleton,
    height: document.body ? document.body.scrollHeight : 0,
  });
})()
"""


@dataclass
class PageCheck:
    """One page to load, what it must show, and where its screenshot goes."""

    name: str
    query: str
    screenshot: str
    must_show: list[str]
    min_plots: int
    problems: list[str] = field(default_factory=list)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, log: Path) -> subprocess.Popen:
    """``streamlit run app.py`` headless on `port`, in its own process group."""
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "full",
        "--server.fileWatcherType", "none",
    ]
    handle = log.open("wb")
    return subprocess.Popen(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_healthy(port: int, server: subprocess.Popen, timeout: float) -> None:
    """Wait until the server answers its health check."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local)
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer on port {port} within {timeout:.0f} s")


def start_browser(chromium: str, profile: Path) -> tuple[subprocess.Popen, str]:
    """Headless Chromium with a DevTools endpoint; returns the process and its URL."""
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
               "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
               "about:blank"]
    browser = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + BROWSER_TIMEOUT
    while time.monotonic() < deadline:
        if browser.poll() is not None:
            raise RuntimeError(f"chromium exited with code {browser.returncode}")
        if marker.exists():
            lines = marker.read_text().split()
            if len(lines) >= 2:
                return browser, f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.2)
    raise TimeoutError(f"chromium did not open its DevTools port within {BROWSER_TIMEOUT} s")


def stop(process: subprocess.Popen | None, name: str) -> None:
    """Stop a process this script started (and its process group), bounded."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop on SIGTERM; killing it", file=sys.stderr)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class DevTools:
    """A minimal Chrome DevTools Protocol client over one browser WebSocket."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.next_id = 0

    @classmethod
    async def connect(cls, url: str) -> DevTools:
        """Connect to the browser endpoint."""
        connection = await asyncio.wait_for(websocket_connect(url, max_size=1 << 28),
                                            COMMAND_TIMEOUT)
        return cls(connection)

    async def send(self, method: str, params: dict | None = None,
                   session: str | None = None) -> dict:
        """Send one command and wait for its answer (events in between are skipped)."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method,
                                   "params": params or {}}
        if session:
            message["sessionId"] = session
        await self.connection.send(json.dumps(message))
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer to {method} within {COMMAND_TIMEOUT} s")
            raw = await asyncio.wait_for(self.connection.recv(), left)
            answer = json.loads(raw)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    async def close(self) -> None:
        """Close the connection."""
        await self.connection.close()


async def open_tab(tools: DevTools) -> tuple[str, str]:
    """A new blank tab of the window's size with page events on: its target and session
    ids."""
    target = await tools.send("Target.createTarget", {"url": "about:blank"})
    attached = await tools.send("Target.attachToTarget",
                                {"targetId": target["targetId"], "flatten": True})
    session = attached["sessionId"]
    await tools.send("Emulation.setDeviceMetricsOverride",
                     {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1,
                      "mobile": False}, session)
    await tools.send("Page.enable", {}, session)
    return target["targetId"], session


async def check_page(tools: DevTools, base_url: str, page: PageCheck, out: Path) -> None:
    """Open `page`, wait until it is rendered, check it and save its screenshot."""
    target_id, session = await open_tab(tools)
    await tools.send("Page.navigate", {"url": base_url + page.query}, session)
    state = await wait_rendered(tools, session, page)
    if state is None:
        page.problems.append(f"not rendered within {PAGE_TIMEOUT:.0f} s")
        state = await probe(tools, session)
    text = state["text"] + "\n" + state["svgText"]
    if state["exceptions"] or "Traceback" in text:
        page.problems.append(f"the page shows an exception ({state['exceptions']} box(es))")
    missing = [s for s in page.must_show if s not in text]
    if missing:
        page.problems.append(f"missing on the page: {missing}")
    if state["drawn"] < page.min_plots:
        page.problems.append(f"{state['drawn']} Plotly chart(s) drawn, expected at least "
                             f"{page.min_plots}")
    shot = await tools.send("Page.captureScreenshot", {"format": "png"}, session)
    path = out / page.screenshot
    path.write_bytes(base64.b64decode(shot["data"]))
    print(f"{page.name}: {state['drawn']} chart(s), {len(text):,} characters of text, "
          f"screenshot {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    await tools.send("Target.closeTarget", {"targetId": target_id})


async def probe(tools: DevTools, session: str) -> dict:
    """The page's state (see :data:`PROBE_JS`)."""
    result = await tools.send("Runtime.evaluate",
                              {"expression": PROBE_JS, "returnByValue": True}, session)
    if "exceptionDetails" in result:
        raise RuntimeError(f"page probe failed: {result['exceptionDetails']}")
    return json.loads(result["result"]["value"])


async def wait_rendered(tools: DevTools, session: str, page: PageCheck) -> dict | None:
    """Poll until the page is done: app mounted, script idle, expected text present or an
    exception shown, charts drawn, and nothing changed over three polls."""
    deadline = time.monotonic() + PAGE_TIMEOUT
    stable, last = 0, None
    while time.monotonic() < deadline:
        state = await probe(tools, session)
        text = state["text"] + "\n" + state["svgText"]
        ready = (
            state["app"] and not state["running"] and not state["skeleton"]
            and (state["exceptions"] > 0
                 or (all(s in text for s in page.must_show)
                     and state["drawn"] >= page.min_plots
                     and state["drawn"] == state["plots"]))
        )
        signature = (len(text), state["drawn"], state["height"], state["exceptions"])
        stable = stable + 1 if ready and signature == last else 0
        last = signature
        if stable >= 3:
            return state
        await asyncio.sleep(0.5)
    return None


def expected_products() -> list[str]:
    """The products of the bundled data, read with the library the dashboard uses."""
    sys.path.insert(0, str(ROOT))
    from spikes.io.buckets import load_reports

    data = os.environ.get("SPIKES_DATA", str(ROOT / "data" / "reports.csv.gz"))
    return load_reports([data]).products


async def run_checks(devtools_url: str, base_url: str, pages: list[PageCheck],
                     out: Path) -> None:
    """Check every page in one browser."""
    tools = await DevTools.connect(devtools_url)
    try:
        for page in pages:
            await check_page(tools, base_url, page, out)
    finally:
        await tools.close()


def main(argv: list[str] | None = None) -> int:
    """Run the check; see the module docstring for the exit codes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs"), help="screenshot folder")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium binary")
    args = parser.parse_args(argv)
    chromium = args.chromium if Path(args.chromium).exists() else shutil.which("chromium")
    if not chromium:
        print(f"browser_check: no Chromium at {args.chromium} "
              "(apt-get install -y chromium)", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    products = expected_products()
    pages = [
        PageCheck("overview", "/", "overview.png",
                  must_show=["Products, on fire first", "Latest incidents", *products],
                  min_plots=0),
        PageCheck("product Outlook", "/?view=product&product=Outlook", "product_outlook.png",
                  must_show=["Outlook", "onset", "Incidents:"], min_plots=2),
        PageCheck("events", "/?view=events", "events.png",
                  must_show=["first mover first", "first onset", *MS365], min_plots=1),
    ]
    server = browser = None
    with tempfile.TemporaryDirectory(prefix="spikes-browser-") as tmp:
        log = Path(tmp) / "streamlit.log"
        try:
            port = free_port()
            server = start_server(port, log)
            started = time.monotonic()
            wait_healthy(port, server, SERVER_TIMEOUT)
            print(f"streamlit up on port {port} in {time.monotonic() - started:.1f} s")
            browser, devtools_url = start_browser(chromium, Path(tmp) / "profile")
            started = time.monotonic()
            asyncio.run(asyncio.wait_for(
                run_checks(devtools_url, f"http://127.0.0.1:{port}", pages, out),
                PAGE_TIMEOUT * len(pages) + 60))
            print(f"pages checked in {time.monotonic() - started:.1f} s")
        except (RuntimeError, TimeoutError, OSError) as exc:
            print(f"browser_check: could not run: {exc}", file=sys.stderr)
            if log.exists():
                print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
            return 2
        finally:
            stop(browser, "chromium")
            stop(server, "streamlit")
        server_log = log.read_text(errors="replace")
    failed = False
    for page in pages:
        for problem in page.problems:
            failed = True
            print(f"FAIL {page.name}: {problem}", file=sys.stderr)
    if "Traceback" in server_log:
        failed = True
        print("FAIL the server logged a traceback:\n" + server_log[-3000:], file=sys.stderr)
    if failed:
        return 1
    print("browser check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
