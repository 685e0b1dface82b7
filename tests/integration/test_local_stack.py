"""`orderflow up` end to end: the services start, `orderflow load` gets every order decided, SIGTERM stops all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from devstack.processes import free_ports
from tests.support.kafka import KafkaCluster

pytestmark = pytest.mark.kafka


def _service_pids(ports: list[int]) -> list[int]:
    """Processes whose command line is `... serve <service> --port <one of ports>`."""
    wanted = {f"--port\0{port}".encode() for port in ports}
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"\0serve\0" in cmdline and any(port in cmdline for port in wanted):
            pids.append(int(proc.name))
    return pids


def _wait_for(text: str, log: Path, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"`orderflow up` did not print {text!r}:\n{log.read_text(errors='replace')}")


def _assert_traced(env: dict[str, str], orders_url: str) -> None:
    """An order placed on the stack shows up in `orderflow trace` in all three services, read from the file."""
    body = {
        "customer_id": "traced",
        "currency": "EUR",
        "items": [{"sku": "SKU-1", "quantity": 1, "unit_price": "1.00"}],
    }
    order_id = httpx.post(f"{orders_url}/orders", json=body, timeout=30).json()["order_id"]
    assert httpx.get(f"{orders_url}/orders/{order_id}", params={"wait": 20}, timeout=30).json()["status"] == "CONFIRMED"
    deadline = time.monotonic() + 60
    while True:  # spans are exported in batches, about a second after they end
        shown = subprocess.run(
            [sys.executable, "-m", "orderflow.cli", "trace", order_id],
            env={**env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if shown.returncode == 0 and all(service in shown.stdout for service in ("inventory", "payments")):
            assert "POST /orders" in shown.stdout
            return
        assert time.monotonic() < deadline, shown.stdout + shown.stderr
        time.sleep(0.5)


def test_up_serves_orders_and_stops_every_child(kafka: KafkaCluster, tmp_path: Path) -> None:
    ports = free_ports(3)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "ORDERFLOW_KAFKA_NAMESPACE": f"up{uuid.uuid4().hex[:8]}.",
        "ORDERFLOW_TRACE_FILE": str(tmp_path / "traces.jsonl"),  # where --traces writes and `orderflow trace` reads
    }
    env.pop("ORDERFLOW_DATABASE_URL", None)
    log = tmp_path / "up.out"
    argv = [sys.executable, "-m", "orderflow.cli", "up", "--state-dir", str(tmp_path / "state"), "--partitions", "2"]
    argv += ["--traces"]  # as `make run` starts it
    for option, port in zip(("--orders-port", "--inventory-port", "--payments-port"), ports, strict=True):
        argv += [option, str(port)]
    with log.open("wb") as out:
        up = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for("Press Ctrl-C to stop.", log, up, timeout=180)
        assert len(_service_pids(ports)) == 3
        assert (tmp_path / "state" / "logs" / "orders.log").exists()
        url = f"http://127.0.0.1:{ports[0]}"
        load = subprocess.run(
            [
                sys.executable,
                "-m",
                "orderflow.cli",
                "load",
                "--orders",
                "30",
                "--seed",
                "3",
                "--orders-url",
                url,
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert load.returncode == 0, load.stdout + load.stderr
        summary = json.loads(load.stdout)
        assert summary["accepted"] == 30
        assert summary["confirmed"] + summary["cancelled"] == 30
        assert summary["pending"] == 0
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        verify = [sys.executable, "-m", "orderflow.cli", "verify", "--orders-url", urls[0]]
        verify += ["--inventory-url", urls[1], "--payments-url", urls[2]]
        # Refunds and releases that follow a cancellation land while verify reads again (--settle).
        checked = subprocess.run(verify, capture_output=True, text=True, timeout=120, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "all invariants hold" in checked.stdout
        as_json = subprocess.run([*verify, "--json"], capture_output=True, text=True, timeout=120, check=False)
        assert as_json.returncode == 0, as_json.stdout + as_json.stderr
        report = json.loads(as_json.stdout)
        assert report["violations"] == []
        assert report["orders"]["CONFIRMED"] + report["orders"].get("CANCELLED", 0) == 30
        _assert_traced(env, url)
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
    assert up.returncode == 0, log.read_text(errors="replace")
    assert "Stopped." in log.read_text()
    assert _service_pids(ports) == []
