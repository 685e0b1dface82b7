"""Bootstrap of the payments service: `orderflow-service serve payments`."""

from fastapi import FastAPI

from eventkit.host import app as host
from eventkit.host.app import ServiceSpec
from eventkit.producer import Publisher
from eventkit.settings import KafkaSettings
from eventkit.topology import PAYMENTS
from services.payments.api import router
from services.payments.consumer import batch_handler, handlers
from services.payments.provider import PaymentProvider, SimulatedProvider
from services.payments.repository import metadata, tables
from services.payments.settings import PaymentsSettings

Settings = PaymentsSettings


def simulated_provider(settings: PaymentsSettings) -> SimulatedProvider:
    return SimulatedProvider(
        default_limit=settings.default_limit,
        limits=settings.customer_limits,
        transient_failure_rate=settings.transient_failure_rate,
        flaky_failures=settings.flaky_failures,
    )


def spec(settings: PaymentsSettings, provider: PaymentProvider | None = None) -> ServiceSpec:
    """The handlers charge through `provider`: the simulator the settings describe, unless one is given."""
    chosen = provider or simulated_provider(settings)
    return ServiceSpec(
        service=PAYMENTS,
        metadata=metadata,
        tables=tables,
        handlers=handlers(chosen),
        batch_handler=batch_handler(chosen),
        routers=[router],
    )


def create_app(
    settings: PaymentsSettings | None = None,
    *,
    kafka: KafkaSettings | None = None,
    publisher: Publisher | None = None,
    provider: PaymentProvider | None = None,
) -> FastAPI:
    settings = settings or PaymentsSettings()
    return host.create_app(spec(settings, provider), settings, kafka=kafka, publisher=publisher)
