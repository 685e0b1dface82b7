"""k8s/vendor/crds.yaml, the manifest of the third-party CRDs: what the code reads; all that k8s/vendor holds."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from devstack.cluster import crdsources
from devstack.cluster.crds import CrdError

REPO = Path(__file__).resolve().parents[3]
POM = REPO / "devstack" / "cluster" / "strimzi-pom.xml"

MODULE = """
strimzi:
  what: Kafka
  license: Apache-2.0
  maven: [io.strimzi:api]
  version: 1.2.0
  files:
    040-Crd-kafka.yaml: {model: io.strimzi.api.kafka.model.kafka.Kafka, sha256: abc}
gateway-api:
  what: routes
  license: Apache-2.0
  go-module: sigs.k8s.io/gateway-api
  version: v1.7.0
  directory: config/crd/standard
  files: [a.yaml, b.yaml]
"""


def test_k8s_vendor_holds_only_the_manifest() -> None:
    assert sorted(path.name for path in (REPO / "k8s" / "vendor").iterdir()) == ["crds.yaml"]


def test_the_manifest_names_strimzis_four_crds_and_two_go_modules() -> None:
    manifest = crdsources.parse(crdsources.MANIFEST.read_text())
    assert manifest.strimzi.version == "1.2.0"
    assert sorted(manifest.strimzi.files) == [
        "040-Crd-kafka.yaml",
        "043-Crd-kafkatopic.yaml",
        "044-Crd-kafkauser.yaml",
        "045-Crd-kafkanodepool.yaml",
    ]
    assert all(len(file.sha256) == 64 for file in manifest.strimzi.files.values())
    assert {name: (m.module, m.version) for name, m in manifest.modules.items()} == {
        "gateway-api": ("sigs.k8s.io/gateway-api", "v1.7.0"),
        "prometheus-operator": ("github.com/prometheus-operator/prometheus-operator", "v0.85.0"),
    }
    assert {manifest.strimzi.license, *(m.license for m in manifest.modules.values())} == {"Apache-2.0"}


def test_the_strimzi_pom_resolves_exactly_the_manifests_artifacts_at_its_version() -> None:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    dependencies = ET.parse(POM).getroot().findall("m:dependencies/m:dependency", ns)
    found = [(d.findtext("m:groupId", namespaces=ns), d.findtext("m:artifactId", namespaces=ns)) for d in dependencies]
    assert [f"{group}:{artifact}" for group, artifact in found] == list(crdsources.manifest().strimzi.artifacts)
    assert {d.findtext("m:version", namespaces=ns) for d in dependencies} == {"${strimzi.version}"}


def test_a_module_entry_gives_the_paths_of_its_files_in_the_source() -> None:
    manifest = crdsources.parse(MODULE)
    gateway = manifest.modules["gateway-api"]
    assert gateway.paths(Path("/src")) == [
        Path("/src/config/crd/standard/a.yaml"),
        Path("/src/config/crd/standard/b.yaml"),
    ]
    assert manifest.strimzi.files["040-Crd-kafka.yaml"].model == "io.strimzi.api.kafka.model.kafka.Kafka"


def test_an_entry_without_a_version_is_refused_by_name() -> None:
    with pytest.raises(CrdError, match=r"gateway-api names no 'version'"):
        crdsources.parse(MODULE.replace("  version: v1.7.0\n", ""))


def test_an_entry_from_no_known_registry_is_refused() -> None:
    with pytest.raises(CrdError, match=r"gateway-api names neither 'maven' nor 'go-module'"):
        crdsources.parse(MODULE.replace("go-module:", "url:"))


def test_strimzi_is_the_one_maven_entry() -> None:
    with pytest.raises(CrdError, match=r"expected one Maven entry, strimzi"):
        crdsources.parse(MODULE.replace("strimzi:", "other:"))
