"""The payments inspection API in the real app (lifespan, real database), without broker, consumer or relay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from eventkit.envelope import new_event
from eventkit.events import CancelReason, OrderCancelled, OrderLine, OrderPlaced
from eventkit.host.context import ServiceContext
from services.payments.app import create_app
from services.payments.handlers import capture_payment, refund_payment
from services.payments.provider import SimulatedProvider
from services.payments.settings import PaymentsSettings
from tests.support.publisher import NoBroker


@pytest.fixture
def provider() -> SimulatedProvider:
    return SimulatedProvider()


@pytest.fixture
async def app(migrated_url: str, provider: SimulatedProvider) -> AsyncIterator[FastAPI]:
    settings = PaymentsSettings(database_url=migrated_url, relay_enabled=False, consumer_enabled=False)
    app = create_app(settings, publisher=NoBroker(), provider=provider)
    # ASGITransport does not run the lifespan, which opens the database.
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://payments") as client:
        yield client


async def place(
    app: FastAPI, provider: SimulatedProvider, customer: str, total: str, currency: str = "EUR"
) -> OrderPlaced:
    line = OrderLine(sku="SKU-1", quantity=1, unit_price=Decimal(total))
    data = OrderPlaced(order_id=uuid4(), customer_id=customer, items=[line], currency=currency, total=Decimal(total))
    context: ServiceContext = app.state.context
    async with context.unit_of_work() as uow:
        await capture_payment(uow, new_event(data, source="/tests"), provider=provider)
    return data


async def cancel(app: FastAPI, provider: SimulatedProvider, placed: OrderPlaced) -> None:
    data = OrderCancelled(order_id=placed.order_id, reason=CancelReason.TIMEOUT)
    context: ServiceContext = app.state.context
    async with context.unit_of_work() as uow:
        await refund_payment(uow, new_event(data, source="/tests"), provider=provider)


async def test_a_captured_payment_can_be_inspected(
    app: FastAPI, provider: SimulatedProvider, client: httpx.AsyncClient
) -> None:
    placed = await place(app, provider, "c-api", "19.99")

    response = await client.get(f"/payments/{placed.order_id}")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "captured"
    assert body["payment_id"].startswith("pay_")
    assert (body["customer_id"], Decimal(body["amount"]), body["currency"]) == ("c-api", Decimal("19.99"), "EUR")


async def test_a_customers_net_charge_leaves_out_refunds(
    app: FastAPI, provider: SimulatedProvider, client: httpx.AsyncClient
) -> None:
    await place(app, provider, "c-api", "19.99")
    await cancel(app, provider, await place(app, provider, "c-api", "5.00"))
    await place(app, provider, "c-api", "3.00", currency="USD")

    response = await client.get("/customers/c-api/charges")

    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == "c-api"
    assert {currency: Decimal(amount) for currency, amount in body["net_charged"].items()} == {
        "EUR": Decimal("19.99"),
        "USD": Decimal("3.00"),
    }


async def test_a_customer_never_charged_has_no_net_charge(client: httpx.AsyncClient) -> None:
    response = await client.get("/customers/nobody/charges")

    assert response.json() == {"customer_id": "nobody", "net_charged": {}}


async def test_an_order_payments_has_not_seen_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/payments/{uuid4()}")).status_code == 404


async def test_an_order_id_that_is_not_a_uuid_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/payments/not-a-uuid")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "order_id"]


@pytest.mark.parametrize("provider", [SimulatedProvider(default_limit=Decimal(10) ** 20)])
async def test_amounts_keep_every_digit_on_sqlite_and_postgresql(
    app: FastAPI, provider: SimulatedProvider, client: httpx.AsyncClient
) -> None:
    # Through SQLite's NUMERIC (a binary float) this came back as 123456789012345.6719.
    exact = "123456789012345.6789"
    placed = await place(app, provider, "c-rich", exact)
    await place(app, provider, "c-rich", "0.0001")

    payment = (await client.get(f"/payments/{placed.order_id}")).json()
    charges = (await client.get("/customers/c-rich/charges")).json()

    assert Decimal(payment["amount"]) == Decimal(exact)
    assert Decimal(charges["net_charged"]["EUR"]) == Decimal("123456789012345.6790")
