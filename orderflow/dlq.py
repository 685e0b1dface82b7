"""`orderflow dlq list|replay`: inspect dead-lettered records and put them back for the group that failed."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.padding import Padding
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
from orderflow.options import BootstrapServer, Json, kafka_settings

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

    def fields(self) -> dict[str, str]:
        """What `dlq list` shows of it, by name: event, group, why it failed, where it came from."""
        return {
            "event id": self.get("ce_id"),
            "type": self.get("ce_type"),
            "time": self.timestamp.isoformat(timespec="seconds"),
            "group": self.get(GROUP),
            "reason": self.get(ERROR_REASON),
            "error": f"{self.get(ERROR_CLASS)}: {self.get(ERROR_MESSAGE)}",
            "attempts": self.get(ATTEMPTS),
            "origin": f"{self.get(ORIGINAL_TOPIC)}/{self.get(ORIGINAL_PARTITION)}/{self.get(ORIGINAL_OFFSET)}",
        }


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
def list_(topic: TopicOption, bootstrap_server: BootstrapServer = None, as_json: Json = False) -> None:
    """Show every dead letter: event, group, error, attempts and where it came from."""
    settings = kafka_settings(bootstrap_server)
    dlq = dlq_topic(settings.topic(topic))
    letters = asyncio.run(read_dead_letters(settings, settings.topic(topic)))
    if as_json:
        records = [{"partition": d.partition, "offset": d.offset, **d.fields()} for d in letters]
        typer.echo(json.dumps({"topic": dlq, "records": records}, indent=2))
        return
    # One block per record, a field per line: nine columns side by side would wrap mid-word on 80 columns.
    console.print(f"[bold]{dlq}[/]: {len(letters)} records")
    for letter in letters:
        block = Table.grid(padding=(0, 2))
        block.add_column(style="dim", no_wrap=True)
        block.add_column(overflow="fold")  # folds only a word longer than the line (an id, an undecodable hex:)
        for name, value in letter.fields().items():
            block.add_row(name, value)
        console.print(f"\n[bold]partition {letter.partition} offset {letter.offset}[/]")
        console.print(Padding(block, (0, 0, 0, 2)))


@app.command()
def replay(
    topic: TopicOption,
    event_id: Annotated[
        list[str] | None,
        typer.Option(
            "--event-id", help="Only these events (repeatable; an undecodable id as `list` shows it, hex:...)"
        ),
    ] = None,
    bootstrap_server: BootstrapServer = None,
    as_json: Json = False,
) -> None:
    """Put dead letters back for the consumer group that failed them."""
    settings = kafka_settings(bootstrap_server)
    count = asyncio.run(replay_records(settings, settings.topic(topic), set(event_id) if event_id else None))
    if as_json:
        typer.echo(json.dumps({"topic": dlq_topic(settings.topic(topic)), "replayed": count}))
        return
    console.print(f"replayed {count} records from {dlq_topic(settings.topic(topic))}")
