"""`orderflow serve SERVICE` and `orderflow migrate SERVICE`: run one service, or bring its database up to date."""

from __future__ import annotations

import importlib.util
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from sqlalchemy.engine import make_url

from eventkit.migrate import upgrade
from eventkit.observability.setup import configure_process
from eventkit.service import ServiceSettings

console = Console()


class Service(StrEnum):
    orders = "orders"
    inventory = "inventory"
    payments = "payments"


DEFAULT_PORTS: dict[Service, int] = {Service.orders: 8000, Service.inventory: 8001, Service.payments: 8002}

ServiceArg = Annotated[Service, typer.Argument(help="Which service", show_default=False)]


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def migrations_dir(service: Service) -> Path:
    """services/<service>/migrations, found without importing the service."""
    spec = importlib.util.find_spec(f"services.{service.value}")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the package services.{service.value} is not importable")
    return Path(spec.origin).parent / "migrations"


def default_database_url(service: Service) -> str:
    """ORDERFLOW_DATABASE_URL, or the service's SQLite file under .orderflow/."""
    return ServiceSettings().database_url_for(service.value)


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def serve(
    service: ServiceArg,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="TCP port (default: orders 8000, inventory 8001, payments 8002)")
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level of the service and uvicorn")] = "info",
) -> None:
    """Run one service: HTTP API, event consumer and outbox relay in one process (uvicorn)."""
    configure_process(service.value, log_level)
    uvicorn.run(
        f"services.{service.value}.app:create_app",
        factory=True,
        host=host,
        port=port or DEFAULT_PORTS[service],
        loop="uvloop" if _installed("uvloop") else "asyncio",
        http="httptools" if _installed("httptools") else "h11",
        access_log=False,  # a log line per request costs more than the request at load-test rates
        log_level=log_level,
        log_config=None,  # uvicorn's lines go through the process's structured logging like all others
        # In-flight requests (long polls included) get this long after SIGTERM before the lifespan shutdown.
        timeout_graceful_shutdown=5,
    )


def migrate(
    service: ServiceArg,
    url: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy async URL (default: ORDERFLOW_DATABASE_URL, else .orderflow/<service>.db)"),
    ] = None,
) -> None:
    """Upgrade a service's database to the newest Alembic revision (creates it when missing)."""
    target = url or default_database_url(service)
    upgrade(migrations_dir(service), target)
    console.print(f"{service.value}: database at {redacted(target)} is at the newest revision")
