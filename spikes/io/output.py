"""Writing results safely: ISO-8601 times, no spreadsheet formulas, atomic replace."""

from __future__ import annotations

import glob
import gzip
import io
import os
import stat
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from spikes.errors import SpikesInputError

#: Leading characters that make a spreadsheet treat a cell as a formula (OWASP CSV
#: injection guidance): such cells are prefixed with a single quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


#: Suffixes of other formats, which a CSV written under that name would only pass for.
OTHER_FORMATS = {".xlsx": "an Excel workbook", ".xls": "an Excel workbook",
                 ".xlsm": "an Excel workbook", ".ods": "a spreadsheet", ".json": "JSON",
                 ".tsv": "tab-separated text", ".zip": "a ZIP file"}


def neutralize_formula(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with ``'``.

    Numbers are left alone (a negative number is not a formula); only strings change.

    Examples
    --------
    >>> neutralize_formula("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralize_formula("Outlook")
    'Outlook'
    """
    if isinstance(value, str) and (value.startswith(FORMULA_STARTS) or (
            value.startswith("'") and value[1:].lstrip("'").startswith(FORMULA_STARTS))):
        # A name that already starts with quotes before a formula character gets one
        # more, so that restore_formula gives it back whole.
        return "'" + value
    return value


def restore_formula(value: object) -> object:
    """Undo :func:`neutralize_formula`: a text cell ``'`` followed by a character that
    starts a formula loses the ``'`` (what `spikes analyze -o` wrote reads back as the
    name it wrote).

    Examples
    --------
    >>> restore_formula("'=cmd"), restore_formula("'quoted"), restore_formula("Outlook")
    ('=cmd', "'quoted", 'Outlook')
    >>> restore_formula(neutralize_formula("'=x"))  # a name that starts with a quote
    "'=x"
    """
    if isinstance(value, str) and value.startswith("'") and value[1:].lstrip("'").startswith(
            FORMULA_STARTS):
        return value[1:]
    return value


def to_safe_csv(frame: pd.DataFrame) -> str:
    """CSV text of `frame` with timestamps in ISO-8601 with offset and text cells
    neutralised against formula injection."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out[column] = series.map(lambda t: t.isoformat() if pd.notna(t) else "")
        elif series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            out[column] = series.map(neutralize_formula)
    out.columns = [neutralize_formula(str(c)) for c in out.columns]
    buffer = io.StringIO()
    out.to_csv(buffer, index=False)
    return buffer.getvalue()


_UMASK_LOCK = threading.Lock()


def _temporary(path: Path, folder: Path) -> tuple[int, str]:
    """A temporary file beside `path` for an atomic write, with the mode `path` will
    have: that of the file it replaces, else what the umask gives a new file (mkstemp
    makes it 0600, and every output was then readable by its owner alone)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise SpikesInputError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    if hasattr(os, "fchmod"):  # not on Windows before Python 3.13
        try:
            os.fchmod(fd, mode)
        except OSError:  # a file system without modes: as mkstemp made it
            pass
    return fd, tmp


def _umask() -> int:
    """The process's umask: read from /proc on Linux; elsewhere by setting it (the
    strictest value meanwhile, so that no file another thread makes is more open)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        umask = os.umask(0o077)
        os.umask(umask)
    return umask


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and a rename,
    so that a crash never leaves a half-written file and an existing file is replaced
    whole; gzip-compressed where the name ends in ``.gz``.

    Raises
    ------
    SpikesInputError
        If the folder does not exist or is not writable.
    """
    path = Path(path)
    folder = writable_folder(path)
    fd, tmp = _temporary(path, folder)
    try:
        if path.name.lower().endswith(".gz"):  # incidents.csv.gz: gzip, as read
            with os.fdopen(fd, "wb") as raw, gzip.GzipFile(
                    filename="", mode="wb", fileobj=raw, mtime=0) as handle:
                handle.write(text.encode("utf-8"))
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write `frame` as a safe CSV (see :func:`to_safe_csv`), atomically."""
    return write_text_atomic(path, to_safe_csv(frame))


#: Suffixes written as Parquet by :func:`write_table`.
PARQUET_SUFFIXES = (".parquet", ".pq")


