"""Payments settings: the common service settings plus the simulated provider's behaviour."""

from decimal import Decimal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from eventkit.host.settings import ServiceSettings


class PaymentsSettings(ServiceSettings):
    # Explicit ORDERFLOW_PAYMENTS_* names: the launcher sets one environment for all three services.
    model_config = SettingsConfigDict(populate_by_name=True)

    transient_failure_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        validation_alias="ORDERFLOW_PAYMENTS_TRANSIENT_FAILURE_RATE",
        description="Share of orders whose first provider calls fail transiently",
    )
    flaky_failures: int = Field(
        2,
        ge=0,
        validation_alias="ORDERFLOW_PAYMENTS_FLAKY_FAILURES",
        description="Transient failures of a flaky order before its calls succeed",
    )
    default_limit: Decimal = Field(
        Decimal(10_000),
        ge=0,
        validation_alias="ORDERFLOW_PAYMENTS_DEFAULT_LIMIT",
        description="Largest amount a customer may be charged per order, in any currency",
    )
    customer_limits: dict[str, Decimal] = Field(
        default_factory=dict,
        validation_alias="ORDERFLOW_PAYMENTS_CUSTOMER_LIMITS",
        description='Per-customer overrides of the limit, as JSON: {"customer-7": "50"}',
    )
