"""The lag gauge on a real broker: it shows what a stuck consumer has not committed, and clears on catch-up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import MetaData

from eventkit.consumer import ConsumerOptions, EventConsumer
from eventkit.envelope import CloudEvent, new_event, to_record
from eventkit.events import OrderLine, OrderPlaced
from eventkit.messaging import UnitOfWork, messaging_tables
from eventkit.producer import EventProducer
from eventkit.settings import KafkaSettings
from tests.support.kafka import KafkaCluster, running, sqlite_and_producer, toy_service

pytestmark = pytest.mark.kafka

metadata = MetaData()
tables = messaging_tables(metadata)


@dataclass
class Stuck:
    """A consumer whose handler waits for `release`: it fetches, but commits nothing."""

    settings: KafkaSettings
    group: str
    producer: EventProducer
    release: asyncio.Event

    async def handle(self, uow: UnitOfWork, event: CloudEvent) -> None:
        await self.release.wait()

    def lag(self) -> float:
        return sum(
            sample.value
            for metric in REGISTRY.collect()
            if metric.name == "orderflow_consumer_lag"
            for sample in metric.samples
            if sample.labels["group"] == self.group
        )


@pytest.fixture
async def stuck(kafka: KafkaCluster, tmp_path: Path) -> AsyncIterator[Stuck]:
    settings = await kafka.isolated(partitions=3, retry_levels=1)
    async with sqlite_and_producer(settings, tmp_path / "lag.db", metadata, "lag-test") as (sessions, producer):
        stuck = Stuck(settings, settings.topic("lagging"), producer, asyncio.Event())
        consumer = EventConsumer(
            settings,
            service=toy_service("lagging", OrderPlaced),
            handlers={OrderPlaced: stuck.handle},
            sessions=sessions,
            tables=tables,
            sender=producer,
            options=ConsumerOptions(retry_levels=1, lag_interval_seconds=0.2),
        )
        async with running(consumer):
            try:
                yield stuck
            finally:
                stuck.release.set()  # a blocked handler would keep the consumer from stopping


async def _until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def test_lag_shows_while_the_consumer_is_stuck_and_returns_to_zero_after_it_catches_up(stuck: Stuck) -> None:
    line = OrderLine(sku="SKU-1", quantity=1, unit_price=Decimal("1.00"))
    events = [
        new_event(
            OrderPlaced(order_id=uuid4(), customer_id="c", items=[line], currency="EUR", total=Decimal(1)), source="/t"
        )
        for _ in range(12)
    ]
    await stuck.producer.send_all((stuck.settings.topic("orders"), to_record(event)) for event in events)

    await _until(lambda: stuck.lag() == 12)

    stuck.release.set()
    await _until(lambda: stuck.lag() == 0)
