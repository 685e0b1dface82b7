"""JSON Schemas of the event types, and the rule for changing a published version.

A published version is read by consumers older and newer than any producer, and its events linger in
topics and dead-letter queues, so a change must work both ways: old consumers read new events (nothing
removed or changed) and new consumers read old events (nothing newly required). Adding an optional field
is therefore the only structural change allowed; annotations such as titles and descriptions are free.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eventkit.events import EVENT_TYPES, EventData

Schema = dict[str, Any]

# Annotations do not restrict which data is valid; `$defs` is only compared where a `$ref` leads into it.
_NOT_COMPARED = frozenset(
    {"$id", "$schema", "$comment", "$defs", "title", "description", "examples", "default", "deprecated"}
)
# Lists whose members are subschemas, compared pairwise so `$ref`s inside them are followed.
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_DEFS = "#/$defs/"


class Kind(StrEnum):
    FIELD_REMOVED = "field removed or renamed"
    FIELD_CHANGED = "field changed"
    NEW_REQUIRED = "new required field"
    TYPE_REMOVED = "type removed"


@dataclass(frozen=True)
class Incompatibility:
    event_type: str
    path: str  # JSONPath-like: `$` is the data object, `$.items[*].quantity` a field of each list item
    kind: Kind
    detail: str


def json_schema(model: type[EventData]) -> Schema:
    """The schema of `model`'s data, identified and titled by its event type."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",  # the dialect pydantic generates
        "$id": model.TYPE,
        **model.model_json_schema(),
        "title": model.TYPE,
    }


def current_schemas() -> dict[str, Schema]:
    return {model.TYPE: json_schema(model) for model in EVENT_TYPES}


def compare(old: Schema, new: Schema, *, event_type: str = "") -> list[Incompatibility]:
    """What in `new` breaks readers or writers of `old`; `event_type` only labels the results."""
    return list(_Comparison(event_type, old, new).schemas(old, new, "$"))


def check(published: dict[str, Schema], current: dict[str, Schema]) -> list[Incompatibility]:
    """Incompatibilities of the code's schemas with the published ones; unpublished types are fine."""
    problems: list[Incompatibility] = []
    for event_type, old in sorted(published.items()):
        if event_type in current:
            problems += compare(old, current[event_type], event_type=event_type)
        else:
            problems.append(Incompatibility(event_type, "$", Kind.TYPE_REMOVED, "published, but no longer in the code"))
    return problems


@dataclass(frozen=True)
class _Comparison:
    event_type: str
    old_root: Schema
    new_root: Schema

    def schemas(self, old: Schema, new: Schema, path: str) -> Iterator[Incompatibility]:
        old, new = _resolve(old, self.old_root), _resolve(new, self.new_root)
        yield from self._properties(old, new, path)
        for keyword in sorted((old.keys() | new.keys()) - _NOT_COMPARED - {"properties", "required"}):
            yield from self._keyword(keyword, old, new, path)

    def _properties(self, old: Schema, new: Schema, path: str) -> Iterator[Incompatibility]:
        old_fields: Schema = old.get("properties", {})
        new_fields: Schema = new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        for name in sorted(old_fields.keys() | new_fields.keys()):
            field = f"{path}.{name}"
            if name not in new_fields:
                yield self._problem(field, Kind.FIELD_REMOVED, "consumers of this version may read it")
                continue
            if name in new_required - old_required:
                yield self._problem(field, Kind.NEW_REQUIRED, "events written before the change lack it")
            elif name in old_required - new_required:
                yield self._problem(field, Kind.FIELD_CHANGED, "no longer required, but consumers rely on it")
            if name in old_fields:
                yield from self.schemas(old_fields[name], new_fields[name], field)

    def _keyword(self, keyword: str, old: Schema, new: Schema, path: str) -> Iterator[Incompatibility]:
        if keyword not in new:
            yield self._problem(path, Kind.FIELD_CHANGED, f"{keyword} {_json(old[keyword])} removed")
            return
        if keyword not in old:
            yield self._problem(path, Kind.FIELD_CHANGED, f"{keyword} {_json(new[keyword])} added")
            return
        old_value, new_value = old[keyword], new[keyword]
        if isinstance(old_value, dict) and isinstance(new_value, dict):
            child = path + ("[*]" if keyword == "items" else f"<{keyword}>")
            yield from self.schemas(old_value, new_value, child)
        elif keyword == "enum":
            yield from self._enum(old_value, new_value, path)
        elif keyword in _SCHEMA_LISTS and len(old_value) == len(new_value):
            for old_member, new_member in zip(old_value, new_value, strict=True):
                yield from self.schemas(old_member, new_member, path)
        elif old_value != new_value:
            change = f"{keyword} changed from {_json(old_value)} to {_json(new_value)}"
            yield self._problem(path, Kind.FIELD_CHANGED, change)

    def _enum(self, old: list[Any], new: list[Any], path: str) -> Iterator[Incompatibility]:
        removed = [value for value in old if value not in new]
        # Adding a value breaks consumers too: they validate against the closed list (a Python enum) and
        # would dead-letter every event carrying the new value. Publish a new version instead.
        added = [value for value in new if value not in old]
        if removed:
            yield self._problem(path, Kind.FIELD_CHANGED, f"enum values removed: {_json(removed)}")
        if added:
            yield self._problem(path, Kind.FIELD_CHANGED, f"enum values added: {_json(added)}")

    def _problem(self, path: str, kind: Kind, detail: str) -> Incompatibility:
        return Incompatibility(self.event_type, path, kind, detail)


def _resolve(schema: Schema, root: Schema) -> Schema:
    """`schema` with a `$ref` replaced by its target; sibling keywords (e.g. a description) are kept."""
    ref = schema.get("$ref")
    if ref is None:
        return schema
    if not ref.startswith(_DEFS):
        raise ValueError(f"unsupported $ref {ref!r}: only {_DEFS}... references are resolved")
    siblings = {keyword: value for keyword, value in schema.items() if keyword != "$ref"}
    return _resolve({**root["$defs"][ref.removeprefix(_DEFS)], **siblings}, root)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
