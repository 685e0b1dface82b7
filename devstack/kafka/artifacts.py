"""Fetches the official Apache Kafka jars (the broker; kafka-tools for the bench) with Maven, once."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from devstack.cache import cache_dir
from devstack.maven import copy_dependencies, require_tool

# The same Kafka version the chart asks Strimzi 1.2 for (its default, 4.3.1).
KAFKA_VERSION = "4.3.1"


def external_bootstrap_servers() -> str | None:
    """KAFKA_BOOTSTRAP_SERVERS, when set, replaces the local broker everywhere."""
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None


def require_java() -> str:
    return require_tool(
        "java",
        "to run the local Apache Kafka broker",
        "install a Java 17+ runtime, e.g. `sudo apt-get install -y openjdk-17-jre-headless`, "
        "or point KAFKA_BOOTSTRAP_SERVERS at an existing cluster",
    )


def kafka_home(version: str = KAFKA_VERSION) -> Path:
    return cache_dir("kafka", version)


def ensure_kafka_jars(version: str = KAFKA_VERSION) -> Path:
    """The folder of broker jars, resolving them with `mvn` on first use."""
    return _resolved("pom.xml", kafka_home(version), f"the Apache Kafka {version} jars", version)


def ensure_kafka_tools_jars(version: str = KAFKA_VERSION) -> Path:
    """The folder of the `kafka-tools` jars (ProducerPerformance and friends), resolved like the broker's."""
    what = f"Apache Kafka's kafka-tools {version} (for `orderflow bench`)"
    return _resolved("tools-pom.xml", cache_dir("kafka-tools", version), what, version)


def _resolved(pom_name: str, home: Path, what: str, version: str) -> Path:
    pom = resources.files("devstack.kafka").joinpath(pom_name).read_bytes()
    fix = "install Maven, e.g. `sudo apt-get install -y maven`, or point KAFKA_BOOTSTRAP_SERVERS at an existing cluster"
    return copy_dependencies(pom, home, what, {"kafka.version": version}, fix)
