"""Bootstrap of the inventory service: `uvicorn --factory services.inventory.app:create_app`."""

from fastapi import FastAPI

from eventkit import service
from eventkit.service import ServiceSettings, ServiceSpec
from eventkit.settings import KafkaSettings
from services.inventory.api import router
from services.inventory.consumer import HANDLERS
from services.inventory.repository import metadata, tables

SPEC = ServiceSpec(
    name="inventory",
    metadata=metadata,
    tables=tables,
    handlers=HANDLERS,
    routers=[router],
    title="orderflow inventory",
)


def create_app(settings: ServiceSettings | None = None, kafka: KafkaSettings | None = None) -> FastAPI:
    return service.create_app(SPEC, settings or ServiceSettings(), kafka)
