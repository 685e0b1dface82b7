"""`orderflow-service topics` against a real broker: what the chart's init container and compose's `topics` run."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from typer.testing import CliRunner

from eventkit.host.main import app
from eventkit.settings import KafkaSettings
from eventkit.topics import create_topics, partitions_of, topic_plan
from tests.support.kafka import KafkaCluster

pytestmark = pytest.mark.kafka


def _env(kafka: KafkaCluster, namespace: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "ORDERFLOW_KAFKA_NAMESPACE": namespace,
        "ORDERFLOW_CONSUMER_RETRY_LEVELS": "2",
    }


async def _topics(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, app, ["topics", *args], env=env)
    return result.exit_code, result.output


async def test_creates_every_topic_of_the_topology_and_is_idempotent(kafka: KafkaCluster) -> None:
    namespace = f"t{uuid.uuid4().hex[:10]}."
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap_servers, namespace=namespace)
    plan = topic_plan(settings, 4, 2)

    code, output = await _topics(["--partitions", "4", "--replication-factor", "1"], _env(kafka, namespace))
    assert code == 0, output
    for topic in plan:
        assert await partitions_of(settings, topic) == [0, 1, 2, 3], topic
    assert f"{namespace}orders.retry.2 (4)" in output
    assert f"{namespace}orders.dlq (4)" in output

    again, output = await _topics(["--partitions", "4", "--replication-factor", "1"], _env(kafka, namespace))
    assert again == 0, output


async def test_refuses_existing_topics_with_fewer_partitions_and_creates_nothing(kafka: KafkaCluster) -> None:
    namespace = f"t{uuid.uuid4().hex[:10]}."
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap_servers, namespace=namespace)
    await create_topics(settings, {settings.topic("orders"): 2})

    code, output = await _topics(["--partitions", "6", "--replication-factor", "1"], _env(kafka, namespace))

    assert code == 1
    assert f"fewer than 6 partitions: {namespace}orders (2)" in output
    assert await partitions_of(settings, settings.topic("inventory")) == []


async def test_names_an_unreachable_broker() -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "ORDERFLOW_KAFKA_NAMESPACE": ""}
    code, output = await _topics(["--partitions", "1", "--timeout", "2"], env)
    assert code == 1
    assert output.startswith("error: ")
