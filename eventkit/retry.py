"""Retry and dead-letter routing: topic names, headers and the record a failed event turns into.

Topics follow the catalog: `<topic>.retry.<n>` and `<topic>.dlq`. Several consumer groups read one topic, so
a retry record names the group that failed (`orderflow-group`); the other groups skip it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.structs import ConsumerRecord

from eventkit.envelope import KafkaRecord, header
from eventkit.errors import failure_reason

GROUP = "orderflow-group"
ATTEMPTS = "orderflow-attempts"  # deliveries that failed so far
ERROR_CLASS = "orderflow-error-class"
ERROR_MESSAGE = "orderflow-error-message"
ERROR_REASON = "orderflow-error-reason"  # a short category: malformed, unknown_type, permanent, transient, ...
ORIGINAL_TOPIC = "orderflow-original-topic"
ORIGINAL_PARTITION = "orderflow-original-partition"
ORIGINAL_OFFSET = "orderflow-original-offset"
_ROUTING = frozenset({GROUP, ATTEMPTS, ERROR_CLASS, ERROR_MESSAGE, ERROR_REASON})
_MESSAGE_LIMIT = 2000


def retry_topic(topic: str, level: int) -> str:
    return f"{topic}.retry.{level}"


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def failure_topics(topic: str, retry_levels: int) -> list[str]:
    return [*(retry_topic(topic, level) for level in range(1, retry_levels + 1)), dlq_topic(topic)]


def retry_delay(level: int, backoff_seconds: float) -> float:
    """Exponential: level 1 waits `backoff`, each further level four times longer."""
    return float(backoff_seconds * 4 ** (level - 1))


@dataclass(frozen=True)
class Origin:
    """Where a record first entered the system, kept across every retry hop."""

    topic: str
    partition: int
    offset: int
    attempts: int
    group: str | None

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes]) -> Origin:
        headers = list(record.headers)
        topic = header(headers, ORIGINAL_TOPIC)
        return cls(
            topic=topic or record.topic,
            partition=int(header(headers, ORIGINAL_PARTITION) or record.partition),
            offset=int(header(headers, ORIGINAL_OFFSET) or record.offset),
            attempts=int(header(headers, ATTEMPTS) or 0),
            group=header(headers, GROUP),
        )

    @property
    def retry_level(self) -> int:
        """0 for a record on its original topic, n on `<topic>.retry.<n>`."""
        return self.attempts


def failed_record(
    record: ConsumerRecord[bytes, bytes], origin: Origin, group: str, error: BaseException, exhausted: bool = False
) -> KafkaRecord:
    """The same key, value and headers, plus why and how often it failed and where it came from.

    `exhausted`: a transient failure that used up its retries, on its way to the dead-letter topic.
    """
    kept = [(name, value) for name, value in record.headers if name not in _ROUTING and value is not None]
    if all(name != ORIGINAL_TOPIC for name, _ in kept):
        kept += [
            (ORIGINAL_TOPIC, origin.topic.encode()),
            (ORIGINAL_PARTITION, str(origin.partition).encode()),
            (ORIGINAL_OFFSET, str(origin.offset).encode()),
        ]
    message = str(error)[:_MESSAGE_LIMIT]
    kept += [
        (GROUP, group.encode()),
        (ATTEMPTS, str(origin.attempts + 1).encode()),
        (ERROR_CLASS, type(error).__qualname__.encode()),
        (ERROR_MESSAGE, message.encode()),
        (ERROR_REASON, failure_reason(error, exhausted).encode()),
    ]
    return KafkaRecord(key=record.key or b"", value=record.value or b"", headers=kept)
