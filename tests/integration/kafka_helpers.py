"""Reading records back from a real topic, for assertions."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

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
