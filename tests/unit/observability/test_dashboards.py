"""The Grafana dashboards shipped with the chart: valid dashboards, querying only metrics the code exposes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY, CollectorRegistry

import services.orders.app
from operators.scaler import metrics as scaler_metrics

DASHBOARDS = sorted((Path(__file__).resolve().parents[3] / "charts" / "orderflow" / "dashboards").glob("*.json"))
# The series names a metric family of each type exposes (prometheus_client names counters without `_total`).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}


def exposed_names() -> set[str]:
    assert services.orders.app  # imported for the metrics its modules register
    registries: list[CollectorRegistry] = [REGISTRY, scaler_metrics.REGISTRY]
    return {
        metric.name + suffix
        for registry in registries
        for metric in registry.collect()
        for suffix in SUFFIXES[metric.type]
    }


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: what is left without strings, matchers, groupings, calls."""
    bare = re.sub(r'"[^"]*"', "", expr)
    bare = re.sub(r"\$\{?\w+\}?", "", bare)  # Grafana variables such as $__rate_interval
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", bare)
    bare = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", bare)
    bare = re.sub(r"label_values\(([^,)]*),[^)]*\)", r"(\1)", bare)  # Grafana's: the second argument is a label
    identifiers = re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)\s*(\()?", bare)
    return {match[1] for match in identifiers if match[2] is None and match[1] not in PROMQL_WORDS}


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


@pytest.fixture(params=DASHBOARDS, ids=[path.name for path in DASHBOARDS])
def board(request: pytest.FixtureRequest) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(request.param.read_text())
    return loaded


def test_the_chart_ships_the_service_queue_and_autoscaler_dashboards() -> None:
    assert [path.name for path in DASHBOARDS] == [
        "orderflow-autoscaler.json",
        "orderflow-queues.json",
        "orderflow-services.json",
    ]


def test_each_file_is_a_grafana_dashboard(board: dict[str, Any]) -> None:
    assert 0 < len(board["uid"]) <= 40
    assert board["title"]
    assert isinstance(board["schemaVersion"], int)
    assert {variable["name"] for variable in board["templating"]["list"]} >= {"datasource"}
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(board):
        assert panel["type"] in {"row", "timeseries", "stat", "bargauge"}
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert all(target["expr"] and target["refId"] for target in panel["targets"])


def test_every_metric_a_dashboard_queries_is_one_the_code_exposes(board: dict[str, Any]) -> None:
    exprs = [target["expr"] for panel in panels(board) for target in panel.get("targets", [])]
    exprs += [variable["definition"] for variable in board["templating"]["list"] if variable["type"] == "query"]
    queried = {name for expr in exprs for name in metric_names(expr)}

    assert queried, "no metric found: the expression parser is broken"
    assert queried - exposed_names() == set()


def test_the_expression_parser_finds_metrics_and_nothing_else() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(a_seconds_bucket{service=~"$service"}[$__rate_interval])))'
        ' / on (route) group_left sum(b_total) + label_values(c_gauge{x="y"}, service)'
    )
    assert metric_names(expr) == {"a_seconds_bucket", "b_total", "c_gauge"}
