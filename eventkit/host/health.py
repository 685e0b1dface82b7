"""`/livez` and `/readyz`: what Kubernetes' probes ask of every service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy import text

from eventkit.host.context import Context


class Health(BaseModel):
    status: str
    problems: dict[str, str] = {}


_UNHEALTHY: dict[int | str, dict[str, Any]] = {
    503: {"model": Health, "description": "Not alive / not ready; `problems` says why"}
}


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/livez", summary="Liveness: the process runs and its consumer still fetches", responses=_UNHEALTHY)
    async def livez(context: Context, response: Response) -> Health:
        if context.consumer is not None and not context.consumer.alive():
            response.status_code = 503
            return Health(status="not alive", problems={"consumer": "stopped fetching while records wait"})
        return Health(status="ok")

    @router.get(
        "/readyz",
        summary="Readiness: the database answers and the consumer has joined its group",
        responses=_UNHEALTHY,
    )
    async def readyz(context: Context, response: Response) -> Health:
        problems: dict[str, str] = {}
        try:
            async with context.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            problems["database"] = repr(error)
        if context.consumer is not None:
            try:
                missing = await context.consumer.missing_topics()
            except Exception as error:
                problems["kafka"] = repr(error)
            else:
                if missing:
                    problems["kafka"] = f"missing topics: {', '.join(missing)} (create them before the service)"
            if not context.consumer.joined():
                problems["consumer"] = "not yet assigned partitions in its group"
        if problems:
            response.status_code = 503
            return Health(status="not ready", problems=problems)
        return Health(status="ready")

    return router
