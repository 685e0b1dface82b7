"""Whether a consumer has joined its group, and whether it is still alive (polling, and fetching when it must)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import ConsumerRebalanceListener, TopicPartition

Clock = Callable[[], float]


class Membership(ConsumerRebalanceListener):  # type: ignore[misc]
    """Readiness: set once the group assigned partitions (an empty assignment still means it accepted us)."""

    def __init__(self) -> None:
        self.joined = asyncio.Event()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.joined.set()


class Liveness:
    """Alive while the poll loop turns and, when records wait, while it fetches them.

    The second condition catches a consumer whose fetcher silently stopped (as aiokafka's can after a broker
    restart): polls return empty while the lag grows. Restarting the process is the cure. `clock` is injectable
    so tests can move time instead of sleeping.
    """

    def __init__(self, limit_seconds: float, clock: Clock = time.monotonic) -> None:
        self._limit = limit_seconds
        self._clock = clock
        self._last_poll = self._last_progress = clock()

    def polled(self) -> None:
        self._last_poll = self._clock()

    def progressed(self) -> None:
        """A record was fetched, or a lag measurement found nothing left to fetch."""
        self._last_progress = self._clock()

    def lag_measured(self, total: int) -> None:
        if total == 0:
            self.progressed()

    def alive(self) -> bool:
        now = self._clock()
        return now - self._last_poll < self._limit and now - self._last_progress < self._limit
