"""Topic administration: create the topics a service, a test or a local stack needs, idempotently."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from eventkit.settings import KafkaSettings
from eventkit.topology import all_topics


async def create_topics(
    settings: KafkaSettings,
    partitions_by_topic: Mapping[str, int],
    *,
    replication_factor: int = 1,
    timeout: float = 30.0,
) -> None:
    """Create each missing topic and wait until every partition has a leader; existing topics are kept."""
    admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=int(timeout * 1000))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=count, replication_factor=replication_factor)
            for name, count in partitions_by_topic.items()
            if name not in existing
        ]
        # Another process may create a topic first; that is the outcome we wanted.
        with contextlib.suppress(TopicAlreadyExistsError):
            if missing:
                await admin.create_topics(missing)
        await _wait_for_leaders(admin, partitions_by_topic, timeout)
    finally:
        await admin.close()


async def _wait_for_leaders(admin: AIOKafkaAdminClient, wanted: Mapping[str, int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        described = await admin.describe_topics(list(wanted))
        ready = {
            topic["topic"]
            for topic in described
            if topic["error_code"] == 0
            and len(topic["partitions"]) >= wanted[topic["topic"]]
            and all(p["leader"] >= 0 for p in topic["partitions"])
        }
        if ready >= set(wanted):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics without leaders after {timeout:.0f}s: {sorted(set(wanted) - ready)}")
        await asyncio.sleep(0.1)


class TooFewPartitions(RuntimeError):
    """An existing topic has fewer partitions than asked for: consumers beyond that count would sit idle."""


async def provision(
    settings: KafkaSettings, *, partitions: int, replication_factor: int, retry_levels: int, timeout: float
) -> dict[str, int]:
    """Every topic of the topology (`topic_plan`), created when missing; the plan.

    Raises TooFewPartitions naming each existing topic with fewer than `partitions` partitions, before creating
    anything: Kafka can add partitions but never remove them, so that choice is left to an operator.
    """
    plan = topic_plan(settings, partitions, retry_levels)
    admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=int(timeout * 1000))
    await admin.start()
    try:
        described = await admin.describe_topics(list(plan))
    finally:
        await admin.close()
    short = {
        topic["topic"]: len(topic["partitions"])
        for topic in described
        if topic["error_code"] == 0 and len(topic["partitions"]) < partitions
    }
    if short:
        found = ", ".join(f"{name} ({count})" for name, count in sorted(short.items()))
        raise TooFewPartitions(f"topics with fewer than {partitions} partitions: {found}")
    await create_topics(settings, plan, replication_factor=replication_factor, timeout=timeout)
    return plan


def topic_plan(settings: KafkaSettings, partitions: int, retry_levels: int) -> dict[str, int]:
    """Every topic of the topology, with its retry and dead-letter topics, and its partition count."""
    return {settings.topic(name): partitions for name in all_topics(retry_levels)}


async def partitions_of(settings: KafkaSettings, topic: str) -> list[int]:
    """The partition ids of `topic`; empty when the topic does not exist."""
    admin = AIOKafkaAdminClient(**settings.client_options())
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] != 0:
        return []
    return sorted(partition["partition"] for partition in described["partitions"])
