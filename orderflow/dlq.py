"""`orderflow dlq list|replay`: inspect dead-lettered records and put them back for the group that failed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.table import Table

from eventkit.envelope import KafkaRecord
from eventkit.producer import EventProducer
from eventkit.retry import (
    ATTEMPTS,
    ERROR_CLASS,
    ERROR_MESSAGE,
    ERROR_REASON,
    GROUP,
    ORIGINAL_OFFSET,
    ORIGINAL_PARTITION,
    ORIGINAL_TOPIC,
    dlq_topic,
    retry_topic,
)
from eventkit.settings import KafkaSettings
from eventkit.topics import partitions_of

app = typer.Typer(help="Dead-letter topics: list what failed and why, replay it.", no_args_is_help=True)
console = Console()


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    timestamp: datetime
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]

    def get(self, name: str) -> str:
        """The last header called `name`, shown as text: undecodable bytes are what a DLQ exists for."""
        for key, value in reversed(self.headers):
            if key == name:
                return shown(value)
        return ""


def shown(value: bytes) -> str:
    """UTF-8 text as it is; anything else as `hex:` and its bytes, so every record can be listed and matched."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return "hex:" + value.hex()


async def read_dead_letters(settings: KafkaSettings, topic: str) -> list[DeadLetter]:
    """Every record of `topic`'s DLQ up to its current end; reads without a group, so commits nothing."""
    consumer = AIOKafkaConsumer(**settings.client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        name = dlq_topic(topic)
        partitions = [TopicPartition(name, p) for p in await partitions_of(settings, name)]
        if not partitions:
            raise typer.BadParameter(f"topic {name} does not exist", param_hint="--topic")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        letters: list[DeadLetter] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=1000)
            letters += [
                DeadLetter(
                    partition=record.partition,
                    offset=record.offset,
                    timestamp=datetime.fromtimestamp(record.timestamp / 1000, UTC),
                    key=record.key or b"",
                    value=record.value or b"",
                    headers=[(n, v) for n, v in record.headers if v is not None],
                )
                for records in batch.values()
                for record in records
                if record.offset < ends[TopicPartition(record.topic, record.partition)]
            ]
        return letters
    finally:
        await consumer.stop()


async def replay_records(settings: KafkaSettings, topic: str, event_ids: set[str] | None) -> int:
    """Send dead letters back through `<topic>.retry.1` for the group that failed, with a fresh retry budget.

    Replaying the same record twice is harmless: the group's inbox drops the second copy.
    """
    letters = [
        letter
        for letter in await read_dead_letters(settings, topic)
        if event_ids is None or letter.get("ce_id") in event_ids
    ]
    # A record whose original topic cannot be read (undecodable) goes back to the topic it was listed under.
    producer = EventProducer(settings, client_id="orderflow-dlq-replay")
    await producer.start()
    try:
        await producer.send_all((retry_topic(_original_topic(letter, topic), 1), _fresh(letter)) for letter in letters)
    finally:
        await producer.stop()
    return len(letters)


def _original_topic(letter: DeadLetter, listed_under: str) -> str:
    original = letter.get(ORIGINAL_TOPIC)
    return listed_under if not original or original.startswith("hex:") else original


def _fresh(letter: DeadLetter) -> KafkaRecord:
    kept = [(n, v) for n, v in letter.headers if n not in (ATTEMPTS, ERROR_CLASS, ERROR_MESSAGE)]
    return KafkaRecord(letter.key, letter.value, [*kept, (ATTEMPTS, b"0")])


TopicOption = Annotated[str, typer.Option("--topic", help="The original topic, e.g. orders (reads orders.dlq)")]


@app.command("list")
def list_(topic: TopicOption) -> None:
    """Show every dead letter: event, group, error, attempts and where it came from."""
    settings = KafkaSettings()
    letters = asyncio.run(read_dead_letters(settings, settings.topic(topic)))
    table = Table(title=f"{dlq_topic(settings.topic(topic))}: {len(letters)} records")
    for column in ("partition/offset", "time", "type", "event id", "group", "reason", "error", "attempts", "origin"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        table.add_row(
            f"{letter.partition}/{letter.offset}",
            letter.timestamp.isoformat(timespec="seconds"),
            letter.get("ce_type"),
            letter.get("ce_id"),
            letter.get(GROUP),
            letter.get(ERROR_REASON),
            f"{letter.get(ERROR_CLASS)}: {letter.get(ERROR_MESSAGE)}",
            letter.get(ATTEMPTS),
            f"{letter.get(ORIGINAL_TOPIC)}/{letter.get(ORIGINAL_PARTITION)}/{letter.get(ORIGINAL_OFFSET)}",
        )
    console.print(table)


@app.command()
def replay(
    topic: TopicOption,
    event_id: Annotated[
        list[str] | None,
        typer.Option(
            "--event-id", help="Only these events (repeatable; an undecodable id as `list` shows it, hex:...)"
        ),
    ] = None,
) -> None:
    """Put dead letters back for the consumer group that failed them."""
    settings = KafkaSettings()
    count = asyncio.run(replay_records(settings, settings.topic(topic), set(event_id) if event_id else None))
    console.print(f"replayed {count} records from {dlq_topic(settings.topic(topic))}")
