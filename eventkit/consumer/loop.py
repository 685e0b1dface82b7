"""The consumer loop: poll a batch, decode it, apply it in one transaction, route failures, then commit offsets.

Order of effects for every batch: handler writes + inbox rows + outbox rows commit in ONE database
transaction (`batch`); records that failed are produced to their retry or dead-letter topic and acknowledged
(`deadletter`); only then are offsets committed (`offset + 1` per partition). A crash anywhere before the offset
commit means a redelivery, which the inbox turns into a no-op. Records of one partition are applied in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.consumer.batch import BatchTransaction
from eventkit.consumer.deadletter import route_failures
from eventkit.consumer.membership import Clock, Liveness, Membership
from eventkit.consumer.options import ConsumerOptions
from eventkit.consumer.records import BatchHandler, Failure, Handler, Record, Work
from eventkit.consumer.scheduling import hold_until_due, seconds_until_due
from eventkit.envelope import CloudEvent, from_record
from eventkit.errors import EventError
from eventkit.events import EventData
from eventkit.messaging import MessagingTables
from eventkit.observability.lag import report_lag
from eventkit.observability.metrics import EVENTS_CONSUMED
from eventkit.observability.spans import context_headers, server_attributes
from eventkit.producer import Sender
from eventkit.retry import Origin
from eventkit.settings import KafkaSettings
from eventkit.topology import ServiceTopology

log = logging.getLogger(__name__)


def check_handlers(service: ServiceTopology, handlers: Mapping[type[EventData], Handler]) -> None:
    """The handlers must be exactly the events the topology says the service handles."""
    missing = [t.TYPE for t in service.handles if t not in handlers]
    extra = [t.TYPE for t in handlers if t not in service.handles]
    if missing or extra:
        raise ValueError(
            f"{service.name}'s handlers do not match eventkit.topology: "
            f"missing {missing or 'none'}, not in the topology {extra or 'none'}"
        )


class EventConsumer:
    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        service: ServiceTopology,
        handlers: Mapping[type[EventData], Handler],
        batch_handler: BatchHandler | None = None,
        sessions: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        sender: Sender,
        options: ConsumerOptions | None = None,
        on_commit: Callable[[Sequence[CloudEvent]], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        check_handlers(service, handlers)
        self._kafka = kafka
        self._service = service
        self.group_id = kafka.topic(service.name)
        self._handlers = {cls.TYPE: handler for cls, handler in handlers.items()}
        self._ignored = frozenset(cls.TYPE for cls in service.ignores)
        self._sender = sender
        self._options = options or ConsumerOptions()
        self._on_commit = on_commit
        self._batch = BatchTransaction(
            group=self.group_id,
            service=service,
            sessions=sessions,
            tables=tables,
            trace_headers=context_headers,
            server=server_attributes(kafka.bootstrap_servers),
            batch_handler=batch_handler,
        )
        self._membership = Membership()
        self._liveness = Liveness(self._options.liveness_seconds, *([clock] if clock else []))
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()

    def subscriptions(self) -> list[str]:
        return [self._kafka.topic(name) for name in self._service.subscriptions(self._options.retry_levels)]

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **self._kafka.client_options(),
            group_id=self.group_id,
            client_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._options.batch_size,
            fetch_max_wait_ms=self._options.fetch_max_wait_ms,
            fetch_min_bytes=self._options.fetch_min_bytes,
            # A subscribed topic created after the consumer started is noticed within this, not 5 minutes.
            metadata_max_age_ms=int(self._options.metadata_refresh_seconds * 1000),
        )
        await self._consumer.start()
        log.info("consumer %s connected to Kafka at %s", self.group_id, self._kafka.describe())
        self._consumer.subscribe(self.subscriptions(), listener=self._membership)

    def joined(self) -> bool:
        return self._membership.joined.is_set()

    async def missing_topics(self) -> list[str]:
        """Subscribed topics the cluster does not have (or this user may not see): never ready without them.

        A topic created later by someone else (a broker auto-creating it) would have one partition and no
        retention settings; the topics are provisioned beforehand (`orderflow up`, the chart), and until they
        exist the service says which ones it waits for.
        """
        assert self._consumer is not None
        present = await self._consumer.topics()
        return [topic for topic in self.subscriptions() if topic not in present]

    def alive(self) -> bool:
        """False when the poll loop hangs, or when it turns but fetches nothing although records wait."""
        return self._liveness.alive()

    async def run(self) -> None:
        assert self._consumer is not None
        interval = self._options.lag_interval_seconds
        lag = report_lag(self._consumer, self.group_id, interval, self._liveness.lag_measured)
        reporter = asyncio.create_task(lag, name=f"{self.group_id}-lag")
        try:
            while not self._stopping.is_set():
                self._liveness.polled()
                batch: Mapping[TopicPartition, list[Record]] = {}
                try:
                    batch = await self._consumer.getmany(timeout_ms=500)
                    if batch:
                        self._liveness.progressed()
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
        work: list[Work] = []
        failures: list[Failure] = []
        commits: dict[TopicPartition, int] = {}
        for tp, records in batch.items():
            for record in records:
                origin = Origin.of(record)
                if origin.retry_level:
                    wait = seconds_until_due(record, origin, self._options.retry_backoff_seconds)
                    if wait > 0:
                        hold_until_due(self._consumer, tp, record.offset, wait)
                        break
                commits[tp] = record.offset + 1
                if origin.group not in (None, self.group_id):
                    continue  # a retry meant for another group reading the same topic
                try:
                    event = from_record(list(record.headers), record.value)
                except EventError as error:
                    failures.append(Failure(record, origin, "invalid", error, permanent=True))
                    continue
                handler = self._handlers.get(event.type)
                if handler is not None:
                    work.append(Work(record, origin, event, handler))
                else:
                    self._skip(event, record)
        if work:
            handled = await self._batch.apply(work)
            failures += handled.failures
            if handled.published and self._on_commit is not None:
                self._on_commit(handled.published)
        if failures:
            await route_failures(self._sender, self.group_id, self._options.retry_levels, failures)
        if commits:
            await self._consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in commits.items()})

    def _skip(self, event: CloudEvent, record: Record) -> None:
        """A known event this service does not handle: meant for others (ignored), or not in its topology."""
        if event.type in self._ignored:
            EVENTS_CONSUMED.labels(self.group_id, event.type, "ignored").inc()
            return
        # Its topology does not know this event on this topic: a producer newer than this consumer, or a
        # wiring mistake. It is committed (retrying cannot help) but counted and logged, never silently.
        EVENTS_CONSUMED.labels(self.group_id, event.type, "unhandled").inc()
        log.warning(
            "consumer %s: no handler for %s (event %s at %s/%d/%d); committed without effect",
            self.group_id,
            event.type,
            event.id,
            record.topic,
            record.partition,
            record.offset,
        )
