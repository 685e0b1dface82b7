"""What the CLI's clients treat as transient, and how they back off: one policy for `load` and `verify`.

A pod replaced in a rolling update closes its keep-alive connections, and kube-proxy routes to a new pod a
moment after it is Ready; either way a request may break or meet a gateway error although the service is fine.
A node that dies is longer: its pods stay among the Service's endpoints until Kubernetes marks the node
NotReady (about 50 s), and each new connection may be routed to them: with two replicas, half the tries.
Twelve tries, 0.25 s apart at first and then at most 4 s apart (about 32 s of waiting, plus a bounded connect
each), outlast the first window at once, and every try of one request meets a dead pod once in 4,096.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

R = TypeVar("R")

ATTEMPTS = 12
BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 4.0
STATUSES = frozenset({502, 503, 504})


def backoff(attempt: int) -> float:
    """Seconds to wait before try number `attempt` (0 for the first)."""
    return min(BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS) if attempt else 0.0


async def retried(
    call: Callable[[], Awaitable[R]],
    broken: type[BaseException] | tuple[type[BaseException], ...],
    status: Callable[[R], int] | None = None,
) -> R:
    """`call()` under this policy: tried again after a `broken` error and, with `status`, after an answer whose
    status is transient, up to ATTEMPTS tries; the last try's answer is returned or its error raised."""
    for attempt in range(ATTEMPTS - 1):
        await asyncio.sleep(backoff(attempt))
        try:
            answer = await call()
        except broken:
            continue
        if status is None or status(answer) not in STATUSES:
            return answer
    await asyncio.sleep(backoff(ATTEMPTS - 1))
    return await call()
