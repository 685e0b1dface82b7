"""Missing Java or Maven stops the local broker with one message that names the fix."""

from pathlib import Path

import pytest

from devstack.cache import ToolMissing
from devstack.kafka.artifacts import ensure_kafka_jars, require_java


def test_missing_java_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ToolMissing, match=r"`java` was not found.*apt-get install -y openjdk-17-jre-headless"):
        require_java()


def test_missing_maven_on_an_empty_cache_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv("ORDERFLOW_CACHE_DIR", str(tmp_path))
    with pytest.raises(ToolMissing, match=r"`mvn` was not found.*apt-get install -y maven.*KAFKA_BOOTSTRAP_SERVERS"):
        ensure_kafka_jars()


def test_a_complete_cache_needs_no_maven(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ORDERFLOW_CACHE_DIR", str(tmp_path))
    home = tmp_path / "kafka-4.3.1"
    home.mkdir()
    (home / ".complete").write_text("4.3.1\n")
    monkeypatch.setenv("PATH", "")
    assert ensure_kafka_jars() == home / "libs"
