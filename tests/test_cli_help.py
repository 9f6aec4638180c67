"""Each command's ``--help`` says what its own options do (F30): the ``--clock`` default
of ``serve``, and which files ``--tz`` applies to in each command."""

from __future__ import annotations

import argparse
import re

import pytest

from spikes.cli import build_parser


def _help(command: str) -> str:
    """The ``--help`` text of `command`, its lines joined (argparse wraps them)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return re.sub(r"\s+", " ", sub.choices[command].format_help())


def _tz_help(command: str) -> str:
    """What `command`'s help says of ``--tz``."""
    text = _help(command)
    return text[text.index("--tz TZ timezone"):text.index("(default UTC)")]


def test_serve_help_states_the_clock_default() -> None:
    assert "replays of history (default wall)" in _help("serve")


@pytest.mark.parametrize(("command", "files"), [
    ("ingest", "(in the report files)"),
    ("analyze", "(in the reports and the --calendar file)"),
    ("evaluate", "(in the --data reports, --incidents and --labels)"),
    ("explain", "(in the reports, --labels, --calendar, and --window without --display-tz)"),
    ("tune", "(in the reports and --labels)"),
    ("serve", "(in the --calendar file, the --demo-file and --demo-from; reports posted to "
              "the API without an offset are UTC)"),
])
def test_tz_help_names_the_files_of_its_command(command: str, files: str) -> None:
    # It said "(in the reports, labels and calendars)" everywhere: ingest takes neither.
    text = _tz_help(command)
    assert files in text
    assert "labels and calendars" not in text


def test_each_file_the_tz_help_names_is_an_option_of_its_command() -> None:
    for command in ("ingest", "analyze", "evaluate", "explain", "tune", "serve"):
        options = set(re.findall(r"--[a-z-]+", _tz_help(command))) - {"--tz"}
        help_text = _help(command)
        for option in options:
            assert re.search(rf"\s\[?{option} [A-Z]", help_text), (command, option)


def test_serve_help_does_not_promise_analyzes_column_options() -> None:
    # --demo-file was "read as `spikes analyze` reads it", but serve has no --format,
    # --timestamp-col, ...: a file analyze reads only with them cannot be replayed.
    text = _help("serve")
    assert "read as `spikes analyze` reads it" not in text
    assert "its columns found by their names" in text
    assert "--timestamp-col" not in text and "--format" not in text
