"""The console script's start-up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from spikes import __version__
from spikes.console import run


def test_ctrl_c_while_the_command_line_is_imported_is_one_line(monkeypatch, capsys) -> None:
    # Importing the command line takes a second or more (pandas, scipy, ...): a Ctrl-C
    # then printed a traceback of the imports and the process died of the signal.
    class Interrupted:
        def find_spec(self, name: str, path: object = None, target: object = None) -> None:
            if name == "spikes.cli":
                raise KeyboardInterrupt

    monkeypatch.delitem(sys.modules, "spikes.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Interrupted(), *sys.meta_path])
    assert run() == 130
    assert capsys.readouterr().err == "spikes: interrupted\n"


@pytest.mark.parametrize("argv", [["--version"], ["analyze", "--no-such-flag"]])
def test_python_dash_m_runs_the_command_line(argv: list[str]) -> None:
    from spikes.cli import main

    done = subprocess.run([sys.executable, "-m", "spikes", *argv], capture_output=True,
                          text=True, timeout=60)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert done.returncode == exit_info.value.code
    assert done.stdout.strip() == (f"spikes {__version__}" if argv == ["--version"] else "")
