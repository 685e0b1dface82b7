"""`orderflow k8s up|down|env|status`: the local control plane from the command line."""

from __future__ import annotations

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
from devstack.cluster import controlplane
from devstack.cluster.build import BuildError, ensure_binaries
from devstack.cluster.crds import CrdError
from orderflow.localstate import local_state_dir

app = typer.Typer(
    help="A local Kubernetes API (etcd + kube-apiserver built from source, no Docker, no nodes).",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)

StateDir = Annotated[
    Path | None,
    typer.Option("--state-dir", help="Certificates, etcd data, logs and state [default: .orderflow/k8s]"),
]


def _state_dir(state_dir: Path | None) -> Path:
    return (state_dir or local_state_dir() / "k8s").resolve()


def _export(plane: controlplane.ControlPlane) -> str:
    return f"export KUBECONFIG={shlex.quote(str(plane.kubeconfig))}"


def _running(state_dir: Path) -> controlplane.ControlPlane | None:
    plane = controlplane.load(state_dir)
    return plane if plane is not None and plane.running() else None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command()
def build() -> None:
    """Build the pinned kube-apiserver, etcd and helm once (as `up` would); print where they are."""
    try:
        binaries = ensure_binaries(log=lambda line: console.print(line))
    except (ToolMissing, BuildError) as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from error
    for path in (binaries.kube_apiserver, binaries.etcd, binaries.helm):
        typer.echo(path)


@app.command()
def up(
    state_dir: StateDir = None,
    detach: Annotated[bool, typer.Option(help="Leave it running in the background and return")] = False,
    strimzi: Annotated[bool, typer.Option(help="Install Strimzi's CRDs (ORDERFLOW_STRIMZI_DIR)")] = True,
) -> None:
    """Build (first time only), start, wait until ready and install the CRDs. Ctrl-C stops it again."""
    directory = _state_dir(state_dir)
    if (plane := _running(directory)) is not None:
        console.print(f"Already running at [bold]{plane.server}[/] (stop it with `orderflow k8s down`).")
        console.print(f"  {_export(plane)}")
        return
    # Ctrl-C, `kill` and a closed terminal all stop the cluster: the children run in their own session, so
    # only this process hears them. SIGINT is set explicitly because a shell's `&` may have ignored it.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        plane = controlplane.start(directory, install_strimzi=strimzi, log=lambda line: console.print(line))
    except (ToolMissing, BuildError, controlplane.ClusterError, CrdError) as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from error
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    console.print(f"Kubernetes {plane.version} API ready at [bold]{plane.server}[/], {len(plane.crds)} CRDs")
    console.print(f"  {_export(plane)}")
    if detach:
        console.print(f"  logs: {directory / 'logs'}; stop with `orderflow k8s down`")
        return
    console.print("Press Ctrl-C to stop.")
    try:
        while (dead := plane.dead_component()) is None:
            time.sleep(1)
        err.print(f"[red]{dead} exited[/]; see {plane.components[dead].log_file}")
    except KeyboardInterrupt:
        pass
    finally:
        plane.stop()
        console.print("Control plane stopped.")


@app.command()
def down(state_dir: StateDir = None) -> None:
    """Stop the apiserver and etcd; their data stays in the state dir for the next `up`."""
    if controlplane.stop(_state_dir(state_dir)):
        console.print("Control plane stopped.")
    else:
        console.print("The control plane was not running.")


@app.command()
def env(state_dir: StateDir = None) -> None:
    """Print `export KUBECONFIG=...`, for `eval "$(orderflow k8s env)"`."""
    plane = _running(_state_dir(state_dir))
    if plane is None:
        err.print("The control plane is not running (start it with `orderflow k8s up --detach`).")
        raise typer.Exit(1)
    typer.echo(_export(plane))


@app.command()
def status(state_dir: StateDir = None) -> None:
    """Show the processes and whether the API answers /readyz; exit 1 when it does not."""
    plane = controlplane.load(_state_dir(state_dir))
    if plane is None:
        console.print("The control plane is not running (start it with `orderflow k8s up`).")
        raise typer.Exit(1)
    for name, component in plane.components.items():
        state = "running" if component.alive() else "[red]gone[/]"
        console.print(f"{name}: pid {component.pid} {state}, ports {component.ports}, log {component.log_file}")
    try:
        with plane.access.client(timeout=5) as client:
            ready = client.get("/readyz").text
    except httpx.HTTPError as error:
        ready = f"no answer ({error})"
    console.print(f"{plane.server} (Kubernetes {plane.version}, started {plane.started_at}): /readyz {ready}")
    console.print(f"  {_export(plane)}")
    if ready != "ok":
        raise typer.Exit(1)
