"""The three services as real `orderflow-service serve` processes, as `orderflow up` runs them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from devstack.children import ServiceProcess
from devstack.processes import free_ports
from eventkit.host.registry import find
from eventkit.migrate import upgrade
from eventkit.settings import KafkaSettings
from eventkit.topology import SERVICES


def kafka_env(settings: KafkaSettings) -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers, "ORDERFLOW_KAFKA_NAMESPACE": settings.namespace}


def service_processes(
    settings: KafkaSettings, directory: Path, env: Mapping[str, str] | None = None
) -> dict[str, ServiceProcess]:
    """One process per service on a free port, each with a migrated SQLite database in `directory`.

    Blocking (Alembic runs its own event loop): call it through `asyncio.to_thread` from a test.
    """
    processes = {}
    for service, port in zip(SERVICES, free_ports(len(SERVICES)), strict=True):
        url = f"sqlite+aiosqlite:///{directory / service}.db"
        upgrade(find(service).migrations(), url)
        environment = {**kafka_env(settings), "ORDERFLOW_DATABASE_URL": url, **(env or {})}
        processes[service] = ServiceProcess(service, port, directory / f"{service}.log", environment)
    return processes
