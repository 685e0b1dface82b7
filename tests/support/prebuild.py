"""From empty caches, the Go builds run in the background while the Python tiers run.

The apiserver and cluster tiers need Go tools (Kubernetes, etcd, helm, Prometheus, the node's tools, Compose,
the collector, Jaeger): about 45 minutes of builds on 2 cores, which used to start only when the first of those
tests asked for them, while nothing else ran. This plugin puts those two tiers last and, when a tool they need
is missing, starts one niced process at collection that builds them in the order the tiers ask for them, one
tool at a time. A fixture that needs a tool goes through `ensure_tools` as before: it takes the machine's build
lock, so it finds the tool built or waits for the build under way. Warm caches start nothing. The process is
stopped when the session ends, whatever it was doing (an interrupted build leaves only its `.partial` folder,
which the next build clears).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.cluster.build import (
    BUILDX,
    COMPOSE,
    CONTROL_PLANE_TOOLS,
    COREDNS,
    CRICTL,
    JAEGER,
    OTELCOL,
    PROMETHEUS,
    GoTool,
    cache_root,
    ensure_tools,
    is_current,
)

TESTS = Path(__file__).resolve().parents[1]
# What each tier needs, in the order its tests ask for it (test_alert_rules, first of the apiserver tier, runs
# promtool).
NEEDS: dict[str, tuple[GoTool, ...]] = {
    "apiserver": (*CONTROL_PLANE_TOOLS, PROMETHEUS),
    "cluster": (*CONTROL_PLANE_TOOLS, PROMETHEUS, CRICTL, COREDNS, BUILDX, COMPOSE, OTELCOL, JAEGER),
}
_PROCESS = pytest.StashKey[subprocess.Popen[bytes]]()


def _tier(item: pytest.Item) -> str:
    try:
        return item.path.relative_to(TESTS).parts[0]
    except ValueError:
        return ""


def missing(tiers: set[str]) -> list[GoTool]:
    """The tools the tiers need that are not built yet, without duplicates, in the order they are needed."""
    wanted = {tool.name: tool for tier in sorted(tiers) for tool in NEEDS.get(tier, ())}  # GoTool is unhashable
    return [tool for tool in wanted.values() if not is_current(tool)]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: _tier(item) in NEEDS)  # stable: the Python tiers first, in their own order
    tools = missing({_tier(item) for item in items})
    if not tools or config.option.collectonly:
        return
    log = cache_root() / "logs" / "prebuild.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        config.stash[_PROCESS] = subprocess.Popen(
            [sys.executable, "-m", "tests.support.prebuild", *(tool.name for tool in tools)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops its `go build` too
            preexec_fn=lambda: os.nice(10),  # the tests running meanwhile come first
        )
    print(f"\nbuilding {', '.join(tool.name for tool in tools)} in the background (log: {log})")


def pytest_unconfigure(config: pytest.Config) -> None:
    process = config.stash.get(_PROCESS, None)
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main(names: list[str]) -> None:
    by_name = {tool.name: tool for tools in NEEDS.values() for tool in tools}
    for name in names:
        ensure_tools((by_name[name],))  # one lock per tool: a waiting fixture gets in between two builds


if __name__ == "__main__":
    main(sys.argv[1:])
