"""Kafka connection and producer settings, from the same variables locally and in the Helm chart."""

from __future__ import annotations

import ssl
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """`KAFKA_*` locates and authenticates the cluster; `ORDERFLOW_PRODUCER_*` tunes orderflow's producer."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore")

    bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL"
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, validation_alias="KAFKA_SASL_MECHANISM"
    )
    sasl_username: str | None = Field(None, validation_alias="KAFKA_SASL_USERNAME")
    sasl_password: SecretStr | None = Field(None, validation_alias="KAFKA_SASL_PASSWORD")
    ssl_cafile: str | None = Field(None, validation_alias="KAFKA_SSL_CAFILE")

    # Prefixes every topic and consumer group: several stacks (tests, tenants) can share one cluster.
    namespace: str = Field("", validation_alias="ORDERFLOW_KAFKA_NAMESPACE")

    # While Kafka is unreachable, up to this many records wait in memory for this long, then fail loudly.
    producer_buffer_records: int = Field(10_000, gt=0, validation_alias="ORDERFLOW_PRODUCER_BUFFER_RECORDS")
    producer_buffer_seconds: float = Field(120.0, gt=0, validation_alias="ORDERFLOW_PRODUCER_BUFFER_SECONDS")
    producer_linger_ms: int = Field(5, ge=0, validation_alias="ORDERFLOW_PRODUCER_LINGER_MS")
    producer_compression: Literal["gzip", "snappy", "lz4", "zstd"] | None = Field(
        "zstd", validation_alias="ORDERFLOW_PRODUCER_COMPRESSION"
    )

    def topic(self, name: str) -> str:
        """The physical name of a catalog topic or consumer group."""
        return f"{self.namespace}{name}"

    def describe(self) -> str:
        """How this process reaches Kafka, for its start-up log line (never the password)."""
        found = f"{self.bootstrap_servers} over {self.security_protocol}"
        if self.sasl_mechanism is not None:
            found += f" {self.sasl_mechanism} as {self.sasl_username}"
        if self.security_protocol in ("SSL", "SASL_SSL"):
            found += f", hostnames verified against {self.ssl_cafile or 'the system CAs'}"
        return found

    def client_options(self) -> dict[str, Any]:
        """Connection keyword arguments shared by aiokafka producers, consumers and admin clients."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            options["ssl_context"] = ssl.create_default_context(cafile=self.ssl_cafile)
        if self.sasl_mechanism is not None:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password.get_secret_value() if self.sasl_password else None
        return options
