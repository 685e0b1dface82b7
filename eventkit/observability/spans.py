"""Messaging spans by the OpenTelemetry conventions, with the W3C trace context carried in Kafka headers.

One trace per order: a unit of work stores the current context with each outbox row (`context_headers`);
the producer's `send <topic>` span continues the context found in a record's headers and replaces it with
its own; a consumer's `process <topic>` span is a child of that send span and links to it. Retry and
dead-letter records keep their headers, so later attempts and replays stay in the original trace.

Attributes follow OpenTelemetry's messaging conventions for Kafka (`messaging.operation.name` and `.type`, the
destination, partition, offset, key and group, `error.type` on failure, and `server.address`/`server.port`: the
first bootstrap server, as OpenTelemetry's own aiokafka instrumentation reports it). `orderflow.order.id`, the
event's subject, lets Jaeger find every span of an order by the id a person knows. A span the sampler drops gets
no attributes (they are set once the span is known to record: the standard samplers decide on the trace id and
the parent alone), but its context still travels, so the whole order is dropped alike.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from aiokafka.structs import RecordMetadata
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from eventkit.envelope import ConsumedHeaders, Headers, KafkaRecord, header_text
from eventkit.observability.tracing import enabled, tracer

if TYPE_CHECKING:
    from eventkit.consumer.records import Record
    from eventkit.envelope import CloudEvent

_KAFKA: dict[str, AttributeValue] = {"messaging.system": "kafka"}
ORDER_ID = "orderflow.order.id"


def order_attributes(order_id: object, status: str, cancel_reason: str | None = None) -> dict[str, str]:
    """What a person searches an order's spans by: its id, the status it reached, why it was cancelled (the
    status and reason as the API spells them: `str` of their StrEnum)."""
    attributes = {ORDER_ID: str(order_id), "orderflow.order.status": str(status)}
    if cancel_reason is not None:
        attributes["orderflow.order.cancel_reason"] = str(cancel_reason)
    return attributes


def add_attributes(span: Span | None, attributes: Mapping[str, AttributeValue] | None) -> None:
    if span is not None and attributes:
        span.set_attributes(attributes)


def server_attributes(bootstrap_servers: str) -> dict[str, AttributeValue]:
    """`server.address` and `server.port` of the first of Kafka's bootstrap servers ("host:port,...")."""
    first = bootstrap_servers.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit():
        return {"server.address": first} if first else {}
    return {"server.address": host.strip("[]"), "server.port": int(port)}


def error_type(error: BaseException) -> str:
    """The convention's `error.type` of an exception: its fully qualified class name."""
    kind = type(error)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def context_headers() -> list[tuple[str, bytes]]:
    """The current trace context as record headers (`traceparent`, `tracestate`); empty when not tracing."""
    if not enabled():
        return []
    return _as_headers(otel_context.get_current())


def start_send(topic: str, record: KafkaRecord, server: dict[str, AttributeValue]) -> tuple[KafkaRecord, Span | None]:
    """A PRODUCER span continuing the record's stored context, and the record carrying the span's context.
    `server`: `server_attributes` of the producer's bootstrap servers."""
    if not enabled():
        return record, None
    parent = _extract(record.headers, otel_context.get_current())
    span = tracer().start_span(f"send {topic}", context=parent, kind=SpanKind.PRODUCER)
    if span.is_recording():
        key = record.key.decode(errors="replace")
        span.set_attributes(
            {
                **_KAFKA,
                **server,
                "messaging.operation.name": "send",
                "messaging.operation.type": "send",
                "messaging.destination.name": topic,
                "messaging.kafka.message.key": key,
                "messaging.message.id": header_text(record.headers, "ce_id"),
                "cloudevents.event_type": header_text(record.headers, "ce_type"),
                ORDER_ID: key,  # every event's key is its subject, the order id
            }
        )
    own = _as_headers(trace.set_span_in_context(span))
    replaced = {name for name, _ in own}
    headers = [(name, value) for name, value in record.headers if name not in replaced] + own
    return KafkaRecord(record.key, record.value, headers), span


