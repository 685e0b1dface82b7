"""HTTP request lines: one per request, inside its server span (trace id), naming the order it concerns."""

from __future__ import annotations

import io
import json
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI, Response
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from eventkit.observability.accesslog import order_of
from eventkit.observability.instrument import FASTAPI_TELEMETRY, instrument_app
from eventkit.observability.metrics import HttpMetrics

CREATED = uuid4()


@pytest.fixture
def app(spans: InMemorySpanExporter) -> FastAPI:
    app = FastAPI(telemetry=FASTAPI_TELEMETRY)

    @app.post("/orders", status_code=202)
    async def place(response: Response) -> dict[str, str]:
        response.headers["Location"] = f"/orders/{CREATED}"
        return {}

    @app.get("/orders/{order_id}")
    async def read(order_id: UUID) -> dict[str, str]:
        return {}

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {}

    app.add_middleware(HttpMetrics, service="orders", access_log=True)  # as create_app does: inside tracing
    instrument_app(app)
    return app


async def test_each_request_is_one_json_line_with_its_trace_and_order(
    app: FastAPI, output: io.StringIO, spans: InMemorySpanExporter
) -> None:
    read_id = uuid4()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.post("/orders", json={})).status_code == 202
        assert (await client.get(f"/orders/{read_id}")).status_code == 200
        assert (await client.get("/orders/not-a-uuid")).status_code == 422
        assert (await client.get("/readyz")).status_code == 200

    lines = [json.loads(line) for line in output.getvalue().splitlines()]
    requests = [line for line in lines if line["event"] == "http request"]
    assert [(r["method"], r["path"], r["status"]) for r in requests] == [
        ("POST", "/orders", 202),
        ("GET", f"/orders/{read_id}", 200),
        ("GET", "/orders/not-a-uuid", 422),
    ], "probes are left out"
    placed, read, invalid = requests
    assert placed["order_id"] == str(CREATED), "a POST names the order its Location header names"
    assert read["order_id"] == str(read_id)
    assert read["route"] == "/orders/{order_id}"
    assert invalid["order_id"] == "not-a-uuid", "the path says which order was asked for, valid or not"
    servers = {format(s.context.trace_id, "032x") for s in spans.get_finished_spans() if s.context is not None}
    for line in requests:
        assert line["trace_id"] in servers
        assert line["service"] == "orders"
        assert line["duration_ms"] >= 0
    assert len({line["trace_id"] for line in requests}) == 3, "each request its own trace"


@pytest.mark.parametrize(
    ("params", "location", "expected"),
    [
        ({"order_id": "abc"}, None, "abc"),
        ({}, f"/orders/{CREATED}", str(CREATED)),
        ({}, f"/orders/{CREATED}?wait=5", str(CREATED)),
        ({}, "/stock/SKU-1", None),
        ({}, None, None),
    ],
)
def test_the_order_of_a_request(params: dict[str, object], location: str | None, expected: str | None) -> None:
    assert order_of(params, location) == expected
