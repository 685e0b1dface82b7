"""compose.yaml for Docker-only users, run for real on the engine under the kind cluster: `docker compose up --build
--wait` (Kafka in KRaft mode, PostgreSQL, topics, migrations, the three services, healthchecks), then
`orderflow seed` and `orderflow load` against the published ports, then `docker compose down -v`.

The images compose names by variable are the local drop-ins (devstack.compose); the services' images are
built by compose itself from services/Dockerfile. Compose is the v2 plugin built from its Go module.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import compose
from devstack.cluster.cluster import Cluster
from devstack.processes import free_ports
from tests.cluster.kube import orderflow

pytestmark = [pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]


def _compose(
    cluster: Cluster, env: dict[str, str], *args: str, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    argv = ["/usr/bin/docker", "compose", "-f", str(REPO / "compose.yaml"), *args]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    assert done.returncode == 0, f"docker compose {' '.join(args)} failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def stack(cluster: Cluster) -> Iterator[dict[str, str]]:
    engine = cluster.engine
    compose.install_plugin(engine)
    names = ("ORDERS_PORT", "INVENTORY_PORT", "PAYMENTS_PORT", "KAFKA_HOST_PORT")
    ports = {name: str(port) for name, port in zip(names, free_ports(len(names)), strict=True)}
    env = {
        **engine.env(),
        **compose.ensure_images(engine, cluster.logs),
        **ports,
        "COMPOSE_PROJECT_NAME": f"orderflow-{uuid.uuid4().hex[:6]}",
        "ORDERFLOW_TAG": "compose",
        "KAFKA_PARTITIONS": "6",
    }
    try:
        _compose(cluster, env, "up", "--detach", "--build", "--wait", "--wait-timeout", "600")
        yield env
    finally:
        subprocess.run(
            ["/usr/bin/docker", "compose", "-f", str(REPO / "compose.yaml"), "down", "--volumes", "--timeout", "20"],
            env=env,
            capture_output=True,
            timeout=300,
            cwd=REPO,
        )


def test_compose_brings_up_the_platform_and_confirms_orders(cluster: Cluster, stack: dict[str, str]) -> None:
    listed = _compose(cluster, stack, "ps", "--all", "--format", "json").stdout
    containers = [json.loads(line) for line in listed.splitlines() if line.strip()]
    print(_compose(cluster, stack, "ps", "--all").stdout)
    state = {c["Service"]: (c["State"], c.get("Health", ""), c.get("ExitCode")) for c in containers}
    for service in ("kafka", "postgres", "orders", "inventory", "payments"):
        assert state[service][:2] == ("running", "healthy"), state
    for step in ("topics", "orders-migrate", "inventory-migrate", "payments-migrate"):
        assert state[step][0] == "exited", state
        assert state[step][2] == 0, state

    urls = {s: f"http://127.0.0.1:{stack[f'{s.upper()}_PORT']}" for s in ("orders", "inventory", "payments")}
    seeded = orderflow("seed", "--inventory-url", urls["inventory"])
    assert seeded.returncode == 0, seeded.stderr
    load = orderflow("load", "--orders", "500", "--orders-url", urls["orders"], "--wait-timeout", "180", "--json")
    assert load.returncode == 0, load.stdout + load.stderr
    summary = json.loads(load.stdout.strip().splitlines()[-1])
    print(f"orderflow load --orders 500 against compose: {summary}")
    assert summary["accepted"] == 500
    assert summary["pending"] == 0
    assert summary["confirmed"] + summary["cancelled"] == 500
    assert summary["confirmed"] > 0
    args = ["--orders-url", urls["orders"], "--inventory-url", urls["inventory"], "--payments-url", urls["payments"]]
    verified = orderflow("verify", *args)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    print(verified.stdout)
