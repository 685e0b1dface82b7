import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventkit.events import BY_TYPE, OrderCancelled, OrderPlaced
from eventkit.schemas import Kind, Schema, check, compare, current_schemas, json_schema
from orderflow.schemas import app

PLACED = OrderPlaced.TYPE
runner = CliRunner()


class OrderPlacedWithNote(OrderPlaced):
    note: str | None = None


def edited(model: type[OrderPlaced | OrderCancelled], edit: Callable[[Schema], object]) -> Schema:
    schema = copy.deepcopy(json_schema(model))
    edit(schema)
    return schema


def problems(old: Schema, new: Schema) -> list[tuple[str, Kind]]:
    return [(problem.path, problem.kind) for problem in compare(old, new)]


def add_required_coupon(schema: Schema) -> None:
    schema["properties"]["coupon"] = {"type": "string"}
    schema["required"].append("coupon")


def rename_customer_id(schema: Schema) -> None:
    schema["properties"]["customer"] = schema["properties"].pop("customer_id")
    schema["required"] = ["customer" if name == "customer_id" else name for name in schema["required"]]


def remove_customer_id(schema: Schema) -> None:
    del schema["properties"]["customer_id"]
    schema["required"].remove("customer_id")


def test_current_schemas_name_every_event_type_and_are_deterministic() -> None:
    schemas = current_schemas()

    assert list(schemas) == list(BY_TYPE)
    assert all(schema["$id"] == schema["title"] == name for name, schema in schemas.items())
    assert json.dumps(schemas, sort_keys=True) == json.dumps(current_schemas(), sort_keys=True)


def test_identical_schemas_are_compatible() -> None:
    assert check(current_schemas(), current_schemas()) == []


def test_a_new_optional_field_is_compatible() -> None:
    assert compare(json_schema(OrderPlaced), json_schema(OrderPlacedWithNote)) == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda schema: schema.update(description="Placed by a customer through the API."),
        lambda schema: schema["properties"]["total"].update(title="Grand total", examples=["44.99"]),
        lambda schema: schema["$defs"]["OrderLine"]["properties"].update(gift_wrap={"type": "boolean"}),
    ],
    ids=["description changed", "title and examples changed", "new optional field in a nested model"],
)
def test_annotations_and_optional_additions_are_compatible(edit: Callable[[Schema], object]) -> None:
    assert compare(json_schema(OrderPlaced), edited(OrderPlaced, edit)) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (remove_customer_id, [("$.customer_id", Kind.FIELD_REMOVED)]),
        (rename_customer_id, [("$.customer", Kind.NEW_REQUIRED), ("$.customer_id", Kind.FIELD_REMOVED)]),
        (
            lambda schema: schema["properties"]["customer_id"].update(type="integer"),
            [("$.customer_id", Kind.FIELD_CHANGED)],
        ),
        (
            lambda schema: schema["$defs"]["OrderLine"]["properties"]["quantity"].update(type="number"),
            [("$.items[*].quantity", Kind.FIELD_CHANGED)],
        ),
        (
            lambda schema: schema["properties"]["currency"].update(pattern="^[A-Z]{3,4}$"),
            [("$.currency", Kind.FIELD_CHANGED)],
        ),
        (add_required_coupon, [("$.coupon", Kind.NEW_REQUIRED)]),
        (lambda schema: schema["required"].remove("total"), [("$.total", Kind.FIELD_CHANGED)]),
    ],
    ids=[
        "field removed",
        "field renamed",
        "field retyped",
        "nested field retyped in $defs",
        "constraint changed",
        "new required field",
        "required field made optional",
    ],
)
def test_non_additive_changes_are_incompatible(
    edit: Callable[[Schema], object], expected: list[tuple[str, Kind]]
) -> None:
    assert problems(json_schema(OrderPlaced), edited(OrderPlaced, edit)) == expected


def test_a_retyped_field_is_reported_with_its_old_and_new_type() -> None:
    new = edited(OrderPlaced, lambda schema: schema["properties"]["customer_id"].update(type="integer"))

    [problem] = compare(json_schema(OrderPlaced), new, event_type=PLACED)

    assert problem.event_type == PLACED
    assert problem.detail == 'type changed from "string" to "integer"'


