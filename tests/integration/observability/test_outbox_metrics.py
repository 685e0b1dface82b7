"""The relay's backlog gauges on a real database: rows waiting, and how long the oldest has waited."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import REGISTRY
from sqlalchemy import MetaData, insert

from eventkit.database import make_engine
from eventkit.messaging import messaging_tables
from eventkit.producer import EventProducer
from eventkit.relay import OutboxRelay
from eventkit.settings import KafkaSettings


async def _sampled(name: str, service: str, expected: float, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while (value := REGISTRY.get_sample_value(name, {"service": service})) is None or value < expected:
        assert time.monotonic() < deadline, f"{name} is {value}, expected at least {expected}"
        await asyncio.sleep(0.05)


async def test_backlog_and_the_oldest_rows_age_are_reported_without_kafka(tmp_path: Path) -> None:
    metadata = MetaData()
    tables = messaging_tables(metadata)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        old = datetime.now(UTC) - timedelta(minutes=5)
        rows = [{"topic": "orders", "key": b"k", "value": b"{}", "headers": [], "created_at": old}] * 3
        await connection.execute(insert(tables.outbox), rows)
    relay = OutboxRelay(engine, tables.outbox, EventProducer(KafkaSettings()), name="backlog-test")

    reporter = asyncio.create_task(relay.report_backlog(interval=0.05))
    try:
        await _sampled("orderflow_outbox_backlog", "backlog-test", 3)
        await _sampled("orderflow_outbox_oldest_age_seconds", "backlog-test", 300)
    finally:
        reporter.cancel()
        await asyncio.gather(reporter, return_exceptions=True)
        await engine.dispose()
