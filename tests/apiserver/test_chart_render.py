"""charts/orderflow rendered by the pinned helm: lint, the closed schema, and what the manifests promise.

The ACL and topic expectations are derived from the code (eventkit's topic naming, each service's handlers), so
the chart cannot drift from what the services subscribe to and publish.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventkit.retry import dlq_topic, failure_topics, retry_topic
from eventkit.settings import KafkaSettings
from eventkit.topics import topic_plan
from eventkit.topology import SERVICES
from orderflow.lag import default_topics
from services.orders.app import create_app as create_orders_app
from services.orders.settings import OrdersSettings
from tests.apiserver.helm import (
    CHART,
    CI_VALUES,
    REPO,
    Helm,
    HelmFailed,
    Manifest,
    named,
    of_kind,
    pod_specs,
    values_args,
)
from tests.support.schemas import objects

# The helm binary is built on first use, like the control plane's.
pytestmark = [pytest.mark.apiserver, pytest.mark.timeout(1200)]

CI = {path.name.removesuffix("-values.yaml"): path for path in CI_VALUES}


@pytest.fixture(scope="module")
def default(helm: Helm) -> list[Manifest]:
    return helm.template()


@pytest.fixture(scope="module")
def matrix(helm: Helm) -> dict[str, list[Manifest]]:
    return {name: helm.template(*values_args(path)) for name, path in CI.items()}


def test_the_values_matrix_covers_every_deployment_shape() -> None:
    assert set(CI) == {
        "default",
        "external-kafka",
        "observability",
        "external-postgresql",
        "autoscaler",
        "exposed",
        "operations",
    }


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_helm_lint_strict_passes(helm: Helm, values: Path) -> None:
    done = helm.run("lint", "--strict", CHART, "--values", values)
    assert "1 chart(s) linted, 0 chart(s) failed" in done.stdout


# --- the schema ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # an unknown key (a typo, or a service the code does not have)
        (["--set", "services.shipping.replicas=1"], "at '/services': additional properties 'shipping' not allowed"),
        (["--set", "defaults.replica=2"], "at '/defaults': additional properties 'replica' not allowed"),
        # a password value does not exist: it is generated or comes from a Secret
        (["--set", "postgresql.password=hunter2"], "at '/postgresql': additional properties 'password' not allowed"),
        # wrong types and ranges
        (["--set", "services.orders.replicas=-1"], "at '/services/orders/replicas': minimum: got -1, want 0"),
        (["--set-string", "kafka.retryLevels=three"], "at '/kafka/retryLevels': got string, want integer"),
        (["--set", "defaults.resources.limits.memory=lots"], "at '/defaults/resources/limits/memory'"),
        (["--set", "defaults.relay.mode=sidecar"], "at '/defaults/relay/mode'"),
        (["--set-string", "defaults.topologySpread=yes"], "at '/defaults/topologySpread': got string, want boolean"),
        (["--set", "operations.shell=true"], "at '/operations': additional properties 'shell' not allowed"),
        (["--set-json", 'defaults.env.X={"secretKeyRef": {"name": "s", "key": "k"}}'], "at '/defaults/env/X'"),
        (["--set", "services.orders.image.digest=ab12"], "at '/services/orders/image/digest': 'ab12' does not match"),
        (["--set", "observability.tracesSampleRatio=1.5"], "at '/observability/tracesSampleRatio': '1.5' does not"),
        (["--set", "observability.tracesSampleRatio=2"], "at '/observability/tracesSampleRatio': maximum"),
        (["--set", "defaults.resources.limits.cpu=null"], "at '/defaults/resources/limits': missing property 'cpu'"),
        # settings that only make sense together
        (["--set", "kafka.strimzi.enabled=false"], "at '/kafka/bootstrapServers': minLength: got 0, want 1"),
        (["--set", "kafka.bootstrapServers=kafka:9092"], "at '/kafka/bootstrapServers': maxLength: got 10, want 0"),
        (["--set", "postgresql.enabled=false"], "at '/database/existingSecret': minLength: got 0, want 1"),
        (
            ["--set", "kafka.bootstrapServers=kafka", "--set", "kafka.strimzi.enabled=false"],
            "'/kafka/bootstrapServers'",
        ),
    ],
)
def test_schema_rejects_bad_values_naming_the_key(helm: Helm, args: list[str], message: str) -> None:
    with pytest.raises(HelmFailed) as failure:
        helm.template(*args)
    assert "values don't meet the specifications of the schema" in str(failure.value)
    assert message in str(failure.value)


def test_schema_is_closed_at_every_level() -> None:
    schema = yaml.safe_load((CHART / "values.schema.json").read_text())
    open_objects = [
        path
        for path, node in objects(schema)
        if node.get("type") == "object" and "properties" in node and node.get("additionalProperties") is not False
    ]
    assert open_objects == []


def test_values_hold_no_password_and_the_secret_is_generated(default: list[Manifest]) -> None:
    values = (CHART / "values.yaml").read_text().lower()
    assert "password:" not in values
    secret = named(default, "Secret", "of-orderflow-postgresql")
    assert len(secret["data"]["password"]) >= 40  # base64 of 32 random characters


@pytest.mark.parametrize("case", sorted(CI))
def test_every_object_carries_the_recommended_labels(matrix: dict[str, list[Manifest]], case: str) -> None:
    for manifest in matrix[case]:
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "orderflow"
        assert labels["app.kubernetes.io/instance"] == "of"
        assert labels["app.kubernetes.io/part-of"] == "orderflow"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert {"app.kubernetes.io/component", "app.kubernetes.io/version", "helm.sh/chart"} <= set(labels)


DIGEST = "sha256:" + "ab" * 32
APP_VERSION = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]


def _containers(manifest: Manifest) -> list[dict[str, Any]]:
    [(_, spec)] = pod_specs([manifest])
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_a_digest_pins_each_image_and_the_version_follows_the_tag_deployed(helm: Helm) -> None:
    manifests = helm.template(
        "--set", "services.orders.image.tag=1.4.2", "--set", f"services.orders.image.digest={DIGEST}",
        "--set", f"services.inventory.image.tag=1.4.1@{DIGEST}",  # skaffold's form
        "--set", "operations.enabled=true", "--set", f"operations.image.digest={DIGEST}",
    )  # fmt: skip
    expected = {
        "orders": ("orderflow-orders:1.4.2@" + DIGEST, "1.4.2"),
        "inventory": ("orderflow-inventory:1.4.1@" + DIGEST, "1.4.1"),
        "payments": (f"orderflow-payments:{APP_VERSION}", APP_VERSION),
    }
    for service, (image, version) in expected.items():
        deployment = named(manifests, "Deployment", f"of-orderflow-{service}")
        assert {c["image"] for c in _containers(deployment)} == {image}
        for labels in (deployment["metadata"]["labels"], deployment["spec"]["template"]["metadata"]["labels"]):
            assert labels["app.kubernetes.io/version"] == version
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        attributes = next(e["value"] for e in container["env"] if e["name"] == "OTEL_RESOURCE_ATTRIBUTES")
        assert f"service.version={version}," in attributes
    [ops] = _containers(named(manifests, "Deployment", "of-orderflow-ops"))
    assert ops["image"] == f"orderflow-cli:{APP_VERSION}@{DIGEST}"


def test_a_new_image_tag_changes_only_the_objects_of_orderflow_images(helm: Helm) -> None:
    """The version label follows the tag only where the tag runs: PostgreSQL's, Kafka's and the observability
    stack's pod templates stay as they were, so a rolling update of the services restarts none of them."""

    def render(tag: str) -> dict[tuple[str, str], Manifest]:
        manifests = helm.template(
            "--values", CI["observability"], "--set", "operations.enabled=true", "--set", f"defaults.image.tag={tag}"
        )
        # Secrets hold passwords generated at each render; they carry no pod template.
        return {(m["kind"], m["metadata"]["name"]): m for m in manifests if m["kind"] != "Secret"}

    before, after = render("1.4.1"), render("1.4.2")
    assert before.keys() == after.keys()
    changed = {key for key in before if before[key] != after[key]}
    ours = {*SERVICES, *(f"{s}-{role}" for s in SERVICES for role in ("consumer", "relay")), "ops", "test"}
    components = {before[key]["metadata"]["labels"]["app.kubernetes.io/component"] for key in changed}
    assert components <= ours, sorted(changed)
    assert ("Deployment", "of-orderflow-ops") in changed
    assert {("Deployment", f"of-orderflow-{s}") for s in SERVICES} <= changed
    assert ("StatefulSet", "of-orderflow-postgresql") in before  # and unchanged, as checked above


