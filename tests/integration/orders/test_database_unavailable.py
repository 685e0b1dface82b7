"""While PostgreSQL restarts, the orders API answers 503 with `Retry-After` on the hot path and FastAPI's alike,
writes nothing, and serves again once the server is back, every order kept."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from devstack.postgres import LocalPostgres
from eventkit.host.http import RETRY_AFTER_SECONDS
from services.orders.app import create_app
from services.orders.settings import OrdersSettings
from tests.integration.orders.test_api import BODY
from tests.support.databases import migrate
from tests.support.postgres import local_server
from tests.support.publisher import NoBroker


@pytest.fixture
def server() -> Iterator[LocalPostgres]:
    """A server of this test's own: the session's is shared and must not go down."""
    with local_server() as server:
        yield server


async def test_while_postgresql_restarts_the_api_answers_503_and_keeps_every_order(server: LocalPostgres) -> None:
    url = await migrate("orders", await asyncio.to_thread(server.url, "orders"))
    settings = OrdersSettings(database_url=url, relay_enabled=False, consumer_enabled=False)
    app = create_app(settings, publisher=NoBroker())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders") as client,
    ):
        first = await client.post("/orders", json=BODY)
        assert first.status_code == 202, first.text
        order_id = first.json()["order_id"]

        await asyncio.to_thread(server.pause)
        during = [
            await client.post("/orders", json=BODY),  # the hot path
            await client.get(f"/orders/{order_id}"),  # the hot path
            await client.get("/orders"),  # FastAPI's route
        ]
        for response in during:
            assert response.status_code == 503, (response.request.url, response.text)
            assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
            assert "the database cannot be reached" in response.json()["detail"]

        await asyncio.to_thread(server.resume)
        second = await client.post("/orders", json=BODY)
        assert second.status_code == 202, second.text
        listed = await client.get("/orders")  # the server is this test's alone
    assert listed.status_code == 200, listed.text
    found = sorted(order["order_id"] for order in listed.json()["items"])
    assert found == sorted([order_id, second.json()["order_id"]]), "both orders kept, none written while down"
