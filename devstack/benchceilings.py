"""The ceilings `orderflow bench` compares each stage with, measured on the same machine in the same run.

- `bare_app`: a FastAPI app whose `POST /orders` does the orders API's JSON validation and nothing else;
- `produce`: a raw aiokafka produce loop with the relay's producer settings (idempotent, acks=all, zstd);
- `getmany`: a raw aiokafka `getmany` loop with a no-op handler, committing per batch like the runtime;
- `runtime`: eventkit's consumer runtime (decode, inbox transaction, offsets) with a no-op handler;
- `producer_performance`: Apache Kafka's own `ProducerPerformance` tool.

The Kafka loops run as `python -m devstack.benchceilings <loop> ...` in a process of their own, so their CPU
and their event loop are theirs alone, and print one JSON object: what they did and how long it took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from devstack.kafka.artifacts import ensure_kafka_tools_jars, require_java
from eventkit.envelope import CloudEvent, KafkaRecord
from eventkit.settings import KafkaSettings
from services.orders.domain import OrderStatus
from services.orders.schemas import OrderAccepted, PlaceOrderRequest


@dataclass(frozen=True)
class Rate:
    items: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, float]:
        return {"items": self.items, "seconds": round(self.seconds, 3), "per_second": round(self.per_second, 1)}


def bare_app() -> FastAPI:
    """`POST /orders` with the orders API's body model and answer, no database, no outbox (uvicorn --factory)."""
    app = FastAPI(title="bare")

    @app.post("/orders", status_code=202)
    async def place(body: PlaceOrderRequest) -> OrderAccepted:
        return OrderAccepted(order_id=uuid4(), status=OrderStatus.PENDING)

    @app.get("/readyz")
    async def ready() -> JSONResponse:
        return JSONResponse({"status": "ready"})

    return app


def _producer(settings: KafkaSettings) -> AIOKafkaProducer:
    """The relay's producer configuration (eventkit.producer), without eventkit's buffering around it."""
    return AIOKafkaProducer(
        **settings.client_options(),
        enable_idempotence=True,
        acks="all",
        compression_type=settings.producer_compression,
        linger_ms=settings.producer_linger_ms,
    )


async def produce(settings: KafkaSettings, topic: str, record: KafkaRecord, count: int) -> Rate:
    """`count` copies of `record`, pipelined (send without awaiting each acknowledgement), then flushed."""
    producer = _producer(settings)
    await producer.start()
    try:
        started = time.perf_counter()
        pending = []
        for _ in range(count):
            pending.append(await producer.send(topic, record.value, key=record.key, headers=record.headers))
        await asyncio.gather(*pending)
        return Rate(count, time.perf_counter() - started)
    finally:
        await producer.stop()


async def getmany(settings: KafkaSettings, topic: str, count: int, batch_size: int) -> Rate:
    """Read `count` records from the start with a fresh group; the clock starts at the first fetched batch."""
    consumer = AIOKafkaConsumer(
        topic,
        **settings.client_options(),
        group_id=f"bench-getmany-{uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=batch_size,
    )
    await consumer.start()
    try:
        seen, started = 0, 0.0
        while seen < count:
            batch = await consumer.getmany(timeout_ms=500)
            if not batch:
                continue
            started = started or time.perf_counter()
            for records in batch.values():
                for record in records:
                    _no_op(record)
                    seen += 1
            await consumer.commit()
        return Rate(seen, time.perf_counter() - started)
    finally:
        await consumer.stop()


def _no_op(_: object) -> None:
    return None


