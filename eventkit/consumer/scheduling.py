"""Retry scheduling: a record on `<topic>.retry.<n>` waits until its backoff has passed since it was written.

A retry partition whose head record is not yet due is paused and resumed when it is; other partitions keep
flowing, so a retry never holds up fresh records.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from eventkit.consumer.records import Record
from eventkit.retry import Origin, retry_delay


def seconds_until_due(record: Record, origin: Origin, backoff_seconds: float) -> float:
    """How long the record must still wait; 0 or less when it is due. Kafka's timestamp is when it was written."""
    due: float = record.timestamp / 1000 + retry_delay(origin.retry_level, backoff_seconds)
    return due - time.time()


def hold_until_due(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int, wait: float) -> None:
    """Rewind the partition to the record, pause it, and resume it once the record is due."""
    consumer.seek(tp, offset)
    consumer.pause(tp)
    loop = asyncio.get_running_loop()
    loop.call_later(wait, lambda: tp in consumer.assignment() and consumer.resume(tp))
