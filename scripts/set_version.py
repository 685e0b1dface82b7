"""Set orderflow's one version everywhere it is stated: `scripts/set-version 0.2.0`.

(`scripts/set-version` runs this file with the checkout's .venv; `.venv/bin/python scripts/set_version.py 0.2.0`
is the same.) The root pyproject.toml's [project] `version` is the source. Every Python distribution of the
workspace and both charts' `version` and `appVersion` restate it (the documentation reads it from the chart);
this script rewrites them all, then runs `uv lock`, as uv.lock records each workspace member's version
(`uv sync --frozen` refuses a stale lock). The images' tags need nothing: the charts default every image tag to
Chart.appVersion (`defaults.image.tag`, `operations.image.tag` and the operator chart's `image.tag` are
empty), and skaffold, compose and `orderflow k8s install` tag their own builds.

`scripts/set-version --check` changes nothing and fails, naming each place, when any restatement (uv.lock's
included) differs from the root version; tests/unit/test_version.py checks the same in CI. Only
MAJOR.MINOR.PATCH is accepted: the one spelling that is both SemVer (Helm) and canonical PEP 440 (uv.lock
would spell `1.0.0-rc.1` as `1.0.0rc1`, so one pre-release would be written two ways).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RELEASE = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
# The version each place states, in the named group `v`. Anchored lines: a chart's own version and appVersion
# are top-level keys, a distribution's is the `version` line of its [project] table.
PYPROJECT_VERSION = re.compile(r'^version = "(?P<v>[^"\n]*)"$', re.MULTILINE)
CHART_VERSION = re.compile(r"^version: (?P<v>[^\s#]+)$", re.MULTILINE)
CHART_APP_VERSION = re.compile(r'^appVersion: "(?P<v>[^"\n]*)"$', re.MULTILINE)
# The documentation's `helm install` example sets the tag of the images the user pushed (a release's version);
# a page may also leave it out or set "$TAG".


class VersionError(Exception):
    """A version that cannot be set, or a place that cannot be read; the message says what to do."""


@dataclass(frozen=True)
class Place:
    """One statement of the version: a file, the pattern that finds it there, and what it is called."""

    path: str  # relative to the repository root
    pattern: re.Pattern[str]
    what: str
    section: str | None = None  # only inside this TOML table


def check_version(text: str) -> str:
    """`text` if it is a release version MAJOR.MINOR.PATCH, else a VersionError naming the fix."""
    if RELEASE.fullmatch(text):
        return text
    if text[:1] in ("v", "V") and RELEASE.fullmatch(text[1:]):
        raise VersionError(f"{text!r}: give the version without the leading {text[0]!r}, e.g. {text[1:]}")
    release = RELEASE.match(text)
    if release is not None and text[release.end() : release.end() + 1] in ("-", "+"):
        raise VersionError(
            f"{text!r}: only MAJOR.MINOR.PATCH is supported (Helm and the Python packages would spell a "
            f"pre-release or build suffix differently), e.g. {release.group(0)}"
        )
    raise VersionError(
        f"{text!r} is not a release version: give MAJOR.MINOR.PATCH, three numbers without leading zeros, e.g. 0.2.0"
    )


def workspace(root: Path) -> dict[str, Any]:
    """The root pyproject.toml."""
    return tomllib.loads((root / "pyproject.toml").read_text())


def root_version(root: Path) -> str:
    """The one source: the root pyproject.toml's [project] version."""
    project = workspace(root).get("project")
    version = project.get("version") if isinstance(project, dict) else None
    if not isinstance(version, str):
        raise VersionError(f"{root / 'pyproject.toml'}: no [project] version, the one the others restate")
    return version


def places(root: Path) -> list[Place]:
    """Every place that restates the root version: the workspace members and the charts."""
    members: list[str] = workspace(root).get("tool", {}).get("uv", {}).get("workspace", {}).get("members", [])
    found = [
        Place(f"{member}/pyproject.toml", PYPROJECT_VERSION, "[project] version", section="project")
        for member in members
    ]
    for chart in sorted(root.glob("charts/*/Chart.yaml")):
        relative = chart.relative_to(root).as_posix()
        found += [Place(relative, CHART_VERSION, "version"), Place(relative, CHART_APP_VERSION, "appVersion")]
    return found


def _span(text: str, place: Place) -> tuple[int, int]:
    """The part of `text` the place's pattern searches: the whole file, or one TOML table's lines."""
    if place.section is None:
        return 0, len(text)
    header = re.search(rf"^\[{re.escape(place.section)}\]\s*$", text, re.MULTILINE)
    if header is None:
        raise VersionError(f"{place.path}: no [{place.section}] table")
    following = re.compile(r"^\[", re.MULTILINE).search(text, header.end())
    return header.end(), following.start() if following else len(text)


