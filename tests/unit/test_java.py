"""Finding a Java new enough: what `java -version` says, and where a JDK is looked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.cache import ToolMissing
from devstack.java import feature_release, find_java


@pytest.mark.parametrize(
    ("output", "release"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)', 17),
        ('openjdk version "25.0.3" 2026-04-21 LTS\nOpenJDK Runtime Environment Temurin-25.0.3+9', 25),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_402"\nJava(TM) SE Runtime Environment', 8),
        ("Error: could not find libjava.so", None),
    ],
)
def test_the_feature_release_is_read_from_java_version(output: str, release: int | None) -> None:
    assert feature_release(output) == release


def _jdk(root: Path, name: str, version: str) -> Path:
    java = root / name / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2026-01-01' >&2\n")
    java.chmod(0o755)
    return java


@pytest.fixture
def jvm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A /usr/lib/jvm of its own, and a PATH whose only `java` is a 17."""
    root = tmp_path / "jvm"
    old = _jdk(root, "java-17-openjdk-amd64", "17.0.15")
    monkeypatch.setenv("PATH", f"{old.parent}:/usr/bin:/bin")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    return root


def test_the_newest_new_enough_jdk_under_the_jvm_folder_is_taken(jvm: Path) -> None:
    _jdk(jvm, "temurin-21-jdk-amd64", "21.0.8")
    newest = _jdk(jvm, "temurin-25-jdk-amd64", "25.0.3")
    assert find_java(21, "for a test", jvm_root=jvm) == str(newest)


def test_java_home_wins_when_new_enough(jvm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = _jdk(tmp_path / "opt", "jdk-22", "22.0.2")
    _jdk(jvm, "temurin-25-jdk-amd64", "25.0.3")
    monkeypatch.setenv("JAVA_HOME", str(chosen.parent.parent))
    assert find_java(21, "for a test", jvm_root=jvm) == str(chosen)


def test_java_on_path_is_enough_when_new_enough(jvm: Path) -> None:
    assert find_java(17, "for a test", jvm_root=jvm) == str(jvm / "java-17-openjdk-amd64" / "bin" / "java")


def test_only_old_javas_name_what_was_found_and_the_fix(
    jvm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(ToolMissing) as raised:
        find_java(21, "to run a generator", jvm_root=jvm)
    message = str(raised.value)
    assert "no Java 21 or newer was found; it is needed to run a generator" in message
    assert "java-17-openjdk-amd64/bin/java (17)" in message
    assert "set JAVA_HOME" in message
