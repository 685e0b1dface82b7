"""The scaler bench's consumer pod: reads its group's partitions at a fixed rate per pod and commits as it goes.

The rate limit stands for the work a real consumer does per record, so a replica's capacity is known exactly
(`BENCH_RATE` records/s) and the autoscalers can be judged on it. It commits after every slice of records, a
few times a second, as a real consumer commits after each batch: the lag an autoscaler reads is at most a
quarter of a second behind. Records of open or aborted transactions are never read (`read_committed`).

It runs alone in its image (stdlib + aiokafka): no orderflow code.

    KAFKA_BOOTSTRAP_SERVERS  the broker          BENCH_GROUP  the consumer group   BENCH_TOPIC  the topic
    BENCH_RATE               records/s per pod   BENCH_RESET  earliest | latest (where a group without commits starts)
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

SLICES_PER_SECOND = 4


def _log(event: str, **fields: object) -> None:
    print(json.dumps({"time": round(time.time(), 3), "event": event, **fields}), flush=True)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pass  # every slice is committed before the next is read: nothing in flight to commit here

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        _log("assigned", partitions=sorted(tp.partition for tp in assigned))


async def consume(stopping: asyncio.Event) -> None:
    rate = float(os.environ["BENCH_RATE"])
    group, topic = os.environ["BENCH_GROUP"], os.environ["BENCH_TOPIC"]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        group_id=group,
        client_id=os.environ.get("HOSTNAME", group),
        enable_auto_commit=False,
        auto_offset_reset=os.environ.get("BENCH_RESET", "earliest"),
        isolation_level="read_committed",
        max_poll_records=max(1, int(rate / SLICES_PER_SECOND)),
    )
    await consumer.start()
    consumer.subscribe([topic], listener=_Listener())
    _log("started", group=group, topic=topic, rate=rate)
    consumed, started = 0, time.monotonic()
    try:
        while not stopping.is_set():
            batch = await consumer.getmany(timeout_ms=250)
            count = sum(len(records) for records in batch.values())
            if not count:
                continue
            consumed += count
            # The pod's capacity: never ahead of `rate` records per second since it started.
            ahead = consumed / rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
            else:
                # Idle time is not saved up: after a pause the pod is not allowed a burst above its rate.
                consumed, started = count, time.monotonic() - count / rate
            await consumer.commit()
    finally:
        await consumer.stop()  # leaves the group at once: the survivors rebalance without a session timeout
        _log("stopped")


def main() -> None:
    loop = asyncio.new_event_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        loop.run_until_complete(consume(stopping))
    except KeyError as missing:
        sys.exit(f"set {missing.args[0]}")


if __name__ == "__main__":
    main()
