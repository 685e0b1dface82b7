"""One poll batch in one database transaction: handler effects, inbox rows and outbox rows commit together.

A redelivered event (its id already in the inbox for this group) is skipped. A handler that fails has its
record set aside and the rest of the batch is applied again without it, so one bad record never holds up the
others; its handler ran at most once for this delivery, so a flaky dependency is not hit twice for one attempt.
A service with a batch handler gets all fresh events of the batch in one call (set-based statements instead of
several per event); it names a failing event with `EventFailed`, which is set aside the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from opentelemetry.util.types import AttributeValue
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.consumer.records import BatchHandler, EventFailed, Failure, Work
from eventkit.database import dialect_insert
from eventkit.envelope import CloudEvent, Headers
from eventkit.errors import PermanentFailure
from eventkit.messaging import MessagingTables, UnitOfWork
from eventkit.observability.logs import event_logged
from eventkit.observability.metrics import EVENTS_CONSUMED, HANDLER_DURATION
from eventkit.observability.spans import add_attributes, batch_span, end_process, process_span, start_process
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


class _BatchFailed(Exception):
    """The batch handler failed as a whole: apply this delivery event by event instead."""


class BatchTransaction:
    def __init__(
        self,
        *,
        group: str,
        service: ServiceTopology,
        sessions: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        trace_headers: Callable[[], Headers],
        server: dict[str, AttributeValue],
        batch_handler: BatchHandler | None = None,
    ) -> None:
        self._group = group
        self._service = service
        self._sessions = sessions
        self._tables = tables
        self._trace_headers = trace_headers
        self._server = server  # the spans' server.address and server.port
        self._batch_handler = batch_handler

    async def apply(self, work: list[Work]) -> Handled:
        """The batch in one transaction; a failing record is set aside and the rest applied again.

        With a batch handler the service applies all fresh events in one call; if it fails as a whole (not one
        event: `EventFailed`), this delivery goes event by event through the per-event handlers.
        """
        failures: list[Failure] = []
        pending = list(work)
        batched = self._batch_handler is not None
        while pending:
            try:
                return Handled(failures, await self._transaction(pending, batched))
            except _HandlerFailed as failed:
                item, error = failed.item, failed.error
                permanent = isinstance(error, PermanentFailure)
                failures.append(Failure(item.record, item.origin, item.event.type, error, permanent))
                pending.remove(item)
            except _BatchFailed as failed:
                log.info("consumer %s: batch of %d applied event by event: %r", self._group, len(pending), failed)
                batched = False
        return Handled(failures, [])

    async def _transaction(self, work: list[Work], batched: bool) -> list[CloudEvent]:
        """Apply `work` in one transaction; the events its handlers published once it committed."""
        with batch_span(self._group, len(work)):
            async with self._sessions.begin() as session:
                fresh = await self._record_inbox(session, work)
                uow = UnitOfWork(session, self._tables, self._service, self._trace_headers)
                if batched and fresh:
                    await self._apply_batch(uow, fresh)
                else:
                    for item in fresh:
                        await self._apply_one(uow, item)
                await uow.flush()
        fresh_ids = {id(item) for item in fresh}
        for item in work:
            outcome = "processed" if id(item) in fresh_ids else "duplicate"
            EVENTS_CONSUMED.labels(self._group, item.event.type, outcome).inc()
        return uow.published

    async def _record_inbox(self, session: AsyncSession, work: list[Work]) -> list[Work]:
        """Insert an inbox row per event id not yet there, first: the items whose event is new.

        One statement both deduplicates (a redelivered id is skipped, its effects already committed) and, on
        SQLite, takes the database's write lock at once, so what the handlers read next cannot change under
        them before the commit.
        """
        firsts: dict[str, Work] = {}
        for item in work:
            firsts.setdefault(item.event.id, item)  # one event twice in a batch: applied once
        now = datetime.now(UTC)
        rows = [{"consumer": self._group, "event_id": event_id, "processed_at": now} for event_id in firsts]
        inbox = self._tables.inbox
        # Parameters apart from the statement (executemany): its SQL is compiled once and cached, whereas a
        # multi-row VALUES would be a new statement, compiled anew, for every batch size.
        statement = dialect_insert(session, inbox).on_conflict_do_nothing().returning(inbox.c.event_id)
        inserted = set((await session.execute(statement, rows)).scalars())
        return [item for event_id, item in firsts.items() if event_id in inserted]

    async def _apply_batch(self, uow: UnitOfWork, work: list[Work]) -> None:
        """All fresh events in one batch handler call, each in a process span of its own (when tracing)."""
        assert self._batch_handler is not None
        spans = {}
        for item in work:
            span, context = start_process(item.record, self._group, item.event, self._server)
            spans[item.event.id] = span
            uow.causes[item.event.id] = context
        started = time.perf_counter()
        failed: BaseException | None = None
        try:
            await self._batch_handler(uow, [item.event for item in work])
        except EventFailed as error:
            failed = error
            item = next(item for item in work if item.event.id == error.event.id)
            if not isinstance(error.error, PermanentFailure):
                log.warning("consumer %s: %s failed: %r", self._group, item.event.id, error.error)
            raise _HandlerFailed(item, error.error) from error.error
        except Exception as error:
            failed = error
            raise _BatchFailed(repr(error)) from error
        finally:
            share = (time.perf_counter() - started) / len(work)  # a batch's time, shared by its events
            for item in work:
                end_process(spans[item.event.id], _error_of(failed, item), uow.notes.get(item.event.id))
                HANDLER_DURATION.labels(self._group, item.event.type).observe(share)

    async def _apply_one(self, uow: UnitOfWork, item: Work) -> None:
        """One handler call inside its record's process span, which records the handler's own error."""
        started = time.perf_counter()
        try:
            with process_span(item.record, self._group, item.event, self._server) as span, event_logged(item.event):
                try:
                    await item.handler(uow, item.event)
                    add_attributes(span, uow.notes.get(item.event.id))
                except Exception as error:
                    # Logged here, so the line carries the trace, order and event; permanent ones go quietly.
                    if not isinstance(error, PermanentFailure):
                        log.warning("consumer %s: %s failed: %r", self._group, item.event.id, error)
                    raise
        except Exception as error:
            raise _HandlerFailed(item, error) from error
        finally:
            HANDLER_DURATION.labels(self._group, item.event.type).observe(time.perf_counter() - started)


def _error_of(failed: BaseException | None, item: Work) -> BaseException | None:
    """What a batch's failure says of one of its events: its own error, the batch's, or nothing."""
    if isinstance(failed, EventFailed):
        return failed.error if failed.event.id == item.event.id else None
    return failed
