"""Strimzi's CRD generation as data: the generator's argv, the stamp of the cache, the checks of its output."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from devstack.cache import ToolMissing
from devstack.cluster import strimzicrds
from devstack.cluster.crdsources import GeneratedFile, manifest


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORDERFLOW_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_one_generator_run_writes_every_file_by_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    files = {"040-Crd-kafka.yaml": GeneratedFile("io.strimzi.api.kafka.model.kafka.Kafka", "x")}
    argv = strimzicrds.generator_argv("/jdk/bin/java", Path("/c/libs"), files, Path("out"))
    assert argv[:4] == ["/jdk/bin/java", "-cp", "/c/libs/*", "io.strimzi.crdgenerator.CrdGenerator"]
    assert argv[-2:] == ["--yaml", f"io.strimzi.api.kafka.model.kafka.Kafka={tmp_path}/out/040-Crd-kafka.yaml"]
    options = argv[4:-2]
    assert options[options.index("--storage-version") + 1] == "v1"
    assert options[options.index("--crd-api-version") + 1] == "v1"
    assert "strimzi.io/crd-install:true" in options


def test_the_stamp_changes_with_the_version_and_with_each_files_checksum() -> None:
    entry = manifest().strimzi
    bumped = dataclasses.replace(entry, version="1.3.0")
    file = next(iter(entry.files))
    rehashed = dataclasses.replace(entry, files={**entry.files, file: GeneratedFile(entry.files[file].model, "0")})
    assert len({strimzicrds.stamp(entry), strimzicrds.stamp(bumped), strimzicrds.stamp(rehashed)}) == 3


def test_mismatches_name_missing_and_altered_files_with_their_checksum(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a")
    (tmp_path / "b.yaml").write_text("b, changed")
    digest = {name: hashlib.sha256(name.encode()).hexdigest() for name in "abc"}
    files = {f"{name}.yaml": GeneratedFile("M", digest[name]) for name in "abc"}
    changed = hashlib.sha256(b"b, changed").hexdigest()
    assert strimzicrds.mismatches(tmp_path, files) == [f"b.yaml: {changed}", "c.yaml: missing"]


def test_current_crds_need_neither_maven_nor_java(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crds = cache / f"strimzi-{manifest().strimzi.version}" / "crds"
    crds.mkdir(parents=True)
    (crds / ".stamp").write_text(strimzicrds.stamp(manifest().strimzi) + "\n")
    monkeypatch.setenv("PATH", "")
    assert strimzicrds.strimzi_crds_dir(log=print) == crds


def test_missing_maven_on_an_empty_cache_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ToolMissing, match=r"`mvn` was not found.*Strimzi 1\.2\.0.*apt-get install -y maven"):
        strimzicrds.strimzi_crds_dir(log=print)
