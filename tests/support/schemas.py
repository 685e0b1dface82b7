"""Walking a JSON document (an OpenAPI document, a JSON Schema): every object in it, with where it sits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def objects(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object below `node` (itself included), each with its path: `where/key/0/...`."""
    if isinstance(node, dict):
        yield where, node
        for key, child in node.items():
            yield from objects(child, f"{where}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from objects(child, f"{where}/{index}")
