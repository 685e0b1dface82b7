"""The CRD, the spec model, the objects the operator writes, and Strimzi connection resolution."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devstack.scalercrd import consumerscaler_crd, render
from operators.scaler.builders import Condition, conditions, event
from operators.scaler.connection import KafkaConnection, StrimziError, from_strimzi
from operators.scaler.spec import InvalidSpec, parse

REPO = Path(__file__).resolve().parents[3]
CHART_CRD = REPO / "charts" / "orderflow-operator" / "crds" / "consumerscaler.yaml"


def test_the_chart_ships_the_crd_built_from_the_spec_defaults() -> None:
    assert CHART_CRD.read_text() == render(), "run: python -m devstack.scalercrd > " + str(CHART_CRD)


def test_crd_defaults_equal_the_spec_model_defaults() -> None:
    schema = consumerscaler_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec = parse({"scaleTargetRef": {"name": "x"}, "bootstrapServers": "k:9092", "consumerGroup": "g"})
    for name, prop in schema["properties"].items():
        if "default" in prop:
            value = getattr(spec, _snake(name))
            assert (value.model_dump(by_alias=True) if hasattr(value, "model_dump") else value) == prop["default"]


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"scaleTargetRef": {"name": "x"}, "consumerGroup": "g"}, "exactly one of bootstrapServers and strimzi"),
        (
            {
                "scaleTargetRef": {"name": "x"},
                "bootstrapServers": "k",
                "consumerGroup": "g",
                "minReplicas": 5,
                "maxReplicas": 2,
            },
            "minReplicas must not exceed maxReplicas",
        ),
        (
            {"scaleTargetRef": {"name": "x"}, "bootstrapServers": "k", "consumerGroup": "g", "lagPerReplica": 0},
            "greater",
        ),
    ],
)
def test_unusable_specs_are_rejected_with_the_reason(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSpec, match=message):
        parse(spec)


def test_condition_transition_time_moves_only_when_the_status_changes() -> None:
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    first = conditions([], [Condition("Degraded", "False", "KafkaReachable", "ok")], t1)
    same = conditions(first, [Condition("Degraded", "False", "KafkaReachable", "still ok")], t2)
    flipped = conditions(same, [Condition("Degraded", "True", "KafkaUnavailable", "down")], t2)
    assert same[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert same[0]["message"] == "still ok"
    assert flipped[0]["lastTransitionTime"] == "2026-01-02T00:00:00Z"


def test_events_name_the_scaler_and_the_reporting_component() -> None:
    body = {
        "apiVersion": "orderflow.io/v1alpha1",
        "kind": "ConsumerScaler",
        "metadata": {"name": "payments", "namespace": "shop", "uid": "u-1"},
    }
    e = event(body, "Normal", "Scaled", "from 1 to 3", datetime(2026, 1, 1, tzinfo=UTC))
    assert e["involvedObject"] == {
        "apiVersion": "orderflow.io/v1alpha1",
        "kind": "ConsumerScaler",
        "name": "payments",
        "namespace": "shop",
        "uid": "u-1",
    }
    assert (e["type"], e["reason"], e["source"]["component"]) == ("Normal", "Scaled", "orderflow-scaler")


def _kafka(tls: bool) -> dict[str, Any]:
    return {
        "metadata": {"name": "orderflow"},
        "spec": {"kafka": {"listeners": [{"name": "tls" if tls else "plain", "port": 9093, "tls": tls}]}},
        "status": {
            "listeners": [
                {
                    "name": "tls" if tls else "plain",
                    "bootstrapServers": "orderflow-kafka-bootstrap.shop.svc:9093",
                    "certificates": ["-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"],
                }
            ]
        },
    }


def _secret(**data: str) -> dict[str, Any]:
    return {"metadata": {"name": "scaler"}, "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def test_strimzi_scram_user_on_a_plain_listener() -> None:
    user = {"metadata": {"name": "scaler"}, "spec": {"authentication": {"type": "scram-sha-512"}}}
    connection = from_strimzi(_kafka(tls=False), "plain", user, _secret(password="s3cret"))
    assert connection == KafkaConnection(
        "orderflow-kafka-bootstrap.shop.svc:9093",
        "SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        username="scaler",
        password="s3cret",
    )
    assert "s3cret" not in repr(connection)


def test_strimzi_tls_user_takes_the_ca_from_the_listener_status() -> None:
    user = {"metadata": {"name": "scaler"}, "spec": {"authentication": {"type": "tls"}}}
    connection = from_strimzi(_kafka(tls=True), "tls", user, _secret(**{"user.crt": "CRT", "user.key": "KEY"}))
    assert connection.security_protocol == "SSL"
    assert connection.ca_pem is not None
    assert "CA" in connection.ca_pem
    assert (connection.cert_pem, connection.key_pem) == ("CRT", "KEY")


def test_strimzi_errors_name_what_is_missing() -> None:
    kafka = _kafka(tls=False)
    with pytest.raises(StrimziError, match="no listener 'external'"):
        from_strimzi(kafka, "external", None, None)
    kafka["status"] = {}
    with pytest.raises(StrimziError, match="reports no address"):
        from_strimzi(kafka, "plain", None, None)


def test_equal_endpoints_and_credentials_share_one_client_key() -> None:
    a = KafkaConnection("k:9092", "SASL_SSL", "SCRAM-SHA-512", "u", "p")
    assert a == KafkaConnection("k:9092", "SASL_SSL", "SCRAM-SHA-512", "u", "p")
    assert len({a, KafkaConnection("k:9092", "SASL_SSL", "SCRAM-SHA-512", "u", "p")}) == 1
    assert a != KafkaConnection("k:9092", "SASL_SSL", "SCRAM-SHA-512", "u", "other")
