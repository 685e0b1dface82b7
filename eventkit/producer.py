"""The one way services write to Kafka: idempotent, keyed, compressed, pipelined, buffered through outages.

Records are accepted into a bounded in-memory buffer and fed to aiokafka in acceptance order by a single
pump task, so per-key order holds. aiokafka's own retries keep the producer id and sequence numbers of a
batch, so the broker discards the duplicates a retry could create; that is why a record is never re-sent by
this module once aiokafka has accepted it. While the broker is unreachable the buffer fills up to
`producer_buffer_records`; a record that cannot be delivered within `producer_buffer_seconds` fails with
`ProducerUnavailable` instead of hanging. aiokafka keeps retrying such a record with its idempotent
sequence number, so it may still arrive once the broker is back: the error says its delivery is unknown,
and a caller that resends it (the outbox relay does) relies on consumers deduplicating by event id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import RecordMetadata

from eventkit.envelope import KafkaRecord, header_text
from eventkit.observability.metrics import EVENTS_PRODUCED
from eventkit.observability.spans import end_send, server_attributes, start_send
from eventkit.settings import KafkaSettings

log = logging.getLogger(__name__)


class Sender(Protocol):
    """What the outbox relay and the dead-letter routing need: send in order, return once all are acknowledged."""

    async def send_all(self, items: Iterable[tuple[str, KafkaRecord]]) -> list[RecordMetadata]: ...


class Publisher(Sender, Protocol):
    """A service's connection to Kafka, started and stopped with the service (`EventProducer`, or a test double)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class ProducerUnavailable(RuntimeError):
    """Kafka did not take a record within the configured time; the record was not delivered."""


class ProducerBufferFull(ProducerUnavailable):
    """The outage buffer is full; the caller must keep the record (e.g. in its outbox) and try later."""


