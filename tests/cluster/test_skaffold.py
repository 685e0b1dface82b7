"""`skaffold dev` on the local kind cluster (`orderflow k8s skaffold dev`, skaffold.yaml's `kind` profile): the
five images built with BuildKit and loaded into the nodes (`kind load`), both charts deployed, the orders API
port-forwarded; then an edit of one service file rebuilds only that image and rolls only that Deployment, and the
change is served. `skaffold run` and `skaffold delete` follow. Too slow for `make test` (five loads, two deploys
and a Kafka cluster of its own): `make test-skaffold` runs it, on the cluster of the session.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.cluster.cluster import Cluster
from devstack.cluster.platform import helm
from tests.cluster.kube import ORDERFLOW, pods, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.skaffold, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]
EDITED = Path("services/orders/api.py")
FORWARD = re.compile(r"Port forwarding service/orderflow-orders in namespace (\S+), remote port 8000 -> (http://\S+)")
BUILDING = re.compile(r"Building \[(orderflow-[a-z]+)\]")
APPS = ("orders", "inventory", "payments")
WORKLOADS = (*APPS, "orderflow-operator")


class Skaffold:
    """One `orderflow k8s skaffold ...` process and every line it printed (read on a thread, never blocking)."""

    def __init__(self, cluster: Cluster, workdir: Path, namespace: str, *args: str) -> None:
        argv = [str(ORDERFLOW), "k8s", "skaffold", "--state-dir", str(cluster.layout.state), "--namespace", namespace]
        self.process = subprocess.Popen(
            [*argv, *args], cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def since(self, mark: int) -> list[str]:
        return self.lines[mark:]

    def wait_line(self, pattern: str, after: int = 0, timeout: float = 900) -> int:
        """The index of the first line from `after` on containing `pattern`; fails with the output's tail."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((after + i for i, line in enumerate(self.since(after)) if pattern in line), None)
            if found is not None:
                return found
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(self.lines[-60:])
                raise AssertionError(f"skaffold never printed {pattern!r} (exit {self.process.poll()}):\n{tail}")
            time.sleep(0.2)

    def finish(self, timeout: float = 900) -> tuple[int, str]:
        """Wait for skaffold to exit (killed past `timeout`, which fails); its exit code and output."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"skaffold still ran after {timeout:.0f}s:\n" + "\n".join(self.lines[-60:])) from None
        self._reader.join(timeout)
        return code, "\n".join(self.lines)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the repository's files (tracked and new): the edit never touches the checkout under test."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    copy = tmp_path / "repo"
    for name in filter(None, (entry.decode() for entry in listed)):
        source = REPO / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    return copy


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"sk-{uuid.uuid4().hex[:6]}"
    yield name
    for release in ("orderflow", "orderflow-operator"):
        helm(cluster, "uninstall", release, "--namespace", name, "--ignore-not-found", "--wait")
    cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


def _state(cluster: Cluster, namespace: str) -> dict[str, tuple[str, str]]:
    """Workload -> (its Running pod's name, its image), for the three services and the operator."""
    found = {}
    for pod in pods(cluster, namespace):
        labels = pod["metadata"].get("labels", {})
        name = labels.get("orderflow.io/service") or labels.get("app.kubernetes.io/name")
        if (
            name in WORKLOADS
            and pod["status"].get("phase") == "Running"
            and not pod["metadata"].get("deletionTimestamp")
        ):
            found[name] = (pod["metadata"]["name"], pod["spec"]["containers"][0]["image"])
    return found


def _served(url: str, token: str) -> bool:
    try:
        return token in httpx.get(f"{url}/openapi.json", timeout=5, trust_env=False).text
    except httpx.TransportError:
        return False


def test_skaffold_dev_rebuilds_and_rolls_only_the_edited_service(
    cluster: Cluster, workdir: Path, namespace: str
) -> None:
    started = time.monotonic()
    dev = Skaffold(cluster, workdir, namespace, "dev", "--port-forward=user", "--tail=false", "--cleanup=true")
    try:
        first = dev.wait_line("Watching for changes...")
        built = set(BUILDING.findall("\n".join(dev.lines[:first])))
        # What the engine already holds under the same input digest is not rebuilt: `built` may be empty.
        print(f"\nskaffold dev: first deploy watching after {time.monotonic() - started:.0f}s, built {sorted(built)}")
        forwarded = wait_for(lambda: FORWARD.search("\n".join(dev.lines)), "the orders port-forward", timeout=120)
        assert forwarded.group(1) == namespace
        url = forwarded.group(2)
        wait_for(lambda: _served(url, "Place an order"), f"the orders API at {url}", timeout=120)
        before = wait_for(lambda: len(s := _state(cluster, namespace)) == len(WORKLOADS) and s, "four Running pods")

        token = f"edited-{uuid.uuid4().hex[:8]}"
        source = workdir / EDITED
        text = source.read_text()
        assert 'summary="Place an order"' in text
        mark = len(dev.lines)
        saved = time.monotonic()
        source.write_text(text.replace('summary="Place an order"', f'summary="Place an order ({token})"'))
        wait_for(lambda: _served(url, token), "the edited summary served", timeout=600, interval=0.5)
        serving = time.monotonic() - saved
        dev.wait_line("Watching for changes...", after=mark)
        rebuilt = BUILDING.findall("\n".join(dev.since(mark)))
        after = _state(cluster, namespace)
        print(f"\nsave -> new pod serving: {serving:.1f}s; rebuilt after the edit: {rebuilt}")
        print("\n".join(line for line in dev.since(mark) if line.strip())[-3000:])
        assert rebuilt == ["orderflow-orders"], "only the edited service's image is rebuilt"
        assert after["orders"][0] != before["orders"][0], "the orders Deployment rolled"
        assert after["orders"][1] != before["orders"][1], "onto the new image"
        for unchanged in ("inventory", "payments", "orderflow-operator"):
            assert after.get(unchanged) == before.get(unchanged), f"{unchanged} kept its pod"
    except AssertionError as error:
        raise AssertionError(f"{error}\nskaffold dev printed:\n" + "\n".join(dev.lines[-80:])) from None
    finally:
        if dev.process.poll() is None:
            dev.process.send_signal(signal.SIGINT)  # skaffold dev's cleanup uninstalls both releases
        code, output = dev.finish(timeout=300)  # also when the test failed: never leave skaffold running
    assert "Cleaning up..." in output, output[-3000:]
    assert not helm(cluster, "list", "--namespace", namespace, "--short").strip(), f"skaffold dev ({code}) cleaned up"

    code, output = Skaffold(cluster, workdir, namespace, "run", "--status-check=true").finish()
    assert code == 0, output[-6000:]
    assert "Deployments stabilized" in output, output[-3000:]
    assert set(helm(cluster, "list", "--namespace", namespace, "--short").split()) == {
        "orderflow",
        "orderflow-operator",
    }
    code, output = Skaffold(cluster, workdir, namespace, "delete").finish()
    assert code == 0, output[-3000:]
    assert not helm(cluster, "list", "--namespace", namespace, "--short").strip(), output[-3000:]
