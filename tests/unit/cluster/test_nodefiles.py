"""What the node image changes in kind's own files, as text: each change lands exactly once, or the build stops
saying which file no longer reads as expected."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from devstack.cluster import nodefiles

KIND_CONTAINERD = """version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "upstream/pause:3.10"
  tolerate_missing_hugepages_controller = true
  restrict_oom_score_adj = false
"""


def test_containerd_restricts_oom_scores_and_uses_the_nodes_own_pause_image() -> None:
    config = nodefiles.containerd_config(KIND_CONTAINERD, "local/pause:3.10.2")
    assert "restrict_oom_score_adj = true" in config
    assert 'sandbox_image = "local/pause:3.10.2"' in config
    assert 'snapshotter = "overlayfs"' in config, "kind's entrypoint seds this line: it stays as it was"


def test_a_changed_kind_file_stops_the_build_naming_it() -> None:
    with pytest.raises(nodefiles.NodeFileError, match=r"containerd config\.toml: expected one match"):
        nodefiles.containerd_config(KIND_CONTAINERD.replace("restrict_oom_score_adj = false", ""), "p")


def test_the_kubelet_reads_the_drop_in_that_lets_it_run_on_cgroup_v1() -> None:
    defaults = nodefiles.kubelet_defaults("KUBELET_EXTRA_ARGS=--runtime-cgroups=/system.slice/containerd.service\n")
    assert defaults.strip().endswith(f"--config-dir={nodefiles.KUBELET_DROP_IN_DIR}")
    assert "--runtime-cgroups=/system.slice/containerd.service" in defaults
    drop_in = yaml.safe_load(nodefiles.KUBELET_DROP_IN)
    assert drop_in == {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,
    }


def test_the_base_runtime_spec_has_kinds_hook_and_no_rlimits() -> None:
    spec: dict[str, Any] = {"ociVersion": "1.3.0", "process": {"cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE"}]}}
    found = json.loads(nodefiles.cri_base_spec(spec))
    assert "rlimits" not in found["process"]
    assert found["hooks"]["createContainer"] == [{"path": "/kind/bin/mount-product-files.sh"}]
    assert spec["process"]["rlimits"], "the input is left alone"


def test_kinds_version_file_is_one_line() -> None:
    assert nodefiles.kind_version("v1.37.2") == "v1.37.2\n"
