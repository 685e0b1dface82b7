"""Run a service's Alembic migrations programmatically (no alembic.ini): `orderflow migrate`, tests, `up`."""

from __future__ import annotations

import asyncio
import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import Connection, MetaData, make_url, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.pool import NullPool

from eventkit.database import is_sqlite, make_engine


def alembic_config(script_location: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    # Alembic's ini interpolation treats % specially; a password may contain one.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# What a database that does not accept connections yet raises, through asyncpg or aiosqlite and SQLAlchemy.
UNREACHABLE: tuple[type[Exception], ...] = (OSError, OperationalError, InterfaceError)


def upgrade_when_reachable(
    script_location: Path, url: str, wait_seconds: float, on_retry: Callable[[Exception], None]
) -> None:
    """`upgrade`, retried while the database does not accept connections yet, for up to `wait_seconds`: a
    migration step started with its database (an init container beside a new PostgreSQL) waits for it instead
    of failing, which kubelet would answer with restarts and skaffold's status check with a failed deploy.
    A SQLite file is never waited for: its errors (OperationalError too) are the migration's own."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            upgrade(script_location, url)
            return
        except UNREACHABLE as error:
            if is_sqlite(url) or time.monotonic() >= deadline:
                raise
            on_retry(error)
            time.sleep(1)


def upgrade(script_location: Path, url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`; creates the SQLite file's folder when needed."""
    if url.startswith("sqlite") and ":///" in url:
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(script_location, url), revision)


# The key of the PostgreSQL advisory lock a migration holds ("orderflo" in ASCII); advisory locks are per database.
MIGRATION_LOCK = 0x6F72_6465_7266_6C6F


def take_migration_lock(connection: Connection) -> None:
    """Wait for the database's migration lock: every pod migrates in an init container, so replicas and dedicated
    consumer or relay pods of one service start migrations of one database together, and two Alembic runs that
    both find no version table both create it (all but one fail). The lock makes them take turns; each one after
    the first finds the database at its head. A session lock, as Alembic commits its own transaction; it ends with
    the migration's connection (NullPool closes it).

    PostgreSQL only: a SQLite file's migrations take turns on `sqlite_migration_lock`, held around the whole run.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        connection.commit()


@contextmanager
def sqlite_migration_lock(url: str) -> Iterator[None]:
    """`take_migration_lock` for a SQLite file: an exclusive `flock` on `<database file>.migrate-lock`, held while
    the block runs (nothing for other databases, or in-memory SQLite, which no other process sees). SQLite takes
    turns on single writes, not on migrations: processes that all find no version table all create it, and all
    but one fail. Taken before connecting, as connecting already writes (the switch to WAL). Closing the file
    drops the lock, on error or death alike; the file stays, as deleting it while a process waits on it would
    let a newcomer lock a new file beside the waiter.
    """
    database = make_url(url).database if is_sqlite(url) else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "ab") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's Alembic `env.py`, for SQLite (aiosqlite) and PostgreSQL (asyncpg) alike.

    Async drivers are driven through `run_sync`; SQLite runs in batch mode because it alters a table only by
    copying it. Offline mode (`--sql`) renders the SQL instead of running it.
    """
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no sqlalchemy.url in the Alembic config (see eventkit.migrate.alembic_config)")
    if context.is_offline_mode():
        context.configure(
            url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=url.startswith("sqlite")
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        take_migration_lock(connection)
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        # NullPool: a one-off migration keeps no connection after it finishes.
        # The services' engine, so a SQLite file leaves its migration in WAL, which persists: switching it later
        # takes an exclusive lock, and a service's connection switching it beside another's read was locked out.
        engine = make_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(migrate)
        finally:
            await engine.dispose()

    with sqlite_migration_lock(url):
        asyncio.run(run())


def rename_constraints(renames: dict[str, dict[str, str]]) -> None:
    """In a migration: give constraints that PostgreSQL named by default (`stock_pkey`) the shared convention's
    names (`pk_stock`, see eventkit.columns). Per table, {old name: new name}.

    A database made after the convention was adopted has the new names already (Alembic applies the target
    metadata's convention to every operation), so only names that exist are renamed. SQLite is left alone: its
    constraints made without a name have none to rename, and nothing reads them.
    """
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    named = text("SELECT 1 FROM pg_constraint WHERE conname = :name AND conrelid = CAST(:table AS regclass)")
    for table, names in renames.items():
        for old, new in names.items():
            if bind.execute(named, {"name": old, "table": table}).first() is not None:
                op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{old}" TO "{new}"')
