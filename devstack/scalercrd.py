"""The ConsumerScaler CustomResourceDefinition, built from operators/scaler/spec.py's defaults so the two never
disagree. Development tooling: the operator itself never generates it, the chart ships the generated file.

`python -m devstack.scalercrd > charts/orderflow-operator/crds/consumerscaler.yaml` regenerates the chart's
copy; a unit test fails when it is stale.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from operators.scaler.spec import GROUP, KIND, PLURAL, VERSION, Direction, ScalerSpec

Schema = dict[str, Any]


def _default(name: str) -> Any:
    value = ScalerSpec.model_fields[name].default
    return value.model_dump(by_alias=True) if isinstance(value, Direction) else value


def _int(name: str, minimum: int, maximum: int | None = None, description: str = "") -> Schema:
    schema: Schema = {"type": "integer", "minimum": minimum, "default": _default(name), "description": description}
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def _direction(name: str, description: str) -> Schema:
    return {
        "type": "object",
        "description": description,
        "default": _default(name),
        "required": ["stabilizationSeconds", "maxStep"],
        "properties": {
            "stabilizationSeconds": {"type": "integer", "minimum": 0, "maximum": 3600},
            "maxStep": {"type": "integer", "minimum": 1, "description": "most replicas added/removed per decision"},
        },
    }


def _spec_schema() -> Schema:
    return {
        "type": "object",
        "required": ["scaleTargetRef", "consumerGroup"],
        "x-kubernetes-validations": [
            {
                "rule": "has(self.bootstrapServers) != has(self.strimzi)",
                "message": "set one of bootstrapServers, strimzi",
            },
            {"rule": "self.minReplicas <= self.maxReplicas", "message": "minReplicas must not exceed maxReplicas"},
        ],
        "properties": {
            "scaleTargetRef": {
                "type": "object",
                "description": "any object with a /scale subresource in this namespace",
                "required": ["name"],
                "properties": {
                    "apiVersion": {"type": "string", "default": "apps/v1"},
                    "kind": {"type": "string", "default": "Deployment"},
                    "name": {"type": "string", "minLength": 1},
                },
            },
            "bootstrapServers": {"type": "string", "minLength": 1, "description": "host:port[,host:port]"},
            "strimzi": {
                "type": "object",
                "description": "a Strimzi Kafka in this namespace and a KafkaUser whose Secret authenticates",
                "required": ["cluster"],
                "properties": {
                    "cluster": {"type": "string", "minLength": 1},
                    "listener": {"type": "string", "default": "plain"},
                    "kafkaUser": {"type": "string"},
                },
            },
            "consumerGroup": {"type": "string", "minLength": 1},
            "topics": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "description": "empty: the topics the group has commits in (never all topics)",
            },
            "lagPerReplica": _int("lag_per_replica", 1, description="records of lag one replica may carry"),
            "activationLag": _int("activation_lag", 0, description="a stopped group wakes above this lag"),
            "minReplicas": _int("min_replicas", 0),
            "maxReplicas": _int("max_replicas", 1),
            "pollIntervalSeconds": _int("poll_interval_seconds", 1, 600),
            "drainSeconds": _int("drain_seconds", 1, description="clear the backlog within this, on top of inflow"),
            "replicaWarmupSeconds": _int(
                "replica_warmup_seconds",
                0,
                3600,
                "after a scale, the group's total consumption is no measure of capacity this long (used only when"
                " Kafka does not describe which member holds what)",
            ),
            "transactionMarkerTolerance": _int(
                "transaction_marker_tolerance", 0, 10, "per-partition lag up to this counts as idle"
            ),
            "scaleUp": _direction("scale_up", "window: the lowest recommendation in it wins"),
            "scaleDown": _direction("scale_down", "window: the highest recommendation in it wins"),
            "offsetResetPolicy": {
                "type": "string",
                "enum": ["earliest", "latest"],
                "default": _default("offset_reset_policy"),
                "description": "where a partition without a commit starts (earliest: the log start offset)",
            },
            "paused": {"type": "boolean", "default": False},
        },
    }


def _status_schema() -> Schema:
    condition = {
        "type": "object",
        "required": ["type", "status"],
        "properties": {
            name: {"type": "string"} for name in ("type", "status", "reason", "message", "lastTransitionTime")
        },
    }
    partition = {
        "type": "object",
        "properties": {
            "topic": {"type": "string"},
            "partition": {"type": "integer"},
            "lag": {"type": "integer"},
            "logEndOffset": {"type": "integer"},
            "position": {"type": "integer"},
            "source": {"type": "string"},
        },
    }
    return {
        "type": "object",
        "properties": {
            "observedGeneration": {"type": "integer"},
            "target": {"type": "string"},
            "lag": {"type": "integer"},
            "partitions": {"type": "array", "items": partition},
            "produceRate": {"type": "number"},
            "consumeRate": {"type": "number"},
            "perReplicaRate": {"type": "number"},
            "currentReplicas": {"type": "integer"},
            "desiredReplicas": {"type": "integer"},
            "lastScaleTime": {"type": "string", "format": "date-time"},
            "lastPollTime": {"type": "string", "format": "date-time"},
            "reason": {"type": "string"},
            "message": {"type": "string"},
            "conditions": {
                "type": "array",
                "items": condition,
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            },
        },
    }


def _columns() -> list[dict[str, Any]]:
    return [
        {"name": "Target", "type": "string", "jsonPath": ".status.target"},
        {"name": "Lag", "type": "integer", "jsonPath": ".status.lag"},
        {"name": "Replicas", "type": "integer", "jsonPath": ".status.currentReplicas"},
        {"name": "Desired", "type": "integer", "jsonPath": ".status.desiredReplicas"},
        {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
        {"name": "Reason", "type": "string", "jsonPath": ".status.reason", "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]


def consumerscaler_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": KIND.lower(),
                "shortNames": ["cscaler"],
                "categories": ["orderflow"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": _columns(),
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "Scales a consumer group's workload on Kafka lag and inflow rate.",
                            "required": ["spec"],
                            "properties": {"spec": _spec_schema(), "status": _status_schema()},
                        }
                    },
                }
            ],
        },
    }


def render() -> str:
    header = (
        "# Generated by `python -m devstack.scalercrd`; edit operators/scaler/spec.py and devstack/scalercrd.py"
        " instead.\n"
    )
    return header + yaml.safe_dump(consumerscaler_crd(), sort_keys=False)


if __name__ == "__main__":
    sys.stdout.write(render())
