"""`make release` (`orderflow k8s release`): the release's five images and two charts, pushed to an OCI registry,
each image with an SBOM (syft, CycloneDX JSON, attached as a signed attestation) and every image and chart signed
with a cosign key.

The version is the root pyproject.toml's, which every package and both charts state (scripts/set-version). The
images are built with the real Dockerfiles on the local cluster's engine (devstack.images.app_images) and pushed
by it; cosign, syft and helm log in to the registry with the engine's Docker config, so `docker login` after
`eval "$(orderflow k8s env)"` serves all four. The packaged charts default to the images of the same release in
the same registry: `helm install oci://<registry>/charts/orderflow --version <version>` needs no image value.
Signatures are not uploaded to a transparency log (Rekor): verify them with the public key, offline
(`cosign verify --key cosign.pub --insecure-ignore-tlog`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from devstack.cluster.build import ensure_tools
from devstack.cluster.tools import COSIGN, HELM, SYFT
from devstack.images import app_images
from devstack.images.engine import Engine

REPO = Path(__file__).resolve().parents[1]
CHARTS = ("orderflow-operator", "orderflow")
Log = Callable[[str], None]


class ReleaseError(RuntimeError):
    """A step of the release failed; the message names it and carries the tool's output."""


@dataclass(frozen=True)
class Target:
    """Where the release goes: `registry` is host[:port][/path]; `plain_http` for a registry without TLS."""

    registry: str
    plain_http: bool = False

    def image(self, repository: str) -> str:
        return f"{self.registry}/{repository}"

    @property
    def charts(self) -> str:
        return f"{self.registry}/charts"


@dataclass(frozen=True)
class PushedImage:
    reference: str  # repository@sha256:…
    sbom: str  # the CycloneDX file, relative to the output folder
    packages: int  # components in the SBOM


@dataclass(frozen=True)
class PushedChart:
    reference: str  # oci repository@sha256:…


@dataclass(frozen=True)
class Released:
    version: str
    images: list[PushedImage]
    charts: list[PushedChart]


def version(repo: Path = REPO) -> str:
    """The release's one version: the root pyproject.toml's."""
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    return str(project["version"])


