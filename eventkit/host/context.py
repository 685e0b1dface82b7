"""What the routes and background tasks of a running service share: one `ServiceContext` per process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from eventkit.consumer import EventConsumer
from eventkit.envelope import CloudEvent
from eventkit.host.settings import ServiceSettings
from eventkit.messaging import MessagingTables, UnitOfWork
from eventkit.observability.spans import context_headers
from eventkit.producer import Publisher
from eventkit.relay import OutboxRelay
from eventkit.settings import KafkaSettings
from eventkit.topology import ServiceTopology

T = TypeVar("T")
CommitObserver = Callable[[Sequence[CloudEvent]], None]


@dataclass
class ServiceContext:
    service: ServiceTopology
    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: MessagingTables
    kafka: KafkaSettings
    publisher: Publisher
    consumer: EventConsumer | None = None
    relay: OutboxRelay | None = None
    on_committed: CommitObserver | None = None
    # More observers of committed events, added by components (e.g. the long-poll watcher of orders).
    observers: list[CommitObserver] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Objects a service's components make at start-up (e.g. the orders long-poll watcher), by type.
    resources: dict[type[Any], Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.service.name

    def resource(self, kind: type[T]) -> T:
        found = self.resources.get(kind)
        if not isinstance(found, kind):
            raise LookupError(f"{self.name} has no {kind.__name__}: no component of its spec made one")
        return found

    @contextlib.asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """One transaction: commit state and outbox rows together, or neither."""
        async with self.sessions.begin() as session:
            uow = UnitOfWork(session, self.tables, self.service, context_headers)
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
        for observer in self.observers:
            observer(events)


async def context_of(request: Request) -> ServiceContext:
    # async on purpose: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per request.
    context: ServiceContext = request.app.state.context
    return context


Context = Annotated[ServiceContext, Depends(context_of)]
