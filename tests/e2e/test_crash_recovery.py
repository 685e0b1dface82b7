"""A service process killed with SIGKILL mid-flow and restarted: every order ends terminal, invariants hold."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest

from eventkit.migrate import upgrade
from orderflow.children import ServiceProcess, stop_all, wait_ready
from orderflow.devkafka.broker import free_port
from orderflow.invariants import violations
from orderflow.serve import Service, migrations_dir
from orderflow.verify import collect
from tests.conftest import KafkaCluster

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600)]

STOCK = 50


def _processes(kafka_env: dict[str, str], tmp_path: Path) -> dict[Service, ServiceProcess]:
    processes = {}
    for service in Service:
        url = f"sqlite+aiosqlite:///{tmp_path / service.value}.db"
        upgrade(migrations_dir(service), url)
        env = {**kafka_env, "ORDERFLOW_DATABASE_URL": url, "ORDERFLOW_CONSUMER__RETRY_BACKOFF_SECONDS": "0.2"}
        processes[service] = ServiceProcess(service.value, free_port(), tmp_path / f"{service.value}.log", env)
    return processes


@pytest.mark.parametrize("victim", [Service.inventory, Service.payments, Service.orders])
async def test_a_service_killed_mid_flow_recovers_with_every_invariant_intact(
    kafka: KafkaCluster, tmp_path: Path, victim: Service
) -> None:
    settings = await kafka.isolated(partitions=3, retry_levels=3)
    env = {"KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers, "ORDERFLOW_KAFKA_NAMESPACE": settings.namespace}
    processes = await asyncio.to_thread(_processes, env, tmp_path)  # Alembic runs its own event loop
    for process in processes.values():
        process.start()
    try:
        await asyncio.to_thread(wait_ready, list(processes.values()), 90)
        orders_url, inventory_url, payments_url = (processes[s].url for s in Service)
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await client.put(f"{inventory_url}/stock/SKU-K", json={"available": STOCK})).status_code == 200
            body = {"items": [{"sku": "SKU-K", "quantity": 1, "unit_price": "2.50"}], "currency": "EUR"}
            placed = []
            for n in range(80):
                if n == 20:
                    processes[victim].process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
                    processes[victim].process.wait()  # type: ignore[union-attr]
                    if victim is Service.orders:
                        processes[victim].start()  # the API must answer; the others restart later
                        await asyncio.to_thread(wait_ready, [processes[victim]], 90)
                if n == 50 and victim is not Service.orders:
                    processes[victim].start()
                    await asyncio.to_thread(wait_ready, [processes[victim]], 90)
                customer = f"decline-{n}" if n % 10 == 0 else f"crash-{n % 7}"
                response = await client.post(f"{orders_url}/orders", json={**body, "customer_id": customer})
                assert response.status_code == 202, response.text
                placed.append(response.json()["order_id"])

            async def all_hold() -> list[str]:
                return violations(*await collect(orders_url, inventory_url, payments_url), {"SKU-K": STOCK})

            problems = await all_hold()
            async with asyncio.timeout(120):
                while problems:
                    await asyncio.sleep(0.5)
                    problems = await all_hold()
            orders, _, stock = await collect(orders_url, inventory_url, payments_url)
    finally:
        await asyncio.to_thread(stop_all, list(processes.values()))

    assert sorted(order.order_id for order in orders) == sorted(placed)
    confirmed = [order for order in orders if order.status == "CONFIRMED"]
    assert len(confirmed) == STOCK, "stock for 50, 72 orders that can pay: exactly 50 confirm"
    assert stock["SKU-K"].available == 0
