"""The session-scoped `postgres` fixture: one throwaway PostgreSQL server per test run.

tests/conftest.py imports it (`from tests.postgres_fixtures import postgres`), so any test can ask for it;
`postgres.url("name")` creates the database on first use and returns its `postgresql+asyncpg://` URL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orderflow.cache import ToolMissing
from orderflow.devpostgres import LocalPostgres, PostgresError


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    # Imported here: tests/conftest.py imports this module, so a top-level import would be circular.
    from tests.conftest import infrastructure_unavailable

    server = LocalPostgres()
    try:
        server.start()
    except (ToolMissing, PostgresError) as error:
        server.stop()
        infrastructure_unavailable(f"could not start a local PostgreSQL server: {error}")
    try:
        yield server
    finally:
        server.stop()
