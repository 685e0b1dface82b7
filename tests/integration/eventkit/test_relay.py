"""The outbox relay on a real broker: id order per key, rows purged, and one leader per database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import MetaData, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from devstack.postgres import LocalPostgres
from eventkit.database import make_engine, make_sessions
from eventkit.envelope import new_event
from eventkit.events import OrderConfirmed
from eventkit.messaging import UnitOfWork, messaging_tables
from eventkit.producer import EventProducer
from eventkit.relay import OutboxRelay
from eventkit.topology import ORDERS
from tests.support.kafka import KafkaCluster, read_all

pytestmark = pytest.mark.kafka

metadata = MetaData()
tables = messaging_tables(metadata)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}"
    else:
        server: LocalPostgres = request.getfixturevalue("postgres")
        url = server.url(f"relay_{uuid.uuid4().hex[:8]}")
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def stage(engine: AsyncEngine, orders: list[uuid.UUID], per_order: int) -> None:
    """One transaction per event, interleaving orders, as many requests and consumers would."""
    sessions = make_sessions(engine)
    for _ in range(per_order):
        for order_id in orders:
            async with sessions.begin() as session:
                uow = UnitOfWork(session, tables, ORDERS)
                uow.publish(new_event(OrderConfirmed(order_id=order_id), source="/tests"))
                await uow.flush()


async def backlog(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(tables.outbox)) or 0)


async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (polls a plain attribute of the relay)
            await asyncio.sleep(0.05)


async def test_one_relay_leads_publishes_in_order_and_a_standby_takes_over(
    kafka: KafkaCluster, engine: AsyncEngine
) -> None:
    settings = await kafka.isolated(partitions=3)
    producer = EventProducer(settings, client_id="relay-test")
    await producer.start()
    first = OutboxRelay(engine, tables.outbox, producer, name="orders", topic=settings.topic, batch_size=7)
    second = OutboxRelay(engine, tables.outbox, producer, name="orders", topic=settings.topic, batch_size=7)
    tasks = [asyncio.create_task(first.run()), asyncio.create_task(second.run())]
    orders = [uuid.uuid4() for _ in range(4)]
    try:
        await until(lambda: first.leader or second.leader)
        standby = second if first.leader else first
        # The standby asked for the lock again after the leader took it, and was refused.
        await until(lambda: standby.lock_attempts >= 2)
        assert [first.leader, second.leader].count(True) == 1, "exactly one relay leads"
        await stage(engine, orders, per_order=10)
        records = await read_all(settings, settings.topic("orders"), expected=40)
        assert await backlog(engine) == 0, "published rows are purged"

        leader, standby = (first, second) if first.leader else (second, first)
        assert not standby.leader
        await leader.stop()
        await until(lambda: standby.leader, timeout=10)
        # A stopped relay gives up leadership on SQLite (file lock) as on PostgreSQL (advisory lock).
        await until(lambda: not leader.leader)
        await stage(engine, orders, per_order=5)
        records = await read_all(settings, settings.topic("orders"), expected=60)
    finally:
        for relay in (first, second):
            await relay.stop()
        await asyncio.gather(*tasks)
        await producer.stop()

    assert len(records) == 60
    per_key: dict[bytes, list[str]] = {}
    for record in records:
        per_key.setdefault(record.key or b"", []).append(dict(record.headers)["ce_time"].decode())
    assert set(per_key) == {str(order_id).encode() for order_id in orders}
    assert all(times == sorted(times) for times in per_key.values()), "one order's events keep their order"
