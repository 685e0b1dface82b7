"""`orderflow kafka start|status|stop`: the local broker from the command line."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from devstack.cache import ToolMissing
from devstack.kafka.artifacts import external_bootstrap_servers
from devstack.kafka.broker import BrokerError, LocalBroker, metadata_ok
from orderflow.localstate import local_state_dir

app = typer.Typer(help="Run a local Apache Kafka broker (KRaft, no Docker).", no_args_is_help=True)
console = Console()

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Broker storage, logs and state (default: .orderflow/kafka)")
]


def _broker(data_dir: Path | None, port: int | None = None) -> LocalBroker:
    return LocalBroker(data_dir or local_state_dir() / "kafka", port=port)


def _external_notice() -> bool:
    external = external_bootstrap_servers()
    if external:
        console.print(f"KAFKA_BOOTSTRAP_SERVERS is set: orderflow uses [bold]{external}[/], no local broker.")
    return external is not None


@app.command()
def start(
    port: Annotated[
        int | None,
        typer.Option(help="Client port on 127.0.0.1; 0 picks a free one (default: 9092, or the last one)"),
    ] = None,
    data_dir: DataDir = None,
    detach: Annotated[bool, typer.Option(help="Leave the broker running in the background")] = False,
) -> None:
    """Start the broker (formatting storage on first start); wait until it answers metadata requests."""
    if _external_notice():
        return
    broker = _broker(data_dir, port)
    try:
        state = broker.start()
    except (ToolMissing, BrokerError, RuntimeError) as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from error
    console.print(f"Kafka {state.version} ready at [bold]{state.bootstrap_servers}[/] (pid {state.pid})")
    console.print(f"  export KAFKA_BOOTSTRAP_SERVERS={state.bootstrap_servers}")
    if detach:
        console.print(f"  logs: {broker.logs_dir}; stop with `orderflow kafka stop`")
        return

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    console.print("Press Ctrl-C to stop.")
    try:
        broker.wait()
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
        console.print("Kafka stopped.")


@app.command()
def status(data_dir: DataDir = None) -> None:
    """Say whether the broker runs and answers; exit 1 when it does not."""
    import asyncio

    external = external_bootstrap_servers()
    target = external
    if target is None:
        state = _broker(data_dir).running()
        if state is None:
            console.print("Kafka is not running (start it with `orderflow kafka start`).")
            raise typer.Exit(1)
        target = state.bootstrap_servers
        console.print(f"Kafka {state.version}: pid {state.pid}, started {state.started_at}")
    if not asyncio.run(metadata_ok(target)):
        console.print(f"[red]{target} does not answer a metadata request.[/]")
        raise typer.Exit(1)
    console.print(f"{target}: ready")


@app.command()
def stop(data_dir: DataDir = None) -> None:
    """Stop the local broker with a controlled shutdown."""
    if _external_notice():
        return
    if _broker(data_dir).stop():
        console.print("Kafka stopped.")
    else:
        console.print("Kafka was not running.")
