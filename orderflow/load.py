"""`orderflow load`: place orders against a running stack, wait for their outcomes and summarise.

The order mix, so that both compensation paths of the saga run:

- most orders: a random `customer-<n>`, 1-3 lines of distinct SKUs from SKU-1..SKU-20, 1-3 units each, EUR
  prices of a few euros: confirmed while stock lasts;
- `--decline-share` of them (default 2 %) come from a `decline-<n>` customer, whom the payment simulator
  always declines: cancelled with `payment_declined`, and inventory releases the reserved stock;
- `--large-share` of them (default 2 %) ask for 900,000 units of one SKU at 0.01 EUR, more than the demo stock
  of 100,000 and within the payment limit: cancelled with `out_of_stock`, and payments refunds the capture.

Latency is measured per order from sending its POST to observing its terminal state through
`GET /orders/{id}?wait=`. Placing (`--concurrency` workers) and waiting (`--waiters` long polls) run at the
same time, each worker on its own keep-alive HTTP/1.1 connection, so long polls never hold up placing.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import itertools
import json
import random
import ssl
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from orderflow.demo import LARGE_QUANTITY, PRICES, SKUS
from orderflow.loadstats import TERMINAL, LoadSummary, Outcome, summarize

LONG_POLL_SECONDS = 10.0

console = Console()
progress_console = Console(stderr=True)


@dataclass(frozen=True)
class LoadOptions:
    orders: int
    rate: float = 0.0
    concurrency: int = 64
    waiters: int = 256
    url: str = "http://127.0.0.1:8000"
    wait_timeout: float = 60.0
    decline_share: float = 0.02
    large_share: float = 0.02
    seed: int | None = None


def order_body(rng: random.Random, decline_share: float, large_share: float) -> dict[str, Any]:
    """One POST /orders body of the documented mix."""
    draw = rng.random()
    customer = f"customer-{rng.randint(1, 10_000)}"
    if draw < decline_share:
        customer = f"decline-{rng.randint(1, 100)}"
    if decline_share <= draw < decline_share + large_share:
        items = [{"sku": rng.choice(SKUS), "quantity": LARGE_QUANTITY, "unit_price": "0.01"}]
    else:
        items = [
            {"sku": sku, "quantity": rng.randint(1, 3), "unit_price": rng.choice(PRICES)}
            for sku in rng.sample(SKUS, rng.randint(1, 3))
        ]
    return {"customer_id": customer, "items": items, "currency": "EUR"}


Tick = Callable[[str], None]


class LoadRun:
    """Placement workers feed accepted orders to waiters; both report to `tick` ("placed" / "terminal")."""

    def __init__(self, options: LoadOptions, tick: Tick) -> None:
        self.options = options
        self.tick = tick
        self.rng = random.Random(options.seed)
        self.rejected: Counter[str] = Counter()
        self.outcomes: list[Outcome] = []
        self.accepted: asyncio.Queue[tuple[str, float] | None] = asyncio.Queue()
        self.deadline = float("inf")  # set when placement ends: by then every outcome must be known

    async def run(self) -> LoadSummary:
        options = self.options
        # One single-connection keep-alive client per worker: httpx scans its whole pool on every request,
        # so one shared pool of hundreds of connections costs more CPU than the requests themselves.
        tls = ssl.create_default_context()  # never used over http://, but built once instead of per client
        async with contextlib.AsyncExitStack() as stack:
            placing = [await stack.enter_async_context(self._client(tls, 30.0)) for _ in range(options.concurrency)]
            waiting = [
                await stack.enter_async_context(self._client(tls, LONG_POLL_SECONDS + 30.0))
                for _ in range(options.waiters)
            ]
            started = time.perf_counter()
            waiters = [asyncio.create_task(self._waiter(client)) for client in waiting]
            indexes = itertools.count()
            await asyncio.gather(*(self._placer(client, indexes, started) for client in placing))
            placed = time.perf_counter()
            self.deadline = placed + options.wait_timeout
            for _ in waiters:
                self.accepted.put_nowait(None)
            await asyncio.gather(*waiters)
        finished = time.perf_counter()
        return summarize(
            requested=options.orders,
            outcomes=self.outcomes,
            rejected={str(key): count for key, count in self.rejected.items()},
            placement_seconds=placed - started,
            total_seconds=finished - started,
        )

    def _client(self, tls: ssl.SSLContext, timeout: float) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        return httpx.AsyncClient(base_url=self.options.url, limits=limits, timeout=timeout, verify=tls)

    async def _placer(self, client: httpx.AsyncClient, indexes: itertools.count[int], started: float) -> None:
        options = self.options
        while (index := next(indexes)) < options.orders:
            if options.rate > 0:
                delay = started + index / options.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            body = order_body(self.rng, options.decline_share, options.large_share)
            sent = time.perf_counter()
            try:
                response = await client.post("/orders", json=body)
            except httpx.HTTPError as error:
                self.rejected[f"error:{type(error).__name__}"] += 1
            else:
                if response.status_code == 202:
                    self.accepted.put_nowait((response.json()["order_id"], sent))
                else:
                    self.rejected[str(response.status_code)] += 1
            self.tick("placed")

    async def _waiter(self, client: httpx.AsyncClient) -> None:
        while (item := await self.accepted.get()) is not None:
            order_id, sent = item
            self.outcomes.append(await self._outcome(client, order_id, sent))
            self.tick("terminal")

    async def _outcome(self, client: httpx.AsyncClient, order_id: str, sent: float) -> Outcome:
        while True:
            remaining = self.deadline - time.perf_counter()
            if remaining <= 0:
                return Outcome("PENDING")
            wait = max(min(LONG_POLL_SECONDS, remaining), 0.1)
            try:
                response = await client.get(f"/orders/{order_id}", params={"wait": f"{wait:.1f}"})
            except httpx.HTTPError:
                await asyncio.sleep(min(0.5, max(remaining, 0)))
                continue
            if response.status_code != 200:
                await asyncio.sleep(min(0.5, max(remaining, 0)))
                continue
            order = response.json()
            if order["status"] in TERMINAL:
                return Outcome(order["status"], time.perf_counter() - sent, order.get("cancel_reason"))


async def _reachable(url: str) -> str | None:
    """None when the orders service answers /readyz with 200; else what is wrong."""
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5.0) as client:
            response = await client.get("/readyz")
    except httpx.HTTPError as error:
        return f"nothing answers at {url} ({type(error).__name__}); start the stack with `make run`"
    if response.status_code != 200:
        return f"{url}/readyz answered {response.status_code}: {response.text[:200]}"
    return None


def _skip_sniffio_lookups() -> None:
    """httpcore imports sniffio on every request when it is missing, a full search of sys.path each time; an
    entry of None in sys.modules makes that failing import instant. Only the load generator pays for it."""
    if importlib.util.find_spec("sniffio") is None:
        sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]


def _progress_run(options: LoadOptions) -> LoadSummary:
    _skip_sniffio_lookups()
    columns = (TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=progress_console, transient=False) as progress:
        tasks = {
            "placed": progress.add_task("placed", total=options.orders),
            "terminal": progress.add_task("terminal", total=options.orders),
        }
        run = LoadRun(options, lambda kind: progress.advance(tasks[kind]))
        summary = asyncio.run(run.run())
        progress.update(tasks["terminal"], total=summary.accepted)
    return summary


def render(summary: LoadSummary) -> Table:
    table = Table(title="orderflow load", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    rejected = ", ".join(f"{status}: {count}" for status, count in summary.rejected.items())
    table.add_row("requested", str(summary.requested))
    table.add_row("accepted (202)", str(summary.accepted))
    table.add_row("rejected", f"{summary.rejected_total}" + (f"  ({rejected})" if rejected else ""))
    table.add_row("confirmed", str(summary.confirmed))
    table.add_row("cancelled", str(summary.cancelled_total))
    for reason, count in summary.cancelled.items():
        table.add_row(f"  {reason}", str(count))
    table.add_row("still pending", str(summary.pending))
    table.add_row("orders/s (placement)", f"{summary.orders_per_second:,.1f}")
    table.add_row("end-to-end orders/s", f"{summary.end_to_end_per_second:,.1f}")
    table.add_row("placement / total time", f"{summary.placement_seconds:.2f} s / {summary.total_seconds:.2f} s")
    for key, value in summary.latency_ms.items():
        table.add_row(f"latency {key}", "-" if value is None else f"{value:,.1f} ms")
    return table


def load(
    orders: Annotated[int, typer.Option(min=1, help="How many orders to place")],
    rate: Annotated[float, typer.Option(min=0, help="Orders per second; 0 = as fast as possible")] = 0.0,
    concurrency: Annotated[int, typer.Option(min=1, help="POSTs in flight (and their connection pool)")] = 64,
    waiters: Annotated[int, typer.Option(min=1, help="Outcome long polls in flight")] = 256,
    url: Annotated[str, typer.Option(help="Base URL of the orders service")] = "http://127.0.0.1:8000",
    wait_timeout: Annotated[
        float, typer.Option(min=0, help="Seconds to wait for outcomes once placement has ended")
    ] = 60.0,
    decline_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of orders from always-declined `decline-*` customers")
    ] = 0.02,
    large_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of orders larger than the demo stock (out of stock)")
    ] = 0.02,
    seed: Annotated[int | None, typer.Option(help="Random seed of the order mix")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object")] = False,
) -> None:
    """Place orders against a running stack, wait for every outcome and print throughput and latency.

    Exits 1 when no order was accepted or some stayed PENDING past --wait-timeout.
    """
    options = LoadOptions(
        orders=orders,
        rate=rate,
        concurrency=min(concurrency, orders),
        waiters=min(waiters, orders),
        url=url.rstrip("/"),
        wait_timeout=wait_timeout,
        decline_share=decline_share,
        large_share=large_share,
        seed=seed,
    )
    problem = asyncio.run(_reachable(options.url))
    if problem is not None:
        progress_console.print(f"[red]error:[/] {escape(problem)}")
        raise typer.Exit(1)
    summary = _progress_run(options)
    if as_json:
        print(json.dumps(summary.as_dict()))
    else:
        console.print(render(summary))
    if summary.accepted == 0 or summary.pending > 0:
        raise typer.Exit(1)
