"""A service's database migrated by its own Alembic scripts, on SQLite and on PostgreSQL.

A test folder names its service by overriding `service_under_test`; orders keeps fixtures of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from typing import Protocol

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.consumer import Handler
from eventkit.database import make_engine, make_sessions
from eventkit.envelope import CloudEvent
from eventkit.events import EventData
from eventkit.messaging import MessagingTables, UnitOfWork
from eventkit.migrate import upgrade
from orderflow.serve import Service, migrations_dir


class HandlerRunner(Protocol):
    def __call__(
        self, sessions: async_sessionmaker[AsyncSession], handler: Handler, event: CloudEvent, *, crash: bool = False
    ) -> Awaitable[list[EventData]]: ...


@pytest.fixture
def service_under_test() -> Service:
    raise pytest.UsageError("override `service_under_test` in the test folder's conftest.py")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, service_under_test: Service
) -> str:
    name = service_under_test.value
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp(name) / name}.db"
    return str(request.getfixturevalue("postgres").url(f"{name}_{uuid.uuid4().hex[:12]}"))


@pytest.fixture
async def migrated_url(database_url: str, service_under_test: Service) -> str:
    # env.py runs its own event loop, which cannot nest in the test's.
    await asyncio.to_thread(upgrade, migrations_dir(service_under_test), database_url)
    return database_url


@pytest.fixture
async def sessions(migrated_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(migrated_url)
    try:
        yield make_sessions(engine)
    finally:
        await engine.dispose()


def handler_runner(tables: MessagingTables) -> HandlerRunner:
    """`handle(sessions, handler, event)`: one handler call in its own transaction, as the consumer runs it.

    It returns the published data. `crash=True` raises after the handler and the outbox write, before the
    commit, as a dying process would.
    """

    async def handle(
        sessions: async_sessionmaker[AsyncSession], handler: Handler, event: CloudEvent, *, crash: bool = False
    ) -> list[EventData]:
        async with sessions.begin() as session:
            uow = UnitOfWork(session, tables)
            await handler(uow, event)
            await uow.flush()
            if crash:
                raise RuntimeError("crash before commit")
        return [published.data for published in uow.published]

    return handle
