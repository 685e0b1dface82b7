"""Errors for records that can never be processed, however often they are retried.

Consumers send them straight to the dead-letter topic: `reason` is the short machine-readable category the
record carries in its `orderflow-error-reason` header (`orderflow dlq list` shows it), `str(error)` the
human-readable detail naming the offending header or field.
"""

from typing import ClassVar

TRANSIENT = "transient"
RETRIES_EXHAUSTED = "retries_exhausted"


class EventError(Exception):
    reason: ClassVar[str] = "invalid_event"


class MalformedEvent(EventError):
    """Missing or bad `ce_*` headers, a value that is not JSON, or data that fails its model's validation."""

    reason = "malformed"


class UnknownEventType(EventError):
    """A `ce_type` that is not in the catalog, e.g. a newer version this consumer does not know yet."""

    reason = "unknown_type"

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}")
        self.event_type = event_type


class PermanentFailure(Exception):
    """Raised by a handler when retrying cannot help (a broken invariant): the record goes to the DLQ at once.

    Any other exception from a handler counts as transient and is retried through the retry topics.
    """

    reason: ClassVar[str] = "permanent"


def failure_reason(error: BaseException, exhausted: bool) -> str:
    """The category of a failed record: the error's own `reason`, else transient or retries_exhausted."""
    if isinstance(error, EventError | PermanentFailure):
        return error.reason
    return RETRIES_EXHAUSTED if exhausted else TRANSIENT
