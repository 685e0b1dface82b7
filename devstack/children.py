"""The service processes of `orderflow up`: start one with its log file, wait for /readyz, stop them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devstack.processes import log_tail, spawn


class ChildFailed(RuntimeError):
    """A child exited or never became ready; the message names it and carries the tail of its log."""


@dataclass
class ServiceProcess:
    """One `orderflow-service serve` process on 127.0.0.1:`port`, its stdout and stderr in `log_file`."""

    name: str
    port: int
    log_file: Path
    env: Mapping[str, str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> Sequence[str]:
        # The container's entry point, from the same virtualenv as this process.
        return [sys.executable, "-m", "eventkit.host.main", "serve", self.name, "--port", str(self.port)]

    def start(self) -> None:
        # Plain tracebacks: a log file is read with tail and grep, not in a terminal.
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1", "_TYPER_STANDARD_TRACEBACK": "1"}
        self.process = spawn(list(self.argv()), self.log_file, env)

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def failure(self, what: str) -> ChildFailed:
        return ChildFailed(f"{self.name} {what}; last lines of {self.log_file}:\n{log_tail(self.log_file)}")

    def ready(self, client: httpx.Client) -> bool:
        try:
            return client.get(f"{self.url}/readyz").status_code == 200
        except httpx.HTTPError:
            return False


def wait_ready(children: Sequence[ServiceProcess], timeout: float) -> None:
    """Until every child answers /readyz with 200; ChildFailed as soon as one exits or at the deadline."""
    deadline = time.monotonic() + timeout
    waiting = list(children)
    with httpx.Client(timeout=2.0) as client:
        while waiting:
            for child in list(waiting):
                code = child.exited()
                if code is not None:
                    raise child.failure(f"exited with code {code} during start-up")
                if child.ready(client):
                    waiting.remove(child)
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise waiting[0].failure(f"was not ready within {timeout:.0f}s")
            time.sleep(0.2)


def stop_all(children: Sequence[ServiceProcess], timeout: float = 15.0) -> None:
    """SIGTERM to every running child at once, then SIGKILL whatever still runs after `timeout`."""
    running = [child.process for child in children if child.process is not None and child.process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
