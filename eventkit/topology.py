"""The event topology, declared once: which service writes which topic with which events, and what it handles.

Each service is the single writer of its own topic and answers on it; every other fact derives from this table:

- an event's topic (`topic_of`), where the outbox puts it and which topic a unit of work may write;
- a consumer's subscriptions: the topics of the events it handles, plus their retry topics;
- which events a consumer skips on purpose (`ServiceTopology.ignores`): published to a topic it reads, not for it;
- the chart's KafkaTopics, KafkaUser ACLs and ConsumerScaler topics, through `charts/orderflow/topology.yaml`,
  which `orderflow topology export` writes and `orderflow topology check` (part of `make lint`) keeps current.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventkit.events import (
    EVENT_TYPES,
    EventData,
    OrderCancelled,
    OrderConfirmed,
    OrderPlaced,
    PaymentCaptured,
    PaymentDeclined,
    PaymentRefunded,
    StockRejected,
    StockReleased,
    StockReserved,
)
from eventkit.retry import failure_topics, retry_topic


@dataclass(frozen=True)
class ServiceTopology:
    """One service: its name (also its consumer group and Kafka user), its topic, what it writes and handles."""

    name: str
    topic: str
    publishes: tuple[type[EventData], ...]
    handles: tuple[type[EventData], ...]

    @property
    def reads(self) -> tuple[str, ...]:
        """The topics of the events it handles, each once, sorted."""
        return tuple(sorted({topic_of(event_type) for event_type in self.handles}))

    @property
    def ignores(self) -> tuple[type[EventData], ...]:
        """Events on the topics it reads that are meant for others: skipped and counted, never an error."""
        return tuple(
            event_type
            for event_type in EVENT_TYPES
            if topic_of(event_type) in self.reads and event_type not in self.handles
        )

    def subscriptions(self, retry_levels: int) -> list[str]:
        """Catalog names of every topic its consumer reads: its inputs and their retry topics."""
        levels = range(1, retry_levels + 1)
        return [*self.reads, *(retry_topic(topic, level) for topic in self.reads for level in levels)]


ORDERS = ServiceTopology(
    name="orders",
    topic="orders",
    publishes=(OrderPlaced, OrderConfirmed, OrderCancelled),
    # Compensations too: they never change an order's status, but the order records that the cancel was undone.
    handles=(StockReserved, StockRejected, StockReleased, PaymentCaptured, PaymentDeclined, PaymentRefunded),
)
INVENTORY = ServiceTopology(
    name="inventory",
    topic="inventory",
    publishes=(StockReserved, StockRejected, StockReleased),
    handles=(OrderPlaced, OrderCancelled),
)
PAYMENTS = ServiceTopology(
    name="payments",
    topic="payments",
    publishes=(PaymentCaptured, PaymentDeclined, PaymentRefunded),
    handles=(OrderPlaced, OrderCancelled),
)

SERVICES: dict[str, ServiceTopology] = {service.name: service for service in (ORDERS, INVENTORY, PAYMENTS)}
TOPICS: tuple[str, ...] = tuple(service.topic for service in SERVICES.values())
_TOPIC_OF: dict[type[EventData], str] = {
    event_type: service.topic for service in SERVICES.values() for event_type in service.publishes
}


def topic_of(event_type: type[EventData]) -> str:
    """The topic every event of this type is published to: its one publisher's topic."""
    try:
        return _TOPIC_OF[event_type]
    except KeyError:
        raise LookupError(f"{event_type.TYPE} has no publisher in eventkit.topology") from None


def all_topics(retry_levels: int) -> list[str]:
    """Catalog names of every topic the platform uses: each service's topic, its retry topics and its DLQ."""
    return [name for topic in TOPICS for name in (topic, *failure_topics(topic, retry_levels))]


def chart_document() -> dict[str, Any]:
    """What the Helm chart needs of the topology (`charts/orderflow/topology.yaml`)."""
    return {
        "services": {
            service.name: {"topic": service.topic, "reads": list(service.reads)} for service in SERVICES.values()
        }
    }
