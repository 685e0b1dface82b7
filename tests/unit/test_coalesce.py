"""The coalescer: concurrent submissions share a batch, results and errors reach their own callers."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence

import pytest

from eventkit.coalesce import Coalescer

who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


async def test_items_submitted_while_a_batch_runs_share_the_next_batch() -> None:
    batches: list[list[int]] = []
    gate = asyncio.Event()

    async def run(items: Sequence[int]) -> list[int | BaseException]:
        batches.append(list(items))
        await gate.wait()
        return [item * 10 for item in items]

    coalescer: Coalescer[int, int] = Coalescer(run)
    first = asyncio.create_task(coalescer.submit(1))
    await asyncio.sleep(0)  # the first batch starts with the first item alone
    rest = [asyncio.create_task(coalescer.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    gate.set()
    assert await first == 10
    assert [await task for task in rest] == [20, 30, 40]
    assert batches == [[1], [2, 3, 4]]
    assert coalescer.batches == 2


async def test_a_batch_is_at_most_max_batch_items() -> None:
    sizes: list[int] = []

    async def run(items: Sequence[int]) -> list[int | BaseException]:
        sizes.append(len(items))
        await asyncio.sleep(0)
        return list(items)

    coalescer: Coalescer[int, int] = Coalescer(run, max_batch=3)
    assert await asyncio.gather(*(coalescer.submit(n) for n in range(7))) == list(range(7))
    assert max(sizes) <= 3
    assert sum(sizes) == 7


async def test_an_item_s_error_reaches_its_caller_only() -> None:
    async def run(items: Sequence[int]) -> list[int | BaseException]:
        return [ValueError(f"bad {item}") if item == 2 else item for item in items]

    coalescer: Coalescer[int, int] = Coalescer(run)
    results = await asyncio.gather(*(coalescer.submit(n) for n in (1, 2, 3)), return_exceptions=True)
    assert results[0] == 1
    assert results[2] == 3
    assert isinstance(results[1], ValueError)


async def test_a_failing_batch_fails_each_of_its_callers_and_the_next_batch_still_runs() -> None:
    calls = 0

    async def run(items: Sequence[int]) -> list[int | BaseException]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database gone")
        return list(items)

    coalescer: Coalescer[int, int] = Coalescer(run)
    with pytest.raises(RuntimeError, match="database gone"):
        await coalescer.submit(1)
    assert await coalescer.submit(2) == 2


async def test_a_batch_runs_in_the_context_of_its_first_caller() -> None:
    seen: list[str] = []

    async def run(items: Sequence[str]) -> list[str | BaseException]:
        seen.append(who.get())
        return list(items)

    coalescer: Coalescer[str, str] = Coalescer(run)

    async def as_caller(name: str) -> str:
        who.set(name)
        return await coalescer.submit(name)

    assert await as_caller("alice") == "alice"
    assert seen == ["alice"]
