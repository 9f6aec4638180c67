"""Bytes to CSV text: what a report file is before its columns mean anything.

A file is loaded whole (memory-mapped) or opened as a stream and cut into blocks; gzip
is recognised by its magic bytes, UTF-16 by its BOM or its zero bytes, a UTF-8 BOM is
skipped, bytes that are not UTF-8 are read as Windows-1252 and lines ended by a bare CR
(classic Mac OS) get a LF. Before the header, empty lines, ``#`` comment lines and
Excel's delimiter line (``sep=;``) are skipped; the delimiter (``,``, ``;`` or tab) is
sniffed from the header line. A workbook, archive, Parquet file or JSON document is
named for what it is, and a quoted field that is never closed is refused. The result is
a :class:`Text`: UTF-8 content split after its header.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import mmap
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from spikes.errors import SpikesInputError

Source = str | Path | IO[bytes] | IO[str]
"""A report file: a path, or a binary or text file-like object (such as an upload)."""

_DELIMITERS = (",", ";", "\t")
_GROW_BLOCKS = 4  # a block without a balanced-quote line break is cut at a plain one then
NOT_NEWLINE = re.compile(rb"[^\r\n]")
NOT_WHITESPACE = re.compile(rb"\S")
# Files that are not CSV text, by their first bytes: (magic, what it is, what to do).
_NOT_CSV = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)",
     "save the sheet as CSV (or unzip the archive) and read that"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)", "save the sheet as CSV"),
    (b"PAR1", "a Parquet file",
     "name it .parquet and spikes analyze reads it as Parquet (the other commands take "
     "CSV: pandas.read_parquet(f).to_csv(out))"),
    (b"%PDF", "a PDF document", "export the data as CSV"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV"),
    *((b"BZh%d1AY&SY" % level, "a bzip2-compressed file",
       "decompress it (bunzip2) or compress it with gzip, which is read as it is")
      for level in range(1, 10)),
    (b"\xfd7zXZ\x00", "an xz-compressed file",
     "decompress it (unxz) or compress it with gzip, which is read as it is"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file",
     "decompress it (unzstd) or compress it with gzip, which is read as it is"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract the CSV file and read that"),
)
_JSON_START = re.compile(rb'\{\s*(?:"|\}|$)|\[\s*(?:[{\["\d-]|\]|$)')
_LINE_BREAK = re.compile(rb"[\r\n]")
# A line before the header that is not one: empty, a comment or Excel's "sep=;" ("#,"
# starts a header whose first column, the row number, is called "#").
_PREAMBLE_LINE = re.compile(rb"[ \t]*(?:#(?![,;\t])[^\r\n]*|sep=[^\r\n]|)[ \t]*(?:\r\n|\n|\r)",
                            re.IGNORECASE)


#: Name of a table given in memory, in messages: its rows are read as the lines of a CSV
#: file whose first line is the header.
FRAME_NAME = "DataFrame (line 2 = its first row)"


@dataclass(frozen=True)
class Text:
    """A CSV file, decoded to UTF-8 bytes and split after its header."""

    name: str
    header: list[str]
    delimiter: str
    data: bytes | mmap.mmap
    start: int
    lines_before_body: int

    @property
    def body(self) -> memoryview:
        """The data rows (without a copy)."""
        return memoryview(self.data)[self.start :]

    def has_quotes(self) -> bool:
        """Whether the data rows hold a double quote."""
        return self.data.find(b'"', self.start) >= 0


# ------------------------------------------------------------------------ whole files


def load_bytes(source: Source) -> tuple[str, bytes | mmap.mmap]:
    """The file's content: memory-mapped for a plain file, else bytes."""
    if hasattr(source, "read"):
        name = str(getattr(source, "name", None) or "<upload>")
        try:
            if hasattr(source, "seek"):
                source.seek(0)  # type: ignore[union-attr]
            data = source.read()  # type: ignore[union-attr]
        except (OSError, ValueError) as exc:
            raise SpikesInputError(f"cannot read {name!r}: {exc}") from exc
        return name, data.encode("utf-8") if isinstance(data, str) else bytes(data)
    path = Path(source)  # type: ignore[arg-type]
    name = str(source)
    if not path.exists():
        raise SpikesInputError(f"cannot read {name!r}: no such file")
    if path.is_dir():
        raise SpikesInputError(f"cannot read {name!r}: it is a directory, expected a CSV file")
    try:
        with path.open("rb") as handle:
            if path.stat().st_size == 0:
                return name, b""
            return name, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:
        raise SpikesInputError(f"cannot read {name!r}: {getattr(exc, 'strerror', exc)}") from exc


