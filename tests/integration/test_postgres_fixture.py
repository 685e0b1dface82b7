"""The throwaway PostgreSQL server answers over asyncpg and creates databases on demand."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from devstack.postgres import LocalPostgres

pytestmark = pytest.mark.postgres


async def test_select_version_through_asyncpg(postgres: LocalPostgres) -> None:
    url = postgres.url("fixture_check")
    assert url.startswith("postgresql+asyncpg://")
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            version = (await connection.execute(text("SELECT version()"))).scalar_one()
            database = (await connection.execute(text("SELECT current_database()"))).scalar_one()
    finally:
        await engine.dispose()
    assert version.startswith("PostgreSQL ")
    assert database == "fixture_check"


async def test_databases_are_separate_and_url_is_idempotent(postgres: LocalPostgres) -> None:
    first, again, other = postgres.url("fixture_a"), postgres.url("fixture_a"), postgres.url("fixture_b")
    assert first == again != other
    engine = create_async_engine(first)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE only_in_a (id int)"))
    finally:
        await engine.dispose()
    engine = create_async_engine(other)
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(text("SELECT to_regclass('only_in_a') IS NOT NULL"))
    finally:
        await engine.dispose()
    assert found is False


def test_rejects_names_that_need_quoting(postgres: LocalPostgres) -> None:
    with pytest.raises(ValueError, match="database name"):
        postgres.url('x"; DROP DATABASE postgres; --')
