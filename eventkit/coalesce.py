"""Many small requests, one database round: items submitted concurrently are handled as one batch.

While a batch runs, new items queue; when it ends, the next batch takes everything queued (up to `max_batch`).
At low load a batch holds one item and waits for nothing; under load batches grow by themselves, so the cost
of a transaction, its statements and its commit, is shared exactly when it matters (group commit).

Each batch runs in a task of its own, so a caller that goes away (a client hung up) cannot cancel the others'
work, in the context (contextvars) of the first caller in it: a trace then shows the batch's statements
under one of the requests that caused them.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Per item: its result, or the exception its caller gets.
BatchRun = Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]


class Coalescer(Generic[T, R]):
    def __init__(self, run: BatchRun[T, R], *, max_batch: int = 256, name: str = "coalescer") -> None:
        self._run = run
        self._max_batch = max_batch
        self._name = name
        self._queue: list[tuple[T, asyncio.Future[R], contextvars.Context]] = []
        self._running: asyncio.Task[None] | None = None
        self.batches = 0  # batches run so far: items / batches is the mean batch size

    async def submit(self, item: T) -> R:
        """`item`'s result once the batch holding it is done; its exception if it failed."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done, contextvars.copy_context()))
        if self._running is None:
            self._start_next()
        return await done

    def _start_next(self) -> None:
        batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
        context = batch[0][2]
        self._running = asyncio.create_task(self._batch(batch), name=self._name, context=context)

    async def _batch(self, batch: list[tuple[T, asyncio.Future[R], contextvars.Context]]) -> None:
        self.batches += 1
        try:
            results = await self._run([item for item, _, _ in batch])
        except asyncio.CancelledError:  # shutting down: the callers, queued ones too, are cancelled with it
            for _, done, _ in [*batch, *self._queue]:
                done.cancel()
            self._queue = []
            raise
        except Exception as error:  # every caller learns what became of its item
            results = [error] * len(batch)
        finally:
            self._running = None
        for (_, done, _), result in zip(batch, results, strict=True):
            if done.done():  # its caller went away
                continue
            if isinstance(result, BaseException):
                done.set_exception(result)
            else:
                done.set_result(result)
        if self._queue:
            self._start_next()
