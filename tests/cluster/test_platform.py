"""The whole platform on the node from both charts: every pod Ready, the topics the chart's Job created, `helm
test` (an order confirmed, one cancelled with its stock released) inside the cluster, and the external
database path (postgresql.enabled=false, database.existingSecret)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from devstack.cluster.node import Node
from devstack.cluster.platform import Installed, helm_test, install, uninstall
from devstack.images import app_images
from eventkit.settings import KafkaSettings
from eventkit.topics import topic_plan
from tests.cluster.kube import Images, delete_topics, pods, ready

pytestmark = [pytest.mark.cluster]


def test_every_pod_is_ready(node: Node, platform: Installed) -> None:
    running = [p for p in pods(node, platform.namespace) if p["status"]["phase"] != "Succeeded"]
    components = {p["metadata"]["labels"].get("app.kubernetes.io/component") for p in running}
    assert {"orders", "inventory", "payments", "postgresql"} <= components
    assert any(p["metadata"]["labels"].get("app.kubernetes.io/name") == "orderflow-operator" for p in running)
    assert [p["metadata"]["name"] for p in running if not ready(p)] == []


def test_the_chart_created_every_topic_with_its_partitions(platform: Installed) -> None:
    settings = KafkaSettings(bootstrap_servers=platform.bootstrap_servers, namespace=f"{platform.namespace}.")
    plan = topic_plan(settings, partitions=6, retry_levels=3)

    async def described() -> dict[str, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=platform.bootstrap_servers)
        await admin.start()
        try:
            topics = await admin.describe_topics(list(plan))
        finally:
            await admin.close()
        return {t["topic"]: len(t["partitions"]) for t in topics if t["error_code"] == 0}

    assert asyncio.run(described()) == plan


def test_helm_test_confirms_an_order_and_compensates_a_declined_one(node: Node, platform: Installed) -> None:
    out = helm_test(node, platform)
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
          imagePullPolicy: Never
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
def external_database(node: Node, images: Images) -> Iterator[str]:
    """A PostgreSQL the chart does not manage, and the Secret of three URLs the chart is given."""
    namespace = f"of-ext-{uuid.uuid4().hex[:6]}"
    node.kubectl("create", "namespace", namespace)
    node.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    image = app_images.POSTGRES.ref(app_images.POSTGRES_TAG)
    manifests = EXTERNAL_DB.format(password=uuid.uuid4().hex, image=image)
    node.kubectl("-n", namespace, "apply", "-f", "-", input=manifests)
    node.kubectl("-n", namespace, "rollout", "status", "deployment/external-db", "--timeout=180s")
    yield namespace
    node.kubectl("delete", "namespace", namespace, "--wait=false")


def test_the_platform_runs_on_an_external_database_from_an_existing_secret(
    node: Node, images: Images, external_database: str
) -> None:
    namespace = external_database
    settings = {
        "postgresql.enabled": "false",
        "database.existingSecret": "db-urls",
        "kafka.topicPrefix": f"{namespace}.",
    }
    installed = install(
        node, namespace=namespace, release="ext", tag=images.tag, operator=False, build=False, settings=settings
    )
    try:
        manifests = json.loads(node.kubectl("-n", namespace, "get", "statefulsets", "-o", "json"))
        assert manifests["items"] == [], "no bundled PostgreSQL"
        out = helm_test(node, installed)
        assert out.count("Phase:          Succeeded") == 2, out
    finally:
        uninstall(node, installed)
        delete_topics(installed.bootstrap_servers, f"{namespace}.")
