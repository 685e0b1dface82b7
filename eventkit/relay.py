"""The outbox relay: publishes committed outbox rows to Kafka in id order, then deletes them.

Exactly one relay publishes per database at a time, so one order's events never overtake each other: on
PostgreSQL the relay holds a session-level advisory lock on its own connection for as long as it runs; on
SQLite (one machine) an exclusive file lock next to the database file does the same. A standby relay waits
for the lock. Rows are deleted only after Kafka acknowledged them; a crash in between re-publishes them, and
consumers drop the duplicates by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eventkit.database import is_sqlite
from eventkit.envelope import KafkaRecord
from eventkit.messaging import decode_headers
from eventkit.observability.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, RELAY_LEADER
from eventkit.producer import ProducerUnavailable, Sender

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        outbox: Table,
        sender: Sender,
        *,
        name: str,
        topic: Callable[[str], str] = str,
        batch_size: int = 1000,
        idle_seconds: float = 0.25,
    ) -> None:
        """`topic` maps the catalog topic stored in a row to the physical one (the Kafka namespace)."""
        self._engine = engine
        self._outbox = outbox
        self._sender = sender
        self._name = name
        self._topic = topic
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self.leader = False
        self.lock_attempts = 0  # how often it asked for the lock: a standby's visible sign of life

    def wake(self) -> None:
        """New rows were committed: publish now instead of at the next idle tick."""
        self._wakeup.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wakeup.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                async with self._leadership() as connection:
                    await self._publish_while_leader(connection)
            except ProducerUnavailable as error:
                log.warning("relay %s: %s; retrying", self._name, error)
                await asyncio.sleep(1.0)
            except Exception:
                log.exception("relay %s failed; restarting", self._name)
                await asyncio.sleep(1.0)

    async def _publish_while_leader(self, connection: AsyncConnection) -> None:
        while not self._stopping.is_set():
            published = await self.publish_batch(connection)
            if published < self._batch_size:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._idle_seconds)

    async def publish_batch(self, connection: AsyncConnection) -> int:
        """Publish the oldest rows, pipelined, and delete them once Kafka acknowledged every one."""
        outbox = self._outbox
        async with connection.begin():
            oldest = select(outbox).order_by(outbox.c.id).limit(self._batch_size)
            rows = (await connection.execute(oldest)).all()
        if not rows:
            return 0
        # The outbox holds catalog topic names; the namespace is a deployment concern applied here.
        await self._sender.send_all(
            (self._topic(row.topic), KafkaRecord(row.key, row.value, decode_headers(row.headers))) for row in rows
        )
        async with connection.begin():
            await connection.execute(delete(outbox).where(outbox.c.id.in_([row.id for row in rows])))
        return len(rows)

    async def report_backlog(self, interval: float = 10.0) -> None:
        """Refresh the backlog gauges forever, leader or not: a stuck leader is what they must reveal."""
        backlog, oldest_age = OUTBOX_BACKLOG.labels(self._name), OUTBOX_OLDEST_AGE.labels(self._name)
        outbox = self._outbox
        while True:
            try:
                async with self._engine.connect() as connection:
                    count, oldest = (
                        await connection.execute(select(func.count(), func.min(outbox.c.created_at)))
                    ).one()
                backlog.set(count)
                oldest_age.set(0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds())
            except Exception as error:
                log.warning("relay %s: outbox backlog not measured: %r", self._name, error)
            await asyncio.sleep(interval)

    @contextlib.asynccontextmanager
    async def _leadership(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as connection:
            if is_sqlite(str(self._engine.url)):
                with _file_lock(Path(f"{self._engine.url.database}.relay.lock")) as try_lock:
                    async with self._leading(try_lock):
                        yield connection
                return
            key = zlib.crc32(f"orderflow-relay-{self._name}".encode())
            try:
                async with self._leading(lambda: _try_advisory_lock(connection, key)):
                    yield connection
            finally:
                with contextlib.suppress(Exception):
                    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})

    @contextlib.asynccontextmanager
    async def _leading(self, try_lock: Callable[[], Awaitable[bool]]) -> AsyncIterator[None]:
        """Leader from the moment the lock is taken until the block ends, however it ends."""
        # A standby polls: the lock holder may be another process, which cannot signal this one.
        while not await self._attempt(try_lock):  # noqa: ASYNC110
            await asyncio.sleep(1.0)
        self._lead(True)
        log.info("relay %s: leader", self._name)
        try:
            yield
        finally:
            self._lead(False)

    async def _attempt(self, try_lock: Callable[[], Awaitable[bool]]) -> bool:
        self.lock_attempts += 1
        return await try_lock()

    def _lead(self, leading: bool) -> None:
        self.leader = leading
        RELAY_LEADER.labels(self._name).set(1 if leading else 0)


async def _try_advisory_lock(connection: AsyncConnection, key: int) -> bool:
    # A session-level lock lives as long as this connection: if the process dies, PostgreSQL frees it.
    acquired = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
    await connection.commit()
    return bool(acquired)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[Callable[[], Awaitable[bool]]]:
    with path.open("a") as handle:

        async def try_lock() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        try:
            yield try_lock
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
