"""CloudEvents 1.0 envelope and its Kafka protocol binding in binary content mode.

Binary mode carries the context attributes as `ce_*` headers and the bare `data` JSON as the record value,
so routing, tracing and dead-lettering never need to parse the payload.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Self, TypeVar
from uuid import uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError, model_validator

from eventkit.errors import MalformedEvent, PermanentFailure, UnknownEventType
from eventkit.events import BY_TYPE, TYPE_KEY, AnyEventData, EventData, NonEmptyStr

Headers = Sequence[tuple[str, bytes]]
# The Kafka protocol allows a header without a value; consumed records may carry one.
ConsumedHeaders = Sequence[tuple[str, bytes | None]]

# CloudEvent attribute -> Kafka header, as the Kafka protocol binding names them.
_HEADERS = {
    "id": "ce_id",
    "source": "ce_source",
    "type": "ce_type",
    "specversion": "ce_specversion",
    "time": "ce_time",
    "subject": "ce_subject",
    "datacontenttype": "content-type",
}
_ENVELOPE_HEADERS = frozenset(_HEADERS.values())


class CloudEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: NonEmptyStr
    source: NonEmptyStr
    type: str
    specversion: Literal["1.0"]
    time: AwareDatetime
    subject: NonEmptyStr
    datacontenttype: Literal["application/json"]
    data: AnyEventData

    @model_validator(mode="before")
    @classmethod
    def _tag_data(cls, raw: Any) -> Any:
        """Copy `type` into raw data so the discriminated union validates it with the right model."""
        if isinstance(raw, dict) and isinstance(raw.get("data"), dict):
            return {**raw, "data": {**raw["data"], TYPE_KEY: raw.get("type")}}
        return raw

    @model_validator(mode="after")
    def _type_matches_data(self) -> Self:
        # Only reachable with an already built model as data; raw data is tagged with `type` itself.
        if self.type != self.data.TYPE:
            raise ValueError(f"type {self.type!r} does not match data of type {self.data.TYPE!r}")
        return self


D = TypeVar("D", bound=EventData)


def data_of(event: CloudEvent, kind: type[D]) -> D:
    """The event's data as `kind`; a handler given another type gets a PermanentFailure (a wiring mistake that no
    retry repairs), not an AssertionError that `python -O` would skip."""
    if not isinstance(event.data, kind):
        raise PermanentFailure(f"{event.type} reached a handler of {kind.TYPE}")
    return event.data


@dataclass(frozen=True)
class KafkaRecord:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def new_event(data: EventData, *, source: str) -> CloudEvent:
    """A fresh event about `data.order_id`, which is also its subject and hence its Kafka key."""
    return CloudEvent(
        id=str(uuid4()),
        source=source,
        type=data.TYPE,
        specversion="1.0",
        time=datetime.now(UTC),
        subject=str(data.order_id),
        datacontenttype="application/json",
        data=data,
    )


def to_record(event: CloudEvent, *, extra_headers: Headers = ()) -> KafkaRecord:
    """The record to produce; `extra_headers` (trace context, retry counters...) are carried along."""
    attributes = event.model_dump(mode="json", exclude={"data"})
    headers = [(name, str(attributes[field]).encode()) for field, name in _HEADERS.items()]
    # Extras are often copied from a consumed record: drop their envelope headers so a record never
    # carries two, possibly contradicting, values of one attribute.
    headers += [(name, value) for name, value in extra_headers if name not in _ENVELOPE_HEADERS]
    value = event.data.model_dump_json().encode()
    return KafkaRecord(key=event.subject.encode(), value=value, headers=headers)


def from_record(headers: ConsumedHeaders, value: bytes | None) -> CloudEvent:
    """Parse a consumed record; raises `MalformedEvent` or `UnknownEventType`, never a parser's error.

    The data is validated straight from the record's bytes by its type's model (pydantic parses the JSON
    itself, in one pass); only a record that fails is parsed again the slow way, to name its problem.
    """
    attributes = _attributes(headers)
    data_type = BY_TYPE.get(attributes["type"])
    if data_type is None:
        raise UnknownEventType(attributes["type"])
    if value is not None:
        try:
            data = data_type.model_validate_json(value)
        except ValidationError:
            pass  # described below, exactly as the slow path words it
        else:
            try:
                return CloudEvent.model_validate({**attributes, "data": data})
            except ValidationError as error:
                raise MalformedEvent(f"invalid {attributes['type']} event: {_describe(error)}") from error
    try:
        return CloudEvent.model_validate({**attributes, "data": _parse_data(value)})
    except ValidationError as error:
        raise MalformedEvent(f"invalid {attributes['type']} event: {_describe(error)}") from error


def _attributes(headers: ConsumedHeaders) -> dict[str, str]:
    """The envelope's attributes from one pass over the headers (the last of a name wins, as in `header`)."""
    last: dict[str, bytes | None] = {}
    for name, value in headers:
        if name in _ENVELOPE_HEADERS:
            last[name] = value
    attributes = {}
    for field, name in _HEADERS.items():
        value = last.get(name)
        if value is None:
            raise MalformedEvent(f"missing header {name}")
        try:
            attributes[field] = value.decode()
        except UnicodeDecodeError as error:
            raise MalformedEvent(f"header {name} is not valid UTF-8") from error
    return attributes


def header(headers: ConsumedHeaders, name: str) -> str | None:
    """The value of the last header called `name` (a retry appends newer values), or None."""
    for key, value in reversed(headers):
        if key == name:
            if value is None:
                return None
            try:
                return value.decode()
            except UnicodeDecodeError as error:
                raise MalformedEvent(f"header {name} is not valid UTF-8") from error
    return None


def header_text(headers: ConsumedHeaders, name: str) -> str:
    """The last header called `name` decoded leniently, or "": for metric labels and span attributes, which must
    describe even a malformed record on its way to the dead-letter topic."""
    for key, value in reversed(headers):
        if key == name:
            return (value or b"").decode(errors="replace")
    return ""


def _required_header(headers: ConsumedHeaders, name: str) -> str:
    value = header(headers, name)
    if value is None:
        raise MalformedEvent(f"missing header {name}")
    return value


def _parse_data(value: bytes | None) -> dict[str, Any]:
    if value is None:
        raise MalformedEvent("record has no value, expected the event data as a JSON object")
    try:
        data = json.loads(value.decode())
    except UnicodeDecodeError as error:
        raise MalformedEvent("record value is not valid UTF-8") from error
    except json.JSONDecodeError as error:
        raise MalformedEvent(f"record value is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise MalformedEvent(f"record value must be a JSON object, got {type(data).__name__}")
    return data


def _describe(error: ValidationError) -> str:
    return "; ".join(f"{_location(detail['loc'])}: {detail['msg']}" for detail in error.errors())


def _location(loc: tuple[int | str, ...]) -> str:
    field, *rest = loc
    if field == "data":
        # rest[0] is the union tag, i.e. the event type, which the message already names.
        return ".".join(["data", *map(str, rest[1:])])
    return f"header {_HEADERS[str(field)]}"
