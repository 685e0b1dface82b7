"""`orderflow-service migrate` waits for a database that does not accept connections yet, then says so clearly; a
SQLite file it cannot migrate is an error at once, never taken for a database still starting."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from eventkit.host.main import app


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_database_is_waited_for_then_named_with_the_time_waited() -> None:
    url = f"postgresql+asyncpg://orders:secret@127.0.0.1:{_closed_port()}/orders"
    done = CliRunner().invoke(app, ["migrate", "orders", "--url", url, "--wait-seconds", "2"])
    assert done.exit_code == 1, done.output
    assert "does not accept connections yet" in done.output, "it waited, saying so"
    assert "unreachable for 2s" in done.output
    assert "secret" not in done.output, "the password is never printed"


def test_a_sqlite_file_that_cannot_be_migrated_fails_at_once_without_waiting(tmp_path: Path) -> None:
    folder = tmp_path / "orders.db"
    folder.mkdir()  # a folder where the database file should be: SQLite raises OperationalError
    done = CliRunner().invoke(
        app, ["migrate", "orders", "--url", f"sqlite+aiosqlite:///{folder}", "--wait-seconds", "60"]
    )
    assert done.exit_code == 1, done.output
    assert "does not accept connections yet" not in done.output
    assert f"{folder} failed: (sqlite3.OperationalError)" in done.output
