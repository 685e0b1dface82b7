"""Kafka faults on Kubernetes, on the chart's default Kafka path, under load: the broker pod deleted (its
StatefulSet, as Strimzi's PodSet would, starts it again on its volume), and `helm upgrade`s that add topics and
change a topic's configuration, which the Topic Operator (here the stand-in) carries to the broker. Every order
placed ends CONFIRMED or CANCELLED, and `orderflow verify` holds: no record lost or applied twice."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.cluster.cluster import Cluster
from devstack.cluster.platform import APP_CHART, Installed, helm, helm_upgrade_argv
from tests.cluster.kube import (
    broker_pod,
    broker_tool,
    finish_load,
    kubectl_json,
    ready,
    seed,
    service_url,
    start_load,
    verify,
    wait_for,
    wait_reachable,
)

pytestmark = [pytest.mark.cluster, pytest.mark.disruptive, pytest.mark.timeout(1500)]


def _broker(cluster: Cluster, platform: Installed) -> dict[str, Any] | None:
    found = kubectl_json(cluster, "-n", platform.namespace, "get", "pods", "-l", f"strimzi.io/cluster={platform.kafka}")
    pods = [p for p in found["items"] if not p["metadata"].get("deletionTimestamp")]
    return pods[0] if pods else None


def test_the_broker_pod_deleted_under_load_loses_no_order(
    cluster: Cluster, platform: Installed, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(cluster, platform)
    before = verify(cluster, platform).orders
    url = service_url(cluster, platform, "orders")
    load = start_load(url, count=300, rate=8, seed=41, in_flight=40)
    old = _broker(cluster, platform)
    assert old is not None
    cluster.kubectl("-n", platform.namespace, "delete", "pod", broker_pod(platform), "--wait=false")

    def restarted() -> bool:
        pod = _broker(cluster, platform)
        return pod is not None and pod["metadata"]["uid"] != old["metadata"]["uid"] and ready(pod)

    wait_for(restarted, "the broker pod started again and Ready", timeout=300)
    summary = finish_load(load, timeout=900)
    checked = verify(cluster, platform)
    with capsys.disabled():
        print(f"\nbroker pod deleted under load and started again: {summary}\n{checked.output}")
    assert (summary["accepted"], summary["pending"]) == (300, 0)
    assert summary["confirmed"] + summary["cancelled"] == 300
    assert checked.orders == before + 300, "no order lost or doubled"
    cluster.kubectl(
        "-n", platform.namespace, "wait", "--for=condition=Ready", f"kafka/{platform.kafka}", "--timeout=120s"
    )


def _retention(cluster: Cluster, platform: Installed, topic: str) -> str:
    out = broker_tool(
        cluster, platform, "kafka.admin.ConfigCommand", "--describe", "--entity-type", "topics", "--entity-name", topic
    )
    return next(word.split("=", 1)[1] for word in out.replace(",", " ").split() if word.startswith("retention.ms="))


def _partitions(cluster: Cluster, platform: Installed, topic: str) -> int:
    out = broker_tool(cluster, platform, "org.apache.kafka.tools.TopicCommand", "--describe", "--topic", topic)
    return int(out.split("PartitionCount:", 1)[1].split()[0])


def test_helm_upgrades_add_topics_and_change_their_config_without_losing_a_record(
    cluster: Cluster, platform: Installed, capsys: pytest.CaptureFixture[str]
) -> None:
    """One more retry level adds `<topic>.retry.4` for every topic (KafkaTopics, ACLs, the services' subscriptions);
    a new retention changes every topic's `retention.ms`. Both while orders flow."""
    seed(cluster, platform)
    before = verify(cluster, platform).orders
    url = service_url(cluster, platform, "orders")
    load = start_load(url, count=240, rate=6, seed=43, in_flight=20)
    retention = "259200000"  # three days instead of seven
    settings = {**platform.settings, "kafka.retryLevels": "4", "kafka.strimzi.topics.retentionMs": retention}
    helm(
        cluster,
        *helm_upgrade_argv(platform.release, APP_CHART, platform.namespace, values=platform.values, settings=settings),
    )
    new_topics = [f"kafkatopic/{platform.kafka}-{t}-retry-4" for t in ("orders", "inventory", "payments")]
    cluster.kubectl(
        "-n", platform.namespace, "wait", "--for=condition=Ready", *new_topics, "--timeout=180s", timeout=240
    )
    summary = finish_load(load, timeout=900)
    wait_reachable(cluster, platform)
    checked = verify(cluster, platform)
    with capsys.disabled():
        print(f"\nhelm upgrades (retry level 4, retention {retention} ms) under load: {summary}\n{checked.output}")
    assert (summary["accepted"], summary["pending"]) == (240, 0)
    assert checked.orders == before + 240, "no order lost or doubled"
    for topic in ("orders.retry.4", "inventory.retry.4", "payments.retry.4"):
        assert _partitions(cluster, platform, topic) == 6, topic
    assert _retention(cluster, platform, "orders") == retention
    assert _retention(cluster, platform, "payments.retry.1") == retention
