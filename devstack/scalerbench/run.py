"""`orderflow scaler bench`: each trace fed at once to four groups of the same consumer pods, scaled by ours (a
ConsumerScaler), by KEDA with its defaults, by KEDA tuned and by KEDA at its best (tuned plus the Kafka trigger's
options for the trace, `keda.best`) (ScaledObjects, the real HPA), on the local cluster.

Per trace run: fresh topics and groups, the Deployments at their initial replicas and joined, then a random
phase (0-30 s) so no contender's poll loop is in step with the trace, then the trace for its length while the
observer samples every second. Repeated `--runs` times; medians and spread per metric, as in
`orderflow scaler compare`, plus how ours fares against tuned and best KEDA on the issue's goals.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError, GroupLoadInProgressError

from devstack.cluster import keda as keda_install
from devstack.cluster.cluster import Cluster
from devstack.cluster.platform import ensure_broker, install_operator, namespace_manifest
from devstack.images import app_images
from devstack.scalerbench import feed, keda, measures, workload
from devstack.scalerbench.compare import LAG_PER_REPLICA, Summary, our_spec, summarize
from devstack.scalerbench.observe import Observer, Target
from devstack.scalerbench.simulate import Result
from devstack.scalerbench.traces import PARTITIONS, Trace
from eventkit.offsets import OffsetReader
from eventkit.settings import KafkaSettings
from eventkit.topics import create_topics

NAMESPACE = "scaler-bench"
MAX_REPLICAS = PARTITIONS
PHASE_SECONDS = 30.0
LEAD_SECONDS = 3.0  # of inflow before the autoscalers exist
CONTENDERS = ("ours", "keda", "keda-tuned", "keda-best")

Log = Callable[[str], None]


@dataclass(frozen=True)
class Setup:
    bootstrap: str
    rate: float  # records/s per pod


def prepare(cluster: Cluster, log: Log) -> str:
    """The consumer and operator images, the broker, KEDA, our operator and the namespace; the bootstrap address."""
    refs = app_images.build_all(
        cluster.engine, "local", log=log, logs=cluster.logs, images=(workload.CONSUMER, app_images.OPERATOR)
    )
    cluster.load(refs)
    broker = ensure_broker(cluster, log)
    keda_install.install(cluster, log)
    cluster.kubectl("apply", "-f", "-", input=json.dumps(namespace_manifest(NAMESPACE)))
    image_id = cluster.engine.image_id(app_images.OPERATOR.ref("local")) or ""
    install_operator(cluster, NAMESPACE, "scaler-bench-operator", "local", image_id)
    log(f"our operator serves {NAMESPACE}; Kafka at {broker.bootstrap_servers}")
    return broker.bootstrap_servers


def keda_config(name: str, trace: Trace) -> keda.KedaConfig:
    """The ScaledObject's configuration of KEDA contender `name` on `trace`."""
    if name == "keda":
        config = keda.defaults(LAG_PER_REPLICA, MAX_REPLICAS)
    elif name == "keda-tuned":
        config = keda.tuned(LAG_PER_REPLICA, MAX_REPLICAS)
    elif name == "keda-best":
        config = keda.best(trace.name, LAG_PER_REPLICA, MAX_REPLICAS)
    else:
        raise ValueError(f"no KEDA contender {name}")
    # Like ours, each is told where the consumers start without a commit (their auto.offset.reset).
    return replace(config, offset_reset_policy=trace.reset)


def contender_object(name: str, trace: Trace, setup: Setup, group: str, topic: str) -> dict[str, Any]:
    if name == "ours":
        spec = our_spec(
            scaleTargetRef={"name": name},
            bootstrapServers=setup.bootstrap,
            consumerGroup=group,
            topics=[topic],
            maxReplicas=MAX_REPLICAS,
            offsetResetPolicy=trace.reset,
        )
        return workload.consumer_scaler(spec, name, NAMESPACE)
    config = keda_config(name, trace)
    return workload.scaled_object(config, name, NAMESPACE, bootstrap=setup.bootstrap, group=group, topic=topic)


