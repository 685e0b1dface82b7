"""Reading a consumer group's offsets from Kafka: commits from the admin API, log start and end from a consumer.

`orderflow lag` and the ConsumerScaler operator read through `OffsetReader` and compute lag with `eventkit.lag`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import KafkaError

from eventkit.lag import PartitionOffsets


class LagReadError(RuntimeError):
    """Kafka did not answer, or answered with an error; the scaler keeps its replicas and backs off."""


class TopicsMissing(LagReadError):
    """Some configured topics do not exist, or the scaler's Kafka user may not describe them."""


class OffsetReader:
    """An admin client (metadata, group commits) and a consumer without a group (log start and end)."""

    def __init__(self, client_options: Mapping[str, Any], request_timeout: float) -> None:
        options = dict(client_options)
        timeout_ms = int(request_timeout * 1000)
        self._admin = AIOKafkaAdminClient(**options, request_timeout_ms=timeout_ms)
        # read_committed: the end offset is the last stable offset, so records of an open transaction,
        # which no consumer can read yet, are not lag.
        self._consumer = AIOKafkaConsumer(
            **options,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            request_timeout_ms=timeout_ms,
        )

    async def start(self) -> None:
        try:
            await self._admin.start()
            await self._consumer.start()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        # A group-less aiokafka consumer starts a background task at start(); stopped before that task first
        # ran, stop() re-raises its cancellation. One turn of the loop lets it start.
        await asyncio.sleep(0)
        await self._consumer.stop()
        await self._admin.close()

    async def members(self, group: str) -> list[frozenset[tuple[str, int]]]:
        """The partitions each member of `group` holds now (empty: no member, or no consumer protocol)."""
        return (await self.describe(group))[1]

    async def describe(self, group: str) -> tuple[str, list[frozenset[tuple[str, int]]]]:
        """The group's state (`Stable` once a rebalance completed, `Empty`, `PreparingRebalance`, ...) and the
        partitions each member holds."""
        [response] = await self._admin.describe_consumer_groups([group])
        assigned: list[frozenset[tuple[str, int]]] = []
        state = "Dead"
        for _error, _group, group_state, protocol_type, _protocol, members in response.groups:
            if protocol_type != "consumer":
                continue
            state = group_state
            for member in members:
                raw = member[4]
                if not raw:
                    assigned.append(frozenset())
                    continue
                decoded = ConsumerProtocolMemberAssignment.decode(raw)
                assigned.append(frozenset((topic, p) for topic, partitions in decoded.assignment for p in partitions))
        return state, assigned

    async def committed_topics(self, group: str) -> list[str]:
        """The topics `group` has committed offsets in: what an empty `topics` means."""
        return sorted({tp.topic for tp in await self._admin.list_consumer_group_offsets(group)})

    async def offsets(self, group: str, topics: Sequence[str]) -> list[PartitionOffsets]:
        # Metadata of every topic the user may describe: naming topics in a metadata request lets a broker
        # with auto.create.topics.enable (Kafka's default) create a misspelled one.
        described = {t["topic"]: t for t in await self._admin.describe_topics(None) if t["error_code"] == 0}
        missing = sorted(set(topics) - set(described))
        if missing:
            raise TopicsMissing(f"topics not found (or not authorized to describe): {', '.join(missing)}")
        partitions = [TopicPartition(t, p["partition"]) for t in topics for p in described[t]["partitions"]]
        if not partitions:
            return []
        committed = await self._admin.list_consumer_group_offsets(group, partitions=partitions)
        starts = await self._consumer.beginning_offsets(partitions)
        ends = await self._consumer.end_offsets(partitions)
        result = []
        for tp in partitions:
            commit = committed.get(tp)
            result.append(
                PartitionOffsets(
                    tp.topic,
                    tp.partition,
                    log_start=starts[tp],
                    log_end=ends[tp],
                    committed=commit.offset if commit is not None and commit.offset >= 0 else None,
                )
            )
        return result


async def read_offsets(
    reader: OffsetReader, group: str, topics: Sequence[str], timeout: float
) -> tuple[list[str], list[PartitionOffsets]]:
    """The topics read (the spec's, or those with commits) and their partitions' offsets.

    No topics and no commits gives no topics: never "all topics" (KEDA #8104).
    """
    try:
        async with asyncio.timeout(timeout):
            chosen = list(topics) or await reader.committed_topics(group)
            return chosen, (await reader.offsets(group, chosen) if chosen else [])
    except TimeoutError as error:
        raise LagReadError(f"Kafka did not answer within {timeout:.0f}s") from error
    except KafkaError as error:
        raise LagReadError(f"Kafka error: {error!r}") from error
