"""Our ConsumerScaler on real pods: the operator from its chart scales a consumer Deployment 1 -> N -> 0 while a
real broker feeds it, and the per-replica rate it learns from the group's commits is the pods' configured rate.

The consumers are the scaler bench's (devstack/scalerbench/consumer.py): each handles exactly RATE records/s,
so the rate the operator should learn is known. This test feeds the records and reads the offsets from this
process at exact rates, so its Kafka is one the machine reaches: the devstack broker on the kind network's
gateway, named by `bootstrapServers` (the ConsumerScaler's mode for an existing Kafka). Its Strimzi mode
(`spec.strimzi`, logging in as the chart's Describe-only scaler KafkaUser) runs in test_observability's install
and test_kafka_acls.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from devstack.cluster.cluster import Cluster
from devstack.cluster.platform import ensure_broker, helm, install_operator, namespace_manifest
from devstack.images import app_images
from devstack.scalerbench import feed, workload
from devstack.scalerbench.observe import Observer, Target
from devstack.scalerbench.traces import Trace
from eventkit.offsets import OffsetReader
from eventkit.settings import KafkaSettings
from eventkit.topics import create_topics
from operators.scaler.spec import ScalerSpec
from tests.cluster.kube import Images, kubectl_json, wait_for

pytestmark = [pytest.mark.cluster]

RATE = 20.0  # records/s per pod
PARTITIONS = 6
# Five pods' worth for a minute: one pod falls behind at once, six drain it.
LOAD = Trace("scale-test", "5 pods' worth/s for 60 s", 60, lambda t: 5.0, load_ends=60)


@pytest.fixture(scope="module")
def scaled(cluster: Cluster, images: Images) -> Iterator[tuple[str, str]]:
    """A namespace with our operator serving it, and the broker's address; the consumer image loaded."""
    cluster.load(
        app_images.build_all(cluster.engine, "local", log=print, logs=cluster.logs, images=(workload.CONSUMER,))
    )
    bootstrap = ensure_broker(cluster).bootstrap_servers
    namespace = f"sc-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("apply", "-f", "-", input=json.dumps(namespace_manifest(namespace)))
    operator_id = cluster.engine.image_id(app_images.OPERATOR.ref(images.tag)) or ""
    release = install_operator(cluster, namespace, f"{namespace}-operator", images.tag, operator_id)
    try:
        yield namespace, bootstrap
    finally:
        # While the operator runs: it removes its finalizer, or the namespace would never finish terminating.
        cluster.kubectl(
            "-n", namespace, "delete", "consumerscaler", "--all", "--wait=true", "--timeout=60s", check=False
        )
        helm(cluster, "uninstall", release, "--namespace", namespace, "--wait", "--ignore-not-found")
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        delete_topics(bootstrap, f"{namespace}.")


def _scaler(cluster: Cluster, namespace: str) -> dict[str, Any]:
    found: dict[str, Any] = kubectl_json(cluster, "-n", namespace, "get", "consumerscaler", "consumer")
    return found


def test_the_operator_scales_real_pods_up_and_to_zero_and_learns_their_rate(
    cluster: Cluster, scaled: tuple[str, str]
) -> None:
    namespace, bootstrap = scaled
    topic = group = f"{namespace}.scale"
    asyncio.run(create_topics(KafkaSettings(bootstrap_servers=bootstrap), {topic: PARTITIONS}))
    spec = ScalerSpec.model_validate(
        {
            "scaleTargetRef": {"name": "consumer"},
            "bootstrapServers": bootstrap,
            "consumerGroup": group,
            "topics": [topic],
            "lagPerReplica": 50,
            "minReplicas": 0,
            "maxReplicas": PARTITIONS,
            "pollIntervalSeconds": 5,
            "replicaWarmupSeconds": 10,
            "offsetResetPolicy": "earliest",
            "scaleDown": {"stabilizationSeconds": 15, "maxStep": 100},
        }
    )
    consumer = workload.consumer_deployment(
        "consumer", namespace, replicas=1, bootstrap=bootstrap, group=group, topic=topic, rate=RATE, reset="earliest"
    )
    cluster.apply([consumer, workload.consumer_scaler(spec, "consumer", namespace)])

    async def feed_and_watch() -> Observer:
        reader = OffsetReader({"bootstrap_servers": bootstrap}, request_timeout=5.0)
        await reader.start()
        try:
            async with cluster.async_client() as kube:
                observer = Observer(reader, kube, namespace, [Target("consumer", group, topic)], "earliest")
                started = time.monotonic()
                await asyncio.gather(
                    feed.feed(bootstrap, [topic], LOAD, RATE, started, partitions=PARTITIONS), observer.run(started, 60)
                )
                return observer
        finally:
            await reader.close()

    observer = asyncio.run(feed_and_watch())
    peak = max(sample.desired for sample in observer.samples["consumer"])
    assert peak >= 3, f"a backlog growing at 4 pods' worth/s got at most {peak} replicas"

    learned = wait_for(
        lambda: _scaler(cluster, namespace)["status"].get("perReplicaRate") or None,
        "a learned per-replica rate",
        timeout=120,
    )
    assert abs(learned - RATE) <= 0.25 * RATE, f"learned {learned} records/s per replica; the pods do {RATE}"
    print(f"scaled 1 -> {peak} -> ...; learned {learned} records/s per replica (configured {RATE})")

    # Drained and idle: to zero once the down window has passed.
    wait_for(
        lambda: kubectl_json(cluster, "-n", namespace, "get", "deployment", "consumer")["spec"]["replicas"] == 0,
        "scaling to zero after the load",
        timeout=240,
        interval=2,
    )
    status = _scaler(cluster, namespace)["status"]
    assert status["lag"] == 0, status


def delete_topics(bootstrap_servers: str, prefix: str) -> None:
    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        await admin.start()
        try:
            ours = [t for t in await admin.list_topics() if t.startswith(prefix)]
            if ours:
                await admin.delete_topics(ours)
        finally:
            await admin.close()

    try:
        asyncio.run(run())
    except Exception as error:  # the broker may be gone with the cluster already
        print(f"topics of {prefix} not deleted: {error!r}")
