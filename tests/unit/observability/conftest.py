"""Fixtures of the observability unit tests."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog

from eventkit.observability.logs import configure_logging


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """Every log line of the test, as the services write them: JSON, service "orders"."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("orders", stream=stream, json_lines=True)
    yield stream
    root.handlers, root.level = saved
    structlog.reset_defaults()
