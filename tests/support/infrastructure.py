"""The one CI-aware decision: infrastructure a test needs but cannot reach fails under CI=true, else skips."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(what: str, reason: object) -> NoReturn:
    """Under CI=true a missing broker, database or cluster is a failure; on a laptop a visible skip."""
    message = f"{what} unavailable: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: infrastructure must be there)", pytrace=False)
    pytest.skip(message)