def write_parquet(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write `frame` as Parquet (times keep their UTC zone), atomically.

    Raises
    ------
    SpikesInputError
        If the file cannot be written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    folder = writable_folder(path)  # a Parquet dataset folder (as Spark writes) refused
    plain = frame.reset_index(drop=True)
    # The frame's attrs are the run's working notes (the latest bucket per product, the
    # repeated rows), not columns: pyarrow would try to store them as JSON and warn on
    # their Timestamps, then drop them anyway.
    plain.attrs = {}
    table = pa.Table.from_pandas(plain, preserve_index=False)
    fd, tmp = _temporary(path, folder)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write `frame` as Parquet when `path` ends in ``.parquet`` (or ``.pq``), else as a
    safe CSV (:func:`write_csv`)."""
    if str(path).lower().endswith(PARQUET_SUFFIXES):
        return write_parquet(frame, path)
    suffix = Path(path).suffix.lower()
    if suffix in OTHER_FORMATS:
        raise SpikesInputError(f"{path}: spikes writes CSV or Parquet (.csv, .csv.gz, "
                               f".parquet), not {OTHER_FORMATS[suffix]}; name the file .csv")
    return write_csv(frame, path)


def check_csv_name(path: str | Path) -> None:
    """Refuse a name that asks for another format than CSV (``.parquet``, ``.xlsx``...):
    CSV text written under it would only pass for that format.

    Raises
    ------
    SpikesInputError
        Naming the file and the format its name asks for.
    """
    name = str(path).lower()
    suffix = ".parquet" if name.endswith(PARQUET_SUFFIXES) else Path(name).suffix
    kind = "Parquet" if suffix == ".parquet" else OTHER_FORMATS.get(suffix)
    if kind is not None:
        raise SpikesInputError(f"{path}: written as CSV text, not {kind}; name the file "
                               f".csv (or .csv.gz)")


def writable_folder(path: str | Path) -> Path:
    """The folder `path` is to be written in, checked: it exists, and `path` is no
    folder.

    Raises
    ------
    SpikesInputError
        Saying which.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SpikesInputError(f"{path}: cannot write, folder {folder} does not exist")
    if path.is_dir():
        raise SpikesInputError(f"{path}: cannot write, it is a folder (name a file)")
    return folder


def check_outputs(outputs: Mapping[str, str | Path | None],
                  inputs: Mapping[str, Sequence[str | Path] | str | Path | None]) -> None:
    """Refuse outputs that would overwrite a file the command reads, or each other, or
    that cannot be written (no such folder), before any work is done (an input replaced
    by the incidents table is lost; a run of an hour lost to a typo in a folder).

    Parameters
    ----------
    outputs : mapping of str to path or None
        Each output's option (``-o``) and path; None where not given.
    inputs : mapping of str to path(s) or None
        Each input's option (or ``INPUT``) and path(s); patterns and folders are
        compared as given.

    Raises
    ------
    SpikesInputError
        Naming both options and the file.
    """
    given = [(flag, Path(path)) for flag, path in outputs.items() if path is not None]
    for flag, path in given:  # before the work, not after it (and after the first table)
        try:
            writable_folder(path)
        except SpikesInputError as exc:
            raise SpikesInputError(f"{flag} {exc}") from None
    for i, (flag, path) in enumerate(given):
        for other, other_path in given[:i]:
            if _same_file(path, other_path):
                raise SpikesInputError(f"{other} and {flag} name one file ({path}): the "
                                       "second would overwrite the first; give two names")
        for source, paths in inputs.items():
            if paths is None:
                continue
            for read in [paths] if isinstance(paths, str | Path) else paths:
                if _reads(Path(read), path):
                    raise SpikesInputError(
                        f"{flag} {path} is a file {source} reads ({read}): writing there "
                        "would replace it; give another name")


def _reads(source: Path, path: Path) -> bool:
    """Whether reading `source` (a file, a folder, or a glob pattern) reads `path`."""
    text = str(source)
    if any(c in text for c in "*?["):  # a pattern: the files it matches now
        return any(_same_file(path, Path(match)) for match in glob.glob(text, recursive=True))
    if source.is_dir():  # an existing file of the folder (a new one replaces nothing)
        try:
            return path.is_file() and path.resolve().is_relative_to(source.resolve())
        except OSError:
            return False
    return _same_file(path, source)


def _same_file(a: Path, b: Path) -> bool:
    """Whether `a` and `b` name one file: the same existing file (links included), or
    the same path."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()
