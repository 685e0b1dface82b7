"""A real Apache Kafka broker for the tests, and helpers to read what services wrote to it."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.cache import ToolMissing
from devstack.kafka.broker import BrokerError, LocalBroker
from eventkit.consumer import EventConsumer
from eventkit.database import make_engine, make_sessions
from eventkit.envelope import from_record
from eventkit.events import EventData
from eventkit.producer import EventProducer
from eventkit.settings import KafkaSettings
from eventkit.topics import create_topics, topic_plan
from eventkit.topology import ServiceTopology
from tests.support.infrastructure import unavailable

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


@dataclass
class KafkaCluster:
    bootstrap_servers: str
    settings: KafkaSettings = field(init=False)

    def __post_init__(self) -> None:
        self.settings = KafkaSettings(bootstrap_servers=self.bootstrap_servers)

    async def isolated(self, partitions: int = 3, retry_levels: int = 3, **overrides: object) -> KafkaSettings:
        """Settings with a namespace of their own and every topic of the topology created in it."""
        settings = KafkaSettings(
            bootstrap_servers=self.bootstrap_servers,
            namespace=f"t{uuid.uuid4().hex[:10]}.",
            **overrides,  # type: ignore[arg-type]
        )
        await create_topics(settings, topic_plan(settings, partitions, retry_levels))
        return settings

    async def create_topic(self, partitions: int = 1, prefix: str = "test") -> str:
        """A new topic with a unique name, so tests never see each other's records."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        await create_topics(self.settings, {name: partitions})
        return name


def start_local_broker(data_dir: Path) -> LocalBroker:
    broker = LocalBroker(data_dir, port=0)
    try:
        broker.start()
    except (ToolMissing, BrokerError, RuntimeError) as error:
        broker.stop()
        unavailable("a local Kafka broker", error)
    return broker


async def read_all(settings: KafkaSettings, topic: str, expected: int, timeout: float = 60.0) -> list[Record]:
    """Every record of `topic` from the beginning, stopping once `expected` arrived and nothing more comes."""
    consumer = AIOKafkaConsumer(
        topic, **settings.client_options(), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            fresh = [record for partition in batch.values() for record in partition]
            records.extend(fresh)
            # One more empty poll after reaching the count proves no duplicate trails behind.
            if len(records) >= expected and not fresh:
                break
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return records


async def events_on(settings: KafkaSettings, topic: str, expected: int) -> list[EventData]:
    """The data of the events on a catalog topic (the namespace is added), in the order read."""
    records = await read_all(settings, settings.topic(topic), expected=expected)
    return [from_record(list(record.headers), record.value).data for record in records]


@contextlib.asynccontextmanager
async def sqlite_and_producer(
    settings: KafkaSettings, database: Path, metadata: MetaData, client_id: str
) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], EventProducer]]:
    """A fresh SQLite database with `metadata`'s tables and a started producer, for a toy consumer."""
    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    producer = EventProducer(settings, client_id=client_id)
    await producer.start()
    try:
        yield make_sessions(engine), producer
    finally:
        await producer.stop()
        await engine.dispose()


@contextlib.asynccontextmanager
async def running(consumer: EventConsumer) -> AsyncIterator[EventConsumer]:
    """The consumer's poll loop in a task, stopped (batch finished, offsets committed) on exit."""
    await consumer.start()
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        await consumer.stop()
        await task


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """One real broker per test run (or the cluster in KAFKA_BOOTSTRAP_SERVERS)."""
    from devstack.kafka.artifacts import external_bootstrap_servers

    external = external_bootstrap_servers()
    if external:
        yield KafkaCluster(external)
        return
    broker = start_local_broker(tmp_path_factory.mktemp("kafka"))
    state = broker.running()
    assert state is not None
    try:
        yield KafkaCluster(state.bootstrap_servers)
    finally:
        broker.stop()


def toy_service(name: str, *handles: type[EventData]) -> ServiceTopology:
    """A consumer of catalog events under a group of its own, publishing nothing: for runtime tests."""
    return ServiceTopology(name=name, topic=f"{name}.unused", publishes=(), handles=handles)
