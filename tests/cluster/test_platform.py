"""The whole platform on the kind cluster from both charts, on the chart's default Kafka path (Strimzi's resources,
made real by the stand-in): every pod Ready, every Strimzi resource Ready and every topic on the broker with its
partitions, the services logged in over SASL_SSL, `helm test` (an order confirmed, one cancelled with its stock
released) inside the cluster, and the external database path (postgresql.enabled=false, database.existingSecret)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from devstack.cluster.cluster import Cluster
from devstack.cluster.platform import Installed, helm_test, install, uninstall
from devstack.images import app_images
from eventkit.settings import KafkaSettings
from eventkit.topics import topic_plan
from tests.cluster.kube import Images, exec_in, kubectl_json, pods, ready

pytestmark = [pytest.mark.cluster]

# Run by the toolbox's interpreter as its own KafkaUser (Describe on every topic): each topic's partition count.
DESCRIBE = """
import asyncio, json
from aiokafka.admin import AIOKafkaAdminClient
from eventkit.settings import KafkaSettings
async def main():
    admin = AIOKafkaAdminClient(**KafkaSettings().client_options())
    await admin.start()
    try:
        described = await admin.describe_topics({topics!r})
    finally:
        await admin.close()
    print(json.dumps({{t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}}))
asyncio.run(main())
"""


def test_every_pod_is_ready(cluster: Cluster, platform: Installed) -> None:
    running = [p for p in pods(cluster, platform.namespace) if p["status"]["phase"] != "Succeeded"]
    components = {p["metadata"]["labels"].get("app.kubernetes.io/component") for p in running}
    assert {"orders", "inventory", "payments", "postgresql", "ops"} <= components
    assert any(p["metadata"]["labels"].get("strimzi.io/kind") == "Kafka" for p in running), "a broker pod"
    assert any(p["metadata"]["labels"].get("app.kubernetes.io/name") == "orderflow-operator" for p in running)
    assert [p["metadata"]["name"] for p in running if not ready(p)] == []


def test_every_strimzi_resource_is_ready(cluster: Cluster, platform: Installed) -> None:
    """Kafka, KafkaTopic and KafkaUser report Ready as Strimzi does; a KafkaNodePool has no Ready condition in
    Strimzi 1.2 (strimzi-kafka-operator#11046), only its node ids, which the stand-in reports likewise."""
    kinds = kubectl_json(cluster, "-n", platform.namespace, "get", "kafka,kafkatopic,kafkauser")["items"]
    assert {k["kind"] for k in kinds} == {"Kafka", "KafkaTopic", "KafkaUser"}
    not_ready = [
        f"{k['kind']}/{k['metadata']['name']}: {k.get('status')}"
        for k in kinds
        if not any(
            c["type"] == "Ready" and c["status"] == "True" for c in (k.get("status") or {}).get("conditions", [])
        )
    ]
    assert not_ready == []
    cluster.kubectl(
        "-n", platform.namespace, "wait", "--for=condition=Ready", f"kafka/{platform.kafka}", "--timeout=10s"
    )
    pool = kubectl_json(cluster, "-n", platform.namespace, "get", "kafkanodepool")["items"][0]
    assert pool["status"]["nodeIds"] == [0]
    assert pool["status"]["roles"] == ["broker", "controller"]


def test_every_topic_is_on_the_broker_with_its_partitions(cluster: Cluster, platform: Installed) -> None:
    plan = topic_plan(KafkaSettings(), partitions=6, retry_levels=3)
    target = f"deploy/{platform.fullname}-ops"
    done = exec_in(cluster, platform.namespace, target, "python3", "-c", DESCRIBE.format(topics=sorted(plan)))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == plan


def test_the_services_log_in_over_sasl_ssl_with_scram(cluster: Cluster, platform: Installed) -> None:
    for service in app_images.SERVICES:
        deployment = kubectl_json(cluster, "-n", platform.namespace, "get", f"deploy/{platform.fullname}-{service}")
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
        assert env["KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"
        assert (
            env["KAFKA_BOOTSTRAP_SERVERS"]["value"] == f"{platform.kafka}-kafka-bootstrap.{platform.namespace}.svc:9093"
        )
        assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"{platform.fullname}-{service}"
        logs = cluster.kubectl("-n", platform.namespace, "logs", f"deploy/{platform.fullname}-{service}")
        bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]["value"]
        expected = f"{bootstrap} over SASL_SSL SCRAM-SHA-512 as {platform.fullname}-{service}, hostnames verified"
        assert expected in logs, logs[-3000:]
    broker = f"{platform.kafka}-{platform.kafka}-dual-role-0"
    # The broker's own account: no login failed on the SCRAM listener.
    audit = cluster.kubectl("-n", platform.namespace, "logs", broker, "--tail=-1", check=False)
    assert "Failed authentication" not in audit, audit[-2000:]


def test_helm_test_confirms_an_order_and_compensates_a_declined_one(cluster: Cluster, platform: Installed) -> None:
    out = helm_test(cluster, platform)
    print(out)
    assert out.count("Phase:          Succeeded") == 2, out
    assert "'status': 'CONFIRMED'" in out
    assert "'cancel_reason': 'payment_declined'" in out
    assert "stock released" in out


EXTERNAL_DB = """
apiVersion: v1
kind: ConfigMap
metadata: {{name: db-init}}
data:
  databases.sql: |
    CREATE DATABASE orders; CREATE DATABASE inventory; CREATE DATABASE payments;
---
apiVersion: v1
kind: Secret
metadata: {{name: db-password}}
stringData: {{password: {password}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: db-urls}}
stringData:
  orders-database-url: postgresql+asyncpg://app:{password}@external-db:5432/orders
  inventory-database-url: postgresql+asyncpg://app:{password}@external-db:5432/inventory
  payments-database-url: postgresql+asyncpg://app:{password}@external-db:5432/payments
---
apiVersion: v1
kind: Service
metadata: {{name: external-db}}
spec:
  selector: {{app: external-db}}
  ports: [{{port: 5432}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: external-db}}
spec:
  selector: {{matchLabels: {{app: external-db}}}}
  template:
    metadata: {{labels: {{app: external-db}}}}
    spec:
      securityContext: {{runAsNonRoot: true, runAsUser: 999, fsGroup: 999, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
        - name: postgres
          image: {image}
          imagePullPolicy: IfNotPresent
          env:
            - {{name: POSTGRES_USER, value: app}}
            - {{name: POSTGRES_PASSWORD, valueFrom: {{secretKeyRef: {{name: db-password, key: password}}}}}}
            - {{name: PGDATA, value: /var/lib/postgresql/data/pgdata}}
          readinessProbe: {{exec: {{command: [pg_isready, -U, app, -h, 127.0.0.1]}}, periodSeconds: 2}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}
          volumeMounts:
            - {{name: data, mountPath: /var/lib/postgresql/data}}
            - {{name: run, mountPath: /var/run/postgresql}}
            - {{name: tmp, mountPath: /tmp}}
            - {{name: init, mountPath: /docker-entrypoint-initdb.d}}
      volumes:
        - {{name: data, emptyDir: {{}}}}
        - {{name: run, emptyDir: {{}}}}
        - {{name: tmp, emptyDir: {{}}}}
        - {{name: init, configMap: {{name: db-init}}}}
"""


@pytest.fixture
def external_database(cluster: Cluster, images: Images) -> Iterator[str]:
    """A PostgreSQL the chart does not manage, and the Secret of three URLs the chart is given."""
    namespace = f"of-ext-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    cluster.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    image = app_images.POSTGRES.ref(app_images.POSTGRES_TAG)
    manifests = EXTERNAL_DB.format(password=uuid.uuid4().hex, image=image)
    cluster.kubectl("-n", namespace, "apply", "-f", "-", input=manifests)
    cluster.kubectl("-n", namespace, "rollout", "status", "deployment/external-db", "--timeout=180s")
    yield namespace
    cluster.kubectl("delete", "namespace", namespace, "--wait=false")


def test_the_platform_runs_on_an_external_database_from_an_existing_secret(
    cluster: Cluster, images: Images, external_database: str
) -> None:
    namespace = external_database
    settings = {"postgresql.enabled": "false", "database.existingSecret": "db-urls"}
    installed = install(
        cluster, namespace=namespace, release="ext", tag=images.tag, operator=False, build=False, settings=settings
    )
    try:
        selector = "app.kubernetes.io/component=postgresql"
        bundled = kubectl_json(cluster, "-n", namespace, "get", "statefulsets", "-l", selector)["items"]
        assert bundled == [], "no bundled PostgreSQL"
        out = helm_test(cluster, installed)
        assert out.count("Phase:          Succeeded") == 2, out
    finally:
        uninstall(cluster, installed)
