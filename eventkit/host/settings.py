"""`ORDERFLOW_*` settings every service reads; each service subclasses them for its own."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from eventkit.consumer import ConsumerOptions

DATABASE_URL_VARIABLE = "ORDERFLOW_DATABASE_URL"

# Every setting is one flat name, as the producer's (ORDERFLOW_PRODUCER_LINGER_MS) and the switches
# (ORDERFLOW_CONSUMER_ENABLED) always were: ORDERFLOW_CONSUMER_BATCH_SIZE.
CONSUMER_PREFIX = "ORDERFLOW_CONSUMER_"
# Before the first release the consumer's options were nested (ORDERFLOW_CONSUMER__BATCH_SIZE): still read, with a
# warning, until release 0.2.0.
DEPRECATED_CONSUMER_PREFIX = "ORDERFLOW_CONSUMER__"


def consumer_variable(option: str) -> str:
    return CONSUMER_PREFIX + option.upper()


def consumer_variables(option: str) -> tuple[str, str]:
    """The option's variable and, second, its deprecated nested name."""
    return consumer_variable(option), DEPRECATED_CONSUMER_PREFIX + option.upper()


def deprecated_settings(environ: Mapping[str, str]) -> list[str]:
    """A notice for every deprecated variable set in `environ`, naming the one that replaces it."""
    notices = []
    for option in ConsumerOptions.model_fields:
        new, old = consumer_variables(option)
        if old in environ:
            ignored = f"; ignored, as {new} is set too" if new in environ else ""
            notices.append(f"{old} is deprecated and read until release 0.2.0: set {new} instead{ignored}")
    return notices


# The commands that need only the retry levels (topic provisioning, lag) read them as the services do.
RETRY_LEVELS_VARIABLES = list(consumer_variables("retry_levels"))


class ConsumerEnvironment(PydanticBaseSettingsSource):
    """The consumer's options from their flat names, else from the deprecated nested ones."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole block at once

    def __call__(self) -> dict[str, Any]:
        options = {}
        for option in ConsumerOptions.model_fields:
            for name in consumer_variables(option):
                if name in os.environ:
                    options[option] = os.environ[name]
                    break
        return {"consumer": options} if options else {}


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERFLOW_", extra="ignore")

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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        consumer = ConsumerEnvironment(settings_cls)
        return init_settings, env_settings, consumer, dotenv_settings, file_secret_settings