@dataclass
class _Pending:
    topic: str
    record: KafkaRecord
    accepted_at: float = field(default_factory=time.monotonic)
    delivered: asyncio.Future[RecordMetadata] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class EventProducer:
    def __init__(self, settings: KafkaSettings, *, client_id: str = "orderflow") -> None:
        self._settings = settings
        self._server = server_attributes(settings.bootstrap_servers)  # of every send span
        self._client_id = client_id
        self._buffer: deque[_Pending] = deque()  # accepted, not yet handed to aiokafka
        self._unacknowledged = 0  # accepted, not yet settled by Kafka or dropped: what the bound limits
        self._wakeup = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._pump_task: asyncio.Task[None] | None = None

    @property
    def settings(self) -> KafkaSettings:
        return self._settings

    @property
    def unacknowledged(self) -> int:
        """Records accepted and still held in memory, here or in the Kafka client."""
        return self._unacknowledged

    async def start(self) -> None:
        settings = self._settings
        self._producer = AIOKafkaProducer(
            **settings.client_options(),
            client_id=self._client_id,
            enable_idempotence=True,  # implies acks=all; retries reuse sequence numbers, so no duplicates
            acks="all",
            compression_type=settings.producer_compression,
            linger_ms=settings.producer_linger_ms,
            # A batch keeps being retried through an outage for as long as the buffer promises.
            request_timeout_ms=int(settings.producer_buffer_seconds * 1000),
            retry_backoff_ms=250,
        )
        deadline = time.monotonic() + settings.producer_buffer_seconds
        while True:
            try:
                await self._producer.start()
                break
            except KafkaError as error:
                if time.monotonic() > deadline:
                    await self._producer.stop()
                    raise ProducerUnavailable(
                        f"Kafka at {settings.bootstrap_servers} is unreachable ({error!r}); "
                        "check KAFKA_BOOTSTRAP_SERVERS and that the broker runs (`orderflow kafka status`)"
                    ) from error
                await asyncio.sleep(1.0)
        log.info("producer %s connected to Kafka at %s", self._client_id, settings.describe())
        self._pump_task = asyncio.create_task(self._pump(), name=f"{self._client_id}-producer-pump")

    async def stop(self, timeout: float = 30.0) -> None:
        """Deliver what is held (up to `timeout`), then close; leftovers are reported, not hidden."""
        if self._producer is None:
            return
        pending = [item.delivered for item in self._buffer]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        if self._pump_task is not None:
            self._pump_task.cancel()
            await asyncio.gather(self._pump_task, return_exceptions=True)
        self._fail_buffered(ProducerUnavailable("the producer was stopped before this record was sent"))
        try:
            await asyncio.wait_for(self._producer.flush(), timeout)
        except TimeoutError:
            log.warning("stopping with %d records unacknowledged by Kafka", self._unacknowledged)
            # aiokafka retries idempotent batches forever and its stop() waits for them; cancelling its
            # sender task is the only way to stop while the broker is away.
            self._producer._sender.sender_task.cancel()
        await self._producer.stop()
        self._producer = None

    def send_soon(self, topic: str, record: KafkaRecord) -> asyncio.Future[RecordMetadata]:
        """Accept a record and return the future of its delivery; await many together to pipeline."""
        if self._producer is None:
            raise RuntimeError("EventProducer.start() was not awaited")
        if self._unacknowledged >= self._settings.producer_buffer_records:
            raise ProducerBufferFull(
                f"{self._unacknowledged} records wait for Kafka at {self._settings.bootstrap_servers}; "
                "ORDERFLOW_PRODUCER_BUFFER_RECORDS is the bound"
            )
        record, span = start_send(topic, record, self._server)
        item = _Pending(topic, record)
        self._unacknowledged += 1
        deadline = asyncio.get_running_loop().call_later(self._settings.producer_buffer_seconds, self._expire, item)
        item.delivered.add_done_callback(lambda _: deadline.cancel())
        item.delivered.add_done_callback(self._count_outcome(topic, header_text(record.headers, "ce_type")))
        if span is not None:
            item.delivered.add_done_callback(lambda delivered: end_send(span, delivered))
        self._buffer.append(item)
        self._wakeup.set()
        return item.delivered

    async def send(self, topic: str, record: KafkaRecord) -> RecordMetadata:
        return await self.send_soon(topic, record)

    async def send_all(self, items: Iterable[tuple[str, KafkaRecord]]) -> list[RecordMetadata]:
        """Send in order and wait until every record is acknowledged by all in-sync replicas."""
        futures = [self.send_soon(topic, record) for topic, record in items]
        return list(await asyncio.gather(*futures))

    async def _pump(self) -> None:
        assert self._producer is not None
        while True:
            if not self._buffer:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            item = self._buffer[0]
            try:
                sent = await self._producer.send(
                    item.topic, item.record.value, key=item.record.key, headers=item.record.headers
                )
            except KafkaError as error:
                if not error.retriable:  # e.g. a record over the broker's size limit: it alone fails
                    self._buffer.popleft()
                    self._unacknowledged -= 1
                    if not item.delivered.done():
                        item.delivered.set_exception(error)
                    continue
                # Nothing was appended (no metadata, or the client's queue is full): retrying is safe.
                if time.monotonic() - item.accepted_at > self._settings.producer_buffer_seconds:
                    self._fail_buffered(self._unavailable(error))
                else:
                    await asyncio.sleep(0.25)
                continue
            self._buffer.popleft()
            sent.add_done_callback(lambda done, item=item: self._settle(item, done))

    def _count_outcome(self, topic: str, event_type: str) -> Callable[[asyncio.Future[RecordMetadata]], None]:
        labels = (self._client_id, topic, event_type)

        def count(delivered: asyncio.Future[RecordMetadata]) -> None:
            ok = not delivered.cancelled() and delivered.exception() is None
            EVENTS_PRODUCED.labels(*labels, "ok" if ok else "error").inc()

        return count

    def _expire(self, item: _Pending) -> None:
        if not item.delivered.done():
            item.delivered.set_exception(self._unavailable(TimeoutError("no acknowledgement")))

    def _settle(self, item: _Pending, sent: asyncio.Future[RecordMetadata]) -> None:
        self._unacknowledged -= 1
        if item.delivered.done():
            return
        if sent.cancelled():
            item.delivered.set_exception(ProducerUnavailable("the send was cancelled"))
        elif (error := sent.exception()) is not None:
            item.delivered.set_exception(self._unavailable(error))
        else:
            item.delivered.set_result(sent.result())

    def _unavailable(self, error: BaseException) -> ProducerUnavailable:
        wrapped = ProducerUnavailable(
            f"Kafka at {self._settings.bootstrap_servers} did not acknowledge within "
            f"{self._settings.producer_buffer_seconds:.0f}s (ORDERFLOW_PRODUCER_BUFFER_SECONDS): {error!r}; "
            "its delivery is unknown (the client keeps retrying it without duplicates) and it may be resent"
        )
        wrapped.__cause__ = error
        return wrapped

    def _fail_buffered(self, error: ProducerUnavailable) -> None:
        while self._buffer:
            item = self._buffer.popleft()
            self._unacknowledged -= 1
            if not item.delivered.done():
                item.delivered.set_exception(error)
