"""The chart's NetworkPolicies, enforced by the cluster's CNI (kube-router), proven with real connections.

Each cell of the matrix is a TCP connection attempted from a real pod to a Service: accepted (allowed), or refused
or never answered (kube-router rejects what no policy admits; every target listens, so either is the policy's).
A CNI that does not enforce policies accepts every one, so every "denied" cell would fail. The sources: a pod of
another namespace, a pod of the release's namespace that is not the release's, each service's pod and the
operations toolbox. The chart's rules: the orders API is public (`exposed: true`);

inventory and payments admit the release's pods; PostgreSQL admits the services alone; the Kafka listener admits
the release's pods (the Kafka CR's networkPolicyPeers, which Strimzi turns into its own policy); every service
pod may reach only DNS, Kafka, PostgreSQL (and the collector): never another service.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from devstack.cluster.cluster import Cluster
from devstack.cluster.platform import Installed, namespace_manifest
from tests.cluster.kube import Images, exec_in, pods

pytestmark = [pytest.mark.cluster]

# Tries every target at once; prints {target: "open" | "refused" | "silent" | error}.
PROBE = """
import concurrent.futures, json, socket, sys
def attempt(target):
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=4).close()
        return "open"
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "silent"
    except OSError as error:
        return type(error).__name__
targets = sys.argv[1:]
with concurrent.futures.ThreadPoolExecutor(len(targets)) as pool:
    print(json.dumps(dict(zip(targets, pool.map(attempt, targets)))))
"""
SOURCES = ("outsider", "stranger", "orders", "inventory", "payments", "ops")
TARGETS = ("orders", "inventory", "payments", "postgresql", "kafka")
# source -> the targets it may reach; every other cell must be denied (a service may not even call itself through
# its Service: its egress admits DNS, Kafka, PostgreSQL and the collector only).
ALLOWED = {
    "outsider": {"orders"},
    "stranger": {"orders"},
    "orders": {"postgresql", "kafka"},
    "inventory": {"postgresql", "kafka"},
    "payments": {"postgresql", "kafka"},
    "ops": {"orders", "inventory", "payments", "kafka"},
}


def _idle_pod(name: str, namespace: str, image: str) -> dict[str, object]:
    """A pod that only waits, under the restricted profile, with no label of the release."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"probe": name}},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "probe",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sleep", "infinity"],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def sources(cluster: Cluster, platform: Installed, images: Images) -> Iterator[dict[str, tuple[str, str]]]:
    """source -> (namespace, pod or deploy/name) to probe from."""
    other = f"np-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("apply", "-f", "-", input=json.dumps(namespace_manifest(other)))
    image = f"orderflow-cli:{images.tag}"
    cluster.apply([_idle_pod("outsider", other, image), _idle_pod("stranger", platform.namespace, image)])
    for namespace, pod in ((other, "outsider"), (platform.namespace, "stranger")):
        cluster.kubectl("-n", namespace, "wait", f"pod/{pod}", "--for=condition=Ready", "--timeout=180s", timeout=240)
    found = {"outsider": (other, "outsider"), "stranger": (platform.namespace, "stranger")}
    for name in ("orders", "inventory", "payments", "ops"):
        found[name] = (platform.namespace, f"deploy/{platform.fullname}-{name}")
    try:
        yield found
    finally:
        cluster.kubectl("-n", platform.namespace, "delete", "pod", "stranger", "--wait=false", check=False)
        cluster.kubectl("delete", "namespace", other, "--wait=false", check=False)


def _targets(platform: Installed) -> dict[str, str]:
    svc = f"{platform.namespace}.svc.cluster.local"
    found = {name: f"{platform.fullname}-{name}.{svc}:8000" for name in ("orders", "inventory", "payments")}
    found["postgresql"] = f"{platform.fullname}-postgresql.{svc}:5432"
    found["kafka"] = f"{platform.kafka}-kafka-bootstrap.{svc}:9093"
    return found


def test_every_connection_the_policies_allow_opens_and_every_other_is_denied(
    cluster: Cluster, platform: Installed, sources: dict[str, tuple[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    targets = _targets(platform)
    observed: dict[str, dict[str, str]] = {}
    for source, (namespace, where) in sources.items():
        done = exec_in(cluster, namespace, where, "python3", "-c", PROBE, *targets.values(), timeout=60)
        assert done.returncode == 0, f"{source}: {done.stderr}"
        by_address = json.loads(done.stdout)
        observed[source] = {name: by_address[address] for name, address in targets.items()}
    rows = [f"{'from':<10} {'to':<11} {'expected':<9} observed"]
    wrong = []
    for source in SOURCES:
        for target in TARGETS:
            expected = "open" if target in ALLOWED[source] else "denied"
            seen = observed[source][target]
            result = "open" if seen == "open" else f"denied ({seen})" if seen in ("refused", "silent") else seen
            rows.append(f"{source:<10} {target:<11} {expected:<9} {result}")
            if not result.startswith(expected):
                wrong.append(rows[-1])

    with capsys.disabled():
        print("\nNetworkPolicy matrix (TCP connections from real pods):\n" + "\n".join(rows))
    assert not wrong, "\n".join(wrong)


def test_every_release_pod_is_selected_by_the_default_deny_policy(cluster: Cluster, platform: Installed) -> None:
    """A pod the policies forget would be open to all: every pod of the release carries the selector labels."""
    release = {"app.kubernetes.io/instance": platform.release}
    missing = [
        p["metadata"]["name"]
        for p in pods(cluster, platform.namespace, "app.kubernetes.io/name=orderflow")
        if not release.items() <= p["metadata"]["labels"].items()
    ]
    assert missing == []
