"""`orderflow trace ORDER_ID`: an order's span tree, read from the OTLP JSON lines of `orderflow up --trace-file`.

An order's traces are those holding a span whose Kafka message key is the order id (every event of an order
is keyed by it); usually one, a second when the timeout sweeper cancelled the order outside any request.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.tree import Tree

from eventkit.observability.tracing import TRACE_FILE_ENV
from orderflow.localstate import local_state_dir

console = Console()

_STATUS = {0: "", 1: "ok", 2: "error"}  # OTLP status codes: UNSET, OK, ERROR


@dataclass(frozen=True)
class SpanRecord:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    service: str
    start_ns: int
    end_ns: int
    status: str
    attributes: dict[str, Any]

    @property
    def milliseconds(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


def read_spans(lines: Iterable[str]) -> Iterator[SpanRecord]:
    """The spans of OTLP/JSON export requests, one request per line."""
    for line in lines:
        if not line.strip():
            continue
        for resource_spans in json.loads(line).get("resourceSpans", []):
            service = str(_attributes(resource_spans.get("resource", {})).get("service.name", "?"))
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    yield SpanRecord(
                        trace_id=span["traceId"],
                        span_id=span["spanId"],
                        parent_id=span.get("parentSpanId", ""),
                        name=span["name"],
                        service=service,
                        start_ns=int(span["startTimeUnixNano"]),
                        end_ns=int(span["endTimeUnixNano"]),
                        status=_STATUS.get(span.get("status", {}).get("code", 0), ""),
                        attributes=_attributes(span),
                    )


def _attributes(holder: dict[str, Any]) -> dict[str, Any]:
    # An AnyValue holds exactly one typed field (stringValue, intValue, ...); its value is all we show.
    return {item["key"]: next(iter(item["value"].values()), None) for item in holder.get("attributes", [])}


def order_traces(spans: Iterable[SpanRecord], order_id: str) -> dict[str, list[SpanRecord]]:
    """Every span of every trace that carried one of the order's events, by trace id, oldest trace first."""
    by_trace: dict[str, list[SpanRecord]] = defaultdict(list)
    for span in spans:
        by_trace[span.trace_id].append(span)
    ours = {
        trace_id: sorted(members, key=lambda span: span.start_ns)
        for trace_id, members in by_trace.items()
        if any(span.attributes.get("messaging.kafka.message.key") == order_id for span in members)
    }
    return dict(sorted(ours.items(), key=lambda item: item[1][0].start_ns))


def span_tree(trace_id: str, spans: list[SpanRecord]) -> Tree:
    """Children under their parents in start order; a span whose parent is missing (not exported) is a root."""
    ids = {span.span_id for span in spans}
    children: dict[str, list[SpanRecord]] = defaultdict(list)
    for span in spans:
        children[span.parent_id if span.parent_id in ids else ""].append(span)
    tree = Tree(f"trace [bold]{trace_id}[/]")

    def attach(node: Tree, parent_id: str) -> None:
        for span in children[parent_id]:
            attach(node.add(_label(span)), span.span_id)

    attach(tree, "")
    return tree


def _label(span: SpanRecord) -> str:
    status = {"error": "  [red]ERROR[/]", "ok": "  [green]OK[/]"}.get(span.status, "")
    return f"[cyan]{span.service}[/]  {span.name}  [dim]{span.milliseconds:.1f} ms[/]{status}"


def default_trace_file() -> Path:
    return Path(os.environ.get(TRACE_FILE_ENV) or local_state_dir() / "traces.jsonl")


def trace(
    order_id: Annotated[str, typer.Argument(help="The order id, as POST /orders answered it", show_default=False)],
    trace_file: Annotated[
        Path | None, typer.Option(help=f"OTLP JSON lines (default: ${TRACE_FILE_ENV} or .orderflow/traces.jsonl)")
    ] = None,
) -> None:
    """Print an order's span tree (service, span, duration, status) from a trace file."""
    path = trace_file or default_trace_file()
    try:
        with path.open() as lines:
            traces = order_traces(read_spans(lines), order_id)
    except FileNotFoundError:
        console.print(f"[red]error:[/] no trace file {path}; `make run` (`orderflow up --traces`) writes it")
        raise typer.Exit(1) from None
    if not traces:
        console.print(f"[red]error:[/] no spans of order {order_id} in {path} (spans arrive about a second late)")
        raise typer.Exit(1)
    for trace_id, spans in traces.items():
        console.print(span_tree(trace_id, spans))
