"""The chart's alert rules, as its bundled Prometheus and its PrometheusRule carry them, checked by the pinned
promtool (`promtool check rules`, then `promtool test rules` with charts/orderflow/rules/tests.yaml)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from devstack.cache import ToolMissing
from devstack.cluster.build import BuildError, ensure_tools
from devstack.cluster.tools import PROMETHEUS
from tests.apiserver.helm import CHART, Helm, named
from tests.support.infrastructure import unavailable

pytestmark = [pytest.mark.apiserver, pytest.mark.timeout(1800)]

RULES = CHART / "rules"
VALUES = ["--set", "observability.prometheus.enabled=true", "--set", "observability.prometheusRule.enabled=true"]


@pytest.fixture(scope="module")
def promtool() -> Path:
    try:
        ensure_tools((PROMETHEUS,), log=lambda line: print(f"[promtool] {line}"))
    except (ToolMissing, BuildError, OSError) as error:
        unavailable("promtool", error)
    return PROMETHEUS.binary("promtool")


@pytest.fixture(scope="module")
def rendered(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled Prometheus' rule files, from `helm template` of release "orderflow" in namespace "of"."""
    manifests = helm.template(*VALUES, release="orderflow", namespace="of")
    files = named(manifests, "ConfigMap", "orderflow-prometheus")["data"]
    folder = tmp_path_factory.mktemp("rules")
    for name in ("orderflow-alerts.yaml", "orderflow-targets.yaml"):
        (folder / name).write_text(files[name])
    shutil.copy(RULES / "tests.yaml", folder / "tests.yaml")
    prometheus_rule = named(manifests, "PrometheusRule", "orderflow")
    (folder / "prometheusrule.yaml").write_text(yaml.safe_dump(prometheus_rule["spec"]))
    return folder


def _promtool(promtool: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(promtool), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_the_bundled_prometheus_carries_the_rules_file_unchanged(rendered: Path) -> None:
    assert (rendered / "orderflow-alerts.yaml").read_text() == (RULES / "orderflow-alerts.yaml").read_text()


def test_every_rule_file_and_the_prometheusrule_are_valid(promtool: Path, rendered: Path) -> None:
    files = ["orderflow-alerts.yaml", "orderflow-targets.yaml", "prometheusrule.yaml"]
    done = _promtool(promtool, "check", "rules", *files, cwd=rendered)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_prometheusrule_holds_every_rule_of_the_bundled_prometheus(rendered: Path) -> None:
    def alerts(*names: str) -> list[str]:
        docs = [yaml.safe_load((rendered / name).read_text()) for name in names]
        return sorted(rule["alert"] for doc in docs for group in doc["groups"] for rule in group["rules"])

    assert alerts("prometheusrule.yaml") == alerts("orderflow-alerts.yaml", "orderflow-targets.yaml")


def test_every_alert_fires_when_it_should_and_only_then(promtool: Path, rendered: Path) -> None:
    done = _promtool(promtool, "test", "rules", "tests.yaml", cwd=rendered)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_has_a_test(rendered: Path) -> None:
    tests = yaml.safe_load((rendered / "tests.yaml").read_text())["tests"]
    tested = {check["alertname"] for test in tests for check in test["alert_rule_test"]}
    docs = [yaml.safe_load((rendered / n).read_text()) for n in ("orderflow-alerts.yaml", "orderflow-targets.yaml")]
    assert {rule["alert"] for doc in docs for group in doc["groups"] for rule in group["rules"]} == tested


def test_every_alert_says_what_happened_what_it_means_and_where_the_runbook_is(rendered: Path) -> None:
    docs = [yaml.safe_load((rendered / n).read_text()) for n in ("orderflow-alerts.yaml", "orderflow-targets.yaml")]
    rules = [rule for doc in docs for group in doc["groups"] for rule in group["rules"]]
    assert len(rules) >= 8
    for rule in rules:
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}, rule["alert"]
        assert rule["annotations"]["description"].endswith("."), rule["alert"]
        assert rule["annotations"]["runbook_url"].startswith("operations/#"), rule["alert"]


def test_every_runbook_url_starts_with_where_the_docs_are_served(helm: Helm) -> None:
    base = "https://docs.example.com/orderflow/"
    manifests = helm.template(*VALUES, "--set", f"observability.runbookBaseUrl={base}", release="r", namespace="n")
    files = named(manifests, "ConfigMap", "r-orderflow-prometheus")["data"]
    groups = [
        group
        for name in ("orderflow-alerts.yaml", "orderflow-targets.yaml")
        for group in yaml.safe_load(files[name])["groups"]
    ]
    groups += named(manifests, "PrometheusRule", "r-orderflow")["spec"]["groups"]
    urls = [rule["annotations"]["runbook_url"] for group in groups for rule in group["rules"]]
    assert len(urls) >= 16
    assert [url for url in urls if not url.startswith(f"{base}operations/#")] == []
