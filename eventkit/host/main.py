"""`orderflow-service serve|migrate|topics`: the entry point of every service image (and of `orderflow up`).

It imports nothing of the development tools: a container runs exactly this.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import logging
import os
from typing import Annotated

import typer
import uvicorn
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from eventkit.consumer import ConsumerOptions
from eventkit.database import is_sqlite
from eventkit.host.registry import InstalledService, UnknownService, find
from eventkit.host.settings import (
    DATABASE_URL_VARIABLE,
    RETRY_LEVELS_VARIABLES,
    ServiceSettings,
    deprecated_settings,
)
from eventkit.migrate import UNREACHABLE, upgrade_when_reachable
from eventkit.observability.setup import configure_process
from eventkit.settings import KafkaSettings
from eventkit.topics import TooFewPartitions, provision

GC_THRESHOLDS = (20_000, 20, 20)

app = typer.Typer(
    help="Run an orderflow service, migrate its database or create its Kafka topics.",
    no_args_is_help=True,
    add_completion=False,
)

ServiceArg = Annotated[
    str | None, typer.Argument(help="orders, inventory or payments (default: the only one installed)")
]


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _variable(settings: type[ServiceSettings], location: tuple[int | str, ...]) -> str:
    """The environment variable behind a settings field, as the error message must name it."""
    first = str(location[0])
    if first.isupper():  # an explicit validation alias, e.g. ORDERFLOW_PAYMENTS_DEFAULT_LIMIT
        return first
    prefix = settings.model_config.get("env_prefix", "")
    return prefix + "_".join(str(part) for part in location).upper()


def _settings_or_exit(service: InstalledService) -> None:
    """Validate the service's settings before uvicorn starts, so a mistake is one clear line, not a traceback."""
    settings_class = service.settings_class()
    try:
        settings_class()
    except ValidationError as error:
        for problem in error.errors():
            variable = _variable(settings_class, problem["loc"])
            hint = ""
            if variable == DATABASE_URL_VARIABLE and problem["type"] == "missing":
                hint = " (e.g. postgresql+asyncpg://user:pass@host:5432/db; sqlite+aiosqlite:///file.db for a demo)"
            typer.echo(f"error: {service.name}: {variable}: {problem['msg']}{hint}", err=True)
        raise typer.Exit(2) from None


def _service(name: str | None) -> InstalledService:
    try:
        return find(name)
    except UnknownService as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    service: ServiceArg = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each with its consumer and relay)")] = 1,
    log_level: Annotated[str, typer.Option(help="Log level of the service and uvicorn")] = "info",
) -> None:
    """Run one service: HTTP API, event consumer and outbox relay in one process (uvicorn)."""
    installed = _service(service)
    _settings_or_exit(installed)
    configure_process(installed.name, log_level)
    for notice in deprecated_settings(os.environ):
        logging.getLogger(__name__).warning(notice)
    # A service allocates many short-lived objects per request and event; the default gen0 threshold (700) runs
    # the cyclic collector hundreds of times a second, each time walking everything imported. Everything
    # loaded so far is frozen out of the collector's reach, and collections run less often.
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    uvicorn.run(
        installed.factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop" if _installed("uvloop") else "asyncio",
        http="httptools" if _installed("httptools") else "h11",
        access_log=False,  # eventkit's own request line (ORDERFLOW_ACCESS_LOG) carries the trace and the order
        log_level=log_level,
        log_config=None,  # uvicorn's lines go through the process's structured logging like all others
        # In-flight requests (long polls included) get this long after SIGTERM before the lifespan shutdown.
        timeout_graceful_shutdown=5,
    )


@app.command()
def migrate(
    service: ServiceArg = None,
    url: Annotated[str | None, typer.Option(help=f"SQLAlchemy async URL (default: ${DATABASE_URL_VARIABLE})")] = None,
    wait_seconds: Annotated[
        float, typer.Option(min=0, help="How long to wait for a database that does not accept connections yet")
    ] = 120,
) -> None:
    """Upgrade a service's database to the newest Alembic revision (creates a SQLite file when missing)."""
    installed = _service(service)
    target = url or os.environ.get(DATABASE_URL_VARIABLE)
    if not target:
        typer.echo(f"error: {installed.name}: set {DATABASE_URL_VARIABLE} or pass --url", err=True)
        raise typer.Exit(2)

    def waiting(error: Exception) -> None:
        typer.echo(f"{installed.name}: {redacted(target)} does not accept connections yet ({error}); waiting", err=True)

    try:
        upgrade_when_reachable(installed.migrations(), target, wait_seconds, waiting)
    except UNREACHABLE as error:
        failure = "failed" if is_sqlite(target) else f"unreachable for {wait_seconds:.0f}s"
        typer.echo(f"error: {installed.name}: {redacted(target)} {failure}: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"{installed.name}: database at {redacted(target)} is at the newest revision")


@app.command()
def topics(
    partitions: Annotated[int, typer.Option(min=1, help="Partitions of each topic (its most consumers)")],
    replication_factor: Annotated[int, typer.Option(min=1, help="Replicas of each partition")] = 3,
    retry_levels: Annotated[
        int,
        typer.Option(min=0, envvar=RETRY_LEVELS_VARIABLES, help="Retry topics before the DLQ"),
    ] = ConsumerOptions.model_fields["retry_levels"].default,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the broker and for leaders")] = 120,
) -> None:
    """Create every missing topic of the topology (each service's, its retry and dead-letter topics).

    Reads KAFKA_BOOTSTRAP_SERVERS and the other KAFKA_* settings. Fails, creating nothing, when an existing topic
    has fewer partitions than asked for.
    """
    for notice in deprecated_settings(os.environ):
        typer.echo(f"warning: {notice}", err=True)
    try:
        plan = asyncio.run(
            provision(
                KafkaSettings(),
                partitions=partitions,
                replication_factor=replication_factor,
                retry_levels=retry_levels,
                timeout=timeout,
            )
        )
    except (TooFewPartitions, KafkaError, TimeoutError) as error:
        typer.echo(f"error: {error or type(error).__name__}", err=True)
        raise typer.Exit(1) from None
    typer.echo("topics ready: " + ", ".join(f"{name} ({count})" for name, count in sorted(plan.items())))


if __name__ == "__main__":  # `python -m eventkit.host.main`, as `orderflow up` starts the services
    app()
