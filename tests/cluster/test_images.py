"""The four images, built with BuildKit from the real Dockerfiles on the local base, opened and checked: each
holds its own code and nothing else (the issue's image bug left the orders project in every image)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from devstack.cluster.cluster import Cluster
from devstack.images import app_images
from tests.cluster.kube import Images

pytestmark = [pytest.mark.cluster]

SERVICES = app_images.SERVICES
# What an image must (True) or must not (False) be able to import.
MODULES = ["eventkit", "fastapi", "kopf", "orderflow", "devstack", "pytest", "operators.scaler.handlers"]
MODULES += [f"services.{s}" for s in SERVICES]
PROBE = f"""
import importlib.metadata, importlib.util, json
def found(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False
print(json.dumps({{
    "packages": sorted(f"{{d.metadata['Name']}}=={{d.version}}" for d in importlib.metadata.distributions()),
    "modules": {{name: found(name) for name in {MODULES!r}}},
}}))
"""


def expected(image: str) -> dict[str, bool]:
    if image == "orderflow-operator":
        return {name: name in ("eventkit", "kopf", "operators.scaler.handlers") for name in MODULES}
    if image == "orderflow-cli":  # the CLI's `scaler` commands import the operator's policy
        return {
            name: name in ("eventkit", "fastapi", "kopf", "orderflow", "operators.scaler.handlers") for name in MODULES
        }
    own = f"services.{image.removeprefix('orderflow-')}"
    return {name: name in ("eventkit", "fastapi", own) for name in MODULES}


def contents(cluster: Cluster, ref: str) -> dict[str, Any]:
    # The image's own interpreter, from outside: its entry point would start a service.
    done = cluster.engine.docker(
        "run", "--rm", "--network=none", "--entrypoint", "/opt/venv/bin/python", ref, "-c", PROBE
    )
    result: dict[str, Any] = json.loads(done.stdout.decode())
    return result


@pytest.mark.parametrize("spec", app_images.IMAGES, ids=lambda spec: spec.repository)
def test_each_image_holds_its_own_code_only(
    cluster: Cluster, images: Images, spec: app_images.ImageSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    found = contents(cluster, spec.ref(images.tag))
    assert found["modules"] == expected(spec.repository)
    distributions = {p.split("==")[0] for p in found["packages"]}
    assert "orderflow-eventkit" in distributions
    assert not {"orderflow-devstack", "orderflow-strimzi-standin", "pytest", "mypy", "ruff"} & distributions
    assert ("orderflow-cli" in distributions) == (spec.repository == "orderflow-cli")
    if spec.repository == "orderflow-cli":
        assert not {f"orderflow-{s}" for s in SERVICES} & distributions
    elif spec.repository == "orderflow-operator":
        assert not {"fastapi", "uvicorn", "sqlalchemy"} & {d.lower() for d in distributions}
        assert not {f"orderflow-{s}" for s in SERVICES} & distributions
    else:
        own = spec.repository
        assert own in distributions
        assert not ({f"orderflow-{s}" for s in SERVICES} - {own}) & distributions
        assert "kopf" not in distributions
    with capsys.disabled():
        print(f"\n{spec.ref(images.tag)} ({len(found['packages'])} distributions): {' '.join(found['packages'])}")


@pytest.mark.parametrize("spec", app_images.IMAGES, ids=lambda spec: spec.repository)
def test_images_run_as_the_numeric_non_root_user(cluster: Cluster, images: Images, spec: app_images.ImageSpec) -> None:
    inspect = cluster.engine.docker("image", "inspect", "--format", "{{json .Config}}", spec.ref(images.tag))
    config = json.loads(inspect.stdout)
    assert config["User"] == "10001:10001"
    assert config["WorkingDir"] == "/tmp"


def test_an_unchanged_rebuild_reuses_every_layer_and_loads_nothing(cluster: Cluster, images: Images) -> None:
    before = {ref: cluster.engine.image_id(ref) for ref in images.refs}
    started = time.monotonic()
    refs = app_images.build_all(cluster.engine, images.tag, log=print, logs=cluster.logs)
    print(f"an unchanged rebuild of {len(refs)} images took {time.monotonic() - started:.0f}s")
    assert {ref: cluster.engine.image_id(ref) for ref in refs} == before
    present = cluster.load(refs)
    assert present == set(refs), f"kind copied images the nodes had: {set(refs) - present}"
