"""The inventory database for these tests: see tests/integration/conftest.py."""

import pytest

from orderflow.serve import Service


@pytest.fixture
def service_under_test() -> Service:
    return Service.inventory