def test_a_digest_for_every_image_at_once_is_refused(helm: Helm) -> None:
    """Each image has its own digest: one under defaults would pin all three services to one image."""
    with pytest.raises(HelmFailed, match=r"defaults.image.digest is set, but each image has its own digest"):
        helm.template("--set", f"defaults.image.digest={DIGEST}")


def test_environment_variables_come_from_values_secrets_and_config_maps(helm: Helm) -> None:
    limit = {"configMapKeyRef": {"name": "payment-limits", "key": "default"}}
    manifests = helm.template(
        "--set-string", "services.payments.env.ORDERFLOW_PAYMENTS_FLAKY_FAILURES=2",
        "--set-json", f"services.payments.env.ORDERFLOW_PAYMENTS_DEFAULT_LIMIT={json.dumps({'valueFrom': limit})}",
        "--set-json", 'defaults.envFrom=[{"secretRef": {"name": "orderflow-settings"}}]',
        "--set", "services.payments.consumer.mode=dedicated",
    )  # fmt: skip
    for name in ("of-orderflow-payments", "of-orderflow-payments-consumer"):
        [container] = named(manifests, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["ORDERFLOW_PAYMENTS_FLAKY_FAILURES"] == {"name": "ORDERFLOW_PAYMENTS_FLAKY_FAILURES", "value": "2"}
        assert env["ORDERFLOW_PAYMENTS_DEFAULT_LIMIT"] == {
            "name": "ORDERFLOW_PAYMENTS_DEFAULT_LIMIT",
            "valueFrom": limit,
        }
        assert container["envFrom"] == [{"secretRef": {"name": "orderflow-settings"}}]
    [orders] = named(manifests, "Deployment", "of-orderflow-orders")["spec"]["template"]["spec"]["containers"]
    assert orders["envFrom"] == [{"secretRef": {"name": "orderflow-settings"}}]
    assert "ORDERFLOW_PAYMENTS_DEFAULT_LIMIT" not in {e["name"] for e in orders["env"]}


def test_a_service_block_overrides_only_what_it_names(helm: Helm) -> None:
    manifests = helm.template(
        "--set", "services.payments.resources.limits.memory=1Gi", "--set", "services.payments.replicas=3"
    )
    payments = named(manifests, "Deployment", "of-orderflow-payments")["spec"]
    [container] = payments["template"]["spec"]["containers"]
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "192Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }
    assert payments["replicas"] == 3
    assert named(manifests, "Deployment", "of-orderflow-orders")["spec"]["replicas"] == 1


# --- Kafka: topics and least-privilege ACLs --------------------------------------------------------------------


def _inputs(service: str) -> set[str]:
    return set(SERVICES[service].reads)


def _acls(manifests: list[Manifest], user: str) -> dict[tuple[str, str], set[str]]:
    spec = named(manifests, "KafkaUser", user)["spec"]
    assert spec["authentication"] == {"type": "scram-sha-512"}
    acls: dict[tuple[str, str], set[str]] = {}
    for acl in spec["authorization"]["acls"]:
        resource = acl["resource"]
        assert resource["patternType"] == "literal", acl
        key = (resource["type"], resource["name"])
        assert key not in acls, f"duplicate ACL entry {key}"
        acls[key] = set(acl["operations"])
    return acls


def test_kafka_topics_are_every_topic_of_the_catalog_with_retry_and_dlq(default: list[Manifest]) -> None:
    topics = of_kind(default, "KafkaTopic")
    assert {t["spec"]["topicName"] for t in topics} == set(topic_plan(KafkaSettings(namespace=""), 6, retry_levels=3))
    assert all(t["metadata"]["labels"]["strimzi.io/cluster"] == "of-orderflow-kafka" for t in topics)
    assert all(t["apiVersion"] == "kafka.strimzi.io/v1" for t in topics)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_user_has_exactly_least_privilege_acls(default: list[Manifest], service: str) -> None:
    expected: dict[tuple[str, str], set[str]] = {("group", service): {"Read"}}
    for topic in _inputs(service):
        expected[("topic", topic)] = {"Describe", "Read"}
        *retries, dlq = failure_topics(topic, 3)
        expected |= {("topic", retry): {"Describe", "Read", "Write"} for retry in retries}
        expected[("topic", dlq)] = {"Describe", "Write"}
    expected[("topic", SERVICES[service].topic)] = {"Describe", "Write"}
    assert _acls(default, f"of-orderflow-{service}") == expected


def test_no_service_may_write_a_topic_it_does_not_own(default: list[Manifest]) -> None:
    for service in SERVICES:
        acls = _acls(default, f"of-orderflow-{service}")
        writable_main = {name for (kind, name), ops in acls.items() if "Write" in ops and "." not in name}
        assert writable_main == {SERVICES[service].topic}
        granted = set().union(*acls.values())
        assert granted <= {"Read", "Write", "Describe"}, "no Create/Delete/Alter/All"
        assert all(kind in ("topic", "group") for kind, _ in acls), "no cluster or transactionalId rights"


def test_topic_prefix_reaches_topics_groups_acls_and_the_services(helm: Helm) -> None:
    manifests = helm.template("--set", "kafka.topicPrefix=shop-", "--set", "kafka.retryLevels=1")
    topics = {t["spec"]["topicName"] for t in of_kind(manifests, "KafkaTopic")}
    assert topics == set(topic_plan(KafkaSettings(namespace="shop-"), 6, retry_levels=1))
    acls = _acls(manifests, "of-orderflow-inventory")
    assert set(acls) == {
        ("group", "shop-inventory"),
        ("topic", "shop-orders"),
        ("topic", "shop-orders.retry.1"),
        ("topic", "shop-orders.dlq"),
        ("topic", "shop-inventory"),
    }
    env = _env(named(manifests, "Deployment", "of-orderflow-inventory"))
    assert env["ORDERFLOW_KAFKA_NAMESPACE"] == "shop-"
    assert env["ORDERFLOW_CONSUMER_RETRY_LEVELS"] == "1"


def test_kafka_is_kraft_with_a_persistent_node_pool_and_one_authenticated_listener(default: list[Manifest]) -> None:
    kafka = named(default, "Kafka", "of-orderflow-kafka")
    pool = named(default, "KafkaNodePool", "of-orderflow-kafka-dual-role")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "of-orderflow-kafka"
    assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    [volume] = pool["spec"]["storage"]["volumes"]
    assert volume["type"] == "persistent-claim"
    assert volume["kraftMetadata"] == "shared"
    [listener] = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True
    assert listener["authentication"] == {"type": "scram-sha-512"}
    assert kafka["spec"]["kafka"]["authorization"] == {"type": "simple"}
    assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False


def test_services_authenticate_with_the_secrets_strimzi_creates(default: list[Manifest]) -> None:
    for service in SERVICES:
        deployment = named(default, "Deployment", f"of-orderflow-{service}")
        env = _env(deployment)
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "of-orderflow-kafka-kafka-bootstrap.shop.svc:9093"
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["KAFKA_SASL_USERNAME"] == f"of-orderflow-{service}"
        assert env["KAFKA_SASL_PASSWORD"] == {"secretKeyRef": {"name": f"of-orderflow-{service}", "key": "password"}}
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert volumes["kafka-ca"]["secret"]["secretName"] == "of-orderflow-kafka-cluster-ca-cert"
        assert env["KAFKA_SSL_CAFILE"] == "/etc/orderflow/kafka-ca/ca.crt"


def test_external_kafka_uses_the_one_bootstrap_value_and_no_strimzi_objects(matrix: dict[str, list[Manifest]]) -> None:
    manifests = matrix["external-kafka"]
    assert not [m for m in manifests if m["apiVersion"].startswith("kafka.strimzi.io")]
    env = _env(named(manifests, "Deployment", "of-orderflow-payments"))
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka-0.kafka.example.internal:9094,kafka-1.kafka.example.internal:9094"
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["KAFKA_SASL_PASSWORD"] == {
        "secretKeyRef": {"name": "orderflow-kafka-credentials", "key": "payments-password"}
    }


# --- pods: security, probes, environment -----------------------------------------------------------------------


def _assert_runs_restricted(owner: Manifest, spec: dict[str, Any]) -> None:
    where = f"{owner['kind']} {owner['metadata']['name']}"
    # Only the bundled Prometheus reads the API (service discovery, through read-only Roles).
    discovers = owner["metadata"]["labels"].get("app.kubernetes.io/component") == "prometheus"
    assert spec["automountServiceAccountToken"] is discovers, where
    assert spec["securityContext"]["runAsNonRoot"] is True, where
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True, where
        assert context["readOnlyRootFilesystem"] is True, where
        assert context["allowPrivilegeEscalation"] is False, where
        assert context["capabilities"] == {"drop": ["ALL"]}, where
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}, where


