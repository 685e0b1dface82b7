"""Traces in Jaeger, metrics in Prometheus and alerts, on the kind cluster: the chart's bundled OpenTelemetry
Collector, Jaeger v2 and Prometheus 3 (k8s/observability-values.yaml, images of their Go builds), fed by the
services' pods. The services export to the collector only, so every trace found in Jaeger went through it.

One install of its own (namespace and Kafka cluster, an operator watching only it, inventory under a
ConsumerScaler), orders placed through the orders Service, then:
- Jaeger's query API holds ONE trace per order, with the orders, inventory and payments spans, each consumer
  span a child of the producer span of the record it handled (the parent travels in the Kafka headers);
- every PromQL expression of every dashboard in charts/orderflow/dashboards returns at least one series;
- DLQ garbage makes OrderflowDeadLetters fire, and payments scaled to zero makes OrderflowServiceDown fire.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.cluster.cluster import Cluster
from devstack.cluster.platform import Installed, install, uninstall
from eventkit.envelope import new_event, to_record
from eventkit.events import OrderLine, OrderPlaced
from orderflow.demo import SKUS
from tests.cluster.kube import (
    Images,
    finish_load,
    kubectl_json,
    log_tail,
    ops,
    produce_as,
    seed,
    service_url,
    start_load,
    wait_for,
    wait_reachable,
)

pytestmark = [pytest.mark.timeout(1800)]

DASHBOARDS = Path(__file__).resolve().parents[2] / "charts" / "orderflow" / "dashboards"
SERVICES = {"orders", "inventory", "payments"}
_LINE = OrderLine(sku=SKUS[0], quantity=1, unit_price=Decimal("1"))


@pytest.fixture(scope="module")
def observed(cluster: Cluster, images: Images) -> Iterator[Installed]:
    namespace = f"obs-{uuid.uuid4().hex[:6]}"
    settings = {
        "operations.enabled": "true",
        "services.inventory.autoscaler.enabled": "true",
        "observability.prometheus.serviceDownFor": "20s",  # not the default 2m: the test waits for it
    }
    try:
        installed = install(
            cluster,
            namespace=namespace,
            release="obs",
            tag=images.tag,
            build=False,
            observability=True,
            settings=settings,
            log=print,
        )
    except Exception:
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found", check=False)
        raise
    try:
        wait_reachable(cluster, installed)
        seed(cluster, installed)
        yield installed
    finally:
        uninstall(cluster, installed)
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def _url(cluster: Cluster, installed: Installed, component: str, port: int) -> str:
    svc = kubectl_json(cluster, "-n", installed.namespace, "get", "service", f"{installed.fullname}-{component}")
    return f"http://{svc['spec']['clusterIP']}:{port}"


@pytest.fixture(scope="module")
def jaeger(cluster: Cluster, observed: Installed) -> httpx.Client:
    return httpx.Client(base_url=_url(cluster, observed, "jaeger", 16686), timeout=10, trust_env=False)


@pytest.fixture(scope="module")
def prometheus(cluster: Cluster, observed: Installed) -> httpx.Client:
    return httpx.Client(base_url=_url(cluster, observed, "prometheus", 9090), timeout=10, trust_env=False)


@pytest.fixture(scope="module")
def orders(cluster: Cluster, observed: Installed) -> httpx.Client:
    return httpx.Client(base_url=service_url(cluster, observed, "orders"), timeout=40, trust_env=False)


@pytest.fixture(scope="module")
def loaded(cluster: Cluster, observed: Installed) -> dict[str, Any]:
    """A load run through the orders Service: confirmed and cancelled orders, every service busy."""
    summary = finish_load(start_load(service_url(cluster, observed, "orders"), 200, 20, seed=11))
    print(f"load: {summary}")
    assert summary["confirmed"] > 0, summary
    assert summary["cancelled"] > 0, summary
    return summary


@pytest.fixture(scope="module")
def pipeline(cluster: Cluster, observed: Installed, jaeger: httpx.Client, orders: httpx.Client) -> None:
    """Until the trace pipeline runs end to end: the services, the collector and Jaeger start together, and
    spans exported before the next hop answers may be retried for a while. One order's spans from all three
    services reaching Jaeger is the progress waited on. A hop drops what it cannot deliver, so each try places
    a new order."""
    placed: list[str] = []

    def arrived() -> bool:
        placed.append(_place(orders, "trace-warm-up", "3.00")[0])
        return any(_services(t) >= SERVICES for order_id in placed for t in _traces(jaeger, order_id))

    try:
        wait_for(arrived, "one order's spans from every service in Jaeger", 300, interval=5)
    except AssertionError as error:
        held = _summary(_traces(jaeger, placed[-1]))
        raise AssertionError(f"{error}; Jaeger holds of the last: {held}\n{_hops(cluster, observed)}") from None


def _hops(cluster: Cluster, installed: Installed) -> str:
    """Each hop of the trace pipeline as a failure needs it: the pods, and the log tails of orders, the collector
    and Jaeger (an export refused or retried shows there)."""
    namespace = installed.namespace
    parts = [cluster.kubectl("-n", namespace, "get", "pods", "-o", "wide", check=False)]
    for component in ("orders", "otel-collector", "jaeger"):
        tail = log_tail(cluster, namespace, f"deploy/{installed.fullname}-{component}", 40)
        parts.append(f"--- {component}:\n{tail}")
    return "\n".join(parts)


def _summary(traces: list[dict[str, Any]]) -> list[dict[str, int]]:
    """Per trace, the number of spans of each service: what a failure shows of a partial trace."""
    counts = []
    for trace in traces:
        per: dict[str, int] = {}
        for span in trace["spans"]:
            service = trace["processes"][span["processID"]]["serviceName"]
            per[service] = per.get(service, 0) + 1
        counts.append(per)
    return counts


def _place(orders: httpx.Client, customer: str, unit_price: str) -> tuple[str, dict[str, Any]]:
    body = {"customer_id": customer, "items": [{"sku": SKUS[0], "quantity": 1, "unit_price": unit_price}]}
    response = orders.post("/orders", json={**body, "currency": "EUR"})
    assert response.status_code == 202, response.text
    order_id: str = response.json()["order_id"]
    order = wait_for(lambda: _final(orders, order_id), f"order {order_id} final", timeout=120, interval=0)
    return order_id, order


def _final(orders: httpx.Client, order_id: str) -> dict[str, Any] | None:
    order: dict[str, Any] = orders.get(f"/orders/{order_id}", params={"wait": 10}).json()
    return order if order["status"] != "PENDING" else None


def _traces(jaeger: httpx.Client, order_id: str) -> list[dict[str, Any]]:
    """The traces holding a span whose Kafka message key is the order (as `orderflow trace` finds them)."""
    tags = json.dumps({"messaging.kafka.message.key": order_id})
    params: dict[str, str | int] = {"service": "orders", "tags": tags, "lookback": "1h", "limit": 20}
    response = jaeger.get("/api/traces", params=params)
    assert response.status_code == 200, response.text
    traces: list[dict[str, Any]] = response.json()["data"] or []
    return traces


def _services(trace: dict[str, Any]) -> set[str]:
    return {trace["processes"][span["processID"]]["serviceName"] for span in trace["spans"]}


def _tag(span: dict[str, Any], key: str) -> Any:
    return next((tag["value"] for tag in span.get("tags", []) if tag["key"] == key), None)


def _complete(jaeger: httpx.Client, order_id: str, answers: set[str]) -> list[dict[str, Any]] | None:
    """Once orders' spans handling each of `answers` arrived, and every parent with them (spans are exported in
    batches, per service, and either answer may come last)."""
    traces = _traces(jaeger, order_id)
    for trace in traces:
        names = {
            _tag(span, "cloudevents.event_type")
            for span in trace["spans"]
            if trace["processes"][span["processID"]]["serviceName"] == "orders"
        }
        ids = {span["spanID"] for span in trace["spans"]}
        # Each service exports in its own batches: wait until no span's parent is still on its way.
        closed = all(r["spanID"] in ids for span in trace["spans"] for r in span.get("references", []))
        if answers <= names and _services(trace) >= SERVICES and closed:
            return traces
    return None


@pytest.mark.parametrize(
    ("price", "status", "answers"),
    [
        ("3.00", "CONFIRMED", {"orderflow.stock.reserved.v1", "orderflow.payment.captured.v1"}),
        # above the payments limit: compensated
        ("20000.00", "CANCELLED", {"orderflow.stock.reserved.v1", "orderflow.payment.declined.v1"}),
    ],
    ids=["confirmed", "cancelled"],
)
def test_an_order_is_one_trace_in_jaeger_across_the_three_services(
    jaeger: httpx.Client, orders: httpx.Client, pipeline: None, price: str, status: str, answers: set[str]
) -> None:
    order_id, order = _place(orders, f"trace-{status.lower()}", price)
    assert order["status"] == status, order
    try:
        traces = wait_for(lambda: _complete(jaeger, order_id, answers), f"the trace of {order_id} in Jaeger", 120)
    except AssertionError as error:
        raise AssertionError(f"{error}; Jaeger holds: {_summary(_traces(jaeger, order_id))}") from None
    assert len(traces) == 1, f"{len(traces)} traces hold order {order_id}"
    [trace] = traces
    spans = {span["spanID"]: span for span in trace["spans"]}
    service_of = {sid: trace["processes"][span["processID"]]["serviceName"] for sid, span in spans.items()}
    # A consumer span's parent is the producer span of its record, and it also links to it; Jaeger shows that
    # parent and the identical link as one FOLLOWS_FROM reference, other parents as CHILD_OF.
    parents = {sid: next((r["spanID"] for r in span.get("references", [])), None) for sid, span in spans.items()}
    roots = [spans[sid]["operationName"] for sid, parent in parents.items() if parent is None]
    assert roots == ["POST /orders"], f"one root, the request: {roots}"
    assert all(parent in spans for parent in parents.values() if parent), "every parent is in the same trace"
    consumers = [sid for sid, span in spans.items() if _tag(span, "span.kind") == "consumer"]
    assert consumers
    for sid in consumers:
        parent = spans[parents[sid]]
        assert _tag(parent, "span.kind") == "producer", f"{spans[sid]['operationName']} under {parent['operationName']}"
    # Parents through Kafka: each consumer's span hangs under a span of another service (the record's producer).
    crossings = {(service_of[parent], service_of[sid]) for sid, parent in parents.items() if parent}
    assert {("orders", "inventory"), ("orders", "payments")} <= crossings, crossings
    assert {("inventory", "orders"), ("payments", "orders")} <= crossings, crossings
    print(f"{status} order {order_id}: one trace {trace['traceID']}, {len(spans)} spans")
    for sid, span in sorted(spans.items(), key=lambda item: item[1]["startTime"]):
        print(f"  {service_of[sid]:<9} {span['operationName']}")


def test_the_services_export_through_the_collector(cluster: Cluster, observed: Installed) -> None:
    collector = f"{observed.fullname}-otel-collector"
    for service in SERVICES:
        deployment = kubectl_json(
            cluster, "-n", observed.namespace, "get", "deployment", f"{observed.fullname}-{service}"
        )
        [container] = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == service]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://{collector}:4317", env
    state = kubectl_json(cluster, "-n", observed.namespace, "get", "deployment", collector)
    assert state["status"].get("readyReplicas") == 1, state["status"]
    config = kubectl_json(cluster, "-n", observed.namespace, "get", "configmap", collector)["data"]["config.yaml"]
    assert "otlp/jaeger" in config, "the collector forwards to the bundled Jaeger"


def _query(prometheus: httpx.Client, expr: str) -> list[dict[str, Any]]:
    response = prometheus.get("/api/v1/query", params={"query": expr})
    assert response.status_code == 200, f"{expr}: {response.text}"
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def _dead_letter_garbage(cluster: Cluster, installed: Installed) -> None:
    """A record with no CloudEvents headers on the orders topic: inventory and payments dead-letter it."""
    produce_as(cluster, installed, "orders", "orders", [(b"garbage", b"{not json", [])])


def _firing(prometheus: httpx.Client, alert: str, **labels: str) -> dict[str, Any] | None:
    alerts = prometheus.get("/api/v1/alerts").json()["data"]["alerts"]
    return next(
        (
            a
            for a in alerts
            if a["labels"]["alertname"] == alert and a["state"] == "firing" and labels.items() <= a["labels"].items()
        ),
        None,
    )


def test_dead_letters_fire_their_alert(
    cluster: Cluster, observed: Installed, prometheus: httpx.Client, loaded: dict[str, Any]
) -> None:
    _dead_letter_garbage(cluster, observed)
    alert = wait_for(
        lambda: _firing(prometheus, "OrderflowDeadLetters", namespace=observed.namespace),
        "OrderflowDeadLetters firing",
        timeout=180,
        interval=2,
    )
    print(f"firing: {alert['labels']} {alert['annotations']['summary']}")


def _expressions() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append((path.stem, panel["title"], target["expr"]))
    return found


def _substituted(expr: str, namespace: str) -> str:
    values = {"$namespace": namespace, "$group": ".*", "$service": ".*", "$scaler": ".*", "$__rate_interval": "1m"}
    for variable, value in values.items():
        expr = expr.replace(variable, value)
    return expr


def test_every_dashboard_panel_reads_data_from_prometheus(
    observed: Installed, prometheus: httpx.Client, loaded: dict[str, Any]
) -> None:
    expressions = _expressions()
    assert len(expressions) > 30
    counts: dict[tuple[str, str, str], int] = {}

    def all_answer() -> bool:
        for key in expressions:
            if not counts.get(key):
                counts[key] = len(_query(prometheus, _substituted(key[2], observed.namespace)))
        return all(counts.values())

    try:
        wait_for(all_answer, "every dashboard query answering", timeout=180, interval=5)
    finally:
        for (dashboard, title, _), count in counts.items():
            print(f"{count:>4} series  {dashboard} / {title}")
    silent = [f"{dashboard} / {title}" for (dashboard, title, _), count in counts.items() if not count]
    assert not silent, f"panels without data: {silent}"


# After the alert test: its dead letters would make that alert fire before the test's own garbage does.
def _send_poisoned_order(cluster: Cluster, installed: Installed, trace_id: str) -> str:
    """A well-formed CloudEvent `OrderPlaced` whose data fails validation (no lines), sent inside trace `trace_id`
    as a producing service would: both consumers dead-letter it at once. Its event id."""
    event = new_event(
        OrderPlaced(order_id=uuid.uuid4(), customer_id="poison", items=[_LINE], currency="EUR", total=Decimal("1")),
        source="tests/cluster",
    )
    record = to_record(event, extra_headers=[("traceparent", f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01".encode())])
    value = json.dumps({**json.loads(record.value), "items": []}).encode()
    produce_as(cluster, installed, "orders", "orders", [(record.key, value, list(record.headers))])
    return event.id


def _dead_letter_sends(jaeger: httpx.Client, trace_id: str, dlq: str) -> dict[str, int]:
    """Per service, its spans in trace `trace_id` sending a record to the dead-letter topic `dlq`."""
    response = jaeger.get(f"/api/traces/{trace_id}")
    if response.status_code == 404:
        return {}
    assert response.status_code == 200, response.text
    [trace] = response.json()["data"]
    sends: dict[str, int] = {}
    for span in trace["spans"]:
        if span["operationName"] == f"send {dlq}":
            service = trace["processes"][span["processID"]]["serviceName"]
            sends[service] = sends.get(service, 0) + 1
    return sends


def test_a_dead_letter_and_its_replay_stay_in_the_trace_of_the_original_send(
    cluster: Cluster, observed: Installed, jaeger: httpx.Client, pipeline: None
) -> None:
    """A record that cannot be parsed gets no process span, but each consumer's send to the DLQ continues the
    trace the record carried; the replay (through each group's retry topic) dead-letters it again, in that
    same trace."""
    trace_id = uuid.uuid4().hex
    dlq = "orders.dlq"
    event_id = _send_poisoned_order(cluster, observed, trace_id)
    once = {"inventory": 1, "payments": 1}
    wait_for(lambda: _dead_letter_sends(jaeger, trace_id, dlq) == once, f"both dead-letter sends in {trace_id}", 120)
    done = ops(cluster, observed, "dlq", "replay", "--topic", "orders", "--event-id", event_id)  # as on call
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replayed 2 records" in done.stdout, done.stdout  # one per group that dead-lettered it
    twice = {"inventory": 2, "payments": 2}
    wait_for(lambda: _dead_letter_sends(jaeger, trace_id, dlq) == twice, "the replays' sends in the same trace", 120)
    print(f"trace {trace_id}: {twice} sends to {dlq}, before and after `orderflow dlq replay`")


def test_a_service_with_no_pod_fires_service_down(
    cluster: Cluster, observed: Installed, prometheus: httpx.Client
) -> None:
    deployment = f"deployment/{observed.fullname}-payments"
    service = f"{observed.fullname}-payments"
    cluster.kubectl("-n", observed.namespace, "scale", deployment, "--replicas=0")
    try:
        alert = wait_for(
            lambda: _firing(prometheus, "OrderflowServiceDown", namespace=observed.namespace, service=service),
            "OrderflowServiceDown firing",
            timeout=300,
            interval=5,
        )
        print(f"firing: {alert['labels']} {alert['annotations']['summary']}")
        orders = f"{observed.fullname}-orders"
        assert not _firing(prometheus, "OrderflowServiceDown", namespace=observed.namespace, service=orders)
    finally:
        cluster.kubectl("-n", observed.namespace, "scale", deployment, "--replicas=1")
        cluster.kubectl("-n", observed.namespace, "rollout", "status", deployment, "--timeout=180s")
