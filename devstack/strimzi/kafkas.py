"""The Cluster Operator's part: one `Kafka` and its `KafkaNodePool`s made real, then the statuses.

Each reconcile is whole and idempotent (Strimzi reconciles on every change and on a timer): CAs and certificates
are made once and kept (renewed when they would expire within 30 days, or when a broker's names changed), node
ids are kept in the pools' statuses, every object is applied server-side, and the Kafka turns Ready once every
broker pod is ready and the Admin API answers on the replication listener.

Documented in Strimzi's "Deploying and Managing" guide, "Deploying a Kafka cluster in KRaft mode" (a Kafka and its
KafkaNodePools; node ids count from 0 across all pools, a new node fills the lowest gap, a pool scaled down loses its
highest id), "Configuring node pools" (each pool's replicas, roles and storage, the pool bound to its Kafka by the
`strimzi.io/cluster` label), "Cluster Operator configuration" (a periodic reconciliation besides the watch),
"Certificate renewal and validity periods" (CA certificates are renewed within a 30-day renewal period before they
expire) and "Strimzi custom resource status information" (`Ready`, `observedGeneration`, `clusterId`, `kafkaVersion`,
each listener's bootstrap address and, for TLS, the cluster CA certificate); and in the Custom Resource API
Reference, "KafkaNodePoolStatus schema reference" (`nodeIds`, `replicas`, `roles`, `clusterId`, `labelSelector`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from devstack.strimzi import brokerconfig, certs, naming, resources, status
from devstack.strimzi.admin import Admin, AdminError
from devstack.strimzi.kube import Kube

RENEW = timedelta(days=30)
# The Kafka version of the broker image the stand-in runs (the project's k8s/kafka image).
KAFKA_VERSION = os.environ.get("STANDIN_KAFKA_VERSION", "4.3.1")
OPERATOR = "cluster-operator"

AdminFactory = Callable[[str, str], Admin | None]


class NotReadyYet(Exception):
    """Reconciled as far as possible; the message says what is still awaited."""


def new_cluster_id() -> str:
    # Like Kafka's Uuid.randomUuid(), never one starting with "-": `kafka-storage format --cluster-id` would take
    # it for an option and the broker would never format its storage (1 cluster in 64).
    while (cluster_id := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"):
        pass
    return cluster_id


def assign_node_ids(pools: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Node ids per pool: a pool keeps the ids in its status; new nodes take the lowest free ids, removed ones go
    from the highest (Strimzi's node id management)."""
    taken = {i for p in pools for i in ((p.get("status") or {}).get("nodeIds") or [])}
    found: dict[str, list[int]] = {}
    for pool in sorted(pools, key=lambda p: p["metadata"]["name"]):
        kept = sorted((pool.get("status") or {}).get("nodeIds") or [])
        wanted = int(pool["spec"].get("replicas", 0))
        ids = kept[:wanted]
        candidate = 0
        while len(ids) < wanted:
            if candidate not in taken:
                ids.append(candidate)
                taken.add(candidate)
            candidate += 1
        found[pool["metadata"]["name"]] = sorted(ids)
    return found


async def _ca(kube: Kube, cluster: str, namespace: str, kafka: Mapping[str, Any], prefix: str) -> certs.KeyPair:
    """The cluster or clients CA: from its two Secrets, else new (`CN=<prefix>-ca v0,O=io.strimzi`)."""
    cert_name = naming.cluster_ca_cert(cluster) if prefix == "cluster" else naming.clients_ca_cert(cluster)
    key_name = naming.cluster_ca_key(cluster) if prefix == "cluster" else naming.clients_ca_key(cluster)
    cert, key = await kube.secret(cert_name, namespace), await kube.secret(key_name, namespace)
    if cert and key and "ca.crt" in cert and "ca.key" in key and not certs.expires_within(cert["ca.crt"], RENEW):
        return certs.KeyPair(cert["ca.crt"], key["ca.key"])
    ca = certs.new_ca(f"{prefix}-ca v0")
    store, password = certs.truststore(ca)
    labels = naming.ca_labels(cluster)
    data = {"ca.crt": ca.cert_pem, "ca.p12": store, "ca.password": password.encode()}
    await kube.apply(
        resources.secret(cert_name, namespace, data, labels, kafka, {"strimzi.io/ca-cert-generation": "0"})
    )
    key_secret = resources.secret(key_name, namespace, {"ca.key": ca.key_pem}, labels, kafka)
    key_secret["metadata"]["annotations"] = {"strimzi.io/ca-key-generation": "0"}
    await kube.apply(key_secret)
    return ca


