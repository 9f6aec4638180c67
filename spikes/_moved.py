"""Old import paths of the flat layout (``spikes.pipeline``, ``spikes.reading`` ...).

They keep working for one release: importing one gives the module at its new place and a
:class:`DeprecationWarning` that names it. The README lists the moves.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType

#: Old module path -> new module path (a package's submodules follow their package).
MOVED: dict[str, str] = {
    "spikes.reading": "spikes.io.reading",
    "spikes.buckets": "spikes.io.buckets",
    "spikes.output": "spikes.io.output",
    "spikes.baseline": "spikes.detect.baseline",
    "spikes.noise": "spikes.detect.noise",
    "spikes.detectors": "spikes.detect.detectors",
    "spikes.incidents": "spikes.detect.incidents",
    "spikes.events": "spikes.detect.events",
    "spikes.pipeline": "spikes.detect.pipeline",
    "spikes.evaluate": "spikes.evaluation.evaluate",
    "spikes.nab": "spikes.evaluation.nab",
    "spikes.simulate": "spikes.evaluation.simulate",
    "spikes.tune": "spikes.evaluation.tune",
    "spikes.dashboard": "spikes.ui.dashboard",
    "spikes.tuning_view": "spikes.ui.tuning_view",
}


def new_path(old: str) -> str | None:
    """The module path that replaced `old`, or None when `old` did not move."""
    for before, after in MOVED.items():
        if old == before or old.startswith(before + "."):
            return after + old[len(before):]
    return None


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Meta path finder that serves an old module path with the module at its new path."""

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def find_spec(self, fullname: str, path: object = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if new_path(fullname) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        target = new_path(spec.name)
        assert target is not None  # find_spec answered only for moved paths
        warnings.warn(f"{spec.name} moved to {target}; the old path works until the next "
                      "release", DeprecationWarning, stacklevel=2)
        module = importlib.import_module(target)
        self._specs[module.__name__] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system stamped the alias's spec on the real module: put its own back.
        module.__spec__ = self._specs.pop(module.__name__, module.__spec__)


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        # First, so that a moved package's submodules are not found (and loaded a second
        # time under the old name) by the path finder through the package's __path__.
        sys.meta_path.insert(0, MovedModuleFinder())
