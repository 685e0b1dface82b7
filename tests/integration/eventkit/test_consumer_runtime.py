"""The consumer runtime on a real broker: inbox, retries, dead letters, ordering and offsets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.consumer import ConsumerOptions, EventConsumer
from eventkit.envelope import CloudEvent, KafkaRecord, to_record
from eventkit.errors import PermanentFailure
from eventkit.events import OrderConfirmed, OrderPlaced, StockReleased
from eventkit.messaging import UnitOfWork, messaging_tables
from eventkit.producer import EventProducer
from eventkit.retry import ATTEMPTS, ERROR_CLASS, ERROR_MESSAGE, ERROR_REASON, GROUP, ORIGINAL_OFFSET, ORIGINAL_TOPIC
from eventkit.settings import KafkaSettings
from tests.support.clock import FakeClock
from tests.support.events import event
from tests.support.events import placed as placed_order
from tests.support.kafka import KafkaCluster, read_all, running, sqlite_and_producer, toy_service
from tests.support.waiting import eventually

pytestmark = pytest.mark.kafka

metadata = MetaData()
tables = messaging_tables(metadata)
effects = Table(
    "effects",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(36), nullable=False),
    Column("customer_id", String(64), nullable=False),
)


def placed(customer: str = "c-1", order_id: UUID | None = None) -> CloudEvent:
    return placed_order(customer, order_id=order_id)


@dataclass
class Harness:
    settings: KafkaSettings
    sessions: async_sessionmaker[AsyncSession]
    producer: EventProducer
    failures_left: dict[str, int] = field(default_factory=dict)  # customer -> transient failures to raise
    permanent: set[str] = field(default_factory=set)

    async def handle(self, uow: UnitOfWork, event: CloudEvent) -> None:
        assert isinstance(event.data, OrderPlaced)
        customer = event.data.customer_id
        await uow.session.execute(insert(effects).values(order_id=str(event.data.order_id), customer_id=customer))
        if customer in self.permanent:
            raise PermanentFailure(f"customer {customer} is blocked")
        if self.failures_left.get(customer, 0) > 0:
            self.failures_left[customer] -= 1
            raise ConnectionError(f"provider unavailable for {customer}")

    async def send(self, *events: CloudEvent, raw: list[KafkaRecord] | None = None) -> None:
        records = [to_record(event) for event in events] + (raw or [])
        await self.producer.send_all((self.settings.topic("orders"), record) for record in records)

    async def effects_of(self, customer: str) -> list[str]:
        async with self.sessions() as session:
            rows = await session.scalars(select(effects.c.order_id).where(effects.c.customer_id == customer))
            return list(rows)

    async def applied_to(self, order_id: UUID) -> list[str]:
        """Customers of the effects on one order, in the order they were applied."""
        async with self.sessions() as session:
            query = select(effects.c.customer_id).where(effects.c.order_id == str(order_id)).order_by(effects.c.seq)
            return list(await session.scalars(query))

    async def wait_for(self, check: Callable[[], Awaitable[bool]]) -> None:
        await eventually(check, what="the records applied")


@pytest.fixture
async def harness(kafka: KafkaCluster, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = await kafka.isolated(partitions=3, retry_levels=2)
    async with sqlite_and_producer(settings, tmp_path / "consumer.db", metadata, "harness") as (sessions, producer):
        harness = Harness(settings, sessions, producer)
        consumer = EventConsumer(
            settings,
            service=toy_service("toy", OrderPlaced),
            handlers={OrderPlaced: harness.handle},
            sessions=sessions,
            tables=tables,
            sender=producer,
            options=ConsumerOptions(batch_size=100, retry_levels=2, retry_backoff_seconds=0.2),
        )
        async with running(consumer):
            yield harness


async def test_every_event_is_applied_once_and_one_orders_events_in_order(harness: Harness) -> None:
    order_id = uuid4()
    in_order = [placed(f"ordered-{n:02}", order_id) for n in range(20)]
    await harness.send(*in_order, *(placed("spread") for _ in range(50)))

    async def all_applied() -> bool:
        return len(await harness.effects_of("spread")) == 50 and len(await harness.applied_to(order_id)) == 20

    await harness.wait_for(all_applied)
    assert await harness.applied_to(order_id) == [f"ordered-{n:02}" for n in range(20)]


async def test_a_redelivered_event_changes_nothing(harness: Harness) -> None:
    event = placed("dup")
    await harness.send(event, event, event)
    await harness.send(placed("marker"))

    async def marker_seen() -> bool:
        return len(await harness.effects_of("marker")) == 1

    await harness.wait_for(marker_seen)
    assert await harness.effects_of("dup") == [str(event.data.order_id)]


async def test_a_poison_record_goes_to_the_dlq_and_the_consumer_goes_on(harness: Harness) -> None:
    poison = KafkaRecord(key=b"k", value=b"{not json", headers=[("ce_type", b"orderflow.order.placed.v1")])
    unknown = to_record(placed("ghost"))
    unknown = KafkaRecord(
        unknown.key,
        unknown.value,
        [(n, b"orderflow.order.teleported.v9" if n == "ce_type" else v) for n, v in unknown.headers],
    )
    after = placed("after-poison")
    await harness.send(raw=[poison, unknown])
    await harness.send(after)

    async def after_applied() -> bool:
        return len(await harness.effects_of("after-poison")) == 1

    await harness.wait_for(after_applied)
    dead = await read_all(harness.settings, harness.settings.topic("orders.dlq"), expected=2)
    reasons = {dict(r.headers)[ERROR_CLASS]: dict(r.headers)[ERROR_REASON] for r in dead}
    assert reasons == {b"MalformedEvent": b"malformed", b"UnknownEventType": b"unknown_type"}
    for record in dead:
        headers = dict(record.headers)
        assert headers[GROUP] == harness.settings.topic("toy").encode()
        assert headers[ATTEMPTS] == b"1"
        assert headers[ORIGINAL_TOPIC] == harness.settings.topic("orders").encode()
        assert ORIGINAL_OFFSET in headers
        assert headers[ERROR_MESSAGE]


async def test_transient_failures_are_retried_with_backoff_then_succeed(harness: Harness) -> None:
    harness.failures_left["flaky"] = 2
    event = placed("flaky")
    await harness.send(event)

    async def applied() -> bool:
        return len(await harness.effects_of("flaky")) == 1

    await harness.wait_for(applied)
    assert harness.failures_left["flaky"] == 0
    for level in (1, 2):
        [hop] = await read_all(harness.settings, harness.settings.topic(f"orders.retry.{level}"), expected=1)
        assert dict(hop.headers)[ATTEMPTS] == str(level).encode()
        assert dict(hop.headers)["ce_id"] == event.id.encode()


async def test_exhausted_retries_dead_letter_and_replay_applies_the_event(harness: Harness) -> None:
    harness.failures_left["doomed"] = 3  # one more than the two retry levels
    harness.permanent.add("blocked")
    await harness.send(placed("doomed"), placed("blocked"))

    dead = await read_all(harness.settings, harness.settings.topic("orders.dlq"), expected=2, timeout=30)
    by_class = {dict(r.headers)[ERROR_CLASS]: dict(r.headers) for r in dead}
    assert by_class[b"ConnectionError"][ATTEMPTS] == b"3"
    assert by_class[b"ConnectionError"][ERROR_REASON] == b"retries_exhausted"
    assert by_class[b"PermanentFailure"][ATTEMPTS] == b"1"
    assert by_class[b"PermanentFailure"][ERROR_REASON] == b"permanent"
    assert await harness.effects_of("doomed") == []

    from orderflow.dlq import replay_records

    harness.permanent.clear()
    replayed = await replay_records(harness.settings, harness.settings.topic("orders"), event_ids=None)
    assert replayed == 2

    async def both_applied() -> bool:
        return len(await harness.effects_of("doomed")) == 1 and len(await harness.effects_of("blocked")) == 1

    await harness.wait_for(both_applied)


def consumed(group: str, outcome: str) -> float:
    """orderflow_events_consumed_total of one group and outcome, over all event types."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "orderflow_events_consumed"
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["group"] == group and sample.labels["outcome"] == outcome
    )