async def _leaf(
    kube: Kube,
    name: str,
    namespace: str,
    files: str,
    ca: certs.KeyPair,
    subject: str,
    sans: list[str],
    labels: Mapping[str, str],
    kafka: Mapping[str, Any],
) -> certs.KeyPair:
    """A Secret `name` with `<files>.crt` and `<files>.key`, kept while it is signed by `ca`, names `sans` and does
    not expire soon."""
    found = await kube.secret(name, namespace)
    crt, key = f"{files}.crt", f"{files}.key"
    if found and crt in found and key in found:
        pair = certs.KeyPair(found[crt], found[key])
        if (
            pair.cert.issuer == ca.cert.subject
            and certs.dns_names(found[crt]) == sans
            and not certs.expires_within(found[crt], RENEW)
            and found[crt].endswith(ca.cert_pem)
        ):
            return pair
    pair = certs.issue(ca, subject, naming.ORGANIZATION, sans)
    data = {crt: pair.cert_pem, key: pair.key_pem}
    await kube.apply(
        resources.secret(name, namespace, data, labels, kafka, {"strimzi.io/cluster-ca-cert-generation": "0"})
    )
    return pair


async def operator_identity(kube: Kube, kafka: Mapping[str, Any]) -> tuple[certs.KeyPair, certs.KeyPair]:
    """(cluster CA, the operator's client certificate): what the Admin API is reached with."""
    meta = kafka["metadata"]
    cluster, namespace = meta["name"], meta["namespace"]
    ca = await _ca(kube, cluster, namespace, kafka, "cluster")
    identity = await _leaf(
        kube,
        f"{cluster}-cluster-operator-certs",
        namespace,
        OPERATOR,
        ca,
        OPERATOR,
        [],
        naming.ca_labels(cluster),
        kafka,
    )
    return ca, identity


async def reconcile(kube: Kube, kafka: dict[str, Any], image: str, admin_for: AdminFactory) -> None:
    meta, spec = kafka["metadata"], kafka["spec"]["kafka"]
    cluster, namespace = meta["name"], meta["namespace"]
    previous = kafka.get("status") or {}
    pools = await kube.select("KafkaNodePool", namespace, {"strimzi.io/cluster": cluster})
    try:
        if spec.get("version", KAFKA_VERSION) != KAFKA_VERSION:
            raise ValueError(f"Unsupported Kafka.spec.kafka.version: {spec.get('version')}. Supported: {KAFKA_VERSION}")
        if not pools:
            raise ValueError(f"no KafkaNodePool with label strimzi.io/cluster={cluster} in {namespace}")
        cluster_id = await _apply_cluster(kube, kafka, pools, image)
        admin = admin_for(namespace, cluster)
        if admin is None:
            raise NotReadyYet("waiting for the brokers to be ready")
        await asyncio.to_thread(admin.cluster_id)
    except NotReadyYet as waiting:
        await kube.status(
            kafka, {**_base(kafka, previous), "conditions": [status.not_ready(previous, "Creating", str(waiting))]}
        )
        return
    except (ValueError, AdminError) as error:
        condition = status.not_ready(previous, type(error).__name__, str(error))
        await kube.status(kafka, {**_base(kafka, previous), "conditions": [condition]})
        return
    ca = await kube.secret(naming.cluster_ca_cert(cluster), namespace) or {}
    listeners = [
        {
            "name": lst["name"],
            "addresses": [{"host": f"{naming.bootstrap_service(cluster)}.{namespace}.svc", "port": int(lst["port"])}],
            "bootstrapServers": f"{naming.bootstrap_service(cluster)}.{namespace}.svc:{lst['port']}",
            **({"certificates": [ca.get("ca.crt", b"").decode()]} if lst.get("tls") else {}),
        }
        for lst in spec.get("listeners", [])
    ]
    ready = {
        **_base(kafka, previous),
        "conditions": [status.ready(previous)],
        "listeners": listeners,
        "clusterId": cluster_id,
        "kafkaNodePools": [{"name": p["metadata"]["name"]} for p in sorted(pools, key=lambda p: p["metadata"]["name"])],
    }
    await kube.status(kafka, ready)


