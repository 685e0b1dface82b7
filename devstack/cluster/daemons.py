"""The one runner of devstack's long-lived daemons (the bare API server's etcd and kube-apiserver, the machine's
containerd and dockerd under the kind cluster): start in order, each ready before the next, stop in reverse.

Each daemon is recorded in `<state>/daemons.json` (pid, executable, log) the moment it starts, so a crash of
the starting process still leaves what `stop` needs, and any later orderflow process can stop exactly what was
started (a recycled pid is never signalled: `processes.alive` checks the executable). A second `start` starts
only what does not run. Readiness is a check the caller passes; a daemon that exits while being waited for, or
is not ready in time, fails the start with the tail of its log, and whatever that start began is stopped again.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from devstack import processes

STATE_FILE = "daemons.json"
Log = Callable[[str], None]


class DaemonError(RuntimeError):
    """A daemon could not be started; the message names it and carries the tail of its log."""


@dataclass(frozen=True)
class Daemon:
    """How to start one daemon and when it counts as ready; `ports` ((host, port) it binds) are checked free."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    timeout: float = 60.0
    ports: tuple[tuple[str, int], ...] = ()
    env: Mapping[str, str] | None = None


@dataclass
class Record:
    pid: int
    exe: str
    log_file: str

    def alive(self) -> bool:
        return processes.alive(self.pid, Path(self.exe))


@dataclass
class Runner:
    """The daemons recorded in one state dir."""

    state_dir: Path
    records: dict[str, Record] = field(default_factory=dict)
    # Popen handles exist only in the process that started the children; they let it reap them.
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, state_dir: Path) -> Runner:
        try:
            saved = json.loads((state_dir / STATE_FILE).read_text())
        except (OSError, ValueError):
            saved = {}
        return cls(state_dir, {name: Record(**record) for name, record in saved.items()})

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    def save(self) -> None:
        path = self.state_dir / STATE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({name: asdict(r) for name, r in self.records.items()}, indent=2))
        path.chmod(0o600)

    def alive(self, name: str) -> bool:
        child = self._children.get(name)
        if child is not None:
            return child.poll() is None
        record = self.records.get(name)
        return record is not None and record.alive()

    def running(self) -> bool:
        return bool(self.records) and all(self.alive(name) for name in self.records)

    def dead(self) -> str | None:
        """The first recorded daemon that no longer runs."""
        return next((name for name in self.records if not self.alive(name)), None)

    def start(self, daemons: Sequence[Daemon], log: Log = print) -> None:
        """Start, in order, each daemon that does not run, waiting until it is ready; on failure (or Ctrl-C) stop
        what this call started."""
        started: list[str] = []
        try:
            for daemon in daemons:
                if self.alive(daemon.name):
                    continue
                self._spawn(daemon)
                started.append(daemon.name)
                took = self.wait(daemon.name, daemon.ready, daemon.timeout)
                log(f"{daemon.name} ready in {took:.1f}s")
        except BaseException:
            self.stop(started)
            raise

    def _spawn(self, daemon: Daemon) -> None:
        for host, port in daemon.ports:
            if processes.port_in_use(port, host):
                raise DaemonError(f"port {port} on {host} ({daemon.name}) is taken by another process")
        log_file = self.logs / f"{daemon.name}.log"
        env = dict(os.environ if daemon.env is None else daemon.env)
        child = processes.spawn(daemon.argv, log_file, env=env)
        self._children[daemon.name] = child
        self.records[daemon.name] = Record(child.pid, daemon.argv[0], str(log_file))
        self.save()  # at once, so a crash of this process still leaves the pid for `stop`

    def wait(self, name: str, check: Callable[[], bool], timeout: float, what: str = "ready") -> float:
        """Poll `check` until it holds; DaemonError with the log's tail when the daemon dies or time runs out."""
        began = time.monotonic()
        log_file = Path(self.records[name].log_file)
        while True:
            if not self.alive(name):
                raise DaemonError(f"{name} exited during start-up; log {log_file}:\n{processes.log_tail(log_file)}")
            with contextlib.suppress(httpx.HTTPError, OSError, ValueError, subprocess.SubprocessError):
                if check():
                    return time.monotonic() - began
            if time.monotonic() - began > timeout:
                tail = processes.log_tail(log_file)
                raise DaemonError(f"{name} was not {what} after {timeout:.0f}s; log {log_file}:\n{tail}")
            time.sleep(0.2)

    def stop(self, names: Sequence[str] | None = None, timeout: float = 30.0) -> bool:
        """Stop `names` (default: every recorded daemon) in reverse start order; False when none was running."""
        chosen = list(self.records) if names is None else [n for n in self.records if n in names]
        stopped = False
        for name in reversed(chosen):
            record = self.records.pop(name)
            child = self._children.pop(name, None)
            stopped |= processes.stop(record.pid, Path(record.exe), timeout, child)
        self.save()
        return stopped
