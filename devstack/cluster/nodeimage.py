"""The kind node image, made on this machine from the package registries alone, cached, rebuilt only when an
input changes.

`kind build node-image` cannot work offline (it fetches etcd, CoreDNS, pause and kindnetd from registries), so
the image is assembled the way kind's own Dockerfile and node-image builder do (images/base/ and
pkg/build/nodeimage/ of sigs.k8s.io/kind, read from its Go module at build time):
1. a Debian bookworm tree with kind's packages (mmdebstrap, `base.KIND_NODE`);
2. kind's base files (entrypoint, systemd units, containerd and kubelet configuration) from the module, with the
   changes this machine needs (nodefiles.py), and our entrypoint in front of kind's (files/node-entrypoint.sh);
3. containerd, runc, crictl, the CNI plugins, kubeadm, kubelet and kubectl from their Go builds;
4. every image the node runs (nodeimages.py), imported into the tree's containerd store as kind does (pinned,
   not unpacked), with kube-router and local-path-provisioner as the default CNI and storage (addons.py);
5. `docker import` of the tree. The tag is a digest of all of it: an unchanged input set is never rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from devstack import processes
from devstack.cache import cache_dir
from devstack.cluster import addons, nodefiles, nodeimages
from devstack.cluster.build import BuildError, ensure_tools, module_source
from devstack.cluster.pause import ensure_pause
from devstack.cluster.tools import (
    CNI_PLUGINS,
    CONTAINERD,
    CRICTL,
    KIND,
    KUBE_ROUTER,
    KUBERNETES,
    LOCAL_PATH,
    NODE_IMAGE_TOOLS,
    RUNC,
)
from devstack.images import base
from devstack.images.engine import Engine

REPOSITORY = "orderflow.local/kind-node"
SMALL_FILE = 1 << 20
FILES = Path(__file__).with_name("files")
ENTRYPOINT = '["/usr/local/bin/orderflow-entrypoint", "/usr/local/bin/entrypoint", "/sbin/init"]'
# `docker import` takes no STOPSIGNAL, so a one-line build on the imported tree adds it (kind's base image: systemd
# stops on SIGRTMIN+3; on SIGTERM it would re-execute itself, and `docker stop` would wait, then kill it).
CHANGES = (f"ENTRYPOINT {ENTRYPOINT}", "ENV container=docker")
FINISH = "FROM {tree}\nSTOPSIGNAL SIGRTMIN+3\n"
# Bump when the assembly below changes in a way the inputs' digest cannot see.
RECIPE = 1

Log = Callable[[str], None]
Content = bytes | Path


def _binaries() -> dict[str, Path]:
    found = {f"usr/local/bin/{name}": CONTAINERD.binary(name) for name in CONTAINERD.packages}
    found["usr/local/bin/crictl"] = CRICTL.binary("crictl")
    found["usr/local/sbin/runc"] = RUNC.binary("runc")
    found |= {f"opt/cni/bin/{name}": CNI_PLUGINS.binary(name) for name in CNI_PLUGINS.packages}
    found |= {f"usr/bin/{name}": KUBERNETES.binary(name) for name in ("kubeadm", "kubelet", "kubectl")}
    return found


def _kind_files(kind_files: Path, pause_image: str, oci_spec: dict[str, object]) -> dict[str, Content]:
    """kind's base files from its module, changed where this machine needs it, plus our own."""
    found: dict[str, Content] = {
        str(path.relative_to(kind_files)): path
        for path in sorted(kind_files.rglob("*"))
        if path.is_file() and str(path.relative_to(kind_files)) not in nodefiles.SKIPPED_FILES
    }
    config = "etc/containerd/config.toml"
    found[config] = nodefiles.containerd_config((kind_files / config).read_text(), pause_image).encode()
    defaults = "etc/default/kubelet"
    found[defaults] = nodefiles.kubelet_defaults((kind_files / defaults).read_text()).encode()
    found[f"{nodefiles.KUBELET_DROP_IN_DIR.lstrip('/')}/50-orderflow.conf"] = nodefiles.KUBELET_DROP_IN.encode()
    found["etc/containerd/cri-base.json"] = nodefiles.cri_base_spec(oci_spec).encode()
    found["usr/local/bin/orderflow-entrypoint"] = FILES / "node-entrypoint.sh"
    found["kind/version"] = nodefiles.kind_version(KUBERNETES.version).encode()
    return found


