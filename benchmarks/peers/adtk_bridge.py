"""Call ADTK in its own environment and turn its flags into incidents.

ADTK 0.6.2 (the last release) fails with pandas 3 (``TypeError: Invalid value 'nan' for
dtype 'bool'`` in ``_predict_core``), so it runs in ``benchmarks/.venv-adtk`` with
``pandas<2`` and ``numpy<2``; :func:`ensure_environment` creates it on first use
(``pip install adtk "pandas<2" "numpy<2"``). Data and flags cross over as ``.npz``
files; one subprocess runs a whole grid of settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peers.common import flags_to_incidents

HERE = Path(__file__).resolve().parent
VENV = HERE.parent / ".venv-adtk"
PYTHON = VENV / "bin" / "python"
RUNNER = HERE / "adtk_runner.py"
REQUIREMENTS = ["adtk", "pandas<2", "numpy<2"]
_SECONDS: list[float] = []


class AdtkUnavailable(RuntimeError):
    """ADTK cannot be installed or run; the message says why."""


def ensure_environment() -> Path:
    """Create ADTK's virtual environment if it is missing; return its Python.

    Raises
    ------
    AdtkUnavailable
        The environment cannot be created or ADTK does not import in it.
    """
    if not PYTHON.exists():
        steps = [[sys.executable, "-m", "venv", str(VENV)],
                 [str(PYTHON), "-m", "pip", "install", "-q", *REQUIREMENTS]]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode:
                raise AdtkUnavailable(f"{' '.join(step)} failed: {done.stderr.strip()[-500:]}")
    check = subprocess.run([str(PYTHON), "-c", "import adtk, pandas; print(adtk.__version__, "
                            "pandas.__version__)"], capture_output=True, text=True)
    if check.returncode:
        raise AdtkUnavailable(f"adtk does not import: {check.stderr.strip()[-500:]}")
    return PYTHON


def versions() -> str:
    """``adtk X, pandas Y`` of the ADTK environment."""
    out = subprocess.run([str(PYTHON), "-c", "import adtk, pandas, numpy; print(f'adtk "
                          "{adtk.__version__}, pandas {pandas.__version__}, numpy "
                          "{numpy.__version__}')"], capture_output=True, text=True)
    return out.stdout.strip()


def run(counts: pd.DataFrame, settings: list[dict[str, Any]]) -> list[pd.DataFrame]:
    """Run ADTK settings on every product; one incident table per setting.

    Raises
    ------
    AdtkUnavailable
        The runner fails; the message carries its error.
    """
    python = ensure_environment()
    with tempfile.TemporaryDirectory(prefix="spikes-adtk-") as tmp:
        src, cfg, dst = (Path(tmp) / n for n in ("in.npz", "settings.json", "out.npz"))
        stamps = counts.index.tz_convert("UTC").tz_localize(None).as_unit("ns").asi8
        np.savez(src, values=counts.to_numpy(dtype=float), stamps=stamps)
        cfg.write_text(json.dumps(settings), encoding="utf-8")
        done = subprocess.run([str(python), str(RUNNER), str(src), str(cfg), str(dst)],
                              capture_output=True, text=True)
        if done.returncode:
            raise AdtkUnavailable(f"ADTK runner failed: {done.stderr.strip()[-800:]}")
        result = np.load(dst)
        flags, seconds = result["flags"], result["seconds"]
    _SECONDS[:] = list(seconds)
    return [flags_to_incidents(pd.DataFrame(f, index=counts.index, columns=counts.columns))
            for f in flags]


def last_seconds() -> list[float]:
    """CPU seconds of each setting of the last :func:`run` (inside the runner)."""
    return list(_SECONDS)
