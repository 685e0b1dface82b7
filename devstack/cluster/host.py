"""What the container engine and the kind nodes change on the machine, and how `down` takes it back: iptables
chains and rules, bridges, mounts left by a killed daemon, and the global kernel settings the nodes' kubelets
set (vm.overcommit_memory 0->1, kernel.panic 0->10, ...: /proc/sys is the machine's, see files/kind-docker.sh).

The iptables clean-up is computed from `iptables-save` output by pure functions (`cleanup_rules`), so what
`down` deletes can be unit tested: every rule that jumps to a chain dockerd made (DOCKER*), every rule naming one
of its bridges, then those chains.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from devstack.cache import ToolMissing

BUILTIN_CHAINS = {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}
CHAIN_PREFIXES = ("DOCKER",)
# docker0 and the bridges of user-defined networks (kind's "kind" network is one).
BRIDGE = re.compile(r"^(docker0|br-[0-9a-f]{12})$")
# Global (not per network namespace) settings the kubelets of the nodes write; `down` writes the saved values back.
SYSCTLS = (
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.ipv4.ip_forward",
)
# Debian packages, by the program the engine and the image builds run: scripts/install-node.sh installs them all.
PROGRAMS = {
    "/usr/bin/containerd": "containerd",
    "/usr/sbin/dockerd": "docker.io",
    "/usr/bin/docker": "docker.io",
    "/usr/bin/ctr": "containerd",
    "runc": "runc",
    "iptables": "iptables",
    "ip": "iproute2",
    "mmdebstrap": "mmdebstrap",
}


class HostError(RuntimeError):
    """The machine is not in a state the engine can start in; the message names the fix."""


class NotRoot(HostError):
    pass


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise NotRoot(f"{what} must run as root (it starts containerd and dockerd and changes iptables); try sudo")


def require_programs(programs: dict[str, str] = PROGRAMS) -> None:
    missing = sorted({pkg for prog, pkg in programs.items() if not (shutil.which(prog) or Path(prog).exists())})
    if missing:
        raise ToolMissing(f"missing Debian packages: {', '.join(missing)}. Fix: sudo scripts/install-node.sh")


def read_sysctls(names: Iterable[str] = SYSCTLS) -> dict[str, str]:
    values = {}
    for name in names:
        with contextlib.suppress(OSError):
            values[name] = (Path("/proc/sys") / name.replace(".", "/")).read_text().strip()
    return values


def write_sysctls(values: dict[str, str]) -> None:
    for name, value in values.items():
        with contextlib.suppress(OSError):
            (Path("/proc/sys") / name.replace(".", "/")).write_text(value)


def _iptables(family: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([family, "-w", *args], capture_output=True, text=True, check=False)


def forward_policy() -> str:
    for line in _iptables("iptables", "-S", "FORWARD").stdout.splitlines():
        if line.startswith("-P FORWARD "):
            return line.split()[2]
    return "ACCEPT"


def cleanup_rules(save: str, prefixes: tuple[str, ...] = CHAIN_PREFIXES) -> list[list[str]]:
    """iptables argv (without the program) that remove what dockerd added, from `iptables-save` output.

    1. in every chain that is not ours: delete rules that jump to one of ours or name one of the bridges;
    2. flush our chains; 3. delete them. Rules inside our chains go with the flush.
    """
    deletes: list[list[str]] = []
    flushes: list[list[str]] = []
    removals: list[list[str]] = []
    table = "filter"
    for line in save.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":"):
            chain = line[1:].split()[0]
            if chain.startswith(prefixes) and chain not in BUILTIN_CHAINS:
                flushes.append(["-t", table, "-F", chain])
                removals.append(["-t", table, "-X", chain])
        elif line.startswith("-A "):
            words = shlex.split(line)
            if words[1].startswith(prefixes):
                continue
            target = words[words.index("-j") + 1] if "-j" in words else ""
            if target.startswith(prefixes) or any(BRIDGE.match(word) for word in words):
                deletes.append(["-t", table, "-D", *words[1:]])
    return deletes + flushes + removals


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


def _links() -> list[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]


def clean_machine(roots: Sequence[Path], sysctls: dict[str, str], forward: str) -> None:
    """After the daemons stopped: mounts they left under `roots` (image stores; network namespaces under the state
    dir, which outlive a killed dockerd and keep its veths), their iptables rules and chains, bridges, kernel
    settings."""
    for point in mounts_under(roots, Path("/proc/self/mountinfo").read_text()):
        if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    for family in ("iptables", "ip6tables"):
        save = subprocess.run([f"{family}-save"], capture_output=True, text=True, check=False).stdout
        for args in cleanup_rules(save):
            _iptables(family, *args)
    if forward:
        _iptables("iptables", "-P", "FORWARD", forward)
    for link in _links():
        if BRIDGE.match(link):
            subprocess.run(["ip", "link", "delete", link], capture_output=True, check=False)
    write_sysctls(sysctls)


def leftovers(roots: Sequence[Path], sysctls: dict[str, str]) -> list[str]:
    """What a stopped engine left on the machine (empty when `down` took everything back)."""
    found = [f"mount {point}" for point in mounts_under(roots, Path("/proc/self/mountinfo").read_text())]
    found += [f"link {name}" for name in _links() if BRIDGE.match(name) or name.startswith("veth")]
    for family in ("iptables", "ip6tables"):
        save = subprocess.run([f"{family}-save"], capture_output=True, text=True, check=False).stdout
        found += [f"{family} {' '.join(args)}" for args in cleanup_rules(save) if args[2] == "-X"]
    current = read_sysctls(sysctls)
    found += [
        f"sysctl {name}={current.get(name)} (was {value})"
        for name, value in sysctls.items()
        if current.get(name) != value
    ]
    return found
