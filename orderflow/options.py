"""The flags every `orderflow` command spells the same way: the three APIs, Kafka's bootstrap server, --json.

Kafka's own tools say `--bootstrap-server`; the environment variables are the services' own, so a shell (or the
operations pod) set up for one command is set up for all.
"""

from __future__ import annotations

from typing import Annotated

import typer

from eventkit.settings import KafkaSettings

ORDERS_URL = "http://127.0.0.1:8000"
INVENTORY_URL = "http://127.0.0.1:8001"
PAYMENTS_URL = "http://127.0.0.1:8002"

OrdersUrl = Annotated[str, typer.Option("--orders-url", envvar="ORDERFLOW_ORDERS_URL", help="Orders API")]
InventoryUrl = Annotated[str, typer.Option("--inventory-url", envvar="ORDERFLOW_INVENTORY_URL", help="Inventory API")]
PaymentsUrl = Annotated[str, typer.Option("--payments-url", envvar="ORDERFLOW_PAYMENTS_URL", help="Payments API")]
# Read one release longer: `load --url` and `seed --url` named the one API each of them calls.
OldUrl = Annotated[str | None, typer.Option("--url", hidden=True, help="Deprecated: --orders-url/--inventory-url")]
BootstrapServer = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-server",
        help="Kafka's bootstrap servers, host:port[,host:port] (default: $KAFKA_BOOTSTRAP_SERVERS)",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output (one JSON document)")]


def renamed(old: str | None, new: str, value: str) -> str:
    """`value`, or the deprecated `--url` given instead, with a warning naming the flag that replaces it."""
    if old is None:
        return value
    typer.echo(f"warning: --url is deprecated and goes in the next release; use {new}", err=True)
    return old


def kafka_settings(bootstrap_server: str | None) -> KafkaSettings:
    """The KAFKA_* settings of the environment, with --bootstrap-server over KAFKA_BOOTSTRAP_SERVERS."""
    settings = KafkaSettings()
    return settings if bootstrap_server is None else settings.model_copy(update={"bootstrap_servers": bootstrap_server})
