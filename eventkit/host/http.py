"""HTTP answers the routes themselves do not give, made to agree with the OpenAPI document.

- A body that cannot be parsed at all (not UTF-8, not JSON) is a 422 naming the body, like any other invalid
  body, instead of FastAPI's undocumented 400.
- A 405 lists in `Allow` every method of every route on the path (Starlette names only the first route's).
- A request that cannot reach the database (restarting, unreachable, out of pooled connections) is a 503 with
  `Retry-After`, which clients and proxies retry, instead of a bare 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import exc
from starlette.exceptions import HTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# What FastAPI raises when the body could not even be decoded (fastapi/routing.py).
_UNPARSEABLE_BODY = "There was an error parsing the body"
_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})
# SQLSTATE classes: 08 connection exception, 57 operator intervention (shutting down, starting up).
_UNREACHABLE_SQLSTATES = ("08", "57")
RETRY_AFTER_SECONDS = 2


class Unavailable(BaseModel):
    detail: str


# For the routers whose operations use the database: the 503 `DatabaseUnavailable` answers.
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "model": Unavailable,
        "description": "The database cannot be reached; retry (a POST with its Idempotency-Key)",
    }
}


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI document gives the paths matching `path` (HEAD with GET, as Starlette serves it).

    Read from the document rather than the routes: included routers hide their routes behind wrappers.
    """
    methods: set[str] = set()
    for template, operations in app.openapi()["paths"].items():
        if compile_path(template)[0].fullmatch(path):
            methods |= {method.upper() for method in operations if method.upper() in _METHODS}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install_http_contract(app: FastAPI) -> None:
    async def handler(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 400 and error.detail == _UNPARSEABLE_BODY:
            detail = [
                {"type": "json_invalid", "loc": ["body"], "msg": "the body is not valid UTF-8 JSON", "input": None}
            ]
            return JSONResponse({"detail": detail}, status_code=422)
        if error.status_code == 405:
            allow = ", ".join(allowed_methods(app, request.url.path))
            return JSONResponse({"detail": error.detail}, status_code=405, headers={"Allow": allow})
        return await http_exception_handler(request, error)

    app.add_exception_handler(HTTPException, handler)


def unreachable(error: BaseException) -> bool:
    """Whether `error` says the database could not be reached, rather than that the request was wrong."""
    seen: BaseException | None = error
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        if isinstance(seen, OSError | exc.TimeoutError):  # refused, reset, no such host; pool exhausted
            return True
        if isinstance(seen, exc.DBAPIError) and seen.connection_invalidated:
            return True
        if str(getattr(seen, "sqlstate", None) or "").startswith(_UNREACHABLE_SQLSTATES):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


class DatabaseUnavailable:
    """ASGI middleware: a request failing for want of the database answers 503 and `Retry-After`.

    Middleware rather than an exception handler, so it covers every route, the orders hot path's too, and sits
    inside the metrics, which count the 503.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:
            if started or not unreachable(error):
                raise
            log.warning("%s %s: the database cannot be reached: %r", scope["method"], scope["path"], error)
            detail = f"the database cannot be reached ({type(error).__name__}); retry (a POST with its Idempotency-Key)"
            answer = JSONResponse({"detail": detail}, 503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
            await answer(scope, receive, send)
