"""`orderflow k8s build|up|down|env|status|images|install|skaffold`: the local kind cluster from the command line.

`up` makes (or reuses) a kind cluster of one control plane and two workers from the project's node image, on the
machine's own container engine (root; devstack/cluster/cluster.py), and returns once every node is Ready.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from devstack.cache import ToolMissing
from devstack.cluster import cluster as local
from devstack.cluster import dockerd, kind
from devstack.cluster.build import BuildError, ensure_tools
from devstack.cluster.crds import CrdError
from devstack.cluster.daemons import DaemonError, Runner
from devstack.cluster.host import HostError
from devstack.cluster.tools import CLUSTER_TOOLS
from devstack.images.engine import ImageError
from devstack.maven import MavenError
from orderflow.localstate import local_state_dir

app = typer.Typer(help="The local Kubernetes: a kind cluster from the project's own node image.", no_args_is_help=True)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

StateDir = Annotated[
    Path | None,
    typer.Option("--state-dir", help="The engine's sockets, logs and the kubeconfig [default: .orderflow/cluster]"),
]
FAILURES = (
    ToolMissing,
    BuildError,
    HostError,
    DaemonError,
    ImageError,
    kind.KindError,
    local.ClusterError,
    CrdError,
    MavenError,
)


def _fail(error: Exception) -> typer.Exit:
    # One clear line first; a log tail, when the error carries one, follows it.
    err.print(f"error: {error}", markup=False, highlight=False)
    return typer.Exit(1)


def _state_dir(state_dir: Path | None) -> Path:
    """An explicit --state-dir, else the running engine's (from any folder), else .orderflow/cluster."""
    if state_dir is not None:
        return state_dir.resolve()
    current = dockerd.running()
    return current.state if current is not None else (local_state_dir() / "cluster").resolve()


def require_cluster(state_dir: Path | None) -> local.Cluster:
    found = local.load(_state_dir(state_dir))
    if found is None or not found.running():
        err.print("The cluster is not running (start it with `orderflow k8s up`).")
        raise typer.Exit(1)
    return found


@app.command()
def build() -> None:
    """Build the pinned Go tools once (as `up` would) into ~/.cache/orderflow; print where they are."""
    try:
        ensure_tools(CLUSTER_TOOLS, log=lambda line: console.print(line))
    except FAILURES as error:
        raise _fail(error) from error
    for tool in CLUSTER_TOOLS:
        for name in tool.packages:
            typer.echo(tool.binary(name))


@app.command()
def up(
    state_dir: StateDir = None,
    workers: Annotated[int, typer.Option(min=0, help="Worker nodes besides the control plane")] = 2,
    single_node: Annotated[bool, typer.Option("--single-node", help="The control plane alone (workers 0)")] = False,
    strimzi: Annotated[bool, typer.Option(help="The Strimzi stand-in, for the chart's default Kafka path")] = True,
) -> None:
    """Make (first time: build) or reuse the kind cluster; return once every node is Ready (and the Strimzi
    stand-in runs)."""
    from devstack.cluster.platform import ensure_standin

    began = time.monotonic()
    log = lambda line: console.print(line)  # noqa: E731
    try:
        made = local.up(_state_dir(state_dir), 0 if single_node else workers, log=log)
        if strimzi:
            ensure_standin(made, log)
    except FAILURES as error:
        raise _fail(error) from error

    console.print(f"kind cluster [bold]{made.name}[/] ready in {time.monotonic() - began:.0f}s")
    console.print(f'  export KUBECONFIG={shlex.quote(str(made.kubeconfig))}   (all of it: eval "$(orderflow k8s env)")')


@app.command()
def down(
    state_dir: StateDir = None,
    purge: Annotated[bool, typer.Option(help="Also delete the state dir (logs, kubeconfig)")] = False,
) -> None:
    """Delete the cluster, stop the engine and take back what they changed on the machine."""
    import shutil

    directory = _state_dir(state_dir)
    try:
        stopped = local.down(directory, log=lambda line: console.print(line))
    except FAILURES as error:
        raise _fail(error) from error
    if purge and directory.exists():
        shutil.rmtree(directory, ignore_errors=True)
        console.print(f"Deleted {directory}.")
    if not stopped:
        console.print("Nothing was running.")


@app.command()
def env(state_dir: StateDir = None) -> None:
    """Print the exports for `eval "$(orderflow k8s env)"`: KUBECONFIG, DOCKER_HOST, kind, kubectl and helm."""
    found = require_cluster(state_dir)
    wanted = ("KUBECONFIG", "DOCKER_HOST", "DOCKER_CONFIG", "KIND_EXPERIMENTAL_PROVIDER", "ORDERFLOW_REAL_DOCKER")
    exports = found.env()
    for name in wanted:
        typer.echo(f"export {name}={shlex.quote(exports[name])}")
    typer.echo(f"export PATH={os.pathsep.join(exports['PATH'].split(os.pathsep)[:4])}:$PATH")