async def test_liveness_fails_when_records_wait_but_nothing_is_fetched(harness: Harness) -> None:
    clock = FakeClock()
    consumer = EventConsumer(
        harness.settings,
        service=toy_service("liveness", OrderPlaced),
        handlers={OrderPlaced: harness.handle},
        sessions=harness.sessions,
        tables=tables,
        sender=harness.producer,
        options=ConsumerOptions(liveness_seconds=60, lag_interval_seconds=0.1),
        clock=clock,
    )
    group = harness.settings.topic("liveness")
    async with running(consumer):
        await eventually(lambda: asyncio.sleep(0, consumer.joined()), what="joined")
        clock.advance(120)
        # An idle consumer measures lag 0, which counts as progress: it stays alive however long it idles.
        await eventually(lambda: asyncio.sleep(0, consumer.alive()), what="idle and alive")
        # A fetcher that silently stopped, as after a broker restart: polls return nothing while lag grows.
        stuck = consumer._consumer
        assert stuck is not None
        stuck.pause(*stuck.assignment())
        await harness.send(placed("waiting"))
        await eventually(lambda: asyncio.sleep(0, lag_of(group)), lambda lag: lag > 0, what="lag seen")
        clock.advance(120)
        assert not consumer.alive(), "lag without a fetched record fails liveness"
        stuck.resume(*stuck.assignment())
        await eventually(lambda: asyncio.sleep(0, consumer.alive()), what="alive again")


def lag_of(group: str) -> float:
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "orderflow_consumer_lag"
        for sample in metric.samples
        if sample.labels["group"] == group
    )


async def test_events_for_others_are_ignored_and_unknown_ones_counted_and_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    group = harness.settings.topic("toy")
    ignored, unhandled = consumed(group, "ignored"), consumed(group, "unhandled")
    # OrderConfirmed is published to the orders topic but not for this consumer: its topology ignores it.
    confirmed = event(OrderConfirmed(order_id=uuid4()))
    # A StockReleased on the orders topic (a skewed producer) is known, but nothing in this consumer's topology:
    # it must not be committed silently.
    skewed = to_record(event(StockReleased(order_id=uuid4())))
    await harness.send(confirmed, raw=[skewed])
    await harness.send(placed("after-both"))

    async def after_applied() -> bool:
        return len(await harness.effects_of("after-both")) == 1

    await harness.wait_for(after_applied)
    assert consumed(group, "ignored") == ignored + 1
    assert consumed(group, "unhandled") == unhandled + 1
    assert any("no handler for orderflow.stock.released.v1" in record.getMessage() for record in caplog.records)
