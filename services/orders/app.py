"""Bootstrap of the orders service: `uvicorn services.orders.app:create_app --factory`."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from eventkit import service
from eventkit.service import ServiceContext, ServiceSpec
from eventkit.settings import KafkaSettings
from services.orders.api import router
from services.orders.consumer import HANDLERS
from services.orders.handlers import cancel_stale_orders
from services.orders.metrics import count_outcomes
from services.orders.repository import metadata, tables
from services.orders.settings import OrdersSettings, orders_settings

log = logging.getLogger(__name__)


async def sweep_stale_orders(context: ServiceContext) -> None:
    """Cancel orders PENDING for longer than the timeout, a batch per transaction, for as long as we run.

    Every replica may sweep: the compare-and-set in `repository.save` lets only one cancel a given order.
    """
    settings = orders_settings(context)
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


SPEC = ServiceSpec(
    name="orders",
    metadata=metadata,
    tables=tables,
    handlers=HANDLERS,
    routers=[router],
    background=[sweep_stale_orders],
    on_committed=count_outcomes,
    title="orderflow orders",
)


def create_app(settings: OrdersSettings | None = None, kafka: KafkaSettings | None = None) -> FastAPI:
    return service.create_app(SPEC, settings or OrdersSettings(), kafka)
