"""The chart's `helm test` pods, run for real: their scripts against the three services on a real broker.

Without a kubelet the pods cannot run in the local API server, so the scripts they would run are taken from the
rendered chart, pointed at an `orderflow up` stack instead of the in-cluster Service names, and executed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from devstack.processes import free_port
from tests.apiserver.helm import Helm, of_kind
from tests.support.kafka import KafkaCluster

pytestmark = [pytest.mark.apiserver, pytest.mark.kafka, pytest.mark.timeout(1200)]

SERVICES = ("orders", "inventory", "payments")


@pytest.fixture(scope="module")
def stack(kafka: KafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`orderflow up` on free ports against the session broker; yields each service's base URL."""
    tmp = tmp_path_factory.mktemp("helm-test-stack")
    ports = {service: free_port() for service in SERVICES}
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
    pods = {p["metadata"]["name"]: p for p in of_kind(helm.template(), "Pod")}
    script = pods[f"of-orderflow-test-{test_pod}"]["spec"]["containers"][0]["command"][2]
    # The one line that names the in-cluster Services; everything else runs exactly as rendered.
    script, replaced = re.subn(r"^urls = json\.loads\(.*\)$", f"urls = {stack!r}", script, flags=re.M)
    assert replaced == 1
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    if test_pod == "order-flow":
        assert "'status': 'CONFIRMED'" in done.stdout
    else:
        assert all(f"{service} 200" in done.stdout for service in SERVICES)
