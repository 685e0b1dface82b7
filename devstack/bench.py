"""`orderflow bench`: throughput, open-loop latency and CPU per order of the whole stack, with its ceilings.

One run, one machine, so the ratios are fair however noisy the machine is:

1. the stack (Kafka, the databases, the three services) starts fresh, or `--orders-url` points at a running one;
2. warm-up, then saturation: a closed loop as fast as the stack finishes orders; CPU of every process
   (/proc, whole process trees) per finished order, and its peak resident memory;
3. open loop at 25, 50 and 75 % of that throughput: orders arrive on a fixed schedule, latency POST -> final;
   then what tracing costs: the services restarted with every order traced and with a tenth of them
   (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, spans written as OTLP JSON), CPU per order as at saturation;
4. the stages alone, in a Kafka namespace nobody consumes: HTTP ingest (the orders API with relay and consumer
   off), the relay draining what was ingested, eventkit's consumer runtime over those records;
5. the ceilings: a bare FastAPI endpoint with the same validation hit by the same client, a raw aiokafka
   produce loop, a raw `getmany` loop, and Apache Kafka's ProducerPerformance;
6. scale-out shapes: two API processes on one database with the relay draining beside them, and the cost of
   many long polls on one watcher.

It prints tables and writes every figure as JSON. A benchmark, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from devstack import benchceilings, benchreport
from devstack.benchprocs import ProcessMeter, cpu_model, listening_pid, memory_gib
from devstack.benchprofile import profile_summary
from devstack.cache import ToolMissing
from devstack.children import ChildFailed, ServiceProcess, stop_all, wait_ready
from devstack.kafka.artifacts import KAFKA_VERSION
from devstack.kafka.broker import BrokerError
from devstack.postgres import PostgresError
from devstack.processes import free_port, free_ports, spawn, stop
from devstack.stack import LocalStack, StackError, console
from eventkit.envelope import new_event, to_record
from eventkit.events import OrderLine, OrderPlaced
from eventkit.host.registry import find
from eventkit.migrate import upgrade
from eventkit.observability.tracing import TRACE_FILE_ENV
from eventkit.settings import KafkaSettings
from eventkit.topics import create_topics, partitions_of, topic_plan
from eventkit.topology import SERVICES
from orderflow.demo import seed_demo_stock
from orderflow.localstate import local_state_dir

# Shares of orders traced whose cost the bench measures (OTEL_TRACES_SAMPLER_ARG).
TRACE_RATIOS = (1.0, 0.1)


@dataclass(frozen=True)
class Sizes:
    """How much each phase does; `--quick` only proves the bench runs end to end."""

    warmup: int
    saturation: int
    open_loop_seconds: float
    stage: int
    producer_performance: int
    waiters: int
    concurrency: int = 64

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        if quick:
            return cls(
                warmup=60, saturation=200, open_loop_seconds=3, stage=400, producer_performance=20_000, waiters=50
            )
        return cls(
            warmup=2_000,
            saturation=12_000,
            open_loop_seconds=30,
            stage=12_000,
            producer_performance=300_000,
            waiters=2_000,
        )


class BenchStack(LocalStack):
    """The local stack with `--workers` processes per service, and extra environment for all of them."""

    workers: int = 1
    extra_env: dict[str, str] = {}  # noqa: RUF012 (replaced, never mutated)
    # The module `python -m` runs to serve the orders service (`--hotpath`: devstack.benchplain, no hot path).
    orders_runner: str = ""

    def service(self, name: str, port: int, env: dict[str, str], log_name: str = "") -> ServiceProcess:
        runner = self.orders_runner if name == "orders" else ""
        return _Service(name, port, self.logs / f"{log_name or name}.log", env, workers=self.workers, runner=runner)

    def service_env(self, url: str) -> dict[str, str]:
        return {**super().service_env(url), **self.extra_env}

    def restart_services(self, extra_env: dict[str, str], timeout: float = 120) -> None:
        """The three services again, on the same ports and databases, with `extra_env`."""
        ports = {child.name: child.port for child in self.children}
        urls = {child.name: child.env["ORDERFLOW_DATABASE_URL"] for child in self.children}
        stop_all(self.children)
        self.children = []
        self.extra_env = extra_env
        self.start_services(ports, urls, timeout)


@dataclass
class _Service(ServiceProcess):
    workers: int = 1
    runner: str = ""

    def argv(self) -> list[str]:
        argv = [*super().argv(), "--workers", str(self.workers)]
        if self.runner:
            argv[2] = self.runner  # [python, -m, <module>, serve, ...]
        return argv


@dataclass
class Bench:
    stack: BenchStack
    sizes: Sizes
    urls: dict[str, str]
    postgres: bool
    meter: ProcessMeter = field(default_factory=ProcessMeter)
    advance: Callable[[str], None] = lambda _: None
    profile: bool = False
    result: dict[str, Any] = field(default_factory=dict)

    # --- the load generator, a process of its own ---------------------------------------------------------
    def load(self, url: str, orders: int, *, rate: float = 0.0, wait: bool = True, seed: int = 1) -> dict[str, Any]:
        argv = [sys.executable, "-m", "orderflow.cli", "load", "--orders", str(orders), "--orders-url", url, "--json"]
        argv += ["--rate", str(rate), "--seed", str(seed), "--wait-timeout", "120"]
        # Open loop: enough connections that the generator never becomes the queue it measures.
        concurrency = self.sizes.concurrency if rate == 0 else max(self.sizes.concurrency, int(rate))
        argv += ["--concurrency", str(concurrency), "--waiters", "512"]
        if not wait:
            argv.append("--no-wait")
        done = subprocess.run(argv, capture_output=True, text=True, timeout=3600, check=False)
        lines = done.stdout.strip().splitlines()
        if not lines:
            raise StackError(f"orderflow load failed ({done.returncode}): {done.stderr[-2000:]}")
        summary: dict[str, Any] = json.loads(lines[-1])
        return summary

    # --- the whole stack -------------------------------------------------------------------------------------
    def service_roles(self) -> None:
        for name, url in self.urls.items():
            pid = listening_pid(int(url.rsplit(":", 1)[1]))
            if pid is not None:
                self.meter.add(name, pid)
        broker = self.stack.broker.running() if self.stack.broker is not None else None
        if broker is not None:
            self.meter.add("kafka", broker.pid)
        if self.stack.database is not None and (server := listening_pid(self.stack.database.port)) is not None:
            self.meter.add("postgres", server)

    def saturation(self) -> float:
        self.advance("warm-up")
        self.load(self.urls["orders"], self.sizes.warmup, seed=1)
        self.advance("saturation (closed loop)")
        warm = self.meter.ticks()
        self.load(self.urls["orders"], max(self.sizes.warmup // 4, 20), seed=7)
        before = self.meter.ticks()
        # The service that worked hardest in the last part of the warm-up is the one py-spy watches.
        hottest = max(SERVICES, key=lambda role: before.get(role, 0) - warm.get(role, 0))
        with self._profiled(hottest) as profile:
            summary = self.load(self.urls["orders"], self.sizes.saturation, seed=2)
        usage = self.meter.usage(before, self.meter.ticks())
        cpu = {**usage.seconds, "load generator": summary["client_cpu_seconds"]}
        final_per_second = summary["end_to_end_per_second"]
        self.result["saturation"] = {
            "orders": summary["accepted"],
            "seconds": summary["total_seconds"],
            "placed_per_minute": round(summary["orders_per_second"] * 60),
            "final_per_second": final_per_second,
            "final_per_minute": round(final_per_second * 60),
            "pending": summary["pending"],
            "latency_ms": summary["latency_ms"],
            "cpu_ms_per_order": benchreport.per_order_ms(cpu, summary["accepted"]),
            "peak_rss_mib": {},
            "profile": profile,
        }
        return float(final_per_second)

    def open_loop(self, saturation_per_second: float) -> None:
        levels = []
        rates = benchreport.open_loop_rates(saturation_per_second)
        for share, rate in zip(benchreport.OPEN_LOOP_SHARES, rates, strict=True):
            self.advance(f"open loop at {share:.0%} ({rate:.0f}/s)")
            orders = max(int(rate * self.sizes.open_loop_seconds), 10)
            summary = self.load(self.urls["orders"], orders, rate=rate, seed=3)
            levels.append(
                {
                    "share": share,
                    "rate_per_second": rate,
                    "orders": summary["accepted"],
                    "placed_per_minute": round(summary["orders_per_second"] * 60),
                    "final_per_minute": round(summary["end_to_end_per_second"] * 60),
                    "pending": summary["pending"],
                    "latency_ms": summary["latency_ms"],
                }
            )
        self.result["open_loop"] = levels

    def tracing(self) -> None:
        """CPU per order with every order traced, and with a tenth of them, beside the untraced saturation's."""
        costs: dict[str, Any] = {"untraced": self.result["saturation"]["cpu_ms_per_order"]}
        orders = max(self.sizes.saturation // 4, 100)
        for ratio in TRACE_RATIOS:
            self.advance(f"tracing cost: {ratio:.0%} of orders traced")
            spans = self.stack.root / f"spans-{ratio}.jsonl"
            traced = {
                "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": str(ratio),
                TRACE_FILE_ENV: str(spans),
            }
            _, costs[f"{ratio:.0%} traced"] = self._restarted_closed_loop(
                max(self.sizes.warmup // 4, 20), orders, traced
            )
        self.stack.restart_services({})
        self.service_roles()
        self.result["tracing"] = costs

    def hotpath(self, runs: int) -> None:
        """Saturation with the orders app as served and without its hot path, alternated (ABBA) on one stack."""
        variants = {"hot path": "", "FastAPI only": "devstack.benchplain"}
        found: list[dict[str, Any]] = []
        for run in range(runs):
            for name in list(variants)[:: 1 if run % 2 == 0 else -1]:
                self.advance(f"saturation, {name} (run {run + 1})")
                self.stack.orders_runner = variants[name]
                summary, cpu = self._restarted_closed_loop(self.sizes.warmup, self.sizes.saturation)
                per_second = summary["end_to_end_per_second"]
                found.append({"variant": name, "run": run + 1, "final_per_second": per_second, "cpu_ms_per_order": cpu})
        self.result["hotpath"] = found

    def _restarted_closed_loop(
        self, warmup: int, orders: int, extra_env: dict[str, str] | None = None
    ) -> tuple[dict[str, Any], dict[str, float]]:
        """The services restarted with `extra_env`, warmed up, then a closed loop of `orders`: the load
        generator's summary and CPU ms per order of each process."""
        self.stack.restart_services(extra_env or {})
        self.service_roles()
        self.load(self.urls["orders"], warmup, seed=9)
        before = self.meter.ticks()
        summary = self.load(self.urls["orders"], orders, seed=10)
        usage = self.meter.usage(before, self.meter.ticks())
        cpu = {**usage.seconds, "load generator": summary["client_cpu_seconds"]}
        return summary, benchreport.per_order_ms(cpu, summary["accepted"])

    @contextlib.contextmanager
    def _profiled(self, role: str) -> Iterator[dict[str, Any]]:
        """py-spy on `role`'s process for the duration of the block (with --profile), summarised into the dict."""
        found: dict[str, Any] = {}
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not self.profile or not Path(spy).exists():
            yield found
            return
        raw = self.stack.root / f"profile-{role}.txt"
        pid = self.meter.roles[role]
        argv = [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "100", "--subprocesses"]
        recorder = subprocess.Popen(
            [*argv, "--output", str(raw), "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            yield found
        finally:
            recorder.send_signal(signal.SIGINT)  # py-spy writes what it sampled, then exits
            with contextlib.suppress(subprocess.TimeoutExpired):
                recorder.wait(60)
            if raw.exists():
                found.update({"process": role, **profile_summary(raw.read_text())})

    # --- stages and ceilings, in a namespace nobody consumes ---------------------------------------------------
    def stages(self) -> None:
        namespace = f"stage{uuid.uuid4().hex[:6]}."
        kafka = KafkaSettings(bootstrap_servers=self.stack.bootstrap, namespace=namespace)
        plan = topic_plan(kafka, 6, retry_levels=0) | {f"{namespace}raw": 6, f"{namespace}perf": 6}
        asyncio.run(create_topics(kafka, plan))
        stages: dict[str, float] = {}
        ceilings: dict[str, float] = {}
        scale_out: dict[str, Any] = {}
        n = self.sizes.stage

        self.advance("ceiling: bare FastAPI")
        with self._bare_api() as url:
            ceilings["bare_fastapi"] = self.load(url, n, wait=False, seed=4)["orders_per_second"]

        self.advance("stage: HTTP ingest (API-only orders)")
        url = self._database("orders_stage")
        # No timeout sweeps: the stages measure the orders they were given, not cancellations of them.
        quiet = {"ORDERFLOW_KAFKA_NAMESPACE": namespace, "ORDERFLOW_PENDING_TIMEOUT_SECONDS": "36000"}
        env = {**self.stack.service_env(url), **quiet}
        api_only = {"ORDERFLOW_RELAY_ENABLED": "false", "ORDERFLOW_CONSUMER_ENABLED": "false"}
        with self._services([("orders-api", {**env, **api_only})]) as [api]:
            summary = self.load(api, n, wait=False, seed=5)
            stages["http_ingest"] = summary["orders_per_second"]
            self.advance("long polls: many waiters, one watcher")
            scale_out.update(self._long_polls(api, summary["accepted"]))

        self.advance("stage: relay draining the outbox")
        relay_only = {"ORDERFLOW_RELAY_ENABLED": "true", "ORDERFLOW_CONSUMER_ENABLED": "false"}
        with self._services([("orders-relay", {**env, **relay_only})]):
            stages["relay"] = asyncio.run(_published_rate(kafka, kafka.topic("orders"), n))

        self.advance("stage: two API processes and the relay on one database")
        second_url = self._database("orders_stage2")
        env2 = {**self.stack.service_env(second_url), **quiet}
        shapes = [("orders-api-1", {**env2, **api_only}), ("orders-api-2", {**env2, **api_only})]
        with self._services([*shapes, ("orders-relay-2", {**env2, **relay_only})]) as [first, second, _]:
            # A quarter as many: on SQLite two writing processes take turns at the file lock.
            scale_out.update(asyncio.run(self._two_apis(kafka, first, second, max(n // 4, 100))))

        topic = kafka.topic("orders")
        common = ["--bootstrap", self.stack.bootstrap, "--records", str(n)]
        self.advance("ceiling: raw getmany")
        ceilings["raw_getmany"] = benchceilings.run_loop(["getmany", *common, "--topic", topic]).per_second
        self.advance("stage: eventkit consumer runtime")
        runtime_db = self._database("runtime_stage")
        runtime = ["runtime", *common, "--namespace", namespace, "--database-url", runtime_db]
        stages["consumer_runtime"] = benchceilings.run_loop(runtime).per_second

        self.advance("ceiling: raw aiokafka produce")
        record = _sample_record()
        record_file = self.stack.root / "record.json"
        record_file.write_text(
            json.dumps(
                {
                    "key": record.key.decode(),
                    "value": record.value.decode(),
                    "headers": [[name, value.decode()] for name, value in record.headers],
                }
            )
        )
        produce = ["produce", *common, "--topic", f"{namespace}raw", "--record-file", str(record_file)]
        benchceilings.run_loop(produce)
        # Measured as the relay is: records over the span of their CreateTime stamps.
        ceilings["raw_produce"] = asyncio.run(_published_rate(kafka, f"{namespace}raw", n))

        self.advance("ceiling: Kafka ProducerPerformance")
        size = len(record.value) + sum(len(name) + len(value) for name, value in record.headers)
        perf = benchceilings.producer_performance(
            self.stack.bootstrap, f"{namespace}perf", self.sizes.producer_performance, size, kafka
        )
        ceilings["producer_performance"] = round(perf.per_second, 1)

        self.result["stages"] = stages
        self.result["ceilings"] = ceilings
        self.result["ratios"] = benchreport.ratios(stages, ceilings)
        self.result["scale_out"] = scale_out

    def _database(self, name: str) -> str:
        """A fresh, migrated orders database beside the stack's."""
        if self.stack.database is not None:
            url = self.stack.database.url(f"{name}_{uuid.uuid4().hex[:6]}")
        else:
            url = f"sqlite+aiosqlite:///{self.stack.root / name}.db"
        upgrade(find("orders").migrations(), url)
        return url

    @contextlib.contextmanager
    def _services(self, shapes: list[tuple[str, dict[str, str]]]) -> Iterator[list[str]]:
        """Orders processes of the given shapes (log name, environment), ready; stopped on exit."""
        ports = free_ports(len(shapes))
        children = [
            self.stack.service("orders", port, env, log_name=name)
            for (name, env), port in zip(shapes, ports, strict=True)
        ]
        for child in children:
            child.start()
        try:
            wait_ready(children, 90)
            yield [child.url for child in children]
        finally:
            stop_all(children)

    @contextlib.contextmanager
    def _bare_api(self) -> Iterator[str]:
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", "devstack.benchceilings:bare_app", "--factory", "--port", str(port)]
        argv += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
        process = spawn(argv, self.stack.logs / "bare-fastapi.log")
        child = ServiceProcess("bare-fastapi", port, self.stack.logs / "bare-fastapi.log", {}, process=process)
        try:
            wait_ready([child], 60)
            yield child.url
        finally:
            stop(process.pid, Path(sys.executable), child=process)

    def _long_polls(self, url: str, accepted: int) -> dict[str, Any]:
        """CPU of the API process while `waiters` long polls wait on PENDING orders (nobody answers them)."""
        pid = listening_pid(int(url.rsplit(":", 1)[1]))
        if pid is None:
            return {}
        meter = ProcessMeter({"api": pid})
        ids = asyncio.run(_pending_ids(url, min(self.sizes.waiters, accepted)))
        found: dict[str, Any] = {}
        for waiters in (len(ids) // 100 or 1, len(ids)):
            before = meter.ticks()
            seconds = asyncio.run(_wait_on(url, ids[:waiters], wait=3.0))
            cpu = meter.usage(before, meter.ticks()).seconds["api"]
            found[f"long_polls_{waiters}_cpu_percent"] = round(cpu / seconds * 100, 1)
        return found

    async def _two_apis(self, kafka: KafkaSettings, first: str, second: str, n: int) -> dict[str, Any]:
        """Two API processes ingest at once while one relay publishes; rows/s ingested and published."""
        topic = kafka.topic("orders")
        start = await _end_offsets(kafka, topic)
        started = time.perf_counter()
        loads = [
            asyncio.to_thread(self.load, url, n // 2, wait=False, seed=6 + index)
            for index, url in enumerate((first, second))
        ]
        summaries = await asyncio.gather(*loads)
        ingest_seconds = time.perf_counter() - started
        accepted = sum(summary["accepted"] for summary in summaries)
        published = sum((await _end_offsets(kafka, topic)).values()) - sum(start.values())
        relay_rate = await _published_rate(kafka, topic, accepted, start)
        backlog = accepted - published
        return {
            "two_api_processes_ingest_per_second": round(accepted / ingest_seconds, 1),
            "relay_rows_per_second_beside_them": relay_rate,
            "outbox_backlog_when_ingest_ended": backlog,
        }


def _sample_record() -> Any:
    """A typical OrderPlaced record (two lines, W3C trace context), the size the relay sends."""
    lines = [
        OrderLine(sku="SKU-7", quantity=2, unit_price=Decimal("4.99")),
        OrderLine(sku="SKU-12", quantity=1, unit_price=Decimal("19.90")),
    ]
    placed = OrderPlaced(
        order_id=uuid.uuid4(), customer_id="customer-1842", items=lines, currency="EUR", total=Decimal("29.88")
    )
    trace = [("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    return to_record(new_event(placed, source="/orderflow/orders"), extra_headers=trace)


async def _partitions(kafka: KafkaSettings, topic: str) -> list[TopicPartition]:
    return [TopicPartition(topic, partition) for partition in await partitions_of(kafka, topic)]


async def _end_offsets(kafka: KafkaSettings, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**kafka.client_options())
    await consumer.start()
    try:
        found: dict[TopicPartition, int] = await consumer.end_offsets(await _partitions(kafka, topic))
        return found
    finally:
        await consumer.stop()


async def _published_rate(
    kafka: KafkaSettings, topic: str, expected: int, start: dict[TopicPartition, int] | None = None
) -> float:
    """Records/s a producer appended to `topic` (after `start`): once `expected` are there, their count over the
    span of their CreateTime timestamps, which the producer stamps as it sends, so polling adds no error."""
    consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions(kafka, topic)
        begin = start or dict.fromkeys(partitions, 0)
        deadline = time.monotonic() + 600
        while True:
            end = await consumer.end_offsets(partitions)
            count = sum(end[tp] - begin.get(tp, 0) for tp in partitions)
            if count >= expected:
                break
            if time.monotonic() > deadline:
                raise StackError(f"only {count} of {expected} records reached {topic}")
            await asyncio.sleep(0.1)
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, begin.get(tp, 0))
        stamps: list[int] = []
        while len(stamps) < count:
            batch = await consumer.getmany(timeout_ms=1000)
            stamps += [record.timestamp for records in batch.values() for record in records]
        span = (max(stamps) - min(stamps)) / 1000
        return round(len(stamps) / span, 1) if span > 0 else float(len(stamps))
    finally:
        await consumer.stop()


async def _pending_ids(url: str, limit: int) -> list[str]:
    from orderflow.loadclient import Connection

    connection = Connection(url)
    ids: list[str] = []
    cursor = ""
    try:
        while len(ids) < limit:
            page = (await connection.request("GET", f"/orders?limit=100{cursor}")).json()
            ids += [item["order_id"] for item in page["items"]]
            if page["next_cursor"] is None:
                break
            cursor = f"&cursor={page['next_cursor']}"
    finally:
        connection.close()
    return ids[:limit]


async def _wait_on(url: str, ids: list[str], wait: float) -> float:
    from orderflow.loadclient import Connection

    connections = [Connection(url) for _ in ids]
    started = time.perf_counter()
    try:
        await asyncio.gather(
            *(c.request("GET", f"/orders/{order_id}?wait={wait}") for c, order_id in zip(connections, ids, strict=True))
        )
    finally:
        for connection in connections:
            connection.close()
    return time.perf_counter() - started


def _machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gib": memory_gib(),
        "load_before": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "kafka": KAFKA_VERSION,
        "kernel": platform.release(),
    }


def bench(
    postgres: Annotated[bool, typer.Option("--postgres", help="A throwaway PostgreSQL instead of SQLite")] = False,
    quick: Annotated[bool, typer.Option("--quick", help="A short run that only proves the bench works")] = False,
    output: Annotated[
        Path | None, typer.Option(help="JSON of every figure (default: <state dir>/bench-<db>.json)")
    ] = None,
    state_dir: Annotated[Path | None, typer.Option(help="Where the bench's stack keeps data and logs")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes per service (`serve --workers`)")] = 1,
    partitions: Annotated[int, typer.Option(min=1, help="Partitions per topic")] = 6,
    profile: Annotated[bool, typer.Option("--profile", help="py-spy the hottest service during saturation")] = False,
    orders_url: Annotated[str | None, typer.Option(help="Bench a running stack (no stages, no ceilings)")] = None,
    hotpath: Annotated[
        int, typer.Option(min=0, help="Only saturation: N runs each of the orders app with and without its hot path")
    ] = 0,
) -> None:
    """Measure throughput, open-loop latency and CPU per order, and the ceilings of each stage, in one run."""
    sizes = Sizes.of(quick)
    database = "postgresql" if postgres else "sqlite"
    root = (state_dir or local_state_dir() / "bench").resolve() / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    # On a shared broker (KAFKA_BOOTSTRAP_SERVERS) a namespace of its own keeps the bench's topics apart.
    shared = bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    stack = BenchStack(root, namespace=f"bench{uuid.uuid4().hex[:6]}." if shared else "")
    stack.workers = workers
    target = output or root.parent / f"bench-{database}.json"
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": database,
        "quick": quick,
        "workers": workers,
        "machine": _machine(),
        "sizes": sizes.__dict__,
    }
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}")]
    columns.append(TimeElapsedColumn())
    phases = 14 + len(TRACE_RATIOS) if orders_url is None else 5
    if hotpath:
        phases = 1 + 2 * hotpath
    failed = False
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("starting the stack", total=phases)

            def advance(what: str) -> None:
                progress.update(task, advance=1, description=what)

            urls = _start(stack, postgres, partitions) if orders_url is None else {"orders": orders_url.rstrip("/")}
            run = Bench(stack, sizes, urls, postgres, advance=advance, profile=profile, result=result)
            if hotpath:
                run.hotpath(hotpath)
                progress.update(task, completed=phases, description="done")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(result, indent=2) + "\n")
                _print_hotpath(result["hotpath"])
                return
            run.service_roles()
            run.meter.start()
            saturation = run.saturation()
            run.open_loop(saturation)
            if orders_url is None:
                run.tracing()
            run.meter.stop()
            result["saturation"]["peak_rss_mib"] = {
                role: round(rss / 2**20) for role, rss in run.meter.peak_rss.items()
            }
            if orders_url is None:
                run.stages()
            progress.update(task, completed=phases, description="done")
    except (ToolMissing, BrokerError, PostgresError, ChildFailed, StackError, RuntimeError) as error:
        console.print(f"[red]error:[/] {error}")
        failed = True
    finally:
        stack.stop()
    if failed:
        raise typer.Exit(1)
    result.setdefault("stages", {})
    result.setdefault("ceilings", {})
    result.setdefault("ratios", {})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2) + "\n")
    if not console.is_terminal:
        console.width = max(console.width, 140)  # a log file should not fold the tables
    console.print(benchreport.render(result))
    console.print(f"Figures written to {target}")


def _print_hotpath(runs: list[dict[str, Any]]) -> None:
    for row in runs:
        cpu = row["cpu_ms_per_order"]
        console.print(
            f"{row['variant']:<13} run {row['run']}: {row['final_per_second']:8.1f} orders/s"
            f"  CPU ms/order orders {cpu['orders']:.3f}  all {cpu['total']:.3f}"
        )


def _start(stack: BenchStack, postgres: bool, partitions: int) -> dict[str, str]:
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    stack.start_kafka(free_port(), partitions)
    urls = stack.database_urls(postgres)
    stack.migrate(urls)
    stack.start_services(ports, urls, timeout=120)
    seed_demo_stock(f"http://127.0.0.1:{ports['inventory']}")
    return {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
