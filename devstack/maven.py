"""Resolves jars from Maven Central with `mvn dependency:copy-dependencies` and a small pom packaged with devstack."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from devstack.cache import ToolMissing

_COMPLETE = ".complete"


class MavenError(RuntimeError):
    """`mvn` could not resolve the artifacts; the message carries the tail of its output."""


def require_tool(name: str, purpose: str, fix: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(f"`{name}` was not found on PATH; it is needed {purpose}. Fix: {fix}")
    return path


def copy_dependencies(pom: bytes, home: Path, what: str, properties: Mapping[str, str], fix: str) -> Path:
    """`home/libs`, filled by `mvn dependency:copy-dependencies` of `pom` (with `-Dkey=value` properties) on first use.

    Jars land in a temporary folder that is renamed into place, so an interrupted download never leaves a
    half-filled cache that later runs would trust. `fix` is what the error says when `mvn` is missing.
    """
    libs = home / "libs"
    if (home / _COMPLETE).exists():
        return libs
    mvn = require_tool("mvn", f"once, to download {what} into {home}", fix)
    home.mkdir(parents=True, exist_ok=True)
    (home / "pom.xml").write_bytes(pom)
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=home))
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(home / "pom.xml"),
            "dependency:copy-dependencies",
            *(f"-D{key}={value}" for key, value in properties.items()),
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise MavenError(f"mvn could not resolve {what}:\n{tail}")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    (home / _COMPLETE).write_text("\n".join(f"{k}={v}" for k, v in properties.items()) + "\n")
    return libs
