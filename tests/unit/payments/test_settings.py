"""Payments settings come from ORDERFLOW_PAYMENTS_* and shape the simulated provider."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.payments.app import simulated_provider
from services.payments.settings import PaymentsSettings


def test_the_simulator_is_configured_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERFLOW_PAYMENTS_TRANSIENT_FAILURE_RATE", "0.25")
    monkeypatch.setenv("ORDERFLOW_PAYMENTS_FLAKY_FAILURES", "1")
    monkeypatch.setenv("ORDERFLOW_PAYMENTS_DEFAULT_LIMIT", "500")
    monkeypatch.setenv("ORDERFLOW_PAYMENTS_CUSTOMER_LIMITS", '{"c-vip": "90000"}')
    monkeypatch.setenv("ORDERFLOW_DATABASE_URL", "sqlite+aiosqlite:///payments.db")

    settings = PaymentsSettings()
    provider = simulated_provider(settings)

    assert settings.database_url == "sqlite+aiosqlite:///payments.db"
    assert provider.transient_failure_rate == 0.25
    assert provider.flaky_failures == 1
    assert provider.default_limit == Decimal(500)
    assert provider.limits == {"c-vip": Decimal(90_000)}


def test_by_default_the_simulator_never_fails_transiently(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERFLOW_PAYMENTS_TRANSIENT_FAILURE_RATE", raising=False)

    assert PaymentsSettings(database_url="sqlite+aiosqlite://").transient_failure_rate == 0.0


def test_a_failure_rate_outside_zero_to_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERFLOW_PAYMENTS_TRANSIENT_FAILURE_RATE", "1.5")

    with pytest.raises(ValueError, match="less than or equal to 1"):
        PaymentsSettings(database_url="sqlite+aiosqlite://")


def test_without_a_database_url_a_service_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # A pod must never fall back to a SQLite file in its temporary volume: the variable is required.
    monkeypatch.delenv("ORDERFLOW_DATABASE_URL", raising=False)

    with pytest.raises(ValueError, match="database_url"):
        PaymentsSettings()