def _run(argv: list[str], env: Mapping[str, str], step: str) -> str:
    done = subprocess.run(argv, env=dict(env), capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise ReleaseError(f"{step} failed ({done.returncode}): {' '.join(argv)}\n{done.stderr}{done.stdout}")
    return done.stdout + done.stderr


class Tools:
    """cosign, syft and helm with the engine's registry logins; cosign with the signing key."""

    def __init__(self, engine: Engine, target: Target, key: Path, password: str) -> None:
        self.target = target
        self.key = key
        config = engine.docker_config
        self.env = {**engine.env(), "DOCKER_CONFIG": str(config), "COSIGN_PASSWORD": password}
        if target.plain_http:
            self.env["SYFT_REGISTRY_INSECURE_USE_HTTP"] = "true"
        self.registry_config = config / "config.json"
        self.http = ["--allow-http-registry", "--allow-insecure-registry"] if target.plain_http else []

    def cosign(self, *args: str, step: str) -> str:
        return _run([str(COSIGN.binary("cosign")), *args], self.env, step)

    def sign(self, reference: str) -> None:
        # No transparency log: the registry holds the signature; the public key verifies it.
        self.cosign("sign", "--key", str(self.key), "--tlog-upload=false", "--yes", *self.http, reference, step="sign")

    def sbom(self, reference: str, into: Path) -> int:
        source = f"registry:{reference}"
        _run([str(SYFT.binary("syft")), "scan", source, "-o", f"cyclonedx-json={into}", "-q"], self.env, "SBOM")
        # Packages: Debian's and Python's (syft also lists each file a package owns, as components of type "file").
        components = [c for c in json.loads(into.read_text()).get("components", []) if c.get("type") == "library"]
        self.cosign(
            "attest", "--key", str(self.key), "--type", "cyclonedx", "--predicate", str(into),
            "--tlog-upload=false", "--yes", *self.http, reference, step="attest the SBOM",
        )  # fmt: skip
        return len(components)

    def helm(self, *args: str, step: str) -> str:
        flags = ["--registry-config", str(self.registry_config)] + (["--plain-http"] if self.target.plain_http else [])
        return _run([str(HELM.binary("helm")), *args, *flags], self.env, step)


def _digest_of_push(engine: Engine, repository: str, tag: str) -> str:
    inspected = engine.docker("image", "inspect", "--format", "{{json .RepoDigests}}", f"{repository}:{tag}").stdout
    for reference in json.loads(inspected or b"[]") or []:
        if reference.startswith(f"{repository}@sha256:"):
            return str(reference)
    raise ReleaseError(f"docker push of {repository} left no digest of that repository")


def push_images(engine: Engine, tools: Tools, tag: str, output: Path, log: Log) -> list[PushedImage]:
    pushed = []
    (output / "sbom").mkdir(parents=True, exist_ok=True)
    for spec in app_images.IMAGES:
        remote = tools.target.image(spec.repository)
        engine.docker("tag", spec.ref(tag), f"{remote}:{tag}")
        engine.docker("push", f"{remote}:{tag}", log=output / "logs" / f"push-{spec.repository}.log")
        reference = _digest_of_push(engine, remote, tag)
        sbom = output / "sbom" / f"{spec.repository}.cdx.json"
        packages = tools.sbom(reference, sbom)
        tools.sign(reference)
        log(f"pushed {reference} ({packages} packages in its SBOM), signed")
        pushed.append(PushedImage(reference, str(sbom.relative_to(output)), packages))
    return pushed


def _point_at(chart: Path, target: Target) -> None:
    """The packaged chart's default images are the release's, in the target registry."""
    values = chart / "values.yaml"
    text = values.read_text()
    if chart.name == "orderflow":
        default, value = r'^(  image:\n(?:    #.*\n)*    registry: )""', rf'\g<1>"{target.registry}"'
    else:
        default, value = r"^(  repository: )(orderflow-operator)$", rf"\g<1>{target.registry}/\g<2>"
    text, count = re.subn(default, value, text, count=1, flags=re.M)
    if count != 1:
        raise ReleaseError(f"{values}: found no default image registry to set")
    values.write_text(text)


def push_charts(tools: Tools, version: str, output: Path, log: Log) -> list[PushedChart]:
    pushed = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in CHARTS:
            chart = Path(tmp) / name
            shutil.copytree(REPO / "charts" / name, chart)
            _point_at(chart, tools.target)
            tools.helm("package", str(chart), "--destination", str(output / "charts"), step=f"package {name}")
    for name in CHARTS:
        archive = output / "charts" / f"{name}-{version}.tgz"
        out = tools.helm("push", str(archive), f"oci://{tools.target.charts}", step=f"push {name}")
        digest = re.search(r"Digest: (sha256:[0-9a-f]{64})", out)
        if digest is None:
            raise ReleaseError(f"helm push of {archive.name} printed no digest:\n{out}")
        reference = f"{tools.target.charts}/{name}@{digest.group(1)}"
        tools.sign(reference)
        log(f"pushed {reference} ({archive.name}), signed")
        pushed.append(PushedChart(reference))
    return pushed


def release(engine: Engine, target: Target, key: Path, password: str, output: Path, log: Log = print) -> Released:
    """Build, push, describe and sign everything; write `output/release.json` and return what it says."""
    ensure_tools((HELM, COSIGN, SYFT), log)
    tag = version()
    (output / "logs").mkdir(parents=True, exist_ok=True)
    app_images.build_all(engine, tag, log=log, logs=output / "logs")
    tools = Tools(engine, target, key, password)
    released = Released(tag, push_images(engine, tools, tag, output, log), push_charts(tools, tag, output, log))
    (output / "release.json").write_text(json.dumps(asdict(released), indent=2) + "\n")
    return released
