"""The ConsumerScaler CustomResourceDefinition. Development tooling: the operator itself never generates it, the
chart ships the generated file.

The spec's schema is operators/scaler/spec.py's `ScalerSpec` JSON schema made structural (`structural`): fields,
types, bounds, enums, defaults, required fields and descriptions are declared once, in the model. Written here,
because the model cannot say them: the CEL rules (`_CEL_RULES`, the model's cross-field validator in the API
server's language), two bounds only the API server enforces (`_api_server_only`), the status schema (the operator
writes status as plain dicts, operators/scaler/builders.py), the printer columns and the top level.

`python -m devstack.scalercrd > charts/orderflow-operator/crds/consumerscaler.yaml` regenerates the chart's
copy; a unit test fails when it is stale.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

import yaml
from pydantic import BaseModel

from operators.scaler.spec import GROUP, KIND, PLURAL, VERSION, ScalerSpec

Schema = dict[str, Any]

_DEFS = "#/$defs/"
# A structural schema's keywords, in the order they are written; pydantic emitting any other is an error here
# rather than a CRD the API server refuses (or, worse, accepts and means something else by).
_KEYWORDS = (
    "type",
    "description",
    "default",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
    "format",
    "required",
    "items",
    "properties",
)


def structural(model: type[BaseModel]) -> Schema:
    """`model`'s JSON schema (by alias) as a Kubernetes structural schema: `$ref`s inlined, `X | None` as X (not
    required, no null default), no titles, no `additionalProperties: false` (the API server prunes unknown fields
    instead). Descriptions are fields' `Field(description=...)`, never a class's docstring."""
    schema = model.model_json_schema(by_alias=True)
    schema.pop("description", None)
    return _structural(schema, schema.get("$defs", {}))


def _structural(schema: Schema, defs: dict[str, Schema]) -> Schema:
    node = {key: value for key, value in schema.items() if key not in ("$defs", "title", "anyOf")}
    variants = [variant for variant in schema.get("anyOf", ()) if variant != {"type": "null"}]
    if len(variants) > 1:
        raise ValueError(f"no structural schema for a union of {variants}")
    if variants:
        node = {**variants[0], **node}
    if "$ref" in node:
        # Copied: a model used twice (scaleUp, scaleDown) would otherwise share lists, which YAML writes as anchors.
        target = copy.deepcopy(defs[node.pop("$ref").removeprefix(_DEFS)])
        node = {**{key: value for key, value in target.items() if key != "description"}, **node}
    node.pop("title", None)
    if node.get("default", ...) is None:
        del node["default"]
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
    if "items" in node:
        node["items"] = _structural(node["items"], defs)
    if "properties" in node:
        node["properties"] = {name: _structural(prop, defs) for name, prop in node["properties"].items()}
    unknown = node.keys() - set(_KEYWORDS)
    if unknown or "type" not in node:
        raise ValueError(f"not structural (no type, or {sorted(unknown)}): {node}")
    return {key: node[key] for key in _KEYWORDS if key in node}


# The model's `_consistent` validator in CEL, so the API server rejects what `parse` would: one rule per
# ValueError it raises (tests/unit/operator/test_crd.py pairs them). Pydantic has no CEL to derive them from.
_CEL_RULES = [
    {"rule": "has(self.bootstrapServers) != has(self.strimzi)", "message": "set one of bootstrapServers, strimzi"},
    {"rule": "self.minReplicas <= self.maxReplicas", "message": "minReplicas must not exceed maxReplicas"},
]


def _api_server_only(spec: Schema) -> None:
    """Bounds the CRD has always had and the model does not: declaring them in spec.py would make `parse` reject
    specs it accepts today. The API server enforces them, so no spec the operator reads breaks them."""
    spec["properties"]["bootstrapServers"]["minLength"] = 1
    spec["properties"]["topics"]["items"]["minLength"] = 1


def _spec_schema() -> Schema:
    spec = structural(ScalerSpec)
    _api_server_only(spec)
    properties = spec.pop("properties")
    return {**spec, "x-kubernetes-validations": copy.deepcopy(_CEL_RULES), "properties": properties}


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