def _digest(rootfs: Path, files: dict[str, Content], image_ids: list[str]) -> str:
    digest = hashlib.sha256(f"{rootfs} recipe={RECIPE}".encode())
    for target, content in sorted(files.items()):
        if isinstance(content, Path):
            stat = content.stat()
            # A rebuilt binary is a new file: size and mtime tell, without reading it. Small files (scripts, some
            # from this repository, whose mtimes every fresh clone resets) are read, or each clone made an image.
            small = stat.st_size < SMALL_FILE
            content = content.read_bytes() if small else f"{content} {stat.st_size} {stat.st_mtime_ns}".encode()
        digest.update(b"\0" + target.encode() + b"\0" + content)
    digest.update("\0".join(image_ids).encode())
    return digest.hexdigest()


def ensure_node_image(engine: Engine, log: Log = print) -> str:
    """The node image's reference, built (about 3 minutes after the Go builds) only when an input changed."""
    ensure_tools(NODE_IMAGE_TOOLS, log)
    pause = ensure_pause(KUBERNETES, log)
    kind_files = module_source(KIND) / "images" / "base" / "files"
    if engine.image_id(nodeimages.NETWORK_TOOLS_IMAGE) is None:
        engine.import_tar(
            base.ensure_rootfs(base.NETWORK_TOOLS, log), nodeimages.NETWORK_TOOLS_IMAGE, (nodeimages.PATH,)
        )
    refs = nodeimages.kubeadm_images(KUBERNETES.binary("kubeadm"), KUBERNETES.version)
    components = [nodeimages.kubeadm_component(ref, pause) for ref in refs] + nodeimages.addon_components()
    for component in components:
        if engine.ensure_image(component.ref, component.files, component.changes, component.base):
            log(f"made {component.ref}")
    pause_image = nodeimages.pause_ref(refs)
    oci = subprocess.run([str(CONTAINERD.binary("ctr")), "oci", "spec"], capture_output=True, text=True, check=True)
    files = {**_kind_files(kind_files, pause_image, json.loads(oci.stdout)), **_binaries()}
    cni = addons.kube_router(module_source(KUBE_ROUTER), nodeimages.KUBE_ROUTER_IMAGE)
    storage = addons.local_path(module_source(LOCAL_PATH), nodeimages.LOCAL_PATH_IMAGE, nodeimages.NETWORK_TOOLS_IMAGE)
    files["kind/manifests/default-cni.yaml"] = addons.dump(cni).encode()
    files["kind/manifests/default-storage.yaml"] = addons.dump(storage).encode()
    images = [c.ref for c in components] + [nodeimages.NETWORK_TOOLS_IMAGE]
    rootfs = base.ensure_rootfs(base.KIND_NODE, log)
    ids = [f"{ref}={engine.image_id(ref)}" for ref in images]
    ref = f"{REPOSITORY}:{KUBERNETES.version}-{_digest(rootfs, files, ids)[:12]}"
    if engine.image_id(ref) is None:
        began = time.monotonic()
        _assemble(engine, ref, rootfs, files, images)
        log(f"made the kind node image {ref} in {time.monotonic() - began:.0f}s")
        _remove_older(engine, ref)
    return ref


def _remove_older(engine: Engine, keep: str) -> None:
    """Node images of earlier inputs (about 1 GB each) go; one a node still runs stays (docker refuses)."""
    listed = engine.docker("image", "ls", REPOSITORY, "--format", "{{.Repository}}:{{.Tag}}").stdout.decode()
    older = [ref for ref in listed.split() if ref != keep]
    if older:
        engine.docker("image", "rm", *older, check=False)


def _write(tree: Path, files: dict[str, Content]) -> None:
    for target, content in files.items():
        dest = tree / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy2(content, dest)
        else:
            dest.write_bytes(content)
        executable = isinstance(content, Path) and content.stat().st_mode & 0o111
        dest.chmod(0o755 if executable or target.endswith(".sh") or "/bin/" in target else 0o644)


