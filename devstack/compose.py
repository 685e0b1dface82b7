"""compose.yaml on a local Docker engine without registry access: the drop-in images it names by variable.

- KAFKA_IMAGE: k8s/kafka/Dockerfile on the local Debian base with JARS=context: the broker's and kafka-tools'
  jars that `orderflow up` already fetched from Maven Central, in a libs/ folder of a copy of its context;
- POSTGRES_IMAGE: k8s/postgres (PostgreSQL from Debian's packages), as the local node runs it;
- PYTHON_IMAGE: the local Debian base for the services' Dockerfile (compose builds those itself, `--build`).
Compose is the v2 CLI plugin built from its Go module (devstack.cluster.build.COMPOSE).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from devstack.cluster.build import COMPOSE, ensure_tools
from devstack.images import app_images
from devstack.images.base import ensure_base_images
from devstack.images.engine import Engine
from devstack.kafka.artifacts import KAFKA_VERSION, ensure_kafka_jars, ensure_kafka_tools_jars

REPO = Path(__file__).resolve().parents[1]
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


def install_plugin(engine: Engine, log: Log = print) -> None:
    """`docker compose` for this engine's CLI config, next to its buildx plugin."""
    ensure_tools((COMPOSE,), log=log)
    plugin = engine.docker_config / "cli-plugins" / "docker-compose"
    plugin.parent.mkdir(parents=True, exist_ok=True)
    if not plugin.is_symlink():
        plugin.unlink(missing_ok=True)
        plugin.symlink_to(COMPOSE.binary("docker-compose"))


def ensure_images(engine: Engine, logs: Path, log: Log = print) -> dict[str, str]:
    """Build what compose.yaml takes by variable; the variables to export."""
    python = ensure_base_images(engine, log)
    app_images.build_all(engine, app_images.POSTGRES_TAG, log=log, logs=logs, images=(app_images.POSTGRES,))
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp) / "kafka"
        shutil.copytree(REPO / "k8s" / "kafka", context)
        kafka_libs(ensure_kafka_jars(), ensure_kafka_tools_jars(), context / "libs")
        argv = ["buildx", "build", "--load", "--progress=plain", "--build-arg=JARS=context"]
        argv += [f"--build-arg=BASE_IMAGE={python}", f"--build-arg=KAFKA_VERSION={KAFKA_VERSION}"]
        engine.docker(*argv, "-t", KAFKA_IMAGE, str(context), log=logs / "build-kafka.log")
    log(f"built {KAFKA_IMAGE}")
    return {
        "KAFKA_IMAGE": KAFKA_IMAGE,
        "POSTGRES_IMAGE": app_images.POSTGRES.ref(app_images.POSTGRES_TAG),
        "PYTHON_IMAGE": python,
    }
