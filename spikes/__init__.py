"""spikes: crowd-report outage detection.

The pipeline runs in stages, one subpackage each (see ``docs/ARCHITECTURE.md``):

- :mod:`spikes.io`: read report CSVs (:mod:`~spikes.io.reading`), bucket them into counts
  (:mod:`~spikes.io.buckets`), write results (:mod:`~spikes.io.output`);
- :mod:`spikes.detect`: seasonal baseline, noise model, detectors, incidents, events;
  :mod:`spikes.detect.pipeline` runs them in order;
- :mod:`spikes.evaluation`: scoring against labels, NAB, simulated data, tuning;
- :mod:`spikes.ui`: the dashboard's figures and views; :mod:`spikes.cli`: the command line.

The names below are the public API; they load on first use, so ``import spikes`` stays
cheap.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from spikes import _moved
from spikes._lazy import lazy_names

__version__ = "0.1.0"

#: Public name -> module that defines it.
_PUBLIC: dict[str, str] = {
    "Analysis": "spikes.detect.pipeline",
    "Calendar": "spikes.detect.known_events",
    "DetectionConfig": "spikes.config",
    "Evaluation": "spikes.evaluation.evaluate",
    "RawReports": "spikes.model",
    "ReportData": "spikes.model",
    "SpikesInputError": "spikes.errors",
    "analyze": "spikes.detect.pipeline",
    "evaluate": "spikes.evaluation.evaluate",
    "find_incidents": "spikes.detect.pipeline",
    "load_config": "spikes.config",
    "load_reports": "spikes.io.buckets",
    "product_status": "spikes.detect.pipeline",
    "read_calendar": "spikes.io.calendar",
    "read_incidents": "spikes.evaluation.evaluate",
    "read_labels": "spikes.evaluation.evaluate",
    "read_reports": "spikes.io.reading",
    "score_reports": "spikes.detect.pipeline",
    "simulate": "spikes.evaluation.simulate",
    "tune": "spikes.evaluation.tune",
    "write_csv": "spikes.io.output",
}

__all__ = [
    "Analysis",
    "Calendar",
    "DetectionConfig",
    "Evaluation",
    "RawReports",
    "ReportData",
    "SpikesInputError",
    "analyze",
    "evaluate",
    "find_incidents",
    "load_config",
    "load_reports",
    "product_status",
    "read_calendar",
    "read_incidents",
    "read_labels",
    "read_reports",
    "score_reports",
    "simulate",
    "tune",
    "write_csv",
]

_moved.install()


class _FunctionAndModule:
    """A public function that shares its name with an old module path: called, the
    function; its attributes, those of the module (``spikes.evaluate.read_labels``)."""

    def __init__(self, function: Any, module: ModuleType) -> None:
        object.__setattr__(self, "_function", function)
        object.__setattr__(self, "_module", module)
        # inspect.signature and help() follow __wrapped__ to the function.
        object.__setattr__(self, "__wrapped__", function)
        object.__setattr__(self, "__doc__", function.__doc__)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._function(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name in ("_function", "_module"):  # not set yet (a copy): no recursion
            raise AttributeError(name)
        return getattr(self._module, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._module, name, value)  # monkeypatching reaches the module

    def __delattr__(self, name: str) -> None:
        delattr(self._module, name)

    def __repr__(self) -> str:
        return f"<{self._function.__module__}.{self._function.__name__}, also {self._module!r}>"


class _Package(ModuleType):
    """The package, whose public functions an old submodule path of the same name
    (``import spikes.evaluate``, see :mod:`spikes._moved`) does not replace: the import
    system binds an imported submodule on its package, and ``spikes.evaluate(...)`` then
    called a module. Bound as :class:`_FunctionAndModule`, it is both."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, ModuleType) and name in _PUBLIC:
            function = getattr(importlib.import_module(_PUBLIC[name]), name)
            if callable(function) and not isinstance(function, type):
                value = _FunctionAndModule(function, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC, globals())


if TYPE_CHECKING:
    from spikes.config import DetectionConfig, load_config
    from spikes.detect.known_events import Calendar
    from spikes.detect.pipeline import (
        Analysis,
        analyze,
        find_incidents,
        product_status,
        score_reports,
    )
    from spikes.errors import SpikesInputError
    from spikes.evaluation.evaluate import Evaluation, evaluate, read_incidents, read_labels
    from spikes.evaluation.simulate import simulate
    from spikes.evaluation.tune import tune
    from spikes.io.buckets import load_reports
    from spikes.io.calendar import read_calendar
    from spikes.io.output import write_csv
    from spikes.io.reading import read_reports
    from spikes.model import RawReports, ReportData
