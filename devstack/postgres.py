"""A throwaway PostgreSQL server for tests and `orderflow up --postgres`: initdb into a temporary folder,
`postgres` on a free 127.0.0.1 port with its unix socket in that folder, tuned for speed over durability.

PostgreSQL refuses to run as root, so under euid 0 initdb and the server run as the `postgres` OS user (which
the Debian package creates), with the temporary folder owned by that user.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from devstack.cache import ToolMissing
from devstack.processes import free_port

INSTALL_FIX = "`sudo apt-get install -y postgresql` (CI runs scripts/install-postgres.sh)"
SEARCH_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"

# Test and laptop speed over crash safety: this server's data is thrown away anyway.
FAST_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "1GB",
    "checkpoint_timeout": "30min",
    "jit": "off",
    # Three services with a pool of up to 20 each, plus tests and tooling.
    "max_connections": "200",
}

_DB_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
T = TypeVar("T")


class PostgresError(RuntimeError):
    """The server could not be initialised, started or reached; the message says why and where the log is."""


@dataclass(frozen=True)
class PostgresBinaries:
    initdb: Path
    postgres: Path


def _version_key(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", folder.name)) or (0,)


def find_binaries(search_root: Path = SEARCH_ROOT, path: str | None = None) -> PostgresBinaries:
    """`initdb` and `postgres` of the newest /usr/lib/postgresql/<N>/bin, else from PATH."""
    folders = sorted((p for p in search_root.glob("*/bin") if p.is_dir()), key=lambda p: _version_key(p.parent))
    for folder in reversed(folders):
        initdb, server = folder / "initdb", folder / "postgres"
        if os.access(initdb, os.X_OK) and os.access(server, os.X_OK):
            return PostgresBinaries(initdb=initdb, postgres=server)
    initdb_path = shutil.which("initdb", path=path)
    server_path = shutil.which("postgres", path=path)
    if initdb_path and server_path:
        return PostgresBinaries(initdb=Path(initdb_path), postgres=Path(server_path))
    raise ToolMissing(
        f"the PostgreSQL server programs `initdb` and `postgres` were found neither in {search_root}/*/bin "
        f"nor on PATH; they are needed to run a throwaway PostgreSQL server. Fix: {INSTALL_FIX}"
    )


@dataclass(frozen=True)
class _OsUser:
    uid: int
    gid: int


def _server_user() -> _OsUser | None:
    """None: run as ourselves; as root: the `postgres` OS user, since PostgreSQL refuses to run as root."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise ToolMissing(
            f"running as root, and PostgreSQL refuses to run as root, but there is no `{SUPERUSER}` OS user "
            f"to run it as. Fix: {INSTALL_FIX} creates it, or run as an ordinary user"
        ) from None
    return _OsUser(uid=entry.pw_uid, gid=entry.pw_gid)


def _run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code, also when the caller is inside an event loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


