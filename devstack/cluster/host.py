"""What a node changes on the machine, and how `down` takes it back: iptables, links, mounts, sysctls, paths.

The iptables clean-up is computed from `iptables-save` output by pure functions (`cleanup_rules`), so what
`down` deletes can be unit tested: every rule that jumps to a chain the node or its daemons made (ORDERFLOW-*,
CNI-*, KUBE-*, and DOCKER* when no other dockerd runs on the machine), every rule naming cni0/docker0, then
those chains.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from devstack.cache import ToolMissing
from devstack.cluster.nodeconfig import CNI_BIN_DIR, RUNC, SYSCTLS, parse_route

BUILTIN_CHAINS = {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}
SERVICES_CHAIN = "ORDERFLOW-SERVICES"
OUR_LINKS = ("cni0", "docker0")
SYSTEM_DOCKER_SOCK = Path("/var/run/docker.sock")
SYSTEM_CONTAINERD_SOCK = Path("/run/containerd/containerd.sock")

# Debian packages, by the program the node runs: scripts/install-node.sh installs them all.
PROGRAMS = {
    "/usr/bin/containerd": "containerd",
    "/usr/sbin/dockerd": "docker.io",
    "/usr/bin/docker": "docker.io",
    "/usr/bin/ctr": "containerd",
    RUNC: "runc",
    f"{CNI_BIN_DIR}/bridge": "containernetworking-plugins",
    "iptables": "iptables",
    "ip": "iproute2",
    "openssl": "openssl",
}


class NotRoot(RuntimeError):
    pass


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise NotRoot(f"{what} must run as root (it starts containerd and the kubelet and changes iptables); try sudo")


def require_programs(programs: dict[str, str] = PROGRAMS) -> None:
    missing = sorted({pkg for prog, pkg in programs.items() if not (shutil.which(prog) or Path(prog).exists())})
    if missing:
        raise ToolMissing(f"missing Debian packages: {', '.join(missing)}. Fix: sudo scripts/install-node.sh")


def default_route() -> tuple[str, str]:
    """(node IP, device): the source address of the default route (a route lookup only, no packet is sent)."""
    out = subprocess.run(["ip", "-4", "route", "get", "1.1.1.1"], capture_output=True, text=True, check=False)
    return parse_route(out.stdout)


def mtu(device: str) -> int:
    try:
        return int(Path(f"/sys/class/net/{device}/mtu").read_text())
    except (OSError, ValueError):
        return 1500


def node_name() -> str:
    return os.uname().nodename.lower().split(".")[0]


# -- sysctls -----------------------------------------------------------------------------------------------------


def read_sysctls(names: Iterable[str] = SYSCTLS) -> dict[str, str]:
    values = {}
    for name in names:
        path = Path("/proc/sys") / name.replace(".", "/")
        with contextlib.suppress(OSError):
            values[name] = path.read_text().strip()
    return values


def write_sysctls(values: dict[str, str]) -> None:
    for name, value in values.items():
        with contextlib.suppress(OSError):
            (Path("/proc/sys") / name.replace(".", "/")).write_text(value)


# -- iptables ----------------------------------------------------------------------------------------------------


def _iptables(family: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([family, "-w", *args], capture_output=True, text=True, check=False)


def _ensure(*rule: str) -> None:
    """Insert `rule` (chain first) at the top of its chain unless it is there already."""
    if _iptables("iptables", "-C", *rule).returncode != 0:
        _iptables("iptables", "-I", *rule)


def route_pod_traffic(service_cidr: str) -> None:
    """dockerd sets the FORWARD policy to DROP: without the ACCEPTs, pod -> ClusterIP -> pod times out.

    A connection to a ClusterIP that kube-proxy has not programmed yet (a Service created a moment ago) is not
    DNATed and leaves by the default route, where this machine's egress answers every address and port with
    HTTP 404. A gRPC client that connected in that moment (the collector to Jaeger) keeps that connection and
    drops every batch as permanently refused. Rejected instead, the connect fails and the client retries."""
    for direction in ("-i", "-o"):
        _ensure("DOCKER-USER", direction, "cni0", "-j", "ACCEPT")
    if _iptables("iptables", "-L", SERVICES_CHAIN, "-n").returncode != 0:
        _iptables("iptables", "-N", SERVICES_CHAIN)
        _iptables("iptables", "-A", SERVICES_CHAIN, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset")
        _iptables("iptables", "-A", SERVICES_CHAIN, "-j", "REJECT")
    # filter runs after nat: what still has a ClusterIP destination here was not DNATed to a pod. Pods' traffic
    # meets DOCKER-USER first in FORWARD, so the check goes above its ACCEPT; the host's own goes out by OUTPUT.
    for chain in ("DOCKER-USER", "OUTPUT"):
        _ensure(chain, "-d", service_cidr, "-j", SERVICES_CHAIN)


def forward_policy() -> str:
    out = _iptables("iptables", "-S", "FORWARD").stdout
    for line in out.splitlines():
        if line.startswith("-P FORWARD "):
            return line.split()[2]
    return "ACCEPT"


def cleanup_rules(save: str, prefixes: tuple[str, ...], links: tuple[str, ...]) -> list[list[str]]:
    """iptables argv (without the program) that remove what the node added, from `iptables-save` output.

    1. in every chain that is not ours: delete rules that jump to one of ours or name one of our links;
    2. flush our chains; 3. delete them. Rules inside our chains go with the flush.
    """
    deletes: list[list[str]] = []
    flushes: list[list[str]] = []
    removals: list[list[str]] = []
    table = "filter"

    def ours(chain: str) -> bool:
        return chain.startswith(prefixes)

    for line in save.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":"):
            chain = line[1:].split()[0]
            if ours(chain) and chain not in BUILTIN_CHAINS:
                flushes.append(["-t", table, "-F", chain])
                removals.append(["-t", table, "-X", chain])
        elif line.startswith("-A "):
            words = shlex.split(line)
            chain = words[1]
            if ours(chain):
                continue
            target = words[words.index("-j") + 1] if "-j" in words else ""
            named_link = any(w in links for w in words)
            if ours(target) or named_link:
                deletes.append(["-t", table, "-D", *words[1:]])
    return deletes + flushes + removals


def _chain_prefixes(keep_docker: bool) -> tuple[str, ...]:
    """The chains the node and its daemons made; DOCKER* stays to a dockerd of the machine's own."""
    ours = ("ORDERFLOW-", "CNI-", "KUBE-")
    return ours if keep_docker else (*ours, "DOCKER")


