import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from eventkit.envelope import CloudEvent, KafkaRecord, from_record, header, new_event, to_record
from eventkit.errors import EventError, MalformedEvent, UnknownEventType
from eventkit.events import (
    EVENT_TYPES,
    CancelReason,
    EventData,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    PaymentCaptured,
    PaymentDeclined,
    PaymentRefunded,
    Reservation,
    StockRejected,
    StockReleased,
    StockReserved,
)
from eventkit.vocabulary import IDENTIFIER_LENGTH

ORDER_ID = UUID("0b7e6c1e-5d2a-4f0e-9a51-3c8f2d7e9b40")
PLACED = OrderPlaced(
    order_id=ORDER_ID,
    customer_id="customer-1842",
    items=[
        OrderLine(sku="MUG-RED-350", quantity=2, unit_price=Decimal("12.50")),
        OrderLine(sku="TEA-ASSAM-1KG", quantity=1, unit_price=Decimal("19.99")),
    ],
    currency="EUR",
    total=Decimal("44.99"),
)
EXAMPLES: dict[str, EventData] = {
    example.TYPE: example
    for example in (
        PLACED,
        OrderConfirmed(order_id=ORDER_ID),
        OrderCancelled(order_id=ORDER_ID, reason=CancelReason.OUT_OF_STOCK, detail="TEA-ASSAM-1KG"),
        StockReserved(
            order_id=ORDER_ID,
            items=[Reservation(sku="MUG-RED-350", quantity=2), Reservation(sku="TEA-ASSAM-1KG", quantity=1)],
        ),
        StockRejected(order_id=ORDER_ID, short_skus=["TEA-ASSAM-1KG"]),
        StockReleased(order_id=ORDER_ID),
        PaymentCaptured(order_id=ORDER_ID, payment_id="pay_7Hq2", amount=Decimal("44.99"), currency="EUR"),
        PaymentDeclined(order_id=ORDER_ID, reason="card expired"),
        PaymentRefunded(order_id=ORDER_ID, payment_id="pay_7Hq2", amount=Decimal("44.99"), currency="EUR"),
    )
}
ENVELOPE_HEADERS = [
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_specversion",
    "ce_time",
    "ce_subject",
    "content-type",
]

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)
order_lines = st.builds(
    OrderLine, sku=st.text(min_size=1, max_size=IDENTIFIER_LENGTH), quantity=st.integers(1, 10_000), unit_price=money
)
orders_placed = st.builds(
    OrderPlaced,
    order_id=st.uuids(),
    customer_id=st.text(min_size=1, max_size=IDENTIFIER_LENGTH),
    items=st.lists(order_lines, min_size=1, max_size=5),
    currency=st.from_regex(r"[A-Z]{3}", fullmatch=True),
    total=money,
)
# RFC 3339 offsets are whole minutes.
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda minutes: timezone(timedelta(minutes=minutes)))
# Hypothesis wants naive bounds; `timezones` makes the generated values aware.
aware_times = st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1), timezones=offsets)  # noqa: DTZ001


def event_at(data: EventData, time: datetime) -> CloudEvent:
    return CloudEvent(
        id="4f3c2a1b",
        source="orderflow/orders",
        type=data.TYPE,
        specversion="1.0",
        time=time,
        subject=str(data.order_id),
        datacontenttype="application/json",
        data=data,
    )


def replaced(record: KafkaRecord, name: str, value: bytes | None) -> list[tuple[str, bytes | None]]:
    """The record's headers with `name` set to `value`, which may be null as Kafka allows."""
    return [*((key, old) for key, old in record.headers if key != name), (name, value)]


def without(record: KafkaRecord, name: str) -> list[tuple[str, bytes]]:
    return [(key, value) for key, value in record.headers if key != name]


def round_trip(event: CloudEvent) -> CloudEvent:
    record = to_record(event)
    return from_record(record.headers, record.value)


@pytest.mark.parametrize("event_class", EVENT_TYPES, ids=lambda event_class: event_class.TYPE)
def test_every_event_type_survives_a_round_trip_through_a_kafka_record(event_class: type[EventData]) -> None:
    event = new_event(EXAMPLES[event_class.TYPE], source="orderflow/test")

    parsed = round_trip(event)

    assert parsed == event
    assert type(parsed.data) is event_class


