"""compose.yaml on a local Docker engine without registry access: the drop-in images it names by variable.

- KAFKA_IMAGE: k8s/kafka/Dockerfile on the local Debian base (devstack.images.kafka);
- POSTGRES_IMAGE: k8s/postgres (PostgreSQL from Debian's packages), as the local cluster runs it;
- PYTHON_IMAGE: the local Debian base for the services' Dockerfile (compose builds those itself, `--build`).
Compose is the v2 CLI plugin built from its Go module (devstack.cluster.build.COMPOSE).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devstack.cluster.build import ensure_tools
from devstack.cluster.tools import COMPOSE
from devstack.images import app_images
from devstack.images.base import ensure_base_images
from devstack.images.engine import Engine
from devstack.images.kafka import KAFKA_IMAGE, ensure_kafka_image

Log = Callable[[str], None]


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
    ensure_kafka_image(engine, logs, log)
    return {
        "KAFKA_IMAGE": KAFKA_IMAGE,
        "POSTGRES_IMAGE": app_images.POSTGRES.ref(app_images.POSTGRES_TAG),
        "PYTHON_IMAGE": python,
    }
