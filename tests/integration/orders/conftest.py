"""The orders database for these tests, migrated by its own Alembic scripts (tests/support/databases.py)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.messaging import UnitOfWork
from eventkit.topology import ORDERS
from services.orders.repository import tables


@pytest.fixture
def service_name() -> str:
    return "orders"


UowFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


@pytest.fixture
def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> UowFactory:
    """A transaction as the service runs one: state and staged outbox rows commit together."""

    @asynccontextmanager
    async def begin() -> AsyncIterator[UnitOfWork]:
        async with sessions.begin() as session:
            uow = UnitOfWork(session, tables, ORDERS)
            yield uow
            await uow.flush()

    return begin
