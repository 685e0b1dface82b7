"""Async SQLAlchemy engines for SQLite (the local default) and PostgreSQL (the cluster), tuned alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **options: Any) -> AsyncEngine:
    """An engine whose SQLite connections use WAL and wait for locks instead of failing at once."""
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # A caller's own pool class (migrations: NullPool) takes no pool sizes.
    pooling = {} if "poolclass" in options else {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True}
    return create_async_engine(url, **pooling, **options)


def _sqlite_pragmas(connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
    cursor = connection.cursor()
    # WAL lets the API read while the consumer writes; NORMAL sync is durable across process crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def dialect_insert(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The INSERT of the session's database, which knows ON CONFLICT (PostgreSQL and SQLite alike)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def all_rows_matched(session: AsyncSession, result: Any, expected: int) -> bool:
    """Whether an executemany UPDATE matched `expected` rows, where the driver can tell (sqlite3 sums them).

    asyncpg reports no total for an executemany; callers there hold the rows' locks (SELECT ... FOR UPDATE in
    the same transaction), so the rows they update cannot have moved, and this answers True.
    """
    if session.get_bind().dialect.supports_sane_multi_rowcount or expected <= 1:
        return bool(result.rowcount == expected)
    return True


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
