"""The demo catalog: the SKUs the load generator orders, the stock they get, and `orderflow seed`."""

from __future__ import annotations

import json

import httpx
import typer

from orderflow.options import INVENTORY_URL, InventoryUrl, Json, OldUrl, renamed

SKUS = tuple(f"SKU-{n}" for n in range(1, 21))
DEMO_STOCK = 100_000
PRICES = ("2.50", "4.99", "9.99", "12.00", "19.90")
# More than DEMO_STOCK, at a price within the payment limit: such an order is cancelled out_of_stock.
LARGE_QUANTITY = 900_000


def seed_demo_stock(inventory_url: str, *, timeout: float = 10.0) -> list[str]:
    """DEMO_STOCK units of each SKU of the catalog that inventory does not know yet; the SKUs it set.

    Known SKUs keep their stock, so seeding a stack that already took orders changes nothing.
    """
    seeded = []
    with httpx.Client(base_url=inventory_url, timeout=timeout, trust_env=False) as client:
        for sku in SKUS:
            known = client.get(f"/stock/{sku}")
            if known.status_code != 404:
                known.raise_for_status()
                continue
            client.put(f"/stock/{sku}", json={"available": DEMO_STOCK}).raise_for_status()
            seeded.append(sku)
    return seeded


def seed(inventory_url: InventoryUrl = INVENTORY_URL, url: OldUrl = None, as_json: Json = False) -> None:
    """Give every SKU that `orderflow load` orders (SKU-1..SKU-20) its demo stock, where inventory lacks it."""
    inventory_url = renamed(url, "--inventory-url", inventory_url)
    try:
        seeded = seed_demo_stock(inventory_url)
    except httpx.HTTPError as error:
        typer.echo(f"error: inventory at {inventory_url}: {error}. Is it running? Check --inventory-url", err=True)
        raise typer.Exit(1) from None
    kept = len(SKUS) - len(seeded)
    if as_json:
        typer.echo(json.dumps({"seeded": seeded, "kept": kept, "units": DEMO_STOCK}))
        return
    typer.echo(f"demo stock: {len(seeded)} SKUs set to {DEMO_STOCK:,} units, {kept} already known and kept")
