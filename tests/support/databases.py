"""A service's database at its head revision, on SQLite and on PostgreSQL, and the checks on its migrations.

A test folder names its service by overriding the `service_name` fixture; `database_url`, `migrated_url`,
`sessions` and `handle` follow from it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, Protocol

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from eventkit.consumer import BatchHandler, Handler
from eventkit.database import make_engine, make_sessions
from eventkit.envelope import CloudEvent
from eventkit.events import EventData
from eventkit.host.registry import find
from eventkit.messaging import MessagingTables, UnitOfWork
from eventkit.migrate import upgrade
from eventkit.topology import SERVICES

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def new_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str) -> str:
    """An empty database for `name` on the backend of `request.param` (sqlite or postgres)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp(name) / name}.db"
    return str(request.getfixturevalue("postgres").url(f"{name}_{uuid.uuid4().hex[:12]}"))


async def migrate(service: str, url: str) -> str:
    # env.py runs its own event loop, which cannot nest in the test's.
    await asyncio.to_thread(upgrade, find(service).migrations(), url)
    return url


@pytest.fixture
def service_name() -> str:
    raise pytest.UsageError("override `service_name` in the test folder's conftest.py")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, service_name: str) -> str:
    return new_database_url(request, tmp_path_factory, service_name)


@pytest.fixture
async def migrated_url(database_url: str, service_name: str) -> str:
    return await migrate(service_name, database_url)


@pytest.fixture
async def sessions(migrated_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(migrated_url)
    try:
        yield make_sessions(engine)
    finally:
        await engine.dispose()


class HandlerRunner(Protocol):
    def __call__(
        self, sessions: async_sessionmaker[AsyncSession], handler: Handler, event: CloudEvent, *, crash: bool = False
    ) -> Awaitable[list[EventData]]: ...


def handler_runner(service: str, tables: MessagingTables) -> HandlerRunner:
    """`handle(sessions, handler, event)`: one handler call in its own transaction, as the consumer runs it.

    It returns the published data. `crash=True` raises after the handler and the outbox write, before the
    commit, as a dying process would.
    """

    async def handle(
        sessions: async_sessionmaker[AsyncSession], handler: Handler, event: CloudEvent, *, crash: bool = False
    ) -> list[EventData]:
        async with sessions.begin() as session:
            uow = UnitOfWork(session, tables, SERVICES[service])
            await handler(uow, event)
            await uow.flush()
            if crash:
                raise RuntimeError("crash before commit")
        return [published.data for published in uow.published]

    return handle


class BatchRunner(Protocol):
    def __call__(
        self, sessions: async_sessionmaker[AsyncSession], handler: BatchHandler, events: Sequence[CloudEvent]
    ) -> Awaitable[list[EventData]]: ...


def batch_runner(service: str, tables: MessagingTables) -> BatchRunner:
    """`handle_batch(sessions, batch_handler, events)`: a poll batch in one transaction, as the consumer runs it;
    the published data."""

    async def handle_batch(
        sessions: async_sessionmaker[AsyncSession], handler: BatchHandler, events: Sequence[CloudEvent]
    ) -> list[EventData]:
        async with sessions.begin() as session:
            uow = UnitOfWork(session, tables, SERVICES[service])
            await handler(uow, events)
            await uow.flush()
        return [published.data for published in uow.published]

    return handle_batch


async def on_connection(url: str, inspect_with: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(inspect_with)
    finally:
        await engine.dispose()


async def schema_differences(url: str, metadata: MetaData) -> list[Any]:
    """What autogenerate would change to make the database match `metadata`: nothing, for a correct migration."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    differences: list[Any] = await on_connection(url, compare)
    return differences


async def table_names(url: str) -> set[str]:
    def names(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names()) - {"alembic_version"}

    found: set[str] = await on_connection(url, names)
    return found
