"""Bootstrap of the payments service: `uvicorn --factory services.payments.app:create_app`."""

from fastapi import FastAPI

from eventkit import service
from eventkit.service import ServiceSpec
from eventkit.settings import KafkaSettings
from services.payments.api import router
from services.payments.consumer import handlers
from services.payments.provider import PaymentProvider, SimulatedProvider
from services.payments.repository import metadata, tables
from services.payments.settings import PaymentsSettings

NAME = "payments"


def spec(provider: PaymentProvider) -> ServiceSpec:
    """The service around `provider`; a function, not a constant, because the handlers need the provider."""
    return ServiceSpec(
        name=NAME,
        metadata=metadata,
        tables=tables,
        handlers=handlers(provider),
        routers=[router],
        title="orderflow payments",
    )


def simulated_provider(settings: PaymentsSettings) -> SimulatedProvider:
    return SimulatedProvider(
        default_limit=settings.default_limit,
        limits=settings.customer_limits,
        transient_failure_rate=settings.transient_failure_rate,
        flaky_failures=settings.flaky_failures,
    )


def create_app(
    settings: PaymentsSettings | None = None,
    kafka: KafkaSettings | None = None,
    provider: PaymentProvider | None = None,
) -> FastAPI:
    settings = settings or PaymentsSettings()
    return service.create_app(spec(provider or simulated_provider(settings)), settings, kafka)
