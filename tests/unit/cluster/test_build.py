"""The Go builds as data: one shared cache layout, the kubernetes module's replaces and stamps, the argv."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devstack.cluster import build, gotool, pause, tools

KUBERNETES_GO_MOD = """module k8s.io/kubernetes

go 1.26.0

require (
\tgithub.com/spf13/cobra v1.9.1
\tk8s.io/api v0.0.0
\tk8s.io/client-go v0.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
)
"""


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORDERFLOW_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_every_tool_shares_one_module_and_build_cache(cache: Path) -> None:
    env = build.go_env({"PATH": "/usr/bin", "ETCD_NAME": "kept for go"})
    assert env["GOMODCACHE"] == str(cache / "go" / "mod")
    assert env["GOCACHE"] == str(cache / "go" / "build")
    assert env["GOPATH"] == str(cache / "go" / "path")
    assert env["CGO_ENABLED"] == "0"
    assert env["GOTOOLCHAIN"] == "local"
    assert tools.KUBERNETES.bin_dir == cache / "kubernetes-v1.37.2" / "bin"
    assert tools.CRICTL.binary("crictl") == cache / "cri-tools-v1.37.0" / "bin" / "crictl"


def test_staging_modules_map_to_their_published_tags() -> None:
    assert gotool.staging_replaces(KUBERNETES_GO_MOD, "v1.37.2") == {
        "k8s.io/api": "k8s.io/api v0.37.2",
        "k8s.io/client-go": "k8s.io/client-go v0.37.2",
    }


def test_a_modules_versioned_replaces_are_copied_and_local_paths_left_out() -> None:
    go_mod = """module example.com/tool

replace github.com/alessio/shellescape => github.com/alessio/shellescape v1.4.2

// a comment
replace k8s.io/api => k8s.io/api v0.33.4 // held back

replace github.com/nexus-rpc/nexus-proto-annotations v0.1.0 => github.com/nexus-rpc/nexus-proto-annotations v0.1.1-0

replace (
\tgithub.com/a/b => github.com/c/b v1.0.0
\tgithub.com/local/x => ./x
)

