"""The examples of the package's docstrings run and hold (doctest), so that the numpydoc
Examples sections a user copies do not rot. The dashboard's modules (spikes.ui) import
Streamlit and are left out, as is spikes.__main__ (it runs the command line)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import spikes

MODULES = sorted(m.name for m in pkgutil.walk_packages(spikes.__path__, "spikes.")
                 if not m.name.startswith("spikes.ui") and m.name != "spikes.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
