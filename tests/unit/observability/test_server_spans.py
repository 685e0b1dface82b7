"""Server spans of HTTP requests and client spans of statements: recorded by the conventions when sampled,
and, when the sampler drops the request, nothing recorded but its context carried on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from eventkit.observability.instrument import FASTAPI_TELEMETRY, instrument_app, instrument_engine
from eventkit.observability.spans import context_headers
from tests.support.tracing import installed

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def traceparent(flags: str) -> dict[str, str]:
    return {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-{flags}"}


def service(engine: AsyncEngine, seen: dict[str, Any]) -> FastAPI:
    """Routes that answer 200, 503 or raise, and note what they saw of the trace; instrumented as create_app
    instruments a service's app."""
    app = FastAPI(telemetry=FASTAPI_TELEMETRY)

    @app.get("/orders/{order_id}")
    async def read(order_id: str) -> dict[str, str]:
        seen["context"] = trace.get_current_span().get_span_context()
        seen["headers"] = dict(context_headers())
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return {"order_id": order_id}

    @app.get("/busy")
    async def busy(response: Response) -> None:
        response.status_code = 503

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    @app.get("/readyz")
    async def ready() -> None:
        return None

    instrument_app(app)
    instrument_engine(engine)
    return app


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    yield engine
    await engine.dispose()


async def get(app: FastAPI, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    # raise_app_exceptions=False: the client gets the 500 a server answers, as uvicorn would send it.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://orders:8000") as client:
        return await client.get(path, headers={"user-agent": "orderflow-test", **(headers or {})})


def only(finished: tuple[ReadableSpan, ...], kind: SpanKind) -> ReadableSpan:
    matching = [span for span in finished if span.kind is kind]
    assert len(matching) == 1, [(span.name, span.kind) for span in finished]
    [span] = matching
    return span


async def test_a_request_is_a_server_span_named_by_its_route_child_of_the_callers_span(
    spans: InMemorySpanExporter, engine: AsyncEngine
) -> None:
    seen: dict[str, Any] = {}
    app = service(engine, seen)

    assert (await get(app, "/orders/o-1?wait=5", traceparent("01"))).status_code == 200

    request = only(spans.get_finished_spans(), SpanKind.SERVER)
    assert request.name == "GET /orders/{order_id}"
    assert format(request.context.trace_id, "032x") == TRACE_ID
    assert request.parent is not None
    assert format(request.parent.span_id, "016x") == PARENT_ID
    assert dict(request.attributes or {}) == {
        "http.request.method": "GET",
        "http.route": "/orders/{order_id}",
        "url.scheme": "http",
        "url.path": "/orders/o-1",
        "url.query": "wait=5",
        "http.response.status_code": 200,
        "network.protocol.version": "1.1",
        "server.address": "orders",
        "server.port": 8000,
        "client.address": "127.0.0.1",
        "user_agent.original": "orderflow-test",
    }
    assert request.status.status_code is StatusCode.UNSET
    statement = only(spans.get_finished_spans(), SpanKind.CLIENT)
    assert statement.parent is not None
    assert statement.parent.span_id == request.context.span_id
    assert seen["context"] == request.context, "the route runs inside the request's span"


@pytest.mark.parametrize(
    ("path", "name", "status", "error"),
    [
        ("/busy", "GET /busy", 503, "503"),
        ("/broken", "GET /broken", 500, "RuntimeError"),
        ("/orders", "GET", 404, None),  # no route matched: the method alone, and a client error is no failure
    ],
)
async def test_a_server_error_fails_the_span_and_a_client_error_does_not(
    spans: InMemorySpanExporter, engine: AsyncEngine, path: str, name: str, status: int, error: str | None
) -> None:
    assert (await get(service(engine, {}), path)).status_code == status

    request = only(spans.get_finished_spans(), SpanKind.SERVER)
    assert request.name == name
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == status
    assert request.attributes.get("error.type") == error
    assert request.status.status_code is (StatusCode.ERROR if error else StatusCode.UNSET)


async def test_probes_get_no_span(spans: InMemorySpanExporter, engine: AsyncEngine) -> None:
    assert (await get(service(engine, {}), "/readyz")).status_code == 200

    assert spans.get_finished_spans() == ()


@pytest.mark.parametrize("caller", ["none", "unsampled"])
async def test_a_request_the_sampler_drops_records_nothing_and_passes_its_context_on_unsampled(
    engine: AsyncEngine, caller: str
) -> None:
    seen: dict[str, Any] = {}
    # ParentBased(ALWAYS_OFF) drops a new trace and follows a caller's decision, as parentbased_traceidratio does.
    with installed(ParentBased(ALWAYS_OFF)) as spans:
        app = service(engine, seen)
        headers = traceparent("00") if caller == "unsampled" else {}
        assert (await get(app, "/orders/o-2", headers)).status_code == 200
        assert spans.get_finished_spans() == (), "neither the request nor its statement is recorded"
        context = seen["context"]
        assert context.is_valid
        assert not context.trace_flags.sampled
        if caller == "unsampled":
            assert format(context.trace_id, "032x") == TRACE_ID
        # What the request publishes carries the trace on, marked not sampled, so its consumers drop it too.
        flags = f"{context.trace_flags:02x}"  # 00, or 02: W3C level 2's random trace id flag, never sampled
        assert seen["headers"]["traceparent"] == f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags}".encode()

        # The caller's decision to sample wins over the local sampler.
        assert (await get(app, "/orders/o-3", traceparent("01"))).status_code == 200
        assert {span.kind for span in spans.get_finished_spans()} == {SpanKind.SERVER, SpanKind.CLIENT}


async def test_a_statement_outside_any_span_gets_none(spans: InMemorySpanExporter, engine: AsyncEngine) -> None:
    instrument_engine(engine)
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))  # a poll: the relay's idle query, a readiness probe

    assert spans.get_finished_spans() == ()