def _systemd(tree: Path) -> None:
    """kind's base image's systemd set-up (images/base/Dockerfile): no units a container does not need."""
    lib = tree / "usr/lib/systemd/system"
    (lib / "sysinit.target.wants/systemd-tmpfiles-setup.service").unlink(missing_ok=True)
    for pattern in ("multi-user.target.wants/*", "local-fs.target.wants/*", "basic.target.wants/*"):
        for link in lib.glob(pattern):
            link.unlink()
    for link in [*lib.glob("sockets.target.wants/*udev*"), *lib.glob("sockets.target.wants/*initctl*")]:
        link.unlink()
    for link in (tree / "etc/systemd/system").glob("*.wants/*"):
        link.unlink()
    with (tree / "etc/systemd/journald.conf").open("a") as journald:
        journald.write("ReadKMsg=no\n")
    (tree / "sbin/init").unlink(missing_ok=True)
    (tree / "sbin/init").symlink_to("/usr/lib/systemd/systemd")
    chroot = ["chroot", str(tree), "systemctl"]
    subprocess.run([*chroot, "enable", *nodefiles.ENABLED_UNITS], check=True, capture_output=True)
    subprocess.run([*chroot, "mask", *nodefiles.MASKED_UNITS], check=True, capture_output=True)
    (tree / "etc/kubernetes/manifests").mkdir(parents=True, exist_ok=True)


def _import_images(engine: Engine, tree: Path, images: list[str], work: Path) -> None:
    """Into the tree's own containerd store, as kind's builder does: pinned (never garbage-collected), not
    unpacked (the node unpacks with the snapshotter it picks). A containerd of the same build runs on this
    machine for the purpose, on the tree's store and sockets of its own."""
    archive = work / "images.tar"
    engine.docker("save", "-o", str(archive), *images)
    sock = work / "containerd.sock"
    config = work / "containerd.toml"
    config.write_text(
        f'version = 2\nroot = "{tree / "var/lib/containerd"}"\nstate = "{work / "state"}"\n'
        f'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", '
        f'"io.containerd.cri.v1.images"]\n[grpc]\n  address = "{sock}"\n[ttrpc]\n  address = "{sock}.ttrpc"\n'
    )
    log_file = work / "containerd.log"
    daemon = processes.spawn([str(CONTAINERD.binary("containerd")), "--config", str(config)], log_file)
    ctr = [str(CONTAINERD.binary("ctr")), "--address", str(sock), "--namespace", "k8s.io"]
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([*ctr, "version"], capture_output=True, check=False).returncode != 0:
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise BuildError(f"containerd for the node image did not start:\n{processes.log_tail(log_file)}")
            time.sleep(0.2)
        argv = [*ctr, "images", "import", "--label=io.cri-containerd.pinned=pinned", "--all-platforms"]
        done = subprocess.run([*argv, "--no-unpack", "--digests", str(archive)], capture_output=True, text=True)
        if done.returncode != 0:
            raise BuildError(f"importing the node's images failed: {done.stderr.strip()}")
    finally:
        daemon.terminate()
        daemon.wait(30)


def _assemble(engine: Engine, ref: str, rootfs: Path, files: dict[str, Content], images: list[str]) -> None:
    root = cache_dir("kind-node", "work")
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        work, tree = Path(tmp), Path(tmp) / "rootfs"
        tree.mkdir()
        subprocess.run(["tar", "-xpf", str(rootfs), "-C", str(tree), "--numeric-owner"], check=True)
        _write(tree, files)
        _systemd(tree)
        _import_images(engine, tree, images, work)
        packer = subprocess.Popen(["tar", "-C", str(tree), "--numeric-owner", "-cf", "-", "."], stdout=subprocess.PIPE)
        try:
            flags = [arg for change in CHANGES for arg in ("--change", change)]
            engine.docker("import", *flags, "-", f"{ref}-tree", stdin=packer.stdout)
        finally:
            if packer.stdout is not None:
                packer.stdout.close()
            packer.wait()
    engine.docker("build", "-t", ref, "-", input=FINISH.format(tree=f"{ref}-tree").encode())
    engine.docker("rmi", f"{ref}-tree")
