"""The image builds as data: the base rootfs, the buildx command lines, containerd's names."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.images import app_images, base


def test_the_base_rootfs_is_debian_minbase_with_python_and_the_machines_roots() -> None:
    argv = base.mmdebstrap_argv(Path("/cache/partial.tar"))
    assert argv[:2] == ["mmdebstrap", "--variant=minbase"]
    assert "--include=python3,python3-venv,ca-certificates,passwd" in argv
    assert any("update-ca-certificates" in a for a in argv)
    assert "/cache/partial.tar" in argv
    assert f"ENV SSL_CERT_FILE={base.CA_BUNDLE}" in base.IMAGE_CHANGES, "uv's own roots do not include the proxy's"


def test_mmdebstrap_output_must_end_in_tar() -> None:
    with pytest.raises(AssertionError):
        base.mmdebstrap_argv(Path("/cache/rootfs.tar.partial"))


def test_each_image_is_the_real_dockerfile_with_the_local_bases() -> None:
    by_name = {spec.repository: spec for spec in app_images.IMAGES}
    assert set(by_name) == {
        "orderflow-orders",
        "orderflow-inventory",
        "orderflow-payments",
        "orderflow-operator",
        "orderflow-cli",
    }
    argv = app_images.buildx_argv(by_name["orderflow-payments"], "t1", "local/python:3.11", Path("/repo"))
    assert argv[:3] == ["buildx", "build", "--load"]
    assert argv[argv.index("-f") + 1] == "/repo/services/Dockerfile"
    assert {
        "--build-arg=SERVICE=payments",
        "--build-arg=PYTHON_IMAGE=local/python:3.11",
    } <= set(argv)
    assert argv[-3:] == ["-t", "orderflow-payments:t1", "/repo"]
    operator = app_images.buildx_argv(by_name["orderflow-operator"], "t1", "p", Path("/repo"))
    assert not [a for a in operator if "SERVICE" in a]


def test_postgres_builds_from_its_own_folder_on_the_local_base() -> None:
    argv = app_images.buildx_argv(app_images.POSTGRES, "15", "local/python:3.11", Path("/repo"))
    assert "--build-arg=BASE_IMAGE=local/python:3.11" in argv
    assert argv[-1] == "/repo/k8s/postgres"
