"""The background Go builds of a cold machine: which tools, in which order."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from tests.support import prebuild


def test_missing_tools_come_once_in_the_order_the_tiers_need_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prebuild, "is_current", lambda tool: tool.name == "etcd")
    names = [tool.name for tool in prebuild.missing({"cluster", "apiserver", "unit"})]
    assert names == [
        "kubernetes",
        "helm",
        "prometheus",
        "helm-docs",
        "coredns",
        "containerd",
        "runc",
        "cri-tools",
        "cni-plugins",
        "kube-router",
        "local-path-provisioner",
        "kind",
        "buildx",
        "compose",
        "otelcol",
        "jaeger",
        "registry",
        "cosign",
        "syft",
        "skaffold",
    ]


def test_the_python_tiers_need_nothing_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prebuild, "is_current", lambda tool: False)
    assert prebuild.missing({"unit", "integration", "e2e"}) == []
    assert [tool.name for tool in prebuild.missing({"apiserver"})] == [
        "kubernetes",
        "etcd",
        "helm",
        "prometheus",
        "helm-docs",
    ]


def test_without_root_the_cluster_tier_builds_nothing_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prebuild, "is_current", lambda tool: False)
    names = [tool.name for tool in prebuild.missing({"cluster", "apiserver"}, root=False)]
    assert names == ["kubernetes", "etcd", "helm", "prometheus", "helm-docs"]


def test_the_builder_leads_its_own_group_and_is_stopped(tmp_path: Path) -> None:
    process = prebuild.spawn([], tmp_path / "prebuild.log")
    with contextlib.suppress(ProcessLookupError):  # already done: nothing to build
        assert os.getpgid(process.pid) == process.pid != os.getpgid(0)
    process.wait(timeout=60)
    assert process.returncode == 0
    prebuild.stop(process)  # a finished builder is left alone
    assert (tmp_path / "prebuild.log").exists()
