"""Waiting on visible progress instead of sleeping: poll a check until it holds, with a deadline that only
fails a test that really stalled (the deadline is generous; the wait ends as soon as the check holds)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    read: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool] = bool,
    *,
    timeout: float = 60.0,
    interval: float = 0.1,
    what: str = "the condition",
) -> T:
    """Call `read` until `accept` approves its value; that value. Fails with the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = await read()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout:.0f}s; last seen: {value!r}")
        await asyncio.sleep(interval)


async def equals(read: Callable[[], Awaitable[T]], expected: T, *, timeout: float = 60.0) -> T:
    """`read()` until it returns `expected`."""
    return await eventually(read, lambda value: value == expected, timeout=timeout, what=f"== {expected!r}")


def wait_until(check: Callable[[], bool], *, timeout: float = 60.0, interval: float = 0.1, what: str = "") -> None:
    """The blocking form, for code outside an event loop."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or 'the condition'} did not hold within {timeout:.0f}s")
        time.sleep(interval)
