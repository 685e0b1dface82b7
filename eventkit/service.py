"""The host every service runs in: settings, database, producer, consumer, outbox relay, health and metrics.

A service describes itself with a `ServiceSpec` (its tables, its event handlers, its HTTP routers) and
`create_app` wires the rest, so the three services share one bootstrap instead of three copies.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from eventkit.consumer import ConsumerOptions, EventConsumer, Handler
from eventkit.database import make_engine, make_sessions
from eventkit.envelope import CloudEvent
from eventkit.events import EventData
from eventkit.messaging import MessagingTables, UnitOfWork
from eventkit.observability.instrument import instrument_app, instrument_engine
from eventkit.observability.metrics import HttpMetrics, metrics_router
from eventkit.producer import EventProducer
from eventkit.relay import OutboxRelay
from eventkit.settings import KafkaSettings


class ServiceSettings(BaseSettings):
    """`ORDERFLOW_*` settings common to every service; each service subclasses it for its own."""

    # Nested options read from e.g. ORDERFLOW_CONSUMER__BATCH_SIZE.
    model_config = SettingsConfigDict(env_prefix="ORDERFLOW_", env_nested_delimiter="__", extra="ignore")

    database_url: str = Field("", description="SQLAlchemy async URL; empty means .orderflow/<service>.db")
    relay_enabled: bool = True
    consumer_enabled: bool = True
    consumer: ConsumerOptions = Field(default_factory=ConsumerOptions)

    def database_url_for(self, service: str) -> str:
        return self.database_url or f"sqlite+aiosqlite:///.orderflow/{service}.db"


@dataclass
class ServiceContext:
    """What routes and background tasks of a running service need; one per process."""

    name: str
    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: MessagingTables
    kafka: KafkaSettings
    producer: EventProducer
    consumer: EventConsumer | None = None
    relay: OutboxRelay | None = None
    on_committed: CommitObserver | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """One transaction: commit state and outbox rows together, or neither."""
        async with self.sessions.begin() as session:
            uow = UnitOfWork(session, self.tables)
            yield uow
            await uow.flush()
        if uow.published:
            self.committed(uow.published)

    def committed(self, events: Sequence[CloudEvent]) -> None:
        """Events of a committed transaction (a request's, a batch's): publish them now, let the service count."""
        if self.relay is not None:
            self.relay.wake()
        if self.on_committed is not None:
            self.on_committed(events)


BackgroundTask = Callable[[ServiceContext], Coroutine[Any, Any, None]]
CommitObserver = Callable[[Sequence[CloudEvent]], None]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    metadata: MetaData
    tables: MessagingTables
    handlers: Mapping[type[EventData], Handler] = field(default_factory=dict)
    routers: Sequence[APIRouter] = ()
    background: Sequence[BackgroundTask] = ()
    # Sees the events of every committed transaction, e.g. to count outcomes only once they are durable.
    on_committed: CommitObserver | None = None
    title: str = ""


def context_of(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


Context = Annotated[ServiceContext, Depends(context_of)]


def create_app(spec: ServiceSpec, settings: ServiceSettings, kafka: KafkaSettings | None = None) -> FastAPI:
    kafka_settings = kafka or KafkaSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url_for(spec.name))
        instrument_engine(engine)
        producer = EventProducer(kafka_settings, client_id=spec.name)
        await producer.start()
        context = ServiceContext(
            name=spec.name,
            settings=settings,
            engine=engine,
            sessions=make_sessions(engine),
            tables=spec.tables,
            kafka=kafka_settings,
            producer=producer,
            on_committed=spec.on_committed,
        )
        if settings.relay_enabled:
            context.relay = OutboxRelay(engine, spec.tables.outbox, producer, name=spec.name)
            context.tasks.append(asyncio.create_task(context.relay.run(), name=f"{spec.name}-relay"))
            context.tasks.append(asyncio.create_task(context.relay.report_backlog(), name=f"{spec.name}-backlog"))
        if settings.consumer_enabled and spec.handlers:
            context.consumer = EventConsumer(
                kafka_settings,
                group_id=spec.name,
                handlers=spec.handlers,
                sessions=context.sessions,
                tables=spec.tables,
                producer=producer,
                options=settings.consumer,
                on_commit=context.committed,
            )
            await context.consumer.start()
            context.tasks.append(asyncio.create_task(context.consumer.run(), name=f"{spec.name}-consumer"))
        context.tasks.extend(asyncio.create_task(task(context)) for task in spec.background)
        app.state.context = context
        try:
            yield
        finally:
            if context.consumer is not None:
                await context.consumer.stop()  # finishes the batch in flight, commits, leaves the group
            if context.relay is not None:
                await context.relay.stop()
            for task in context.tasks:
                task.cancel()
            await asyncio.gather(*context.tasks, return_exceptions=True)
            await producer.stop()
            await engine.dispose()

    app = FastAPI(title=spec.title or f"orderflow {spec.name}", lifespan=lifespan)
    app.add_middleware(HttpMetrics, service=spec.name)
    instrument_app(app)
    app.include_router(_health_router())
    app.include_router(metrics_router())
    for router in spec.routers:
        app.include_router(router)
    return app


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/livez", summary="Liveness: the process runs and its consumer still fetches")
    async def livez(context: Context, response: Response) -> dict[str, str]:
        if context.consumer is not None and not context.consumer.alive():
            response.status_code = 503
            return {"status": "consumer stopped fetching"}
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: the database answers and the consumer has joined its group")
    async def readyz(context: Context, response: Response) -> dict[str, str]:
        problems: dict[str, str] = {}
        try:
            async with context.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            problems["database"] = repr(error)
        if context.consumer is not None and not context.consumer.joined():
            problems["consumer"] = "not yet assigned partitions in its group"
        if problems:
            response.status_code = 503
            return {"status": "not ready", **problems}
        return {"status": "ready"}

    return router
