"""What the consumer runtime passes between its steps: a record, its decoded event, its handler, its failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from aiokafka.structs import ConsumerRecord

from eventkit.envelope import CloudEvent
from eventkit.messaging import UnitOfWork
from eventkit.retry import Origin

Handler = Callable[[UnitOfWork, CloudEvent], Awaitable[None]]
# A whole poll batch's fresh events in one call, in their order (per partition, so per order), so a service can
# read and write with a few set-based statements instead of several per event.
BatchHandler = Callable[[UnitOfWork, Sequence[CloudEvent]], Awaitable[None]]


class EventFailed(Exception):
    """Raised by a batch handler: `event` failed with `error`, the others may still be applied without it.

    The runtime sets the event aside (retry topic or dead-letter topic, as if its own handler had raised
    `error`) and applies the rest of the batch again. Any other exception from a batch handler makes the
    runtime apply that delivery event by event with the per-event handlers.
    """

    def __init__(self, event: CloudEvent, error: Exception) -> None:
        super().__init__(f"{event.type} {event.id}: {error!r}")
        self.event = event
        self.error = error


Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


@dataclass
class Work:
    """A decoded record with the handler that applies it."""

    record: Record
    origin: Origin
    event: CloudEvent
    handler: Handler


@dataclass
class Failure:
    """A record that failed: permanently (straight to the DLQ) or transiently (to the next retry topic)."""

    record: Record
    origin: Origin
    event_type: str
    error: BaseException
    permanent: bool
