"""`orderflow k8s build|up|down|env|status|images|install`: the local Kubernetes from the command line.

Two modes. The default is the bare control plane (etcd + kube-apiserver on free 127.0.0.1 ports, no nodes,
no root) for fast chart tests. `--node` is a real single-node cluster (root; see devstack/cluster/node.py)
in .orderflow/node: pods run, `helm install` deploys the platform, `images` builds and loads its images.
"""

from __future__ import annotations

import os
import shlex
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import httpx
import typer
from rich.console import Console

from devstack.cache import ToolMissing
from devstack.cluster import controlplane, node
from devstack.cluster.build import (
    ALL_TOOLS,
    CONTROL_PLANE_TOOLS,
    NODE_TOOLS,
    BuildError,
    ensure_pause,
    ensure_tools,
)
from devstack.cluster.crds import CrdError
from devstack.cluster.host import NotRoot
from devstack.images.engine import ImageError
from devstack.maven import MavenError
from orderflow.localstate import local_state_dir

app = typer.Typer(
    help="A local Kubernetes: the bare API (etcd + kube-apiserver, no root) or, with --node, a real single node.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir", help="Certificates, etcd data, logs and state [default: .orderflow/k8s, .orderflow/node]"
    ),
]
NodeFlag = Annotated[bool, typer.Option("--node", help="The real single-node cluster (root) instead of the bare API")]
_FAILURES = (ToolMissing, BuildError, controlplane.ClusterError, CrdError, MavenError, NotRoot, ImageError)


def _state_dir(state_dir: Path | None, on_node: bool = False) -> Path:
    return (state_dir or local_state_dir() / ("node" if on_node else "k8s")).resolve()


def _export(kubeconfig: Path) -> str:
    return f"export KUBECONFIG={shlex.quote(str(kubeconfig))}"


def _running(state_dir: Path) -> controlplane.ControlPlane | None:
    plane = controlplane.load(state_dir)
    return plane if plane is not None and plane.running() else None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _fail(error: Exception) -> typer.Exit:
    # One clear line first; a log tail, when the error carries one, follows it.
    err.print(f"error: {error}", markup=False, highlight=False)
    return typer.Exit(1)


def _node_dir(state_dir: Path | None) -> Path:
    """An explicit --state-dir, else the running node's (from any folder), else .orderflow/node."""
    if state_dir is not None:
        return state_dir.resolve()
    current = node.running_node()
    return current.state_dir if current is not None else _state_dir(None, True)


@app.command()
def build(
    on_node: NodeFlag = False,
    every: Annotated[bool, typer.Option("--all", help="Also the optional registry")] = False,
) -> None:
    """Build the pinned Go tools once (as `up` would) into ~/.cache/orderflow; print where they are."""
    tools = ALL_TOOLS if every else NODE_TOOLS if on_node else CONTROL_PLANE_TOOLS
    try:
        ensure_tools(tools, log=lambda line: console.print(line))
        if on_node or every:
            typer.echo(ensure_pause(log=lambda line: console.print(line)))
    except _FAILURES as error:
        raise _fail(error) from error
    for tool in tools:
        for name in tool.packages:
            typer.echo(tool.binary(name))


@app.command()
def up(
    state_dir: StateDir = None,
    on_node: NodeFlag = False,
    registry: Annotated[bool, typer.Option(help="With --node: also a local registry on 127.0.0.1:5000")] = False,
    detach: Annotated[bool, typer.Option(help="Leave it running in the background and return")] = False,
    strimzi: Annotated[bool, typer.Option(help="Install Strimzi's CRDs (bare mode)")] = True,
) -> None:
    """Build (first time only), start, wait until ready. Ctrl-C stops it again unless --detach."""
    if on_node:
        _up_node(_state_dir(state_dir, True), registry, detach)
        return
    directory = _state_dir(state_dir)
    if (plane := _running(directory)) is not None:
        console.print(f"Already running at [bold]{plane.server}[/] (stop it with `orderflow k8s down`).")
        console.print(f"  {_export(plane.kubeconfig)}")
        return
    # Ctrl-C, `kill` and a closed terminal all stop the cluster: the children run in their own session, so
    # only this process hears them. SIGINT is set explicitly because a shell's `&` may have ignored it.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        plane = controlplane.start(directory, install_strimzi=strimzi, log=lambda line: console.print(line))
    except _FAILURES as error:
        raise _fail(error) from error
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    console.print(f"Kubernetes {plane.version} API ready at [bold]{plane.server}[/], {len(plane.crds)} CRDs")
    console.print(f"  {_export(plane.kubeconfig)}")
    if detach:
        console.print(f"  logs: {directory / 'logs'}; stop with `orderflow k8s down`")
        return
    console.print("Press Ctrl-C to stop.")
    try:
        while (dead := plane.dead_component()) is None:
            time.sleep(1)
        err.print(f"{dead} exited; see {plane.components[dead].log_file}", markup=False)
    except KeyboardInterrupt:
        pass
    finally:
        plane.stop()
        console.print("Control plane stopped.")


