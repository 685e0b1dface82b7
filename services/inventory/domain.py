"""Stock reservation rules: what an order needs, the all-or-nothing outcome, and an order's life cycle.

Pure: no database, Kafka or HTTP. The repository takes stock line by line with conditional updates, so the
database arbitrates between concurrent orders; these functions decide what the per-line results mean.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum

from eventkit.events import OrderLine, Reservation


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
