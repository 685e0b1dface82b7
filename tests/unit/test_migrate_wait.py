"""`orderflow-service migrate` waits for a database that does not accept connections yet, then says so clearly."""

from __future__ import annotations

import socket

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
