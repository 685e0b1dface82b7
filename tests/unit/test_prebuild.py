"""The background Go builds of a cold machine: which tools, in which order."""

from __future__ import annotations

import pytest

from tests.support import prebuild


def test_missing_tools_come_once_in_the_order_the_tiers_need_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prebuild, "is_current", lambda tool: tool.name == "etcd")
    names = [tool.name for tool in prebuild.missing({"cluster", "apiserver", "unit"})]
    assert names == [
        "kubernetes",
        "helm",
        "prometheus",
        "cri-tools",
        "coredns",
        "buildx",
        "compose",
        "otelcol",
        "jaeger",
    ]


def test_the_python_tiers_need_nothing_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prebuild, "is_current", lambda tool: False)
    assert prebuild.missing({"unit", "integration", "e2e"}) == []
    assert [tool.name for tool in prebuild.missing({"apiserver"})] == ["kubernetes", "etcd", "helm", "prometheus"]