def decode(name: str, data: bytes | mmap.mmap) -> tuple[bytes | mmap.mmap, int]:
    """Decompress gzip and decode UTF-16; return UTF-8 content and the offset after a BOM."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise SpikesInputError(f"cannot read {name!r}: not a valid gzip file ({exc})") from exc
    encoding = _utf16_encoding(data[:4096])
    if encoding is not None:
        try:
            data = bytes(data).decode(encoding).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise SpikesInputError(f"cannot read {name!r}: invalid UTF-16 text") from exc
    if _cr_line_ends(bytes(data[:65536])):
        data = bytes(data).replace(b"\r", b"\n")
    return data, 3 if data[:3] == b"\xef\xbb\xbf" else 0


def _utf16_encoding(head: bytes) -> str | None:
    """``utf-16`` for a UTF-16 BOM, ``utf-16-le``/``-be`` for BOM-less UTF-16 text (a zero
    byte in every other position of the start), else None."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    pairs = len(head) // 2
    if pairs < 4:
        return None
    even, odd = head[0 : 2 * pairs : 2], head[1 : 2 * pairs : 2]
    if odd.count(0) >= 0.9 * pairs and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= 0.9 * pairs and odd.count(0) == 0:
        return "utf-16-be"
    return None


def to_utf8(data: bytes) -> bytes:
    """UTF-8 text, each byte that is not UTF-8 read as Windows-1252 (a stray ``é`` of
    a legacy tool spoils neither the rest of its line nor the file's UTF-8)."""
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        return data.decode("utf-8", errors=_CP1252_BYTES).encode("utf-8")


def _cp1252_bytes(error: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: the offending bytes as Windows-1252 characters; the five
    bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) as the code
    points of their values, so that two names differing only in them stay two (a
    replacement character would make them one)."""
    if not isinstance(error, UnicodeDecodeError):  # pragma: no cover
        raise error
    bad = error.object[error.start : error.end]
    return "".join(_cp1252_char(b) for b in bytes(bad)), error.end


def _cp1252_char(value: int) -> str:
    try:
        return bytes([value]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(value)


_CP1252_BYTES = "spikes.cp1252-bytes"
codecs.register_error(_CP1252_BYTES, _cp1252_bytes)


def _cr_line_ends(head: bytes) -> bool:
    r"""Whether text whose start is `head` ends its lines with a bare CR (classic Mac
    OS, Excel's "CSV (Macintosh)"): then every CR is turned into a LF.

    No CR is followed by a LF, and CRs outnumber LFs: a line break inside a quoted cell
    of such a file may be a LF (typed in the cell), and it stays one.

    Examples
    --------
    >>> _cr_line_ends(b"a,b\r1,2\r"), _cr_line_ends(b'a,b\r1,"x\ny"\r2,3\r')
    (True, True)
    >>> _cr_line_ends(b"a,b\r\n1,2\r\n"), _cr_line_ends(b'a,b\n1,"x\ry"\n2,3\n')
    (False, False)
    """
    return (b"\r" in head and b"\r\n" not in head
            and head.count(b"\r") > head.count(b"\n"))


# ----------------------------------------------------------------------------- header


def split_header(name: str, data: bytes | mmap.mmap, offset: int) -> Text:
    """Find the header record (quotes respected), sniff the delimiter, parse the names.

    What comes before the header is skipped (and counted for line numbers): empty lines,
    comment lines starting with ``#`` and Excel's delimiter line (``sep=;``), whose
    delimiter is then used.
    """
    first = NOT_WHITESPACE.search(data, offset)
    if first is None:
        raise SpikesInputError(f"{name!r} is empty: expected a CSV file with a header line")
    _check_is_text(name, bytes(data[first.start() : first.start() + 4096]))
    begin, declared = header_start(data, offset)
    end = header_end(data, begin)
    raw_header = data[begin:end]
    header_text = to_utf8(raw_header).decode("utf-8").rstrip("\r\n")
    if not header_text.strip():
        raise SpikesInputError(
            f"{name!r} has no header line: only empty, comment (#) or sep= lines"
        )
    delimiter = declared or sniff_delimiter(header_text)
    header = next(csv.reader(io.StringIO(header_text, newline=""), delimiter=delimiter), [])
    header = [h.strip() for h in header]
    if NOT_NEWLINE.search(data, end) is None:
        raise SpikesInputError(f"{name!r} has a header ({', '.join(header)}) but no data rows")
    lines_before = data[offset:begin].count(b"\n") + raw_header.count(b"\n")
    return Text(name, header, delimiter, data, end, lines_before)


def _check_is_text(name: str, head: bytes) -> None:
    """Say what a file is when it is not CSV text (a workbook, an archive, JSON, ...)."""
    for magic, what, advice in _NOT_CSV:
        if head.startswith(magic):
            raise SpikesInputError(f"{name!r} is {what}, not CSV text: {advice}")
    if _JSON_START.match(head):
        raise SpikesInputError(
            f"{name!r} looks like JSON, not CSV text: expected a header line such as "
            "timestamp,product,reports and one row per line"
        )


def header_start(data: bytes | mmap.mmap, offset: int) -> tuple[int, str | None]:
    """Offset of the header line after the preamble (empty lines, ``#`` comment lines
    and an Excel ``sep=X`` line), and the delimiter the ``sep=`` line declares."""
    position, declared = offset, None
    while (line := _PREAMBLE_LINE.match(data, position)) is not None:
        text = line.group(0).lstrip(b" \t")
        if text[:4].lower() == b"sep=" and text[4:5] not in (b"\r", b"\n"):
            declared = text[4:5].decode("latin-1")
        position = line.end()
    return position, declared


def header_end(data: bytes | mmap.mmap, begin: int) -> int:
    """Offset just after the first record's line break (quotes respected)."""
    start = begin
    while True:
        nl = data.find(b"\n", start)
        if nl < 0:
            return len(data)
        if data[begin:nl].count(b'"') % 2 == 0:
            return nl + 1
        start = nl + 1


def sniff_delimiter(header: str, candidates: tuple[str, ...] = _DELIMITERS) -> str:
    """The delimiter of a header line: the most frequent of `candidates` outside quoted
    parts, the first of them on a tie, ``,`` where none occurs.

    Examples
    --------
    >>> sniff_delimiter("product;onset;end"), sniff_delimiter('product,onset,"x;y;z"')
    (';', ',')
    """
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in candidates}
    best = max(candidates, key=lambda d: counts[d])
    return best if counts[best] else ","


