"""The read side: what the API shows about orders, queried straight from the tables (no domain objects)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import RowMapping, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.domain import OrderStatus
from services.orders.repository import order_lines, orders

Found = tuple[RowMapping, Sequence[RowMapping]]


async def order(session: AsyncSession, order_id: UUID) -> Found | None:
    """The order row and its lines, for the API."""
    return (await orders_by_id(session, [order_id])).get(order_id)


async def orders_by_id(session: AsyncSession, order_ids: Sequence[UUID]) -> dict[UUID, Found]:
    """The rows and lines of those of `order_ids` that exist: two queries however many are asked for."""
    wanted = sorted(set(order_ids))
    rows = (await session.execute(select(orders).where(orders.c.id.in_(wanted)))).mappings().all()
    if not rows:
        return {}
    query = select(order_lines).where(order_lines.c.order_id.in_(wanted)).order_by(order_lines.c.line_no)
    lines: dict[UUID, list[RowMapping]] = {}
    for line in (await session.execute(query)).mappings():
        lines.setdefault(line["order_id"], []).append(line)
    return {row["id"]: (row, lines.get(row["id"], [])) for row in rows}


async def page(
    session: AsyncSession, status: OrderStatus | None, limit: int, after: tuple[datetime, UUID] | None
) -> Sequence[RowMapping]:
    """Up to `limit` orders, newest first, strictly after the keyset `after` = (created_at, id)."""
    query = select(orders).order_by(orders.c.created_at.desc(), orders.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(orders.c.status == status)
    if after is not None:
        created_at, order_id = after
        query = query.where(
            or_(
                orders.c.created_at < created_at,
                and_(orders.c.created_at == created_at, orders.c.id < order_id),
            )
        )
    return (await session.execute(query)).mappings().all()


async def settled(session: AsyncSession, order_ids: Sequence[UUID]) -> set[UUID]:
    """Which of `order_ids` have left PENDING."""
    query = select(orders.c.id).where(orders.c.id.in_(order_ids), orders.c.status != OrderStatus.PENDING)
    return set(await session.scalars(query))
