"""The order mix of `orderflow load`: valid bodies, and the documented shares that get cancelled."""

from __future__ import annotations

import random

from orderflow.demo import LARGE_QUANTITY, SKUS
from orderflow.load import order_body


def test_mix_has_the_documented_shares_and_valid_lines() -> None:
    rng = random.Random(7)
    bodies = [order_body(rng, decline_share=0.02, large_share=0.02) for _ in range(20_000)]
    declined = [b for b in bodies if b["customer_id"].startswith("decline-")]
    large = [b for b in bodies if b["items"][0]["quantity"] == LARGE_QUANTITY]
    assert 0.015 < len(declined) / len(bodies) < 0.025
    assert 0.015 < len(large) / len(bodies) < 0.025
    assert not any(b["customer_id"].startswith("decline-") for b in large)  # one cancel reason each
    for body in bodies:
        assert body["currency"] == "EUR"
        skus = [item["sku"] for item in body["items"]]
        assert 1 <= len(skus) <= 3
        assert len(set(skus)) == len(skus)
        assert set(skus) <= set(SKUS)
    for body in large:
        # Within the payment simulator's default limit of 10,000: only the stock can say no.
        assert LARGE_QUANTITY * float(body["items"][0]["unit_price"]) <= 10_000


def test_no_special_orders_when_shares_are_zero() -> None:
    rng = random.Random(1)
    bodies = [order_body(rng, decline_share=0, large_share=0) for _ in range(2_000)]
    assert all(b["customer_id"].startswith("customer-") for b in bodies)
    assert all(item["quantity"] <= 3 for b in bodies for item in b["items"])
