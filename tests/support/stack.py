"""The whole saga in this test process: the three services, each with its own database, on one Kafka namespace.

The `orderflow up` harness for tests that need to start and stop services at will and read them in-process;
`tests/support/processes.py` runs them as real processes instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from eventkit.consumer import ConsumerOptions
from eventkit.host.settings import ServiceSettings
from eventkit.settings import KafkaSettings
from eventkit.topology import SERVICES
from services.inventory import app as inventory
from services.orders import app as orders
from services.orders.settings import OrdersSettings
from services.payments import app as payments
from services.payments.settings import PaymentsSettings
from tests.support.databases import migrate
from tests.support.services import until_ready

TERMINAL = {"CONFIRMED", "CANCELLED"}
FAST_RETRIES = ConsumerOptions(batch_size=200, retry_levels=3, retry_backoff_seconds=0.2)


DatabaseUrl = Callable[[str], str]


def sqlite_urls(data_dir: Path) -> DatabaseUrl:
    return lambda service: f"sqlite+aiosqlite:///{data_dir / service}.db"


@dataclass
class LocalStack:
    kafka: KafkaSettings
    url: DatabaseUrl
    payments_failure_rate: float = 0.0
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    _running: dict[str, contextlib.AsyncExitStack] = field(default_factory=dict)

    async def migrate(self) -> None:
        for name in SERVICES:
            await migrate(name, self.url(name))

    def build(self, service: str) -> FastAPI:
        common: dict[str, Any] = {"database_url": self.url(service), "consumer": FAST_RETRIES}
        if service == "orders":
            return orders.create_app(OrdersSettings(**common, pending_timeout_seconds=60), kafka=self.kafka)
        if service == "inventory":
            return inventory.create_app(ServiceSettings(**common), kafka=self.kafka)
        settings = PaymentsSettings(**common, transient_failure_rate=self.payments_failure_rate)
        return payments.create_app(settings, kafka=self.kafka)

    async def start(self, service: str) -> None:
        app = self.build(service)
        stack = contextlib.AsyncExitStack()
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{service}")
        await stack.enter_async_context(client)
        self._running[service] = stack
        self.clients[service] = client
        await until_ready(client)

    async def stop(self, service: str) -> None:
        await self._running.pop(service).aclose()
        del self.clients[service]

    async def set_stock(self, sku: str, available: int) -> None:
        response = await self.clients["inventory"].put(f"/stock/{sku}", json={"available": available})
        assert response.status_code == 200, response.text

    async def stock(self, sku: str) -> dict[str, Any]:
        response = await self.clients["inventory"].get(f"/stock/{sku}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def place(self, customer: str, *lines: tuple[str, int, str], currency: str = "EUR") -> str:
        items = [{"sku": sku, "quantity": quantity, "unit_price": price} for sku, quantity, price in lines]
        body = {"customer_id": customer, "items": items, "currency": currency}
        response = await self.clients["orders"].post("/orders", json=body)
        assert response.status_code == 202, response.text
        order_id: str = response.json()["order_id"]
        return order_id

    async def outcome(self, order_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            response = await self.clients["orders"].get(f"/orders/{order_id}", params={"wait": 5})
            assert response.status_code == 200, response.text
            order: dict[str, Any] = response.json()
            if order["status"] in TERMINAL:
                return order
            assert time.monotonic() < deadline, f"order {order_id} still {order['status']}"

    async def net_charged(self, customer: str) -> Decimal:
        response = await self.clients["payments"].get(f"/customers/{customer}/charges")
        assert response.status_code == 200, response.text
        return sum((Decimal(str(v)) for v in response.json()["net_charged"].values()), Decimal(0))


@contextlib.asynccontextmanager
async def running_stack(kafka: KafkaSettings, url: DatabaseUrl, **options: Any) -> AsyncIterator[LocalStack]:
    stack = LocalStack(kafka, url, **options)
    await stack.migrate()
    try:
        for service in ("inventory", "payments", "orders"):
            await stack.start(service)
        yield stack
    finally:
        for service in list(stack.clients):
            await stack.stop(service)
