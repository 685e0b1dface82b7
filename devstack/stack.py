"""`orderflow up`: the whole platform on one machine as local processes, no Docker and no Kubernetes.

Kafka (unless KAFKA_BOOTSTRAP_SERVERS is set), the topics, each service's database (SQLite files, or a
throwaway PostgreSQL with --postgres) migrated, then the three services (each with its consumer and outbox
relay) as child processes, and demo stock. Ctrl-C or SIGTERM stops the services, then the database, then Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from devstack.cache import ToolMissing
from devstack.children import ChildFailed, ServiceProcess, stop_all, wait_ready
from devstack.kafka.artifacts import external_bootstrap_servers
from devstack.kafka.broker import BrokerError, LocalBroker
from devstack.postgres import LocalPostgres, PostgresError
from devstack.processes import port_in_use
from eventkit.consumer import ConsumerOptions
from eventkit.host.registry import find
from eventkit.migrate import upgrade
from eventkit.observability.tracing import TRACE_FILE_ENV
from eventkit.settings import KafkaSettings
from eventkit.topics import create_topics, topic_plan
from eventkit.topology import SERVICES
from orderflow.demo import DEMO_STOCK, seed_demo_stock
from orderflow.localstate import local_state_dir
from orderflow.trace import default_trace_file

console = Console()


class StackError(RuntimeError):
    """The stack cannot start or stopped working; the message says what to do."""


def _shown(path: Path) -> str:
    """A path relative to the working directory when it is below it: shorter to read and to copy."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


@dataclass
class LocalStack:
    root: Path
    broker: LocalBroker | None = None
    database: LocalPostgres | None = None
    bootstrap: str = ""
    trace_file: Path | None = None
    namespace: str = ""  # ORDERFLOW_KAFKA_NAMESPACE of every topic and group, when sharing a broker
    children: list[ServiceProcess] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def start_kafka(self, port: int, partitions: int) -> None:
        external = external_bootstrap_servers()
        if external is None:
            self.broker = LocalBroker(self.root / "kafka", port=port)
            if self.broker.running() is None and port_in_use(port):
                raise StackError(f"port {port} is in use; stop what listens there or pass --kafka-port")
            self.bootstrap = self.broker.start().bootstrap_servers
        else:
            self.bootstrap = external
        # Without a namespace of its own the stack keeps ORDERFLOW_KAFKA_NAMESPACE, which KafkaSettings reads.
        kafka = KafkaSettings(bootstrap_servers=self.bootstrap)
        if self.namespace:
            kafka = KafkaSettings(bootstrap_servers=self.bootstrap, namespace=self.namespace)
        topics = topic_plan(kafka, partitions, retry_levels=ConsumerOptions().retry_levels)
        asyncio.run(create_topics(kafka, topics))
        console.print(f"Kafka ready at [bold]{self.bootstrap}[/]; {len(topics)} topics with {partitions} partitions")

    def database_urls(self, postgres: bool) -> dict[str, str]:
        if not postgres:
            return {service: f"sqlite+aiosqlite:///{self.root / f'{service}.db'}" for service in SERVICES}
        self.database = LocalPostgres(log_file=self.logs / "postgres.log").start()
        console.print(f"PostgreSQL ready at 127.0.0.1:{self.database.port} (throwaway: deleted on exit)")
        return {service: self.database.url(service) for service in SERVICES}

    def migrate(self, urls: dict[str, str]) -> None:
        for service, url in urls.items():
            upgrade(find(service).migrations(), url)
        console.print(f"Migrated {', '.join(urls)}")

    def service_env(self, url: str) -> dict[str, str]:
        """What every service process of this stack is given: the broker, the namespace, its database."""
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "ORDERFLOW_DATABASE_URL": url}
        if self.namespace:
            env["ORDERFLOW_KAFKA_NAMESPACE"] = self.namespace
        if self.trace_file is not None:
            env[TRACE_FILE_ENV] = str(self.trace_file)
        return env

    def service(self, name: str, port: int, env: dict[str, str], log_name: str = "") -> ServiceProcess:
        """The process of one service (a subclass may add options, as the bench adds --workers)."""
        return ServiceProcess(name, port, self.logs / f"{log_name or name}.log", env)

    def start_services(self, ports: dict[str, int], urls: dict[str, str], timeout: float) -> None:
        for service, port in ports.items():
            child = self.service(service, port, self.service_env(urls[service]))
            self.children.append(child)
            child.start()
        console.print("Services starting; waiting for /readyz ...")
        wait_ready(self.children, timeout)

    def watch(self) -> NoReturn:
        """Never return: raise when a service, Kafka or the database stops on its own."""
        while True:
            for child in self.children:
                code = child.exited()
                if code is not None:
                    raise child.failure(f"exited with code {code}")
            if self.broker is not None and self.broker.running() is None:
                raise StackError(f"Kafka exited; see {_shown(self.broker.logs_dir)}")
            if self.database is not None and not self.database.running():
                raise StackError(f"PostgreSQL exited; see {_shown(self.logs / 'postgres.log')}")
            time.sleep(0.5)

    def stop(self) -> None:
        stop_all(self.children)
        if self.database is not None:
            self.database.stop()
        if self.broker is not None:
            self.broker.stop()

    def summary(self) -> Table:
        table = Table(title="orderflow is running", title_justify="left")
        for column in ("", "URL", "API docs", "log"):
            table.add_column(column, overflow="fold")  # a narrow terminal wraps an address, never cuts it
        for child in self.children:
            table.add_row(child.name, child.url, f"{child.url}/docs", _shown(child.log_file))
        kafka_log = _shown(self.broker.logs_dir / "server.log") if self.broker else "(external)"
        table.add_row("kafka", self.bootstrap, "", kafka_log)
        if self.database is not None:
            address = f"postgresql://postgres@127.0.0.1:{self.database.port}"
            table.add_row("postgres", address, "", _shown(self.logs / "postgres.log"))
        if self.trace_file is not None:
            table.add_row("traces", "orderflow trace <order id>", "", _shown(self.trace_file))
        return table


