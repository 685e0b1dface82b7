"""`make release` against a local OCI registry (distribution's registry, built from its Go module, on a free
port): five images with an SBOM each and two charts pushed and signed with a fresh cosign key; then every signature
and SBOM attestation verified with the public key (and refused with another key), and both charts installed with
`helm install oci://…` into a kube-apiserver of its own, where every pod asks for an image of the release.

The images are built on the local cluster's engine; its nodes do not pull from this registry (it listens on the
machine's loopback), so the install is checked by the API server, which stores and validates every object, as the
chart tests do.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.cluster.build import ensure_tools
from devstack.cluster.cluster import Cluster
from devstack.cluster.controlplane import start
from devstack.cluster.tools import COSIGN, HELM, REGISTRY
from devstack.images.app_images import IMAGES
from devstack.processes import free_port
from devstack.release import version
from tests.apiserver.helm import documents, pod_specs

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1800)]

PASSWORD = "release-test"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """host:port of a registry that keeps its blobs in tmp_path; stopped afterwards."""
    ensure_tools((REGISTRY,), log=lambda line: print(f"[registry] {line}"))
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'blobs'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
        "log: {level: warn}\n"
    )
    log = (tmp_path / "registry.log").open("wb")
    process = subprocess.Popen([str(REGISTRY.binary("registry")), "serve", str(config)], stdout=log, stderr=log)
    try:
        with httpx.Client(trust_env=False, timeout=2) as http:
            while process.poll() is None:  # until it answers, or exits (its log says why)
                try:
                    if http.get(f"http://127.0.0.1:{port}/v2/").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                with contextlib.suppress(subprocess.TimeoutExpired):  # not listening yet: a moment, or its exit
                    process.wait(timeout=0.1)
        assert process.poll() is None, (tmp_path / "registry.log").read_text()
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def cosign(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"COSIGN_PASSWORD": PASSWORD, "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(
        [str(COSIGN.binary("cosign")), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def key_pair(folder: Path) -> tuple[Path, Path]:
    folder.mkdir()
    made = cosign("generate-key-pair", cwd=folder)
    assert made.returncode == 0, made.stderr
    return folder / "cosign.key", folder / "cosign.pub"


def verify(reference: str, public: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    flags = ["--key", str(public), "--insecure-ignore-tlog", "--allow-http-registry", "--allow-insecure-registry"]
    return cosign(*extra, *flags, reference, cwd=public.parent)


def test_a_release_is_pushed_signed_and_installs_from_the_registry(
    cluster: Cluster, registry: str, tmp_path: Path
) -> None:
    key, public = key_pair(tmp_path / "keys")
    _, stranger = key_pair(tmp_path / "other-keys")
    output = tmp_path / "dist"
    # What `make release REGISTRY=… KEY=…` runs, on the cluster's engine.
    argv = [str(Path(sys.executable).with_name("orderflow")), "k8s", "release", "--registry", f"{registry}/orderflow"]
    argv += ["--key", str(key), "--output", str(output), "--plain-http", "--state-dir", str(cluster.layout.state)]
    done = subprocess.run(argv, env={**os.environ, "COSIGN_PASSWORD": PASSWORD}, text=True, timeout=1500)
    assert done.returncode == 0
    released = json.loads((output / "release.json").read_text())

    tag = version()
    assert released["version"] == tag
    assert [image["reference"].split("@")[0] for image in released["images"]] == [
        f"{registry}/orderflow/{spec.repository}" for spec in IMAGES
    ]
    assert [chart["reference"].split("@")[0] for chart in released["charts"]] == [
        f"{registry}/orderflow/charts/orderflow-operator",
        f"{registry}/orderflow/charts/orderflow",
    ]

    for image in released["images"]:
        sbom = json.loads((output / image["sbom"]).read_text())
        assert sbom["bomFormat"] == "CycloneDX"
        packages = [component for component in sbom["components"] if component["type"] == "library"]
        assert {"python3.11", "pydantic", "aiokafka"} <= {p["name"] for p in packages}, image  # Debian's, PyPI's
        assert image["packages"] == len(packages)
    for reference in [artifact["reference"] for artifact in released["images"] + released["charts"]]:
        verified = verify(reference, public, "verify")
        assert verified.returncode == 0, verified.stderr
        checks = [line for line in verified.stderr.splitlines() if not line.startswith("WARNING")]
        print(f"cosign verify {reference}:", *checks, sep="\n  ")
        assert verify(reference, stranger, "verify").returncode != 0, "another key must not verify it"
    for image in released["images"]:
        attested = verify(image["reference"], public, "verify-attestation", "--type", "cyclonedx")
        assert attested.returncode == 0, attested.stderr

    plane = start(tmp_path / "k8s", log=lambda line: print(f"[kube_api] {line}"))
    try:
        manifests = []
        helm_env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "KUBECONFIG": str(plane.kubeconfig)}
        for chart, extra in (("orderflow-operator", []), ("orderflow", ["--set", "operations.enabled=true"])):
            argv = [str(HELM.binary("helm")), "install", chart, f"oci://{registry}/orderflow/charts/{chart}"]
            argv += ["--version", tag, "--plain-http", "-n", "orderflow", "--create-namespace", *extra]
            done = subprocess.run(argv, env=helm_env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
            print(done.stdout.splitlines()[0])
            got = [str(HELM.binary("helm")), "get", "manifest", chart, "-n", "orderflow"]
            manifests += documents(subprocess.run(got, env=helm_env, capture_output=True, text=True).stdout)
        containers = [
            c for _, spec in pod_specs(manifests) for c in spec.get("initContainers", []) + spec["containers"]
        ]
        ours = {c["image"] for c in containers if c["image"].rsplit("/", 1)[-1].startswith("orderflow-")}
        assert ours == {f"{registry}/orderflow/{spec.repository}:{tag}" for spec in IMAGES}
    finally:
        plane.stop()
