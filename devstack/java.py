"""Finds a Java runtime of a minimum feature release: $JAVA_HOME's, then `java` on PATH, then the newest under
/usr/lib/jvm (where Debian's packages and the Temurin JDKs unpack). Debian 12's default Java is 17, which some
tools have outgrown (Strimzi's CRD generator is built for 21), so PATH alone is not enough."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from devstack.cache import ToolMissing

JVM_ROOT = Path("/usr/lib/jvm")


def feature_release(version_output: str) -> int | None:
    """The feature release that `java -version` reports: "17.0.15" -> 17, "25" -> 25, "1.8.0_402" -> 8."""
    found = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if found is None:
        return None
    major = int(found[1])
    return int(found[2] or 0) if major == 1 else major


def _release(java: Path) -> int | None:
    try:
        # -version writes to stderr; a broken install (missing libjvm) exits non-zero and says nothing usable.
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return feature_release(done.stderr + done.stdout) if done.returncode == 0 else None


def find_java(minimum: int, purpose: str, jvm_root: Path = JVM_ROOT) -> str:
    """The path of a `java` of at least `minimum`; ToolMissing naming what was found and the fix otherwise."""
    java_home = os.environ.get("JAVA_HOME")
    on_path = shutil.which("java")
    explicit = [Path(java_home) / "bin" / "java"] if java_home else []
    explicit += [Path(on_path)] if on_path else []
    releases: dict[Path, int | None] = {}

    def release(java: Path) -> int | None:
        key = java.resolve()  # /usr/bin/java and /usr/lib/jvm/* name the same few JDKs through symlinks
        if key not in releases:
            releases[key] = _release(java) if java.is_file() else None
        return releases[key]

    for java in explicit:  # what the user chose wins when it is new enough
        if (release(java) or 0) >= minimum:
            return str(java)
    installed = [(release(java) or 0, str(java)) for java in sorted(jvm_root.glob("*/bin/java"))]
    fit = [found for found in installed if found[0] >= minimum]
    if fit:
        return max(fit)[1]
    tried = ", ".join(f"{java} ({found or 'unusable'})" for java, found in releases.items()) or "none found"
    raise ToolMissing(
        f"no Java {minimum} or newer was found; it is needed {purpose}. Looked at $JAVA_HOME, PATH and "
        f"{jvm_root}/*: {tried}. Fix: install a JDK or JRE {minimum}+ (Debian 12 packages only 17; a Temurin "
        f"{minimum}+ JDK, say) under {jvm_root}, or set JAVA_HOME to one"
    )
