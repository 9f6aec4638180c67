"""The ``spikes`` command line: analyze, evaluate, explain, simulate, tune, ingest, serve.

Every command turns a :class:`~spikes.errors.SpikesInputError` into one line on stderr
and exit code 2, a :class:`~spikes.errors.SpikesRunError` (a worker or a cluster lost)
into one line and exit code 1; nothing else is caught, so a bug still shows its
traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from spikes import __version__
from spikes.cli import analyze, evaluate, explain, ingest, serve, simulate, tune
from spikes.cli.analyze import summary_table
from spikes.cli.inputs import DATE_ORDERS, FORMATS, add_input_options, load_inputs
from spikes.errors import SpikesInputError, SpikesRunError

__all__ = ["DATE_ORDERS", "FORMATS", "add_input_options", "build_parser", "load_inputs", "main",
           "summary_table"]


#: Sub-command registrations; a module adds a command by appending its ``add`` function.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    analyze.add_parser,
    evaluate.add_parser,
    explain.add_parser,
    simulate.add_parser,
    tune.add_parser,
    ingest.add_parser,
    serve.add_parser,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="spikes",
        description="Crowd-report outage detection: find when each product's user reports "
                    "rise far above their usual volume for that time of day.",
    )
    parser.add_argument("--version", action="version", version=f"spikes {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spikes`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except SpikesInputError as exc:
        print(f"spikes {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except SpikesRunError as exc:
        print(f"spikes {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"spikes {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `spikes analyze ... | head`): stop quietly, as
        # Python's documentation recommends, without a traceback at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
