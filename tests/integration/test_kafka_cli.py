"""`orderflow kafka start --detach | status | stop` on a real broker in a temp dir."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderflow.cli import app

pytestmark = pytest.mark.kafka


def test_start_status_stop_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "kafka")]
    try:
        started = runner.invoke(app, ["kafka", "start", "--port", "0", "--detach", *data])
        assert started.exit_code == 0, started.output
        assert "ready at 127.0.0.1:" in started.output
        status = runner.invoke(app, ["kafka", "status", *data])
        assert status.exit_code == 0, status.output
        assert "ready" in status.output
    finally:
        stopped = runner.invoke(app, ["kafka", "stop", *data])
    assert "Kafka stopped." in stopped.output
    after = runner.invoke(app, ["kafka", "status", *data])
    assert after.exit_code == 1
    assert "not running" in after.output


def test_an_external_cluster_replaces_the_local_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example.internal:9092")
    result = CliRunner().invoke(app, ["kafka", "start", "--detach"])
    assert result.exit_code == 0
    assert "KAFKA_BOOTSTRAP_SERVERS is set" in result.output
