"""POST /orders and GET /orders/{id} without FastAPI's per-request machinery, for the requests it would accept.

Under load these two routes are most of what the orders API does, and FastAPI's generic path (dependency
solving, body and response models through its encoders, its routing) cost about as much as the work itself.
For a request the routes would accept, `HotRoutes` does exactly their work through the same functions
(`api.place`, `api.current`) and models, and answers the same status, headers and JSON. Anything else, a body the
model rejects, a header or query it does not expect, an unknown order, goes on to FastAPI untouched (its body
replayed), so every error keeps FastAPI's wording and the OpenAPI document stays the contract
(tests/integration/test_http_contract.py runs schemathesis against it). Metrics, the access log and the
server span see either path alike: this sits inside them, and names the route they label with.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventkit.host.context import ServiceContext
from services.orders.api import MAX_WAIT_SECONDS, current, place, router
from services.orders.body import MAX_BODY_BYTES
from services.orders.desk import OrderDesk
from services.orders.handlers import IdempotencyKeyReused
from services.orders.schemas import PlaceOrderRequest

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
        body, complete = await _read_body(receive)
        replay = _replay(body, complete, receive)
        keys = [value for name, value in scope["headers"] if name == b"idempotency-key"]
        key = keys[0] if len(keys) == 1 else None
        media = next((value for name, value in scope["headers"] if name == b"content-type"), b"").split(b";")[0]
        plain = complete and not scope["query_string"] and media.strip() == _JSON
        if not plain or len(keys) > 1 or (key is not None and not 0 < len(key) <= 255):
            await self.app(scope, replay, send)
            return
        try:
            order = PlaceOrderRequest.model_validate(json.loads(body, parse_float=Decimal))
        except (ValueError, RecursionError, ValidationError):  # JSON or model: FastAPI words the 422
            await self.app(scope, replay, send)
            return
        desk = _desk(scope)
        try:
            accepted, location = await place(desk, order, None if key is None else key.decode("latin-1"))
        except IdempotencyKeyReused as error:
            await _answer(send, 409, {"detail": str(error)})
        else:
            await _answer(send, 202, accepted, [(b"location", location.encode())])
        self._label(scope, "POST", "")

    async def _get(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            order_id = UUID(scope["path"][len(_PREFIX) :])
            query = dict(parse_qsl(scope["query_string"].decode("latin-1"), strict_parsing=True))
            wait = float(query.pop("wait", "0"))
        except ValueError:
            query, wait = {"invalid": ""}, 0.0
        if query or not 0 <= wait <= MAX_WAIT_SECONDS or str(order_id) != scope["path"][len(_PREFIX) :]:
            await self.app(scope, receive, send)
            return
        found = await current(_desk(scope), order_id, wait)
        if found is None:  # FastAPI words the 404 (and reads once more: a rare case)
            await self.app(scope, receive, send)
            return
        scope["path_params"] = {"order_id": order_id}
        await _answer(send, 200, found)
        self._label(scope, "GET", "/{order_id}")

    def _label(self, scope: Scope, method: str, suffix: str) -> None:
        """The route FastAPI would have matched, for the metrics' and access log's route label."""
        scope["route"] = self._routes.get((method, f"/orders{suffix}"))


def _desk(scope: Scope) -> OrderDesk:
    context: ServiceContext = scope["app"].state.context
    return context.resource(OrderDesk)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The request body, or as much as MAX_BODY_BYTES allows (then False: the route answers 413)."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return body, False
        body += message.get("body", b"")
        if len(body) > MAX_BODY_BYTES:
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
