"""Input files given twice under other names: the same bytes, of the same products, would
count their reports twice (:func:`spikes.io.reading.read_report_blocks` refuses them)."""

from __future__ import annotations

import filecmp
from collections.abc import Sequence
from pathlib import Path

from spikes.errors import SpikesInputError

__all__ = ["check_not_a_copy", "find_copies"]


def find_copies(items: Sequence[object]) -> dict[str, str]:
    """Each file path of `items` that holds the same bytes as one given before it, with
    that one's path."""
    sizes: dict[int, list[str]] = {}  # paths by size
    out: dict[str, str] = {}
    for item in items:
        if not isinstance(item, str | Path) or not Path(item).is_file():
            continue
        path, size = str(item), Path(item).stat().st_size
        if not size:
            continue
        for other in sizes.setdefault(size, []):
            try:
                if filecmp.cmp(other, path, shallow=False):
                    out[path] = other
                    break
            except OSError:  # unreadable: said when it is read
                continue
        sizes[size].append(path)
    return out


def check_not_a_copy(path: str, products: set[str], copies: dict[str, str],
                      read: dict[str, set[str]]) -> None:
    """Refuse `path` when it holds the same bytes as a file given before it and its reports
    are of the same products (a copy under another name would count them twice, as the
    same file given twice would); a single series named by its file is another product."""
    other = copies.get(path)
    if other is not None and products & read.get(other, set()):
        raise SpikesInputError(
            f"{path!r} holds the same bytes as {other!r}, given before it: its reports "
            "would be counted twice; give each file once")
