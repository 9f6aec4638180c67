"""The ``spikes`` console script: the command line, with Ctrl-C during its start-up
(importing the libraries takes a second or more) stopping it with one line, as Ctrl-C
during a command does (:func:`spikes.cli.main`)."""

from __future__ import annotations

import sys


def run() -> int:
    """Import the command line and run it; exit code 130 when interrupted while importing.

    Returns
    -------
    int
        The exit code.
    """
    try:
        from spikes.cli import main
    except KeyboardInterrupt:
        print("spikes: interrupted", file=sys.stderr)
        return 130
    return main()