@pytest.mark.parametrize("case", sorted(CI))
def test_every_pod_runs_restricted(matrix: dict[str, list[Manifest]], case: str) -> None:
    specs = list(pod_specs(matrix[case]))
    assert specs
    for owner, spec in specs:
        _assert_runs_restricted(owner, spec)
    for account in of_kind(matrix[case], "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False


def test_services_probe_the_health_routes_the_app_serves(default: list[Manifest]) -> None:
    paths = set(create_orders_app(OrdersSettings(database_url="sqlite+aiosqlite://")).openapi()["paths"])
    for service in SERVICES:
        deployment = named(default, "Deployment", f"of-orderflow-{service}")
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
        probes = {kind: container[f"{kind}Probe"] for kind in ("startup", "readiness", "liveness")}
        assert probes["readiness"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert probes["liveness"]["httpGet"] == {"path": "/livez", "port": "http"}
        assert probes["startup"]["httpGet"] == {"path": "/livez", "port": "http"}
        assert {p["httpGet"]["path"] for p in probes.values()} <= paths
        # the startup probe, not a long liveness delay, covers a cold start
        assert probes["startup"]["periodSeconds"] * probes["startup"]["failureThreshold"] >= 120
        assert container["args"][:2] == ["serve", service]


def test_migrations_run_in_an_init_container_with_the_same_database(default: list[Manifest]) -> None:
    for service in SERVICES:
        spec = named(default, "Deployment", f"of-orderflow-{service}")["spec"]["template"]["spec"]
        [init] = spec["initContainers"]
        assert init["args"] == ["migrate", service]
        init_env = {e["name"]: e.get("value", e.get("valueFrom")) for e in init["env"]}
        url = init_env["ORDERFLOW_DATABASE_URL"]
        assert (
            url
            == f"postgresql+asyncpg://orderflow:$(ORDERFLOW_DATABASE_PASSWORD)@of-orderflow-postgresql:5432/{service}"
        )
        assert _env(named(default, "Deployment", f"of-orderflow-{service}"))["ORDERFLOW_DATABASE_URL"] == url


def test_an_external_kafka_gets_its_topics_from_the_service_image_before_any_consumer(
    matrix: dict[str, list[Manifest]],
) -> None:
    defaults, given = (
        yaml.safe_load((CHART / f).read_text()) for f in ("values.yaml", "ci/external-kafka-values.yaml")
    )
    topics = defaults["kafka"]["external"]["topics"] | given["kafka"]["external"].get("topics", {})
    for service in SERVICES:
        deployment = named(matrix["external-kafka"], "Deployment", f"of-orderflow-{service}")
        first, *_ = deployment["spec"]["template"]["spec"]["initContainers"]
        assert first["name"] == "topics"
        assert "command" not in first, "the image's own entry point: orderflow-service"
        assert first["args"] == [
            "topics",
            "--partitions",
            str(topics["partitions"]),
            "--replication-factor",
            str(topics["replicationFactor"]),
        ]
        env = {e["name"]: e.get("value", e.get("valueFrom")) for e in first["env"]}
        assert env["ORDERFLOW_CONSUMER_RETRY_LEVELS"] == "3"
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == _env(deployment)["KAFKA_BOOTSTRAP_SERVERS"]


def test_external_postgresql_reads_each_url_from_the_existing_secret(matrix: dict[str, list[Manifest]]) -> None:
    manifests = matrix["external-postgresql"]
    assert not of_kind(manifests, "StatefulSet")
    env = _env(named(manifests, "Deployment", "of-orderflow-orders"))
    assert env["ORDERFLOW_DATABASE_URL"] == {
        "secretKeyRef": {"name": "orderflow-database-urls", "key": "orders-database-url"}
    }


def test_inline_relay_by_default_and_a_dedicated_relay_deployment_on_request(
    default: list[Manifest], matrix: dict[str, list[Manifest]]
) -> None:
    env = _env(named(default, "Deployment", "of-orderflow-orders"))
    assert (env["ORDERFLOW_RELAY_ENABLED"], env["ORDERFLOW_CONSUMER_ENABLED"]) == ("true", "true")
    dedicated = matrix["observability"]
    service_env = _env(named(dedicated, "Deployment", "of-orderflow-orders"))
    relay_env = _env(named(dedicated, "Deployment", "of-orderflow-orders-relay"))
    assert (service_env["ORDERFLOW_RELAY_ENABLED"], service_env["ORDERFLOW_CONSUMER_ENABLED"]) == ("false", "true")
    assert (relay_env["ORDERFLOW_RELAY_ENABLED"], relay_env["ORDERFLOW_CONSUMER_ENABLED"]) == ("true", "false")


def test_observability_exports_traces_to_the_bundled_collector(matrix: dict[str, list[Manifest]]) -> None:
    manifests = matrix["observability"]
    env = _env(named(manifests, "Deployment", "of-orderflow-payments"))
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://of-orderflow-otel-collector:4317"
    assert env["OTEL_TRACES_EXPORTER"] == "otlp"
    assert env["OTEL_SERVICE_NAME"] == "payments"
    config = yaml.safe_load(named(manifests, "ConfigMap", "of-orderflow-otel-collector")["data"]["config.yaml"])
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["otlp/jaeger"]
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == "of-orderflow-jaeger:4317"
    monitor = named(manifests, "ServiceMonitor", "of-orderflow")
    assert monitor["spec"]["endpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "30s", "honorLabels": True}
    ]
    assert (env["OTEL_TRACES_SAMPLER"], env["OTEL_TRACES_SAMPLER_ARG"]) == ("parentbased_traceidratio", "1")
    assert _env(named(matrix["default"], "Deployment", "of-orderflow-payments"))["OTEL_TRACES_EXPORTER"] == "none"


def test_the_sampled_share_of_orders_reaches_every_service(helm: Helm) -> None:
    manifests = helm.template(
        "--set", "observability.otlpEndpoint=http://collector:4317", "--set", "observability.tracesSampleRatio=0.1"
    )
    for service in SERVICES:
        env = _env(named(manifests, "Deployment", f"of-orderflow-{service}"))
        assert (env["OTEL_TRACES_SAMPLER"], env["OTEL_TRACES_SAMPLER_ARG"]) == ("parentbased_traceidratio", "0.1")


def test_autoscaled_deployments_leave_replicas_to_the_consumer_scaler(matrix: dict[str, list[Manifest]]) -> None:
    manifests = matrix["autoscaler"]
    assert "replicas" not in named(manifests, "Deployment", "of-orderflow-inventory")["spec"]
    assert named(manifests, "Deployment", "of-orderflow-orders")["spec"]["replicas"] == 1
    scaler = named(manifests, "ConsumerScaler", "of-orderflow-inventory")["spec"]
    assert scaler["scaleTargetRef"]["name"] == "of-orderflow-inventory"
    assert scaler["consumerGroup"] == "inventory"
    # The consumers start from the earliest offset; a scaler counting from `latest` would never wake a new group.
    assert scaler["offsetResetPolicy"] == "earliest"
    # Its inputs and their retry topics: a record waiting on a retry topic is lag too.
    assert scaler["topics"] == sorted(SERVICES["inventory"].subscriptions(3))
    assert scaler["strimzi"] == {
        "cluster": "of-orderflow-kafka",
        "listener": "scram",
        "kafkaUser": "of-orderflow-scaler",
    }
    scaled = ("inventory", "payments", "orders")
    measured = {topic for name in scaled for topic in SERVICES[name].subscriptions(3)}
    assert _acls(manifests, "of-orderflow-scaler") == {
        **{("group", name): {"Describe"} for name in scaled},
        **{("topic", topic): {"Describe"} for topic in measured},
    }


def test_a_dedicated_consumer_runs_apart_from_the_api_and_is_what_the_scaler_scales(
    default: list[Manifest], matrix: dict[str, list[Manifest]]
) -> None:
    manifests = matrix["autoscaler"]
    api, consumer = (named(manifests, "Deployment", n) for n in ("of-orderflow-orders", "of-orderflow-orders-consumer"))
    api_env, consumer_env = _env(api), _env(consumer)
    assert (api_env["ORDERFLOW_CONSUMER_ENABLED"], consumer_env["ORDERFLOW_CONSUMER_ENABLED"]) == ("false", "true")
    # The relay stays inline: every pod may lead it (one at a time, by the database lock).
    assert api_env["ORDERFLOW_RELAY_ENABLED"] == consumer_env["ORDERFLOW_RELAY_ENABLED"] == "true"
    assert api["spec"]["replicas"] == 1, "the API keeps its own replica count"
    assert "replicas" not in consumer["spec"], "the ConsumerScaler owns the consumer's"
    assert named(manifests, "ConsumerScaler", "of-orderflow-orders")["spec"]["scaleTargetRef"]["name"] == (
        "of-orderflow-orders-consumer"
    )
    # Traffic reaches the API pods only; the consumer's headless Service is for Prometheus.
    api_service = named(manifests, "Service", "of-orderflow-orders")
    metrics_service = named(manifests, "Service", "of-orderflow-orders-consumer")
    assert api_service["spec"]["selector"]["app.kubernetes.io/component"] == "orders"
    assert metrics_service["spec"]["clusterIP"] == "None"
    assert metrics_service["metadata"]["labels"]["orderflow.io/metrics"] == "true"
    assert not [m for m in default if m["metadata"]["name"].endswith("-consumer")], "inline by default"


def test_dashboards_ship_as_labelled_configmaps_for_every_json_file(helm: Helm, tmp_path: Path) -> None:
    chart = tmp_path / "orderflow"
    shutil.copytree(CHART, chart)
    (chart / "dashboards").mkdir(exist_ok=True)
    (chart / "dashboards" / "orderflow-test.json").write_text('{"title": "test"}')
    manifests = helm.template(chart=chart)
    shipped = {p.name for p in (chart / "dashboards").glob("*.json")}
    maps = [m for m in of_kind(manifests, "ConfigMap") if m["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert {key for m in maps for key in m["data"]} == shipped
    test_map = next(m for m in maps if "orderflow-test.json" in m["data"])
    assert test_map["data"]["orderflow-test.json"] == '{"title": "test"}'


# --- network policies ------------------------------------------------------------------------------------------


def _selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()) and all(
        (labels.get(e["key"]) in e["values"]) if e["operator"] == "In" else (e["key"] in labels)
        for e in selector.get("matchExpressions", [])
    )


@pytest.mark.parametrize("case", sorted(CI))
def test_default_deny_selects_every_pod_of_the_release(matrix: dict[str, list[Manifest]], case: str) -> None:
    deny = named(matrix[case], "NetworkPolicy", "of-orderflow-default-deny")["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny
    assert "egress" not in deny
    for owner, _ in pod_specs(matrix[case]):
        labels = (
            owner["metadata"]["labels"] if owner["kind"] == "Pod" else owner["spec"]["template"]["metadata"]["labels"]
        )
        assert _selected(deny["podSelector"], labels), owner["metadata"]["name"]


def test_only_the_orders_api_is_open_to_every_client(default: list[Manifest]) -> None:
    orders = named(default, "NetworkPolicy", "of-orderflow-orders")["spec"]
    assert orders["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8000}]}]
    for service in ("inventory", "payments"):
        [rule] = named(default, "NetworkPolicy", f"of-orderflow-{service}")["spec"]["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
        assert all(peer.get("podSelector") for peer in rule["from"]), "no peer without a pod selector"


def test_services_may_reach_only_dns_kafka_and_their_database(default: list[Manifest]) -> None:
    for service in SERVICES:
        egress = named(default, "NetworkPolicy", f"of-orderflow-{service}")["spec"]["egress"]
        ports = sorted((p["protocol"], p["port"]) for rule in egress for p in rule["ports"])
        assert ports == [("TCP", 53), ("TCP", 5432), ("TCP", 9093), ("UDP", 53)]
        assert all(rule.get("to") for rule in egress), "every egress rule names its destination"
    postgres = named(default, "NetworkPolicy", "of-orderflow-postgresql")["spec"]
    assert postgres["egress"] == []
    assert postgres["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 5432}]
    kafka = named(default, "Kafka", "of-orderflow-kafka")["spec"]["kafka"]["listeners"][0]
    assert kafka["networkPolicyPeers"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "orderflow", "app.kubernetes.io/instance": "of"}}}
    ]


def test_external_kafka_egress_uses_the_bootstrap_ports_and_the_given_peers(matrix: dict[str, list[Manifest]]) -> None:
    egress = named(matrix["external-kafka"], "NetworkPolicy", "of-orderflow-orders")["spec"]["egress"]
    kafka = next(rule for rule in egress if {"protocol": "TCP", "port": 9094} in rule["ports"])
    assert kafka["to"] == [{"ipBlock": {"cidr": "10.20.0.0/16"}}]


# --- the operations toolbox ------------------------------------------------------------------------------------

TOPOLOGY: dict[str, Any] = yaml.safe_load((CHART / "topology.yaml").read_text())["services"]
OPS = "of-orderflow-ops"


def _ops_needs(prefix: str, retry_levels: int) -> dict[tuple[str, str], set[str]]:
    """The rights of `orderflow dlq list|replay` and `orderflow lag`, for every topic and group of topology.yaml."""
    expected: dict[tuple[str, str], set[str]] = {}
    for service, flow in TOPOLOGY.items():
        topic = prefix + flow["topic"]
        expected[("group", prefix + service)] = {"Describe"}  # lag: the group's commits
        *retries, _ = failure_topics(topic, retry_levels)
        expected |= {("topic", name): {"Describe"} for name in [topic, *retries]}  # lag: partitions and offsets
        if retry_levels:
            expected[("topic", retry_topic(topic, 1))] = {"Describe", "Write"}  # replay sends there
        expected[("topic", dlq_topic(topic))] = {"Describe", "Read"}  # list reads it, without a group
    return expected


def _pod_labels(deployment: Manifest) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def test_the_operations_toolbox_is_off_by_default(default: list[Manifest]) -> None:
    ops = [m for m in default if m["metadata"]["labels"]["app.kubernetes.io/component"] == "ops"]
    assert ops == []
    assert not [m for m in default if m["metadata"]["name"] == OPS]
    for service in SERVICES:
        env = _env(named(default, "Deployment", f"of-orderflow-{service}"))
        assert not {"ORDERFLOW_ORDERS_URL", "ORDERFLOW_INVENTORY_URL", "ORDERFLOW_PAYMENTS_URL"} & set(env)


@pytest.mark.parametrize(
    ("args", "prefix", "retry_levels"),
    [([], "", 3), (["--set", "kafka.topicPrefix=shop-", "--set", "kafka.retryLevels=1"], "shop-", 1)],
    ids=["defaults", "prefix-one-retry"],
)
def test_the_ops_user_may_read_dead_letters_replay_them_and_measure_lag_and_nothing_more(
    helm: Helm, args: list[str], prefix: str, retry_levels: int
) -> None:
    manifests = helm.template(*values_args(CI["operations"]), *args)
    user = named(manifests, "KafkaUser", OPS)
    assert user["metadata"]["labels"]["strimzi.io/cluster"] == "of-orderflow-kafka"
    assert user["spec"]["authorization"]["type"] == "simple"
    acls = _acls(manifests, OPS)
    assert acls == _ops_needs(prefix, retry_levels)
    # The same from the CLI's side: what each command names is granted (orderflow/dlq.py, orderflow/lag.py).
    settings = KafkaSettings(namespace=prefix)
    for service in SERVICES:
        assert "Read" in acls[("topic", dlq_topic(settings.topic(SERVICES[service].topic)))]
        assert "Write" in acls[("topic", retry_topic(settings.topic(SERVICES[service].topic), 1))]
        assert "Describe" in acls[("group", settings.topic(service))]
        for topic in default_topics(settings, service, retry_levels):
            assert "Describe" in acls[("topic", topic)], topic
    assert set().union(*acls.values()) == {"Describe", "Read", "Write"}, "no Create/Delete/Alter/All"
    assert {kind for kind, _ in acls} == {"topic", "group"}, "no cluster or transactionalId rights"


def test_the_ops_pod_runs_the_cli_idle_as_a_kafka_client_like_the_services(matrix: dict[str, list[Manifest]]) -> None:
    manifests = matrix["operations"]
    ops = named(manifests, "Deployment", OPS)
    orders = named(manifests, "Deployment", "of-orderflow-orders")
    spec, orders_spec = ops["spec"]["template"]["spec"], orders["spec"]["template"]["spec"]
    assert ops["spec"]["replicas"] == 1
    assert ops["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "ops"
    [container], [orders_container] = spec["containers"], orders_spec["containers"]
    assert container["image"] == f"orderflow-cli:{APP_VERSION}", "the services' default tag: Chart.appVersion"
    assert container["command"] == ["sleep", "infinity"]
    assert "livenessProbe" not in container
    # The restricted profile, exactly as the services' pods have it.
    _assert_runs_restricted(ops, spec)
    assert spec["securityContext"] == orders_spec["securityContext"]
    assert container["securityContext"] == orders_container["securityContext"]
    assert spec["serviceAccountName"] == OPS
    assert named(manifests, "ServiceAccount", OPS)["automountServiceAccountToken"] is False
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert container["resources"] == values["operations"]["resources"]
    # The same Kafka settings and CA as the services, as its own user.
    env, orders_env = _env(ops), _env(orders)
    shared = ["KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SSL_CAFILE"]
    shared += ["ORDERFLOW_KAFKA_NAMESPACE", "ORDERFLOW_CONSUMER_RETRY_LEVELS"]
    assert {k: env[k] for k in shared} == {k: orders_env[k] for k in shared}
    assert env["KAFKA_SASL_USERNAME"] == OPS
    assert env["KAFKA_SASL_PASSWORD"] == {"secretKeyRef": {"name": OPS, "key": "password"}}
    assert {k: v for k, v in env.items() if k.endswith("_URL")} == {
        f"ORDERFLOW_{service.upper()}_URL": f"http://of-orderflow-{service}:8000" for service in SERVICES
    }
    assert container["volumeMounts"] == orders_container["volumeMounts"]
    assert spec["volumes"] == orders_spec["volumes"]
    # A pod of the release (the Kafka listener admits it), but not a service (PostgreSQL does not).
    labels = _pod_labels(ops)
    kafka = named(manifests, "Kafka", "of-orderflow-kafka")["spec"]["kafka"]["listeners"][0]
    assert any(_selected(peer["podSelector"], labels) for peer in kafka["networkPolicyPeers"])
    assert "orderflow.io/service" not in labels


def test_the_ops_pod_of_an_external_kafka_uses_the_ops_keys_of_the_credentials_secret(helm: Helm) -> None:
    manifests = helm.template(*values_args(CI["external-kafka"]), "--set", "operations.enabled=true")
    assert not of_kind(manifests, "KafkaUser")
    env = _env(named(manifests, "Deployment", OPS))
    assert env["KAFKA_SASL_USERNAME"] == {
        "secretKeyRef": {"name": "orderflow-kafka-credentials", "key": "ops-username"}
    }
    assert env["KAFKA_SASL_PASSWORD"] == {
        "secretKeyRef": {"name": "orderflow-kafka-credentials", "key": "ops-password"}
    }
    assert env["ORDERFLOW_KAFKA_NAMESPACE"] == "shop-"
    egress = named(manifests, "NetworkPolicy", OPS)["spec"]["egress"]
    services = named(manifests, "NetworkPolicy", "of-orderflow-orders")["spec"]["egress"]
    kafka = next(rule for rule in services if {"protocol": "TCP", "port": 9094} in rule["ports"])
    assert kafka in egress
    assert kafka["to"] == [{"ipBlock": {"cidr": "10.20.0.0/16"}}]


def test_the_ops_pod_accepts_no_connection_and_reaches_only_dns_kafka_and_the_three_apis(
    matrix: dict[str, list[Manifest]],
) -> None:
    manifests = matrix["operations"]
    policy = named(manifests, "NetworkPolicy", OPS)["spec"]
    labels = _pod_labels(named(manifests, "Deployment", OPS))
    assert _selected(policy["podSelector"], labels)
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == []
    egress = policy["egress"]
    ports = sorted((p["protocol"], p["port"]) for rule in egress for p in rule["ports"])
    assert ports == [("TCP", 53), ("TCP", 8000), ("TCP", 9093), ("UDP", 53)]
    assert all(rule.get("to") for rule in egress), "every egress rule names its destination"
    # Kafka: the broker pods, exactly as the services reach them.
    kafka = next(rule for rule in egress if {"protocol": "TCP", "port": 9093} in rule["ports"])
    assert kafka in named(manifests, "NetworkPolicy", "of-orderflow-orders")["spec"]["egress"]
    # The APIs: the pods behind the three Services, nothing else of the release.
    [api] = [rule for rule in egress if {"protocol": "TCP", "port": 8000} in rule["ports"]]
    for service in SERVICES:
        pod = _pod_labels(named(manifests, "Deployment", f"of-orderflow-{service}"))
        assert any(_selected(peer["podSelector"], pod) for peer in api["to"]), service
    others = [
        _pod_labels(named(manifests, "StatefulSet", "of-orderflow-postgresql")),
        labels,
        {**labels, "app.kubernetes.io/component": "orders-consumer"},
    ]
    for other in others:
        assert not any(_selected(peer["podSelector"], other) for peer in api["to"]), other
    # and the services' own policies let it in (orders: anyone; inventory, payments: the release's pods).
    for service in ("inventory", "payments"):
        [rule] = named(manifests, "NetworkPolicy", f"of-orderflow-{service}")["spec"]["ingress"]
        same_namespace = [peer["podSelector"] for peer in rule["from"] if set(peer) == {"podSelector"}]
        assert any(_selected(selector, labels) for selector in same_namespace), service
    postgres = named(manifests, "NetworkPolicy", "of-orderflow-postgresql")["spec"]["ingress"]
    assert not any(_selected(peer["podSelector"], labels) for rule in postgres for peer in rule["from"])


# --- scheduling ------------------------------------------------------------------------------------------------


def _spread_by_default(deployment: Manifest) -> dict[str, Any]:
    selector = deployment["spec"]["selector"]["matchLabels"]
    return {
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": selector},
                        },
                    }
                ]
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector},
                "matchLabelKeys": ["pod-template-hash"],
            }
        ],
    }


