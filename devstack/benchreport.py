"""The figures of `orderflow bench`: pure arithmetic on what was measured, and the table that shows it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.table import Table

OPEN_LOOP_SHARES = (0.25, 0.50, 0.75)
# Stage -> (its measured rate, the ceiling it is compared with), keys of `stages` and `ceilings`.
RATIOS = {
    "http_ingest/bare_fastapi": ("http_ingest", "bare_fastapi"),
    "consumer_runtime/raw_getmany": ("consumer_runtime", "raw_getmany"),
    "relay/raw_produce": ("relay", "raw_produce"),
}


def open_loop_rates(saturation_per_second: float, shares: Sequence[float] = OPEN_LOOP_SHARES) -> list[float]:
    """Arrival rates (orders/s) at `shares` of the saturation throughput, at least one order per second."""
    return [max(round(saturation_per_second * share, 1), 1.0) for share in shares]


def ratios(stages: Mapping[str, float], ceilings: Mapping[str, float]) -> dict[str, float | None]:
    """Each stage's rate over its ceiling's (None when either was not measured)."""
    found: dict[str, float | None] = {}
    for name, (stage, ceiling) in RATIOS.items():
        rate, limit = stages.get(stage), ceilings.get(ceiling)
        found[name] = round(rate / limit, 3) if rate and limit else None
    return found


def per_order_ms(cpu_seconds: Mapping[str, float], orders: int) -> dict[str, float]:
    """CPU milliseconds per order of each process, and their total."""
    if orders <= 0:
        return {}
    per = {role: round(seconds * 1000 / orders, 3) for role, seconds in cpu_seconds.items()}
    per["total"] = round(sum(seconds * 1000 / orders for seconds in cpu_seconds.values()), 3)
    return per


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def render(result: Mapping[str, Any]) -> Group:
    """The bench as Rich tables: throughput and latency, CPU and memory per process, stages against ceilings."""
    machine = result["machine"]
    title = (
        f"orderflow bench on {result['database']}: {machine['cores']} cores ({machine['cpu']}), "
        f"{machine['memory_gib']} GiB, load {machine['load_before']}"
    )
    saturation = result["saturation"]
    throughput = Table(title=title, title_justify="left")
    for column in ("load", "orders/s", "placed/min", "final/min", "p50 ms", "p95 ms", "p99 ms", "max ms", "pending"):
        throughput.add_column(column, justify="right")
    throughput.add_row(
        "saturation, closed loop",
        _number(saturation["final_per_second"]),
        _number(saturation["placed_per_minute"], 0),
        _number(saturation["final_per_minute"], 0),
        *(_number(saturation["latency_ms"].get(key)) for key in ("p50", "p95", "p99", "max")),
        str(saturation["pending"]),
    )
    for level in result["open_loop"]:
        throughput.add_row(
            f"open loop at {level['share']:.0%}",
            _number(level["rate_per_second"]),
            _number(level["placed_per_minute"], 0),
            _number(level["final_per_minute"], 0),
            *(_number(level["latency_ms"].get(key)) for key in ("p50", "p95", "p99", "max")),
            str(level["pending"]),
        )

    costs = Table(title="CPU per order and peak memory (saturation phase)", title_justify="left")
    for column in ("process", "CPU ms/order", "peak RSS MiB"):
        costs.add_column(column, justify="right")
    for role, cpu in saturation["cpu_ms_per_order"].items():
        rss = saturation["peak_rss_mib"].get(role)
        costs.add_row(role, _number(cpu, 2), _number(rss, 0))

    tracing = Table(title="What tracing costs: CPU ms per order (saturation)", title_justify="left")
    traced = result.get("tracing", {})
    tracing.add_column("process", justify="right")
    for level in traced:
        tracing.add_column(level, justify="right")
    for role in next(iter(traced.values()), {}):
        tracing.add_row(role, *(_number(costs.get(role), 2) for costs in traced.values()))

    stages = Table(title="Stages against their ceilings (same run, same broker, same client)", title_justify="left")
    for column in ("stage", "rate/s", "ceiling", "ceiling rate/s", "ratio"):
        stages.add_column(column, justify="right")
    for name, (stage, ceiling) in RATIOS.items():
        stages.add_row(
            stage,
            _number(result["stages"].get(stage)),
            ceiling,
            _number(result["ceilings"].get(ceiling)),
            _number(result["ratios"].get(name), 2),
        )
    stages.add_row("", "", "ProducerPerformance", _number(result["ceilings"].get("producer_performance")), "")
    extra = Table(title="Scale-out shapes", title_justify="left", show_header=False)
    extra.add_column(style="bold")
    extra.add_column(justify="right")
    for key, value in result.get("scale_out", {}).items():
        extra.add_row(key.replace("_", " "), _number(value) if isinstance(value, int | float) else str(value))
    return Group(throughput, costs, tracing, stages, extra)