@app.command()
def status(state_dir: StateDir = None) -> None:
    """The engine's daemons, each node's container and Kubernetes condition; exit 1 when something is not well."""
    directory = _state_dir(state_dir)
    found = local.load(directory)
    if found is None:
        console.print("Nothing is running (start it with `orderflow k8s up`).")
        raise typer.Exit(1)
    runner = Runner.load(directory)
    healthy = True
    for name, record in runner.records.items():
        alive = runner.alive(name)
        healthy &= alive
        console.print(
            f"{name}: {'running' if alive else 'gone'} (pid {record.pid}, log {record.log_file})", markup=False
        )
    if not runner.alive("dockerd"):
        raise typer.Exit(1)
    ready = {}
    if found.running():
        listing = found.json("get", "nodes")["items"]
        ready = {
            n["metadata"]["name"]: next((c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready"), "?")
            for n in listing
        }
    for node in found.nodes():
        state = "running" if node.running else "stopped"
        condition = ready.get(node.name, "unknown")
        healthy &= node.running and condition == "True"
        console.print(f"node {node.name} ({node.role}, {node.ip}): container {state}, Ready={condition}", markup=False)
    console.print(f"  export KUBECONFIG={shlex.quote(str(found.kubeconfig))}")
    if not healthy:
        raise typer.Exit(1)


@app.command()
def images(
    state_dir: StateDir = None,
    tag: Annotated[str, typer.Option(help="Tag of the four images")] = "local",
    load: Annotated[bool, typer.Option(help="Load them into the cluster's nodes")] = True,
) -> None:
    """Build orderflow-orders, -inventory, -payments and -operator with the real Dockerfiles (BuildKit, local
    Debian base) and load whatever changed into the nodes."""
    from devstack.images import app_images

    found = require_cluster(state_dir)
    try:
        built = app_images.build_all(found.engine, tag, log=lambda line: console.print(line), logs=found.logs)
        if load:
            began = time.monotonic()
            found.load(built)
            console.print(f"loaded into the nodes ({time.monotonic() - began:.1f}s)")
    except FAILURES as error:
        raise _fail(error) from error


@app.command()
def install(
    state_dir: StateDir = None,
    tag: Annotated[str, typer.Option(help="Image tag (built by `orderflow k8s images`)")] = "local",
    namespace: Annotated[str, typer.Option(help="Namespace of the platform")] = "orderflow",
    release: Annotated[str, typer.Option(help="Helm release name")] = "orderflow",
    test: Annotated[bool, typer.Option(help="Run `helm test` afterwards")] = True,
    observability: Annotated[
        bool, typer.Option(help="Also the chart's collector, Jaeger and Prometheus (k8s/observability-values.yaml)")
    ] = False,
) -> None:
    """The whole platform on the cluster: images, both charts, Kafka; then `helm test`."""
    from devstack.cluster import platform

    found = require_cluster(state_dir)
    try:
        installed = platform.install(
            found,
            namespace=namespace,
            release=release,
            tag=tag,
            observability=observability,
            log=lambda line: console.print(line),
        )
        if test:
            console.print(platform.helm_test(found, installed), markup=False)
    except (*FAILURES, platform.InstallError) as error:
        raise _fail(error) from error


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def skaffold(
    ctx: typer.Context,
    state_dir: StateDir = None,
    namespace: Annotated[str, typer.Option(help="Namespace the profile deploys to")] = "orderflow",
) -> None:
    """Run skaffold (dev, run, build, delete, ...) on the cluster with the `kind` profile: images loaded into the
    nodes with `kind load`, both charts deployed. Arguments after the options go to skaffold."""
    from devstack.cluster import skaffold as local_skaffold
    from devstack.cluster.platform import InstallError

    found = require_cluster(state_dir)
    try:
        env = local_skaffold.prepare(found, namespace, log=lambda line: console.print(line))
    except (*FAILURES, InstallError) as error:
        raise _fail(error) from error
    argv = local_skaffold.argv(ctx.args)
    console.print(f"$ {shlex.join(argv)}", markup=False, highlight=False)
    os.execve(argv[0], argv, env)  # skaffold owns the terminal from here: Ctrl-C reaches it, its exit code is ours


@app.command()
def release(
    registry: Annotated[str, typer.Option(help="The OCI registry and path: host[:port][/path]")],
    key: Annotated[
        Path, typer.Option(help="cosign's private key (`cosign generate-key-pair`); its password in COSIGN_PASSWORD")
    ],
    output: Annotated[Path, typer.Option(help="Where the SBOMs, packaged charts and release.json go")] = Path("dist"),
    plain_http: Annotated[bool, typer.Option(help="The registry speaks HTTP, not HTTPS (a local one)")] = False,
    state_dir: StateDir = None,
) -> None:
    """Build the five images at the release's version, push them with an SBOM each (attested) and both charts to
    the registry, and sign every image and chart with the cosign key."""
    from devstack.release import ReleaseError, Target
    from devstack.release import release as run_release

    password = os.environ.get("COSIGN_PASSWORD")
    if password is None:
        err.print("error: set COSIGN_PASSWORD to the password of the key (empty if it has none)")
        raise typer.Exit(2)
    if not key.is_file():
        err.print(f"error: no cosign key at {key} (make one with `cosign generate-key-pair`)", markup=False)
        raise typer.Exit(2)
    found = require_cluster(state_dir)
    try:
        released = run_release(
            found.engine, Target(registry, plain_http), key.resolve(), password, output.resolve(), console.print
        )
    except (*FAILURES, ReleaseError) as error:
        raise _fail(error) from error
    console.print(f"released {released.version}: {len(released.images)} images, {len(released.charts)} charts")
    console.print(f"(written to {output / 'release.json'})", markup=False)
