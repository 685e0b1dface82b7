"""The bench's arithmetic and its readings of /proc and of py-spy: pure functions on made-up inputs."""

from __future__ import annotations

from devstack.benchprocs import PAGE_BYTES, Stat, parse_stat, tree
from devstack.benchprofile import profile_summary
from devstack.benchreport import open_loop_rates, per_order_ms, ratios


def test_a_stat_line_with_spaces_and_parentheses_in_the_name_parses() -> None:
    fields = ["S", "41"] + ["0"] * 9 + ["150", "50", "7", "3"] + ["0"] * 6 + ["25", "0"]
    stat = parse_stat(42, f"42 (python3 (worker) x) {' '.join(fields)}")
    assert stat == Stat(pid=42, ppid=41, ticks=210, rss_bytes=25 * PAGE_BYTES)


def test_a_tree_holds_the_root_and_every_descendant_only() -> None:
    stats = {pid: Stat(pid, ppid, 1, 0) for pid, ppid in [(1, 0), (10, 1), (11, 10), (12, 10), (20, 1)]}
    assert sorted(s.pid for s in tree(10, stats)) == [10, 11, 12]
    assert tree(99, stats) == []


def test_ratios_divide_each_stage_by_its_ceiling_and_skip_what_is_missing() -> None:
    found = ratios({"http_ingest": 1000.0, "relay": 5000.0}, {"bare_fastapi": 4000.0, "raw_getmany": 9.0})
    assert found == {"http_ingest/bare_fastapi": 0.25, "consumer_runtime/raw_getmany": None, "relay/raw_produce": None}


def test_cpu_per_order_sums_every_process() -> None:
    assert per_order_ms({"orders": 2.0, "kafka": 0.5}, 1000) == {"orders": 2.0, "kafka": 0.5, "total": 2.5}
    assert per_order_ms({"orders": 1.0}, 0) == {}


def test_open_loop_rates_are_shares_of_saturation() -> None:
    assert open_loop_rates(400.0) == [100.0, 200.0, 300.0]
    assert open_loop_rates(1.0) == [1.0, 1.0, 1.0]


def test_a_profile_is_summarised_by_job_and_by_own_function() -> None:
    raw = "\n".join(
        [
            "run (asyncio/runners.py:118);run_asgi (uvicorn/httptools_impl.py:400);validate (pydantic/main.py:10) 6",
            "_bootstrap (threading.py:1);_connection_worker_thread (aiosqlite/core.py:63) 3",
            "run (asyncio/runners.py:118) 1",
        ]
    )
    summary = profile_summary(raw)
    assert summary["samples"] == 10
    assert summary["jobs"] == {"HTTP requests": 60.0, "database driver thread": 30.0, "event loop and other": 10.0}
    assert next(iter(summary["functions"])) == "validate (pydantic/main.py)"