require github.com/spf13/cobra v1.9.1
"""
    assert gotool.module_replaces(go_mod) == {
        "github.com/alessio/shellescape": "github.com/alessio/shellescape v1.4.2",
        "k8s.io/api": "k8s.io/api v0.33.4",
        "github.com/nexus-rpc/nexus-proto-annotations v0.1.0": "github.com/nexus-rpc/nexus-proto-annotations v0.1.1-0",
        "github.com/a/b": "github.com/c/b v1.0.0",
    }


def test_inherited_replaces_go_into_the_throwaway_module() -> None:
    tool = gotool.GoTool("t", "example.com/t", "v1.0.0", {"t": "example.com/t/cmd/t"}, replaces={"a/b v1": "a/b v2"})
    assert "\ta/b v1 => a/b v2\n" in gotool.go_mod_text(tool)
    assert tools.SKAFFOLD.inherit_replaces
    assert tools.SKAFFOLD.nosumdb, "sum.golang.org has no entry for skaffold v2.19.0"
    assert tools.KEDA.packages == {
        "keda": "github.com/kedacore/keda/v2/cmd/operator",
        "keda-adapter": "github.com/kedacore/keda/v2/cmd/adapter",
    }


def test_the_kubernetes_binaries_are_one_build_with_version_stamps() -> None:
    tool = gotool.resolved_staging(tools.KUBERNETES, KUBERNETES_GO_MOD, "2026-10-01T00:00:00Z")
    argv = gotool.build_argv(tool, Path("/out"))
    assert argv[:2] == ["build", "-trimpath"]
    assert argv[argv.index("-o") + 1] == "/out/", "a folder: one binary per package"
    assert argv[-7:] == [f"k8s.io/kubernetes/cmd/{name}" for name in tools.KUBERNETES.packages]
    assert "kubeadm" in tools.KUBERNETES.packages, "kind's nodes run kubeadm"
    ldflags = argv[argv.index("-ldflags") + 1]
    assert "-X 'k8s.io/component-base/version.gitVersion=v1.37.2'" in ldflags
    assert "-X 'k8s.io/client-go/pkg/version.gitMinor=37'" in ldflags
    module = gotool.go_mod_text(tool)
    assert "require k8s.io/kubernetes v1.37.2" in module
    assert "\tk8s.io/api => k8s.io/api v0.37.2" in module


def test_a_single_binary_tool_names_its_output_file() -> None:
    argv = gotool.build_argv(tools.BUILDX, Path("/out"))
    assert argv[argv.index("-o") + 1] == "/out/docker-buildx"
    assert argv[-1] == "github.com/docker/buildx/cmd/buildx"
    assert "github.com/docker/buildx/version.Version=v0.38.2" in argv[argv.index("-ldflags") + 1]


def test_a_binary_counts_only_with_the_stamp_of_its_pin_and_recipe() -> None:
    tool = tools.ETCD
    assert not build.is_current(tool)
    tool.bin_dir.mkdir(parents=True)
    tool.binary("etcd").write_text("")
    assert not build.is_current(tool), "no stamp: built by something else"
    (tool.bin_dir / ".stamp").write_text("go.etcd.io/etcd/server/v3@v3.6.0 recipe=1\n")
    assert not build.is_current(tool)
    (tool.bin_dir / ".stamp").write_text(tool.stamp + "\n")
    assert build.is_current(tool)


def test_the_cluster_builds_what_the_control_plane_builds_and_more() -> None:
    plane = {t.name for t in tools.CONTROL_PLANE_TOOLS}
    node = {t.name for t in tools.NODE_IMAGE_TOOLS}
    cluster = {t.name for t in tools.CLUSTER_TOOLS}
    assert {"kubernetes", "etcd"} <= node <= cluster
    assert plane <= cluster
    assert {"kind", "helm", "buildx"} <= cluster - node, "what runs on the machine, not in the node"


def test_runc_alone_is_built_with_c_for_its_seccomp_filter() -> None:
    assert [t.name for t in tools.CLUSTER_TOOLS if t.cgo] == ["runc"]
    assert tools.RUNC.tags == ("seccomp",)
    assert build.go_env({}, cgo=True)["CGO_ENABLED"] == "1"


def test_pause_is_compiled_static_with_its_version() -> None:
    argv = pause.pause_argv(Path("/src/pause.c"), Path("/out/pause"), "v1.37.2")
    assert argv[:3] == ["gcc", "-Os", "-static"]
    assert "-DVERSION=v1.37.2" in argv


def test_several_binaries_are_taken_from_where_go_build_writes_them() -> None:
    # `go build -o dir/` names each binary after its package's last element, not after our name for it.
    assert gotool.built_name(tools.KEDA, "keda") == "operator"
    assert gotool.built_name(tools.KEDA, "keda-adapter") == "adapter"
    assert gotool.built_name(tools.PROMETHEUS, "promtool") == "promtool"
    assert gotool.built_name(tools.COMPOSE, "docker-compose") == "docker-compose"


def test_the_collector_is_our_main_package_with_its_components_pinned() -> None:
    tool = tools.OTELCOL
    module = gotool.go_mod_text(tool)
    assert "require go.opentelemetry.io/collector/otelcol v0.140.0" in module
    assert "\tgo.opentelemetry.io/collector/receiver/otlpreceiver v0.140.0" in module
    assert "\tgo.opentelemetry.io/collector/component v1.46.0" in module
    assert gotool.build_argv(tool, Path("/out"))[-1] == "."
    assert tool.source is not None
    imported = set(
        re.findall(r'"((?:go\.opentelemetry\.io|github\.com)/[^"]+)"', (tool.source / "main.go").read_text())
    )
    pinned = {tool.module, *tool.requires}
    # Each component (otlpreceiver, batchprocessor, ...) is a module of its own and must be pinned exactly:
    # unpinned, `go build -mod=mod` would take its newest release. Everything else lives in a pinned module.
    kinds = ("receiver", "processor", "exporter", "extension")
    components = {path for path in imported if path.endswith(kinds) and path.rsplit("/", 1)[-1] not in kinds}
    assert len(components) == 6, components
    assert components <= pinned, components - pinned
    assert all(any(path == m or path.startswith(m + "/") for m in pinned) for path in imported), imported - pinned
    assert "source=" in tool.stamp, "an edit of main.go rebuilds it"


def test_prometheus_keeps_only_the_kubernetes_service_discovery() -> None:
    argv = gotool.build_argv(tools.PROMETHEUS, Path("/out"))
    assert argv[argv.index("-tags") + 1] == "remove_all_sd,enable_kubernetes_sd"
    assert "tags=remove_all_sd,enable_kubernetes_sd" in tools.PROMETHEUS.stamp, "a change of tags rebuilds it"


FAKE_GO = """#!/bin/sh
# Answers like go 1.26 does for a module whose go.mod says `go 1.27.0`: unpacked, yet refused, and no Dir.
case "$*" in
  "env GOVERSION") echo go1.26.8 ;;
  "mod download -json example.com/new@v1.0.0")
    printf '{"Path": "example.com/new", "Error": "example.com/new@v1.0.0 requires go >= 1.27.0 (running go 1.26.8)"}\\n'
    exit 1 ;;
  "list -m -json example.com/new@v1.0.0") printf '{"Path": "example.com/new", "Dir": "%s"}\\n' "$UNPACKED" ;;
  "mod download -json example.com/gone@v1.0.0") printf '{"Error": "unknown revision v1.0.0"}\\n'; exit 1 ;;
  *) exit 2 ;;
esac
"""


@pytest.fixture
def fake_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    go = tmp_path / "bin" / "go"
    go.parent.mkdir()
    go.write_text(FAKE_GO)
    go.chmod(0o755)
    monkeypatch.setenv("PATH", f"{go.parent}:/usr/bin:/bin")
    monkeypatch.setenv("UNPACKED", str(tmp_path / "unpacked"))
    return tmp_path / "unpacked"


def test_a_module_asking_for_a_newer_go_is_read_where_go_unpacked_it(fake_go: Path) -> None:
    module = gotool.GoTool("new", "example.com/new", "v1.0.0", {})
    assert build.module_source(module) == fake_go


def test_a_module_that_cannot_be_downloaded_names_gos_error(fake_go: Path) -> None:
    with pytest.raises(build.BuildError, match=r"example.com/gone@v1.0.0` failed: unknown revision v1.0.0"):
        build.module_source(gotool.GoTool("gone", "example.com/gone", "v1.0.0", {}))
