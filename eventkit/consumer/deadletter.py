"""Where failed records go: the next retry topic while attempts remain, else (or at once) the dead-letter topic."""

from __future__ import annotations

from eventkit.consumer.records import Failure
from eventkit.observability.metrics import DEAD_LETTERS, EVENTS_CONSUMED
from eventkit.producer import Sender
from eventkit.retry import dlq_topic, failed_record, retry_topic


def destination(failure: Failure, retry_levels: int) -> str:
    """Permanent failures and exhausted retries end in the DLQ; a transient failure goes one level further."""
    next_level = failure.origin.attempts + 1
    if failure.permanent or next_level > retry_levels:
        return dlq_topic(failure.origin.topic)
    return retry_topic(failure.origin.topic, next_level)


async def route_failures(sender: Sender, group: str, retry_levels: int, failures: list[Failure]) -> None:
    """Send failures on and wait for Kafka's acknowledgement: only then may their offsets be committed."""
    outgoing = []
    for failure in failures:
        topic = destination(failure, retry_levels)
        exhausted = not failure.permanent and topic == dlq_topic(failure.origin.topic)
        outgoing.append((topic, failed_record(failure.record, failure.origin, group, failure.error, exhausted)))
    await sender.send_all(outgoing)
    for failure, (topic, _) in zip(failures, outgoing, strict=True):
        EVENTS_CONSUMED.labels(group, failure.event_type, "failed").inc()
        if topic == dlq_topic(failure.origin.topic):
            error = type(failure.error).__qualname__
            DEAD_LETTERS.labels(group, failure.origin.topic, failure.event_type, error).inc()
