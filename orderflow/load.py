"""`orderflow load`: place orders against a running stack, wait for their outcomes and summarise.

The order mix, so that both compensation paths of the saga run:

- most orders: a random `customer-<n>`, 1-3 lines of distinct SKUs from SKU-1..SKU-20, 1-3 units each, EUR
  prices of a few euros: confirmed while stock lasts;
- `--decline-share` of them (default 2 %) come from a `decline-<n>` customer, whom the payment simulator
  always declines: cancelled with `payment_declined`, and inventory releases the reserved stock;
- `--large-share` of them (default 2 %) ask for 900,000 units of one SKU at 0.01 EUR, more than the demo stock
  of 100,000 and within the payment limit: cancelled with `out_of_stock`, and payments refunds the capture.

Latency is measured per order from sending its POST (with `--rate`, from the moment it was due) to observing
its terminal state through `GET /orders/{id}?wait=`. Placing (`--concurrency` connections) and waiting
(`--waiters` long polls) run at the same time, each on its own keep-alive HTTP/1.1 connection, so long polls
never hold up placing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from orderflow import transient
from orderflow.demo import LARGE_QUANTITY, PRICES, SKUS
from orderflow.loadclient import Answer, Connection, HttpError, NoAnswer
from orderflow.loadstats import TERMINAL, LoadSummary, Outcome, summarize
from orderflow.options import ORDERS_URL, Json, OldUrl, OrdersUrl, renamed

LONG_POLL_SECONDS = 10.0
POST_TIMEOUT_SECONDS = 30.0

console = Console()
progress_console = Console(stderr=True)


@dataclass(frozen=True)
class LoadOptions:
    orders: int
    rate: float = 0.0
    concurrency: int = 64
    waiters: int = 256
    url: str = ORDERS_URL
    wait_timeout: float = 60.0
    decline_share: float = 0.02
    large_share: float = 0.02
    seed: int | None = None
    wait: bool = True  # False: place only, never ask for outcomes (measures ingest alone)


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
    """Placement feeds accepted orders to waiters; both report to `tick` ("placed" / "terminal").

    With a rate, arrivals are open-loop: order i is due at `i / rate` seconds whatever the server does, and
    its latency counts from that moment, so a server that falls behind shows its queue in the figures instead
    of slowing the generator down (a closed loop would hide it). Without a rate, `concurrency` workers place
    as fast as the server answers (a closed loop: the saturation throughput).
    """

    def __init__(self, options: LoadOptions, tick: Tick) -> None:
        self.options = options
        self.tick = tick
        self.rng = random.Random(options.seed)
        self.rejected: Counter[str] = Counter()
        self.retried = 0  # POST resends after a broken connection or a 502-504
        self.outcomes: list[Outcome] = []
        self.post_latencies: list[float] = []
        self.accepted: asyncio.Queue[tuple[str, float] | None] = asyncio.Queue()
        self.deadline = float("inf")  # set when placement ends: by then every outcome must be known

    async def run(self) -> LoadSummary:
        options = self.options
        # One keep-alive connection per worker and per waiter: long polls never hold up placing.
        placing = [Connection(options.url) for _ in range(options.concurrency)]
        waiting = [Connection(options.url) for _ in range(options.waiters if options.wait else 0)]
        try:
            started, cpu_started = time.perf_counter(), time.process_time()
            waiters = [asyncio.create_task(self._waiter(connection)) for connection in waiting]
            if options.rate > 0:
                await self._open_loop(placing, started)
            else:
                indexes = itertools.count()
                await asyncio.gather(*(self._placer(connection, indexes) for connection in placing))
            placed = time.perf_counter()
            self.deadline = placed + options.wait_timeout
            for _ in waiters:
                self.accepted.put_nowait(None)
            await asyncio.gather(*waiters)
        finally:
            for connection in placing + waiting:
                connection.close()
        finished = time.perf_counter()
        return summarize(
            requested=options.orders,
            outcomes=self.outcomes,
            rejected={str(key): count for key, count in self.rejected.items()},
            placement_seconds=placed - started,
            total_seconds=finished - started,
            post_latencies=self.post_latencies,
            waited=options.wait,
            client_cpu_seconds=time.process_time() - cpu_started,
            retried=self.retried,
        )

    async def _placer(self, connection: Connection, indexes: itertools.count[int]) -> None:
        while next(indexes) < self.options.orders:
            await self._place(connection, time.perf_counter())

    async def _open_loop(self, connections: list[Connection], started: float) -> None:
        """Each order at its due time on a free connection; when none is free it queues, and that counts."""
        free: asyncio.Queue[Connection] = asyncio.Queue()
        for connection in connections:
            free.put_nowait(connection)

        async def arrival(due: float) -> None:
            connection = await free.get()
            try:
                await self._place(connection, due)
            finally:
                free.put_nowait(connection)

        arrivals = []
        for index in range(self.options.orders):
            due = started + index / self.options.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            arrivals.append(asyncio.create_task(arrival(due)))
        await asyncio.gather(*arrivals)

    async def _place(self, connection: Connection, due: float) -> None:
        """POST one order; `due` is when it was meant to be sent, where its latency starts."""
        options = self.options
        body = order_body(self.rng, options.decline_share, options.large_share)
        sent = time.perf_counter()
        answer = await self._post(connection, body)
        if isinstance(answer, str):
            self.rejected[answer] += 1
        elif answer.status == 202:
            self.post_latencies.append(time.perf_counter() - sent)
            if options.wait:
                self.accepted.put_nowait((answer.json()["order_id"], due))
            else:
                self.outcomes.append(Outcome("PENDING"))
        else:
            self.rejected[str(answer.status)] += 1
        self.tick("placed")

    async def _post(self, connection: Connection, body: dict[str, Any]) -> Answer | str:
        """The answer to POST /orders, or why there is none.

        Each order carries its own Idempotency-Key, so a POST whose connection broke (a pod stopping in a
        rolling update closes its keep-alive connections) or that met a 502-504 is sent again safely: the
        service returns the order the first try made, if it made one, instead of placing a second. A POST that
        got no answer in time is not: the service may still be working on it, and a resend only adds load.
        """
        headers = {"Idempotency-Key": f"load-{uuid.uuid4()}"}
        failure = ""
        for attempt in range(transient.ATTEMPTS):
            if attempt:
                self.retried += 1
                await asyncio.sleep(transient.backoff(attempt))
            try:
                answer = await connection.request(
                    "POST", "/orders", body, headers=headers, timeout=POST_TIMEOUT_SECONDS
                )
            except NoAnswer as error:
                return f"error:{type(error).__name__}"
            except HttpError as error:
                failure = f"error:{type(error).__name__}"
                continue
            if answer.status not in transient.STATUSES or attempt == transient.ATTEMPTS - 1:
                return answer
        return failure

    async def _waiter(self, connection: Connection) -> None:
        while (item := await self.accepted.get()) is not None:
            order_id, due = item
            self.outcomes.append(await self._outcome(connection, order_id, due))
            self.tick("terminal")

    async def _outcome(self, connection: Connection, order_id: str, due: float) -> Outcome:
        while True:
            remaining = self.deadline - time.perf_counter()
            if remaining <= 0:
                return Outcome("PENDING")
            wait = max(min(LONG_POLL_SECONDS, remaining), 0.1)
            try:
                answer = await connection.request("GET", f"/orders/{order_id}?wait={wait:.1f}", timeout=wait + 30)
            except HttpError:
                await asyncio.sleep(min(0.5, max(remaining, 0)))
                continue
            if answer.status != 200:
                await asyncio.sleep(min(0.5, max(remaining, 0)))
                continue
            order = answer.json()
            if order["status"] in TERMINAL:
                return Outcome(order["status"], time.perf_counter() - due, order.get("cancel_reason"))


async def _reachable(url: str) -> str | None:
    """None when the orders service answers /readyz with 200; else what is wrong. A refused or broken
    connection is retried as a POST is (a pod replaced or a node lost a moment before the run starts)."""
    connection = Connection(url)
    try:
        answer = await transient.retried(lambda: connection.request("GET", "/readyz", timeout=5.0), HttpError)
    except HttpError as error:
        return f"nothing answers at {url} ({error}); start the stack with `make run`"
    finally:
        connection.close()
    if answer.status != 200:
        return f"{url}/readyz answered {answer.status}: {answer.body[:200].decode(errors='replace')}"
    return None


def _progress_run(options: LoadOptions) -> LoadSummary:
    columns = (TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=progress_console, transient=False) as progress:
        tasks = {
            "placed": progress.add_task("placed", total=options.orders),
            "terminal": progress.add_task("terminal", total=options.orders),
        }
        run = LoadRun(options, lambda kind: progress.advance(tasks[kind]))
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            summary = runner.run(run.run())
        progress.update(tasks["terminal"], total=summary.accepted if options.wait else 0)
    return summary


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where installed (as the services run): the generator's own overhead is part of what is measured."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def render(summary: LoadSummary) -> Table:
    table = Table(title="orderflow load", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    rejected = ", ".join(f"{status}: {count}" for status, count in summary.rejected.items())
    table.add_row("requested", str(summary.requested))
    table.add_row("accepted (202)", str(summary.accepted))
    table.add_row("rejected", f"{summary.rejected_total}" + (f"  ({rejected})" if rejected else ""))
    table.add_row("POST resends", str(summary.retried))
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
    for key, value in summary.post_latency_ms.items():
        table.add_row(f"POST latency {key}", "-" if value is None else f"{value:,.1f} ms")
    return table


def load(
    orders: Annotated[int, typer.Option(min=1, help="How many orders to place")],
    rate: Annotated[float, typer.Option(min=0, help="Orders per second; 0 = as fast as possible")] = 0.0,
    concurrency: Annotated[int, typer.Option(min=1, help="POSTs in flight (and their connection pool)")] = 64,
    waiters: Annotated[int, typer.Option(min=1, help="Outcome long polls in flight")] = 256,
    orders_url: OrdersUrl = ORDERS_URL,
    url: OldUrl = None,
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
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Only place orders, never wait for outcomes (ingest alone)")
    ] = False,
    as_json: Json = False,
) -> None:
    """Place orders against a running stack, wait for every outcome and print throughput and latency.

    With --rate the arrivals are open-loop (latency counts from each order's due time). Exits 1 when no order
    was accepted or, unless --no-wait, some stayed PENDING past --wait-timeout.
    """
    options = LoadOptions(
        orders=orders,
        rate=rate,
        concurrency=min(concurrency, orders),
        waiters=min(waiters, orders),
        url=renamed(url, "--orders-url", orders_url).rstrip("/"),
        wait_timeout=wait_timeout,
        decline_share=decline_share,
        large_share=large_share,
        seed=seed,
        wait=not no_wait,
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
    if summary.accepted == 0 or (options.wait and summary.pending > 0):
        raise typer.Exit(1)
