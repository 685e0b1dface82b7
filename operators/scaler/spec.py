"""The ConsumerScaler spec as typed values, and the declaration of the CRD's spec schema: devstack/scalercrd.py
derives its fields, types, bounds, enums, defaults, required fields and descriptions (`Field(description=...)`, what
`kubectl explain` shows) from this model, and adds only what it says it adds. Class docstrings are for Python
readers only."""

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
    max_step: int = Field(ge=1, description="most replicas added/removed per decision")


class ScalerSpec(_Model):
    scale_target_ref: ScaleTargetRef = Field(description="any object with a /scale subresource in this namespace")
    bootstrap_servers: str | None = Field(None, description="host:port[,host:port]")
    strimzi: StrimziRef | None = Field(
        None, description="a Strimzi Kafka in this namespace and a KafkaUser whose Secret authenticates"
    )
    consumer_group: str = Field(min_length=1)
    # Empty: the topics the group has commits in; a group without commits then has none (never "all").
    # A default_factory keeps the default out of the CRD: the API server does not write `topics: []` into objects.
    topics: list[str] = Field(
        default_factory=list, description="empty: the topics the group has commits in (never all topics)"
    )
    lag_per_replica: int = Field(100, ge=1, description="records of lag one replica may carry")
    activation_lag: int = Field(0, ge=0, description="a stopped group wakes above this lag")
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(10, ge=1)
    poll_interval_seconds: int = Field(10, ge=1, le=600)
    # The rate term aims to clear the backlog within this many seconds on top of the inflow.
    drain_seconds: int = Field(60, ge=1, description="clear the backlog within this, on top of inflow")
    # Seconds after a scale before consumption counts towards the per-replica rate: pods start and join.
    replica_warmup_seconds: int = Field(
        30,
        ge=0,
        le=3600,
        description="after a scale, the group's total consumption is no measure of capacity this long (used only"
        " when Kafka does not describe which member holds what)",
    )
    transaction_marker_tolerance: int = Field(1, ge=0, le=10, description="per-partition lag up to this counts as idle")
    # Each step is a rebalance of the whole group: few large steps beat many small ones.
    scale_up: Direction = Field(
        Direction(stabilization_seconds=0, max_step=100), description="window: the lowest recommendation in it wins"
    )
    scale_down: Direction = Field(
        Direction(stabilization_seconds=60, max_step=100),
        description="window: the highest recommendation in it wins",
    )
    offset_reset_policy: Literal["earliest", "latest"] = Field(
        "latest", description="where a partition without a commit starts (earliest: the log start offset)"
    )
    paused: bool = False

    # Restated in CEL for the API server: devstack/scalercrd.py's _CEL_RULES, one rule per ValueError here (a unit
    # test pairs them).
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
