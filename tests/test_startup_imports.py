"""The command line's start-up imports only what a command runs.

Every ``python -m spikes ...`` and ``spikes serve`` pays for its imports before it does
anything: ruptures alone (with the parts of scipy it pulls in: stats, spatial, signal)
took about a second of CPU at each start, for ``--version`` as for a run that never
places an onset. These tests start one fresh interpreter, go through the stages of a
start-up in order and read ``sys.modules`` after each, so that a module-level import of a
heavy library that comes back fails here (``benchmarks/startup.py`` measures the time).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Libraries a start-up should not load unless its command uses them.
HEAVY = ("ruptures", "scipy.stats", "scipy.signal", "scipy.spatial", "dask", "distributed",
         "duckdb", "fastapi", "uvicorn", "streamlit", "plotly", "apprise", "feedparser", "httpx",
         "joblib", "bokeh")
#: Each stage's code, run in this order in one interpreter.
STAGES = {
    "parser": """
        from spikes.cli import main
        for argv in (["--version"], ["--help"], ["analyze", "--help"]):
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    main(argv)
                except SystemExit:
                    pass
    """,
    "refused serve": """
        with contextlib.redirect_stderr(io.StringIO()):
            assert main(["serve", "--port", "1", "--lateness", "300"]) == 2
    """,
    "refused analyze": """
        with contextlib.redirect_stderr(io.StringIO()):
            assert main(["analyze"]) == 2
            assert main(["analyze", "no-such-file.csv"]) == 2
        loaded["detection before input"] = "spikes.detect.pipeline" in sys.modules
    """,
    "pipeline": "import spikes.detect.pipeline",
    "service": "import spikes.service.app",
    "in process": """
        from spikes.detect.incidents import preload_for_workers
        from spikes.engine.base import LocalEngine
        preload_for_workers(LocalEngine(jobs=1), 4)
        preload_for_workers(LocalEngine(jobs=2), 1)
    """,
    "forked": "preload_for_workers(LocalEngine(jobs=2), 2)",
}
PROBE = """
import contextlib, io, json, sys
loaded = {{}}
{stages}
print(json.dumps(loaded))
"""


@pytest.fixture(scope="module")
def loaded() -> dict[str, list[str]]:
    """The libraries of :data:`HEAVY` loaded after each stage (cumulative)."""
    stages = "\n".join(
        f"{textwrap.dedent(code).strip()}\n"
        f"loaded[{name!r}] = [m for m in {HEAVY!r} if m in sys.modules]"
        for name, code in STAGES.items())
    done = subprocess.run([sys.executable, "-c", PROBE.format(stages=stages)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_parser_and_version_load_no_heavy_library(loaded) -> None:
    # --version, --help and a sub-command's --help build every command's parser.
    assert loaded["parser"] == []


def test_serve_refuses_bad_settings_before_it_loads_the_web_stack(loaded) -> None:
    assert loaded["refused serve"] == []


def test_analyze_refuses_a_bad_input_before_it_loads_the_detection(loaded) -> None:
    assert loaded["refused analyze"] == []
    assert loaded["detection before input"] is False


def test_the_detection_pipeline_leaves_ruptures_and_scipy_stats_to_their_first_use(loaded):
    # ruptures places an incident's onset (spikes.detect.detectors.onset) and fits the
    # retrospective baseline's level regimes; scipy.stats gives two quantile tables.
    assert loaded["pipeline"] == []


def test_the_service_loads_its_web_stack_but_not_ruptures(loaded) -> None:
    assert set(loaded["service"]) <= {"duckdb", "fastapi", "uvicorn"}
    assert "fastapi" in loaded["service"]  # the probe sees what is loaded


def test_forked_workers_inherit_ruptures_and_scipy_stats_from_the_parent(loaded) -> None:
    # The local engine's forked workers would each import them again (about a second
    # of CPU a worker): the parent loads them first, and only then.
    assert set(loaded["in process"]) == set(loaded["service"])
    assert {"ruptures", "scipy.stats"} <= set(loaded["forked"])


def test_the_lazy_onset_names_are_the_onset_module_s() -> None:
    import spikes.detect.detectors as detectors
    from spikes.detect.detectors import onset

    for name in ("CostSeasonalPoisson", "locate_onset", "onset_bounds"):
        assert getattr(detectors, name) is getattr(onset, name)
        assert name in dir(detectors)
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        _ = detectors.nothing_here
