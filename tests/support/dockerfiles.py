"""A Dockerfile as (instruction, arguments) pairs, continuation lines joined and comments dropped."""

from __future__ import annotations

import re
from pathlib import Path


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