@given(data=orders_placed, time=aware_times)
def test_an_order_placed_survives_a_round_trip_whatever_its_amounts_skus_and_time(
    data: OrderPlaced, time: datetime
) -> None:
    event = event_at(data, time)

    assert round_trip(event) == event


def test_an_event_round_trips_through_its_own_json_too() -> None:
    event = new_event(PLACED, source="orderflow/orders")

    assert CloudEvent.model_validate_json(event.model_dump_json()) == event


def test_a_record_carries_the_attributes_as_ce_headers_the_order_as_key_and_the_bare_data_as_value() -> None:
    event = event_at(PLACED, datetime(2025, 3, 1, 12, 30, tzinfo=UTC))

    record = to_record(event)

    assert [name for name, _ in record.headers] == ENVELOPE_HEADERS
    assert dict(record.headers) == {
        "ce_id": b"4f3c2a1b",
        "ce_source": b"orderflow/orders",
        "ce_type": b"orderflow.order.placed.v1",
        "ce_specversion": b"1.0",
        "ce_time": b"2025-03-01T12:30:00Z",
        "ce_subject": str(ORDER_ID).encode(),
        "content-type": b"application/json",
    }
    assert record.key == str(ORDER_ID).encode()
    assert json.loads(record.value) == {
        "order_id": str(ORDER_ID),
        "customer_id": "customer-1842",
        "items": [
            {"sku": "MUG-RED-350", "quantity": 2, "unit_price": "12.50"},
            {"sku": "TEA-ASSAM-1KG", "quantity": 1, "unit_price": "19.99"},
        ],
        "currency": "EUR",
        "total": "44.99",
    }


def test_a_new_event_gets_a_fresh_id_the_current_utc_time_and_its_order_as_subject() -> None:
    before = datetime.now(UTC)

    first, second = new_event(PLACED, source="orderflow/orders"), new_event(PLACED, source="orderflow/orders")

    assert first.id != second.id
    assert before <= first.time <= datetime.now(UTC)
    assert first.time.utcoffset() == timedelta(0)
    assert first.subject == str(ORDER_ID)
    assert first.type == "orderflow.order.placed.v1"


def test_an_event_time_keeps_its_utc_offset() -> None:
    time = datetime(2025, 3, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))

    parsed = round_trip(event_at(PLACED, time))

    assert header(to_record(event_at(PLACED, time)).headers, "ce_time") == "2025-03-01T14:30:00+02:00"
    assert parsed.time == time
    assert parsed.time.utcoffset() == timedelta(hours=2)


def test_a_naive_time_is_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        event_at(PLACED, datetime(2025, 3, 1, 12, 30))  # noqa: DTZ001 - the point of the test


