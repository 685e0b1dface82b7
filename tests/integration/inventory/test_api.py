"""The inventory HTTP API in the real app (lifespan, real database), without broker, consumer or relay."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.events import Reservation
from eventkit.host.settings import ServiceSettings
from eventkit.vocabulary import IDENTIFIER_LENGTH
from services.inventory import repository
from services.inventory.api import MAX_STOCK
from services.inventory.app import create_app
from services.orders.schemas import MAX_QUANTITY
from tests.support.publisher import NoBroker


@pytest.fixture
async def client(migrated_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings(database_url=migrated_url, relay_enabled=False, consumer_enabled=False)
    app = create_app(settings, publisher=NoBroker())
    # ASGITransport does not run the lifespan, which opens the database.
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
            yield client


async def test_stock_that_was_set_can_be_read_back(client: httpx.AsyncClient) -> None:
    put = await client.put("/stock/MUG-RED", json={"available": 12})
    got = await client.get("/stock/MUG-RED")

    assert put.status_code == 200
    assert put.json() == got.json() == {"sku": "MUG-RED", "available": 12, "reserved": 0}


async def test_setting_stock_again_replaces_the_available_units(client: httpx.AsyncClient) -> None:
    await client.put("/stock/MUG-RED", json={"available": 12})
    await client.put("/stock/MUG-RED", json={"available": 3})

    assert (await client.get("/stock/MUG-RED")).json()["available"] == 3


async def test_an_unknown_sku_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/stock/NEVER-STOCKED")

    assert response.status_code == 404
    assert "NEVER-STOCKED" in response.json()["detail"]


@pytest.mark.parametrize(
    "body", [{"available": -1}, {"available": "many"}, {}, {"available": MAX_STOCK + 1}, {"available": 2**63}]
)
async def test_invalid_stock_is_422_naming_the_field(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await client.put("/stock/MUG-RED", json=body)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "available"]


async def test_an_sku_as_long_as_everywhere_fits_and_a_longer_one_is_422(client: httpx.AsyncClient) -> None:
    # The orders API and the event contract accept SKUs of IDENTIFIER_LENGTH: inventory must store them.
    longest = "X" * IDENTIFIER_LENGTH
    assert (await client.put(f"/stock/{longest}", json={"available": 1})).status_code == 200
    assert (await client.get(f"/stock/{longest}")).json()["sku"] == longest

    response = await client.put(f"/stock/{longest}Y", json={"available": 1})

    assert response.status_code == 422


async def test_the_service_is_ready_without_a_consumer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/readyz")).json() == {"status": "ready", "problems": {}}


@pytest.mark.parametrize("method", ["OPTIONS", "DELETE", "PATCH"])
async def test_a_method_the_path_lacks_is_405_listing_every_method_it_has(
    client: httpx.AsyncClient, method: str
) -> None:
    # The methods come from the OpenAPI document: FastAPI's included routers hide their routes' methods.
    response = await client.request(method, "/stock/MUG-RED")

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, PUT"


async def test_the_largest_stock_accepted_is_stored_and_released_stock_still_fits(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # A release adds reserved units back onto what is available, which an operator may have set to the most
    # accepted meanwhile: the column holds that sum (a 32-bit one failed on PostgreSQL above 2**31 - 1).
    assert (await client.put("/stock/MUG-RED", json={"available": MAX_STOCK})).status_code == 200
    async with sessions.begin() as session:
        await repository.give_back(session, [Reservation(sku="MUG-RED", quantity=MAX_QUANTITY)])
    assert (await client.get("/stock/MUG-RED")).json()["available"] == MAX_STOCK + MAX_QUANTITY
