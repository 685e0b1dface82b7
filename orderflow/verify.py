"""`orderflow verify`: read every order, payment and stock level from a running stack and check the invariants.

The invariants hold once the saga is at rest: a refund or a stock release follows its order's cancellation
asynchronously (through the outbox, Kafka and the other service's consumer), and an order placed a moment ago
is still PENDING. So a snapshot taken right after a load may catch a compensation in flight; `verify` reads
again while violations remain, for up to `--settle` seconds, and reports only those that outlast it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console

from orderflow import transient
from orderflow.invariants import OrderFacts, PaymentFacts, StockFacts, violations
from orderflow.options import INVENTORY_URL, ORDERS_URL, PAYMENTS_URL, InventoryUrl, Json, OrdersUrl, PaymentsUrl

console = Console()
T = TypeVar("T")
Facts = tuple[list[OrderFacts], dict[str, PaymentFacts], dict[str, StockFacts]]

SETTLE_INTERVAL_SECONDS = 1.0


async def _bounded(calls: list[Callable[[], Awaitable[T]]], concurrency: int = 32) -> list[T]:
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(one(call) for call in calls)))


async def _json(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    """GET `url` as JSON, None on 404; a broken connection or a 502-504 is tried again (orderflow.transient)."""
    response = await transient.retried(
        lambda: client.get(url, params=params), httpx.TransportError, lambda answer: answer.status_code
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


async def collect(orders_url: str, inventory_url: str, payments_url: str) -> Facts:
    async with httpx.AsyncClient(timeout=30) as client:
        ids: list[str] = []
        cursor: str | None = None
        while True:
            page = await _json(client, f"{orders_url}/orders", limit=100, **({"cursor": cursor} if cursor else {}))
            ids += [item["order_id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        details = await _bounded([partial(_json, client, f"{orders_url}/orders/{i}") for i in ids])
        orders = [
            OrderFacts(
                order_id=d["order_id"],
                status=d["status"],
                total=Decimal(str(d["total"])),
                lines=[(line["sku"], int(line["quantity"])) for line in d["items"]],
            )
            for d in details
        ]
        paid = await _bounded([partial(_json, client, f"{payments_url}/payments/{i}") for i in ids])
        payments = {
            order_id: PaymentFacts(p["status"], Decimal(str(p.get("amount") or 0)))
            for order_id, p in zip(ids, paid, strict=True)
            if p is not None
        }
        skus = sorted({sku for order in orders for sku, _ in order.lines})
        levels = await _bounded([partial(_json, client, f"{inventory_url}/stock/{s}") for s in skus])
        stock = {s: StockFacts(level["available"], level["reserved"]) for s, level in zip(skus, levels, strict=True)}
    return orders, payments, stock


async def settled(
    read: Callable[[], Awaitable[Facts]],
    check: Callable[[Facts], list[str]],
    seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Facts, list[str]]:
    """Read and check until nothing is violated or `seconds` have passed; the last facts and violations."""
    deadline = clock() + seconds
    while True:
        facts = await read()
        found = check(facts)
        if not found or clock() >= deadline:
            return facts, found
        console.print(f"{len(found)} violations, maybe compensations in flight: reading again", style="dim")
        await asyncio.sleep(SETTLE_INTERVAL_SECONDS)


def verify(
    orders_url: OrdersUrl = ORDERS_URL,
    inventory_url: InventoryUrl = INVENTORY_URL,
    payments_url: PaymentsUrl = PAYMENTS_URL,
    initial_stock: Annotated[
        int | None, typer.Option(help="Stock every SKU started with, to check available + reserved against")
    ] = None,
    settle: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds to keep reading while violations remain (refunds and releases in flight); 0: one snapshot",
        ),
    ] = 30.0,
    as_json: Json = False,
) -> None:
    """Check the saga invariants on a running stack: terminal orders, net charges, conserved stock."""

    def check(facts: Facts) -> list[str]:
        orders, payments, stock = facts
        initial = {sku: initial_stock for sku in stock} if initial_stock is not None else None
        return violations(orders, payments, stock, initial)

    facts, found = asyncio.run(settled(partial(collect, orders_url, inventory_url, payments_url), check, settle))
    orders, payments, stock = facts
    statuses = Counter(order.status for order in orders)
    captured = sum(p.status == "captured" for p in payments.values())
    if as_json:
        counts = {"orders": dict(sorted(statuses.items())), "captured_payments": captured, "skus": len(stock)}
        typer.echo(json.dumps({**counts, "violations": found, "settle_seconds": settle}, indent=2))
        if found:
            raise typer.Exit(1)
        return
    console.print(
        f"{len(orders)} orders ({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}), "
        f"{captured} captured payments, {len(stock)} SKUs"
    )
    if found:
        for problem in found[:50]:
            console.print(f"[red]violated:[/] {problem}")
        console.print(f"[red]{len(found)} invariant violations[/], still there after {settle:g} s")
        raise typer.Exit(1)
    console.print(
        "[green]all invariants hold[/]: every order terminal; net charge = total if CONFIRMED else 0; "
        "reserved stock = confirmed demand" + ("; available + reserved = initial" if initial_stock is not None else "")
    )
