"""A migrated orders database per test, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.database import make_engine, make_sessions
from eventkit.messaging import UnitOfWork
from orderflow.devpostgres import LocalPostgres
from services.orders.migrations import upgrade
from services.orders.repository import tables

UowFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty orders database brought to the head revision by the real migrations."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"
    else:
        server: LocalPostgres = request.getfixturevalue("postgres")
        url = server.url(f"orders_{uuid4().hex[:12]}")
    upgrade(url)
    return url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    yield make_sessions(engine)
    await engine.dispose()


@pytest.fixture
def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> UowFactory:
    """A transaction as the service runs one: state and staged outbox rows commit together."""

    @asynccontextmanager
    async def begin() -> AsyncIterator[UnitOfWork]:
        async with sessions.begin() as session:
            uow = UnitOfWork(session, tables)
            yield uow
            await uow.flush()

    return begin
