"""Kafka test helpers: read records back from a real topic, and run a toy consumer over SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.consumer import EventConsumer
from eventkit.database import make_engine, make_sessions
from eventkit.producer import EventProducer
from eventkit.settings import KafkaSettings


async def read_all(
    settings: KafkaSettings, topic: str, expected: int, timeout: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topic` from the beginning, stopping once `expected` arrived and nothing more comes."""
    consumer = AIOKafkaConsumer(
        topic, **settings.client_options(), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
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