def remove_iptables(keep_docker: bool) -> None:
    prefixes = _chain_prefixes(keep_docker)
    for family in ("iptables", "ip6tables"):
        save = subprocess.run([f"{family}-save"], capture_output=True, text=True, check=False).stdout
        links = ("cni0",) if keep_docker else OUR_LINKS
        for args in cleanup_rules(save, prefixes, links):
            _iptables(family, *args)


def set_forward_policy(policy: str) -> None:
    _iptables("iptables", "-P", "FORWARD", policy)


# -- links, mounts, namespaces, paths ----------------------------------------------------------------------------


def mounts_under(roots: Iterable[Path], mountinfo: str) -> list[str]:
    """Mount points below any of `roots`, deepest first, from /proc/self/mountinfo's text."""
    prefixes = [str(root).rstrip("/") + "/" for root in roots]
    points = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4:
            point = fields[4].encode().decode("unicode_escape")
            if any(point.startswith(prefix) for prefix in prefixes):
                points.append(point)
    return sorted(set(points), key=lambda p: (-p.count("/"), p))


def unmount_all(roots: Iterable[Path]) -> None:
    for point in mounts_under(roots, Path("/proc/self/mountinfo").read_text()):
        if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def remove_netns() -> None:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith("cni-"):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def remove_links(keep_docker: bool) -> None:
    for link in OUR_LINKS:
        if link == "docker0" and keep_docker:
            continue
        if Path(f"/sys/class/net/{link}").exists():
            subprocess.run(["ip", "link", "delete", link], capture_output=True, check=False)


def remove_host_paths(state: Path) -> None:
    """Files the daemons put at hard-coded host paths despite --root-dir and podLogsDir."""
    containers = Path("/var/log/containers")
    if containers.is_dir():
        for link in containers.iterdir():
            with contextlib.suppress(OSError):
                if link.is_symlink() and os.readlink(link).startswith(str(state)):
                    link.unlink()
    Path("/var/lib/kubelet/device-plugins/kubelet.sock").unlink(missing_ok=True)
    for results in Path("/var/lib/cni/results").glob("orderflow-*"):
        results.unlink(missing_ok=True)
    empty = ["/var/lib/kubelet/device-plugins", "/var/lib/kubelet", "/var/lib/cni/results", "/var/lib/cni"]
    if not SYSTEM_CONTAINERD_SOCK.exists():  # no containerd of the machine: the shim sockets and runc root are ours
        # What a node killed before it could tear its pods down leaves (our daemons are stopped by now): the
        # loopback plugin's results, the shims' sockets and runc's container states.
        for results in Path("/var/lib/cni/results").glob("cni-loopback-*"):
            results.unlink(missing_ok=True)
        for stale in ("/run/containerd/s", "/run/containerd/runc/k8s.io", "/run/containerd/runc/moby"):
            shutil.rmtree(stale, ignore_errors=True)
        empty += [
            "/run/containerd/s",
            "/run/containerd/runc/k8s.io",
            "/run/containerd/runc/moby",
            "/run/containerd/runc",
            "/run/containerd/io.containerd.runtime.v2.task",
            "/run/containerd",
        ]
    if not SYSTEM_DOCKER_SOCK.exists():
        empty += ["/run/docker/plugins", "/run/docker"]
    for directory in empty:
        with contextlib.suppress(OSError):
            Path(directory).rmdir()


def system_docker_running() -> bool:
    """A dockerd of the machine (not ours) owns the DOCKER chains and docker0: leave them alone then."""
    return SYSTEM_DOCKER_SOCK.is_socket()


def leftovers(roots: Iterable[Path], sysctls: dict[str, str], keep_docker: bool = False) -> list[str]:
    """What a stopped node left on the machine (empty when `down` took everything back)."""
    roots = list(roots)
    found = [f"mount {point}" for point in mounts_under(roots, Path("/proc/self/mountinfo").read_text())]
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout.split()
    found += [f"network namespace {name}" for name in netns if name.startswith("cni-")]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False).stdout
    for line in links.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if name in ("cni0", "veth") or name.startswith("veth") or (name == "docker0" and not keep_docker):
            found.append(f"link {name}")
    prefixes = _chain_prefixes(keep_docker)
    for family in ("iptables", "ip6tables"):
        save = subprocess.run([f"{family}-save"], capture_output=True, text=True, check=False).stdout
        found += [f"{family} {' '.join(args)}" for args in cleanup_rules(save, prefixes, ("cni0",)) if args[2] == "-X"]
    current = read_sysctls(sysctls)
    found += [
        f"sysctl {name}={current.get(name)} (was {value})"
        for name, value in sysctls.items()
        if current.get(name) != value
    ]
    for path in ("/var/lib/kubelet", "/var/lib/cni"):
        if Path(path).exists():
            found.append(f"path {path}")
    if not SYSTEM_CONTAINERD_SOCK.exists() and Path("/run/containerd").exists():
        found.append("path /run/containerd")
    return found
