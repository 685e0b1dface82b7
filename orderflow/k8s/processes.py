"""Start, recognise and stop the control plane's child processes, also from another orderflow process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_ports(count: int) -> list[int]:
    """Distinct free ports on 127.0.0.1: all are held open together, so the kernel cannot repeat one."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def spawn(argv: list[str], log_file: Path) -> subprocess.Popen[bytes]:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Own session: Ctrl-C reaches only orderflow, which then stops the children in order, and a
            # detached control plane outlives the terminal that started it.
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
