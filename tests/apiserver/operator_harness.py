"""Running the scaler operator in-process against the test API server, and the objects its tests need."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
import kopf
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

import operators.scaler.handlers  # noqa: F401 - registers the handlers in kopf's default registry
from devstack.cluster.controlplane import ControlPlane
from operators.scaler import metrics
from operators.scaler.config import OperatorConfig
from operators.scaler.spec import GROUP, PLURAL, VERSION
from tests.support import waiting

T = TypeVar("T")
SCALERS = f"/apis/{GROUP}/{VERSION}/namespaces/{{ns}}/{PLURAL}"


@contextlib.asynccontextmanager
async def running_operator(
    kube_api: ControlPlane, namespace: str, identity: str = "test-operator", lead: bool = True, **config: Any
) -> AsyncIterator[None]:
    """kopf's operator as a task of the test's loop, watching only `namespace`; it logs in through $KUBECONFIG
    (the caller sets it). With `lead`, returns once it holds the Lease, so new scalers are acted on at once."""
    defaults: dict[str, Any] = {
        "lease_seconds": 6,
        "metrics_port": 0,
        "kafka_timeout_seconds": 3,
        "max_backoff_seconds": 4,
    }
    settings = OperatorConfig(lease_namespace=namespace, identity=identity, **(defaults | config))
    stop = asyncio.Event()
    ready = asyncio.Event()
    task = asyncio.create_task(
        kopf.operator(
            namespaces=[namespace],
            clusterwide=False,
            standalone=True,
            memo=kopf.Memo(config=settings),
            stop_flag=stop,
            ready_flag=ready,
        )
    )
    try:
        await asyncio.wait_for(ready.wait(), 60)
        if lead:
            await until_leading(kube_api, namespace, settings.lease_name, identity)
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, 30)


async def until_leading(kube_api: ControlPlane, namespace: str, lease_name: str, identity: str) -> None:
    lease = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{lease_name}"
    async with kube_api.async_client() as client:

        async def leading() -> bool:
            response = await client.get(lease)
            return response.is_success and response.json()["spec"].get("holderIdentity") == identity

        await eventually(leading, timeout=30)


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float, interval: float = 0.2) -> T:
    """The first truthy result of `check`, polled until `timeout` (tests.support.waiting, typed for Optional)."""
    result = await waiting.eventually(check, bool, timeout=timeout, interval=interval)
    assert result is not None
    return result


def deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "consumer", "image": "registry.invalid/consumer:1"}]},
            },
        },
    }


def scaler(name: str, target: str, group: str, bootstrap: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ConsumerScaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"name": target},
            "bootstrapServers": bootstrap,
            "consumerGroup": group,
            "pollIntervalSeconds": 1,
            **spec,
        },
    }


class Cluster:
    """The few API calls the tests make, as admin."""

    def __init__(self, client: httpx.AsyncClient, namespace: str) -> None:
        self.client = client
        self.ns = namespace

    async def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        response = await self.client.post(path.format(ns=self.ns), json=body)
        assert response.is_success, response.text
        return response.json()  # type: ignore[no-any-return]

    async def deployment(self, name: str, replicas: int) -> None:
        await self.create("/apis/apps/v1/namespaces/{ns}/deployments", deployment(name, replicas))

    async def scaler(self, body: Mapping[str, Any]) -> None:
        await self.create(SCALERS, body)

    async def replicas(self, name: str) -> int:
        response = await self.client.get(f"/apis/apps/v1/namespaces/{self.ns}/deployments/{name}/scale")
        response.raise_for_status()
        return int(response.json()["spec"].get("replicas", 0))

    async def status(self, name: str) -> dict[str, Any]:
        response = await self.client.get(f"{SCALERS.format(ns=self.ns)}/{name}")
        response.raise_for_status()
        return response.json().get("status") or {}

    async def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        conditions = (await self.status(name)).get("conditions", [])
        return next((c for c in conditions if c["type"] == kind), None)

    async def events(self, name: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/api/v1/namespaces/{self.ns}/events", params={"fieldSelector": f"involvedObject.name={name}"}
        )
        response.raise_for_status()
        return response.json()["items"]  # type: ignore[no-any-return]

    async def table(self, plural_path: str) -> dict[str, Any]:
        """What `kubectl get` prints: the server-side Table with the CRD's printer columns."""
        response = await self.client.get(
            plural_path.format(ns=self.ns), headers={"Accept": "application/json;as=Table;g=meta.k8s.io;v=v1"}
        )
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