# ----------------------------------------------------------------------------- quotes


def check_quotes_closed(text: Text) -> None:
    """Refuse a body that ends inside a quoted field: the CSV parser would swallow every
    following line into that one field. Only checked when the quotes do not pair up."""
    if not text.has_quotes():
        return
    body = np.frombuffer(text.body, dtype=np.uint8)
    quotes = np.flatnonzero(body == 34)
    if len(quotes) % 2 == 0:
        return
    opened = _unclosed_quote(body, quotes, ord(text.delimiter))
    if opened is None:
        return
    line = text.lines_before_body + 1 + int(np.count_nonzero(body[:opened] == 10))
    raise SpikesInputError(
        f"{text.name!r} line {line}: a quoted field is never closed (the '\"' there opens a "
        "field that runs to the end of the file); close the quote or double it as '\"\"'"
    )


def _unclosed_quote(body: np.ndarray, quotes: np.ndarray, delimiter: int) -> int | None:
    """Offset of the quote that opens a field still open at the end, else None.

    Follows the CSV parser: a quote opens a field only at the start of a field; inside,
    ``""`` is a literal quote and a lone quote closes the field.
    """
    starts = (delimiter, 10, 13)
    inside, opened, i, n = False, -1, 0, len(quotes)
    while i < n:
        pos = int(quotes[i])
        if inside:
            if i + 1 < n and quotes[i + 1] == pos + 1:
                i += 2
                continue
            inside = False
        elif pos == 0 or int(body[pos - 1]) in starts:
            inside, opened = True, pos
        i += 1
    return opened if inside else None


# ---------------------------------------------------------------------------- streams


