"""The machine's container engine under the kind cluster and the image builds: Debian's containerd and dockerd,
started by pid (there is no systemd here) through the daemon runner, with sockets and configuration of their own.

One engine per machine: its bridges and iptables chains are machine-wide. `/run/orderflow-engine.json` names the
state dir of the one that runs, so every orderflow process (and the test tier) finds it. Image stores live in
~/.cache/orderflow/engine-store, so builds and the kind node image survive `down`. `stop` takes back what the
daemons and the kind nodes changed on the machine: iptables chains and rules, bridges, and the kernel settings
the nodes' kubelets set (host.py).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from devstack.cache import cache_dir
from devstack.cluster import host
from devstack.cluster.daemons import Daemon, Runner
from devstack.cluster.tools import BUILDX
from devstack.images.engine import Engine

MARKER = Path("/run/orderflow-engine.json")
SETTINGS = "engine.json"
Log = Callable[[str], None]


@dataclass(frozen=True)
class Layout:
    """Where the engine keeps its files: `state` (sockets, configuration, logs, pids), `store` (image stores)."""

    state: Path
    store: Path

    @property
    def run(self) -> Path:
        return self.state / "run"

    @property
    def containerd_sock(self) -> Path:
        return self.run / "containerd" / "containerd.sock"

    @property
    def docker_sock(self) -> Path:
        return self.run / "docker.sock"

    @property
    def docker_config(self) -> Path:
        """DOCKER_CONFIG of the CLI: the buildx and compose plugins, so ~/.docker is never touched."""
        return self.state / "docker-config"

    @property
    def engine(self) -> Engine:
        return Engine(self.docker_sock, self.docker_config, self.containerd_sock)


def default_store() -> Path:
    return cache_dir("engine", "store")


def containerd_config(layout: Layout) -> str:
    # Only dockerd's runtime: Kubernetes runs in the kind nodes' own containerd, so the CRI plugin stays off.
    return f"""version = 2
root = "{layout.store / "containerd"}"
state = "{layout.run / "containerd" / "state"}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{layout.containerd_sock}"
[ttrpc]
  address = "{layout.containerd_sock}.ttrpc"
[debug]
  address = "{layout.run / "containerd" / "debug.sock"}"
[metrics]
  address = ""
"""


def daemons(layout: Layout) -> list[Daemon]:
    config = layout.state / "config"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "CONTAINERD_", "BUILDKIT_"))}
    dockerd = [
        "/usr/sbin/dockerd",
        *("--config-file", str(config / "docker.json")),
        *("--containerd", str(layout.containerd_sock)),
        *("--data-root", str(layout.store / "docker")),
        *("--exec-root", str(layout.run / "docker")),
        *("--pidfile", str(layout.run / "docker" / "dockerd.pid")),
        *("-H", f"unix://{layout.docker_sock}"),
    ]
    engine = layout.engine
    return [
        Daemon(
            "containerd",
            ["/usr/bin/containerd", "--config", str(config / "containerd.toml")],
            lambda: engine.ctr("version", check=False).returncode == 0,
            30,
            env=env,
        ),
        Daemon("dockerd", dockerd, lambda: _ping(layout.docker_sock), 60, env=env),
    ]


def _ping(sock: Path) -> bool:
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), timeout=3, trust_env=False) as client:
        return client.get("http://docker/_ping").text == "OK"


def _write_configs(layout: Layout) -> None:
    config = layout.state / "config"
    for directory in (config, layout.run / "containerd", layout.run / "docker", layout.docker_config / "cli-plugins"):
        directory.mkdir(parents=True, exist_ok=True)
    (config / "containerd.toml").write_text(containerd_config(layout))
    daemon = {"features": {"buildkit": True}, "log-driver": "json-file", "storage-driver": "overlay2"}
    (config / "docker.json").write_text(json.dumps(daemon))
    plugin = layout.docker_config / "cli-plugins" / "docker-buildx"
    if not plugin.is_symlink():
        plugin.unlink(missing_ok=True)
        plugin.symlink_to(BUILDX.binary("docker-buildx"))
    # What `docker buildx install` writes: Debian's CLI (20.10) routes `docker build` to buildx only through this
    # alias, and tools that run `docker build --load` (skaffold with useBuildkit) need buildx's flags.
    (layout.docker_config / "config.json").write_text(json.dumps({"aliases": {"builder": "buildx"}}))


def load(state_dir: Path) -> Layout | None:
    try:
        store = json.loads((state_dir / SETTINGS).read_text())["store"]
    except (OSError, ValueError, KeyError):
        return None
    return Layout(state_dir, Path(store))


def marked() -> Layout | None:
    """The engine the machine's marker names, running or not (a killed one leaves the marker behind)."""
    try:
        state = Path(json.loads(MARKER.read_text())["state"])
    except (OSError, ValueError, KeyError):
        return None
    return load(state)


