"""The transactional outbox and the consumer inbox: tables every service adds to its own metadata.

A handler never talks to Kafka. It changes state and calls `UnitOfWork.publish`; the event is written to the
outbox in the same transaction as the state, and the relay publishes it afterwards. Consumers record each
event id in the inbox in that same transaction, so a redelivered event is recognised and skipped.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
)
from sqlalchemy.ext.asyncio import AsyncSession

from eventkit.columns import UtcDateTime
from eventkit.envelope import CloudEvent, Headers, KafkaRecord, to_record
from eventkit.errors import PermanentFailure
from eventkit.topology import ServiceTopology, topic_of

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
_Id = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        # The id orders publication: rows are published in id order, so one order's events keep theirs.
        Column("id", _Id, primary_key=True, autoincrement=True),
        Column("topic", String(255), nullable=False),
        Column("key", LargeBinary, nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSON, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(255), primary_key=True),
        Column("event_id", String(255), primary_key=True),
        Column("processed_at", UtcDateTime, nullable=False),
        Index("ix_inbox_processed_at", "processed_at"),
    )
    return MessagingTables(outbox=outbox, inbox=inbox)


def encode_headers(headers: Headers) -> list[list[str]]:
    # JSON cannot hold bytes; base64 keeps any header value (trace context, retry counters) exact.
    return [[name, base64.b64encode(value).decode()] for name, value in headers]


def decode_headers(stored: Sequence[Sequence[str]]) -> list[tuple[str, bytes]]:
    return [(name, base64.b64decode(value)) for name, value in stored]


def outbox_row(topic: str, record: KafkaRecord) -> dict[str, Any]:
    return {
        "topic": topic,
        "key": record.key,
        "value": record.value,
        "headers": encode_headers(record.headers),
        "created_at": datetime.now(UTC),
    }


def _no_headers() -> Headers:
    return []


class NotThePublisher(PermanentFailure):
    """A service tried to publish an event that the topology gives to another service's topic."""


@dataclass
class UnitOfWork:
    """One database transaction: the state changes a handler makes plus the events it publishes.

    `trace_headers` is the caller's: it returns the trace context to store with each event (the request's or the
    handled event's span), so this module knows nothing of tracing.
    """

    session: AsyncSession
    tables: MessagingTables
    service: ServiceTopology
    trace_headers: Callable[[], Headers] = _no_headers
    # Trace context per event id of the events a batch handles (their process spans'), for `publish(cause=)`.
    causes: dict[str, Headers] = field(default_factory=dict)
    # Per handled event id, what handling it decided, for that event's process span (`note`).
    notes: dict[str, dict[str, str]] = field(default_factory=dict)
    published: list[CloudEvent] = field(default_factory=list)
    _rows: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, event: CloudEvent, *, extra_headers: Headers = (), cause: CloudEvent | None = None) -> None:
        """Stage `event` for the outbox; it is written by `flush`, inside the caller's transaction.

        The trace context goes with it, so the relay's send span continues the trace of the request or event
        that caused this one: `cause`'s, when a batch handler names the event it answers, else the current
        one; a trace context among `extra_headers` takes precedence.
        """
        event_type = type(event.data)
        if event_type not in self.service.publishes:
            raise NotThePublisher(f"{self.service.name} does not publish {event_type.TYPE} (see eventkit.topology)")
        self.published.append(event)
        given = {name for name, _ in extra_headers}
        context = self.causes[cause.id] if cause is not None and cause.id in self.causes else self.trace_headers()
        tracing = [(name, value) for name, value in context if name not in given]
        record = to_record(event, extra_headers=[*extra_headers, *tracing])
        self._rows.append(outbox_row(topic_of(event_type), record))

    def note(self, cause: CloudEvent, attributes: Mapping[str, str]) -> None:
        """Attributes for the process span of `cause` (an event being handled): what handling it decided, for a
        person searching traces. The consumer runtime puts them on the span; outside one they go nowhere."""
        self.notes.setdefault(cause.id, {}).update(attributes)

    async def flush(self) -> None:
        """Write staged events with one multi-row insert (not one statement per event)."""
        if self._rows:
            await self.session.execute(insert(self.tables.outbox), self._rows)
            self._rows.clear()
