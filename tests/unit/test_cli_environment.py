"""The CLI finds the services and the retry levels in the environment, as the chart's operations pod sets them.

Each command's network call is replaced by a recorder: what matters is the address or topics it was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from typer.testing import CliRunner

from orderflow import demo, lag, load, verify
from orderflow.cli import app

URLS = ("ORDERFLOW_ORDERS_URL", "ORDERFLOW_INVENTORY_URL", "ORDERFLOW_PAYMENTS_URL")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    recorded: list[tuple[Any, ...]] = []

    async def collect(*urls: str) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
        recorded.append(urls)
        return [], {}, {}

    async def reachable(url: str) -> str:
        recorded.append((url,))
        return "recorded"  # stops `load` before it places anything

    def seed_demo_stock(url: str) -> list[str]:
        recorded.append((url,))
        return []

    async def read_lag(_settings: Any, group: str, topics: list[str], *_: Any) -> tuple[list[str], list[Any]]:
        recorded.append((group, *topics))
        return [], []

    monkeypatch.setattr(verify, "collect", collect)
    monkeypatch.setattr(load, "_reachable", reachable)
    monkeypatch.setattr(demo, "seed_demo_stock", seed_demo_stock)
    monkeypatch.setattr(lag, "read_lag", read_lag)
    return recorded


def _run(args: list[str], env: Mapping[str, str | None]) -> None:
    # None unsets: a developer's own environment must not decide the outcome.
    done = CliRunner().invoke(app, args, env={**dict.fromkeys(URLS), "ORDERFLOW_CONSUMER_RETRY_LEVELS": None, **env})
    assert done.exit_code in (0, 1), done.output


IN_CLUSTER = {
    "ORDERFLOW_ORDERS_URL": "http://of-orderflow-orders:8000",
    "ORDERFLOW_INVENTORY_URL": "http://of-orderflow-inventory:8000",
    "ORDERFLOW_PAYMENTS_URL": "http://of-orderflow-payments:8000",
}


def test_verify_load_and_seed_find_the_services_in_the_environment(calls: list[tuple[Any, ...]]) -> None:
    _run(["verify"], IN_CLUSTER)
    _run(["load", "--orders", "1"], IN_CLUSTER)
    _run(["seed"], IN_CLUSTER)
    assert calls == [
        ("http://of-orderflow-orders:8000", "http://of-orderflow-inventory:8000", "http://of-orderflow-payments:8000"),
        ("http://of-orderflow-orders:8000",),
        ("http://of-orderflow-inventory:8000",),
    ]


def test_a_flag_wins_over_the_environment_and_without_either_the_local_stack_is_the_default(
    calls: list[tuple[Any, ...]],
) -> None:
    _run(["verify", "--payments-url", "http://elsewhere:9"], IN_CLUSTER)
    _run(["seed"], {})
    assert calls == [
        ("http://of-orderflow-orders:8000", "http://of-orderflow-inventory:8000", "http://elsewhere:9"),
        ("http://127.0.0.1:8001",),
    ]


def test_lag_counts_the_retry_topics_the_services_have(calls: list[tuple[Any, ...]]) -> None:
    _run(["lag", "--group", "inventory"], {"ORDERFLOW_CONSUMER_RETRY_LEVELS": "1"})
    _run(["lag", "--group", "inventory"], {})
    assert calls == [
        ("inventory", "orders", "orders.retry.1"),
        ("inventory", "orders", "orders.retry.1", "orders.retry.2", "orders.retry.3"),
    ]


def test_order_reads_the_orders_api_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    asked: list[str] = []

    def get(url: str, **_: Any) -> httpx.Response:
        asked.append(url)
        known = url.endswith("/orders/o-1")
        body = {"order_id": "o-1", "status": "CONFIRMED"} if known else {"detail": "not found"}
        return httpx.Response(200 if known else 404, json=body, request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx, "get", get)
    env = {"ORDERFLOW_ORDERS_URL": "http://orders.shop:8000"}
    found = CliRunner().invoke(app, ["order", "o-1"], env=env)
    assert found.exit_code == 0, found.output
    assert '"status": "CONFIRMED"' in found.output
    missing = CliRunner().invoke(app, ["order", "o-2"], env=env)
    assert missing.exit_code == 1
    assert "no order o-2 at http://orders.shop:8000" in missing.output
    assert asked == ["http://orders.shop:8000/orders/o-1", "http://orders.shop:8000/orders/o-2"]