def end_send(span: Span, delivered: asyncio.Future[RecordMetadata]) -> None:
    """End the send span when Kafka acknowledged the record (or did not)."""
    if delivered.cancelled():
        span.set_attribute("error.type", "cancelled")
        span.set_status(Status(StatusCode.ERROR, "cancelled"))
    elif (error := delivered.exception()) is not None:
        _failed(span, error)
    else:
        metadata = delivered.result()
        span.set_attribute("messaging.destination.partition.id", str(metadata.partition))
        span.set_attribute("messaging.kafka.offset", metadata.offset)
    span.end()


def start_process(
    record: Record, group: str, event: CloudEvent, server: dict[str, AttributeValue]
) -> tuple[Span | None, Headers]:
    """A CONSUMER span for `event`, child of its send span and linked to it, not made current; with the trace
    context to store with what its handling publishes. (None, no headers) when not tracing. `server`:
    `server_attributes` of the consumer's bootstrap servers."""
    if not enabled():
        return None, []
    parent = _extract(list(record.headers), otel_context.Context())
    sent = trace.get_current_span(parent).get_span_context()
    span = tracer().start_span(f"process {record.topic}", context=parent, kind=SpanKind.CONSUMER)
    if span.is_recording():
        if sent.is_valid:
            span.add_link(sent)
        span.set_attributes(
            {
                **_KAFKA,
                **server,
                "messaging.operation.name": "process",
                "messaging.operation.type": "process",
                "messaging.destination.name": record.topic,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.kafka.offset": record.offset,
                "messaging.kafka.message.key": (record.key or b"").decode(errors="replace"),
                "messaging.consumer.group.name": group,
                "messaging.message.id": event.id,
                "cloudevents.event_type": event.type,
                ORDER_ID: event.subject,
            }
        )
    return span, _as_headers(trace.set_span_in_context(span))


def end_process(
    span: Span | None, error: BaseException | None = None, attributes: Mapping[str, AttributeValue] | None = None
) -> None:
    """End a process span, with what its handler noted (`UnitOfWork.note`) and its error, if any."""
    if span is None:
        return
    add_attributes(span, attributes)
    if error is not None:
        _failed(span, error)
    span.end()


def _failed(span: Span, error: BaseException) -> None:
    span.record_exception(error)
    span.set_attribute("error.type", error_type(error))
    span.set_status(Status(StatusCode.ERROR, repr(error)))


@contextlib.contextmanager
def process_span(
    record: Record, group: str, event: CloudEvent, server: dict[str, AttributeValue]
) -> Iterator[Span | None]:
    """The current span while a handler applies `event`: child of the send span, and linked to it. Yields the
    span (None when not tracing)."""
    span, _ = start_process(record, group, event, server)
    if span is None:
        yield None
        return
    with trace.use_span(span, end_on_exit=True):  # which records the exception and the status
        try:
            yield span
        except Exception as error:
            span.set_attribute("error.type", error_type(error))
            raise


@contextlib.contextmanager
def batch_span(group: str, size: int) -> Iterator[None]:
    """The batch's database transaction (inbox, outbox, commit), apart from the records' own traces. An INTERNAL
    span, so its attributes are orderflow's own: the messaging conventions are for messaging operations."""
    if not enabled():
        yield
        return
    attributes: dict[str, AttributeValue] = {"orderflow.consumer.group": group, "orderflow.batch.size": size}
    # A root of its own: the batch mixes records of many traces, each already holding its process span.
    with tracer().start_as_current_span("apply batch", context=otel_context.Context(), attributes=attributes):
        yield


def _extract(headers: ConsumedHeaders | Headers, base: otel_context.Context) -> otel_context.Context:
    fields = propagate.get_global_textmap().fields
    carrier = {name: value.decode(errors="replace") for name, value in headers if name in fields and value is not None}
    return propagate.extract(carrier, context=base) if carrier else base


def _as_headers(context: otel_context.Context) -> list[tuple[str, bytes]]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    return [(name, value.encode()) for name, value in carrier.items()]
