"""`/docs` works with no outside network: Swagger UI's assets come from the service, and a real browser shows
every operation of the service's API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from devstack.children import ServiceProcess, stop_all, wait_ready
from tests.support.browser import rendered_dom
from tests.support.kafka import KafkaCluster
from tests.support.processes import service_processes

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def services(kafka: KafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    settings = asyncio.run(kafka.isolated(partitions=1, retry_levels=1))
    env = {"ORDERFLOW_RELAY_ENABLED": "false", "ORDERFLOW_CONSUMER_ENABLED": "false"}
    processes = service_processes(settings, tmp_path_factory.mktemp("docs"), env)
    for process in processes.values():
        process.start()
    try:
        wait_ready(list(processes.values()), 120)
        yield processes
    finally:
        stop_all(list(processes.values()))


@pytest.mark.parametrize("service", ["orders", "inventory", "payments"])
def test_the_docs_page_shows_every_operation_in_a_browser_offline(
    services: dict[str, ServiceProcess], service: str
) -> None:
    base = services[service].url
    for page in ("/docs", "/redoc"):
        html = httpx.get(f"{base}{page}", timeout=10).text
        assert "https://" not in html, f"{page}: no asset may come from another host"
        assert "http://" not in html, f"{page}: no asset may come from another host"
    paths = httpx.get(f"{base}/openapi.json", timeout=10).json()["paths"]

    dom = rendered_dom(f"{base}/docs")

    assert 'class="swagger-ui' in dom
    for path in paths:
        assert f'data-path="{path}"' in dom, f"{path} is not shown"
