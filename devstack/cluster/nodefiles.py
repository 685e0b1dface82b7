"""What the kind node image changes in kind's own base files, as pure functions of their text.

The files themselves are read at build time from kind's Go module (`images/base/files/` of sigs.k8s.io/kind,
devstack.cluster.nodeimage), never copied into this repository. Each change names the failure it prevents on
this kind of machine (cgroup v1, root without CAP_SYS_RESOURCE, no registry):
- containerd: `restrict_oom_score_adj = true`, else runc cannot give a pod's processes the negative OOM score
  the kubelet asks for (`nsexec: failed to update /proc/self/oom_score_adj: Permission denied`); kind sets it
  only under user namespaces. The sandbox image is the pause image the node carries.
- kubelet: a drop-in configuration (`--config-dir`) with `failCgroupV1: false`, else "kubelet is configured to
  not run on a host using cgroup v1"; in the image, so a plain `kind create cluster --image` needs no patch.
"""

from __future__ import annotations

import json
import re
from typing import Any

KUBELET_DROP_IN_DIR = "/etc/kubernetes/kubelet.conf.d"
KUBELET_DROP_IN = """\
# orderflow: this machine runs cgroup v1, which kubelet >= 1.35 refuses unless told otherwise.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
"""
# kind's base image: the units it enables and masks (images/base/Dockerfile).
ENABLED_UNITS = ("kubelet.service", "containerd.service", "undo-mount-hacks.service")
MASKED_UNITS = ("systemd-binfmt.service",)
# kind's own products the node does not need: the rootless snapshotter, the image's package installer.
SKIPPED_FILES = ("etc/systemd/system/containerd-fuse-overlayfs.service", "usr/local/bin/clean-install")


class NodeFileError(RuntimeError):
    """kind's file no longer reads as this module expects: the pin changed under it."""


def _replace(text: str, pattern: str, replacement: str, what: str) -> str:
    changed, count = re.subn(pattern, replacement, text, flags=re.M)
    if count != 1:
        raise NodeFileError(f"{what}: expected one match of {pattern!r}, found {count}")
    return changed


def containerd_config(kind_config: str, pause_image: str) -> str:
    """kind's /etc/containerd/config.toml with the OOM score restriction on and the node's own pause image."""
    text = _replace(kind_config, r"^(\s*restrict_oom_score_adj = )false$", r"\1true", "containerd config.toml")
    return _replace(text, r'^(\s*sandbox_image = )".*"$', rf'\1"{pause_image}"', "containerd config.toml")


def kubelet_defaults(kind_defaults: str) -> str:
    """kind's /etc/default/kubelet with the drop-in directory added to KUBELET_EXTRA_ARGS."""
    return _replace(
        kind_defaults, r"^(KUBELET_EXTRA_ARGS=.*)$", rf"\1 --config-dir={KUBELET_DROP_IN_DIR}", "/etc/default/kubelet"
    )


def cri_base_spec(oci_spec: dict[str, Any]) -> str:
    """`ctr oci spec` with kind's createContainer hook and without rlimits (kind's Dockerfile does this with jq)."""
    spec = {k: v for k, v in oci_spec.items()}
    spec["process"] = {k: v for k, v in spec.get("process", {}).items() if k != "rlimits"}
    hooks = dict(spec.get("hooks") or {})
    hooks["createContainer"] = [*hooks.get("createContainer", []), {"path": "/kind/bin/mount-product-files.sh"}]
    spec["hooks"] = hooks
    return json.dumps(spec, indent=2) + "\n"


def kind_version(kubernetes_version: str) -> str:
    """/kind/version: exactly one line, which kind parses as the node's Kubernetes version."""
    return kubernetes_version.strip() + "\n"
