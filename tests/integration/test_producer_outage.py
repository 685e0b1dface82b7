"""The producer buffers through a broker outage and delivers every record exactly once, in order."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from uuid import UUID, uuid4

import pytest

from devstack.kafka.broker import LocalBroker
from eventkit.envelope import KafkaRecord
from eventkit.producer import EventProducer, ProducerBufferFull, ProducerUnavailable
from eventkit.settings import KafkaSettings
from eventkit.topics import create_topics
from tests.support.kafka import read_all, start_local_broker

pytestmark = pytest.mark.kafka

ORDERS = [uuid4() for _ in range(8)]


def numbered(sequence: int, order_id: UUID) -> KafkaRecord:
    return KafkaRecord(key=str(order_id).encode(), value=str(sequence).encode(), headers=[])


@pytest.fixture
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> object:
    """A broker of this test's own, since the test stops it; the shared one must stay up for the others."""
    broker = start_local_broker(tmp_path_factory.mktemp("kafka"))
    yield broker
    broker.stop()


async def test_a_broker_restart_mid_stream_loses_and_duplicates_nothing(own_broker: LocalBroker) -> None:
    state = own_broker.running()
    assert state is not None
    settings = KafkaSettings(bootstrap_servers=state.bootstrap_servers, producer_buffer_seconds=90)
    topic = "outage"
    await create_topics(settings, {topic: 3})
    producer = EventProducer(settings, client_id="outage-test")
    await producer.start()
    total = 600
    deliveries = []
    try:
        for sequence in range(total):
            if sequence == 200:
                await asyncio.to_thread(own_broker.stop)
            if sequence == 400:
                assert producer.unacknowledged > 0, "the outage should have made records wait in the buffer"
                await asyncio.to_thread(own_broker.start)
            deliveries.append(producer.send_soon(topic, numbered(sequence, ORDERS[sequence % len(ORDERS)])))
            await asyncio.sleep(0.002)
        await asyncio.wait_for(asyncio.gather(*deliveries), timeout=120)
    finally:
        await producer.stop()

    records = await read_all(settings, topic, expected=total)
    values = [int(record.value) for record in records if record.value is not None]
    assert sorted(values) == list(range(total)), "every send delivered exactly once"
    per_key: defaultdict[bytes | None, list[int]] = defaultdict(list)
    for record in records:
        assert record.value is not None
        per_key[record.key].append(int(record.value))
    assert len(per_key) == len(ORDERS)
    assert all(sequence == sorted(sequence) for sequence in per_key.values()), "per-key order kept"


async def test_past_its_bounds_the_buffer_fails_clearly_yet_loses_nothing(own_broker: LocalBroker) -> None:
    state = own_broker.running()
    assert state is not None
    settings = KafkaSettings(
        bootstrap_servers=state.bootstrap_servers, producer_buffer_records=5, producer_buffer_seconds=3
    )
    await create_topics(settings, {"bounded": 1})
    producer = EventProducer(settings, client_id="bounded-test")
    await producer.start()
    try:
        await producer.send("bounded", numbered(0, ORDERS[0]))
        await asyncio.to_thread(own_broker.stop)
        waiting = [producer.send_soon("bounded", numbered(n, ORDERS[0])) for n in range(1, 6)]
        with pytest.raises(ProducerBufferFull, match="ORDERFLOW_PRODUCER_BUFFER_RECORDS"):
            producer.send_soon("bounded", numbered(6, ORDERS[0]))
        outcomes = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), timeout=60)
        assert all(isinstance(outcome, ProducerUnavailable) for outcome in outcomes), outcomes
        assert "ORDERFLOW_PRODUCER_BUFFER_SECONDS" in str(outcomes[0])
        await asyncio.to_thread(own_broker.start)
    finally:
        await producer.stop(timeout=30)

    records = await read_all(settings, "bounded", expected=6)
    assert [int(record.value or b"") for record in records] == [0, 1, 2, 3, 4, 5]
