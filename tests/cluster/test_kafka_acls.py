"""Least privilege on the chart's default Kafka path, proven both ways with real clients and real credentials.

Every cell is an operation attempted by a Kafka client logged in over SASL_SSL with SCRAM-SHA-512 as one of the
chart's KafkaUsers (the password read from the Secret the User Operator, here the stand-in, wrote), run inside
the release (the only pods the listener admits), against the broker's StandardAuthorizer. What each service
must be able to do, it does (the saga itself runs under these ACLs: `helm test` and the load tests); what it
must not, it is denied: writing another service's topic, reading a topic it does not consume or a dead-letter
topic, reading another service's consumer group, creating or deleting topics. The operator's scaler user may
only Describe; the operations user reads the dead letters and writes retry topics, nothing else.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from devstack.cluster.cluster import Cluster
from devstack.cluster.platform import Installed
from tests.cluster.kube import exec_in, kubectl_json, service_url

pytestmark = [pytest.mark.cluster]

# Runs each check of argv[1] (JSON [[operation, name], ...]) as the KafkaUser of the environment; prints
# {"operation name": "allowed" | "denied: <error>"}.
PROBE = """
import asyncio, json, sys
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    GroupAuthorizationFailedError, TopicAuthorizationFailedError, TransactionalIdAuthorizationFailed,
    ClusterAuthorizationFailedError, KafkaError,
)
from eventkit.settings import KafkaSettings
DENIED = (GroupAuthorizationFailedError, TopicAuthorizationFailedError, ClusterAuthorizationFailedError)
options = KafkaSettings().client_options()
async def admin_call(call):
    admin = AIOKafkaAdminClient(**options, request_timeout_ms=15000)
    await admin.start()
    try:
        return await call(admin)
    finally:
        await admin.close()
def topic_error(described, name):
    [found] = [t for t in described if t["topic"] == name]
    return found["error_code"]
async def describe(name):
    code = topic_error(await admin_call(lambda a: a.describe_topics([name])), name)
    if code == 29:
        raise TopicAuthorizationFailedError()
async def read(name):
    await describe(name)  # no Describe, no metadata: the fetch would wait for it, never failing
    consumer = AIOKafkaConsumer(**options, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(name, 0)])
        await consumer.seek_to_beginning()
        await consumer.getmany(timeout_ms=3000)
        await consumer.position(TopicPartition(name, 0))
    finally:
        await consumer.stop()
async def write(name):
    producer = AIOKafkaProducer(**options)
    await producer.start()
    try:
        headers = [("ce_type", b"orderflow.acl.probe.v1")]
        await producer.send_and_wait(name, b"acl probe", key=b"acl-probe", headers=headers)
    finally:
        await producer.stop()
async def group(name):
    await admin_call(lambda a: a.list_consumer_group_offsets(name))
async def create(name):
    response = await admin_call(lambda a: a.create_topics([NewTopic(name, 1, 1)]))
    for topic, code, *_ in response.topic_errors:
        if code == 29:
            raise TopicAuthorizationFailedError()
        if code == 31:
            raise ClusterAuthorizationFailedError()
async def delete(name):
    response = await admin_call(lambda a: a.delete_topics([name]))
    for topic, code, *_ in response.topic_error_codes:
        if code == 29:
            raise TopicAuthorizationFailedError()
OPERATIONS = {"describe": describe, "read": read, "write": write, "group": group, "create": create, "delete": delete}
async def main(checks):
    results = {}
    for operation, name in checks:
        try:
            await asyncio.wait_for(OPERATIONS[operation](name), 60)
            results[f"{operation} {name}"] = "allowed"
        except DENIED as error:
            results[f"{operation} {name}"] = f"denied: {type(error).__name__}"
        except (KafkaError, asyncio.TimeoutError) as error:
            results[f"{operation} {name}"] = f"error: {error!r}"
    print(json.dumps(results))