def _scheduling(deployment: Manifest) -> dict[str, Any]:
    spec = deployment["spec"]["template"]["spec"]
    return {key: spec[key] for key in ("affinity", "topologySpreadConstraints") if key in spec}


def _service_deployments(manifests: list[Manifest]) -> list[Manifest]:
    return [d for d in of_kind(manifests, "Deployment") if "orderflow.io/service" in _pod_labels(d)]


@pytest.mark.parametrize("case", ["default", "autoscaler", "observability", "operations"])
def test_each_deployments_replicas_spread_over_nodes_by_default(matrix: dict[str, list[Manifest]], case: str) -> None:
    deployments = _service_deployments(matrix[case])
    components = {_pod_labels(d)["app.kubernetes.io/component"] for d in deployments}
    assert set(SERVICES) <= components
    assert {"autoscaler": "orders-consumer", "observability": "orders-relay"}.get(case, "orders") in components
    for deployment in deployments:
        # Its own selector, which its pods carry: a service's pods never repel its dedicated consumer's.
        assert _scheduling(deployment) == _spread_by_default(deployment), deployment["metadata"]["name"]
        assert _selected(deployment["spec"]["selector"], _pod_labels(deployment))
    if case == "operations":
        assert _scheduling(named(matrix[case], "Deployment", OPS)) == {}, "one idle pod: nothing to spread"


