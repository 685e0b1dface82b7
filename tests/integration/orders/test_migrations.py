"""The Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from eventkit.migrate import alembic_config
from services.orders.migrations import SCRIPT_LOCATION
from services.orders.repository import metadata


async def on_connection(url: str, inspect_with: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(inspect_with)
    finally:
        await engine.dispose()


def schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_the_head_revision_matches_the_metadata_including_outbox_and_inbox(database_url: str) -> None:
    assert await on_connection(database_url, schema_differences) == []
    assert await on_connection(database_url, table_names) == {"orders", "order_lines", "outbox", "inbox"}


async def test_downgrading_to_base_removes_every_table(database_url: str) -> None:
    # Alembic's env.py runs its own event loop, so it runs off this one, like `orderflow migrate` does.
    await asyncio.to_thread(command.downgrade, alembic_config(SCRIPT_LOCATION, database_url), "base")

    assert await on_connection(database_url, table_names) == set()
