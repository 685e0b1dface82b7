"""A publisher for API tests that run without a broker: the relay and consumer are off, so nothing is sent."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.structs import RecordMetadata

from eventkit.envelope import KafkaRecord


class NoBroker:
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send_all(self, items: Iterable[tuple[str, KafkaRecord]]) -> list[RecordMetadata]:
        raise AssertionError("this test runs without a broker; turn the relay and the consumer off")
