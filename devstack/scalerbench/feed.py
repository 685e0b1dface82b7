"""Writes a trace to every autoscaler's topic at once: the same records, to the same partitions, at the same
moments, so the contenders see one load.

Records go out ten times a second. Through a broker restart the producer holds what it could not send and
delivers it afterwards, as a real producer does; a record that is never delivered fails the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from devstack.scalerbench.schedule import Schedule
from devstack.scalerbench.traces import PARTITIONS, Trace

VALUE = b"x" * 100


async def write_markers(bootstrap: str, topics: Sequence[str], partitions: int = PARTITIONS) -> None:
    """One committed transaction of a few records per partition and topic: each partition then ends with a
    commit marker, an offset no consumer ever reads."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"scaler-bench-{topics[0]}")
    await producer.start()
    try:
        async with producer.transaction():
            for topic in topics:
                for partition in range(partitions):
                    for _ in range(5):
                        await producer.send(topic, VALUE, partition=partition)
    finally:
        await producer.stop()


async def feed(
    bootstrap: str,
    topics: Sequence[str],
    trace: Trace,
    rate: float,
    started: float,
    *,
    preroll: float = 0.0,
    partitions: int = PARTITIONS,
) -> int:
    """Send the trace from monotonic time `started` until it ends, after `preroll` seconds of its initial inflow
    (so a group is not idle, and scaled to zero, while it waits for its phase); the records sent to each topic."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, request_timeout_ms=120_000)
    await producer.start()
    schedule = Schedule(trace, rate, partitions)
    sent = 0
    pending: list[asyncio.Future[object]] = []
    try:
        first = -round(preroll * schedule.ticks_per_second)
        for tick in range(first, trace.seconds * schedule.ticks_per_second):
            await asyncio.sleep(max(0.0, started + tick / schedule.ticks_per_second - time.monotonic()))
            for partition, count in enumerate(schedule.due(tick)):
                for _ in range(count):
                    for topic in topics:
                        pending.append(await producer.send(topic, VALUE, partition=partition))
                sent += count
            pending = [future for future in pending if not future.done() or future.exception() is not None]
        await producer.flush()
        failed = [future.exception() for future in pending if future.done() and future.exception() is not None]
        if failed:
            raise RuntimeError(f"{len(failed)} records of the trace were never delivered: {failed[0]!r}")
    finally:
        await producer.stop()
    return sent