def test_a_changed_alternative_of_an_optional_field_is_incompatible() -> None:
    old = json_schema(OrderPlacedWithNote)
    new = copy.deepcopy(old)
    new["properties"]["note"]["anyOf"][0]["type"] = "integer"

    assert problems(old, new) == [("$.note", Kind.FIELD_CHANGED)]


def test_making_an_optional_field_required_is_incompatible() -> None:
    new = edited(OrderCancelled, lambda schema: schema["required"].append("detail"))

    assert problems(json_schema(OrderCancelled), new) == [("$.detail", Kind.NEW_REQUIRED)]


def test_removing_an_enum_value_is_incompatible() -> None:
    new = edited(OrderCancelled, lambda schema: schema["$defs"]["CancelReason"]["enum"].remove("timeout"))

    [problem] = compare(json_schema(OrderCancelled), new)

    assert (problem.path, problem.kind, problem.detail) == (
        "$.reason",
        Kind.FIELD_CHANGED,
        'enum values removed: ["timeout"]',
    )


def test_adding_an_enum_value_is_incompatible_because_older_consumers_reject_it() -> None:
    new = edited(OrderCancelled, lambda schema: schema["$defs"]["CancelReason"]["enum"].append("fraud"))

    assert [problem.detail for problem in compare(json_schema(OrderCancelled), new)] == ['enum values added: ["fraud"]']


def test_a_changed_const_is_incompatible() -> None:
    assert problems({"const": "EUR"}, {"const": "USD"}) == [("$", Kind.FIELD_CHANGED)]


def test_a_published_type_missing_from_the_code_is_incompatible() -> None:
    current = current_schemas()
    published = {**current, "orderflow.order.shipped.v1": json_schema(OrderPlaced)}

    [problem] = check(published, current)

    assert (problem.event_type, problem.path, problem.kind) == (
        "orderflow.order.shipped.v1",
        "$",
        Kind.TYPE_REMOVED,
    )


def test_a_new_unpublished_type_is_compatible() -> None:
    published = current_schemas()
    del published[PLACED]

    assert check(published, current_schemas()) == []


def test_export_writes_one_sorted_pretty_file_per_type_and_check_then_passes(tmp_path: Path) -> None:
    exported = runner.invoke(app, ["export", "--dir", str(tmp_path)])
    checked = runner.invoke(app, ["check", "--dir", str(tmp_path)])

    assert exported.exit_code == 0, exported.output
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(f"{name}.json" for name in BY_TYPE)
    placed = (tmp_path / f"{PLACED}.json").read_text()
    assert placed == json.dumps(json_schema(OrderPlaced), indent=2, sort_keys=True) + "\n"
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith("OK: 9 published event schemas are compatible")


def test_check_fails_and_names_an_incompatible_change_to_a_published_schema(tmp_path: Path) -> None:
    runner.invoke(app, ["export", "--dir", str(tmp_path)])
    published = tmp_path / f"{PLACED}.json"
    schema = json.loads(published.read_text())
    add_required_coupon(schema)  # as if v1 had been published with a field the code no longer has
    published.write_text(json.dumps(schema))

    result = runner.invoke(app, ["check", "--dir", str(tmp_path)])

    assert result.exit_code == 1
    assert f"{PLACED} $.coupon: field removed or renamed" in result.output
    assert "publish a new version, e.g. orderflow.order.placed.v2" in result.output


def test_export_refuses_to_overwrite_an_incompatible_published_schema_unless_forced(tmp_path: Path) -> None:
    runner.invoke(app, ["export", "--dir", str(tmp_path)])
    published = tmp_path / f"{PLACED}.json"
    incompatible = json.dumps(edited(OrderPlaced, add_required_coupon))
    published.write_text(incompatible)

    refused = runner.invoke(app, ["export", "--dir", str(tmp_path)])
    unchanged = published.read_text()
    forced = runner.invoke(app, ["export", "--dir", str(tmp_path), "--force"])

    assert refused.exit_code == 1
    assert "$.coupon: field removed or renamed" in refused.output
    assert unchanged == incompatible
    assert forced.exit_code == 0, forced.output
    assert json.loads(published.read_text()) == json_schema(OrderPlaced)


def test_check_rejects_a_directory_that_does_not_exist(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--dir", str(tmp_path / "missing")])

    assert result.exit_code == 2


def test_the_schemas_published_in_the_repo_are_compatible_with_the_code() -> None:
    result = runner.invoke(app, ["check"])

    assert result.exit_code == 0, result.output
