"""Every service's Alembic migrations build exactly the schema its code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import fcntl
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from devstack.postgres import LocalPostgres
from eventkit.host.registry import find
from eventkit.migrate import alembic_config
from services.inventory.repository import metadata as inventory
from services.orders.repository import metadata as orders
from services.payments.repository import metadata as payments
from tests.support.databases import BACKENDS, migrate, new_database_url, on_connection, schema_differences, table_names

METADATA = {"orders": orders, "inventory": inventory, "payments": payments}
# Replicas of one service starting together; more than the two cores, so that they overlap.
PODS = 4


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> pytest.FixtureRequest:
    return request


@pytest.mark.parametrize("service", sorted(METADATA))
async def test_the_head_revision_is_the_schema_the_code_declares_and_downgrades_to_nothing(
    service: str, backend: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = await migrate(service, new_database_url(backend, tmp_path_factory, service))
    metadata = METADATA[service]

    assert await schema_differences(url, metadata) == []
    assert await table_names(url) == set(metadata.tables)

    # Alembic's env.py runs its own event loop, so it runs off this one, like `orderflow-service migrate` does.
    config = alembic_config(find(service).migrations(), url)
    await asyncio.to_thread(command.downgrade, config, "base")
    assert await table_names(url) == set()


async def test_a_migrated_sqlite_file_is_left_in_wal(tmp_path_factory: pytest.TempPathFactory) -> None:
    """WAL persists in the file; a service's connection switching it beside another's read would be locked out."""
    url = await migrate("orders", f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('wal') / 'orders.db'}")
    assert await on_connection(url, lambda c: c.exec_driver_sql("PRAGMA journal_mode").scalar()) == "wal"


@pytest.mark.postgres
@pytest.mark.parametrize("service", ["inventory", "payments"])
async def test_a_database_made_before_the_naming_convention_gets_its_names(
    service: str, postgres: LocalPostgres
) -> None:
    """0002 renames PostgreSQL's default constraint names, which databases from before the convention carry."""
    url = postgres.url(f"{service}_{uuid.uuid4().hex[:8]}")
    config = alembic_config(find(service).migrations(), url)
    await asyncio.to_thread(command.upgrade, config, "0001")
    old_names = {"inventory": ("stock", "stock_pkey"), "payments": ("payments", "payments_pkey")}
    table, old = old_names[service]
    engine = create_async_engine(url)
    async with engine.begin() as connection:  # as a database migrated before 0002 was written names it
        await connection.execute(text(f'ALTER TABLE "{table}" RENAME CONSTRAINT "pk_{table}" TO "{old}"'))
    await engine.dispose()
    assert await on_connection(url, lambda c: inspect(c).get_pk_constraint(table)["name"]) == old

    await asyncio.to_thread(command.upgrade, config, "head")

    names = await on_connection(url, lambda c: inspect(c).get_pk_constraint(table)["name"])
    assert names == f"pk_{table}"


@pytest.mark.postgres
@pytest.mark.parametrize("service", sorted(METADATA))
async def test_pods_migrating_one_database_at_once_all_succeed(service: str, postgres: LocalPostgres) -> None:
    """Every pod runs `orderflow-service migrate` as an init container, so several replicas of one service (or its
    dedicated consumer and relay pods) migrate one database at once: each must finish, with the schema once.

    So that they overlap for certain, not only when their starts happen to, the test holds Alembic's first step
    (creating its version table) open in a transaction of its own until every pod waits on a lock, then rolls back.
    """
    url = postgres.url(f"{service}_{uuid.uuid4().hex[:8]}")
    command_line = [str(Path(sys.executable).with_name("orderflow-service")), "migrate", service, "--url", url]
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as holder, engine.connect() as watcher:
            await holder.execute(text("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)"))
            pods = [
                await asyncio.create_subprocess_exec(
                    *command_line, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
                )
                for _ in range(PODS)
            ]
            waiting = text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            async with asyncio.timeout(120):
                while (await watcher.execute(waiting)).scalar_one() < PODS:
                    await watcher.rollback()  # a fresh snapshot of the statistics for the next look
                    await asyncio.sleep(0.1)
            await holder.rollback()
            outputs = [(await pod.communicate())[0].decode() for pod in pods]
    finally:
        await engine.dispose()

    assert [pod.returncode for pod in pods] == [0] * PODS, "\n---\n".join(outputs)
    assert await schema_differences(url, METADATA[service]) == []
    count = "SELECT count(*) FROM alembic_version"
    assert await on_connection(url, lambda c: c.exec_driver_sql(count).scalar()) == 1


@pytest.mark.parametrize("service", sorted(METADATA))
async def test_processes_migrating_one_sqlite_file_at_once_all_succeed(service: str, tmp_path: Path) -> None:
    """The SQLite counterpart: several `orderflow-service migrate` of one fresh file at once each finish.

    So that they overlap for certain, the test holds the file's migration lock and, in a write transaction of its
    own, Alembic's version table (for a process that would get past the lock) until every process waits on one
    of them, then lets go of both. `--wait-seconds 0`: a collision must fail, not be retried as an unreachable
    database (SQLite's "table already exists" is an OperationalError like one).
    """
    database = tmp_path / f"{service}.db"
    url = f"sqlite+aiosqlite:///{database}"
    command_line = [str(Path(sys.executable).with_name("orderflow-service")), "migrate", service, "--url", url]
    with migration_lock_and_version_table_held(database):
        pods = [
            await asyncio.create_subprocess_exec(
                *command_line, "--wait-seconds", "0", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
            )
            for _ in range(PODS)
        ]
        async with asyncio.timeout(120):
            while not all(pod.pid in flock_waiters() or in_nanosleep(pod.pid) for pod in pods):
                if any(pod.returncode is not None for pod in pods):
                    break
                await asyncio.sleep(0.1)
    outputs = [(await pod.communicate())[0].decode() for pod in pods]

    assert [pod.returncode for pod in pods] == [0] * PODS, "\n---\n".join(outputs)
    assert await schema_differences(url, METADATA[service]) == []
    count = "SELECT count(*) FROM alembic_version"
    assert await on_connection(url, lambda c: c.exec_driver_sql(count).scalar()) == 1


@contextmanager
def migration_lock_and_version_table_held(database: Path) -> Iterator[None]:
    """The SQLite file's migration lock, and Alembic's version table created in a write transaction; on leaving,
    the transaction rolls back, then the lock is released."""
    with (
        Path(f"{database}.migrate-lock").open("ab") as lock,
        closing(sqlite3.connect(database, isolation_level=None)) as holder,
    ):
        fcntl.flock(lock, fcntl.LOCK_EX)
        holder.execute("PRAGMA journal_mode=WAL")  # as the processes' connections set it: they read past the write
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        yield


def flock_waiters() -> set[int]:
    """The processes waiting for a `flock`: /proc/locks lists each after its holder, `5: -> FLOCK  ADVISORY  WRITE
    1522 fe:00:10012564 0 EOF`."""
    waiters = set()
    for line in Path("/proc/locks").read_text().splitlines():
        match line.split():
            case [_, "->", "FLOCK", _, _, pid, *_]:
                waiters.add(int(pid))
    return waiters


def in_nanosleep(pid: int) -> bool:
    """Whether a thread of `pid` sleeps in nanosleep, as SQLite's busy handler does between tries of a locked
    write (aiosqlite runs it on a thread of its own)."""
    for wchan in Path(f"/proc/{pid}/task").glob("*/wchan"):
        with suppress(FileNotFoundError, ProcessLookupError):
            if "nanosleep" in wchan.read_text():
                return True
    return False