def running() -> Layout | None:
    """The engine of this machine, if its daemons run (from any state dir)."""
    layout = marked()
    return layout if layout is not None and Runner.load(layout.state).running() else None


def start(state_dir: Path, store: Path | None = None, log: Log = print) -> Layout:
    """containerd, then dockerd; both ready. The machine's kernel settings are saved first, for `stop`."""
    host.require_root("orderflow k8s up")
    host.require_programs()
    current = marked()
    if current is not None and current.state != state_dir.resolve():
        if Runner.load(current.state).running():
            raise host.HostError(
                f"an engine from {current.state} already runs on this machine; "
                f"stop it with `orderflow k8s down --state-dir {current.state}`"
            )
        # Killed without `down`: its namespaces, veths, iptables chains and kernel settings are still here.
        log(f"cleaning up after the engine of {current.state}, which was stopped without `orderflow k8s down`")
        stop(current, log)
    layout = load(state_dir) or Layout(state_dir.resolve(), (store or default_store()).resolve())
    _write_configs(layout)
    settings = layout.state / SETTINGS
    if not settings.exists():
        saved = {"store": str(layout.store), "sysctls": host.read_sysctls(), "forward": host.forward_policy()}
        settings.write_text(json.dumps(saved, indent=2))
    MARKER.write_text(json.dumps({"state": str(layout.state)}))
    began = time.monotonic()
    Runner.load(layout.state).start(daemons(layout), log)
    log(f"container engine ready in {time.monotonic() - began:.1f}s (DOCKER_HOST=unix://{layout.docker_sock})")
    remove_orphans(layout.engine, log)
    return layout


def remove_orphans(engine: Engine, log: Log = print) -> None:
    """Remove the containers whose networks are gone, which no `docker start` can run again.

    An engine killed without `down` keeps its containers in the shared store, while `stop` drops the network
    store: kind would otherwise find the nodes of such a cluster and fail to start them."""
    ids = engine.docker("ps", "-aq").stdout.decode().split()
    if not ids:
        return
    # A container that ran names its networks by ID, one never started by name only.
    listed = engine.docker("network", "ls", "--no-trunc", "--format", "{{.ID}} {{.Name}}").stdout.decode().split()
    orphans = []
    for container in json.loads(engine.docker("inspect", *ids).stdout):
        attached = container["NetworkSettings"]["Networks"] or {}
        if any((link.get("NetworkID") or name) not in listed for name, link in attached.items()):
            orphans.append(container["Name"].lstrip("/"))
    if orphans:
        engine.docker("rm", "-f", "-v", *orphans)
        log(
            f"removed {len(orphans)} containers whose networks are gone ({', '.join(orphans)}): left by an engine "
            "stopped without `orderflow k8s down`"
        )


def stop(layout: Layout, log: Log = print) -> bool:
    """Every container first (the kind nodes), then dockerd and containerd; then the machine is cleaned up."""
    host.require_root("orderflow k8s down")
    runner = Runner.load(layout.state)
    if runner.alive("dockerd"):
        engine = layout.engine
        ids = engine.docker("ps", "-aq", check=False).stdout.decode().split()
        if ids:
            engine.docker("rm", "-f", "-v", *ids, check=False)
    stopped = runner.stop()
    # No container is left to use a network: kind and compose make theirs again. A network store last written by
    # an engine killed mid-change makes dockerd 20.10 panic at its next start (libnetwork's reservePools).
    (layout.store / "docker" / "network" / "files" / "local-kv.db").unlink(missing_ok=True)
    try:
        saved = json.loads((layout.state / SETTINGS).read_text())
    except (OSError, ValueError):
        saved = {}
    host.clean_machine([layout.state, layout.store], saved.get("sysctls", {}), saved.get("forward", ""))
    (layout.state / SETTINGS).unlink(missing_ok=True)
    if MARKER.exists() and json.loads(MARKER.read_text()).get("state") == str(layout.state):
        MARKER.unlink(missing_ok=True)
    log("container engine stopped and the machine cleaned up")
    return stopped
