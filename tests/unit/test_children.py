"""Child process helpers of `orderflow up`: busy ports, start-up failures, bounded stop."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from devstack.children import ChildFailed, ServiceProcess, stop_all, wait_ready
from devstack.processes import free_port, port_in_use


class ScriptProcess(ServiceProcess):
    """A ServiceProcess that runs a Python snippet instead of `orderflow serve`."""

    script: str = ""

    def argv(self) -> Sequence[str]:
        return [sys.executable, "-c", self.script]


def _child(tmp_path: Path, script: str) -> ScriptProcess:
    child = ScriptProcess("demo", free_port(), tmp_path / "logs" / "demo.log", {})
    child.script = script
    return child


def test_port_in_use() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert port_in_use(server.getsockname()[1])
    assert not port_in_use(free_port())


def test_a_child_that_dies_during_start_up_fails_with_its_log(tmp_path: Path) -> None:
    child = _child(tmp_path, "import sys; print('boom: no database'); sys.exit(3)")
    child.start()
    with pytest.raises(ChildFailed, match=r"(?s)exited with code 3.*boom: no database"):
        wait_ready([child], timeout=30)


def test_a_child_that_never_answers_times_out(tmp_path: Path) -> None:
    child = _child(tmp_path, "import time; time.sleep(60)")
    child.start()
    try:
        with pytest.raises(ChildFailed, match="not ready within 1s"):
            wait_ready([child], timeout=1)
    finally:
        stop_all([child])
    assert child.exited() is not None


def test_stop_all_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    child = _child(
        tmp_path,
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)",
    )
    child.start()
    deadline = time.monotonic() + 10
    while "up" not in child.log_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    stop_all([child], timeout=1)
    assert child.exited() == -9
    assert time.monotonic() - started < 5
