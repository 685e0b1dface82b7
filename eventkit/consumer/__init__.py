"""The consumer runtime: one job per module.

- `loop`: poll, decode, apply, route failures, commit offsets (`EventConsumer`);
- `batch`: a batch's handlers, inbox and outbox in one database transaction;
- `scheduling`: retry records wait out their backoff;
- `deadletter`: failed records to the next retry topic or the dead-letter topic;
- `membership`: readiness (joined the group) and liveness (still polling and fetching);
- `options`, `records`: settings and the values passed between the steps.
"""

from eventkit.consumer.loop import EventConsumer
from eventkit.consumer.options import ConsumerOptions
from eventkit.consumer.records import BatchHandler, EventFailed, Handler

__all__ = ["BatchHandler", "ConsumerOptions", "EventConsumer", "EventFailed", "Handler"]
