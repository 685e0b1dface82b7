"""Each chart's README.md is what helm-docs generates from its Chart.yaml and values.yaml (`make chart-docs`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devstack.cache import ToolMissing
from devstack.chartdocs import CHARTS, generate
from devstack.cluster.build import BuildError
from tests.support.infrastructure import unavailable

pytestmark = [pytest.mark.apiserver, pytest.mark.timeout(1800)]


def test_every_chart_readme_is_generated_from_its_values(tmp_path: Path) -> None:
    copy = tmp_path / "charts"
    shutil.copytree(CHARTS, copy, ignore=shutil.ignore_patterns("README.md"))
    try:
        generate(copy, log=lambda line: print(f"[helm-docs] {line}"))
    except (ToolMissing, BuildError, OSError) as error:
        unavailable("helm-docs", error)
    charts = sorted(path.parent.name for path in CHARTS.glob("*/Chart.yaml"))
    assert charts == ["orderflow", "orderflow-operator"]
    for chart in charts:
        generated = (copy / chart / "README.md").read_text()
        assert "| Key | Type | Default | Description |" in generated
        committed = CHARTS / chart / "README.md"
        assert committed.exists(), f"run `make chart-docs` ({chart})"
        assert committed.read_text() == generated, f"run `make chart-docs` ({chart})"
