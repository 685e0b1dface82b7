"""kopf wiring of the stand-in: `kopf run -m devstack.strimzi.handlers --all-namespaces`.

Every watch event, and a periodic pass over every resource, run the same idempotent reconcile (kafkas, topics,
users), one at a time per Kafka cluster. The periodic pass is one background task, not kopf timers: those put a
finalizer of kopf's on every resource, which Strimzi's resources do not carry (a KafkaTopic carries Strimzi's
own only). Nothing is kept in the resources' annotations. Topics and users wait until their Kafka is Ready, as
Strimzi's Entity Operator starts only then.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import defaultdict
from typing import Any

import kopf
from lightkube import AsyncClient

from devstack.strimzi import kafkas, naming, status, topics, users
from devstack.strimzi.admin import Admin, AdminError
from devstack.strimzi.kube import GROUP, VERSION, Kube

IMAGE = os.environ.get("STANDIN_KAFKA_IMAGE", "orderflow.local/kafka:4.3.1")
CLUSTER_LABEL = "strimzi.io/cluster"

_kube: Kube | None = None
_admins: dict[tuple[str, str], Admin] = {}
_locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)
_credentials: dict[tuple[str, str], tuple[bytes, bytes, bytes]] = {}


def kube() -> Kube:
    assert _kube is not None, "started by kopf's startup handler"
    return _kube


PERIOD = 15.0  # seconds between two passes over every resource
_tasks: list[asyncio.Task[None]] = []


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    global _kube
    _kube = Kube(AsyncClient(field_manager="strimzi-standin"))
    settings.posting.level = logging.WARNING
    # lightkube's client logs every request at INFO, kopf's probe server every probe.
    for noisy in ("httpx2", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings.watching.server_timeout = 300
    _tasks.append(asyncio.create_task(periodic()))


@kopf.on.cleanup()
async def cleanup(**_: Any) -> None:
    for task in _tasks:
        task.cancel()
    for admin in _admins.values():
        admin.close()
    if _kube is not None:
        await _kube.client.close()


async def periodic() -> None:
    """Every PERIOD: each Kafka, then each KafkaTopic and KafkaUser, reconciled; orphaned users swept."""
    while True:
        await asyncio.sleep(PERIOD)
        for kind, handle in (("Kafka", _reconcile_kafka), ("KafkaTopic", _topic), ("KafkaUser", _user)):
            for resource in await kube().select(kind, "*", {}):
                try:
                    await handle(resource)
                except Exception:  # one resource's failure must not stop the others' reconciles
                    logging.exception("reconciling %s %s/%s", kind, *_where(resource))
        for kafka in await kube().select("Kafka", "*", {}):
            try:
                await _sweep_users(kafka)
            except Exception:
                logging.exception("sweeping the users of Kafka %s/%s", *_where(kafka))


def _where(resource: dict[str, Any]) -> tuple[str, str]:
    return resource["metadata"]["namespace"], resource["metadata"]["name"]


def admin_for(namespace: str, cluster: str) -> Admin | None:
    """The Admin client of a cluster whose operator credentials are known (`_refresh_credentials`)."""
    key = (namespace, cluster)
    if key not in _admins and key in _credentials:
        ca, cert, key_pem = _credentials[key]
        _admins[key] = Admin(f"{naming.bootstrap_service(cluster)}.{namespace}.svc:9091", ca, cert, key_pem)
    return _admins.get(key)


def forget(namespace: str, cluster: str) -> None:
    admin = _admins.pop((namespace, cluster), None)
    if admin is not None:
        admin.close()


async def _reconcile_kafka(body: dict[str, Any]) -> None:
    namespace, cluster = body["metadata"]["namespace"], body["metadata"]["name"]
    async with _locks[(namespace, cluster)]:
        ca, identity = await kafkas.operator_identity(kube(), body)
        if _credentials.get((namespace, cluster)) != (ca.cert_pem, identity.cert_pem, identity.key_pem):
            forget(namespace, cluster)
            _credentials[(namespace, cluster)] = (ca.cert_pem, identity.cert_pem, identity.key_pem)
        try:
            await kafkas.reconcile(kube(), body, IMAGE, admin_for)
        except AdminError:
            forget(namespace, cluster)  # a new client next time: librdkafka may hold a broker that went away
            raise


@kopf.on.event(GROUP, VERSION, "kafkas")
async def kafka_event(type: str, body: kopf.Body, **_: Any) -> None:
    if type != "DELETED" and not body["metadata"].get("deletionTimestamp"):
        await _reconcile_kafka(dict(body))


@kopf.on.event(GROUP, VERSION, "kafkanodepools")
async def pool_event(type: str, body: kopf.Body, **_: Any) -> None:
    cluster = (body["metadata"].get("labels") or {}).get(CLUSTER_LABEL)
    if cluster and type != "DELETED":
        kafka = await kube().get("Kafka", cluster, body["metadata"]["namespace"])
        if kafka is not None:
            await _reconcile_kafka(kafka)


async def _cluster_gone(body: dict[str, Any]) -> bool:
    cluster = (body["metadata"].get("labels") or {}).get(CLUSTER_LABEL, "")
    kafka = await kube().get("Kafka", cluster, body["metadata"]["namespace"]) if cluster else None
    return kafka is None or bool(kafka["metadata"].get("deletionTimestamp"))


async def _ready_admin(body: dict[str, Any]) -> tuple[Admin | None, str]:
    """The Admin client of the resource's Kafka once that is Ready; else None and why."""
    namespace = body["metadata"]["namespace"]
    cluster = (body["metadata"].get("labels") or {}).get(CLUSTER_LABEL)
    if not cluster:
        return None, f"the resource has no {CLUSTER_LABEL} label"
    kafka = await kube().get("Kafka", cluster, namespace)
    if kafka is None or not status.is_ready(kafka):
        return None, f"Kafka {cluster} is not ready"
    return admin_for(namespace, cluster), ""