def test_own_affinity_or_spread_constraints_replace_the_defaults_and_false_drops_them(helm: Helm) -> None:
    zone = {"maxSkew": 2, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}
    pinned = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["orders"]}]}]
            }
        }
    }
    manifests = helm.template(
        "--set-json",
        f"defaults.topologySpreadConstraints={json.dumps([zone])}",
        "--set-json",
        f"services.orders.affinity={json.dumps(pinned)}",
    )
    for deployment in _service_deployments(manifests):
        scheduling = _scheduling(deployment)
        assert scheduling["topologySpreadConstraints"] == [zone]
        orders = deployment["metadata"]["name"] == "of-orderflow-orders"
        assert scheduling["affinity"] == (pinned if orders else _spread_by_default(deployment)["affinity"])
    unspread = helm.template("--set", "defaults.topologySpread=false")
    assert [_scheduling(d) for d in _service_deployments(unspread)] == [{}] * len(SERVICES)
    own = helm.template(
        "--set", "defaults.topologySpread=false", "--set-json", f"defaults.affinity={json.dumps(pinned)}"
    )
    assert all(_scheduling(d) == {"affinity": pinned} for d in _service_deployments(own))


# --- helm test pods --------------------------------------------------------------------------------------------


def _notes(helm: Helm, *args: str) -> str:
    out = helm.run("install", "of", CHART, "--namespace", "shop", "--dry-run=client", *args).stdout
    return out.split("\nNOTES:\n", 1)[1]