async def run_trace(cluster: Cluster, trace: Trace, setup: Setup, rng: random.Random, log: Log) -> dict[str, Result]:
    """One run of `trace` under every contender at once."""
    run_id = uuid.uuid4().hex[:6]
    targets = [
        Target(name, f"sb-{trace.name}-{run_id}-{name}", f"sb-{trace.name}-{run_id}-{name}") for name in CONTENDERS
    ]
    kafka = KafkaSettings(bootstrap_servers=setup.bootstrap)
    await create_topics(kafka, {target.topic: PARTITIONS for target in targets})
    if trace.markers:
        await feed.write_markers(setup.bootstrap, [target.topic for target in targets], trace.markers)
    deployments = [
        workload.consumer_deployment(
            target.scaler,
            NAMESPACE,
            replicas=trace.initial_replicas,
            bootstrap=setup.bootstrap,
            group=target.group,
            topic=target.topic,
            rate=setup.rate,
            reset=trace.reset,
        )
        for target in targets
    ]
    cluster.apply(deployments)
    reader = OffsetReader(kafka.client_options(), request_timeout=5.0)
    await reader.start()
    try:
        async with cluster.async_client() as kube:
            await _joined(reader, targets, trace.initial_replicas)
            # The trace's first second of inflow runs for a random phase before the trace, so no contender's loop
            # is in step with it; the autoscalers are created once that inflow runs, so none meets an idle group
            # (which each would scale to zero at once) unless the trace starts idle.
            phase = rng.uniform(0, PHASE_SECONDS)
            started = time.monotonic() + LEAD_SECONDS + phase
            topics = [t.topic for t in targets]
            preroll = LEAD_SECONDS + phase
            feeding = asyncio.create_task(
                feed.feed(setup.bootstrap, topics, trace, setup.rate, started, preroll=preroll)
            )
            await asyncio.sleep(LEAD_SECONDS)
            cluster.apply([contender_object(t.scaler, trace, setup, t.group, t.topic) for t in targets])
            log(f"{trace.name} ({run_id}): every group at {trace.initial_replicas}; trace starts in {phase:.0f}s")
            observer = Observer(reader, kube, NAMESPACE, targets, trace.reset)
            tasks = [feeding, observer.run(started, trace.seconds)]
            if trace.broker_down is not None:
                tasks.append(_restart_broker(cluster, started, *trace.broker_down, log))
            await asyncio.gather(*tasks)
    finally:
        await reader.close()
        _clean(cluster, targets)
        await _delete_topics(kafka, [target.topic for target in targets])
    return {name: measures.result(trace, name, observer.samples[name], setup.rate, PARTITIONS) for name in CONTENDERS}


async def _joined(reader: OffsetReader, targets: list[Target], replicas: int, timeout: float = 180) -> None:
    """Every group holds its initial members in a stable assignment (none for a group at zero)."""
    deadline = time.monotonic() + timeout
    for target in targets:
        while True:
            try:
                state, members = await reader.describe(target.group)
            except (GroupCoordinatorNotAvailableError, GroupLoadInProgressError):
                # A fresh broker makes __consumer_offsets on the first group lookup: no coordinator until then.
                state, members = "no coordinator yet", []
            if (replicas == 0 and not members) or (state == "Stable" and len(members) == replicas):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"group {target.group} has {len(members)} members ({state}), not {replicas}")
            await asyncio.sleep(1.0)


async def _restart_broker(cluster: Cluster, started: float, down: int, up: int, log: Log) -> None:
    broker = cluster.broker()
    await asyncio.sleep(max(0.0, started + down - time.monotonic()))
    await asyncio.to_thread(broker.stop)
    log(f"broker stopped at t={time.monotonic() - started:.0f}s")
    await asyncio.sleep(max(0.0, started + up - time.monotonic()))
    await asyncio.to_thread(broker.start)
    log(f"broker back at t={time.monotonic() - started:.0f}s")


def _clean(cluster: Cluster, targets: list[Target]) -> None:
    """The autoscalers' objects first (so none scales what is being deleted), then the Deployments."""
    names = [t.scaler for t in targets]
    cluster.kubectl(
        "-n", NAMESPACE, "delete", "consumerscaler,scaledobject", "--all", "--ignore-not-found", "--wait=true"
    )
    cluster.kubectl("-n", NAMESPACE, "delete", "deployment", *names, "--ignore-not-found", "--wait=true")


async def _delete_topics(kafka: KafkaSettings, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        await admin.delete_topics(topics)
    finally:
        await admin.close()


def bench(
    cluster: Cluster, traces: list[Trace], runs: int, rate: float, seed: int, log: Log
) -> tuple[list[Summary], list[Result]]:
    setup = Setup(prepare(cluster, log), rate)
    rng = random.Random(seed)
    results: list[Result] = []
    for run in range(runs):
        for trace in traces:
            started = time.monotonic()
            found = asyncio.run(run_trace(cluster, trace, setup, rng, log))
            results += found.values()
            line = ", ".join(f"{name} {_brief(result)}" for name, result in found.items())
            log(f"run {run + 1}/{runs} {trace.name} ({time.monotonic() - started:.0f}s): {line}")
    summaries = [
        summarize(trace.name, name, [r for r in results if r.trace == trace.name and r.scaler == name])
        for trace in traces
        for name in CONTENDERS
    ]
    return summaries, results


def _brief(result: Result) -> str:
    drain = "never" if result.time_to_drain is None else f"{result.time_to_drain}s"
    return (
        f"drain {drain}, peak {result.peak_lag}, {result.replica_seconds} replica-s, "
        f"{result.scale_events} events, {result.rebalances} rebalances"
    )
