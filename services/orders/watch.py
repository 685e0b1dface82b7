"""Long polls of `GET /orders/{id}?wait=`: one database query per tick for all waiting requests.

A query per waiting request every 50 ms would cost the database thousands of queries per second under load;
instead one poll task asks which of all awaited orders have settled and wakes their requests. The task runs
only while someone waits. Outcomes committed in this very process wake their waiters at once (`committed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.envelope import CloudEvent
from eventkit.events import OrderCancelled, OrderConfirmed
from services.orders import views

log = logging.getLogger(__name__)

_CHUNK = 500  # ids per IN (...) query, well under every database's bound-parameter limit


class OrderWatcher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], interval: float) -> None:
        self._sessions = sessions
        self._interval = interval
        self._waiters: dict[UUID, set[asyncio.Future[None]]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._polls = 0
        self._woken = 0

    async def wait(self, order_id: UUID, timeout: float) -> None:
        """Return once the order left PENDING or after `timeout` seconds, whichever comes first."""
        settled = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(order_id, set()).add(settled)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="orders-wait-poller")
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(settled, timeout)
        finally:
            waiting = self._waiters.get(order_id, set())
            waiting.discard(settled)
            if not waiting:
                self._waiters.pop(order_id, None)

    def committed(self, events: Sequence[CloudEvent]) -> None:
        """Events this process committed: the orders they decide wake their waiters now, without a poll."""
        for event in events:
            if isinstance(event.data, OrderConfirmed | OrderCancelled):
                self._wake(event.data.order_id)

    async def close(self) -> None:
        """Stop polling and answer every waiter now: at shutdown each reads the order's current state."""
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        for waiting in self._waiters.values():
            for future in waiting:
                if not future.done():
                    future.set_result(None)

    @property
    def polls(self) -> int:
        """Database polls made so far, for all waiters together."""
        return self._polls

    @property
    def waiting(self) -> int:
        """Requests waiting right now."""
        return sum(len(futures) for futures in self._waiters.values())

    @property
    def woken(self) -> int:
        """Requests answered because their order settled (not because their wait ran out)."""
        return self._woken

    async def _poll(self) -> None:
        while self._waiters:
            await asyncio.sleep(self._interval)
            awaited = list(self._waiters)
            self._polls += 1
            try:
                async with self._sessions() as session:
                    done = set()
                    for start in range(0, len(awaited), _CHUNK):
                        done |= await views.settled(session, awaited[start : start + _CHUNK])
            except Exception:
                # The waiters time out and read the order themselves, which reports the error to them.
                log.exception("polling %d awaited orders failed", len(awaited))
                continue
            for order_id in done:
                self._wake(order_id)

    def _wake(self, order_id: UUID) -> None:
        for future in self._waiters.pop(order_id, set()):
            if not future.done():
                future.set_result(None)
                self._woken += 1