def test_helm_test_only_reads_unless_a_test_sku_is_set(default: list[Manifest], helm: Helm) -> None:
    """The order-flow pod sets stock and places orders: a release gets it only by naming a SKU for tests."""
    assert [p["metadata"]["name"] for p in of_kind(default, "Pod")] == ["of-orderflow-test-api-reachable"]
    assert "every API is ready; set tests.sku (a SKU for tests only) to run an order too" in _notes(helm)
    assert "places orders on SKU T-1: one CONFIRMED, one CANCELLED" in _notes(helm, "--set", "tests.sku=T-1")


def test_helm_test_pods_check_readiness_and_an_order_reaching_confirmed(helm: Helm) -> None:
    pods = {p["metadata"]["name"]: p for p in of_kind(helm.template("--set", "tests.sku=T-1"), "Pod")}
    assert set(pods) == {"of-orderflow-test-api-reachable", "of-orderflow-test-order-flow"}
    for pod in pods.values():
        assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
        [container] = pod["spec"]["containers"]
        compile(container["command"][2], pod["metadata"]["name"], "exec")  # the script is valid Python
    script = pods["of-orderflow-test-order-flow"]["spec"]["containers"][0]["command"][2]
    assert "CONFIRMED" in script
    assert "http://of-orderflow-orders:8000" in script


def _env(deployment: Manifest) -> dict[str, Any]:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_chart_has_one_generic_service_template() -> None:
    templates = {p.name for p in (CHART / "templates").iterdir()}
    assert not {f"{s}.yaml" for s in SERVICES} & templates
    assert (REPO / "charts" / "orderflow" / "templates" / "services.yaml").exists()
