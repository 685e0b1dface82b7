"""Bootstrap of the inventory service: `orderflow-service serve inventory`."""

from fastapi import FastAPI

from eventkit.host import app as host
from eventkit.host.app import ServiceSpec
from eventkit.host.settings import ServiceSettings
from eventkit.producer import Publisher
from eventkit.settings import KafkaSettings
from eventkit.topology import INVENTORY
from services.inventory.api import router
from services.inventory.consumer import HANDLERS
from services.inventory.handlers import on_orders
from services.inventory.repository import metadata, tables

Settings = ServiceSettings


def spec(settings: ServiceSettings) -> ServiceSpec:
    return ServiceSpec(
        service=INVENTORY,
        metadata=metadata,
        tables=tables,
        handlers=HANDLERS,
        batch_handler=on_orders,
        routers=[router],
    )


def create_app(
    settings: ServiceSettings | None = None, *, kafka: KafkaSettings | None = None, publisher: Publisher | None = None
) -> FastAPI:
    settings = settings or ServiceSettings()
    return host.create_app(spec(settings), settings, kafka=kafka, publisher=publisher)
