"""Bootstrap of the orders service: `orderflow-service serve orders` (uvicorn `services.orders.app:create_app`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial

from fastapi import FastAPI

from eventkit.host import app as host
from eventkit.host.app import ServiceSpec
from eventkit.host.context import ServiceContext
from eventkit.producer import Publisher
from eventkit.settings import KafkaSettings
from eventkit.topology import ORDERS
from services.orders.api import router
from services.orders.consumer import HANDLERS
from services.orders.desk import OrderDesk
from services.orders.handlers import cancel_stale_orders, on_answers
from services.orders.hotpath import HotRoutes
from services.orders.metrics import count_outcomes
from services.orders.repository import metadata, tables
from services.orders.settings import OrdersSettings
from services.orders.watch import OrderWatcher

log = logging.getLogger(__name__)

Settings = OrdersSettings


@contextlib.asynccontextmanager
async def watching(context: ServiceContext, *, settings: OrdersSettings) -> AsyncIterator[None]:
    """One watcher per process for every `?wait=` long poll; closed (waiters answered) at shutdown.

    Outcomes this process commits (its consumer decided them) wake their waiters at once; the watcher's
    database poll finds those decided by other processes (another worker, a separate consumer Deployment).
    """
    watcher = OrderWatcher(context.sessions, settings.wait_poll_seconds)
    context.resources[OrderWatcher] = watcher
    context.observers.append(watcher.committed)
    try:
        yield
    finally:
        await watcher.close()


@contextlib.asynccontextmanager
async def coalescing(context: ServiceContext) -> AsyncIterator[None]:
    """The API's desk: concurrent POSTs share a transaction, concurrent reads a query (after `watching`)."""
    context.resources[OrderDesk] = OrderDesk(context, context.resource(OrderWatcher))
    yield


async def sweep_stale_orders(context: ServiceContext, *, settings: OrdersSettings) -> None:
    """Cancel orders PENDING for longer than the timeout, a batch per transaction, for as long as we run.

    Every replica may sweep: the compare-and-set in `repository.save` lets only one cancel a given order.
    """
    timeout = timedelta(seconds=settings.pending_timeout_seconds)
    while True:
        try:
            async with context.unit_of_work() as uow:
                cancelled = await cancel_stale_orders(uow, datetime.now(UTC) - timeout, settings.sweep_batch_size)
        except Exception:
            # A database hiccup must not end the sweeper; the next round finds the same orders again.
            log.exception("timeout sweep failed")
            cancelled = 0
        if cancelled:
            log.info("cancelled %d orders pending longer than %s", cancelled, timeout)
        if cancelled < settings.sweep_batch_size:  # a full batch means more are waiting: go on at once
            await asyncio.sleep(settings.sweep_interval_seconds)


def spec(settings: OrdersSettings) -> ServiceSpec:
    return ServiceSpec(
        service=ORDERS,
        metadata=metadata,
        tables=tables,
        handlers=HANDLERS,
        batch_handler=on_answers,
        routers=[router],
        components=[partial(watching, settings=settings), coalescing],
        background=[partial(sweep_stale_orders, settings=settings)],
        on_committed=count_outcomes,
        middleware=[HotRoutes],
    )


def create_app(
    settings: OrdersSettings | None = None, *, kafka: KafkaSettings | None = None, publisher: Publisher | None = None
) -> FastAPI:
    settings = settings or OrdersSettings()
    return host.create_app(spec(settings), settings, kafka=kafka, publisher=publisher)
