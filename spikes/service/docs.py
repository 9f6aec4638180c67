"""The API's own pages: ``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``.

FastAPI serves them as plain Starlette routes, which no dependency of the app sees: they
answered ``/docs?x=1`` with 200 while every other endpoint refuses a query parameter it
does not take (422, naming those it takes). Here they are the app's own routes, left out
of its schema, so that the same check applies (:func:`router`); the app is created with
FastAPI's disabled. The bearer-token check does not apply: the schema holds no data, as
with FastAPI's. They answer ``HEAD`` as ``GET`` without the body, as FastAPI's did
(Starlette's plain routes take both; an app route takes the methods it is given).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

__all__ = ["OPENAPI", "router"]

#: Where the schema is served.
OPENAPI = "/openapi.json"
#: The methods of the pages (HEAD: the same headers, no body; the server drops it).
_METHODS = ["GET", "HEAD"]


def router(app: FastAPI) -> APIRouter:
    """The routes of `app`'s schema and its two pages (none in the schema itself)."""
    pages = APIRouter(include_in_schema=False)

    @pages.api_route(OPENAPI, methods=_METHODS)
    def openapi(request: Request) -> JSONResponse:
        schema: dict[str, Any] = app.openapi()
        root = _root(request)
        if root and app.root_path_in_servers:  # as FastAPI's own, behind a proxy's prefix
            servers = schema.get("servers", [])
            if root not in {s.get("url") for s in servers}:
                schema = {**schema, "servers": [{"url": root}, *servers]}
        return JSONResponse(schema)

    @pages.api_route("/docs", methods=_METHODS)
    def swagger(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=_root(request) + OPENAPI,
                                   title=f"{app.title} - Swagger UI")

    @pages.api_route("/redoc", methods=_METHODS)
    def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(openapi_url=_root(request) + OPENAPI,
                              title=f"{app.title} - ReDoc")

    return pages


def _root(request: Request) -> str:
    """The path prefix the app is served under (``root_path``), without a final slash."""
    return str(request.scope.get("root_path", "")).rstrip("/")
