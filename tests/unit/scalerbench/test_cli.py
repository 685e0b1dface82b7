"""`orderflow scaler bench` refuses a trace it does not know before it touches the node."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from orderflow.cli import app


def _bench(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["scaler", "bench", *args], env={"COLUMNS": "240"})
    return result.exit_code, " ".join(result.output.replace("│", " ").split())


def test_an_unknown_trace_is_refused_with_the_choices(tmp_path: Path) -> None:
    code, output = _bench("--trace", "hot", "--state-dir", str(tmp_path))
    assert code == 2
    assert "no trace hot" in output
    assert "burst, ramp, sine, hot-partition, new-group, broker-restart, idle-markers" in output


def test_quick_offers_only_its_two_traces(tmp_path: Path) -> None:
    code, output = _bench("--quick", "--trace", "sine", "--state-dir", str(tmp_path))
    assert code == 2
    assert "choose from burst, ramp" in output