def open_stream(source: Source) -> tuple[str, IO[bytes], int]:
    """A binary stream of the file, its name and its size on disk."""
    if hasattr(source, "read"):
        name = str(getattr(source, "name", None) or "<upload>")
        if hasattr(source, "seek"):
            source.seek(0)  # type: ignore[union-attr]
        data = source.read()  # type: ignore[union-attr]
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        return name, io.BytesIO(raw), len(raw)
    path = Path(source)  # type: ignore[arg-type]
    name = str(source)
    if not path.exists():
        raise SpikesInputError(f"cannot read {name!r}: no such file")
    if path.is_dir():
        raise SpikesInputError(f"cannot read {name!r}: it is a directory, expected a CSV file")
    try:
        return name, path.open("rb"), path.stat().st_size
    except OSError as exc:
        raise SpikesInputError(f"cannot read {name!r}: {exc.strerror}") from exc


def utf8_chunks(name: str, stream: IO[bytes], block_bytes: int) -> Iterator[bytes]:
    """Decompressed UTF-8 content in chunks of about ``block_bytes`` (BOM removed)."""
    head = _peek(stream, 2)
    source: IO[bytes] = stream
    if head == b"\x1f\x8b":
        source = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
    try:
        first = source.read(block_bytes)
        encoding = _utf16_encoding(first[:4096])
        if encoding is None:
            decode: Callable[[bytes], bytes] = bytes
            if first.startswith(b"\xef\xbb\xbf"):
                first = first[3:]
        else:
            decoder = codecs.getincrementaldecoder(encoding)()

            def decode(chunk: bytes) -> bytes:
                return decoder.decode(chunk, final=not chunk).encode("utf-8")
        first = decode(first)
        while first and not _LINE_BREAK.search(first):  # read on to the first line end
            more = decode(source.read(block_bytes))
            if not more:
                break
            first += more
        cr_only = _cr_line_ends(first[:65536])
        while first:
            yield first.replace(b"\r", b"\n") if cr_only else first
            first = decode(source.read(block_bytes))
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise SpikesInputError(f"cannot read {name!r}: not a valid gzip file ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise SpikesInputError(f"cannot read {name!r}: invalid UTF-16 text") from exc
    except OSError as exc:
        raise SpikesInputError(f"cannot read {name!r}: {exc}") from exc


def _peek(stream: IO[bytes], n: int) -> bytes:
    position = stream.tell()
    head = stream.read(n)
    stream.seek(position)
    return head


def record_blocks(chunks: Iterator[bytes], block_bytes: int) -> Iterator[bytes]:
    """Regroup chunks into blocks that end at a record boundary.

    A boundary is a line break after an even number of double quotes (RFC 4180 quoting,
    as line numbers assume). When no such break turns up within a few blocks (a stray
    literal quote), the block is cut at its last line break.
    """
    carry = b""
    for chunk in chunks:
        buffer = carry + chunk if carry else chunk
        cut = _record_end(buffer, balanced=len(buffer) < _GROW_BLOCKS * block_bytes)
        if cut <= 0:
            carry = buffer
            continue
        yield buffer[:cut]
        carry = buffer[cut:]
    if carry:
        yield carry


def _record_end(buffer: bytes, *, balanced: bool) -> int:
    """Offset just after the last record boundary in ``buffer``, or -1."""
    last = buffer.rfind(b"\n")
    if last < 0 or not balanced or buffer.find(b'"') < 0:
        return last + 1 if last >= 0 else -1
    data = np.frombuffer(buffer, dtype=np.uint8)
    quotes = np.flatnonzero(data == 34)
    newlines = np.flatnonzero(data == 10)
    even = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    return int(even[-1]) + 1 if len(even) else -1


def estimate_one(source: Source) -> int:
    """Estimated size in bytes of one file's decompressed content (see
    :func:`spikes.io.reading.estimate_size`)."""
    if hasattr(source, "read"):
        if hasattr(source, "getbuffer"):
            return int(source.getbuffer().nbytes)  # type: ignore[union-attr]
        try:
            position = source.tell()  # type: ignore[union-attr]
            end = source.seek(0, io.SEEK_END)  # type: ignore[union-attr]
            source.seek(position)  # type: ignore[union-attr]
            return int(end)
        except (OSError, ValueError, AttributeError):
            return 0
    path = Path(source)  # type: ignore[arg-type]
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            if handle.read(2) != b"\x1f\x8b" or size < 18:
                return size
            handle.seek(-4, io.SEEK_END)
            recorded = int.from_bytes(handle.read(4), "little")
    except OSError:
        return 0
    return max(recorded, 5 * size)
