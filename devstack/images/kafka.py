"""The project's Kafka image (k8s/kafka/Dockerfile) on the local Debian base, from the jars already resolved.

It is compose.yaml's KAFKA_IMAGE and the broker image the Strimzi stand-in runs on the local cluster. Built with
JARS=context: the broker's and kafka-tools' jars that `orderflow up` fetched from Maven Central, in a libs/
folder of a copy of its context (Docker 20.10's BuildKit has no named build contexts).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from devstack.images.base import ensure_base_images
from devstack.images.engine import Engine
from devstack.kafka.artifacts import KAFKA_VERSION, ensure_kafka_jars, ensure_kafka_tools_jars

REPO = Path(__file__).resolve().parents[2]
KAFKA_IMAGE = f"orderflow.local/kafka:{KAFKA_VERSION}"

Log = Callable[[str], None]


def artifact(jar: str) -> str:
    """`jackson-core-2.21.2.jar` -> `jackson-core`: the name without its version."""
    return re.sub(r"-\d[\w.-]*\.jar$", "", jar)


def kafka_libs(broker: Path, tools: Path, into: Path) -> list[str]:
    """The broker's jars, then the tools' that the broker lacks (not their silent slf4j backend); the names."""
    into.mkdir(parents=True, exist_ok=True)
    chosen = {jar.name: jar for jar in broker.glob("*.jar")}
    present = {artifact(name) for name in chosen}
    for jar in sorted(tools.glob("*.jar")):
        if artifact(jar.name) not in present and artifact(jar.name) != "slf4j-nop":
            chosen[jar.name] = jar
    for name, jar in chosen.items():
        shutil.copy2(jar, into / name)
    return sorted(chosen)


def ensure_kafka_image(engine: Engine, logs: Path, log: Log = print) -> str:
    """KAFKA_IMAGE in the engine (BuildKit's cache makes an unchanged rebuild quick); its reference."""
    python = ensure_base_images(engine, log)
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp) / "kafka"
        shutil.copytree(REPO / "k8s" / "kafka", context)
        kafka_libs(ensure_kafka_jars(), ensure_kafka_tools_jars(), context / "libs")
        argv = ["buildx", "build", "--load", "--progress=plain", "--build-arg=JARS=context"]
        argv += [f"--build-arg=BASE_IMAGE={python}", f"--build-arg=KAFKA_VERSION={KAFKA_VERSION}"]
        engine.docker(*argv, "-t", KAFKA_IMAGE, str(context), log=logs / "build-kafka.log")
    log(f"built {KAFKA_IMAGE}")
    return KAFKA_IMAGE