def stated(root: Path, place: Place) -> list[str]:
    """The versions `place` states: exactly one, else a VersionError."""
    path = root / place.path
    if not path.exists():
        raise VersionError(f"{place.path} does not exist (a workspace member or chart without its file?)")
    text = path.read_text()
    start, end = _span(text, place)
    versions = [match.group("v") for match in place.pattern.finditer(text, start, end)]
    if len(versions) != 1:
        raise VersionError(f"{place.path}: expected one `{place.what}` line, found {len(versions)}")
    return versions


def drift(root: Path) -> list[str]:
    """Each restatement that differs from the root version, as a line naming the file and what it says."""
    version = root_version(root)
    return [
        f"{place.path}: {place.what} is {found}, the root pyproject.toml says {version}"
        for place in places(root)
        for found in stated(root, place)
        if found != version
    ] + [
        f"uv.lock: {name} is {locked}, the root pyproject.toml says {version}"
        for name, locked in locked_versions(root).items()
        if locked != version
    ]


def rewrite(root: Path, version: str) -> list[str]:
    """Set `version` in the root pyproject.toml and every restatement; the files that changed."""
    check_version(version)
    source = Place("pyproject.toml", PYPROJECT_VERSION, "[project] version", section="project")
    changed: list[str] = []
    for place in [source, *places(root)]:
        stated(root, place)  # fails before writing anything when a place cannot be read
    for place in [source, *places(root)]:
        path = root / place.path
        text = path.read_text()
        start, end = _span(text, place)
        head, body, tail = text[:start], text[start:end], text[end:]
        new = head + place.pattern.sub(lambda m: _replace(m, version), body) + tail
        if new != text:
            path.write_text(new)
            if place.path not in changed:
                changed.append(place.path)
    return changed


def _replace(match: re.Match[str], version: str) -> str:
    whole, start, end = match.group(0), match.start("v") - match.start(), match.end("v") - match.start()
    return whole[:start] + version + whole[end:]


def locked_versions(root: Path) -> dict[str, str]:
    """The versions uv.lock records for the workspace's own packages (editable or virtual sources)."""
    lock = root / "uv.lock"
    if not lock.exists():
        return {}
    packages = tomllib.loads(lock.read_text()).get("package", [])
    return {
        package["name"]: package["version"]
        for package in packages
        if "version" in package and {"editable", "virtual"} & set(package.get("source", {}))
    }


def pinned_uv(root: Path) -> Path | None:
    """The uv the Makefile installs (UV_VERSION under ORDERFLOW_CACHE_DIR, XDG_CACHE_HOME or ~/.cache)."""
    makefile = root / "Makefile"
    pin = re.search(r"^UV_VERSION := (\S+)$", makefile.read_text(), re.MULTILINE) if makefile.exists() else None
    if pin is None:
        return None
    cache = os.environ.get("ORDERFLOW_CACHE_DIR") or (
        f"{os.environ['XDG_CACHE_HOME']}/orderflow" if os.environ.get("XDG_CACHE_HOME") else None
    )
    base = Path(cache) if cache else Path.home() / ".cache" / "orderflow"
    uv = base / f"uv-{pin.group(1)}" / "bin" / "uv"
    return uv if uv.exists() else None


def lock(root: Path, uv: str | None) -> None:
    """`uv lock`, so that uv.lock records the members' new versions (`uv sync --frozen` refuses a stale lock)."""
    command = uv or (str(found) if (found := pinned_uv(root)) else shutil.which("uv"))
    if command is None:
        raise VersionError("no uv to update uv.lock: run `make venv` (it installs the pinned uv) or pass --uv PATH")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    if subprocess.run([command, "lock"], cwd=root, env=env, check=False).returncode != 0:
        raise VersionError(f"`{command} lock` failed (output above); uv.lock still states the old version")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/set-version",
        description="Set orderflow's version in every pyproject.toml, both charts and uv.lock.",
    )
    parser.add_argument("version", nargs="?", help="the new version, MAJOR.MINOR.PATCH (e.g. 0.2.0)")
    parser.add_argument("--check", action="store_true", help="change nothing; fail if any place differs")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this checkout)")
    parser.add_argument("--uv", help="the uv to run `uv lock` with (default: the Makefile's pinned uv)")
    parser.add_argument("--no-lock", action="store_true", help="leave uv.lock alone (update it yourself)")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    try:
        if args.check:
            if args.version is not None:
                parser.error("--check takes no version: it compares every place with the root pyproject.toml")
            problems = drift(root)
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                print(f"fix: scripts/set-version {root_version(root)}", file=sys.stderr)
                return 1
            print(f"every place states {root_version(root)}")
            return 0
        if args.version is None:
            parser.error("give the new version (e.g. 0.2.0), or --check")
        old = root_version(root)
        changed = rewrite(root, args.version)
        for path in changed:
            print(f"{path}: {args.version}")
        stale = any(locked != args.version for locked in locked_versions(root).values())
        if stale and args.no_lock:
            print(f"uv.lock: left stating the old version (--no-lock); run `uv lock` in {root}")
        elif stale:
            lock(root, args.uv)
            print("uv.lock: updated")
        print(f"version {old} -> {args.version}" if changed else f"every place already states {args.version}")
        return 0
    except VersionError as error:
        print(f"set-version: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
