"""`orderflow up`: the whole platform on one machine as local processes, no Docker and no Kubernetes."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from eventkit.settings import KafkaSettings
from eventkit.topics import create_topics, topic_plan
from orderflow.cache import ToolMissing
from orderflow.devkafka.broker import BrokerError, LocalBroker
from orderflow.settings import external_bootstrap_servers, local_state_dir

console = Console()


def up(
    kafka_port: Annotated[int, typer.Option(help="Port of the local Kafka broker")] = 9092,
    state_dir: Annotated[Path | None, typer.Option(help="Data and logs [default: .orderflow]")] = None,
    partitions: Annotated[int, typer.Option(min=1, help="Partitions per topic")] = 6,
) -> None:
    """Start Kafka (unless KAFKA_BOOTSTRAP_SERVERS is set), create the topics and run until Ctrl-C."""
    root = state_dir or local_state_dir()
    broker: LocalBroker | None = None
    bootstrap = external_bootstrap_servers()
    if bootstrap is None:
        broker = LocalBroker(root / "kafka", port=kafka_port)
        try:
            bootstrap = broker.start().bootstrap_servers
        except (ToolMissing, BrokerError, RuntimeError) as error:
            console.print(f"[red]error:[/] {error}")
            raise typer.Exit(1) from error

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        topics = topic_plan(partitions)
        asyncio.run(create_topics(KafkaSettings(bootstrap_servers=bootstrap), topics))
        console.print(f"Kafka      [bold]{bootstrap}[/]  topics: {', '.join(sorted(topics))}")
        console.print("Press Ctrl-C to stop.")
        if broker is not None:
            broker.wait()
        else:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        if broker is not None:
            broker.stop()
        console.print("Stopped.")
