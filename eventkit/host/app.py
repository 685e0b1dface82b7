"""The host every service runs in: database, publisher, consumer, outbox relay, components, health and metrics.

A service describes itself with a `ServiceSpec` (its topology, tables, handlers, routers, components) and
`create_app` wires the rest, so the three services share one bootstrap instead of three copies. The publisher
is a parameter: API tests hand in a double and run without a broker; the service itself gets an `EventProducer`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import MetaData
from starlette.types import ASGIApp

from eventkit.consumer import BatchHandler, EventConsumer, Handler
from eventkit.consumer.loop import check_handlers
from eventkit.database import make_engine, make_sessions
from eventkit.events import EventData
from eventkit.host.context import CommitObserver, ServiceContext
from eventkit.host.health import health_router
from eventkit.host.http import UNAVAILABLE, DatabaseUnavailable, install_http_contract
from eventkit.host.settings import ServiceSettings
from eventkit.messaging import MessagingTables
from eventkit.observability.instrument import FASTAPI_TELEMETRY, instrument_app, instrument_engine
from eventkit.observability.metrics import HttpMetrics, metrics_router, start_at_zero
from eventkit.producer import EventProducer, Publisher
from eventkit.relay import OutboxRelay
from eventkit.settings import KafkaSettings
from eventkit.topology import ServiceTopology

BackgroundTask = Callable[[ServiceContext], Coroutine[Any, Any, None]]
# Entered once the context exists and left before it is torn down, e.g. to make and close a shared resource.
Component = Callable[[ServiceContext], AbstractAsyncContextManager[None]]


@dataclass(frozen=True)
class ServiceSpec:
    service: ServiceTopology
    metadata: MetaData
    tables: MessagingTables
    handlers: Mapping[type[EventData], Handler] = field(default_factory=dict)
    # All of a poll batch's events at once (set-based); `handlers` then apply a batch that must go event by event.
    batch_handler: BatchHandler | None = None
    routers: Sequence[APIRouter] = ()
    components: Sequence[Component] = ()
    background: Sequence[BackgroundTask] = ()
    # Sees the events of every committed transaction, e.g. to count outcomes only once they are durable.
    on_committed: CommitObserver | None = None
    # ASGI middleware innermost of all, inside the metrics and tracing (e.g. a hot path for a few routes).
    middleware: Sequence[Callable[[ASGIApp], ASGIApp]] = ()

    def __post_init__(self) -> None:
        check_handlers(self.service, self.handlers)

    @property
    def title(self) -> str:
        return f"orderflow {self.service.name}"


def create_app(
    spec: ServiceSpec,
    settings: ServiceSettings,
    *,
    kafka: KafkaSettings | None = None,
    publisher: Publisher | None = None,
) -> FastAPI:
    kafka_settings = kafka or KafkaSettings()
    name = spec.service.name

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        instrument_engine(engine)
        sender = publisher or EventProducer(kafka_settings, client_id=name)
        await sender.start()
        context = ServiceContext(
            service=spec.service,
            settings=settings,
            engine=engine,
            sessions=make_sessions(engine),
            tables=spec.tables,
            kafka=kafka_settings,
            publisher=sender,
            on_committed=spec.on_committed,
        )
        async with contextlib.AsyncExitStack() as components:
            try:
                for component in spec.components:
                    await components.enter_async_context(component(context))
                await _start_messaging(context, spec, settings)
                context.tasks.extend(asyncio.create_task(task(context)) for task in spec.background)
                app.state.context = context
                yield
            finally:
                await _stop(context)
        await sender.stop()
        await engine.dispose()

    # /docs and /redoc serve Swagger UI and ReDoc from the service itself: an air-gapped cluster reaches no CDN.
    app = FastAPIOffline(title=spec.title, lifespan=lifespan, telemetry=FASTAPI_TELEMETRY)
    for middleware in spec.middleware:
        app.add_middleware(middleware)
    app.add_middleware(DatabaseUnavailable)  # outside the services' own middleware, inside the metrics
    app.add_middleware(HttpMetrics, service=name, access_log=settings.access_log)  # inside the tracing middleware
    instrument_app(app)
    install_http_contract(app)
    app.include_router(health_router())
    app.include_router(metrics_router())
    for router in spec.routers:
        app.include_router(router, responses=UNAVAILABLE)
    return app


async def _start_messaging(context: ServiceContext, spec: ServiceSpec, settings: ServiceSettings) -> None:
    name = spec.service.name
    consuming = settings.consumer_enabled and bool(spec.handlers)
    start_at_zero(
        name,
        context.kafka.topic(spec.service.topic),
        [event.TYPE for event in spec.service.publishes] if settings.relay_enabled else [],
        context.kafka.topic(name) if consuming else None,
        [event.TYPE for event in spec.service.handles],
    )
    if settings.relay_enabled:
        relay = OutboxRelay(context.engine, spec.tables.outbox, context.publisher, name=name, topic=context.kafka.topic)
        context.relay = relay
        context.tasks.append(asyncio.create_task(relay.run(), name=f"{name}-relay"))
        context.tasks.append(asyncio.create_task(relay.report_backlog(), name=f"{name}-backlog"))
    if consuming:
        context.consumer = EventConsumer(
            context.kafka,
            service=spec.service,
            handlers=spec.handlers,
            batch_handler=spec.batch_handler,
            sessions=context.sessions,
            tables=spec.tables,
            sender=context.publisher,
            options=settings.consumer,
            on_commit=context.committed,
        )
        await context.consumer.start()
        context.tasks.append(asyncio.create_task(context.consumer.run(), name=f"{name}-consumer"))


async def _stop(context: ServiceContext) -> None:
    if context.consumer is not None:
        await context.consumer.stop()  # finishes the batch in flight, commits, leaves the group
    if context.relay is not None:
        await context.relay.stop()
    for task in context.tasks:
        task.cancel()
    await asyncio.gather(*context.tasks, return_exceptions=True)
