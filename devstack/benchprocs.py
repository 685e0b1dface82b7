"""What a process costs, read from /proc: CPU time and resident memory of a process and all its descendants.

A service may be a uvicorn supervisor with worker processes, PostgreSQL is a postmaster with one backend per
connection: each is measured as the tree under its root pid. A process's `cutime`/`cstime` hold the CPU of
the children it has reaped, so summing utime+stime+cutime+cstime over the live processes of a tree counts a
backend that exited during a phase exactly once (in its parent), and a live one once (in itself).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Stat:
    pid: int
    ppid: int
    ticks: int  # utime + stime + cutime + cstime
    rss_bytes: int


def parse_stat(pid: int, text: str) -> Stat:
    """One /proc/<pid>/stat line; the command name may hold spaces and parentheses, so split after the last ')'."""
    fields = text.rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3 of proc(5)); ppid is field 4, utime..cstime 14-17, rss 24.
    ppid = int(fields[1])
    ticks = sum(int(value) for value in fields[11:15])
    return Stat(pid, ppid, ticks, int(fields[21]) * PAGE_BYTES)


def read_stats(proc: Path = Path("/proc")) -> dict[int, Stat]:
    stats = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stats[int(entry.name)] = parse_stat(int(entry.name), (entry / "stat").read_text())
        except (OSError, IndexError, ValueError):
            continue  # exited while we looked
    return stats


def tree(root: int, stats: Mapping[int, Stat]) -> list[Stat]:
    """`root` and every live descendant."""
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            found.append(stats[pid])
            todo += children.get(pid, [])
    return found


@dataclass(frozen=True)
class Usage:
    """CPU seconds per role between two snapshots."""

    seconds: dict[str, float]

    def per_item_ms(self, items: int) -> dict[str, float]:
        return {role: cpu * 1000 / items for role, cpu in self.seconds.items()} if items else {}


@dataclass
class ProcessMeter:
    """Named process trees (`roles`), snapshotted for CPU and sampled in the background for peak RSS."""

    roles: dict[str, int] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)
    interval: float = 0.5
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def add(self, role: str, pid: int) -> None:
        self.roles[role] = pid

    def ticks(self) -> dict[str, int]:
        stats = read_stats()
        return {role: sum(s.ticks for s in tree(pid, stats)) for role, pid in self.roles.items()}

    @staticmethod
    def usage(before: Mapping[str, int], after: Mapping[str, int]) -> Usage:
        return Usage({role: (after[role] - before.get(role, 0)) / TICKS_PER_SECOND for role in after})

    def sample(self) -> None:
        stats = read_stats()
        for role, pid in self.roles.items():
            rss = sum(s.rss_bytes for s in tree(pid, stats))
            self.peak_rss[role] = max(self.peak_rss.get(role, 0), rss)

    def start(self) -> None:
        def run() -> None:
            while not self._stop.wait(self.interval):
                self.sample()

        self._thread = threading.Thread(target=run, name="bench-rss", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


_LISTEN = "0A"


def listening_pid(port: int, proc: Path = Path("/proc")) -> int | None:
    """The pid whose socket listens on TCP `port` (for a stack the bench did not start itself)."""
    inodes = set()
    for table in ("net/tcp", "net/tcp6"):
        try:
            lines = (proc / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == _LISTEN and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    candidates = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if links & wanted:
            candidates.append(int(entry.name))
    # uvicorn workers share the listening socket with their supervisor: the supervisor is the root.
    return min(candidates, default=None)


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
    except OSError:
        return "unknown"
    return match.group(1).strip() if match else "unknown"


def memory_gib(meminfo: Path = Path("/proc/meminfo")) -> float:
    try:
        match = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.MULTILINE)
    except OSError:
        return 0.0
    return round(int(match.group(1)) / 1024 / 1024, 1) if match else 0.0


def total_ms(per_role: Mapping[str, float], roles: Iterable[str] | None = None) -> float:
    return sum(value for role, value in per_role.items() if roles is None or role in roles)
