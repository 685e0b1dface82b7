"""One service with its consumer and relay on a real broker, the other services played by the test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from eventkit.envelope import CloudEvent, to_record
from eventkit.events import EventData
from eventkit.host.context import ServiceContext
from eventkit.settings import KafkaSettings
from eventkit.topology import topic_of
from tests.support.kafka import events_on
from tests.support.waiting import eventually


@dataclass
class RunningService:
    app: FastAPI
    client: httpx.AsyncClient
    kafka: KafkaSettings

    @property
    def context(self) -> ServiceContext:
        context: ServiceContext = self.app.state.context
        return context

    async def send(self, *events: CloudEvent) -> None:
        """Put events on their topics as their publishers would (the service's own producer carries them)."""
        records = ((self.kafka.topic(topic_of(type(e.data))), to_record(e)) for e in events)
        await self.context.publisher.send_all(records)

    async def answers(self, expected: int) -> list[EventData]:
        """The events this service published on its topic, once `expected` arrived."""
        return await events_on(self.kafka, self.context.service.topic, expected)


async def until_ready(client: httpx.AsyncClient, timeout: float = 60.0) -> None:
    """The database answers and the consumer joined its group, so nothing sent from now on is missed."""

    async def status() -> int:
        return (await client.get("/readyz")).status_code

    await eventually(status, lambda code: code == 200, timeout=timeout, what="/readyz == 200")


@contextlib.asynccontextmanager
async def running_service(app: FastAPI, kafka: KafkaSettings) -> AsyncIterator[RunningService]:
    """The app's lifespan and an in-process client; ready before it is handed out."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{app.title.split()[-1]}") as client,
    ):
        await until_ready(client)
        yield RunningService(app, client, kafka)