async def runtime(settings: KafkaSettings, count: int, batch_size: int, database_url: str) -> Rate:
    """eventkit's consumer over the namespace's `orders` topic with a no-op OrderPlaced batch handler: decoding,
    the inbox transaction and the offset commits, everything but the service's own work."""
    from sqlalchemy import MetaData

    from eventkit.consumer import ConsumerOptions, EventConsumer
    from eventkit.database import make_engine, make_sessions
    from eventkit.events import OrderPlaced
    from eventkit.messaging import MessagingTables, UnitOfWork, messaging_tables
    from eventkit.topology import ServiceTopology

    metadata = MetaData()
    tables: MessagingTables = messaging_tables(metadata)
    engine = make_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    done = asyncio.Event()
    seen = 0
    started = 0.0

    def count_of(events: int) -> None:
        nonlocal seen, started
        started = started or time.perf_counter()
        seen += events
        if seen >= count:
            done.set()

    async def handle(uow: UnitOfWork, event: CloudEvent) -> None:
        count_of(1)

    # As the services run it: the whole poll batch in one call (the per-event handler is the fallback).
    async def handle_batch(uow: UnitOfWork, events: Sequence[CloudEvent]) -> None:
        count_of(len(events))

    name = f"bench-runtime-{uuid4().hex[:8]}"
    service = ServiceTopology(name=name, topic="unused", publishes=(), handles=(OrderPlaced,))
    consumer = EventConsumer(
        settings,
        service=service,
        handlers={OrderPlaced: handle},
        batch_handler=handle_batch,
        sessions=make_sessions(engine),
        tables=tables,
        sender=_NoSender(),
        options=ConsumerOptions(batch_size=batch_size, retry_levels=0),
    )
    await consumer.start()
    task = asyncio.create_task(consumer.run())
    try:
        await done.wait()
        return Rate(seen, time.perf_counter() - started)
    finally:
        await consumer.stop()
        await task
        await engine.dispose()


class _NoSender:
    async def send_all(self, items: Any) -> list[Any]:
        raise RuntimeError("the no-op handler fails nothing, so nothing is routed")


_SUMMARY = re.compile(r"^(\d+) records sent, ([\d.]+) records/sec")


def producer_performance(bootstrap: str, topic: str, records: int, size: int, settings: KafkaSettings) -> Rate:
    """Apache Kafka's ProducerPerformance with the relay's producer settings; its final summary line."""
    java = require_java()
    libs = ensure_kafka_tools_jars()
    argv = [java, "-Xmx512m", "-cp", f"{libs}/*", "org.apache.kafka.tools.ProducerPerformance"]
    argv += ["--topic", topic, "--num-records", str(records), "--record-size", str(size), "--throughput", "-1"]
    props = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": "true",
        "compression.type": settings.producer_compression or "none",
        "linger.ms": str(settings.producer_linger_ms),
    }
    argv += ["--producer-props", *(f"{key}={value}" for key, value in props.items())]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    lines = [match for line in done.stdout.splitlines() if (match := _SUMMARY.match(line))]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"ProducerPerformance failed ({done.returncode}): {(done.stdout + done.stderr)[-1500:]}")
    sent, per_second = int(lines[-1].group(1)), float(lines[-1].group(2))
    return Rate(sent, sent / per_second)


def run_loop(argv: Sequence[str], timeout: float = 600) -> Rate:
    """Run one of this module's Kafka loops in a process of its own; its Rate."""
    with tempfile.TemporaryFile("w+") as errors:
        done = subprocess.run(
            [sys.executable, "-m", "devstack.benchceilings", *argv],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"benchceilings {argv[0]} failed: {errors.read()[-1500:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Rate(int(result["items"]), float(result["seconds"]))


def _main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.benchceilings")
    parser.add_argument("loop", choices=["produce", "getmany", "runtime"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--namespace", default="")
    parser.add_argument("--topic", default="")
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--record-file", type=Path, help="JSON of the record to produce (key, value, headers)")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    settings = KafkaSettings(bootstrap_servers=args.bootstrap, namespace=args.namespace)
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    if args.loop == "produce":
        raw = json.loads(args.record_file.read_text())
        record = KafkaRecord(raw["key"].encode(), raw["value"].encode(), [(k, v.encode()) for k, v in raw["headers"]])
        rate = asyncio.run(produce(settings, args.topic, record, args.records))
    elif args.loop == "getmany":
        rate = asyncio.run(getmany(settings, args.topic, args.records, args.batch_size))
    else:
        rate = asyncio.run(runtime(settings, args.records, args.batch_size, args.database_url))
    print(json.dumps(rate.as_dict()))


if __name__ == "__main__":
    _main(sys.argv[1:])