def _base(kafka: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    spec = kafka["spec"]["kafka"]
    found = {
        "observedGeneration": kafka["metadata"].get("generation", 0),
        "kafkaVersion": spec.get("version", KAFKA_VERSION),
    }
    if spec.get("metadataVersion"):
        found["kafkaMetadataVersion"] = spec["metadataVersion"]
    if previous.get("clusterId"):
        found["clusterId"] = previous["clusterId"]
    return found


async def _apply_cluster(kube: Kube, kafka: dict[str, Any], pools: list[dict[str, Any]], image: str) -> str:
    meta, spec = kafka["metadata"], kafka["spec"]["kafka"]
    cluster, namespace = meta["name"], meta["namespace"]
    listeners = list(spec.get("listeners", []))
    ca, _ = await operator_identity(kube, kafka)
    await _ca(kube, cluster, namespace, kafka, "clients")
    cluster_id = (kafka.get("status") or {}).get("clusterId") or new_cluster_id()
    ids = assign_node_ids(pools)
    nodes = {
        p["metadata"]["name"]: [
            brokerconfig.Node(
                i, naming.broker_pod(cluster, p["metadata"]["name"], i), tuple(p["spec"].get("roles", []))
            )
            for i in ids[p["metadata"]["name"]]
        ]
        for p in pools
    }
    voters = sorted((n for group in nodes.values() for n in group if "controller" in n.roles), key=lambda n: n.node_id)
    for manifest in [
        *resources.services(cluster, namespace, listeners, kafka),
        resources.network_policy(cluster, namespace, listeners, kafka),
        resources.disruption_budget(cluster, namespace, kafka),
    ]:
        await kube.apply(manifest)
    awaiting = []
    for pool in pools:
        name = pool["metadata"]["name"]
        labels = naming.pool_labels(cluster, name, list(pool["spec"].get("roles", [])))
        digest = hashlib.sha256()
        for node in nodes[name]:
            sans = naming.broker_sans(cluster, namespace, node.pod)
            pair = await _leaf(
                kube, node.pod, namespace, node.pod, ca, f"{cluster}-kafka", sans, naming.kafka_labels(cluster), kafka
            )
            config = brokerconfig.render(
                brokerconfig.server_config(
                    cluster, namespace, node, voters, listeners, spec.get("authorization"), spec.get("config") or {}
                )
            )
            digest.update(config.encode() + pair.cert_pem)
            await kube.apply(resources.node_config_map(cluster, namespace, node, config, cluster_id, labels, kafka))
        sts = resources.stateful_set(
            cluster, namespace, pool, nodes[name], listeners, image, digest.hexdigest()[:16], kafka
        )
        sts["spec"]["template"]["spec"]["containers"][0]["env"].append(
            {"name": "METADATA_VERSION", "value": str(spec.get("metadataVersion", ""))}
        )
        await kube.apply(sts)
        pool_status = {
            "observedGeneration": pool["metadata"].get("generation", 0),
            "nodeIds": ids[name],
            "replicas": len(ids[name]),
            "roles": sorted(pool["spec"].get("roles", [])),
            "clusterId": cluster_id,
            "labelSelector": ",".join(
                f"{k}={v}" for k, v in {**naming.selector_labels(cluster), "strimzi.io/pool-name": name}.items()
            ),
        }
        await kube.status(pool, pool_status)
        ready = await _ready_replicas(kube, f"{cluster}-{name}", namespace)
        if ready < len(ids[name]):
            awaiting.append(f"{name}: {ready}/{len(ids[name])} brokers ready")
    if awaiting:
        raise NotReadyYet("; ".join(awaiting))
    return cluster_id


async def _ready_replicas(kube: Kube, name: str, namespace: str) -> int:
    from lightkube import ApiError
    from lightkube.resources.apps_v1 import StatefulSet

    try:
        found = await kube.client.get(StatefulSet, name, namespace=namespace)
    except ApiError:
        return 0
    return int((found.status.readyReplicas if found.status else 0) or 0)
