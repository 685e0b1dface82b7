"""The chart's `helm test` pods, run for real: their scripts against the three services on a real broker.

Without a kubelet the pods cannot run in the local API server, so the scripts they would run are taken from the
rendered chart, pointed at an `orderflow up` stack instead of the in-cluster Service names, and executed.
"""

from __future__ import annotations

import http.server
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from devstack.processes import free_port, free_ports
from tests.apiserver.helm import Helm, of_kind
from tests.support.kafka import KafkaCluster

pytestmark = [pytest.mark.apiserver, pytest.mark.kafka, pytest.mark.timeout(1200)]

SERVICES = ("orders", "inventory", "payments")


@pytest.fixture(scope="module")
def stack(kafka: KafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`orderflow up` on free ports against the session broker; yields each service's base URL."""
    tmp = tmp_path_factory.mktemp("helm-test-stack")
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "ORDERFLOW_KAFKA_NAMESPACE": f"helmtest{uuid.uuid4().hex[:8]}.",
    }
    env.pop("ORDERFLOW_DATABASE_URL", None)
    argv = [sys.executable, "-m", "orderflow.cli", "up", "--state-dir", str(tmp / "state"), "--partitions", "2"]
    for service, port in ports.items():
        argv += [f"--{service}-port", str(port)]
    log = tmp / "up.out"
    with log.open("wb") as out:
        up = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while "Press Ctrl-C to stop." not in log.read_text(errors="replace"):
            assert up.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        yield {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


@pytest.mark.parametrize("test_pod", ["api-reachable", "order-flow"])
def test_helm_test_pod_passes_against_running_services(helm: Helm, stack: dict[str, str], test_pod: str) -> None:
    # The one line that names the in-cluster Services is replaced; everything else runs exactly as rendered.
    script = _script(helm, test_pod, stack)
    assert f"urls = {stack!r}" in script
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    if test_pod == "order-flow":
        assert "'status': 'CONFIRMED'" in done.stdout
    else:
        assert all(f"{service} 200" in done.stdout for service in SERVICES)


def _script(helm: Helm, test_pod: str, urls: dict[str, str], *args: str) -> str:
    pods = {p["metadata"]["name"]: p for p in of_kind(helm.template("--set", "tests.sku=HELM-TEST-SKU", *args), "Pod")}
    script = pods[f"of-orderflow-test-{test_pod}"]["spec"]["containers"][0]["command"][2]
    replaced, count = re.subn(r"^urls = json\.loads\(.*\)$", f"urls = {urls!r}", script, flags=re.M)
    assert count == 1, script
    return replaced


class _Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/readyz" else 404)
        self.end_headers()
        self.wfile.write(b'{"status":"ready"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("test_pod", ["api-reachable", "order-flow"])
def test_each_pod_waits_for_a_service_whose_forwarding_follows_its_readiness(helm: Helm, test_pod: str) -> None:
    """helm --wait returns on Ready pods; kube-proxy may program the Service, and the CNI the NetworkPolicy rules
    that admit the new test pod, a moment later (connection refused): both pods wait for every service first."""
    port = free_port()
    script = _script(helm, test_pod, {"orders": f"http://127.0.0.1:{port}"})
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as test:
        assert test.stdout is not None
        first = test.stdout.readline()
        assert first.startswith("orders not answering yet:"), first
        server = http.server.HTTPServer(("127.0.0.1", port), _Ready)
        serving = threading.Thread(target=server.serve_forever, daemon=True)
        serving.start()
        try:
            answered = test.stdout.readline()
            while answered.startswith("orders not answering yet:"):
                answered = test.stdout.readline()
            assert answered.startswith("orders 200"), first + answered
            if test_pod == "api-reachable":
                assert test.wait(60) == 0
        finally:
            test.kill()
            server.shutdown()
            server.server_close()


def test_api_reachable_fails_naming_the_service_that_never_answers(helm: Helm) -> None:
    urls = {"orders": f"http://127.0.0.1:{free_port()}"}
    script = _script(helm, "api-reachable", urls, "--set", "tests.timeoutSeconds=10")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "not ready: {'orders':" in done.stderr, done.stdout + done.stderr
