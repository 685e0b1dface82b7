"""The payments database for these tests, migrated by its own Alembic scripts (tests/support/databases.py)."""

import pytest


@pytest.fixture
def service_name() -> str:
    return "payments"