def _up_node(directory: Path, registry: bool, detach: bool) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    started = time.monotonic()
    try:
        current = node.load(directory)
        if current is not None and current.running():
            console.print(f"Already running: node {current.net.node_name} at {current.server}; checking it")
        the_node = node.start(directory, registry=registry, log=lambda line: console.print(line))
    except _FAILURES as error:
        raise _fail(error) from error
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    console.print(
        f"Node {the_node.net.node_name} Ready at [bold]{the_node.server}[/] in {time.monotonic() - started:.1f}s"
    )
    console.print(f'  {_export(the_node.kubeconfig)}   (all of it: eval "$(orderflow k8s env)")')
    if detach:
        console.print(f"  logs: {directory / 'logs'}; stop with `orderflow k8s down`")
        return
    console.print("Press Ctrl-C to stop.")
    try:
        while (dead := the_node.dead_component()) is None:
            time.sleep(1)
        err.print(f"{dead} exited; see {the_node.components[dead].log_file}", markup=False)
    except KeyboardInterrupt:
        pass
    finally:
        the_node.stop(log=lambda line: console.print(line))
        console.print("Node stopped.")


@app.command()
def down(
    state_dir: StateDir = None,
    purge: Annotated[bool, typer.Option(help="Also delete the state dir (etcd data, certificates)")] = False,
) -> None:
    """Stop what runs (the node, the bare control plane) and remove what the node added to the machine."""
    import shutil

    stopped = False
    node_dir = _node_dir(state_dir)
    if node.load(node_dir) is not None:
        try:
            started = time.monotonic()
            node.stop(node_dir, log=lambda line: console.print(line))
            console.print(f"Node stopped and the machine cleaned up in {time.monotonic() - started:.1f}s.")
            stopped = True
        except NotRoot as error:
            raise _fail(error) from error
    bare = state_dir.resolve() if state_dir else _state_dir(None)
    if controlplane.stop(bare):
        console.print("Control plane stopped.")
        stopped = True
    if purge:
        for directory in {node_dir, bare}:
            if directory.exists():
                shutil.rmtree(directory, ignore_errors=True)
                console.print(f"Deleted {directory}.")
    if not stopped:
        console.print("Nothing was running.")


@app.command()
def env(state_dir: StateDir = None) -> None:
    """Print the exports for `eval "$(orderflow k8s env)"`: the node's (KUBECONFIG, DOCKER_HOST, ...) or the API's."""
    the_node = node.load(_node_dir(state_dir))
    if the_node is not None and the_node.running():
        for name, value in the_node.env().items():
            typer.echo(f"export {name}={value if name == 'PATH' else shlex.quote(value)}")
        return
    plane = _running(_state_dir(state_dir))
    if plane is None:
        err.print("Nothing is running (start it with `orderflow k8s up --detach` or `up --node --detach`).")
        raise typer.Exit(1)
    typer.echo(_export(plane.kubeconfig))