def test_extra_headers_such_as_trace_context_and_retry_counters_survive() -> None:
    extra = [("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), ("attempt", b"2")]

    record = to_record(new_event(PLACED, source="orderflow/orders"), extra_headers=extra)

    assert record.headers[-2:] == extra
    assert header(record.headers, "traceparent") == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert from_record(record.headers, record.value).data == PLACED


def test_extra_headers_cannot_contradict_the_envelope() -> None:
    event = new_event(PLACED, source="orderflow/orders")

    record = to_record(event, extra_headers=[("ce_type", b"orderflow.order.confirmed.v1"), ("attempt", b"1")])

    assert [value for name, value in record.headers if name == "ce_type"] == [b"orderflow.order.placed.v1"]
    assert header(record.headers, "attempt") == "1"


def test_header_returns_the_last_value_of_a_repeated_header_or_none_when_absent_or_null() -> None:
    headers = [("attempt", b"1"), ("attempt", b"2"), ("baggage", None)]

    assert header(headers, "attempt") == "2"
    assert header(headers, "traceparent") is None
    assert header(headers, "baggage") is None


def test_an_event_whose_type_contradicts_its_data_is_rejected() -> None:
    with pytest.raises(ValidationError, match="does not match"):
        CloudEvent.model_validate({**dict(event_at(PLACED, datetime.now(UTC))), "type": OrderConfirmed.TYPE})


def test_data_from_a_newer_producer_with_an_extra_field_is_accepted() -> None:
    record = to_record(new_event(PLACED, source="orderflow/orders"))
    value = json.dumps({**json.loads(record.value), "coupon": "SPRING25"}).encode()

    assert from_record(record.headers, value).data == PLACED


@pytest.mark.parametrize("name", ENVELOPE_HEADERS)
def test_a_record_missing_a_required_header_is_malformed(name: str) -> None:
    record = to_record(new_event(PLACED, source="orderflow/orders"))

    with pytest.raises(MalformedEvent, match=f"missing header {name}"):
        from_record(without(record, name), record.value)


def test_a_required_header_without_a_value_counts_as_missing() -> None:
    record = to_record(new_event(PLACED, source="orderflow/orders"))

    with pytest.raises(MalformedEvent, match="missing header ce_source"):
        from_record(replaced(record, "ce_source", None), record.value)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("ce_specversion", b"0.3", "header ce_specversion: Input should be '1.0'"),
        ("ce_time", b"2025-03-01T12:30:00", "header ce_time: Input should have timezone info"),
        ("ce_time", b"yesterday", "header ce_time: Input should be a valid datetime"),
        ("ce_id", b"", "header ce_id: String should have at least 1 character"),
        ("content-type", b"text/plain", "header content-type: Input should be 'application/json'"),
        ("ce_source", b"\xff\xfe", "header ce_source is not valid UTF-8"),
    ],
)
def test_a_record_with_a_bad_header_is_malformed_and_the_message_names_the_header(
    name: str, value: bytes, problem: str
) -> None:
    record = to_record(new_event(PLACED, source="orderflow/orders"))

    with pytest.raises(MalformedEvent) as raised:
        from_record(replaced(record, name, value), record.value)

    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "record has no value"),
        (b'{"order_id": ', "record value is not valid JSON"),
        (b"\xff\xfe{}", "record value is not valid UTF-8"),
        (b'["not", "an", "object"]', "record value must be a JSON object, got list"),
    ],
)
def test_a_record_whose_value_is_not_a_json_object_is_malformed(value: bytes | None, problem: str) -> None:
    record = to_record(new_event(PLACED, source="orderflow/orders"))

    with pytest.raises(MalformedEvent, match=problem):
        from_record(record.headers, value)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"items": [{"sku": "MUG-RED-350", "quantity": 0, "unit_price": "12.50"}]}, "data.items.0.quantity"),
        ({"items": []}, "data.items: List should have at least 1 item"),
        ({"currency": "eur"}, "data.currency: String should match pattern"),
        ({"total": "a lot"}, "data.total: Input should be a valid decimal"),
        ({"order_id": None}, "data.order_id: UUID input should be a string"),
    ],
)
def test_a_record_whose_data_fails_validation_is_malformed_and_the_message_names_the_field(
    change: dict[str, object], problem: str
) -> None:
    record = to_record(new_event(PLACED, source="orderflow/orders"))
    value = json.dumps({**json.loads(record.value), **change}).encode()

    with pytest.raises(MalformedEvent) as raised:
        from_record(record.headers, value)

    assert str(raised.value).startswith("invalid orderflow.order.placed.v1 event: ")
    assert problem in str(raised.value)


def test_a_record_of_an_unknown_type_raises_unknown_event_type_naming_it() -> None:
    record = to_record(new_event(PLACED, source="orderflow/orders"))

    with pytest.raises(UnknownEventType, match=r"unknown event type 'orderflow\.order\.placed\.v9'") as raised:
        from_record(replaced(record, "ce_type", b"orderflow.order.placed.v9"), record.value)

    assert raised.value.event_type == "orderflow.order.placed.v9"


def test_errors_carry_a_short_reason_for_the_dead_letter_record() -> None:
    assert issubclass(MalformedEvent, EventError)
    assert issubclass(UnknownEventType, EventError)
    assert MalformedEvent("missing header ce_id").reason == "malformed"
    assert UnknownEventType("orderflow.order.placed.v9").reason == "unknown_type"