@kopf.on.event(GROUP, VERSION, "kafkatopics")
async def topic_event(type: str, body: kopf.Body, **_: Any) -> None:
    if type != "DELETED":
        await _topic(dict(body))


async def _topic(found: dict[str, Any]) -> None:
    if found["metadata"].get("deletionTimestamp") and await _cluster_gone(found):
        # Its topic went with the cluster: nothing can delete it, and a finalizer left would keep the namespace.
        finalizers = [f for f in found["metadata"].get("finalizers") or [] if f != topics.FINALIZER]
        await kube().finalizers(found, finalizers)
        return
    admin, why = await _ready_admin(found)
    if admin is None:
        if not (found.get("status") or {}).get("conditions"):
            logging.info("KafkaTopic %s waits: %s", found["metadata"]["name"], why)
        return
    await topics.reconcile(kube(), found, admin)


@kopf.on.event(GROUP, VERSION, "kafkausers")
async def user_event(type: str, body: kopf.Body, **_: Any) -> None:
    found = dict(body)
    admin, _why = await _ready_admin(found)
    if admin is None:
        return
    if type == "DELETED":
        await users.delete(kube(), found["metadata"]["name"], found["metadata"]["namespace"], admin)
    else:
        await users.reconcile(kube(), found, admin)


async def _user(found: dict[str, Any]) -> None:
    admin, _why = await _ready_admin(found)
    if admin is not None:
        await users.reconcile(kube(), found, admin)


async def _sweep_users(kafka: dict[str, Any]) -> None:
    """Users in Kafka that no KafkaUser of this cluster declares (one deleted while the stand-in was down)."""
    namespace, cluster = kafka["metadata"]["namespace"], kafka["metadata"]["name"]
    admin = admin_for(namespace, cluster)
    if admin is None or not status.is_ready(kafka):
        return
    declared = {u["metadata"]["name"] for u in await kube().select("KafkaUser", namespace, {CLUSTER_LABEL: cluster})}
    for user in await asyncio.to_thread(users.orphans, admin, declared):
        logging.info("removing user %s of Kafka %s/%s: no KafkaUser declares it", user, namespace, cluster)
        await asyncio.to_thread(users.remove, admin, user)