def up(
    kafka_port: Annotated[int, typer.Option(help="Port of the local Kafka broker")] = 9092,
    orders_port: Annotated[int, typer.Option(help="Port of the orders service")] = 8000,
    inventory_port: Annotated[int, typer.Option(help="Port of the inventory service")] = 8001,
    payments_port: Annotated[int, typer.Option(help="Port of the payments service")] = 8002,
    postgres: Annotated[
        bool, typer.Option("--postgres", help="A throwaway local PostgreSQL instead of SQLite files")
    ] = False,
    state_dir: Annotated[Path | None, typer.Option(help="Data and logs (default: .orderflow)")] = None,
    partitions: Annotated[int, typer.Option(min=1, help="Partitions per topic")] = 6,
    ready_timeout: Annotated[float, typer.Option(help="Seconds the services may take to become ready")] = 90.0,
    traces: Annotated[
        bool,
        typer.Option(
            "--traces",
            help=f"Append every span to the file `orderflow trace` reads (${TRACE_FILE_ENV}, else "
            ".orderflow/traces.jsonl); it grows with every order, delete it any time",
        ),
    ] = False,
    trace_file: Annotated[
        Path | None, typer.Option(help="Append every span to this file instead, as OTLP JSON lines")
    ] = None,
) -> None:
    """Start Kafka, create the topics, migrate, run the three services with demo stock until Ctrl-C."""
    trace_file = trace_file or (default_trace_file() if traces else None)
    stack = LocalStack((state_dir or local_state_dir()).resolve(), trace_file=trace_file and trace_file.resolve())
    ports = {"orders": orders_port, "inventory": inventory_port, "payments": payments_port}
    busy = [f"{service} port {port}" for service, port in ports.items() if port_in_use(port)]
    if busy:
        console.print(f"[red]error:[/] in use: {', '.join(busy)} (another `orderflow up`?); pass --<service>-port")
        raise typer.Exit(1)

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # Explicit for SIGINT too: a shell that starts `up` in the background hands it SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    failed = False
    try:
        stack.start_kafka(kafka_port, partitions)
        urls = stack.database_urls(postgres)
        stack.migrate(urls)
        stack.start_services(ports, urls, ready_timeout)
        seeded = len(seed_demo_stock(f"http://127.0.0.1:{inventory_port}"))
        console.print(f"Demo stock: {seeded} new SKUs with {DEMO_STOCK:,} units (SKU-1..SKU-20; existing kept)")
        if not console.is_terminal:
            console.width = max(console.width, 140)  # a log file should not wrap URLs at 80 columns
        console.print(stack.summary())
        console.print("Try `orderflow load --orders 2000`. Press Ctrl-C to stop.")
        stack.watch()
    except KeyboardInterrupt:
        console.print("Stopping ...")
    except (ToolMissing, BrokerError, PostgresError, ChildFailed, StackError, httpx.HTTPError) as error:
        console.print(f"[red]error:[/] {escape(str(error))}")
        failed = True
    finally:
        # Shutdown is bounded (SIGTERM, then SIGKILL); a second Ctrl-C must not leave half of it undone.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        console.print("Stopped.")
    if failed:
        raise typer.Exit(1)