asyncio.run(main(json.loads(sys.argv[1])))
"""

# principal -> [(operation, resource, allowed?)], from the chart's ACLs (charts/orderflow/templates/_kafka.tpl).
MATRIX: dict[str, list[tuple[str, str, bool]]] = {
    "orders": [
        ("write", "orders", True),
        ("read", "inventory", True),
        ("read", "payments.retry.1", True),
        ("write", "inventory.dlq", True),
        ("group", "orders", True),
        ("read", "orders", False),
        ("write", "payments", False),
        ("read", "inventory.dlq", False),
        ("group", "inventory", False),
        ("create", "acl-probe-orders", False),
        ("delete", "payments.dlq", False),
    ],
    "inventory": [
        ("write", "inventory", True),
        ("read", "orders", True),
        ("write", "orders.retry.2", True),
        ("write", "orders.dlq", True),
        ("group", "inventory", True),
        ("write", "payments", False),
        ("write", "orders", False),
        ("read", "payments", False),
        ("read", "orders.dlq", False),
        ("group", "payments", False),
        ("create", "acl-probe-inventory", False),
        ("delete", "orders.dlq", False),
    ],
    "payments": [
        ("write", "payments", True),
        ("read", "orders", True),
        ("group", "payments", True),
        ("read", "inventory", False),
        ("write", "inventory", False),
        ("group", "orders", False),
        ("create", "acl-probe-payments", False),
        ("delete", "inventory.dlq", False),
    ],
    "scaler": [
        ("describe", "orders", True),
        ("describe", "orders.retry.1", True),
        ("group", "inventory", True),
        ("read", "orders", False),
        ("write", "orders", False),
        ("describe", "payments", False),
        ("create", "acl-probe-scaler", False),
    ],
    "ops": [
        ("read", "orders.dlq", True),
        ("write", "orders.retry.1", True),
        ("describe", "inventory", True),
        ("group", "payments", True),
        ("read", "orders", False),
        ("write", "orders", False),
        ("write", "orders.dlq", False),
        ("create", "acl-probe-ops", False),
        ("delete", "orders.dlq", False),
    ],
}


@pytest.fixture(scope="module")
def credentials(cluster: Cluster, platform: Installed) -> dict[str, tuple[str, str]]:
    """principal -> (KafkaUser name, password from its Secret)."""
    found = {}
    for principal in MATRIX:
        user = f"{platform.fullname}-{principal}"
        secret = kubectl_json(cluster, "-n", platform.namespace, "get", "secret", user)
        found[principal] = (user, base64.b64decode(secret["data"]["password"]).decode())
    return found


def test_every_kafka_user_may_do_its_job_and_nothing_else(
    cluster: Cluster, platform: Installed, credentials: dict[str, tuple[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [f"{'user':<10} {'operation':<9} {'resource':<22} {'expected':<8} observed"]
    wrong = []
    target = f"deploy/{platform.fullname}-ops"
    for principal, checks in MATRIX.items():
        user, password = credentials[principal]
        argv = json.dumps([[operation, name] for operation, name, _ in checks])
        env = ["env", f"KAFKA_SASL_USERNAME={user}", f"KAFKA_SASL_PASSWORD={password}"]
        done = exec_in(cluster, platform.namespace, target, *env, "python3", "-c", PROBE, argv, timeout=600)
        assert done.returncode == 0, f"{principal}: {done.stderr[-3000:]}"
        observed = json.loads(done.stdout)
        for operation, name, allowed in checks:
            result = observed[f"{operation} {name}"]
            expected = "allowed" if allowed else "denied"
            rows.append(f"{principal:<10} {operation:<9} {name:<22} {expected:<8} {result}")
            if not result.startswith(expected):
                wrong.append(rows[-1])
    with capsys.disabled():
        print("\nACL matrix (real clients, SASL_SSL SCRAM-SHA-512, each user's own password):\n" + "\n".join(rows))
    assert not wrong, "\n".join(wrong)


def test_the_services_measure_their_lag_under_their_acls(cluster: Cluster, platform: Installed) -> None:
    """The lag gauge lists offsets and reads committed ones: Describe on the inputs and the group is enough."""
    metrics = httpx.get(f"{service_url(cluster, platform, 'orders')}/metrics", timeout=10, trust_env=False).text
    lags = [line for line in metrics.splitlines() if line.startswith("orderflow_consumer_lag{")]
    topics = {line.split('topic="', 1)[1].split('"', 1)[0] for line in lags}
    assert {"inventory", "payments"} <= topics, lags[:10]
