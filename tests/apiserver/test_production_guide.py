"""docs/deploy/production.md's install, run as written (bash, `set -euo pipefail`) against a kube-apiserver of its
own: the guide's namespace and release names are fixed, and the shared API server holds other installs of the
operator chart. kubectl and helm are the real ones; the API server stores and validates every object the two
`helm install`s create. Two commands have stand-ins, as nothing here runs a pod or serves a registry: `docker`
records what it is asked to build and push (the cluster tier builds the same Dockerfiles for real), and
`helm test` records that it was called.
"""

from __future__ import annotations

import re
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from devstack.cluster.controlplane import start
from devstack.cluster.tools import ensure_binaries
from tests.apiserver.helm import REPO, Helm, documents, pod_specs

pytestmark = [pytest.mark.apiserver, pytest.mark.timeout(900)]

GUIDE = REPO / "docs" / "deploy" / "production.md"


def install_block() -> str:
    text = GUIDE.read_text()
    section = text[text.index("\n## Installing\n") :]
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return blocks[0]


def stand_ins(folder: Path, helm: Path, record: Path) -> None:
    scripts = {
        "docker": f'echo "docker $*" >> {shlex.quote(str(record))}\n',
        "helm": f'if [ "$1" = test ]; then echo "helm $*" >> {shlex.quote(str(record))}; exit 0; fi\n'
        f'exec {shlex.quote(str(helm))} "$@"\n',
    }
    for name, body in scripts.items():
        path = folder / name
        path.write_text(f"#!/usr/bin/env bash\nset -euo pipefail\n{body}")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_the_production_install_runs_as_written(helm: Helm, tmp_path: Path) -> None:
    binaries = ensure_binaries(log=lambda line: print(f"[guide] {line}"))
    plane = start(tmp_path / "k8s", log=lambda line: print(f"[guide] {line}"))
    try:
        bin_dir, record = tmp_path / "bin", tmp_path / "commands.log"
        bin_dir.mkdir()
        stand_ins(bin_dir, helm.binary, record)
        env = {**helm.env(), "KUBECONFIG": str(plane.kubeconfig)}
        env["PATH"] = f"{bin_dir}:{binaries.kubectl.parent}:{env['PATH']}"
        script = "set -euo pipefail\n" + install_block()
        done = subprocess.run(
            ["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr

        commands = [shlex.split(line) for line in record.read_text().splitlines()]
        built = {c[c.index("-t") + 1]: c for c in commands if c[:2] == ["docker", "build"]}
        pushed = {c[2] for c in commands if c[:2] == ["docker", "push"]}
        assert len(built) == 5
        assert pushed == set(built)
        for tag, command in built.items():
            assert (REPO / command[command.index("-f") + 1]).is_file(), command
            if "--build-arg" in command:  # the one services Dockerfile builds the service its tag names
                assert tag.rsplit("/", 1)[1].startswith(f"orderflow-{command[command.index('--build-arg') + 1][8:]}:")
        assert ["helm", "test", "orderflow", "-n", "orderflow"] in commands

        manifests = []
        for release in ("orderflow-operator", "orderflow"):
            for what in ("manifest", "hooks"):
                out = helm.run("get", what, release, "-n", "orderflow", "--kubeconfig", plane.kubeconfig).stdout
                manifests += documents(out)
        used = {
            container["image"]
            for _, spec in pod_specs(manifests)
            for container in spec.get("initContainers", []) + spec["containers"]
        }
        # Every pod runs an image the guide pushed, and every image it pushed is run.
        assert used == pushed
        with plane.client() as client:
            namespace = client.get("/api/v1/namespaces/orderflow").json()
            assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
            deployments = client.get("/apis/apps/v1/namespaces/orderflow/deployments").json()["items"]
            assert {d["metadata"]["name"] for d in deployments} >= {
                "orderflow-operator",
                "orderflow-orders",
                "orderflow-inventory",
                "orderflow-payments",
                "orderflow-ops",
            }
    finally:
        plane.stop()
