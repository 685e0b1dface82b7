"""Operator-wide settings from `ORDERFLOW_SCALER_*` (the chart sets them; tests pass an instance in memo)."""

from __future__ import annotations

import socket
import uuid

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OperatorConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERFLOW_SCALER_", extra="ignore")

    # Where the leader Lease lives: the operator's own namespace (the chart passes it via the downward API).
    lease_namespace: str = "default"
    lease_name: str = "orderflow-scaler"
    lease_seconds: float = Field(15.0, gt=0)
    identity: str = Field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}")
    # 0 disables the metrics endpoint (tests read the registry directly).
    metrics_port: int = Field(8080, ge=0, le=65535)
    kafka_timeout_seconds: float = Field(10.0, gt=0)
    max_backoff_seconds: float = Field(300.0, gt=0)
