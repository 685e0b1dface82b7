"""Stock reservation rules: what an order needs, the all-or-nothing outcome, and an order's life cycle.

Pure: no database, Kafka or HTTP. The repository takes stock line by line with conditional updates, so the
database arbitrates between concurrent orders; these functions decide what the per-line results mean.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from uuid import UUID

from eventkit.events import (
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    Reservation,
    StockRejected,
    StockReleased,
    StockReserved,
)


class ReservationStatus(StrEnum):
    RESERVED = "reserved"  # holds the stock of every line
    REJECTED = "rejected"  # some line was short; holds nothing
    RELEASED = "released"  # cancelled after reserving; the stock went back
    # Tombstone: the cancellation arrived before the placement (which was being retried). The late
    # placement then reserves nothing and answers nothing: the order is already cancelled, and a
    # StockRejected would have to name short SKUs that are not short.
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class StockLevel:
    sku: str
    available: int
    reserved: int


@dataclass(frozen=True)
class Reserved:
    lines: list[Reservation]


@dataclass(frozen=True)
class Rejected:
    short_skus: list[str]
    give_back: list[Reservation]  # lines already taken before a short one turned up


class OnCancel(Enum):
    TOMBSTONE = "tombstone"
    RELEASE = "release"
    NOTHING = "nothing"


def demand(items: Iterable[OrderLine]) -> list[Reservation]:
    """One line per SKU (an order may list a SKU twice), sorted by SKU.

    The fixed order makes concurrent orders lock stock rows in the same sequence, so PostgreSQL never
    deadlocks two of them against each other.
    """
    quantities: defaultdict[str, int] = defaultdict(int)
    for item in items:
        quantities[item.sku] += item.quantity
    return [Reservation(sku=sku, quantity=quantities[sku]) for sku in sorted(quantities)]


def settle(wanted: Sequence[Reservation], taken: Collection[str]) -> Reserved | Rejected:
    """All or nothing: every line taken reserves the order, otherwise every taken line goes back."""
    short = [line.sku for line in wanted if line.sku not in taken]
    if not short:
        return Reserved(list(wanted))
    return Rejected(short_skus=short, give_back=[line for line in wanted if line.sku in taken])


def on_placed(status: ReservationStatus | None) -> bool:
    """Whether an OrderPlaced reserves: only for an order never seen before.

    Neither a duplicate (the same order under another event id) nor a placement overtaken by its
    cancellation (the tombstone) may reserve anything.
    """
    return status is None


def on_cancelled(status: ReservationStatus | None) -> OnCancel:
    """What an OrderCancelled does to an order in `status` (None: its placement was never seen)."""
    if status is None:
        return OnCancel.TOMBSTONE
    if status is ReservationStatus.RESERVED:
        return OnCancel.RELEASE
    return OnCancel.NOTHING  # nothing held, or already released: a second cancellation changes nothing


@dataclass(frozen=True)
class Ledger:
    """What a batch of OrderPlaced/OrderCancelled finds before it changes anything."""

    statuses: Mapping[UUID, ReservationStatus]  # reservations already recorded
    available: Mapping[str, int]  # stock of the SKUs the placements ask for (an unknown SKU is absent)
    held: Mapping[UUID, Sequence[Reservation]]  # lines held by recorded RESERVED reservations


@dataclass
class Plan:
    """What a batch changes: new reservations, status changes of recorded ones, stock deltas, answers."""

    new: dict[UUID, tuple[ReservationStatus, list[Reservation]]] = field(default_factory=dict)
    changed: dict[UUID, ReservationStatus] = field(default_factory=dict)
    stock_delta: dict[str, int] = field(default_factory=dict)
    # (index of the event answered, answer), in the order the events came
    answers: list[tuple[int, StockReserved | StockRejected | StockReleased]] = field(default_factory=list)


def plan_batch(events: Sequence[OrderPlaced | OrderCancelled], ledger: Ledger) -> Plan:
    """The batch applied in its order, as the per-event handlers would one after the other, on `ledger`.

    Each placement takes every line or none from what is left after the placements before it; a cancellation
    gives back what its order holds (also when it was reserved earlier in the same batch).
    """
    plan = Plan()
    available = dict(ledger.available)
    statuses: dict[UUID, ReservationStatus] = dict(ledger.statuses)
    lines: dict[UUID, Sequence[Reservation]] = dict(ledger.held)

    def record(order_id: UUID, status: ReservationStatus, held: list[Reservation] | None = None) -> None:
        statuses[order_id] = status
        if order_id in ledger.statuses:
            plan.changed[order_id] = status
        else:
            plan.new[order_id] = (status, held if held is not None else plan.new.get(order_id, (status, []))[1])

    for index, event in enumerate(events):
        order_id = event.order_id
        if isinstance(event, OrderPlaced):
            if not on_placed(statuses.get(order_id)):
                continue
            wanted = demand(event.items)
            taken = {line.sku for line in wanted if available.get(line.sku, -1) >= line.quantity}
            outcome = settle(wanted, taken)
            if isinstance(outcome, Rejected):
                record(order_id, ReservationStatus.REJECTED, [])
                plan.answers.append((index, StockRejected(order_id=order_id, short_skus=outcome.short_skus)))
                continue
            for line in outcome.lines:
                available[line.sku] -= line.quantity
            record(order_id, ReservationStatus.RESERVED, outcome.lines)
            lines[order_id] = outcome.lines
            plan.answers.append((index, StockReserved(order_id=order_id, items=outcome.lines)))
            continue
        match on_cancelled(statuses.get(order_id)):
            case OnCancel.TOMBSTONE:
                record(order_id, ReservationStatus.CANCELLED, [])
            case OnCancel.RELEASE:
                for line in lines.get(order_id, ()):
                    available[line.sku] = available.get(line.sku, 0) + line.quantity
                record(order_id, ReservationStatus.RELEASED)
                plan.answers.append((index, StockReleased(order_id=order_id)))
            case OnCancel.NOTHING:
                pass
    before = ledger.available
    skus = set(available) | set(before)
    plan.stock_delta = {sku: available.get(sku, 0) - before.get(sku, 0) for sku in skus}
    plan.stock_delta = {sku: delta for sku, delta in plan.stock_delta.items() if delta}
    return plan
