"""Shared fixtures: one real Apache Kafka broker per test run (or the cluster in KAFKA_BOOTSTRAP_SERVERS)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NoReturn

import pytest

from eventkit.settings import KafkaSettings
from eventkit.topics import create_topics, topic_plan
from orderflow.cache import ToolMissing
from orderflow.devkafka.broker import BrokerError, LocalBroker
from orderflow.settings import external_bootstrap_servers

# The session-scoped PostgreSQL server (`postgres` fixture) is shared by every test folder.
pytest_plugins = ["tests.postgres_fixtures"]


def infrastructure_unavailable(reason: str) -> NoReturn:
    """Under CI=true missing infrastructure is a failure; on a laptop it is a visible skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"infrastructure unavailable under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class KafkaCluster:
    bootstrap_servers: str
    settings: KafkaSettings = field(init=False)

    def __post_init__(self) -> None:
        self.settings = KafkaSettings(bootstrap_servers=self.bootstrap_servers)

    async def isolated(self, partitions: int = 3, retry_levels: int = 3, **overrides: object) -> KafkaSettings:
        """Settings with a namespace of their own and every catalog topic created in it."""
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


def start_local_broker(tmp_path_factory: pytest.TempPathFactory) -> LocalBroker:
    broker = LocalBroker(tmp_path_factory.mktemp("kafka"), port=0)
    try:
        broker.start()
    except (ToolMissing, BrokerError, RuntimeError) as error:
        broker.stop()
        infrastructure_unavailable(f"could not start a local Kafka broker: {error}")
    return broker


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    external = external_bootstrap_servers()
    if external:
        yield KafkaCluster(external)
        return
    broker = start_local_broker(tmp_path_factory)
    state = broker.running()
    assert state is not None
    try:
        yield KafkaCluster(state.bootstrap_servers)
    finally:
        broker.stop()
