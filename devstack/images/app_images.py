"""The five orderflow images (the three services, the operator, the operations CLI), built with BuildKit (buildx,
"docker" driver) from the real Dockerfiles.

PYTHON_IMAGE is the local one (devstack.images.base): public registries cannot be reached. A
rebuild reuses BuildKit's layer cache and its `--mount=type=cache` uv cache, so only what changed runs again;
`Engine.load` then moves only images whose id changed into the node.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devstack.images.base import ensure_base_images
from devstack.images.engine import Engine

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("orders", "inventory", "payments")

Log = Callable[[str], None]
# The Dockerfiles' base image argument; "{python}" stands for the local image.
BASES = {"PYTHON_IMAGE": "{python}"}


@dataclass(frozen=True)
class ImageSpec:
    repository: str
    dockerfile: str  # relative to the repository root
    context: str = "."  # relative to the repository root
    build_args: dict[str, str] = field(default_factory=lambda: dict(BASES))

    def ref(self, tag: str) -> str:
        return f"{self.repository}:{tag}"


OPERATOR = ImageSpec("orderflow-operator", "operators/Dockerfile")
# The `orderflow` CLI, for the chart's operations toolbox (operations.enabled).
CLI = ImageSpec("orderflow-cli", "orderflow/Dockerfile")
IMAGES: tuple[ImageSpec, ...] = (
    *(ImageSpec(f"orderflow-{s}", "services/Dockerfile", build_args={"SERVICE": s, **BASES}) for s in SERVICES),
    OPERATOR,
    CLI,
)
# What the chart's bundled PostgreSQL runs here, instead of the official postgres image (see its Dockerfile).
POSTGRES = ImageSpec("orderflow.local/postgres", "k8s/postgres/Dockerfile", "k8s/postgres", {"BASE_IMAGE": "{python}"})
POSTGRES_TAG = "15-bookworm"


def buildx_argv(spec: ImageSpec, tag: str, python_image: str, repo: Path = REPO) -> list[str]:
    """`docker buildx build --load`: into dockerd's image store, where `Engine.load` picks it up."""
    args = {k: v.format(python=python_image) for k, v in spec.build_args.items()}
    return [
        "buildx",
        "build",
        "--load",
        "--progress=plain",
        "-f",
        str(repo / spec.dockerfile),
        *(f"--build-arg={k}={v}" for k, v in sorted(args.items())),
        "-t",
        spec.ref(tag),
        str(repo / spec.context),
    ]


def build_all(
    engine: Engine,
    tag: str,
    *,
    log: Log = print,
    logs: Path,
    images: tuple[ImageSpec, ...] = IMAGES,
    repo: Path = REPO,
) -> list[str]:
    """Build every image (sequentially: each build uses every core); their references. `repo`: the source tree
    to build from (another revision's, for an upgrade test)."""
    python_image = ensure_base_images(engine, log)
    refs = []
    for spec in images:
        started = time.monotonic()
        before = engine.image_id(spec.ref(tag))
        engine.docker(*buildx_argv(spec, tag, python_image, repo), log=logs / f"build-{spec.repository}.log")
        after = engine.image_id(spec.ref(tag))
        change = "unchanged" if before == after else "new"
        log(f"built {spec.ref(tag)} in {time.monotonic() - started:.1f}s ({change}, {(after or '')[:19]})")
        refs.append(spec.ref(tag))
    return refs
