"""`orderflow verify` waits out compensations in flight and reports only the violations that outlast `--settle`."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from orderflow import verify
from orderflow.invariants import OrderFacts, PaymentFacts, violations
from orderflow.verify import Facts, settled

CANCELLED = [OrderFacts("o-1", "CANCELLED", Decimal("9000"), [("SKU-1", 900000)])]
CAPTURED: Facts = (CANCELLED, {"o-1": PaymentFacts("captured", Decimal("9000"))}, {})
REFUNDED: Facts = (CANCELLED, {"o-1": PaymentFacts("refunded", Decimal("9000"))}, {})


@pytest.fixture(autouse=True)
def _no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "SETTLE_INTERVAL_SECONDS", 0.0)


class Clock:
    """Each reading advances one second: reads and pauses take time, and the deadline is what ends a wait."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _settle(snapshots: list[Facts], seconds: float) -> tuple[list[str], int]:
    reads = 0

    async def read() -> Facts:
        nonlocal reads
        reads += 1
        return snapshots[min(reads, len(snapshots)) - 1]

    _, found = asyncio.run(settled(read, lambda facts: violations(*facts), seconds, Clock()))
    return found, reads


def test_a_refund_that_lands_while_verify_reads_again_is_no_violation() -> None:
    assert _settle([CAPTURED, CAPTURED, REFUNDED], seconds=30) == ([], 3)


def test_a_violation_that_outlasts_the_settle_time_is_reported() -> None:
    found, reads = _settle([CAPTURED], seconds=5)
    assert found == ["order o-1 is CANCELLED but its net charge is 9000 (expected 0)"]
    assert 1 < reads <= 5


def test_zero_settle_reads_once() -> None:
    assert _settle([CAPTURED, REFUNDED], seconds=0)[1] == 1


def test_a_clean_stack_is_read_once() -> None:
    assert _settle([REFUNDED, CAPTURED], seconds=30) == ([], 1)
