"""One version: the root pyproject.toml states it, every restatement (workspace members, both charts, uv.lock, the
documentation's `helm install` example) equals it, and scripts/set-version rewrites them all (on a copy here)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eventkit.observability.setup import _version
from scripts import set_version

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "set_version.py"


def test_every_restatement_is_the_root_version() -> None:
    assert set_version.check_version(set_version.root_version(ROOT))
    assert set_version.drift(ROOT) == [], "fix: scripts/set-version <the root pyproject.toml's version>"


def test_the_traces_report_the_release_version() -> None:
    """service.version outside the chart (which sets it from the image tag): `orderflow up`, compose."""
    assert _version() == set_version.root_version(ROOT)


def pyprojects(root: Path) -> set[str]:
    """Every pyproject.toml of the checkout, outside hidden folders (.venv, caches) and node_modules."""
    found = set()
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".") and name != "node_modules"]
        if "pyproject.toml" in files:
            found.add((Path(folder) / "pyproject.toml").relative_to(root).as_posix())
    return found


def test_the_places_include_every_distribution_and_chart() -> None:
    named = {place.path for place in set_version.places(ROOT)}
    found = pyprojects(ROOT)
    assert found - {"pyproject.toml"} <= named, "a pyproject.toml that is not a member of the uv workspace"
    charts = {path.relative_to(ROOT).as_posix() for path in ROOT.glob("charts/*/Chart.yaml")}
    assert charts == {"charts/orderflow/Chart.yaml", "charts/orderflow-operator/Chart.yaml"}
    assert charts <= named
    locked = set_version.locked_versions(ROOT)
    assert "orderflow-workspace" in locked, "uv.lock records the workspace's own versions"
    assert len(locked) == len(found)


def test_the_images_take_their_tag_from_app_version() -> None:
    """A tag left empty is Chart.appVersion, so a chart never restates the version for its images."""
    app = yaml.safe_load((ROOT / "charts/orderflow/values.yaml").read_text())
    assert app["defaults"]["image"]["tag"] == ""
    assert app["operations"]["image"]["tag"] == ""
    assert all("tag" not in service.get("image", {}) for service in app["services"].values())
    operator = yaml.safe_load((ROOT / "charts/orderflow-operator/values.yaml").read_text())
    assert operator["image"]["tag"] == ""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the files that state the version, and a uv that only records how it was called."""
    files = ["pyproject.toml", "uv.lock", "Makefile", *(place.path for place in set_version.places(ROOT))]
    for name in dict.fromkeys(files):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, tmp_path / name)
    uv = tmp_path / "fake-uv"
    uv.write_text(f'#!/bin/sh\necho "$PWD $*" >> {tmp_path / "uv-calls"}\n')
    uv.chmod(uv.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


def test_the_script_sets_a_new_version_everywhere(checkout: Path) -> None:
    old = set_version.root_version(checkout)
    result = run("7.8.9", "--root", str(checkout), "--uv", str(checkout / "fake-uv"))
    assert result.returncode == 0, result.stderr
    assert set_version.root_version(checkout) == "7.8.9"
    # Only uv.lock, which the fake uv left alone, still states the old version.
    stale = [
        f"uv.lock: {name} is {old}, the root pyproject.toml says 7.8.9"
        for name in set_version.locked_versions(checkout)
    ]
    assert set_version.drift(checkout) == stale
    assert (checkout / "uv-calls").read_text() == f"{checkout} lock\n", "uv.lock follows the members' versions"
    for chart in ("orderflow", "orderflow-operator"):
        meta = yaml.safe_load((checkout / "charts" / chart / "Chart.yaml").read_text())
        assert (meta["version"], meta["appVersion"]) == ("7.8.9", "7.8.9")
    # Nothing but the version changed, line by line.
    for place in set_version.places(checkout):
        before, after = (ROOT / place.path).read_text().splitlines(), (checkout / place.path).read_text().splitlines()
        assert len(before) == len(after), place.path
        assert all(new.replace("7.8.9", old) == line for line, new in zip(before, after, strict=True)), place.path


def test_check_names_a_place_that_drifted(checkout: Path) -> None:
    chart = checkout / "charts/orderflow-operator/Chart.yaml"
    chart.write_text(chart.read_text().replace('appVersion: "', 'appVersion: "9', 1))
    result = run("--check", "--root", str(checkout))
    assert result.returncode == 1
    assert "charts/orderflow-operator/Chart.yaml: appVersion is 9" in result.stderr
    assert f"fix: scripts/set-version {set_version.root_version(checkout)}" in result.stderr


@pytest.mark.parametrize(
    ("version", "fix"),
    [
        ("v0.2.0", "without the leading 'v', e.g. 0.2.0"),
        ("0.2.0-rc.1", "only MAJOR.MINOR.PATCH is supported"),
        ("0.2", "give MAJOR.MINOR.PATCH"),
        ("01.2.3", "without leading zeros"),
        ("latest", "give MAJOR.MINOR.PATCH"),
    ],
)
def test_the_script_refuses_a_bad_version_and_changes_nothing(checkout: Path, version: str, fix: str) -> None:
    before = {path: path.read_bytes() for path in checkout.rglob("*") if path.is_file()}
    result = run(version, "--root", str(checkout), "--uv", str(checkout / "fake-uv"))
    assert result.returncode == 2
    assert fix in result.stderr
    assert {path: path.read_bytes() for path in checkout.rglob("*") if path.is_file()} == before


def test_the_wrapper_checks_this_checkout() -> None:
    result = subprocess.run([ROOT / "scripts" / "set-version", "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"every place states {set_version.root_version(ROOT)}\n"
