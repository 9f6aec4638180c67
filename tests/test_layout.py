"""The package layout's rules: no import cycle, no giant module, UI libraries at the edge,
the public API and the old import paths."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import spikes
from spikes._moved import MOVED, new_path

PACKAGE = Path(spikes.__file__).resolve().parent
MAX_LINES = 800
UI_LIBRARIES = {"streamlit", "plotly"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """Every module of `spikes` that `name` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # `from package import submodule` imports the submodule.
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module
                       for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in MODULES and t != name)
    return found


def _all_imports() -> dict[str, set[str]]:
    return {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_walk_sees_imports_inside_functions():
    graph = _all_imports()
    # spikes.cli.analyze imports the pipeline inside its command function.
    assert "spikes.detect.pipeline" in graph["spikes.cli.analyze"]
    assert "spikes.io.buckets" in graph["spikes.detect.pipeline"] or graph["spikes.detect.pipeline"]


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_spikes():
    assert _cycles(_all_imports()) == []


def test_no_module_is_a_giant():
    sizes = {name: sum(1 for _ in path.open(encoding="utf-8")) for name, path in MODULES.items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def _third_party(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_streamlit_and_plotly_only_in_the_ui_subpackage():
    outside = {name: sorted(_third_party(path) & UI_LIBRARIES)
               for name, path in MODULES.items()
               if not name.startswith("spikes.ui") and _third_party(path) & UI_LIBRARIES}
    assert outside == {}


def test_the_library_imports_nothing_from_benchmarks():
    assert {name for name, path in MODULES.items() if "benchmarks" in _third_party(path)} == set()


def test_the_public_api_resolves():
    for name in spikes.__all__:
        assert getattr(spikes, name) is not None, name
    assert spikes.analyze is importlib.import_module("spikes.detect.pipeline").analyze
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = spikes.nothing_here


def test_import_spikes_loads_no_heavy_stage():
    code = ("import sys, spikes; print(sorted(m for m in sys.modules "
            "if m.startswith(('spikes.detect', 'spikes.ui', 'scipy', 'ruptures'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_import_paths_warn_and_give_the_same_module(old):
    new = importlib.import_module(MOVED[old])
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {MOVED[old]}"):
        aliased = importlib.import_module(old)
    assert aliased is new
    assert new.__spec__.name == MOVED[old]  # the real module keeps its own spec


def test_an_old_path_named_as_a_public_function_leaves_the_function_callable():
    # `import spikes.evaluate` bound the module on the package: spikes.evaluate(...)
    # then failed with "module is not callable" for the rest of the process.
    code = ("import warnings; warnings.simplefilter('ignore')\n"
            "import spikes, spikes.evaluate, spikes.simulate, spikes.tune\n"
            "from spikes import evaluate\n"
            "import spikes.evaluate as old\n"
            "sim = spikes.simulate(products=2, days=2, seed=1)\n"
            "assert evaluate(sim.labels, sim.labels).recall == 1.0\n"
            "assert old.read_labels is spikes.evaluation.evaluate.read_labels\n"
            "assert callable(spikes.tune) and spikes.tune.TuningResult\n"
            "print('ok')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.stdout.strip() == "ok", run.stderr


def test_submodules_of_a_moved_package_are_the_same_objects():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from spikes.detectors.base import Detector as old_detector
    from spikes.detect.detectors.base import Detector

    assert old_detector is Detector
    assert new_path("spikes.detectors.base") == "spikes.detect.detectors.base"
    assert new_path("spikes.config") is None
