"""From empty caches, the Go builds run in the background while tests that need none of them yet run.

The apiserver and cluster tiers need Go tools (Kubernetes, etcd, helm, Prometheus, kind and what its node image
is made of, Compose, the collector, Jaeger, skaffold): about 45 minutes of builds on 2 cores. This plugin puts
those two tiers last and, when a tool they need is missing, starts one process at collection that builds them
in the order the tiers ask for them, one tool at a time, so the builds of the cluster tier's tools overlap the
apiserver tier (and, in a run of every tier, the Python tiers; `make test` runs those beside, see
tests/run-tiers.sh). A fixture that needs a tool goes through `ensure_tools` as before: it takes the machine's
build lock per tool, so it finds the tool built or waits for the build under way. Warm caches start nothing.
The builder stays in pytest's session but leads its own process group, which is stopped when the session ends
or pytest dies (an interrupted build leaves only its `.partial` folder, which the next build clears).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.cache import ToolMissing
from devstack.cluster.build import BuildError, cache_root, ensure_tools, is_current
from devstack.cluster.gotool import GoTool
from devstack.cluster.tools import (
    CLUSTER_TOOLS,
    COMPOSE,
    CONTROL_PLANE_TOOLS,
    HELM_DOCS,
    JAEGER,
    OTELCOL,
    PROMETHEUS,
    RELEASE_TOOLS,
    SKAFFOLD,
)

TESTS = Path(__file__).resolve().parents[1]
# What each tier needs, in the order its tests ask for it (test_alert_rules, first of the apiserver tier, runs
# promtool; the kind cluster comes up first in the cluster tier). skaffold is for `make e2e-kind`, which CI runs
# right after the suite.
NEEDS: dict[str, tuple[GoTool, ...]] = {
    "apiserver": (*CONTROL_PLANE_TOOLS, PROMETHEUS, HELM_DOCS),
    "cluster": (*CONTROL_PLANE_TOOLS, PROMETHEUS, *CLUSTER_TOOLS, COMPOSE, OTELCOL, JAEGER, *RELEASE_TOOLS, SKAFFOLD),
}
_PROCESS = pytest.StashKey[subprocess.Popen[bytes]]()


def _tier(item: pytest.Item) -> str:
    try:
        return item.path.relative_to(TESTS).parts[0]
    except ValueError:
        return ""


def missing(tiers: set[str], root: bool = True) -> list[GoTool]:
    """The tools the tiers need that are not built yet, without duplicates, in the order they are needed; the
    cluster tier's only as root (elsewhere it cannot run)."""
    needed = (tier for tier in sorted(tiers) if root or tier != "cluster")
    wanted = {tool.name: tool for tier in needed for tool in NEEDS.get(tier, ())}  # GoTool is unhashable
    return [tool for tool in wanted.values() if not is_current(tool)]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: _tier(item) in NEEDS)  # stable: the Python tiers first, in their own order
    tiers = {_tier(item) for item in items}
    tools = missing(tiers, root=os.geteuid() == 0)
    if not tools or config.option.collectonly:
        return
    log = cache_root() / "logs" / "prebuild.log"
    config.stash[_PROCESS] = spawn([tool.name for tool in tools], log)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"building {', '.join(tool.name for tool in tools)} in the background (log: {log})")


def spawn(names: list[str], log: Path) -> subprocess.Popen[bytes]:
    """The builder of `names`, in a process group of its own, dying with this process."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-u", "-m", "tests.support.prebuild", *names],
            cwd=TESTS.parent,
            stdout=sink,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=_child_setup,
        )


def _child_setup() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)  # pytest killed: stop building


PR_SET_PDEATHSIG = 1


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def pytest_unconfigure(config: pytest.Config) -> None:
    process = config.stash.get(_PROCESS, None)
    if process is not None:
        stop(process)


def main(names: list[str]) -> None:
    # SIGTERM (from `stop` or a dying pytest) takes the `go build` under way with it: the whole group.
    signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))
    by_name = {tool.name: tool for tools in NEEDS.values() for tool in tools}
    for name in names:
        try:
            ensure_tools((by_name[name],))  # one lock per tool: a waiting fixture gets in between two builds
        except (BuildError, ToolMissing) as error:
            print(f"{name}: {error}")  # the fixture that needs it builds it again and reports the failure


if __name__ == "__main__":
    main(sys.argv[1:])
