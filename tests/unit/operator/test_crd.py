"""The CRD's spec schema is the spec model's: every field, bound, enum, default, required field and description
of operators/scaler/spec.py is in it, nothing else is but what devstack/scalercrd.py names, and its CEL rules
are the model validator's checks."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import types
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
import pytest
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_jsonable_python

from devstack.scalercrd import consumerscaler_crd, render, structural
from operators.scaler.spec import ScalerSpec

Schema = dict[str, Any]

# Each model constraint and the structural-schema keyword that must carry it.
_BOUNDS: dict[type, tuple[str, str]] = {
    annotated_types.Ge: ("ge", "minimum"),
    annotated_types.Le: ("le", "maximum"),
    annotated_types.MinLen: ("min_length", "minLength"),
    annotated_types.MaxLen: ("max_length", "maxLength"),
}
_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _spec_schema() -> Schema:
    spec: Schema = consumerscaler_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return spec


def _optional(annotation: Any) -> Any:
    """X for `X | None`, else the annotation."""
    if get_origin(annotation) in (Union, types.UnionType):
        (inner,) = [arg for arg in get_args(annotation) if arg is not type(None)]
        return inner
    return annotation


def _check_type(annotation: Any, schema: Schema, path: str) -> None:
    annotation = _optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        _check_model(annotation, schema, path)
    elif get_origin(annotation) is Literal:
        assert schema["type"] == "string", path
        assert schema["enum"] == list(get_args(annotation)), path
    elif get_origin(annotation) is list:
        assert schema["type"] == "array", path
        _check_type(get_args(annotation)[0], schema["items"], f"{path}[*]")
    else:
        assert schema["type"] == _TYPES[annotation], path


def _check_field(field: FieldInfo, schema: Schema, path: str) -> None:
    _check_type(field.annotation, schema, path)
    for constraint in field.metadata:
        assert type(constraint) in _BOUNDS, f"{path}: teach this test (and scalercrd.structural) {constraint!r}"
        attribute, keyword = _BOUNDS[type(constraint)]
        assert schema.get(keyword) == getattr(constraint, attribute), f"{path}: {constraint!r} is not {keyword}"
    assert schema.get("description") == field.description, path
    if field.default is PydanticUndefined or field.default is None:
        # Required, optional without a value, or a default_factory: the API server writes no default.
        assert "default" not in schema, path
    else:
        assert schema["default"] == to_jsonable_python(field.default, by_alias=True), path


def _check_model(model: type[BaseModel], schema: Schema, path: str) -> None:
    assert schema["type"] == "object", path
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    assert set(schema["properties"]) == set(fields), f"{path}: the CRD's fields are not the model's"
    assert schema.get("required", []) == [alias for alias, field in fields.items() if field.is_required()], path
    for alias, field in fields.items():
        _check_field(field, schema["properties"][alias], f"{path}.{alias}")


def test_every_field_bound_enum_default_and_description_of_the_model_is_in_the_crd() -> None:
    _check_model(ScalerSpec, _spec_schema(), "spec")


def test_the_crd_adds_to_the_model_only_the_cel_rules_and_the_api_server_only_bounds() -> None:
    crd, model = _spec_schema(), structural(ScalerSpec)
    assert crd.pop("x-kubernetes-validations")
    assert crd["properties"]["bootstrapServers"].pop("minLength") == 1
    assert crd["properties"]["topics"]["items"].pop("minLength") == 1
    assert crd == model


def test_the_structural_schema_has_a_type_everywhere_and_no_json_schema_only_keywords() -> None:
    def walk(schema: Schema, path: str) -> None:
        assert "type" in schema, path
        assert not schema.keys() & {"$ref", "$defs", "anyOf", "oneOf", "allOf", "title", "additionalProperties"}, path
        assert schema.get("default", "") is not None, path
        for name, prop in schema.get("properties", {}).items():
            walk(prop, f"{path}.{name}")
        if "items" in schema:
            walk(schema["items"], f"{path}[*]")

    walk(_spec_schema(), "spec")


def test_the_rendered_crd_has_no_yaml_anchors() -> None:
    assert not re.search(r"[&*]id\d+", render())


# One spec per CEL rule that breaks only that rule: the model must reject it in its validator.
_BREAKS_RULE = {
    "has(self.bootstrapServers) != has(self.strimzi)": {"scaleTargetRef": {"name": "x"}, "consumerGroup": "g"},
    "self.minReplicas <= self.maxReplicas": {
        "scaleTargetRef": {"name": "x"},
        "bootstrapServers": "k:9092",
        "consumerGroup": "g",
        "minReplicas": 5,
        "maxReplicas": 2,
    },
}


def _validator_messages() -> list[str]:
    """The messages of the ValueErrors `ScalerSpec._consistent` raises, read from its source."""
    tree = ast.parse(
        textwrap.dedent(inspect.getsource(ScalerSpec.__pydantic_decorators__.model_validators["_consistent"].func))
    )
    messages = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            assert isinstance(node.exc.func, ast.Name)
            assert node.exc.func.id == "ValueError"
            (argument,) = node.exc.args
            assert isinstance(argument, ast.Constant)
            assert isinstance(argument.value, str)
            messages.append(argument.value)
    return messages


def _field_names(text: str) -> set[str]:
    aliases = {field.alias for field in ScalerSpec.model_fields.values()}
    return set(re.findall(r"[A-Za-z]+", text)) & aliases


def test_each_cel_rule_is_one_of_the_model_validators_checks() -> None:
    rules = _spec_schema()["x-kubernetes-validations"]
    assert {rule["rule"] for rule in rules} == set(_BREAKS_RULE), "a CEL rule needs a spec that breaks it, here"
    raised = []
    for rule in rules:
        with pytest.raises(ValidationError) as caught:
            ScalerSpec.model_validate(_BREAKS_RULE[rule["rule"]])
        (error,) = caught.value.errors()
        assert error["type"] == "value_error", f"{rule['rule']}: the spec breaks more than the validator"
        message = str(error["ctx"]["error"])
        # The CEL message and the validator's name the same fields (their wording may differ).
        assert _field_names(rule["rule"]) == _field_names(rule["message"]) == _field_names(message), rule
        raised.append(message)
    assert sorted(raised) == sorted(_validator_messages()), "a check of the validator has no CEL rule"
