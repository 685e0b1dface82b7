"""`orderflow k8s install` as data: the namespace, the helm command lines, the values only the cluster knows."""

from __future__ import annotations

from pathlib import Path

import yaml

from devstack.cluster import platform
from devstack.kafka.broker import BrokerState, server_properties


def test_the_namespace_enforces_restricted_pod_security() -> None:
    namespace = platform.namespace_manifest("shop-1")
    assert namespace["metadata"]["name"] == "shop-1"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_helm_waits_and_tags_stay_strings() -> None:
    argv = platform.helm_upgrade_argv(
        "of",
        Path("/charts/orderflow"),
        "shop",
        values=[Path("/k8s/local-values.yaml")],
        settings=platform.app_settings("1.0"),
    )
    assert argv[:4] == ["upgrade", "--install", "of", "/charts/orderflow"]
    assert "--wait" in argv
    assert argv[argv.index("--values") + 1] == "/k8s/local-values.yaml"
    assert "--set-string" in argv, "a tag like 1.0 must not become a number"
    assert argv[argv.index("--set-string") + 1] == "defaults.image.tag=1.0"


def test_a_rebuilt_image_changes_its_pod_template() -> None:
    settings = platform.app_settings("local", {"orders": "sha256:abc"})
    argv = platform.helm_upgrade_argv("of", Path("/charts/orderflow"), "shop", settings=settings)
    assert r"services.orders.podAnnotations.orderflow\.local/image-id=sha256:abc" in argv
    assert (
        argv[argv.index(r"services.orders.podAnnotations.orderflow\.local/image-id=sha256:abc") - 1] == "--set-string"
    )


def test_local_values_keep_the_charts_default_kafka_path() -> None:
    values = yaml.safe_load(platform.LOCAL_VALUES.read_text())
    assert "enabled" not in values["kafka"]["strimzi"], "Strimzi's resources, as the chart's default"
    assert "bootstrapServers" not in values["kafka"]
    assert values["defaults"]["image"]["pullPolicy"] == "IfNotPresent", "loaded into the nodes, never pulled"
    assert values["postgresql"]["image"]["repository"] == "orderflow.local/postgres"


def test_the_devstack_broker_listens_and_advertises_on_the_address_the_pods_reach() -> None:
    properties = server_properties(port=9092, controller_port=9093, log_dir=Path("/k"), host="192.0.2.2")
    assert "listeners=PLAINTEXT://192.0.2.2:9092,CONTROLLER://127.0.0.1:9093\n" in properties
    assert "advertised.listeners=PLAINTEXT://192.0.2.2:9092\n" in properties
    assert "auto.create.topics.enable=false\n" in properties, "topics come from the chart's Job, never by accident"
    assert BrokerState(1, 9092, 9093, "4", "now", "192.0.2.2").bootstrap_servers == "192.0.2.2:9092"
    assert BrokerState(1, 9092, 9093, "4", "now").bootstrap_servers == "127.0.0.1:9092", "older state files"
