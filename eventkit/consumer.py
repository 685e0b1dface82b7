"""The consumer runtime: poll a batch, apply it in one transaction with an inbox, then commit offsets.

Order of effects for every batch: handler writes + inbox rows + outbox rows commit in ONE database
transaction; records that failed are produced to their retry or dead-letter topic and acknowledged; only
then are offsets committed (`offset + 1` per partition). A crash anywhere before the offset commit means a
redelivery, which the inbox turns into a no-op. Records of one partition are applied in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata
from pydantic import BaseModel, Field
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.envelope import CloudEvent, from_record
from eventkit.errors import EventError, PermanentFailure
from eventkit.events import EventData
from eventkit.messaging import MessagingTables, UnitOfWork
from eventkit.observability.lag import report_lag
from eventkit.observability.logs import event_logged
from eventkit.observability.metrics import DEAD_LETTERS, EVENTS_CONSUMED, HANDLER_DURATION
from eventkit.observability.spans import batch_span, process_span
from eventkit.producer import EventProducer
from eventkit.retry import Origin, dlq_topic, failed_record, retry_delay, retry_topic
from eventkit.settings import KafkaSettings

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, CloudEvent], Awaitable[None]]
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


class ConsumerOptions(BaseModel):
    batch_size: int = Field(500, gt=0, description="Records per poll, applied in one transaction")
    retry_levels: int = Field(3, ge=0, description="Retry topics before the dead-letter topic")
    retry_backoff_seconds: float = Field(1.0, ge=0, description="Delay of retry level 1; x4 per level")
    liveness_seconds: float = Field(
        60.0, gt=0, description="No poll, or lag without a fetched record, for this long fails /livez"
    )
    lag_interval_seconds: float = Field(10.0, gt=0, description="How often the lag gauge is refreshed")


@dataclass
class _Work:
    record: Record
    origin: Origin
    event: CloudEvent
    handler: Handler


@dataclass
class _Failure:
    record: Record
    origin: Origin
    event_type: str
    error: BaseException
    permanent: bool


@dataclass
class _Handled:
    failures: list[_Failure]
    published: list[CloudEvent]


class _HandlerFailed(Exception):
    def __init__(self, item: _Work, error: Exception) -> None:
        super().__init__(repr(error))
        self.item = item
        self.error = error


class _Membership(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.joined = asyncio.Event()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.joined.set()  # an empty assignment still means the group accepted us


class EventConsumer:
    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        group_id: str,
        handlers: Mapping[type[EventData], Handler],
        sessions: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        producer: EventProducer,
        options: ConsumerOptions | None = None,
        on_commit: Callable[[Sequence[CloudEvent]], None] | None = None,
    ) -> None:
        self._kafka = kafka
        self.group_id = kafka.topic(group_id)
        self._handlers = {cls.TYPE: handler for cls, handler in handlers.items()}
        self._sessions = sessions
        self._tables = tables
        self._producer = producer
        self._options = options or ConsumerOptions()
        self._on_commit = on_commit
        self.topics = sorted({kafka.topic(cls.TOPIC) for cls in handlers})
        self._membership = _Membership()
        self._consumer: AIOKafkaConsumer | None = None
        self._last_poll = time.monotonic()
        self._last_progress = time.monotonic()  # a record fetched, or nothing left to fetch
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()

    def subscriptions(self) -> list[str]:
        levels = range(1, self._options.retry_levels + 1)
        return [*self.topics, *(retry_topic(topic, level) for topic in self.topics for level in levels)]

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **self._kafka.client_options(),
            group_id=self.group_id,
            client_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._options.batch_size,
        )
        await self._consumer.start()
        self._consumer.subscribe(self.subscriptions(), listener=self._membership)

    def joined(self) -> bool:
        return self._membership.joined.is_set()

    def alive(self) -> bool:
        """False when the poll loop hangs, or when it turns but fetches nothing although records wait.

        The second case is a consumer whose fetcher silently stopped (as aiokafka's can after a broker
        restart): polls return empty while the lag grows. Restarting the process is the cure.
        """
        now = time.monotonic()
        limit = self._options.liveness_seconds
        return now - self._last_poll < limit and now - self._last_progress < limit

    def _lag_measured(self, total: int) -> None:
        if total == 0:
            self._last_progress = time.monotonic()

    async def run(self) -> None:
        assert self._consumer is not None
        lag = report_lag(self._consumer, self.group_id, self._options.lag_interval_seconds, self._lag_measured)
        reporter = asyncio.create_task(lag, name=f"{self.group_id}-lag")
        try:
            while not self._stopping.is_set():
                self._last_poll = time.monotonic()
                batch: Mapping[TopicPartition, list[Record]] = {}
                try:
                    batch = await self._consumer.getmany(timeout_ms=500)
                    if batch:
                        self._last_progress = time.monotonic()
                        await self._apply(batch)
                except Exception as error:
                    # Nothing of this batch was committed: rewind so it is fetched again, not skipped.
                    log.warning("consumer %s: %r; retrying the batch shortly", self.group_id, error)
                    for tp, records in batch.items():
                        if records and tp in self._consumer.assignment():
                            self._consumer.seek(tp, records[0].offset)
                    await asyncio.sleep(1.0)
        finally:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)
            self._stopped.set()

    async def stop(self) -> None:
        """Finish the batch in flight, commit it, and leave the group."""
        self._stopping.set()
        if self._consumer is None:
            return
        await self._stopped.wait()
        await self._consumer.stop()

    async def _apply(self, batch: Mapping[TopicPartition, list[Record]]) -> None:
        assert self._consumer is not None
        work: list[_Work] = []
        failures: list[_Failure] = []
        commits: dict[TopicPartition, int] = {}
        for tp, records in batch.items():
            for record in records:
                origin = Origin.of(record)
                if origin.retry_level and (wait := self._not_due(record, origin)) > 0:
                    self._defer(tp, record.offset, wait)
                    break
                commits[tp] = record.offset + 1
                if origin.group not in (None, self.group_id):
                    continue  # a retry meant for another group reading the same topic
                try:
                    event = from_record(list(record.headers), record.value)
                except EventError as error:
                    failures.append(_Failure(record, origin, "invalid", error, permanent=True))
                    continue
                handler = self._handlers.get(event.type)
                if handler is not None:
                    work.append(_Work(record, origin, event, handler))
        if work:
            handled = await self._handle(work)
            failures += handled.failures
            if handled.published and self._on_commit is not None:
                self._on_commit(handled.published)
        if failures:
            await self._route(failures)
        if commits:
            await self._consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in commits.items()})

    def _not_due(self, record: Record, origin: Origin) -> float:
        delay = retry_delay(origin.retry_level, self._options.retry_backoff_seconds)
        due: float = record.timestamp / 1000 + delay
        return due - time.time()

    def _defer(self, tp: TopicPartition, offset: int, wait: float) -> None:
        """Hold a retry partition until its head record is due; other partitions keep flowing."""
        assert self._consumer is not None
        consumer = self._consumer
        consumer.seek(tp, offset)
        consumer.pause(tp)
        loop = asyncio.get_running_loop()
        loop.call_later(wait, lambda: tp in consumer.assignment() and consumer.resume(tp))

    async def _handle(self, work: list[_Work]) -> _Handled:
        """The batch in one transaction; a failing record is set aside and the rest applied again.

        Each record's handler runs at most once per delivery that fails it, so a flaky dependency is not hit
        twice for one attempt; records applied alongside it are rolled back and re-run (idempotent by design).
        """
        failures: list[_Failure] = []
        pending = list(work)
        while pending:
            try:
                return _Handled(failures, await self._transaction(pending))
            except _HandlerFailed as failed:
                item, error = failed.item, failed.error
                permanent = isinstance(error, PermanentFailure)
                failures.append(_Failure(item.record, item.origin, item.event.type, error, permanent))
                pending.remove(item)
        return _Handled(failures, [])

    async def _transaction(self, work: list[_Work]) -> list[CloudEvent]:
        """Apply `work` in one transaction; the events its handlers published once it committed."""
        inbox = self._tables.inbox
        fresh: list[_Work] = []
        duplicates: list[_Work] = []
        with batch_span(self.group_id, len(work)):
            async with self._sessions.begin() as session:
                ids = {item.event.id for item in work}
                already = select(inbox.c.event_id).where(inbox.c.consumer == self.group_id, inbox.c.event_id.in_(ids))
                seen = set(await session.scalars(already))
                uow = UnitOfWork(session, self._tables)
                for item in work:
                    if item.event.id in seen:
                        duplicates.append(item)  # redelivered: its effects are already committed
                        continue
                    seen.add(item.event.id)
                    await self._apply_one(uow, item)
                    fresh.append(item)
                if fresh:
                    now = datetime.now(UTC)
                    rows = [
                        {"consumer": self.group_id, "event_id": item.event.id, "processed_at": now} for item in fresh
                    ]
                    await session.execute(insert(inbox), rows)
                await uow.flush()
        for items, outcome in ((fresh, "processed"), (duplicates, "duplicate")):
            for item in items:
                EVENTS_CONSUMED.labels(self.group_id, item.event.type, outcome).inc()
        return uow.published

    async def _apply_one(self, uow: UnitOfWork, item: _Work) -> None:
        """One handler call inside its record's process span, which records the handler's own error."""
        started = time.perf_counter()
        try:
            with process_span(item.record, self.group_id, item.event), event_logged(item.event):
                try:
                    await item.handler(uow, item.event)
                except Exception as error:
                    # Logged here, so the line carries the trace, order and event; permanent ones go quietly.
                    if not isinstance(error, PermanentFailure):
                        log.warning("consumer %s: %s failed: %r", self.group_id, item.event.id, error)
                    raise
        except Exception as error:
            raise _HandlerFailed(item, error) from error
        finally:
            HANDLER_DURATION.labels(self.group_id, item.event.type).observe(time.perf_counter() - started)

    async def _route(self, failures: list[_Failure]) -> None:
        """Send failures on and wait for Kafka's acknowledgement before their offsets are committed."""
        outgoing = []
        for failure in failures:
            next_level = failure.origin.attempts + 1
            exhausted = next_level > self._options.retry_levels
            topic = (
                dlq_topic(failure.origin.topic)
                if failure.permanent or exhausted
                else retry_topic(failure.origin.topic, next_level)
            )
            record = failed_record(failure.record, failure.origin, self.group_id, failure.error)
            outgoing.append((topic, record))
        await self._producer.send_all(outgoing)
        for failure, (topic, _) in zip(failures, outgoing, strict=True):
            EVENTS_CONSUMED.labels(self.group_id, failure.event_type, "failed").inc()
            if topic == dlq_topic(failure.origin.topic):
                error = type(failure.error).__qualname__
                DEAD_LETTERS.labels(self.group_id, failure.origin.topic, failure.event_type, error).inc()
