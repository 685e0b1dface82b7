"""Commands: what a client asks the orders service to do (imperative, unlike the events it publishes)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from eventkit.events import OrderLine, OrderPlaced
from services.orders.currencies import MINOR_UNITS


@dataclass(frozen=True)
class PlaceOrder:
    """The command behind `POST /orders`; lines are already validated (positive, currency's decimals)."""

    customer_id: str
    currency: str
    lines: tuple[OrderLine, ...]
    idempotency_key: str | None = None

    @property
    def total(self) -> Decimal:
        """Computed here, never taken from the client; exact, in the currency's minor units."""
        total = sum((line.quantity * line.unit_price for line in self.lines), Decimal(0))
        return total.quantize(Decimal(1).scaleb(-MINOR_UNITS[self.currency]))

    def fingerprint(self) -> str:
        """Identifies the request body behind an idempotency key: equal for equal orders, however spelled."""
        canonical = {
            "customer_id": self.customer_id,
            "currency": self.currency,
            "lines": [[line.sku, line.quantity, str(line.unit_price.normalize())] for line in self.lines],
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()

    def placed(self, order_id: UUID) -> OrderPlaced:
        return OrderPlaced(
            order_id=order_id,
            customer_id=self.customer_id,
            items=list(self.lines),
            currency=self.currency,
            total=self.total,
        )
