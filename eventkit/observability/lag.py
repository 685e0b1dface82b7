"""The consumer's lag gauge: lag per assigned partition, computed by `eventkit.lag` like `orderflow lag` does.

Each consumer reports the partitions assigned to it, so a group's lag is the sum over its members; a
partition without a committed offset lags by everything still retained in it (the consumer reads from the
earliest offset).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from eventkit.lag import PartitionOffsets, partition_lag
from eventkit.observability.metrics import CONSUMER_LAG

log = logging.getLogger(__name__)


async def report_lag(
    consumer: AIOKafkaConsumer, group: str, interval: float, measured: Callable[[int], None] | None = None
) -> None:
    """Refresh the lag of `consumer`'s assignment every `interval` seconds, until cancelled.

    `measured` receives each total, so the consumer's liveness can tell "idle" from "stuck".
    """
    gauge = LagGauge(group)
    try:
        while True:
            try:
                lag = await assigned_lag(consumer, consumer.assignment())
                gauge.show(lag)
                if measured is not None:
                    measured(sum(lag.values()))
            except KafkaError as error:  # a rebalance or a broker blip: the next round will do
                log.debug("consumer %s: lag not measured: %r", group, error)
            await asyncio.sleep(interval)
    finally:
        gauge.clear()


async def assigned_lag(consumer: AIOKafkaConsumer, partitions: set[TopicPartition]) -> dict[TopicPartition, int]:
    """The group's lag on `partitions`, from the offsets this consumer sees; it reads from `earliest`."""
    if not partitions:
        return {}
    ordered = sorted(partitions)
    ends: dict[TopicPartition, int] = await consumer.end_offsets(ordered)
    starts: dict[TopicPartition, int] = await consumer.beginning_offsets(ordered)
    committed = await asyncio.gather(*(consumer.committed(tp) for tp in ordered))
    return {
        tp: partition_lag(PartitionOffsets(tp.topic, tp.partition, starts[tp], ends[tp], commit), "earliest").lag
        for tp, commit in zip(ordered, committed, strict=True)
    }


class LagGauge:
    """The lag gauge of one group's member: partitions it no longer owns disappear instead of going stale."""

    def __init__(self, group: str) -> None:
        self._group = group
        self._shown: set[tuple[str, str]] = set()

    def show(self, lag: dict[TopicPartition, int]) -> None:
        current = {(tp.topic, str(tp.partition)): value for tp, value in lag.items()}
        for topic, partition in self._shown - current.keys():
            CONSUMER_LAG.remove(self._group, topic, partition)
        for (topic, partition), value in current.items():
            CONSUMER_LAG.labels(self._group, topic, partition).set(value)
        self._shown = set(current)

    def clear(self) -> None:
        self.show({})
