"""Logging through structlog: one JSON object per line with the trace, service, order and event in each.

Standard-library loggers (eventkit's own, uvicorn's, aiokafka's) go through the same processors, so every
line of a service has one shape. A terminal gets structlog's readable console renderer instead of JSON.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import TextIO

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger

from eventkit.envelope import CloudEvent


def add_trace_context(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """`trace_id` and `span_id` of the span current where the line was logged, as hex like the tracers show."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def configure_logging(
    service: str, *, stream: TextIO | None = None, json_lines: bool | None = None, level: int = logging.INFO
) -> None:
    """Route structlog and the standard library to `stream` (stderr); JSON unless it is a terminal."""
    output = stream or sys.stderr
    as_json = not output.isatty() if json_lines is None else json_lines

    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_service,
        add_trace_context,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # The console renderer prints tracebacks itself; JSON needs them turned into a string field.
    rendering: list[Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
        if as_json
        else [structlog.dev.ConsoleRenderer()]
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering],
    )
    handler = logging.StreamHandler(output)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


@contextlib.contextmanager
def event_logged(event: CloudEvent) -> Iterator[None]:
    """Lines logged while handling `event` name it and its order."""
    with structlog.contextvars.bound_contextvars(event_id=event.id, order_id=event.subject):
        yield
