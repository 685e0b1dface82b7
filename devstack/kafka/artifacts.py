"""Fetches the official Apache Kafka jars (the broker; kafka-tools for the bench) with Maven, once."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from devstack.cache import ToolMissing, cache_dir

# The same Kafka version the chart asks Strimzi 1.2 for (its default, 4.3.1).
KAFKA_VERSION = "4.3.1"

_COMPLETE = ".complete"


def external_bootstrap_servers() -> str | None:
    """KAFKA_BOOTSTRAP_SERVERS, when set, replaces the local broker everywhere."""
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None


def require_tool(name: str, purpose: str, fix: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(f"`{name}` was not found on PATH; it is needed {purpose}. Fix: {fix}")
    return path


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
    """`home/libs`, filled by `mvn dependency:copy-dependencies` from the packaged `pom_name` on first use.

    Jars land in a temporary folder that is renamed into place, so an interrupted download never leaves a
    half-filled cache that later runs would trust.
    """
    libs = home / "libs"
    if (home / _COMPLETE).exists():
        return libs
    mvn = require_tool(
        "mvn",
        f"once, to download {what} into {home}",
        "install Maven, e.g. `sudo apt-get install -y maven`, or point KAFKA_BOOTSTRAP_SERVERS at an existing cluster",
    )
    home.mkdir(parents=True, exist_ok=True)
    pom = home / "pom.xml"
    pom.write_bytes(resources.files("devstack.kafka").joinpath(pom_name).read_bytes())
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=home))
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-Dkafka.version={version}",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"mvn could not resolve {what}:\n{tail}")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    (home / _COMPLETE).write_text(version + "\n")
    return libs
