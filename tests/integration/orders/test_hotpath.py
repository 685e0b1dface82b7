"""The hot path answers what FastAPI's routes answer, byte for byte in meaning, and leaves them every other case.

Two apps on one database: the service as it runs (HotRoutes in front of FastAPI) and the same service without
the hot path. Every request goes to both; status, Location, content type and JSON must be equal (order ids of
new orders aside). A spy inside the hot path sees which requests were handed on to FastAPI.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import Depends
from fastapi.routing import APIRoute
from prometheus_client import REGISTRY
from starlette.types import ASGIApp, Receive, Scope, Send

from eventkit.host import app as host
from services.orders import hotpath
from services.orders.api import post_order, router
from services.orders.app import spec
from services.orders.settings import OrdersSettings
from tests.integration.orders.test_api import BODY
from tests.support.publisher import NoBroker


class Spy:
    """Inner middleware: the requests the hot path handed on."""

    seen: list[tuple[str, str]] = []  # noqa: RUF012 (one list for the module's tests, cleared by the fixture)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            Spy.seen.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


@pytest.fixture
async def clients(migrated_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    settings = OrdersSettings(database_url=migrated_url, relay_enabled=False, consumer_enabled=False)
    served = spec(settings)
    assert served.middleware, "the service runs with its hot path"
    apps = [
        host.create_app(
            dataclasses.replace(served, middleware=[Spy, *served.middleware]), settings, publisher=NoBroker()
        ),
        host.create_app(dataclasses.replace(served, middleware=()), settings, publisher=NoBroker()),
    ]
    Spy.seen.clear()
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        hot, plain = (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders") for app in apps
        )
        async with hot, plain:
            yield hot, plain


def _same(hot: httpx.Response, plain: httpx.Response, *, new_order: bool = False) -> dict[str, Any]:
    assert hot.status_code == plain.status_code, (hot.text, plain.text)
    assert hot.headers.get("content-type") == plain.headers.get("content-type")
    hot_json, plain_json = hot.json(), plain.json()
    if new_order:  # each app placed an order of its own
        assert hot.headers["location"] == f"/orders/{hot_json['order_id']}"
        assert plain.headers["location"] == f"/orders/{plain_json['order_id']}"
        hot_json["order_id"] = plain_json["order_id"]
    else:
        assert hot.headers.get("location") == plain.headers.get("location")
    assert hot_json == plain_json
    return dict(hot_json)


async def test_a_valid_post_and_get_are_served_by_the_hot_path_exactly_as_fastapi_serves_them(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    hot, plain = clients
    placed = _same(await hot.post("/orders", json=BODY), await plain.post("/orders", json=BODY), new_order=True)
    order_id = placed["order_id"]
    for target in (f"/orders/{order_id}", f"/orders/{order_id}?wait=0.05", f"/orders/{order_id}?wait=0"):
        detail = _same(await hot.get(target), await plain.get(target))
        assert detail["status"] == "PENDING"
    key = {"Idempotency-Key": "hot-1"}
    first = await hot.post("/orders", json=BODY, headers=key)
    again = await hot.post("/orders", json=BODY, headers=key)
    assert (first.status_code, again.json()) == (202, first.json())
    charset = {"Content-Type": "application/json; charset=utf-8"}
    assert (await hot.post("/orders", content=json.dumps(BODY), headers=charset)).status_code == 202
    assert Spy.seen == [], "none of these went through FastAPI"


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{not json", {}),
        (json.dumps({**BODY, "currency": "XYZ"}).encode(), {}),
        (json.dumps({**BODY, "total": "1"}).encode(), {}),
        (json.dumps([BODY]).encode(), {}),
        (json.dumps(BODY).encode(), {"Content-Type": "text/plain"}),
        (json.dumps(BODY).encode(), {"Idempotency-Key": ""}),
        (json.dumps(BODY).encode(), {"Idempotency-Key": "k" * 256}),
        (b"[" * 70_000, {}),
    ],
    ids=["json", "currency", "extra-field", "array", "content-type", "empty-key", "long-key", "too-large"],
)
async def test_a_post_fastapi_would_refuse_is_left_to_fastapi(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], content: bytes, headers: dict[str, str]
) -> None:
    sent = {"Content-Type": "application/json", **headers}
    answers = [await client.post("/orders", content=content, headers=sent) for client in clients]
    assert answers[0].status_code in (409, 413, 415, 422), answers[0].text
    _same(*answers)
    assert Spy.seen == [("POST", "/orders")]


async def test_a_reused_key_with_another_body_is_the_same_409(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    other = {**BODY, "customer_id": "someone-else"}
    for client in clients:
        assert (await client.post("/orders", json=BODY, headers={"Idempotency-Key": "k"})).status_code == 202
    _same(*[await client.post("/orders", json=other, headers={"Idempotency-Key": "k"}) for client in clients])


@pytest.mark.parametrize(
    "query", ["?wait=abc", "?wait=31", "?wait=-1", "?wait=nan", "?other=1", "?wait=1&wait=x"], ids=str
)
async def test_a_get_with_a_query_it_does_not_take_is_left_to_fastapi(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], query: str
) -> None:
    hot, plain = clients
    order_id = (await hot.post("/orders", json=BODY)).json()["order_id"]
    Spy.seen.clear()
    target = f"/orders/{order_id}{query}"
    _same(await hot.get(target), await plain.get(target))
    assert Spy.seen == [("GET", f"/orders/{order_id}")]


async def test_an_unknown_or_differently_spelt_order_is_left_to_fastapi(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    hot, plain = clients
    order_id = (await hot.post("/orders", json=BODY)).json()["order_id"]
    for target in (f"/orders/{UUID(int=7)}", f"/orders/{order_id.upper()}", f"/orders/{UUID(order_id).hex}"):
        _same(await hot.get(target), await plain.get(target))
    assert len(Spy.seen) == 3


async def test_the_hot_path_is_counted_under_the_route_fastapi_would_have_matched(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    hot, _ = clients

    def answered(method: str, route: str, status: str) -> float:
        labels = {"service": "orders", "method": method, "route": route, "status": status}
        return REGISTRY.get_sample_value("orderflow_http_requests_total", labels) or 0.0

    posts, gets = answered("POST", "/orders", "202"), answered("GET", "/orders/{order_id}", "200")
    order_id = (await hot.post("/orders", json=BODY)).json()["order_id"]
    assert (await hot.get(f"/orders/{order_id}")).status_code == 200
    assert Spy.seen == []
    assert (answered("POST", "/orders", "202"), answered("GET", "/orders/{order_id}", "200")) == (posts + 1, gets + 1)


async def _inner(scope: Scope, receive: Receive, send: Send) -> None:
    """The app the hot path would sit in front of (never called here)."""


async def _extended(body: Any, desk: Any, response: Any, idempotency_key: Any = None, coupon: Any = None) -> None:
    """POST /orders as it might grow: a parameter the hot path does not supply."""


def test_a_route_that_declares_what_the_hot_path_does_not_supply_stops_it_at_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    route = next(route for route in router.routes if isinstance(route, APIRoute) and route.endpoint is post_order)
    hotpath.HotRoutes(_inner)  # as declared today
    with monkeypatch.context() as patched:
        patched.setattr(route, "dependencies", [Depends(lambda: None)])
        with pytest.raises(TypeError, match="dependencies"):
            hotpath.HotRoutes(_inner)
    with monkeypatch.context() as patched:
        patched.setattr(route, "endpoint", _extended)
        patched.setattr(hotpath, "post_order", _extended)
        with pytest.raises(TypeError, match="coupon"):
            hotpath.HotRoutes(_inner)
