"""POST /orders and GET /orders/{id} without FastAPI's per-request machinery, for the requests it would accept.

Under load these two routes are most of what the orders API does, and FastAPI's generic path (dependency
solving, body and response models through its encoders, its routing) cost about as much as the work itself.
For a request the routes would accept, `HotRoutes` does exactly their work through the same functions
(`api.place`, `api.current`) and models, and answers the same status, headers and JSON. Anything else, a body the
model rejects, a header or query it does not expect, an unknown order, goes on to FastAPI untouched (its body
replayed), so every error keeps FastAPI's wording and the OpenAPI document stays the contract
(tests/integration/test_http_contract.py runs schemathesis against it). Metrics, the access log and the
server span see either path alike: this sits inside them, and names the route they label with.

Its rules are the routes' own declarations, read once at start-up: the header and query bounds validate
through the declared annotations (pydantic), the body model and the desk dependency are the declared ones,
the body cap is the route class's. A route that declares a parameter or a dependency this path does not
supply stops the service at start-up rather than being skipped. `orderflow bench --hotpath N` measures what
it earns (docs/performance.md).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any, get_args, get_type_hints
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.params import Depends
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.orders.api import current, get_order, place, post_order, router
from services.orders.body import BoundedJSONRoute, parse_json
from services.orders.desk import OrderDesk
from services.orders.handlers import IdempotencyKeyReused

_PREFIX = "/orders/"
_JSON = b"application/json"


class HotRoutes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The routes FastAPI matches are the router's own objects (FastAPI includes routers lazily, so the
        # app's route list holds only the inclusion); the metrics and access log label with their path.
        self._routes = {
            (verb, route.path): route
            for route in router.routes
            if isinstance(route, APIRoute)
            for verb in route.methods or ()
        }
        posting = _parameters(
            self._routes["POST", "/orders"], post_order, "body", "desk", "response", "idempotency_key"
        )
        reading = _parameters(self._routes["GET", "/orders/{order_id}"], get_order, "order_id", "desk", "wait")
        self._cap = _body_cap(self._routes["POST", "/orders"])
        self._body = _adapter(posting["body"])
        self._desk = _desk_of(posting["desk"].annotation)
        self._key = _Header(posting["idempotency_key"])
        self._order_id = _adapter(reading["order_id"])
        self._wait = reading["wait"]
        self._wait_adapter = _adapter(self._wait)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            if method == "POST" and path == "/orders":
                await self._post(scope, receive, send)
                return
            if method == "GET" and path.startswith(_PREFIX) and len(path) == len(_PREFIX) + 36:
                await self._get(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, complete = await _read_body(receive, self._cap)
        replay = _replay(body, complete, receive)
        media = next((value for name, value in scope["headers"] if name == b"content-type"), b"").split(b";")[0]
        if not complete or scope["query_string"] or media.strip() != _JSON:
            await self.app(scope, replay, send)
            return
        try:
            key = self._key.value(scope)
            order = self._body.validate_python(parse_json(body))
        except (ValueError, RecursionError):  # header, JSON or model (ValidationError is one): FastAPI words the 422
            await self.app(scope, replay, send)
            return
        desk = await self._desk(Request(scope))
        try:
            accepted, location = await place(desk, order, key)
        except IdempotencyKeyReused as error:
            await _answer(send, 409, {"detail": str(error)})
        else:
            await _answer(send, 202, accepted, [(b"location", location.encode())])
        self._label(scope, "POST", "")

    async def _get(self, scope: Scope, receive: Receive, send: Send) -> None:
        segment = scope["path"][len(_PREFIX) :]
        try:
            order_id = self._order_id.validate_python(segment)
            query = dict(parse_qsl(scope["query_string"].decode("latin-1"), strict_parsing=True))
            wait = self._wait_adapter.validate_python(query.pop(self._wait.name, self._wait.default))
        except ValueError:  # ValidationError is one
            query, wait = {"invalid": ""}, 0.0
        if query or str(order_id) != segment:
            await self.app(scope, receive, send)
            return
        found = await current(await self._desk(Request(scope)), order_id, wait)
        if found is None:  # FastAPI words the 404 (and reads once more: a rare case)
            await self.app(scope, receive, send)
            return
        scope["path_params"] = {"order_id": order_id}
        await _answer(send, 200, found)
        self._label(scope, "GET", "/{order_id}")

    def _label(self, scope: Scope, method: str, suffix: str) -> None:
        """The route FastAPI would have matched, for the metrics' and access log's route label."""
        scope["route"] = self._routes.get((method, f"/orders{suffix}"))


def _parameters(route: APIRoute, endpoint: Callable[..., Any], *supplied: str) -> dict[str, inspect.Parameter]:
    """The endpoint's declared parameters (annotations resolved), which must be exactly those this path supplies:
    one added later, or a dependency on the route or its router, stops the service here instead of being skipped."""
    hints = get_type_hints(endpoint, include_extras=True)
    found = {
        name: parameter.replace(annotation=hints.get(name, parameter.annotation))
        for name, parameter in inspect.signature(endpoint).parameters.items()
    }
    if route.endpoint is not endpoint or tuple(found) != supplied or route.dependencies:
        raise TypeError(
            f"the hot path supplies {supplied} to {route.path}; its route declares {tuple(found)} "
            f"and dependencies {route.dependencies}: teach services/orders/hotpath.py the change or drop the route"
        )
    return found


def _adapter(parameter: inspect.Parameter) -> TypeAdapter[Any]:
    """Validation as the parameter is declared (its type and the bounds of its Header, Query or Field)."""
    annotation: Any = parameter.annotation
    return TypeAdapter(annotation)


def _body_cap(route: APIRoute) -> int:
    if not isinstance(route, BoundedJSONRoute):
        raise TypeError(f"the hot path bounds bodies as BoundedJSONRoute does; {route.path} is a {type(route)}")
    return route.max_body_bytes


def _desk_of(annotation: Any) -> Callable[[Request], Awaitable[OrderDesk]]:
    """The declared dependency that gives the desk (`Annotated[OrderDesk, Depends(f)]`, f taking the request)."""
    dependency = next((meta.dependency for meta in get_args(annotation)[1:] if isinstance(meta, Depends)), None)
    taking = {} if dependency is None else get_type_hints(dependency)
    taking.pop("return", None)
    if dependency is None or list(taking.values()) != [Request]:
        raise TypeError(f"the hot path takes the desk from a dependency on the request alone, not {annotation}")
    found: Callable[[Request], Awaitable[OrderDesk]] = dependency
    return found


class _Header:
    """A declared header parameter: its name (FastAPI's: underscores as hyphens) and its validation."""

    def __init__(self, parameter: inspect.Parameter) -> None:
        self.name = parameter.name.replace("_", "-").encode()
        self.default = parameter.default
        self.adapter = _adapter(parameter)

    def value(self, scope: Scope) -> Any:
        """The validated value; ValueError if repeated or invalid."""
        values = [value for name, value in scope["headers"] if name == self.name]
        if len(values) > 1:
            raise ValueError(f"{self.name!r} repeated")
        return self.adapter.validate_python(values[0].decode("latin-1") if values else self.default)


async def _read_body(receive: Receive, cap: int) -> tuple[bytes, bool]:
    """The request body, or as much as `cap` allows (then False: the route answers 413)."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return body, False
        body += message.get("body", b"")
        if len(body) > cap:
            return body, False
        if not message.get("more_body", False):
            return body, True


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A `receive` that hands out what was read, then defers to the server (the rest of the body, a disconnect)."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": not complete}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


async def _answer(
    send: Send, status: int, content: BaseModel | dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = content.model_dump_json().encode() if isinstance(content, BaseModel) else json.dumps(content).encode()
    start = [(b"content-type", _JSON), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})
