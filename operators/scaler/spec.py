"""The ConsumerScaler spec as typed values; its defaults are the CRD's (devstack/scalercrd.py renders them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from operators.scaler.policy import Behavior, Policy

GROUP = "orderflow.io"
VERSION = "v1alpha1"
PLURAL = "consumerscalers"
KIND = "ConsumerScaler"


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ScaleTargetRef(_Model):
    api_version: str = "apps/v1"
    kind: str = "Deployment"
    name: str = Field(min_length=1)


class StrimziRef(_Model):
    """A Strimzi `Kafka` in the scaler's namespace, one of its listeners, and optionally a `KafkaUser`
    whose Secret (SCRAM-SHA-512 or TLS) authenticates the scaler."""

    cluster: str = Field(min_length=1)
    listener: str = "plain"
    kafka_user: str | None = None


class Direction(_Model):
    stabilization_seconds: int = Field(ge=0, le=3600)
    max_step: int = Field(ge=1)


class ScalerSpec(_Model):
    scale_target_ref: ScaleTargetRef
    bootstrap_servers: str | None = None
    strimzi: StrimziRef | None = None
    consumer_group: str = Field(min_length=1)
    # Empty: the topics the group has commits in; a group without commits then has none (never "all").
    topics: list[str] = []
    lag_per_replica: int = Field(100, ge=1)
    activation_lag: int = Field(0, ge=0)
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(10, ge=1)
    poll_interval_seconds: int = Field(10, ge=1, le=600)
    # The rate term aims to clear the backlog within this many seconds on top of the inflow.
    drain_seconds: int = Field(60, ge=1)
    # Seconds after a scale before consumption counts towards the per-replica rate: pods start and join.
    replica_warmup_seconds: int = Field(30, ge=0, le=3600)
    transaction_marker_tolerance: int = Field(1, ge=0, le=10)
    # Each step is a rebalance of the whole group: few large steps beat many small ones.
    scale_up: Direction = Direction(stabilization_seconds=0, max_step=100)
    scale_down: Direction = Direction(stabilization_seconds=60, max_step=100)
    offset_reset_policy: Literal["earliest", "latest"] = "latest"
    paused: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> ScalerSpec:
        if (self.bootstrap_servers is None) == (self.strimzi is None):
            raise ValueError("set exactly one of bootstrapServers and strimzi")
        if self.min_replicas > self.max_replicas:
            raise ValueError("minReplicas must not exceed maxReplicas")
        return self

    def policy(self) -> Policy:
        return Policy(
            lag_per_replica=self.lag_per_replica,
            activation_lag=self.activation_lag,
            min_replicas=self.min_replicas,
            max_replicas=self.max_replicas,
            drain_seconds=self.drain_seconds,
            scale_up=Behavior(self.scale_up.stabilization_seconds, self.scale_up.max_step),
            scale_down=Behavior(self.scale_down.stabilization_seconds, self.scale_down.max_step),
            warmup_seconds=self.replica_warmup_seconds,
        )


class InvalidSpec(ValueError):
    """The spec passed the CRD schema but is still unusable; retrying will not help."""


def parse(spec: dict[str, Any]) -> ScalerSpec:
    try:
        return ScalerSpec.model_validate(spec)
    except ValidationError as error:
        raise InvalidSpec(str(error)) from error
