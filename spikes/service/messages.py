"""Error messages of the HTTP service in its clients' words.

The readers of :mod:`spikes.io` say what to do in flags of the command line (``or pass
--timestamp-col``); a client of ``POST /v1/reports`` has none, so :func:`csv_body_message`
says it in terms of the body's header. FastAPI answers a query parameter of the wrong
type (``?since=yesterday``) with pydantic's raw errors; :func:`add_query_error_handler`
answers it as the service's other 422s do: ``{"detail": "<one line>"}``, and
:func:`unknown_query_message` says the same of a parameter the endpoint does not take.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

__all__ = ["CSV_BODY_NAME", "add_query_error_handler", "csv_body_message", "query_message",
           "unknown_query_message"]

#: The name a ``text/csv`` body is read under (the readers name their file).
CSV_BODY_NAME = "body.csv"

#: Command-line advice of the readers, and what an HTTP client does instead.
_CLI_ADVICE = (
    # "expected one named timestamp/time/..., or pass --timestamp-col [NAME]"
    (re.compile(r",? or pass --(timestamp|time|product|count|region|category)-col(?: NAME)?"),
     r": give the body's \1 column one of these names (the service takes no column "
     "options)"),
    (re.compile(r"; pass --product-col, --count-col, --product NAME or --format to say how "
                r"to read it"),
     "; name its columns as the reader knows them, e.g. timestamp,product,reports"),
    (re.compile(r": pass --product NAME to count each row as one report of that product"),
     ": add a product column, e.g. timestamp,product"),
)
#: A command-line flag left in a message after the rewrites above.
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def csv_body_message(text: str) -> str:
    """A reader's message about a ``text/csv`` body, for the HTTP client that sent it:
    the body by that name, and instead of the command line's flags what to change in
    the body.

    Parameters
    ----------
    text : str
        The message of :class:`~spikes.errors.SpikesInputError` raised reading the body.

    Returns
    -------
    str
        One line.

    Examples
    --------
    >>> csv_body_message("no timestamp column in 'body.csv': expected one named ts, "
    ...                  "or pass --timestamp-col")
    "no timestamp column in the CSV body: expected one named ts: give the body's timestamp ..."
    """
    out = text.replace(repr(CSV_BODY_NAME), "the CSV body")
    for pattern, advice in _CLI_ADVICE:
        out = pattern.sub(advice, out)
    if _FLAG.search(out):
        out += (" (the options named are those of the command line; the service reads a "
                "CSV body with none: change the body instead)")
    return out


def query_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """FastAPI's validation errors of a request's parameters as one line, such as
    ``query parameter since: 'yesterday' is not a time (expected ISO-8601 such as
    2026-01-22T19:00:00Z or 2026-01-22)``.

    Examples
    --------
    >>> query_message([{"type": "bool_parsing", "loc": ("query", "open"),
    ...                 "msg": "Input should be a valid boolean", "input": "maybe"}])
    "query parameter open: 'maybe' is not true or false"
    """
    return "; ".join(_one_error(error) for error in errors)


def unknown_query_message(unknown: Sequence[str], known: Sequence[str]) -> str:
    """The one line of a 422 for query parameters an endpoint does not take, naming
    those it takes (a misspelt filter must not be silently ignored).

    Parameters
    ----------
    unknown : sequence of str
        The parameters given that the endpoint does not take.
    known : sequence of str
        Those it takes.

    Returns
    -------
    str

    Examples
    --------
    >>> unknown_query_message(["sinse"], ["since", "product", "open"])
    "unknown query parameter 'sinse': this endpoint takes open, product, since"
    >>> unknown_query_message(["verbose", "format"], [])
    "unknown query parameters 'format', 'verbose': this endpoint takes none"
    """
    names = ", ".join(repr(name) for name in sorted(set(unknown)))
    takes = ", ".join(sorted(set(known))) or "none"
    plural = "s" if len(set(unknown)) > 1 else ""
    return f"unknown query parameter{plural} {names}: this endpoint takes {takes}"


def _one_error(error: Mapping[str, Any]) -> str:
    """One validation error of a parameter, in words."""
    loc = [str(part) for part in error.get("loc", ())]
    where = f"{loc[0]} parameter {'.'.join(loc[1:])}" if len(loc) > 1 else "request"
    kind, given = str(error.get("type", "")), error.get("input")
    if kind == "missing":
        return f"{where} is missing"
    if kind.startswith(("datetime", "date")):
        what = "is not a time (expected ISO-8601 such as 2026-01-22T19:00:00Z or 2026-01-22)"
    elif kind.startswith("bool"):
        what = "is not true or false"
    elif kind.startswith(("int", "float")):
        what = "is not a number"
    else:
        message = str(error.get("msg", "is not valid"))
        what = f"is refused: {message[:1].lower()}{message[1:]}"
    return f"{where}: {given!r} {what}"


async def _query_errors(request: Request, exc: Exception) -> JSONResponse:
    """422 with the errors as one line, as the service's other 422s."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse({"detail": query_message(errors)}, status_code=422)


def add_query_error_handler(app: FastAPI) -> None:
    """Answer parameters of the wrong type (``?since=yesterday``) with one line
    (see :func:`query_message`) instead of pydantic's raw errors."""
    app.add_exception_handler(RequestValidationError, _query_errors)
