"""One poll batch in one database transaction: handler effects, inbox rows and outbox rows commit together.

A redelivered event (its id already in the inbox for this group) is skipped. A handler that fails has its
record set aside and the rest of the batch is applied again without it, so one bad record never holds up the
others; its handler ran at most once for this delivery, so a flaky dependency is not hit twice for one attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.consumer.records import Failure, Work
from eventkit.envelope import CloudEvent, Headers
from eventkit.errors import PermanentFailure
from eventkit.messaging import MessagingTables, UnitOfWork
from eventkit.observability.logs import event_logged
from eventkit.observability.metrics import EVENTS_CONSUMED, HANDLER_DURATION
from eventkit.observability.spans import batch_span, process_span
from eventkit.topology import ServiceTopology

log = logging.getLogger(__name__)


@dataclass
class Handled:
    failures: list[Failure]
    published: list[CloudEvent]


class _HandlerFailed(Exception):
    def __init__(self, item: Work, error: Exception) -> None:
        super().__init__(repr(error))
        self.item = item
        self.error = error


class BatchTransaction:
    def __init__(
        self,
        *,
        group: str,
        service: ServiceTopology,
        sessions: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        trace_headers: Callable[[], Headers],
    ) -> None:
        self._group = group
        self._service = service
        self._sessions = sessions
        self._tables = tables
        self._trace_headers = trace_headers

    async def apply(self, work: list[Work]) -> Handled:
        """The batch in one transaction; a failing record is set aside and the rest applied again."""
        failures: list[Failure] = []
        pending = list(work)
        while pending:
            try:
                return Handled(failures, await self._transaction(pending))
            except _HandlerFailed as failed:
                item, error = failed.item, failed.error
                permanent = isinstance(error, PermanentFailure)
                failures.append(Failure(item.record, item.origin, item.event.type, error, permanent))
                pending.remove(item)
        return Handled(failures, [])

    async def _transaction(self, work: list[Work]) -> list[CloudEvent]:
        """Apply `work` in one transaction; the events its handlers published once it committed."""
        inbox = self._tables.inbox
        fresh: list[Work] = []
        duplicates: list[Work] = []
        with batch_span(self._group, len(work)):
            async with self._sessions.begin() as session:
                ids = {item.event.id for item in work}
                already = select(inbox.c.event_id).where(inbox.c.consumer == self._group, inbox.c.event_id.in_(ids))
                seen = set(await session.scalars(already))
                uow = UnitOfWork(session, self._tables, self._service, self._trace_headers)
                for item in work:
                    if item.event.id in seen:
                        duplicates.append(item)  # redelivered: its effects are already committed
                        continue
                    seen.add(item.event.id)
                    await self._apply_one(uow, item)
                    fresh.append(item)
                if fresh:
                    now = datetime.now(UTC)
                    rows = [{"consumer": self._group, "event_id": item.event.id, "processed_at": now} for item in fresh]
                    await session.execute(insert(inbox), rows)
                await uow.flush()
        for items, outcome in ((fresh, "processed"), (duplicates, "duplicate")):
            for item in items:
                EVENTS_CONSUMED.labels(self._group, item.event.type, outcome).inc()
        return uow.published

    async def _apply_one(self, uow: UnitOfWork, item: Work) -> None:
        """One handler call inside its record's process span, which records the handler's own error."""
        started = time.perf_counter()
        try:
            with process_span(item.record, self._group, item.event), event_logged(item.event):
                try:
                    await item.handler(uow, item.event)
                except Exception as error:
                    # Logged here, so the line carries the trace, order and event; permanent ones go quietly.
                    if not isinstance(error, PermanentFailure):
                        log.warning("consumer %s: %s failed: %r", self._group, item.event.id, error)
                    raise
        except Exception as error:
            raise _HandlerFailed(item, error) from error
        finally:
            HANDLER_DURATION.labels(self._group, item.event.type).observe(time.perf_counter() - started)