@app.command()
def status(state_dir: StateDir = None) -> None:
    """Show each component and whether it answers; exit 1 when something recorded is not healthy."""
    healthy, found = True, False
    the_node = node.load(_node_dir(state_dir))
    if the_node is not None:
        found = True
        console.print(
            f"node {the_node.net.node_name} at {the_node.server} (started {the_node.started_at}, {the_node.state_dir}):"
        )
        for name, state in the_node.status().items():
            component = the_node.components.get(name)
            where = f" pid {component.pid}, log {component.log_file}" if component else ""
            console.print(f"  {name}: {state}{where}", markup=False)
            healthy &= state.startswith("running") or state in ("Ready", "ready")
        console.print(f"  {_export(the_node.kubeconfig)}")
    plane = controlplane.load(_state_dir(state_dir))
    if plane is not None:
        found = True
        for name, component in plane.components.items():
            state = "running" if component.alive() else "gone"
            console.print(
                f"{name}: pid {component.pid} {state}, ports {component.ports}, log {component.log_file}", markup=False
            )
        try:
            with plane.access.client(timeout=5) as client:
                ready = client.get("/readyz").text
        except httpx.HTTPError as error:
            ready = f"no answer ({error})"
        console.print(f"{plane.server} (Kubernetes {plane.version}, started {plane.started_at}): /readyz {ready}")
        console.print(f"  {_export(plane.kubeconfig)}")
        healthy &= ready == "ok"
    if not found:
        console.print("Nothing is running (start it with `orderflow k8s up` or `orderflow k8s up --node`).")
        raise typer.Exit(1)
    if not healthy:
        raise typer.Exit(1)


def require_node(state_dir: Path | None) -> node.Node:
    the_node = node.load(_node_dir(state_dir))
    if the_node is None or not the_node.running():
        err.print("The node is not running (start it with `orderflow k8s up --node --detach`).")
        raise typer.Exit(1)
    return the_node


@app.command()
def images(
    state_dir: StateDir = None,
    tag: Annotated[str, typer.Option(help="Tag of the four images")] = "local",
    load: Annotated[bool, typer.Option(help="Load them into the node's containerd")] = True,
) -> None:
    """Build orderflow-orders, -inventory, -payments and -operator with the real Dockerfiles (BuildKit, local
    Debian base) and load whatever changed into the node."""
    from devstack.images import app_images

    the_node = require_node(state_dir)
    try:
        built = app_images.build_all(
            the_node.engine, tag, log=lambda line: console.print(line), logs=the_node.layout.logs
        )
        if load:
            started = time.monotonic()
            loaded = the_node.engine.load(built)
            console.print(
                f"loaded into the node: {', '.join(loaded) or 'nothing changed'} ({time.monotonic() - started:.1f}s)"
            )
    except _FAILURES as error:
        raise _fail(error) from error


@app.command()
def install(
    state_dir: StateDir = None,
    tag: Annotated[str, typer.Option(help="Image tag (built by `orderflow k8s images`)")] = "local",
    namespace: Annotated[str, typer.Option(help="Namespace of the platform")] = "orderflow",
    release: Annotated[str, typer.Option(help="Helm release name")] = "orderflow",
    test: Annotated[bool, typer.Option(help="Run `helm test` afterwards")] = True,
    observability: Annotated[
        bool, typer.Option(help="Also the chart's Jaeger and Prometheus (k8s/observability-values.yaml)")
    ] = False,
) -> None:
    """The whole platform on the node: images, Kafka on the node IP, both charts, topics; then `helm test`."""
    from devstack.cluster import platform

    the_node = require_node(state_dir)
    try:
        installed = platform.install(
            the_node,
            namespace=namespace,
            release=release,
            tag=tag,
            observability=observability,
            log=lambda line: console.print(line),
        )
        if test:
            console.print(platform.helm_test(the_node, installed), markup=False)
    except (*_FAILURES, platform.InstallError) as error:
        raise _fail(error) from error


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def skaffold(
    ctx: typer.Context,
    state_dir: StateDir = None,
    namespace: Annotated[str, typer.Option(help="Namespace the profile deploys to")] = "orderflow",
) -> None:
    """Run skaffold (dev, run, build, delete, ...) on the node with the `node` profile: images pushed to the node's
    registry, both charts deployed with k8s/local-values.yaml. Arguments after the options go to skaffold."""
    from devstack.cluster import skaffold as local_skaffold
    from devstack.cluster.platform import InstallError

    the_node = require_node(state_dir)
    try:
        env = local_skaffold.prepare(the_node, namespace, log=lambda line: console.print(line))
    except (*_FAILURES, InstallError) as error:
        raise _fail(error) from error
    argv = local_skaffold.argv(ctx.args)
    console.print(f"$ {shlex.join(argv)}", markup=False, highlight=False)
    os.execve(argv[0], argv, env)  # skaffold owns the terminal from here: Ctrl-C reaches it, its exit code is ours
