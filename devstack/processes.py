"""Local processes of the dev tools: free ports, starting a daemon with its log, recognising and stopping it.

Every daemon devstack starts (Kafka, PostgreSQL, the services of `orderflow up`, the cluster's components)
goes through these helpers, so they are started, recognised and stopped the same way, also from another
orderflow process than the one that started them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Distinct free ports: all are held open together, so the kernel cannot hand out one twice."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def free_port(host: str = "127.0.0.1") -> int:
    return free_ports(1, host)[0]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        # As servers bind: connections of a stopped server lingering in TIME_WAIT do not make the port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def spawn(
    argv: list[str], log_file: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `argv` with stdout and stderr appended to `log_file`, in a session of its own.

    Own session: Ctrl-C reaches only orderflow, which then stops its children in order, and a detached
    daemon outlives the terminal that started it.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        return subprocess.Popen(
            argv,
            env=None if env is None else dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def alive(pid: int, exe: Path) -> bool:
    """Whether `pid` is still the program `exe` we started: a recycled pid must never be signalled.

    /proc/<pid>/exe, not cmdline: right after exec the kernel already has the new executable but may not yet
    have set up the arguments, so cmdline can briefly read empty.
    """
    try:
        running = os.readlink(f"/proc/{pid}/exe").removesuffix(" (deleted)")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return running == str(exe.resolve()) and state != "Z"


def stop(pid: int, exe: Path, timeout: float = 20.0, child: subprocess.Popen[bytes] | None = None) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; False when it was not running.

    `child` is the Popen of a process this very process started: it is trusted over /proc (its pid cannot
    be recycled before it is reaped) and reaped at the end.
    """

    def running() -> bool:
        return child.poll() is None if child is not None else alive(pid, exe)

    if not running():
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while running() and time.monotonic() < deadline:
        time.sleep(0.1)
    if running():
        os.kill(pid, signal.SIGKILL)
        if child is not None:
            child.wait(timeout)
    return True


def log_tail(log_file: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
