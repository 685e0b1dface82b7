"""`orderflow dlq list|replay` on a real broker, including the records a DLQ exists for: undecodable ones."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from typer.testing import CliRunner

from eventkit.envelope import KafkaRecord
from eventkit.producer import EventProducer
from eventkit.retry import ATTEMPTS, ERROR_CLASS, ERROR_MESSAGE, ERROR_REASON, GROUP, ORIGINAL_TOPIC
from eventkit.settings import KafkaSettings
from orderflow.dlq import app, replay_records
from tests.support.kafka import KafkaCluster, read_all

pytestmark = pytest.mark.kafka

NOT_UTF8 = b"\xff\xfe\x00garbage"


async def _dead_letter(settings: KafkaSettings, topic: str, record: KafkaRecord) -> None:
    """`record` in `topic`'s dead-letter topic, as the consumer runtime puts one there."""
    producer = EventProducer(settings, client_id="dlq-test")
    await producer.start()
    try:
        await producer.send_all([(settings.topic(f"{topic}.dlq"), record)])
    finally:
        await producer.stop()


async def test_undecodable_headers_are_listed_as_hex_and_replayed_unchanged(
    kafka: KafkaCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = await kafka.isolated(partitions=1, retry_levels=1)
    record = KafkaRecord(
        key=b"order-1",
        value=b"{broken",
        headers=[
            ("ce_id", NOT_UTF8),
            ("ce_type", b"orderflow.order.placed.v1"),
            ("x-binary", NOT_UTF8),
            (ORIGINAL_TOPIC, settings.topic("orders").encode()),
            (GROUP, settings.topic("inventory").encode()),
            (ERROR_CLASS, b"MalformedEvent"),
            (ERROR_REASON, b"malformed"),
            (ATTEMPTS, b"1"),
        ],
    )
    await _dead_letter(settings, "orders", record)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
    monkeypatch.setenv("ORDERFLOW_KAFKA_NAMESPACE", settings.namespace)

    # The command runs its own event loop, as from a shell.
    listed = await asyncio.to_thread(CliRunner().invoke, app, ["list", "--topic", "orders"], env={"COLUMNS": "400"})

    assert listed.exit_code == 0, listed.output
    assert f"hex:{NOT_UTF8.hex()}" in listed.output
    assert "malformed" in listed.output
    assert await replay_records(settings, settings.topic("orders"), {f"hex:{NOT_UTF8.hex()}"}) == 1
    [replayed] = await read_all(settings, settings.topic("orders.retry.1"), expected=1)
    headers = dict(replayed.headers)
    assert (headers["ce_id"], headers["x-binary"], headers[ATTEMPTS]) == (NOT_UTF8, NOT_UTF8, b"0")
    assert replayed.value == b"{broken"


async def test_the_list_reads_on_an_80_column_terminal_and_as_json(
    kafka: KafkaCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = await kafka.isolated(partitions=1, retry_levels=1)
    event_id = str(uuid.uuid4())
    message = "no order 6c1e0d6a-54c5-4c57-9b0c-3a3f41a4f1f6 in the orders database, so it can never be answered"
    record = KafkaRecord(
        key=b"order-2",
        value=b"{}",
        headers=[
            ("ce_id", event_id.encode()),
            ("ce_type", b"orderflow.payment.captured.v1"),
            (ORIGINAL_TOPIC, settings.topic("payments").encode()),
            (GROUP, settings.topic("orders").encode()),
            (ERROR_CLASS, b"PermanentFailure"),
            (ERROR_MESSAGE, message.encode()),
            (ERROR_REASON, b"permanent"),
            (ATTEMPTS, b"1"),
        ],
    )
    await _dead_letter(settings, "payments", record)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # nothing there: --bootstrap-server wins
    monkeypatch.setenv("ORDERFLOW_KAFKA_NAMESPACE", settings.namespace)
    args = ["list", "--topic", "payments", "--bootstrap-server", settings.bootstrap_servers]

    listed = await asyncio.to_thread(CliRunner().invoke, app, args, env={"COLUMNS": "80"})

    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert max(len(line) for line in lines) <= 80, listed.output
    # Whole on one line each: what a person copies (the id to replay) and reads; the message wraps between words.
    for whole in (event_id, "orderflow.payment.captured.v1", settings.topic("orders"), "permanent"):
        assert any(whole in line for line in lines), listed.output
    assert " ".join(" ".join(lines).split()).count(message) == 1, listed.output

    as_json = await asyncio.to_thread(CliRunner().invoke, app, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.output)
    assert document["topic"] == settings.topic("payments.dlq")
    [listed_record] = document["records"]
    assert listed_record["event id"] == event_id
    assert listed_record["error"] == f"PermanentFailure: {message}"
    assert (listed_record["partition"], listed_record["offset"], listed_record["attempts"]) == (0, 0, "1")
