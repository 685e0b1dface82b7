"""The payment provider port, and a deterministic simulator of it for local runs and tests.

Test customer ids of `SimulatedProvider`:

- `decline-...`: every capture is declined ("card declined").
- `flaky-...`: the first `flaky_failures` calls for each order raise `ProviderUnavailable`, then the order is
  treated like any other.
- any other id: captured when the amount is at most the customer's limit (`limits`, else `default_limit`,
  10,000 in any currency), declined above it.

Besides, a `transient_failure_rate` share of all orders, picked by a hash of the idempotency key, behave like
the flaky ones. Picking orders, not independent calls, keeps the failures reproducible and makes each one
outlast the consumer's record-by-record re-apply of a failed batch, so it really travels through a retry
topic, while still ending after `flaky_failures` calls (within the retry budget, so no order dead-letters).
"""

import hashlib
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from services.payments.domain import Captured, CaptureResult, Declined

DECLINE_PREFIX = "decline-"
FLAKY_PREFIX = "flaky-"


class ProviderUnavailable(Exception):
    """A transient provider error (timeout, 5xx): the same call may succeed later."""


class PaymentProvider(Protocol):
    """A card processor. Calls with an idempotency key already used return the first call's result and
    charge or refund nothing more, so a handler retried after a crash can safely call again."""

    async def capture(
        self, *, customer_id: str, order_id: UUID, amount: Decimal, currency: str, idempotency_key: str
    ) -> CaptureResult: ...

    async def refund(self, *, payment_id: str, amount: Decimal, idempotency_key: str) -> None: ...


@dataclass(frozen=True)
class Charge:
    payment_id: str
    order_id: UUID
    customer_id: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Refund:
    payment_id: str
    amount: Decimal


@dataclass
class _Key:
    """What the simulator remembers of one idempotency key."""

    calls: int = 0
    captured: CaptureResult | None = None
    refunded: bool = False


class SimulatedProvider:
    """Deterministic: results depend only on the arguments and on how often a key was called before.

    Like a real provider it remembers idempotency keys for a window only (the `window` most recent keys),
    so a long local run does not grow without bound. Decisions and payment ids are derived from the
    arguments, so a key used again after it was forgotten still gets the same answer.
    """

    def __init__(
        self,
        *,
        default_limit: Decimal = Decimal(10_000),
        limits: Mapping[str, Decimal] | None = None,
        transient_failure_rate: float = 0.0,
        flaky_failures: int = 2,
        window: int = 100_000,
    ) -> None:
        self.default_limit = default_limit
        self.limits = dict(limits or {})
        self.transient_failure_rate = transient_failure_rate
        self.flaky_failures = flaky_failures
        self._window = window
        self._keys: OrderedDict[str, _Key] = OrderedDict()
        # The simulator's own books of real charges and refunds (the latest `window`), for tests to audit.
        self.charges: deque[Charge] = deque(maxlen=window)
        self.refunds: deque[Refund] = deque(maxlen=window)

    async def capture(
        self, *, customer_id: str, order_id: UUID, amount: Decimal, currency: str, idempotency_key: str
    ) -> CaptureResult:
        key = self._call(idempotency_key, flaky=customer_id.startswith(FLAKY_PREFIX))
        if key.captured is None:
            key.captured = self._decide(customer_id, amount, idempotency_key)
            if isinstance(key.captured, Captured):
                self.charges.append(Charge(key.captured.payment_id, order_id, customer_id, amount, currency))
        return key.captured

    async def refund(self, *, payment_id: str, amount: Decimal, idempotency_key: str) -> None:
        key = self._call(idempotency_key, flaky=False)
        if not key.refunded:
            key.refunded = True
            self.refunds.append(Refund(payment_id, amount))

    def _decide(self, customer_id: str, amount: Decimal, idempotency_key: str) -> CaptureResult:
        if customer_id.startswith(DECLINE_PREFIX):
            return Declined("card declined")
        limit = self.limits.get(customer_id, self.default_limit)
        if amount > limit:
            return Declined(f"amount {amount} exceeds the customer's limit of {limit}")
        return Captured(payment_id=f"pay_{_digest(idempotency_key).hex()[:24]}")

    def _call(self, idempotency_key: str, *, flaky: bool) -> _Key:
        """Count a call of `idempotency_key` and fail it if the key is unlucky and still in its outage."""
        key = self._keys.pop(idempotency_key, None) or _Key()
        self._keys[idempotency_key] = key  # most recently used last
        if len(self._keys) > self._window:
            self._keys.popitem(last=False)
        key.calls += 1
        unlucky = flaky or _fraction(idempotency_key) < self.transient_failure_rate
        if unlucky and key.calls <= self.flaky_failures:
            raise ProviderUnavailable(f"simulated outage for {idempotency_key} (call {key.calls})")
        return key


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _fraction(key: str) -> float:
    """A uniform number in [0, 1) fixed by `key`: the same orders are unlucky in every run."""
    return int.from_bytes(_digest(key)[:8], "big") / 2**64
