"""HTTP answers the routes themselves do not give, made to agree with the OpenAPI document.

- A body that cannot be parsed at all (not UTF-8, not JSON) is a 422 naming the body, like any other invalid
  body, instead of FastAPI's undocumented 400.
- A 405 lists in `Allow` every method of every route on the path (Starlette names only the first route's).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

# What FastAPI raises when the body could not even be decoded (fastapi/routing.py).
_UNPARSEABLE_BODY = "There was an error parsing the body"
_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})


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
