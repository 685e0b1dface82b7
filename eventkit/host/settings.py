"""`ORDERFLOW_*` settings every service reads; each service subclasses them for its own."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from eventkit.consumer import ConsumerOptions

DATABASE_URL_VARIABLE = "ORDERFLOW_DATABASE_URL"


class ServiceSettings(BaseSettings):
    # Nested options read from e.g. ORDERFLOW_CONSUMER__BATCH_SIZE.
    model_config = SettingsConfigDict(env_prefix="ORDERFLOW_", env_nested_delimiter="__", extra="ignore")

    # Required: a pod that silently wrote to a SQLite file in its temporary volume would lose every order at
    # its next restart. A SQLite URL is the explicit opt-in for demos and `orderflow up`.
    database_url: str = Field(
        min_length=1,
        description="SQLAlchemy async URL: postgresql+asyncpg://user:pass@host/db, or sqlite+aiosqlite:///file.db",
    )
    relay_enabled: bool = Field(True, description="Publish this service's outbox (one leader per database)")
    consumer_enabled: bool = Field(True, description="Consume and handle this service's input topics")
    access_log: bool = Field(True, description="One JSON line per HTTP request (probes and /metrics excepted)")
    consumer: ConsumerOptions = Field(default_factory=ConsumerOptions)
