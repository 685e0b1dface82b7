"""`orderflow lag --group G`: a consumer group's lag per partition, computed as the ConsumerScaler does."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from eventkit.consumer import ConsumerOptions
from eventkit.host.settings import RETRY_LEVELS_VARIABLES, deprecated_settings
from eventkit.lag import PartitionLag, ResetPolicy, actionable_lag, group_lag, total_lag
from eventkit.offsets import LagReadError, OffsetReader, read_offsets
from eventkit.settings import KafkaSettings
from eventkit.topology import SERVICES
from operators.scaler.builders import partitions_status
from orderflow.options import BootstrapServer, Json, kafka_settings

console = Console()


# The services' default; the chart gives them, and the operations pod, ORDERFLOW_CONSUMER_RETRY_LEVELS.
RETRY_LEVELS: int = ConsumerOptions.model_fields["retry_levels"].default


def default_topics(settings: KafkaSettings, group: str, retry_levels: int = RETRY_LEVELS) -> list[str]:
    """A service's group reads its inputs and their retry topics (eventkit.topology); other groups: none given."""
    service = SERVICES.get(group)
    if service is None:
        return []
    return [settings.topic(name) for name in service.subscriptions(retry_levels)]


async def read_lag(
    settings: KafkaSettings, group: str, topics: list[str], reset: ResetPolicy, timeout: float
) -> tuple[list[str], list[PartitionLag]]:
    reader = OffsetReader(settings.client_options(), request_timeout=timeout)
    await reader.start()
    try:
        chosen, offsets = await read_offsets(reader, group, topics, timeout)
    finally:
        await reader.close()
    return chosen, group_lag(offsets, reset)


def lag(
    group: Annotated[str, typer.Option("--group", "-g", help="Consumer group (the Kafka namespace prefix is added)")],
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            "-t",
            help="Topics (default: for an orderflow service, its inputs and their retry topics; "
            "else those the group has commits in)",
        ),
    ] = None,
    offset_reset_policy: Annotated[
        str,
        typer.Option(help="Where partitions without a commit start: earliest (as orderflow's consumers) or latest"),
    ] = "earliest",
    marker_tolerance: Annotated[int, typer.Option(help="Per-partition lag counted as idle (transaction markers)")] = 1,
    retry_levels: Annotated[
        int,
        typer.Option(min=0, envvar=RETRY_LEVELS_VARIABLES, help="Retry topics per input, as the services have"),
    ] = RETRY_LEVELS,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for Kafka")] = 10.0,
    bootstrap_server: BootstrapServer = None,
    as_json: Json = False,
) -> None:
    """Print a consumer group's lag per partition, exactly as the ConsumerScaler computes it."""
    if offset_reset_policy not in ("earliest", "latest"):
        raise typer.BadParameter("earliest or latest", param_hint="--offset-reset-policy")
    reset: ResetPolicy = "earliest" if offset_reset_policy == "earliest" else "latest"
    for notice in deprecated_settings(os.environ):
        typer.echo(f"warning: {notice}", err=True)
    settings = kafka_settings(bootstrap_server)
    name = settings.topic(group)
    chosen = [settings.topic(t) for t in topic] if topic else default_topics(settings, group, retry_levels)
    try:
        topics, lags = asyncio.run(read_lag(settings, name, chosen, reset, timeout))
    except LagReadError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    if as_json:
        document = {
            "group": name,
            "topics": topics,
            "lag": total_lag(lags),
            "actionableLag": actionable_lag(lags, marker_tolerance),
            "partitions": partitions_status(lags),
        }
        typer.echo(json.dumps(document, indent=2))
        return
    if not topics:
        console.print(f"group {name} has no commits; name topics with --topic (never all topics)")
        return
    table = Table(title=f"group {name}: lag {total_lag(lags)} (actionable {actionable_lag(lags, marker_tolerance)})")
    for column in ("topic", "partition", "log end", "position", "lag", "from"):
        table.add_column(column, justify="left" if column in ("topic", "from") else "right")
    for p in lags:
        table.add_row(p.topic, str(p.partition), str(p.log_end), str(p.position), str(p.lag), p.source)
    console.print(table)
