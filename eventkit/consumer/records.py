"""What the consumer runtime passes between its steps: a record, its decoded event, its handler, its failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeAlias

from aiokafka.structs import ConsumerRecord

from eventkit.envelope import CloudEvent
from eventkit.messaging import UnitOfWork
from eventkit.retry import Origin

Handler = Callable[[UnitOfWork, CloudEvent], Awaitable[None]]
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