class LocalPostgres:
    """One server in a fresh temporary folder that `stop` removes; `log_file` keeps its log elsewhere."""

    def __init__(self, *, port: int = 0, log_file: Path | None = None, startup_timeout: float = 60.0) -> None:
        self.requested_port = port
        self.port = 0
        self.log_file_override = log_file
        self.startup_timeout = startup_timeout
        self.base_dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._known: set[str] = {SUPERUSER}

    @property
    def log_file(self) -> Path:
        if self.log_file_override is not None:
            return self.log_file_override
        if self.base_dir is None:
            raise PostgresError("the server has not been started")
        return self.base_dir / "postgres.log"

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> LocalPostgres:
        """initdb, start and wait until a connection succeeds; picks another port if a free one got taken."""
        if self._process is not None:
            return self
        binaries = find_binaries()
        user = _server_user()
        self.base_dir = Path(tempfile.mkdtemp(prefix="orderflow-pg-"))
        atexit.register(self.stop)
        if user is not None:
            os.chown(self.base_dir, user.uid, user.gid)
        self._initdb(binaries, user)
        attempts = 1 if self.requested_port else 3
        for attempt in range(attempts):
            self.port = self.requested_port or free_port()
            self._spawn(binaries, user)
            try:
                self._wait_ready()
                return self
            except PostgresError:
                tail = self._log_tail()
                port_taken = "could not bind" in tail or "already in use" in tail
                self._terminate()
                if not port_taken or attempt == attempts - 1:
                    self.stop()
                    raise
        raise AssertionError("unreachable")

    def _as_user(self, user: _OsUser | None) -> dict[str, Any]:
        if user is None:
            return {}
        return {"user": user.uid, "group": user.gid, "extra_groups": []}

    def _initdb(self, binaries: PostgresBinaries, user: _OsUser | None) -> None:
        assert self.base_dir is not None
        result = subprocess.run(
            [
                str(binaries.initdb),
                f"--pgdata={self.base_dir / 'data'}",
                f"--username={SUPERUSER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            cwd=self.base_dir,
            capture_output=True,
            text=True,
            check=False,
            **self._as_user(user),
        )
        if result.returncode != 0:
            self.stop()
            raise PostgresError(f"initdb failed ({binaries.initdb}):\n{result.stdout}{result.stderr}")

    def _spawn(self, binaries: PostgresBinaries, user: _OsUser | None) -> None:
        assert self.base_dir is not None
        options = {
            **FAST_SETTINGS,
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.base_dir),
        }
        argv = [str(binaries.postgres), "-D", str(self.base_dir / "data")]
        for key, value in options.items():
            argv += ["-c", f"{key}={value}"]
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                argv,
                cwd=self.base_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Ctrl-C reaches orderflow only, which stops the services first and the database last.
                start_new_session=True,
                **self._as_user(user),
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                code = self._process.returncode if self._process else None
                raise PostgresError(
                    f"postgres exited with code {code} during start-up; its log ends:\n{self._log_tail()}"
                )
            if self._pid_file_says_ready() and self._connects():
                return
            time.sleep(0.1)
        raise PostgresError(f"PostgreSQL did not accept connections within {self.startup_timeout:.0f}s")

    def _pid_file_says_ready(self) -> bool:
        assert self.base_dir is not None
        try:
            lines = (self.base_dir / "data" / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def _connects(self) -> bool:
        async def probe() -> bool:
            engine = create_async_engine(self._url(SUPERUSER), poolclass=NullPool)
            try:
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
                return True
            except Exception:
                return False
            finally:
                await engine.dispose()

        return _run_sync(probe)

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, PostgresError):
            return "(no log)"

    def _url(self, database: str) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        """The SQLAlchemy async URL of `database`, created first when it does not exist yet."""
        self.create_database(database)
        return self._url(database)

    def create_database(self, name: str) -> None:
        if not _DB_NAME.fullmatch(name):
            raise ValueError(f"not a plain PostgreSQL database name: {name!r}")
        if self._process is None:
            raise PostgresError("the server has not been started")
        if name in self._known:
            return

        async def create() -> None:
            engine = create_async_engine(self._url(SUPERUSER), poolclass=NullPool, isolation_level="AUTOCOMMIT")
            try:
                async with engine.connect() as connection:
                    exists = await connection.scalar(
                        text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                    )
                    if not exists:
                        await connection.execute(text(f'CREATE DATABASE "{name}"'))
            finally:
                await engine.dispose()

        _run_sync(create)
        self._known.add(name)

    def _terminate(self, timeout: float = 15.0) -> None:
        """SIGINT (fast shutdown: abort transactions, checkpoint), then SIGQUIT, then SIGKILL."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            process.send_signal(sig)
            try:
                process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def pause(self) -> None:
        """Stop the server as a restart does, keeping its data and port: `resume` starts it again."""
        if self._process is None:
            raise PostgresError("the server is not running")
        self._terminate()

    def resume(self) -> None:
        if self.base_dir is None or self._process is not None:
            raise PostgresError("only a paused server resumes")
        self._spawn(find_binaries(), _server_user())
        self._wait_ready()

    def stop(self) -> None:
        """Stop the server and delete its folder; safe to call twice or after a failed start."""
        self._terminate()
        atexit.unregister(self.stop)
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
        self._known = {SUPERUSER}
