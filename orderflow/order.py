"""`orderflow order ORDER_ID`: one order as the orders API holds it (status, cancel reason, answers, lines)."""

from __future__ import annotations

import json
from typing import Annotated

import httpx
import typer

from orderflow.options import ORDERS_URL, OrdersUrl


def order(
    order_id: Annotated[str, typer.Argument(help="The order's id (`order_id` in every log line about it)")],
    orders_url: OrdersUrl = ORDERS_URL,
) -> None:
    """Print one order as JSON; exit 1 when the orders API does not know it."""
    try:
        response = httpx.get(f"{orders_url}/orders/{order_id}", timeout=30, trust_env=False)
    except httpx.TransportError as error:
        typer.echo(f"error: the orders API at {orders_url} does not answer ({error}); check --orders-url", err=True)
        raise typer.Exit(1) from error
    if response.status_code == 404:
        typer.echo(f"error: no order {order_id} at {orders_url}", err=True)
        raise typer.Exit(1)
    response.raise_for_status()
    typer.echo(json.dumps(response.json(), indent=2))
