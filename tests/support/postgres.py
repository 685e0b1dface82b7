"""The session-scoped `postgres` fixture: one throwaway PostgreSQL server per test run.

`postgres.url("name")` creates the database on first use and returns its `postgresql+asyncpg://` URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from devstack.cache import ToolMissing
from devstack.postgres import LocalPostgres, PostgresError
from tests.support.infrastructure import unavailable


@contextlib.contextmanager
def local_server() -> Iterator[LocalPostgres]:
    """A throwaway server, stopped and deleted on exit."""
    server = LocalPostgres()
    try:
        server.start()
    except (ToolMissing, PostgresError) as error:
        server.stop()
        unavailable("a local PostgreSQL server", error)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    with local_server() as server:
        yield server
