"""Developer entry point that needs nothing but Python 3.11+.

    python3 dev.py dashboard   # make .venv, install, open the dashboard on the bundled data
    python3 dev.py test        # make .venv, install, run the test suite (pytest, a
                               # process per core, at most 4)
    python3 dev.py lint        # ruff
    python3 dev.py run ARGS    # any command inside the virtual environment (in the
                               # current directory)

The virtual environment lives in ``.venv`` beside this file and is reinstalled when
``pyproject.toml`` changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".spikes-installed"
#: Most test processes `dev.py test` runs side by side (pytest-xdist).
TEST_WORKERS = 4


def ensure_venv() -> None:
    """Create the virtual environment and install the project with its extras."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by an older Python
        sys.exit(f"spikes needs Python 3.11 or newer, this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "--quiet", "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def run(*cmd: str, cwd: Path | None = ROOT) -> int:
    """Run a command from the virtual environment's bin folder, in `cwd` (None: the
    caller's working directory)."""
    exe = BIN / cmd[0]
    return subprocess.run([str(exe) if exe.exists() else cmd[0], *cmd[1:]],
                          cwd=cwd).returncode


def warm_up(port: int, timeout: float = 120.0) -> None:
    """Once the dashboard answers on `port`, run it once through Streamlit's script health
    check (enabled in ``.streamlit/config.toml``): the libraries are imported and the
    bundled analysis cached before the first visitor comes. Failures are ignored (the
    first visitor then waits as without a warm-up)."""
    base = f"http://127.0.0.1:{port}/_stcore"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2):  # noqa: S310 (local)
                break
        except OSError:
            time.sleep(0.3)
    try:
        with urllib.request.urlopen(f"{base}/script-health-check",  # noqa: S310 (local)
                                    timeout=timeout):
            pass
    except OSError:
        pass


def _port(args: list[str]) -> int:
    """The ``--server.port`` of streamlit's arguments (8501 by default)."""
    for i, arg in enumerate(args):
        if arg.startswith("--server.port="):
            return int(arg.split("=", 1)[1])
        if arg == "--server.port" and i + 1 < len(args):
            return int(args[i + 1])
    return 8501


def _workers(args: list[str]) -> list[str]:
    """pytest-xdist's options for the test suite: one worker per core this process may
    use, at most :data:`TEST_WORKERS`, each given whole modules (``--dist loadfile``: a
    module's fixtures are made once, not once per worker that runs some of its tests),
    the slowest modules first (``tests/conftest.py``; ``--no-loadscope-reorder`` keeps
    that order); none where `args` (or ``PYTEST_ADDOPTS``) choose the workers themselves
    (``-n``, ``--numprocesses``, ``--dist``, ``--tx``, ``-p no:xdist``) or need one
    process (``--pdb``, ``--trace``, ``-s``, ``--capture=no``)."""
    given = [*args, *os.environ.get("PYTEST_ADDOPTS", "").split()]
    one_process = ("--pdb", "--trace", "-s", "--capture=no", "-d")
    chosen = ("-n", "--numprocesses", "--dist", "--tx")
    if any(a in one_process or a.startswith(chosen) or "no:xdist" in a for a in given):
        return []
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return ["-n", str(max(1, min(cores or 1, TEST_WORKERS))), "--dist", "loadfile",
            "--no-loadscope-reorder"]


def main(argv: list[str]) -> int:
    """Dispatch the sub-command."""
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    ensure_venv()
    if command == "dashboard":
        print("spikes dashboard: open http://localhost:8501 in a browser (or the port given "
              "with --server.port); Ctrl-C stops it", flush=True)
        threading.Thread(target=warm_up, args=(_port(rest),), daemon=True).start()
        return run("streamlit", "run", "app.py", *rest)
    if command == "test":
        # The suite starts a hundred-odd interpreters (spikes serve, the command line,
        # Dask workers) that import spikes: with bytecode cached (__pycache__, git-ignored)
        # they do not compile it each time, where the environment says not to write it
        # (about a tenth of the time of the service tests, measured at stop 45).
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        return run("python", "-m", "pytest", *_workers(rest), *rest)
    if command == "lint":
        return run("ruff", "check", ".", *rest)
    if command == "run":  # paths of its arguments are the caller's
        return run(*rest, cwd=None)
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