async def produce(bootstrap: str, topic: str, per_partition: Mapping[int, int]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for partition, count in per_partition.items():
            for i in range(count):
                await producer.send(topic, f"r{i}".encode(), partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


async def commit(bootstrap: str, group: str, topic: str, offsets: Mapping[int, int]) -> None:
    """Commit offsets for `group` as a consumer would, without joining the group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = {TopicPartition(topic, p): offset for p, offset in offsets.items()}
        consumer.assign(list(partitions))
        await consumer.commit(partitions)
    finally:
        await consumer.stop()


class ReplicaWatch:
    """Samples a Deployment's replicas in the background, to assert a bound was never crossed."""

    def __init__(self, cluster: Cluster, name: str) -> None:
        self.samples: list[int] = []
        self._cluster = cluster
        self._name = name
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.samples.append(await self._cluster.replicas(self._name))
            await asyncio.sleep(0.1)

    async def __aenter__(self) -> ReplicaWatch:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def format_table(table: Mapping[str, Any]) -> str:
    """A meta.k8s.io Table as `kubectl get -o wide` prints it."""
    header = [c["name"].upper() for c in table["columnDefinitions"]]
    rows = [[str(cell) for cell in row["cells"]] for row in table["rows"]]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    )


def format_events(events: list[dict[str, Any]]) -> str:
    """Events as `kubectl describe` lists them."""
    lines = [f"{'TYPE':<8} {'REASON':<17} {'FROM':<16} MESSAGE"]
    for e in sorted(events, key=lambda e: e["lastTimestamp"]):
        lines.append(f"{e['type']:<8} {e['reason']:<17} {e['source']['component']:<16} {e['message']}")
    return "\n".join(lines)


def format_describe(scaler: Mapping[str, Any], events: list[dict[str, Any]]) -> str:
    """A ConsumerScaler as `kubectl describe` shows it: spec, status, conditions, Events."""
    meta, status = scaler["metadata"], scaler.get("status") or {}
    lines = [f"Name:         {meta['name']}", f"Namespace:    {meta['namespace']}", "Spec:"]
    lines += [f"  {key}: {value}" for key, value in scaler["spec"].items()]
    lines.append("Status:")
    lines += [f"  {k}: {v}" for k, v in status.items() if k not in ("conditions", "partitions")]
    lines.append("  Partitions:")
    lines += [
        f"    {p['topic']}/{p['partition']}: lag {p['lag']} ({p['source']})" for p in status.get("partitions", [])
    ]
    lines.append(f"  {'Conditions:':<14}{'TYPE':<10}{'STATUS':<8}{'REASON':<20}MESSAGE")
    lines += [
        f"  {'':<14}{c['type']:<10}{c['status']:<8}{c.get('reason', ''):<20}{c.get('message', '')}"
        for c in status.get("conditions", [])
    ]
    lines.append("Events:")
    lines += ["  " + line for line in format_events(events).splitlines()]
    return "\n".join(lines)


def polls(namespace: str, name: str) -> float:
    """Polls the in-process operator made of one scaler so far, whatever their outcome."""
    return sum(
        sample.value
        for metric in metrics.REGISTRY.collect()
        if metric.name == "orderflow_scaler_polls"
        for sample in metric.samples
        if sample.name.endswith("_total") and (sample.labels["namespace"], sample.labels["name"]) == (namespace, name)
    )


async def after_polls(namespace: str, name: str, count: int = 2) -> None:
    """Until the operator polled the scaler `count` more times: what "it had its chance to act" looks like."""
    start = polls(namespace, name)

    async def seen() -> float | None:
        done = polls(namespace, name)
        return done if done >= start + count else None

    await eventually(seen, timeout=60)
