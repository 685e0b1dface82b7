"""HTTP RED metrics by route template, and the `/metrics` endpoint serving them."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, HTTPException
from prometheus_client import REGISTRY

from eventkit.observability.metrics import HttpMetrics, metrics_router


def _app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(HttpMetrics, service="unit-http")
    app.include_router(metrics_router())

    @app.get("/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        if thing_id == 0:
            raise HTTPException(503, "no thing zero")
        return {"id": thing_id}

    @app.get("/livez")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _requests(route: str, status: str) -> float:
    labels = {"service": "unit-http", "method": "GET", "route": route, "status": status}
    return REGISTRY.get_sample_value("orderflow_http_requests_total", labels) or 0.0


async def test_requests_are_counted_by_route_template_status_and_never_by_raw_path() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://unit") as client:
        for path in ("/things/1", "/things/2", "/things/0", "/nowhere", "/livez"):
            await client.get(path)
        exposed = (await client.get("/metrics")).text

    assert _requests("/things/{thing_id}", "200") == 2
    assert _requests("/things/{thing_id}", "503") == 1
    assert _requests("unmatched", "404") == 1
    assert _requests("/livez", "200") == 0  # probes and scrapes are not traffic
    assert _requests("/metrics", "200") == 0
    duration = {"service": "unit-http", "method": "GET", "route": "/things/{thing_id}"}
    assert REGISTRY.get_sample_value("orderflow_http_request_duration_seconds_count", duration) == 3
    assert (
        'orderflow_http_requests_total{method="GET",route="/things/{thing_id}",service="unit-http",status="200"} 2.0'
        in exposed
    )
