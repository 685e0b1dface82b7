"""Every service answers only what its OpenAPI document says, and accepts every request the document allows.

Schemathesis (its real CLI) generates requests from each running service's own document: schema-valid ones must
not be rejected, invalid ones must be, and every status, header and body must be documented.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.children import ServiceProcess, stop_all, wait_ready
from tests.support.kafka import KafkaCluster
from tests.support.processes import service_processes
from tests.support.schemas import objects

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(900)]

# The long poll (`?wait=`) holds a request up to 30 s by design: the timeout allows it; orders are swept
# (cancelled) after a second, so a long poll on an order the run created ends within about a second.
# The coverage phase sends each bound of a number and one step past it, so a bound the tables cannot hold fails.
CHECKS = [
    "--phases",
    "examples,coverage,fuzzing",
    "--checks",
    "all",
    "--request-timeout",
    "40",
    "--max-response-time",
    "35",
    "--max-examples",
    "25",
    "--seed",
    "20261201",
]
# JSON Schema's words for bounds; pydantic leaves its own (gt, le, ...) in a schema it could not translate.
PYDANTIC_ONLY = {"gt", "ge", "lt", "le"}


@pytest.fixture(scope="module")
def services(kafka: KafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    settings = asyncio.run(kafka.isolated(partitions=1, retry_levels=1))
    env = {
        "ORDERFLOW_RELAY_ENABLED": "false",
        "ORDERFLOW_CONSUMER_ENABLED": "false",
        "ORDERFLOW_PENDING_TIMEOUT_SECONDS": "1",
        "ORDERFLOW_SWEEP_INTERVAL_SECONDS": "0.2",
    }
    processes = service_processes(settings, tmp_path_factory.mktemp("contract"), env)
    for process in processes.values():
        process.start()
    try:
        wait_ready(list(processes.values()), 120)
        yield processes
    finally:
        stop_all(list(processes.values()))


@pytest.mark.parametrize("service", ["orders", "inventory", "payments"])
def test_the_service_keeps_to_its_openapi_document(
    services: dict[str, ServiceProcess], service: str, tmp_path: Path
) -> None:
    schemathesis = Path(sys.executable).with_name("st")
    run = subprocess.run(
        [str(schemathesis), "run", f"{services[service].url}/openapi.json", *CHECKS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {key for value in node.values() for key in _keys(value)}
    if isinstance(node, list):
        return {key for value in node for key in _keys(value)}
    return set()


@pytest.mark.parametrize("service", ["orders", "inventory", "payments"])
def test_every_bound_is_written_in_json_schema_terms(services: dict[str, ServiceProcess], service: str) -> None:
    document = httpx.get(f"{services[service].url}/openapi.json", timeout=10).json()
    assert _keys(document["components"]["schemas"]) & PYDANTIC_ONLY == set()
    assert _keys(document["paths"]) & PYDANTIC_ONLY == set()


def _resolved(node: Any, document: dict[str, Any]) -> Any:
    """`node` with every `$ref` into `#/components/schemas` replaced by its target (the documents have no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _resolved(document["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]], document)
        return {key: _resolved(value, document) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(value, document) for value in node]
    return node


def _unbounded_numbers(node: Any, where: str) -> list[str]:
    """Where in a schema a number lacks a lower or an upper bound (an enum bounds it too)."""
    return [
        path
        for path, schema in objects(node, where)
        if schema.get("type") in ("integer", "number")
        and "enum" not in schema
        and not ({"minimum", "exclusiveMinimum"} & set(schema) and {"maximum", "exclusiveMaximum"} & set(schema))
    ]


@pytest.mark.parametrize("service", ["orders", "inventory", "payments"])
def test_every_number_a_request_may_carry_is_bounded(services: dict[str, ServiceProcess], service: str) -> None:
    """A number without bounds reaches the database as sent (PUT /stock with 2**63 once answered 500): every
    parameter and body field is bounded in the document, and the coverage phase above sends each bound."""
    document = httpx.get(f"{services[service].url}/openapi.json", timeout=10).json()
    requests = {
        f"{method.upper()} {path}": {
            "parameters": operation.get("parameters", []),
            "body": operation.get("requestBody"),
        }
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    assert [
        where for name, request in requests.items() for where in _unbounded_numbers(_resolved(request, document), name)
    ] == []
